//! Tests through the public trait, on a `ManualClock` and a scripted backend that keeps the
//! host's ledger: each convention of the trait's docs, then many threads at once.

mod ages;
mod deadlines;
mod reuse;
mod stress;
mod support;
mod waiters;
