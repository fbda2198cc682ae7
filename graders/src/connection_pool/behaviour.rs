//! How the host's factory answers a `connect` or a `ping`: the fault vocabulary authors write
//! ("ok", "fail", "hang", "slow 50ms") and the grader's own checks script.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Nanos;

/// One scripted answer. Slow and hanging calls take real time, never more than the timeout
/// the pool passed: at the timeout they answer "timed out", as a driver with a connect timeout
/// does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Behaviour {
    /// Succeeds at once.
    Ok,
    /// Fails at once.
    Fail,
    /// Succeeds after this much real time.
    Slow(Nanos),
    /// Fails after this much real time.
    SlowFail(Nanos),
    /// Never answers before the timeout it was given.
    Hang,
    /// Waits until the grader releases it (at most this long), then succeeds.
    Stall(Nanos),
}

impl Behaviour {
    /// Parses an author's word: `ok`, `fail`, `hang`, `slow 50ms`, `slow-fail 50ms`.
    pub fn parse(text: &str) -> Result<Behaviour, String> {
        let (word, rest) = text.trim().split_once(' ').map_or((text.trim(), ""), |(w, r)| (w, r.trim()));
        let duration = || {
            Nanos::parse(rest).map_err(|e| format!("{word:?} needs a duration, as in \"{word} 50ms\": {e}"))
        };
        match (word, rest.is_empty()) {
            ("ok", true) => Ok(Behaviour::Ok),
            ("fail", true) => Ok(Behaviour::Fail),
            ("hang", true) => Ok(Behaviour::Hang),
            ("slow", _) => duration().map(Behaviour::Slow),
            ("slow-fail", _) => duration().map(Behaviour::SlowFail),
            _ => Err(format!("{text:?} is not a factory behaviour: use ok, fail, hang, \"slow 50ms\" or \"slow-fail 50ms\"")),
        }
    }
}

impl fmt::Display for Behaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Behaviour::Ok => f.write_str("ok"),
            Behaviour::Fail => f.write_str("fails"),
            Behaviour::Slow(d) => write!(f, "succeeds after {d}"),
            Behaviour::SlowFail(d) => write!(f, "fails after {d}"),
            Behaviour::Hang => f.write_str("hangs until its timeout"),
            Behaviour::Stall(d) => write!(f, "stalls (up to {d})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_authors_words_and_names_the_fix() {
        assert_eq!(Behaviour::parse("ok"), Ok(Behaviour::Ok));
        assert_eq!(Behaviour::parse("slow 50ms"), Ok(Behaviour::Slow(Nanos(50_000_000))));
        assert_eq!(Behaviour::parse("slow-fail 1s"), Ok(Behaviour::SlowFail(Nanos::SECOND)));
        assert!(Behaviour::parse("slow").unwrap_err().contains("\"slow 50ms\""));
        assert!(Behaviour::parse("explode").unwrap_err().contains("use ok, fail, hang"));
    }
}
