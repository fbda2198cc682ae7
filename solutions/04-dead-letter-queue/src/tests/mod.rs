//! Tests through the public trait, on a `ManualClock`: each convention of the trait's docs at its
//! boundaries, the dead-letter queue and redrive, a differential test against a model of the
//! sequential spec, and consumers on several threads.

mod concurrency;
mod conventions;
mod dead_letters;
mod model;
mod support;
