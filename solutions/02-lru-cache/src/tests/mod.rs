//! Tests through the public trait, on a `ManualClock`: each convention of the trait's docs, a
//! differential test against a model of the sequential spec, and the concurrent behaviour.

mod conventions;
mod loads;
mod model;
mod support;
