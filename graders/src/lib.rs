//! # challenge-graders
//!
//! One module per system. Each holds the scenario vocabulary authors write, a driver that runs in
//! the worker process against the learner's plugin, an exact model of the brief's conventions,
//! and a judge that runs in the parent on the worker's observations. The worker only observes;
//! the parent decides.

pub mod connection_pool;
pub mod host;
mod judgement;
pub mod linearizability;
pub mod lru_cache;
pub mod message_queue;
pub mod migrations;
mod nanos;
pub mod plugin;
pub mod rate_limiter;
mod rng;
mod scenario;
mod timing;
pub mod wire;
mod worker;

pub use judgement::{Failure, Judgement, PanicReport};
pub use nanos::Nanos;
pub use rng::Rng;
pub use scenario::{Observation, ScenarioBody, SpecPart, SpecProblem, System};
pub use worker::run_job;
