//! One call on a cache, and what came back: the unit the worker drives, the model predicts and
//! the judge compares, whether it came from an author's step or a seeded trace.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::observation::Metrics;
use crate::Nanos;

/// A call on the cache's trait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Call {
    /// `get(key)`.
    Get {
        /// The key.
        key: u64,
    },
    /// `peek(key)`.
    Peek {
        /// The key.
        key: u64,
    },
    /// `contains(key)`.
    Contains {
        /// The key.
        key: u64,
    },
    /// `put(key, value, ttl)`.
    Put {
        /// The key.
        key: u64,
        /// The value.
        value: u64,
        /// `None` for the default TTL.
        ttl: Option<Nanos>,
    },
    /// `remove(key)`.
    Remove {
        /// The key.
        key: u64,
    },
    /// `len()`.
    Len,
    /// `clear()`.
    Clear,
    /// `resize(capacity)`.
    Resize {
        /// The new capacity.
        capacity: u64,
    },
    /// `metrics()`.
    Metrics,
    /// `get_or_insert_with(key, ttl, || load)`.
    GetOrInsert {
        /// The key.
        key: u64,
        /// `None` for the default TTL.
        ttl: Option<Nanos>,
        /// What the loader returns.
        load: u64,
    },
    /// `get_or_insert_with(key, None, || panic!())`.
    LoaderPanics {
        /// The key.
        key: u64,
    },
}

impl Call {
    /// The call as a learner would write it.
    pub fn describe(&self) -> String {
        let ttl = |ttl: &Option<Nanos>| ttl.map_or_else(|| "None".to_owned(), |t| format!("Some({t})"));
        match self {
            Call::Get { key } => format!("get({key})"),
            Call::Peek { key } => format!("peek({key})"),
            Call::Contains { key } => format!("contains({key})"),
            Call::Put { key, value, ttl: t } => format!("put({key}, {value}, {})", ttl(t)),
            Call::Remove { key } => format!("remove({key})"),
            Call::Len => "len()".to_owned(),
            Call::Clear => "clear()".to_owned(),
            Call::Resize { capacity } => format!("resize({capacity})"),
            Call::Metrics => "metrics()".to_owned(),
            Call::GetOrInsert { key, ttl: t, load } => format!("get_or_insert_with({key}, {}, || {load})", ttl(t)),
            Call::LoaderPanics { key } => format!("get_or_insert_with({key}, None, || panic!())"),
        }
    }
}

/// What one call returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// `get`, `peek`, `put`, `remove`.
    Value(Option<u64>),
    /// `contains`.
    Bool(bool),
    /// `len`.
    Len(u64),
    /// `metrics`.
    Metrics(Metrics),
    /// `clear`, `resize`.
    Done,
    /// `get_or_insert_with` returned `value`, having run its loader `loads` times.
    Loaded {
        /// What it returned.
        value: u64,
        /// Loader runs during the call.
        loads: u64,
    },
    /// The loader's panic came out of `get_or_insert_with`.
    LoaderPanicked,
    /// The learner's code panicked.
    Panic {
        /// The panic message.
        message: String,
    },
}

impl Outcome {
    /// The outcome as a learner would read a return value.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Value(Some(v)) => format!("Some({v})"),
            Outcome::Value(None) => "None".to_owned(),
            Outcome::Bool(b) => b.to_string(),
            Outcome::Len(n) => n.to_string(),
            Outcome::Metrics(m) => {
                let mut out = String::new();
                let _ = write!(
                    out,
                    "hits {} · misses {} · inserts {} · replacements {} · evictions {} · expirations {}",
                    m.hits, m.misses, m.inserts, m.replacements, m.evictions, m.expirations
                );
                out
            }
            Outcome::Done => "()".to_owned(),
            Outcome::Loaded { value, loads: 0 } => format!("{value} (loader not called)"),
            Outcome::Loaded { value, loads } => format!("{value} (loader called {loads}×)"),
            Outcome::LoaderPanicked => "the loader's panic".to_owned(),
            Outcome::Panic { message } => format!("panic: {message}"),
        }
    }

    /// Whether the learner's code panicked (the scenario stops there).
    pub fn is_panic(&self) -> bool {
        matches!(self, Outcome::Panic { .. })
    }
}
