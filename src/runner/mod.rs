//! Running submissions through scenarios: the orchestration, and the isolated worker processes.

mod grading;
pub mod worker_process;

pub use grading::{Mode, Runner};
pub use worker_process::WorkerExe;
