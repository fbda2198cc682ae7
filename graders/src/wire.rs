//! The worker protocol. The parent writes one [`Job`] as JSON to the worker's stdin; the worker
//! writes [`Record`]s as JSON lines, each prefixed by the job's key in hex and a space, to file
//! descriptor 3 (never stdout, which the learner's code shares), and ends with [`Record::Done`].
//! A worker that exits without `Done` has failed, whatever its exit code.
//!
//! The key is against forgery: before it loads the learner's library the worker moves the record
//! pipe off fd 3 to a descriptor chosen by the key, and the parent ignores (and counts) every line
//! without the key. Code in the worker's own process could still find both by reading its memory;
//! this stops a submission that writes records to the documented descriptor or to every one.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::plugin::LoadProblem;
use crate::scenario::{Observation, ScenarioBody, System};

/// The file descriptor records travel on.
pub const RECORD_FD: i32 = 3;

/// One unit of work for a worker process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    /// The learner's cdylib.
    pub learner: PathBuf,
    /// The reference solution's cdylib, for checks that compare.
    pub reference: Option<PathBuf>,
    /// Seed for everything random in the scenario.
    pub seed: u64,
    /// What to do.
    pub task: Task,
    /// A fresh random value per worker, set by the parent when it starts one: the prefix of every
    /// genuine record line.
    #[serde(default)]
    pub key: u64,
}

/// One record as a line on the pipe, without the newline.
pub fn record_line(key: u64, record: &Record) -> String {
    format!("{key:016x} {}", serde_json::to_string(record).expect("records serialize"))
}

/// The record in `line`, if it carries `key`; `Err(())` for a line that does not (a forgery).
pub fn parse_record_line(key: u64, line: &str) -> Result<Option<Record>, ()> {
    let (prefix, json) = line.split_once(' ').ok_or(())?;
    if u64::from_str_radix(prefix, 16) != Ok(key) || prefix.len() != 16 {
        return Err(());
    }
    Ok(serde_json::from_str(json).ok())
}

/// What a worker does.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Task {
    /// Load the library and check its ABI header, nothing more.
    Probe {
        /// Which table to look for.
        system: System,
    },
    /// Run one scenario.
    Run {
        /// The scenario.
        scenario: ScenarioBody,
    },
}

/// One line on the record pipe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Record {
    /// The libraries loaded and their headers matched.
    Loaded,
    /// A library could not be used.
    LoadFailed {
        /// Whose library: the learner's, or the reference's.
        reference: bool,
        /// Why.
        problem: LoadProblem,
    },
    /// The learner's constructor (or a call outside any step) panicked.
    Panicked {
        /// The panic message.
        message: String,
    },
    /// An observation for the judge.
    Observation(Observation),
    /// The scenario ran to its end.
    Done,
    /// How many times the plugin read the system clock (sent after `Done`). Time here is virtual,
    /// so any read is a mistake worth pointing out.
    ClockReads {
        /// The count.
        count: u64,
    },
}
