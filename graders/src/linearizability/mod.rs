//! A linearizability checker for concurrent histories, used to judge learners' thread-safe
//! systems: the worker records every operation's call and return stamps and its result, and the
//! parent asks whether some order of the operations, consistent with real time, is one a
//! sequential specification would produce.
//!
//! The search is Wing & Gong's, with the memoisation and the linked-list "lift" of Lowe,
//! "Testing for Linearizability", Concurrency and Computation: Practice and Experience 29(4),
//! 2017, and the failure reporting of porcupine (github.com/anishathalye/porcupine): a violation
//! is shrunk to the shortest failing prefix and reported with the longest partial linearization
//! and the operations that could not go next.

mod check;
mod memo;
mod outcome;
mod render;
mod search;
mod spec;
#[cfg(test)]
mod tests;

pub use check::check;
pub use outcome::{Outcome, Witness};
pub use render::render;
pub use spec::{Call, Spec};
