//! What the checker is given: a sequential specification, and the history of calls to judge
//! against it.

use serde::{Deserialize, Serialize};

/// A sequential specification: the object as a deterministic state machine.
pub trait Spec {
    /// The object's abstract state. The search memoises on `(linearized ops, state)`, so two
    /// states must compare equal exactly when no sequence of operations can tell them apart.
    type State: Clone + Eq + std::hash::Hash;
    /// One operation with its arguments.
    type Op: Clone + std::fmt::Debug;
    /// What an operation returns.
    type Ret: Clone + PartialEq + std::fmt::Debug;
    /// The state before any operation.
    fn init(&self) -> Self::State;
    /// Applies `op` to `state`, returning the new state and what a correct implementation returns.
    fn step(&self, state: &Self::State, op: &Self::Op) -> (Self::State, Self::Ret);
}

/// One operation in a concurrent history. `call < ret` are stamps from one global counter (a
/// total order consistent with real time): each thread takes a stamp just before calling and
/// another just after the call returns.
///
/// `result: None` marks the operation PENDING: it never returned, or the history was cut before
/// it did. Its `ret` is then ignored and taken as +infinity: a pending operation may take effect
/// anywhere after its call, with any result, or not at all.
///
/// Stamps may repeat across operations (an operation that returns at the stamp another is
/// called at counts as overlapping it); a `ret` below its `call` is read as equal to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call<O, R> {
    /// The calling thread, for reports only: the search needs only the stamps.
    pub thread: u32,
    /// The operation and its arguments.
    pub op: O,
    /// The stamp taken just before the call.
    pub call: u64,
    /// The stamp taken just after it returned.
    pub ret: u64,
    /// What it returned; `None` if it is pending.
    pub result: Option<R>,
}

impl<O, R> Call<O, R> {
    /// Whether the operation never returned (within the history).
    pub fn is_pending(&self) -> bool {
        self.result.is_none()
    }
}
