//! The SQLite gradebook: an append-only history of grading runs, and the queries instructors read.

mod schema;
mod sink;
mod store;

pub use sink::GradebookSink;
pub use store::{GradeRow, Gradebook, GradebookError, RunEnv, RunRecord};
