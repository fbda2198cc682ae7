//! The LRU cache as a sequential specification for the linearizability checker: a strict LRU of
//! fixed capacity over u64 keys and values, without TTL (virtual time is frozen during the
//! concurrent phases, so nothing expires there).

use serde::{Deserialize, Serialize};

use crate::linearizability::Spec;

/// One cache operation with its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LinOp {
    /// `get(k)`: the value, and `k` becomes the most recently used.
    Get(u64),
    /// `peek(k)`: the value, without promoting `k`.
    Peek(u64),
    /// `contains(k)`: whether `k` is present, without promoting it.
    Contains(u64),
    /// `put(k, v)`: the previous value; `k` becomes the most recently used.
    Put(u64, u64),
    /// `remove(k)`: the removed value.
    Remove(u64),
    /// `len()`: the number of entries.
    Len,
}

impl LinOp {
    /// The call as a learner writes it: `get(3)`, `put(3, 7)`, `len()`.
    pub fn describe(&self) -> String {
        match self {
            LinOp::Get(k) => format!("get({k})"),
            LinOp::Peek(k) => format!("peek({k})"),
            LinOp::Contains(k) => format!("contains({k})"),
            LinOp::Put(k, v) => format!("put({k}, {v})"),
            LinOp::Remove(k) => format!("remove({k})"),
            LinOp::Len => "len()".to_owned(),
        }
    }
}

/// What a cache operation returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LinRet {
    /// From `get`, `peek`, `put` and `remove`.
    Value(Option<u64>),
    /// From `contains`.
    Bool(bool),
    /// From `len`.
    Len(u64),
}

impl LinRet {
    /// The result as Rust prints it: `Some(7)`, `None`, `true`, `3`.
    pub fn describe(&self) -> String {
        match self {
            LinRet::Value(Some(v)) => format!("Some({v})"),
            LinRet::Value(None) => "None".to_owned(),
            LinRet::Bool(b) => b.to_string(),
            LinRet::Len(n) => n.to_string(),
        }
    }
}

/// A strict LRU: a `put` of a new key into a full cache evicts the least recently used entry,
/// where `get` and `put` count as uses and `peek`, `contains` and `len` do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LruSpec {
    /// The most entries the cache holds. With 0 a `put` stores nothing.
    pub capacity: usize,
}

impl Spec for LruSpec {
    /// The entries as (key, value), least recently used first, most recent last.
    type State = Vec<(u64, u64)>;
    type Op = LinOp;
    type Ret = LinRet;

    fn init(&self) -> Vec<(u64, u64)> {
        Vec::new()
    }

    fn step(&self, state: &Vec<(u64, u64)>, op: &LinOp) -> (Vec<(u64, u64)>, LinRet) {
        let position = |key: u64| state.iter().position(|&(k, _)| k == key);
        let mut next = state.clone();
        let ret = match *op {
            LinOp::Get(key) => LinRet::Value(position(key).map(|i| {
                let entry = next.remove(i);
                next.push(entry);
                entry.1
            })),
            LinOp::Peek(key) => LinRet::Value(position(key).map(|i| state[i].1)),
            LinOp::Contains(key) => LinRet::Bool(position(key).is_some()),
            LinOp::Put(key, value) => match position(key) {
                Some(i) => {
                    let old = next.remove(i).1;
                    next.push((key, value));
                    LinRet::Value(Some(old))
                }
                None if self.capacity == 0 => LinRet::Value(None),
                None => {
                    if next.len() >= self.capacity {
                        next.remove(0);
                    }
                    next.push((key, value));
                    LinRet::Value(None)
                }
            },
            LinOp::Remove(key) => LinRet::Value(position(key).map(|i| next.remove(i).1)),
            LinOp::Len => LinRet::Len(state.len() as u64),
        };
        (next, ret)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Barrier, Mutex};

    use super::*;
    use crate::linearizability::{check, render, Call, Outcome};
    use crate::Rng;

    const BUDGET: u64 = 50_000_000;

    /// A single-threaded LRU written independently of the spec: a map with a use counter,
    /// evicting the entry with the oldest use.
    struct TickLru {
        capacity: usize,
        entries: HashMap<u64, (u64, u64)>,
        tick: u64,
    }

    impl TickLru {
        fn new(capacity: usize) -> TickLru {
            TickLru { capacity, entries: HashMap::new(), tick: 0 }
        }

        fn apply(&mut self, op: LinOp) -> LinRet {
            self.tick += 1;
            let tick = self.tick;
            match op {
                LinOp::Get(k) => LinRet::Value(self.entries.get_mut(&k).map(|(v, used)| {
                    *used = tick;
                    *v
                })),
                LinOp::Peek(k) => LinRet::Value(self.entries.get(&k).map(|(v, _)| *v)),
                LinOp::Contains(k) => LinRet::Bool(self.entries.contains_key(&k)),
                LinOp::Put(_, _) if self.capacity == 0 => LinRet::Value(None),
                LinOp::Put(k, v) => {
                    if !self.entries.contains_key(&k) && self.entries.len() == self.capacity {
                        let oldest = *self.entries.iter().min_by_key(|(_, (_, used))| *used).unwrap().0;
                        self.entries.remove(&oldest);
                    }
                    LinRet::Value(self.entries.insert(k, (v, tick)).map(|(old, _)| old))
                }
                LinOp::Remove(k) => LinRet::Value(self.entries.remove(&k).map(|(v, _)| v)),
                LinOp::Len => LinRet::Len(self.entries.len() as u64),
            }
        }
    }

    /// A random operation over `keys` keys; puts get the unique value `thread << 32 | counter`.
    fn random_op(rng: &mut Rng, keys: u64, thread: u64, counter: u64) -> LinOp {
        let key = rng.below(keys);
        match rng.below(10) {
            0..=3 => LinOp::Get(key),
            4 => LinOp::Peek(key),
            5 => LinOp::Contains(key),
            6 | 7 => LinOp::Put(key, thread << 32 | counter),
            8 => LinOp::Remove(key),
            _ => LinOp::Len,
        }
    }

    /// A cache shared by threads; `apply` is one call.
    trait Concurrent: Sync {
        fn apply(&self, op: LinOp) -> LinRet;
    }

    /// The correct cache: the spec behind a mutex.
    struct Locked(Mutex<Vec<(u64, u64)>>, LruSpec);

    impl Concurrent for Locked {
        fn apply(&self, op: LinOp) -> LinRet {
            let mut state = self.0.lock().unwrap();
            let (next, ret) = self.1.step(&state, &op);
            *state = next;
            ret
        }
    }

    /// A broken cache: two independent LRUs of half the capacity, chosen by key parity. Each
    /// call is atomic, but the whole evicts too early, a sequential bug.
    struct Sharded([Locked; 2]);

    impl Concurrent for Sharded {
        fn apply(&self, op: LinOp) -> LinRet {
            match op {
                LinOp::Get(k) | LinOp::Peek(k) | LinOp::Contains(k) | LinOp::Put(k, _) | LinOp::Remove(k) => {
                    self.0[(k % 2) as usize].apply(op)
                }
                LinOp::Len => match (self.0[0].apply(op), self.0[1].apply(op)) {
                    (LinRet::Len(a), LinRet::Len(b)) => LinRet::Len(a + b),
                    other => unreachable!("len returned {other:?}"),
                },
            }
        }
    }

    /// A broken cache whose reads come from a snapshot refreshed only every 8th write: a
    /// concurrency bug that no sequential test of a single thread would catch quickly.
    struct Stale {
        cache: Locked,
        snapshot: Mutex<(Vec<(u64, u64)>, u64)>,
    }

    impl Concurrent for Stale {
        fn apply(&self, op: LinOp) -> LinRet {
            match op {
                LinOp::Peek(k) => {
                    let snapshot = self.snapshot.lock().unwrap();
                    LinRet::Value(snapshot.0.iter().find(|(key, _)| *key == k).map(|(_, v)| *v))
                }
                _ => {
                    let ret = self.cache.apply(op);
                    let mut snapshot = self.snapshot.lock().unwrap();
                    snapshot.1 += 1;
                    if snapshot.1.is_multiple_of(8) {
                        snapshot.0 = self.cache.0.lock().unwrap().clone();
                    }
                    ret
                }
            }
        }
    }

    /// Runs `per_thread` random operations from each of `threads` threads against `cache`,
    /// stamping each call before and after from one counter.
    fn record(cache: &dyn Concurrent, threads: u64, per_thread: u64, seed: u64) -> Vec<Call<LinOp, LinRet>> {
        let clock = AtomicU64::new(0);
        let start = Barrier::new(threads as usize);
        let mut history: Vec<Call<LinOp, LinRet>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|thread| {
                    let (clock, start) = (&clock, &start);
                    scope.spawn(move || {
                        start.wait();
                        let mut rng = Rng::new(seed.wrapping_mul(0x9e37_79b9).wrapping_add(thread));
                        (0..per_thread)
                            .map(|counter| {
                                let op = random_op(&mut rng, 8, thread, counter);
                                let call = clock.fetch_add(1, Ordering::SeqCst);
                                let result = cache.apply(op);
                                let ret = clock.fetch_add(1, Ordering::SeqCst);
                                Call { thread: thread as u32, op, call, ret, result: Some(result) }
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().flat_map(|worker| worker.join().unwrap()).collect()
        });
        history.sort_by_key(|call| call.call);
        history
    }

    fn locked(capacity: usize) -> Locked {
        Locked(Mutex::new(Vec::new()), LruSpec { capacity })
    }

    #[test]
    fn the_spec_agrees_with_an_independent_lru() {
        for capacity in [0, 1, 3, 4] {
            let spec = LruSpec { capacity };
            let (mut real, mut state) = (TickLru::new(capacity), spec.init());
            let mut rng = Rng::new(capacity as u64);
            for counter in 0..2_000 {
                let op = random_op(&mut rng, 6, 0, counter);
                let (next, expected) = spec.step(&state, &op);
                assert_eq!(real.apply(op), expected, "capacity {capacity}, op {counter}: {op:?} on {state:?}");
                state = next;
            }
        }
    }

    #[test]
    fn steps_follow_the_brief() {
        let spec = LruSpec { capacity: 2 };
        let run = |ops: &[LinOp]| {
            let mut state = spec.init();
            let rets: Vec<String> = ops
                .iter()
                .map(|op| {
                    let (next, ret) = spec.step(&state, op);
                    state = next;
                    ret.describe()
                })
                .collect();
            (rets.join(" "), state)
        };
        use LinOp::*;
        assert_eq!(
            run(&[Put(1, 10), Put(2, 20), Get(1), Put(3, 30)]),
            ("None None Some(10) None".into(), vec![(1, 10), (3, 30)])
        );
        assert_eq!(
            run(&[Put(1, 10), Put(2, 20), Peek(1), Put(3, 30)]),
            ("None None Some(10) None".into(), vec![(2, 20), (3, 30)])
        );
        assert_eq!(
            run(&[Put(1, 10), Put(2, 20), Contains(1), Put(1, 11), Len]),
            ("None None true Some(10) 2".into(), vec![(2, 20), (1, 11)])
        );
        assert_eq!(run(&[Put(1, 10), Remove(1), Remove(1), Get(1), Len]), ("None Some(10) None None 0".into(), vec![]));
        assert_eq!(
            [Get(3), Peek(3), Contains(3), Put(3, 7), Remove(3), Len].map(|op| op.describe()).join(" "),
            "get(3) peek(3) contains(3) put(3, 7) remove(3) len()"
        );
    }

    #[test]
    fn a_sequential_history_from_a_real_lru_passes() {
        let mut real = TickLru::new(4);
        let mut rng = Rng::new(5);
        let history: Vec<_> = (0..3_000)
            .map(|i| {
                let op = random_op(&mut rng, 8, i % 4, i);
                Call { thread: (i % 4) as u32, op, call: 2 * i, ret: 2 * i + 1, result: Some(real.apply(op)) }
            })
            .collect();
        assert!(matches!(check(&LruSpec { capacity: 4 }, &history, BUDGET), Outcome::Linearizable { .. }));
    }

    #[test]
    fn a_correct_cache_under_four_threads_is_linearizable() {
        for seed in 0..6 {
            let history = record(&locked(4), 4, 250, seed);
            let outcome = check(&LruSpec { capacity: 4 }, &history, BUDGET);
            assert!(matches!(outcome, Outcome::Linearizable { .. }), "seed {seed}: {outcome:?}");
        }
    }

    #[test]
    fn a_sharded_cache_is_a_violation_with_a_short_witness() {
        for seed in 0..3 {
            let history = record(&Sharded([locked(2), locked(2)]), 4, 250, seed);
            let Outcome::Violation(witness) = check(&LruSpec { capacity: 4 }, &history, BUDGET) else {
                panic!("seed {seed}: the sharded cache passed");
            };
            assert!(witness.history.len() < history.len(), "seed {seed}: the witness was not shrunk");
            assert!(!witness.stuck.is_empty());
            let text = render(&witness, LinOp::describe, LinRet::describe);
            for (i, expected) in &witness.stuck {
                let call = &witness.history[*i];
                let line = format!(
                    "Then #{} thread {}: {} returned {}, but after that order a correct implementation returns {}.",
                    i + 1,
                    call.thread,
                    call.op.describe(),
                    call.result.unwrap().describe(),
                    expected.describe()
                );
                assert!(text.contains(&line), "seed {seed}: no {line:?} in\n{}", text.join("\n"));
            }
        }
    }

    #[test]
    fn reads_from_a_stale_snapshot_are_a_violation() {
        for seed in 0..3 {
            let cache = Stale { cache: locked(4), snapshot: Mutex::new((Vec::new(), 0)) };
            let history = record(&cache, 4, 250, seed);
            let outcome = check(&LruSpec { capacity: 4 }, &history, BUDGET);
            assert!(outcome.is_violation(), "seed {seed}: {outcome:?}");
        }
    }

    #[test]
    fn a_tiny_budget_on_a_racy_history_is_unknown() {
        let history = record(&locked(4), 4, 500, 9);
        assert_eq!(check(&LruSpec { capacity: 4 }, &history, 50), Outcome::Unknown { nodes: 50 });
        // A broken cache may be refuted within the budget, but never passes.
        let broken = record(&Sharded([locked(2), locked(2)]), 4, 500, 9);
        let outcome = check(&LruSpec { capacity: 4 }, &broken, 50);
        assert!(!matches!(outcome, Outcome::Linearizable { .. }), "{outcome:?}");
    }
}
