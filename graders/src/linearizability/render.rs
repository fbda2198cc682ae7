//! A witness as plain text for a learner: the operations, one order that explains most of
//! them, and the results no order can explain.

use std::fmt::Debug;

use super::Witness;

/// Renders `witness` as lines of plain text: one line per operation in call order (numbered
/// `#1`, `#2`, … as in `witness.history`), then the longest order the search found, then one
/// line per operation that could not go next after it.
///
/// ```text
/// #1 thread 2: put(3, 7) -> None   [call 14, return 19]
/// #2 thread 1: get(3) -> Some(5)   [call 15, return 18]
/// #3 thread 3: remove(3) -> (no return yet)   [call 16]
/// One order explains 1 of these operations: #1 put(3, 7) -> None.
/// Then #2 thread 1: get(3) returned Some(5), but after that order a correct implementation returns Some(7).
/// ```
pub fn render<O: Debug, R: Debug>(
    witness: &Witness<O, R>,
    describe_op: impl Fn(&O) -> String,
    describe_ret: impl Fn(&R) -> String,
) -> Vec<String> {
    let mut lines = Vec::with_capacity(witness.history.len() + 1 + witness.stuck.len());
    for (i, call) in witness.history.iter().enumerate() {
        let head = format!("#{} thread {}: {}", i + 1, call.thread, describe_op(&call.op));
        lines.push(match &call.result {
            Some(ret) => format!("{head} -> {}   [call {}, return {}]", describe_ret(ret), call.call, call.ret),
            None => format!("{head} -> (no return yet)   [call {}]", call.call),
        });
    }
    let after = if witness.longest.is_empty() {
        lines.push("No order explains even one of these operations.".to_owned());
        "as the first operation"
    } else {
        let order: Vec<String> = witness
            .longest
            .iter()
            .map(|(i, ret)| format!("#{} {} -> {}", i + 1, describe_op(&witness.history[*i].op), describe_ret(ret)))
            .collect();
        lines.push(format!("One order explains {} of these operations: {}.", witness.longest.len(), order.join(", ")));
        "after that order"
    };
    for (i, expected) in &witness.stuck {
        let call = &witness.history[*i];
        let actual = call.result.as_ref().map_or_else(|| "(no return yet)".to_owned(), &describe_ret);
        lines.push(format!(
            "Then #{} thread {}: {} returned {actual}, but {after} a correct implementation returns {}.",
            i + 1,
            call.thread,
            describe_op(&call.op),
            describe_ret(expected)
        ));
    }
    lines
}
