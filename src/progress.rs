//! A learner's progress in the current directory (`.challenge/progress.json`): which challenges
//! were started, attempts, and the best visible score.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One challenge's progress.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Entry {
    /// `challenge test` runs.
    pub attempts: u32,
    /// Best percent on visible scenarios.
    pub best_percent: Option<f64>,
    /// Whether every visible scenario has passed at least once.
    pub passed: bool,
}

/// All progress, keyed by slug.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Progress {
    /// Per challenge.
    pub challenges: BTreeMap<String, Entry>,
}

fn path() -> PathBuf {
    PathBuf::from(".challenge").join("progress.json")
}

impl Progress {
    /// Reads the store; a missing or unreadable one reads as empty, since progress is a convenience.
    pub fn load() -> Progress {
        std::fs::read(path()).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
    }

    /// Records one test run.
    pub fn record(slug: &str, percent: f64, all_passed: bool) -> std::io::Result<()> {
        let mut progress = Progress::load();
        let entry = progress.challenges.entry(slug.to_owned()).or_default();
        entry.attempts += 1;
        entry.best_percent = Some(entry.best_percent.map_or(percent, |b| b.max(percent)));
        entry.passed |= all_passed;
        std::fs::create_dir_all(".challenge")?;
        let tmp = path().with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&progress).map_err(std::io::Error::other)?)?;
        std::fs::rename(tmp, path())
    }
}
