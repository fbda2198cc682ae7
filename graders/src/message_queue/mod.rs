//! Challenge 4, the message queue with retries and a dead-letter queue: its scenario
//! vocabulary, the worker-side driver and concurrent runs, the parent's property checks on
//! their histories, and the judge.

mod driver;
mod history;
mod judge;
mod observation;
mod script;
mod storm;

pub use driver::{drive, Queue};
pub use judge::{interrupted, judge};
pub use observation::{Dead, Delivered, Event, EventKind, Observation, Outcome, Stats};
pub use script::{parse, Action, Check, Config, DeadExpect, PartialStats, Reason, Scenario, Script, Settled, Step};
