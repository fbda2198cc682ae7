//! Challenge 2, the LRU cache with TTL: its scenario vocabulary, the exact model of the brief's
//! conventions, the worker-side driver and the parent-side judge, and the sequential
//! specification its concurrent histories are checked against.

mod call;
mod driver;
mod judge;
pub mod lin_spec;
mod model;
mod observation;
mod script;
mod trace;

pub use call::{Call, Outcome};
pub use driver::{drive, Cache};
pub use judge::{interrupted, judge};
pub use model::Model;
pub use observation::{Metrics, Observation, Tally};
pub use script::{parse, Check, Config, Expected, PartialMetrics, Scenario, Script, Step, MAX_CAPACITY, MAX_TTL};
pub use trace::TracedCall;
