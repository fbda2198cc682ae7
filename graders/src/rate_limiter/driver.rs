//! The worker side: builds the learner's limiter through its exported table and drives it
//! through one scenario, streaming observations. It judges nothing.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;

use challenge_harness::ffi::{
    DecisionC, RateLimiterConfigC, RateLimiterTable, Str, STATUS_COST_EXCEEDS_CAPACITY, STATUS_INVALID_CONFIG,
    STATUS_OK, STATUS_PANIC,
};

use super::{trace, Check, Config, Observation, Observed, Op, Outcome, Round, Scenario, Script, Step};
use crate::host::{monotonic_nanos, Host};
use crate::rng::Rng;
use crate::Nanos;

/// A limiter living inside a plugin.
pub struct Limiter {
    table: &'static RateLimiterTable,
    host: &'static Host,
    this: *mut c_void,
}

// SAFETY: the learner's type is `Send + Sync` (the trait demands it, checked when the plugin was
// compiled), and the table's functions only borrow it.
unsafe impl Send for Limiter {}
unsafe impl Sync for Limiter {}

impl Limiter {
    /// Calls the plugin's `create`; `Err` carries the panic message.
    pub fn new(table: &'static RateLimiterTable, host: &'static Host, config: &Config) -> Result<Limiter, String> {
        let c = RateLimiterConfigC {
            algorithm: config.algorithm.algorithm().code(),
            limit: config.limit,
            window_nanos: config.window.0,
        };
        let mut this = std::ptr::null_mut();
        match (table.create)(host.api(), c, &mut this) {
            STATUS_OK => Ok(Limiter { table, host, this }),
            STATUS_INVALID_CONFIG => Err("the limiter rejected a valid configuration".to_owned()),
            STATUS_PANIC => Err(Host::take_panic()),
            other => Err(format!("create returned unknown status {other}")),
        }
    }

    /// `try_acquire(key, cost)`.
    pub fn acquire(&self, key: &str, cost: u64) -> Outcome {
        let mut d = DecisionC::default();
        match (self.table.try_acquire)(self.host.api(), self.this, Str::new(key), cost, &mut d) {
            STATUS_OK => Outcome::Decision {
                allowed: d.allowed,
                remaining: d.remaining,
                retry_after: Nanos(d.retry_after_nanos),
                reset_after: Nanos(d.reset_after_nanos),
            },
            STATUS_COST_EXCEEDS_CAPACITY => Outcome::CostExceedsCapacity,
            STATUS_PANIC => Outcome::Panic { message: Host::take_panic() },
            other => Outcome::Panic { message: format!("try_acquire returned unknown status {other}") },
        }
    }

    fn cleanup(&self) -> Result<(), String> {
        match (self.table.cleanup)(self.host.api(), self.this) {
            STATUS_OK => Ok(()),
            _ => Err(Host::take_panic()),
        }
    }

    fn tracked_keys(&self) -> Result<u64, String> {
        let mut n = 0;
        match (self.table.tracked_keys)(self.host.api(), self.this, &mut n) {
            STATUS_OK => Ok(n),
            _ => Err(Host::take_panic()),
        }
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        // A panicking destructor was reported to the host; the scenario's verdict is already out.
        let _ = (self.table.destroy)(self.host.api(), self.this);
    }
}

/// Runs `scenario` against `learner` (and `reference` for checks that compare), sending each
/// observation to `emit`. `Err` is a panic in the learner's constructor.
pub fn drive(
    learner: &'static RateLimiterTable,
    reference: Option<&'static RateLimiterTable>,
    host: &'static Host,
    scenario: &Scenario,
    seed: u64,
    emit: &mut dyn FnMut(Observation),
) -> Result<(), String> {
    match &scenario.script {
        Script::Steps(steps) => {
            let limiter = Limiter::new(learner, host, &scenario.config)?;
            run_steps(&limiter, host, steps, emit);
        }
        Script::Check(Check::ConcurrentFrozen { threads, attempts, rounds }) => {
            let mut rng = Rng::new(seed);
            for _ in 0..*rounds {
                let round = concurrent_round(learner, host, &scenario.config, *threads, *attempts, &mut rng)?;
                let stop = round.panic.is_some();
                emit(Observation::Round(round));
                if stop {
                    break;
                }
            }
        }
        Script::Check(Check::Differential { ops, keys, max_gap, max_cost }) => {
            let limiter = Limiter::new(learner, host, &scenario.config)?;
            let calls = trace::differential(&scenario.config, seed, *ops, *keys, max_gap.0, *max_cost);
            let names: Vec<String> = (0..*keys).map(|k| format!("user-{k}")).collect();
            let mut outcomes = Vec::with_capacity(calls.len());
            for call in &calls {
                host.set_time(Nanos(call.at));
                let outcome = limiter.acquire(&names[call.key as usize], call.cost);
                let stop = matches!(outcome, Outcome::Panic { .. });
                outcomes.push(outcome);
                if stop {
                    break;
                }
            }
            emit(Observation::Trace { outcomes });
        }
        Script::Check(Check::Performance { ops, keys, trials, .. }) => {
            let reference = reference.ok_or("the performance check needs the reference solution")?;
            let calls = trace::performance(seed, *ops, *keys);
            let names: Vec<String> = (0..*keys).map(|k| format!("client-{k:05}")).collect();
            let (mut learner_nanos, mut reference_nanos) = (Vec::new(), Vec::new());
            let (mut learner_admitted, mut reference_admitted) = (0, 0);
            // Alternate sides so that drift in machine load hits both equally.
            for _ in 0..*trials {
                let (nanos, admitted) = timed_trial(learner, host, &scenario.config, &calls, &names)?;
                learner_nanos.push(nanos);
                learner_admitted = admitted;
                let (nanos, admitted) = timed_trial(reference, host, &scenario.config, &calls, &names)?;
                reference_nanos.push(nanos);
                reference_admitted = admitted;
            }
            emit(Observation::Timing { learner_nanos, reference_nanos, learner_admitted, reference_admitted });
        }
    }
    Ok(())
}

fn run_steps(limiter: &Limiter, host: &Host, steps: &[Step], emit: &mut dyn FnMut(Observation)) {
    for (index, step) in steps.iter().enumerate() {
        if let Some(at) = step.at {
            host.set_time(at);
        }
        emit(Observation::StepStarted { index, at: host.time() });
        let observed = run_op(limiter, host, &step.op);
        let stop = match &observed {
            Observed::Panic { .. } => true,
            Observed::Calls(outcomes) => outcomes.iter().any(|o| matches!(o, Outcome::Panic { .. })),
            Observed::Admitted { .. } | Observed::CleanedUp | Observed::Keys(_) => false,
        };
        emit(Observation::Step { index, at: host.time(), observed });
        if stop {
            return;
        }
    }
}

fn run_op(limiter: &Limiter, host: &Host, op: &Op) -> Observed {
    match op {
        Op::Acquire { key, cost, repeat, .. } => {
            let mut outcomes = Vec::new();
            for _ in 0..*repeat {
                let outcome = limiter.acquire(key, *cost);
                let stop = matches!(outcome, Outcome::Panic { .. });
                outcomes.push(outcome);
                if stop {
                    break;
                }
            }
            Observed::Calls(outcomes)
        }
        Op::Burst { key, cost, attempts, .. } => count_admitted((0..*attempts).map(|_| limiter.acquire(key, *cost))),
        Op::Poll { key, cost, every, until, .. } => {
            let start = host.time();
            let polls = until.0 / every.0.max(1) + 1;
            count_admitted((0..polls).map(|n| {
                host.set_time(Nanos(start.0 + n * every.0));
                limiter.acquire(key, *cost)
            }))
        }
        Op::FillKeys { count, prefix, cost, .. } => {
            count_admitted((0..*count).map(|n| limiter.acquire(&format!("{prefix}{n}"), *cost)))
        }
        Op::Cleanup {} => match limiter.cleanup() {
            Ok(()) => Observed::CleanedUp,
            Err(message) => Observed::Panic { message },
        },
        Op::TrackedKeys { .. } => match limiter.tracked_keys() {
            Ok(n) => Observed::Keys(n),
            Err(message) => Observed::Panic { message },
        },
    }
}

fn count_admitted(outcomes: impl Iterator<Item = Outcome>) -> Observed {
    let (mut admitted, mut calls) = (0, 0);
    for outcome in outcomes {
        calls += 1;
        match outcome {
            Outcome::Panic { message } => return Observed::Panic { message },
            Outcome::Decision { allowed: true, .. } => admitted += 1,
            Outcome::Decision { allowed: false, .. } | Outcome::CostExceedsCapacity => {}
        }
    }
    Observed::Admitted { admitted, calls }
}

fn concurrent_round(
    table: &'static RateLimiterTable,
    host: &'static Host,
    config: &Config,
    threads: u32,
    attempts: u32,
    rng: &mut Rng,
) -> Result<Round, String> {
    let limiter = Limiter::new(table, host, config)?;
    let key = "contended";
    // Spend a seeded part of the budget first so every round has a different answer.
    let spent = rng.below(config.limit.min(1_000) + 1);
    for _ in 0..spent {
        if let Outcome::Panic { message } = limiter.acquire(key, 1) {
            return Ok(Round {
                budget: 0,
                calls: 0,
                admitted: 0,
                last_admitted_start: None,
                first_denied_end: None,
                panic: Some(message),
            });
        }
    }
    let budget = config.limit.saturating_sub(spent);
    let per_thread: Vec<u32> = (0..threads).map(|_| attempts / 2 + rng.below(attempts as u64 / 2 + 1) as u32).collect();
    let stamp = AtomicU64::new(0);
    let barrier = Barrier::new(threads as usize);
    let results: Vec<(u64, u64, Option<u64>, Option<u64>, Option<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = per_thread
            .iter()
            .map(|&n| {
                let (limiter, stamp, barrier) = (&limiter, &stamp, &barrier);
                std::thread::Builder::new()
                    .stack_size(1 << 20)
                    .spawn_scoped(scope, move || {
                        let (mut calls, mut admitted, mut last_admitted_start, mut first_denied_end) =
                            (0, 0, None, None);
                        barrier.wait();
                        for _ in 0..n {
                            let start = stamp.fetch_add(1, Ordering::SeqCst);
                            let outcome = limiter.acquire(key, 1);
                            let end = stamp.fetch_add(1, Ordering::SeqCst);
                            calls += 1;
                            match outcome {
                                Outcome::Decision { allowed: true, .. } => {
                                    admitted += 1;
                                    last_admitted_start = last_admitted_start.max(Some(start));
                                }
                                Outcome::Decision { allowed: false, .. } | Outcome::CostExceedsCapacity => {
                                    first_denied_end = Some(first_denied_end.map_or(end, |e: u64| e.min(end)));
                                }
                                Outcome::Panic { message } => {
                                    return (calls, admitted, last_admitted_start, first_denied_end, Some(message))
                                }
                            }
                        }
                        (calls, admitted, last_admitted_start, first_denied_end, None)
                    })
                    .expect("spawn a grader thread")
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("grader threads do not panic")).collect()
    });
    let mut round =
        Round { budget, calls: 0, admitted: 0, last_admitted_start: None, first_denied_end: None, panic: None };
    for (calls, admitted, last_start, first_end, panic) in results {
        round.calls += calls;
        round.admitted += admitted;
        round.last_admitted_start = round.last_admitted_start.max(last_start);
        round.first_denied_end = match (round.first_denied_end, first_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        round.panic = round.panic.or(panic);
    }
    Ok(round)
}

fn timed_trial(
    table: &'static RateLimiterTable,
    host: &'static Host,
    config: &Config,
    calls: &[trace::TracedCall],
    names: &[String],
) -> Result<(u64, u64), String> {
    let limiter = Limiter::new(table, host, config)?;
    let mut admitted = 0;
    let started = monotonic_nanos();
    for call in calls {
        host.set_time(Nanos(call.at));
        match limiter.acquire(&names[call.key as usize], call.cost) {
            Outcome::Decision { allowed, .. } => admitted += allowed as u64,
            Outcome::CostExceedsCapacity => {}
            Outcome::Panic { message } => return Err(message),
        }
    }
    let nanos = monotonic_nanos() - started;
    drop(limiter);
    Ok((nanos, admitted))
}
