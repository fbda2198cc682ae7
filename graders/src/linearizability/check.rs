//! The entry point: search the whole history, and shrink a violation to a witness small enough
//! to show a learner.

use super::search::{search, Refutation, Verdict};
use super::{Call, Outcome, Spec, Witness};

/// Checks whether `history` is linearizable with respect to `spec`, trying at most `budget`
/// spec steps in each search (the whole history, then each probe of the shrinking).
///
/// Success means every *completed* operation is linearized at a point between its call and its
/// return, in an order whose results the spec reproduces; pending operations may be linearized
/// anywhere after their call, with any result, or left out. A violation carries the witness of
/// `shortest_failing_prefix`.
pub fn check<S: Spec>(spec: &S, history: &[Call<S::Op, S::Ret>], budget: u64) -> Outcome<S::Op, S::Ret> {
    let ops = prepare(history);
    let full = search(spec, &ops, budget);
    match full.verdict {
        Verdict::Linearizable => Outcome::Linearizable { nodes: full.nodes },
        Verdict::Violation(refutation) => {
            Outcome::Violation(shortest_failing_prefix(spec, ops, refutation, full.nodes, budget))
        }
        Verdict::Unknown => Outcome::Unknown { nodes: full.nodes },
    }
}

/// The history sorted by call stamp (stable, so equal stamps keep the caller's order), with
/// pending operations' `ret` at +infinity and no `ret` below its `call`.
fn prepare<O: Clone, R: Clone>(history: &[Call<O, R>]) -> Vec<Call<O, R>> {
    let mut ops: Vec<Call<O, R>> = history.to_vec();
    for op in &mut ops {
        op.ret = if op.is_pending() { u64::MAX } else { op.ret.max(op.call) };
    }
    ops.sort_by_key(|op| op.call);
    ops
}

/// The prefix `P_c`: every operation called before `c`, where those that had not returned by
/// `c` become pending. It is a genuine witness: whatever the pending operations did, the
/// completed results cannot be explained.
fn cut<O: Clone, R: Clone>(ops: &[Call<O, R>], c: u64) -> Vec<Call<O, R>> {
    let called = ops.partition_point(|op| op.call < c);
    let mut prefix = ops[..called].to_vec();
    for op in &mut prefix {
        if op.ret >= c {
            op.result = None;
            op.ret = u64::MAX;
        }
    }
    prefix
}

/// A prefix known to fail, and how.
type Refuted<O, R> = (Vec<Call<O, R>>, Refutation<R>);

/// Shrinks a refuted history (`ops`, prepared) to its smallest refuted prefix `P_c`, `c` one of
/// the distinct call stamps (so each prefix keeps every return that came before the next call).
///
/// "`P_c` is not linearizable" is monotone in `c`: in a linearization of a longer prefix, every
/// operation called at or after `c` follows every operation that completed before `c`, so the
/// order up to the last of those linearizes `P_c`. So binary search finds the smallest `c`, each
/// probe with the same budget; a probe that runs out of budget counts as "not known failing",
/// and the search moves right (the whole history is known to fail).
fn shortest_failing_prefix<S: Spec>(
    spec: &S,
    ops: Vec<Call<S::Op, S::Ret>>,
    whole: Refutation<S::Ret>,
    mut nodes: u64,
    budget: u64,
) -> Witness<S::Op, S::Ret> {
    let mut stamps: Vec<u64> = ops.iter().map(|op| op.call).collect();
    stamps.dedup();
    // Prefixes are numbered by how many distinct call stamps they hold; `hi` is known to fail.
    let (mut lo, mut hi) = (1, stamps.len());
    let mut smallest: Option<Refuted<S::Op, S::Ret>> = None;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let prefix = cut(&ops, stamps[mid]);
        let probe = search(spec, &prefix, budget);
        nodes += probe.nodes;
        match probe.verdict {
            Verdict::Violation(refutation) => {
                hi = mid;
                smallest = Some((prefix, refutation));
            }
            Verdict::Linearizable | Verdict::Unknown => lo = mid + 1,
        }
    }
    let (history, refutation) = smallest.unwrap_or((ops, whole));
    Witness { history, longest: refutation.longest, stuck: refutation.stuck, nodes }
}
