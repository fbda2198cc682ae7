//! Challenge 5, the migration runner: its scenario vocabulary, the worker-side driver that runs
//! the learner's runner on a real SQLite file beside a correct runner's file, the racing and
//! timed checks, and the judge that compares results, bytes, history rows, schema and rows.

mod database;
mod driver;
mod judge;
mod observation;
mod race;
mod script;

pub use database::checksum;
pub use driver::{drive, Runner};
pub use judge::{interrupted, judge};
pub use observation::{HistoryRow, Inspection, Observation, Outcome, ReturnedError, Round, StatusLists};
pub use script::{parse, Action, Check, Config, ErrorExpect, Expect, MigrationSpec, Scenario, Script, StatusExpect, Step};
