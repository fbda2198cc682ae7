//! Challenge 1, the rate limiter: its scenario vocabulary, the exact model of the brief's
//! conventions, the worker-side driver and the parent-side judge.

mod driver;
mod judge;
mod model;
mod observation;
mod script;
mod trace;

pub use driver::{drive, Limiter};
pub use judge::{interrupted, judge};
pub use model::Model;
pub use observation::{Observation, Observed, Outcome, Round};
pub use script::{
    parse, AcquireExpect, Admitted, AlgorithmName, Check, Config, ExpectedError, Keys, Op, Scenario, Script, Step,
    MAX_LIMIT, MAX_WINDOW,
};
