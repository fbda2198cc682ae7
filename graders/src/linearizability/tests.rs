//! The checker on a register with fetch-and-increment: the classic small histories, pending
//! operations, shrinking, rendering, the budget and depth.

use super::*;
use crate::Rng;

/// A register holding a u64 (initially 0), with a fetch-and-increment.
struct Register;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Read,
    Write(u64),
    Inc,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Ret {
    Done,
    Value(u64),
}

impl Spec for Register {
    type State = u64;
    type Op = Op;
    type Ret = Ret;

    fn init(&self) -> u64 {
        0
    }

    fn step(&self, state: &u64, op: &Op) -> (u64, Ret) {
        match *op {
            Op::Read => (*state, Ret::Value(*state)),
            Op::Write(v) => (v, Ret::Done),
            Op::Inc => (state + 1, Ret::Value(*state)),
        }
    }
}

type History = Vec<Call<Op, Ret>>;

fn done(thread: u32, op: Op, call: u64, ret: u64, result: Ret) -> Call<Op, Ret> {
    Call { thread, op, call, ret, result: Some(result) }
}

fn pending(thread: u32, op: Op, call: u64) -> Call<Op, Ret> {
    Call { thread, op, call, ret: u64::MAX, result: None }
}

fn write(thread: u32, v: u64, call: u64, ret: u64) -> Call<Op, Ret> {
    done(thread, Op::Write(v), call, ret, Ret::Done)
}

fn read(thread: u32, v: u64, call: u64, ret: u64) -> Call<Op, Ret> {
    done(thread, Op::Read, call, ret, Ret::Value(v))
}

fn verdict(history: &History) -> &'static str {
    match check(&Register, history, 1_000_000) {
        Outcome::Linearizable { .. } => "linearizable",
        Outcome::Violation(_) => "violation",
        Outcome::Unknown { .. } => "unknown",
    }
}

fn witness(history: &History) -> Witness<Op, Ret> {
    match check(&Register, history, 1_000_000) {
        Outcome::Violation(witness) => witness,
        other => panic!("expected a violation, got {other:?}"),
    }
}

/// `n` random operations run one after another, with the spec's results.
fn sequential(n: usize, seed: u64) -> History {
    let mut rng = Rng::new(seed);
    let mut state = 0;
    (0..n as u64)
        .map(|i| {
            let op = match rng.below(3) {
                0 => Op::Read,
                1 => Op::Write(rng.below(5)),
                _ => Op::Inc,
            };
            let (next, ret) = Register.step(&state, &op);
            state = next;
            done((i % 3) as u32, op, 2 * i, 2 * i + 1, ret)
        })
        .collect()
}

#[test]
fn sequential_histories_of_the_spec_pass_and_a_wrong_result_fails() {
    assert_eq!(check(&Register, &[], 10), Outcome::Linearizable { nodes: 0 });
    for seed in 0..20 {
        let mut history = sequential(200, seed);
        assert_eq!(verdict(&history), "linearizable", "seed {seed}");
        let last = history.last_mut().unwrap();
        last.result = Some(match last.result.unwrap() {
            Ret::Done => Ret::Value(0),
            Ret::Value(v) => Ret::Value(v + 1),
        });
        assert_eq!(verdict(&history), "violation", "seed {seed}");
    }
}

#[test]
fn a_sequential_history_takes_one_node_per_operation() {
    let history = sequential(100, 7);
    assert_eq!(check(&Register, &history, 100), Outcome::Linearizable { nodes: 100 });
    assert_eq!(check(&Register, &history, 99), Outcome::Unknown { nodes: 99 });
}

#[test]
fn overlapping_writes_then_reads_in_an_impossible_order_fail() {
    let writes = [write(0, 1, 1, 4), write(1, 2, 2, 5)];
    let after = |a, b| [&writes[..], &[read(0, a, 6, 7), read(1, b, 8, 9)]].concat();
    assert_eq!(verdict(&after(1, 1)), "linearizable", "write 2, then write 1");
    assert_eq!(verdict(&after(2, 2)), "linearizable", "write 1, then write 2");
    assert_eq!(verdict(&after(1, 2)), "violation", "both writes returned before the first read");
    assert_eq!(verdict(&after(2, 1)), "violation");
}

#[test]
fn a_read_overlapping_a_write_may_return_either_value() {
    for (seen, expected) in [(1, "linearizable"), (2, "linearizable"), (0, "violation"), (3, "violation")] {
        let history = vec![write(0, 1, 1, 2), write(0, 2, 3, 10), read(1, seen, 4, 9)];
        assert_eq!(verdict(&history), expected, "read {seen}");
    }
}

#[test]
fn real_time_order_is_respected() {
    // Write 2, write 1, read would explain the read, but write 1 returned before write 2 began.
    let history = vec![write(0, 1, 1, 2), write(1, 2, 3, 4), read(2, 1, 5, 6)];
    assert_eq!(verdict(&history), "violation");
}

#[test]
fn two_overlapping_increments_cannot_both_see_zero() {
    let inc = |thread, call, ret, seen| done(thread, Op::Inc, call, ret, Ret::Value(seen));
    assert_eq!(verdict(&vec![inc(0, 1, 4, 0), inc(1, 2, 3, 0)]), "violation");
    assert_eq!(verdict(&vec![inc(0, 1, 4, 1), inc(1, 2, 3, 0)]), "linearizable");
    assert_eq!(verdict(&vec![inc(0, 1, 4, 0), inc(1, 2, 3, 1)]), "linearizable");
}

#[test]
fn pending_operations_may_take_effect_after_their_call_or_not_at_all() {
    let base = [write(0, 1, 1, 2), pending(0, Op::Write(2), 3)];
    let with = |extra: &[Call<Op, Ret>]| [&base[..], extra].concat();
    assert_eq!(verdict(&with(&[read(1, 2, 4, 5)])), "linearizable", "it took effect");
    assert_eq!(verdict(&with(&[read(1, 1, 4, 5)])), "linearizable", "not yet, or never");
    assert_eq!(verdict(&with(&[read(1, 2, 4, 5), read(1, 1, 6, 7)])), "violation", "it cannot be undone");
    // A pending operation's result is unknown, so any result would do; but only after its call.
    assert_eq!(verdict(&vec![pending(0, Op::Inc, 1), read(1, 1, 2, 3)]), "linearizable");
    assert_eq!(verdict(&vec![read(1, 1, 2, 3), pending(0, Op::Inc, 4)]), "violation");
}

#[test]
fn a_violation_is_shrunk_to_the_smallest_failing_prefix() {
    // Write 1 is still running when thread 1 reads 1, then 0: the value went back. Everything
    // after that is fine, and must not be in the witness.
    let mut history = vec![write(0, 1, 1, 30), read(1, 1, 2, 3), read(1, 0, 4, 5)];
    history.extend((0..50).map(|i| read(1, 1, 11 + 2 * i, 12 + 2 * i)));
    let witness = witness(&history);
    // The prefix ends at the next call, stamp 11, before the write returned: it is pending there.
    assert_eq!(witness.history, vec![pending(0, Op::Write(1), 1), read(1, 1, 2, 3), read(1, 0, 4, 5)]);
    assert_eq!(witness.longest, vec![(0, Ret::Done), (1, Ret::Value(1))]);
    assert_eq!(witness.stuck, vec![(2, Ret::Value(1))]);
}

#[test]
fn a_late_wrong_result_is_found_and_explained() {
    let mut history = sequential(40, 3);
    let last = history.len() - 1;
    let expected = history[last].result.unwrap();
    history[last].result = Some(Ret::Value(99));
    let witness = witness(&history);
    assert_eq!(witness.history.len(), 40, "the wrong result is the last operation");
    assert_eq!(witness.longest.len(), 39);
    assert_eq!(witness.stuck, vec![(last, expected)]);
}

#[test]
fn ten_thousand_operations_do_not_overflow_the_stack() {
    let mut history = sequential(10_000, 11);
    assert_eq!(verdict(&history), "linearizable");
    history[9_999].result = Some(Ret::Value(1_000_000));
    assert_eq!(witness(&history).history.len(), 10_000);
}

#[test]
fn a_witness_renders_for_a_learner() {
    let history = vec![write(2, 7, 14, 19), read(1, 5, 15, 18), pending(3, Op::Inc, 16)];
    let witness = witness(&history);
    let text = render(&witness, |op| format!("{op:?}"), |ret| format!("{ret:?}"));
    assert_eq!(
        text,
        [
            "#1 thread 2: Write(7) -> Done   [call 14, return 19]",
            "#2 thread 1: Read -> Value(5)   [call 15, return 18]",
            "#3 thread 3: Inc -> (no return yet)   [call 16]",
            "One order explains 2 of these operations: #1 Write(7) -> Done, #3 Inc -> Value(7).",
            "Then #2 thread 1: Read returned Value(5), but after that order a correct implementation returns Value(8).",
        ]
    );
}

#[test]
fn a_witness_with_no_order_at_all_says_so() {
    let witness = witness(&vec![read(0, 4, 1, 2)]);
    let text = render(&witness, |op| format!("{op:?}"), |ret| format!("{ret:?}"));
    assert_eq!(
        text[1..],
        [
            "No order explains even one of these operations.",
            "Then #1 thread 0: Read returned Value(4), but as the first operation a correct implementation returns Value(0).",
        ]
    );
}

/// Whether some order of `ops` explains them, by plain enumeration: no memo, no event list.
fn brute_force(ops: &[Call<Op, Ret>], taken: &mut [bool], state: u64) -> bool {
    let open: Vec<usize> = (0..ops.len()).filter(|&i| !taken[i] && !ops[i].is_pending()).collect();
    if open.is_empty() {
        return true;
    }
    for i in 0..ops.len() {
        if taken[i] || open.iter().any(|&j| ops[j].ret < ops[i].call) {
            continue;
        }
        let (next, ret) = Register.step(&state, &ops[i].op);
        if ops[i].result.is_some_and(|actual| actual != ret) {
            continue;
        }
        taken[i] = true;
        let found = brute_force(ops, taken, next);
        taken[i] = false;
        if found {
            return true;
        }
    }
    false
}

/// `longest` is a legal order of some of the operations, and `stuck` holds exactly the completed
/// operations that could go next after it, with the spec's results there.
fn assert_partial_linearization(witness: &Witness<Op, Ret>, round: usize) {
    let ops = &witness.history;
    let mut state = 0;
    let mut placed = vec![false; ops.len()];
    for &(i, ret) in &witness.longest {
        let (next, expected) = Register.step(&state, &ops[i].op);
        assert_eq!(ret, expected, "round {round}: {witness:?}");
        assert!(ops[i].result.is_none_or(|actual| actual == ret), "round {round}: {witness:?}");
        let overtaken =
            (0..ops.len()).any(|j| !placed[j] && j != i && !ops[j].is_pending() && ops[j].ret < ops[i].call);
        assert!(!overtaken, "round {round}: real time broken in {witness:?}");
        placed[i] = true;
        state = next;
    }
    let open = |j: usize| !placed[j] && !ops[j].is_pending();
    let stuck: Vec<(usize, Ret)> = (0..ops.len())
        .filter(|&i| open(i) && !(0..ops.len()).any(|j| open(j) && ops[j].ret < ops[i].call))
        .map(|i| (i, Register.step(&state, &ops[i].op).1))
        .collect();
    assert!(stuck.iter().all(|&(i, ret)| ops[i].result != Some(ret)), "round {round}: {witness:?}");
    assert_eq!(witness.stuck, stuck, "round {round}");
}

/// The length of the longest legal order of some of `ops`, by plain enumeration.
fn brute_force_depth(ops: &[Call<Op, Ret>], taken: &mut [bool], state: u64) -> usize {
    let open: Vec<usize> = (0..ops.len()).filter(|&i| !taken[i] && !ops[i].is_pending()).collect();
    let mut deepest = 0;
    for i in 0..ops.len() {
        if taken[i] || open.iter().any(|&j| ops[j].ret < ops[i].call) {
            continue;
        }
        let (next, ret) = Register.step(&state, &ops[i].op);
        if ops[i].result.is_some_and(|actual| actual != ret) {
            continue;
        }
        taken[i] = true;
        deepest = deepest.max(1 + brute_force_depth(ops, taken, next));
        taken[i] = false;
    }
    deepest
}

#[test]
fn small_random_histories_agree_with_brute_force() {
    let mut rng = Rng::new(2017);
    let mut verdicts = [0; 2];
    for round in 0..3_000 {
        let n = 1 + rng.below(6) as usize;
        // Distinct stamps in a random order, two per operation.
        let mut stamps: Vec<u64> = (0..2 * n as u64).collect();
        for i in (1..stamps.len()).rev() {
            stamps.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let history: History = (0..n)
            .map(|i| {
                let (call, ret) = (stamps[2 * i].min(stamps[2 * i + 1]), stamps[2 * i].max(stamps[2 * i + 1]));
                let (op, result) = match rng.below(3) {
                    0 => (Op::Read, Ret::Value(rng.below(3))),
                    1 => (Op::Write(rng.below(3)), Ret::Done),
                    _ => (Op::Inc, Ret::Value(rng.below(3))),
                };
                match rng.below(6) {
                    0 => pending(i as u32, op, call),
                    _ => done(i as u32, op, call, ret, result),
                }
            })
            .collect();
        let expected = brute_force(&history, &mut vec![false; n], 0);
        verdicts[usize::from(expected)] += 1;
        let outcome = check(&Register, &history, 1_000_000);
        assert_eq!(!outcome.is_violation(), expected, "round {round}: {history:?} gave {outcome:?}");
        if let Outcome::Violation(witness) = outcome {
            let mut taken = vec![false; witness.history.len()];
            assert!(!brute_force(&witness.history, &mut taken, 0), "round {round}: the witness is linearizable");
            assert!(witness.history.len() <= n);
            assert_partial_linearization(&witness, round);
            let mut taken = vec![false; witness.history.len()];
            assert_eq!(witness.longest.len(), brute_force_depth(&witness.history, &mut taken, 0), "round {round}");
        }
    }
    assert!(verdicts.iter().all(|&count| count > 300), "too one-sided a sample: {verdicts:?}");
}
