//! The linearizability checker on LRU histories recorded in-process, the way the grader will
//! record a learner's cache: 4 threads, each stamping one global counter before and after
//! every call.
//!
//! Run: `cargo bench -p challenge-graders --bench linearizability` (a plain binary,
//! `harness = false`; well under a minute on 2 cores).
//!
//! Workload: capacity 4, 8 keys, 90% `get` and 10% `put` (unique values `thread << 32 | n`),
//! 1,000 and 10,000 operations in all, 5 seeds each, budget 5e7 nodes. Implementations:
//! - `mutex`: the spec behind one `Mutex`: correct, so every verdict must be linearizable;
//! - `sharded`: two independent LRUs of capacity 2 chosen by key parity, each behind its own
//!   mutex: a sequential bug (it evicts too early), so every verdict must be a violation;
//! - `+work`: the same with a random 0–20 µs spin inside each call, on both sides of the lock,
//!   as a slower learner's cache behind the FFI shim would take: calls overlap several times
//!   more (the `overlap` column), which is what makes a history expensive to check.
//!
//! Each figure is the wall time of one `check`, shrinking included. The histories are
//! generated before the clock starts.
//!
//! One run (2 cores shared with other builds): correct histories check in 0.5–1.1 ms (1k ops)
//! and 6–15 ms (10k ops), at one to two nodes per operation; the broken ones are refuted,
//! shrinking included, in under 7 ms, with witnesses of 70–100 operations. Outside this bench,
//! on synthetic 10k-operation histories where each operation overlaps ~16 others, the search
//! ran at 3–3.5 million nodes a second: the 5e7 budget is 14–17 s and 0.9 GB before `Unknown`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use challenge_graders::linearizability::{check, render, Call, Outcome, Spec, Witness};
use challenge_graders::lru_cache::lin_spec::{LinOp, LinRet, LruSpec};
use challenge_graders::Rng;

const THREADS: u64 = 4;
const CAPACITY: usize = 4;
const KEYS: u64 = 8;
const BUDGET: u64 = 50_000_000;
const SEEDS: u64 = 5;

type History = Vec<Call<LinOp, LinRet>>;

/// The spec behind a mutex: a correct concurrent cache.
struct Locked(Mutex<Vec<(u64, u64)>>, LruSpec);

impl Locked {
    fn new(capacity: usize) -> Locked {
        Locked(Mutex::new(Vec::new()), LruSpec { capacity })
    }

    fn apply(&self, op: LinOp) -> LinRet {
        let mut state = self.0.lock().unwrap();
        let (next, ret) = self.1.step(&state, &op);
        *state = next;
        ret
    }
}

#[derive(Clone, Copy)]
enum Implementation {
    Mutex,
    /// The same cache, with a random 0–20 µs of work inside each call on both sides of the lock.
    MutexSlow,
    Sharded,
    /// The sharded cache with the same work.
    ShardedSlow,
}

impl Implementation {
    fn name(self) -> &'static str {
        match self {
            Implementation::Mutex => "mutex",
            Implementation::MutexSlow => "mutex+work",
            Implementation::Sharded => "sharded",
            Implementation::ShardedSlow => "sharded+work",
        }
    }

    /// Records `total` operations from `THREADS` threads.
    fn record(self, total: u64, seed: u64) -> History {
        let shards: Vec<Locked> = match self {
            Implementation::Mutex | Implementation::MutexSlow => vec![Locked::new(CAPACITY)],
            Implementation::Sharded | Implementation::ShardedSlow => {
                vec![Locked::new(CAPACITY / 2), Locked::new(CAPACITY / 2)]
            }
        };
        let apply = |op: LinOp| match op {
            LinOp::Get(k) | LinOp::Put(k, _) => shards[(k % shards.len() as u64) as usize].apply(op),
            other => unreachable!("the workload has no {other:?}"),
        };
        let clock = AtomicU64::new(0);
        let start = Barrier::new(THREADS as usize);
        let mut history: History = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|thread| {
                    let (clock, start, apply) = (&clock, &start, &apply);
                    scope.spawn(move || {
                        let mut rng = Rng::new(seed << 8 | thread);
                        start.wait();
                        (0..total / THREADS)
                            .map(|n| {
                                let key = rng.below(KEYS);
                                let op = if rng.below(10) == 0 {
                                    LinOp::Put(key, thread << 32 | n)
                                } else {
                                    LinOp::Get(key)
                                };
                                let work = match self {
                                    Implementation::MutexSlow | Implementation::ShardedSlow => {
                                        [rng.below(20_000), rng.below(20_000)]
                                    }
                                    Implementation::Mutex | Implementation::Sharded => [0, 0],
                                };
                                let call = clock.fetch_add(1, Ordering::SeqCst);
                                spin(work[0]);
                                let result = apply(op);
                                spin(work[1]);
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
}

/// About `n` nanoseconds of work (a spin of `n` iterations, roughly 1 ns each).
fn spin(n: u64) {
    for i in 0..n {
        std::hint::black_box(i);
    }
}

/// How concurrent a history is: the mean number of other operations each one overlaps.
fn overlap(history: &History) -> f64 {
    // Sorted by call: the operations overlapping `a` from later calls are those called before
    // `a` returned; counting those pairs once each and doubling counts every overlap.
    let calls: Vec<u64> = history.iter().map(|c| c.call).collect();
    let pairs: usize = history.iter().enumerate().map(|(i, a)| calls.partition_point(|&c| c < a.ret) - i - 1).sum();
    2.0 * pairs as f64 / history.len() as f64
}

/// One row of the table.
struct Row {
    ops: u64,
    implementation: Implementation,
    verdicts: [usize; 3],
    times: Vec<Duration>,
    nodes: Vec<u64>,
    witness_ops: Vec<usize>,
    overlap: Vec<f64>,
}

fn main() {
    let started = Instant::now();
    let spec = LruSpec { capacity: CAPACITY };
    let mut rows = Vec::new();
    let mut sample = None;
    for ops in [1_000, 10_000] {
        for implementation in
            [Implementation::Mutex, Implementation::MutexSlow, Implementation::Sharded, Implementation::ShardedSlow]
        {
            let mut row = Row {
                ops,
                implementation,
                verdicts: [0; 3],
                times: vec![],
                nodes: vec![],
                witness_ops: vec![],
                overlap: vec![],
            };
            for seed in 0..SEEDS {
                let history = implementation.record(ops, seed);
                row.overlap.push(overlap(&history));
                let clock = Instant::now();
                let outcome = check(&spec, &history, BUDGET);
                row.times.push(clock.elapsed());
                row.nodes.push(outcome.nodes());
                match outcome {
                    Outcome::Linearizable { .. } => row.verdicts[0] += 1,
                    Outcome::Violation(witness) => {
                        row.verdicts[1] += 1;
                        row.witness_ops.push(witness.history.len());
                        if sample
                            .as_ref()
                            .is_none_or(|s: &Witness<LinOp, LinRet>| witness.history.len() < s.history.len())
                        {
                            sample = Some(witness);
                        }
                    }
                    Outcome::Unknown { .. } => row.verdicts[2] += 1,
                }
            }
            rows.push(row);
        }
    }

    println!("command: cargo bench -p challenge-graders --bench linearizability");
    println!(
        "LRU capacity {CAPACITY}, {KEYS} keys, 90% get / 10% put, {THREADS} threads, {SEEDS} seeds a row, budget {BUDGET} nodes"
    );
    println!();
    println!(
        "{:>6} {:>7} {:<12} {:>7} {:>4} {:>4} {:>4} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "ops",
        "threads",
        "impl",
        "overlap",
        "lin",
        "viol",
        "unkn",
        "median ms",
        "worst ms",
        "med nodes",
        "max nodes",
        "witness"
    );
    for row in &mut rows {
        row.times.sort();
        row.nodes.sort();
        row.witness_ops.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let witness = match row.witness_ops.get(row.witness_ops.len() / 2) {
            Some(len) => len.to_string(),
            None => "-".to_owned(),
        };
        println!(
            "{:>6} {:>7} {:<12} {:>7.2} {:>4} {:>4} {:>4} {:>10.1} {:>10.1} {:>10} {:>10} {:>8}",
            row.ops,
            THREADS,
            row.implementation.name(),
            row.overlap.iter().sum::<f64>() / row.overlap.len() as f64,
            row.verdicts[0],
            row.verdicts[1],
            row.verdicts[2],
            ms(row.times[row.times.len() / 2]),
            ms(*row.times.last().unwrap()),
            row.nodes[row.nodes.len() / 2],
            row.nodes.last().unwrap(),
            witness
        );
    }
    println!();
    println!("overlap: mean number of other operations each one overlaps in real time;");
    println!("lin / viol / unkn: verdicts; nodes: spec steps tried, shrinking included;");
    println!("witness: median operations in a violation's shrunk witness.");
    if let Some(witness) = sample {
        println!();
        println!("The smallest violation's witness, as a learner sees it:");
        for line in render(&witness, LinOp::describe, LinRet::describe) {
            println!("  {line}");
        }
    }
    println!();
    println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
}
