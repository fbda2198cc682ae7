//! What the checker concludes about a history.

use serde::{Deserialize, Serialize};

use super::Call;

/// The verdict on one history. `nodes` counts the search's work: one node for every operation
/// it tried to apply to the specification, across every search the verdict took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Outcome<O, R> {
    /// Some order of the operations explains every completed result.
    Linearizable {
        /// The search's work.
        nodes: u64,
    },
    /// No order does; the witness is a short failing prefix.
    Violation(Witness<O, R>),
    /// Budget exhausted: neither proven nor refuted. Callers do not count this against the
    /// learner.
    Unknown {
        /// The search's work: the budget, spent.
        nodes: u64,
    },
}

impl<O, R> Outcome<O, R> {
    /// Whether the history was refuted: the only outcome that counts against the learner.
    pub fn is_violation(&self) -> bool {
        match self {
            Outcome::Linearizable { .. } => false,
            Outcome::Violation(_) => true,
            Outcome::Unknown { .. } => false,
        }
    }

    /// The search's work, whatever the verdict.
    pub fn nodes(&self) -> u64 {
        match self {
            Outcome::Linearizable { nodes } => *nodes,
            Outcome::Violation(witness) => witness.nodes,
            Outcome::Unknown { nodes } => *nodes,
        }
    }
}

/// Why a history is not linearizable, in a form small enough to show a learner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Witness<O, R> {
    /// The smallest prefix of the history (by call stamp, see `shortest_failing_prefix` in
    /// `check.rs`) that is already not linearizable, ordered by call stamp. Operations of the
    /// prefix that returned after it ends are pending here (`result: None`, `ret: u64::MAX`):
    /// whatever they did, the completed results cannot be explained.
    pub history: Vec<Call<O, R>>,
    /// The longest linearization of that prefix the search found (porcupine's "partial
    /// linearization"): indices into `history` with the result the spec gives at that point.
    pub longest: Vec<(usize, R)>,
    /// After `longest`, the completed ops that could have gone next but whose actual result
    /// differs from the spec's: (index into `history`, what the spec returns there).
    pub stuck: Vec<(usize, R)>,
    /// The search's work: the whole history's search plus every probe of the shrinking.
    pub nodes: u64,
}
