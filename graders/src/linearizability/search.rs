//! One search of one history: Lowe's version of the Wing & Gong algorithm.
//!
//! The calls and returns sit in stamp order in a doubly linked list. An operation may be
//! linearized next when its call comes before the first return still in the list: no completed
//! operation that is still unlinearized returned before it was called. Linearizing it unlinks
//! its call and return ("lift"), and backtracking relinks them, each in O(1). The depth-first
//! search keeps its own stack, so a history of any length cannot overflow the thread's stack,
//! and it prunes every `(linearized set, state)` configuration it has explored before.

use super::memo::{Memo, Slot, States};
use super::{Call, Spec};

/// How one search ended.
pub(super) enum Verdict<R> {
    Linearizable,
    Violation(Refutation<R>),
    Unknown,
}

/// What a refuted search found: porcupine's partial linearization and what blocked it.
pub(super) struct Refutation<R> {
    /// The deepest linearization reached: (operation, the spec's result there).
    pub(super) longest: Vec<(usize, R)>,
    /// After `longest`, the completed operations that could go next but whose results differ
    /// from the spec's: (operation, the spec's result there).
    pub(super) stuck: Vec<(usize, R)>,
}

/// A verdict and the nodes it took.
pub(super) struct Searched<R> {
    pub(super) verdict: Verdict<R>,
    pub(super) nodes: u64,
}

/// Searches for a linearization of `ops` (sorted by call stamp; pending operations' `ret` is
/// ignored), trying at most `budget` steps of the spec.
pub(super) fn search<S: Spec>(spec: &S, ops: &[Call<S::Op, S::Ret>], budget: u64) -> Searched<S::Ret> {
    let mut events = Events::new(ops);
    let mut slots = Vec::with_capacity(ops.len());
    let (mut completed, mut pending) = (0, 0);
    for op in ops {
        if op.is_pending() {
            slots.push(Slot::Pending(pending));
            pending += 1;
        } else {
            slots.push(Slot::Completed(completed));
            completed += 1;
        }
    }
    let mut memo = Memo::new(completed, pending);
    let mut unlinearized = completed;
    let mut states = States::new();
    let mut state = states.intern(spec.init());
    let mut stack: Vec<Frame<S::Ret>> = Vec::new();
    let mut longest = Longest { best: Vec::new(), agree: 0 };
    let mut nodes = 0;
    let mut entry = events.first();
    loop {
        if unlinearized == 0 {
            return Searched { verdict: Verdict::Linearizable, nodes };
        }
        // The first return still listed belongs to a completed operation: pending operations'
        // returns sort after every other event. So the walk meets it before the list ends.
        debug_assert_ne!(entry, NIL);
        let op = events.op[entry];
        if events.is_call(entry) {
            if nodes >= budget {
                return Searched { verdict: Verdict::Unknown, nodes };
            }
            nodes += 1;
            let (after, ret) = spec.step(states.get(state), &ops[op].op);
            if ops[op].result.as_ref().is_none_or(|actual| *actual == ret) {
                let after = states.intern(after);
                memo.set(slots[op]);
                if memo.insert(after) {
                    stack.push(Frame { event: entry, op, state: std::mem::replace(&mut state, after), ret });
                    longest.pushed(&stack);
                    events.lift(entry);
                    if !ops[op].is_pending() {
                        unlinearized -= 1;
                    }
                    entry = events.first();
                    continue;
                }
                memo.clear(slots[op]);
            }
            entry = events.next[entry];
        } else {
            let Some(frame) = stack.pop() else {
                let refutation = refute(spec, ops, longest.best);
                return Searched { verdict: Verdict::Violation(refutation), nodes };
            };
            longest.popped(stack.len());
            events.unlift(frame.event);
            memo.clear(slots[frame.op]);
            if !ops[frame.op].is_pending() {
                unlinearized += 1;
            }
            state = frame.state;
            entry = events.next[frame.event];
        }
    }
}

/// One linearized operation on the search's stack, with the (number of the) state before it.
struct Frame<R> {
    event: usize,
    op: usize,
    state: u32,
    ret: R,
}

/// The deepest stack so far, copied incrementally: only the part after the point where the
/// stack last agreed with it, so a search that mostly moves forward copies each frame once.
struct Longest<R> {
    best: Vec<(usize, R)>,
    /// `best[..agree]` equals the stack's operations.
    agree: usize,
}

impl<R: Clone> Longest<R> {
    fn pushed(&mut self, stack: &[Frame<R>]) {
        let depth = stack.len();
        if self.agree == depth - 1 && self.best.get(depth - 1).is_some_and(|(op, _)| *op == stack[depth - 1].op) {
            self.agree = depth;
        }
        if depth > self.best.len() {
            self.best.truncate(self.agree);
            self.best.extend(stack[self.agree..].iter().map(|frame| (frame.op, frame.ret.clone())));
            self.agree = depth;
        }
    }

    fn popped(&mut self, depth: usize) {
        self.agree = self.agree.min(depth);
    }
}

/// After the deepest linearization `longest`, the operations that could go next and why none
/// can. (At the deepest point no candidate matches the spec, or the search would have gone one
/// deeper; pending candidates always match, so there are none.)
fn refute<S: Spec>(spec: &S, ops: &[Call<S::Op, S::Ret>], longest: Vec<(usize, S::Ret)>) -> Refutation<S::Ret> {
    let mut state = spec.init();
    let mut linearized = vec![false; ops.len()];
    for &(op, _) in &longest {
        state = spec.step(&state, &ops[op].op).0;
        linearized[op] = true;
    }
    let unlinearized = || ops.iter().enumerate().filter(|&(i, _)| !linearized[i]);
    let first_return = unlinearized().filter(|(_, op)| !op.is_pending()).map(|(_, op)| op.ret).min();
    let stuck = unlinearized()
        .filter(|(_, op)| first_return.is_some_and(|first| op.call <= first))
        .filter_map(|(i, op)| {
            let actual = op.result.as_ref()?;
            let expected = spec.step(&state, &op.op).1;
            (*actual != expected).then_some((i, expected))
        })
        .collect();
    Refutation { longest, stuck }
}

const NIL: usize = usize::MAX;

/// The calls and returns as a doubly linked list in stamp order, with a head sentinel.
struct Events {
    op: Vec<usize>,
    /// For a call event, its return event; `NIL` for a return event.
    partner: Vec<usize>,
    next: Vec<usize>,
    prev: Vec<usize>,
}

impl Events {
    fn new<O, R>(ops: &[Call<O, R>]) -> Events {
        // At equal stamps calls sort before returns (the lenient reading: overlapping), and
        // pending operations' returns after everything.
        let mut order: Vec<(u64, u8, usize)> = Vec::with_capacity(2 * ops.len());
        for (i, op) in ops.iter().enumerate() {
            order.push((op.call, 0, i));
            match op.result {
                Some(_) => order.push((op.ret.max(op.call), 1, i)),
                None => order.push((u64::MAX, 2, i)),
            }
        }
        order.sort_unstable();
        let len = order.len();
        let mut events = Events {
            op: order.iter().map(|&(_, _, op)| op).collect(),
            partner: vec![NIL; len],
            next: (1..=len).map(|e| if e < len { e } else { NIL }).collect(),
            prev: (0..len).map(|e| if e == 0 { len } else { e - 1 }).collect(),
        };
        events.next.push(if len == 0 { NIL } else { 0 });
        events.prev.push(NIL);
        let mut call_event = vec![NIL; ops.len()];
        for (e, &(_, kind, op)) in order.iter().enumerate() {
            if kind == 0 {
                call_event[op] = e;
            } else {
                events.partner[call_event[op]] = e;
            }
        }
        events
    }

    fn head(&self) -> usize {
        self.op.len()
    }

    fn first(&self) -> usize {
        self.next[self.head()]
    }

    fn is_call(&self, event: usize) -> bool {
        self.partner[event] != NIL
    }

    /// Unlinks a call and its return.
    fn lift(&mut self, call: usize) {
        for e in [call, self.partner[call]] {
            let (prev, next) = (self.prev[e], self.next[e]);
            self.next[prev] = next;
            if next != NIL {
                self.prev[next] = prev;
            }
        }
    }

    /// Relinks what `lift` unlinked, in reverse order (dancing links).
    fn unlift(&mut self, call: usize) {
        for e in [self.partner[call], call] {
            let (prev, next) = (self.prev[e], self.next[e]);
            self.next[prev] = e;
            if next != NIL {
                self.prev[next] = e;
            }
        }
    }
}
