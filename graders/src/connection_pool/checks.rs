//! The worker side of the pool's programmatic checks: threads, real-time deadlines and fault
//! matrices. Each case reports what every caller got, the few timings the judge needs, and an
//! audit of the pool against the host's ledger; a case that may block says so first (a
//! `Phase`), so a hang's report names what never returned.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use challenge_harness::ffi::ConnectionPoolTable;

use super::behaviour::Behaviour;
use super::driver::{Lease, Pool};
use super::factory::HostFactory;
use super::observation::{Observation, Outcome};
use super::script::{Check, Config, Release};
use crate::host::{monotonic_nanos, Host};
use crate::{Nanos, Rng};

const MS: u64 = 1_000_000;

/// Polls `done` every half millisecond for up to `limit` of real time; whether it came true.
pub fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let started = monotonic_nanos();
    while !done() {
        if monotonic_nanos() - started > limit.as_nanos() as u64 {
            return false;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    true
}

/// The first panic among `outcomes`, as the `Err` the drivers return.
fn first_panic(outcomes: &[Outcome]) -> Option<String> {
    outcomes.iter().find_map(|o| o.panic().map(str::to_owned))
}

/// One case's report: `outcomes`, `facts`, the audit now, and the audit after `finish`.
fn case(name: impl Into<String>, pool: &Pool, outcomes: Vec<Outcome>, facts: Vec<(&str, u64)>, leases: Vec<Lease>) -> Observation {
    let facts = facts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let audit = pool.audit();
    let after_close = (first_panic(&outcomes).is_none()).then(|| pool.finish(leases));
    Observation::Case { name: name.into(), outcomes, facts, audit, after_close }
}

/// How long each connect takes in the broken-wakes-waiters check.
const BROKEN_WAKES_CONNECT_MS: u64 = 5;

/// Acquires `n` connections (with the config's timeout); stops at the first that fails.
fn hold(pool: &Pool, n: u64) -> (Vec<Lease>, Option<Outcome>) {
    let mut leases = Vec::new();
    for _ in 0..n {
        match pool.acquire(None) {
            (_, Some(lease)) => leases.push(lease),
            (outcome, None) => return (leases, Some(outcome)),
        }
    }
    (leases, None)
}

/// Runs one check, sending its observations to `emit`. `Err` is a panic in the constructor.
pub fn run(
    learner: &'static ConnectionPoolTable,
    reference: Option<&'static ConnectionPoolTable>,
    host: &'static Host,
    config: &Config,
    check: &Check,
    seed: u64,
    emit: &mut dyn FnMut(Observation),
) -> Result<(), String> {
    let new_pool = |config: &Config| Pool::new(learner, host, config, HostFactory::leak(host, config));
    match *check {
        Check::Chaos { threads, ops, max_timeout } => {
            let behaviours = [Behaviour::Ok, Behaviour::Fail, Behaviour::Slow(Nanos(MS))];
            let returns = ["return normally", "some return broken", "some borrowers panic mid-transaction"];
            let mut combo = 0u64;
            for connect in behaviours {
                for ping in behaviours {
                    for (kind, ret) in returns.iter().enumerate() {
                        combo += 1;
                        let pool = new_pool(config)?;
                        pool.factory.set(Some(connect), Some(ping));
                        let name = format!("connect {connect}, ping {ping}, {ret}");
                        emit(Observation::Phase { what: format!("chaos ({name}): {threads} threads acquiring") });
                        let outcomes = chaos(&pool, seed ^ (combo << 40), threads, ops, max_timeout, kind, config);
                        let stop = first_panic(&outcomes).is_some();
                        let tally = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count() as u64;
                        let facts = vec![
                            ("acquired", tally(|o| matches!(o, Outcome::Acquired { .. }))),
                            ("refused", tally(|o| matches!(o, Outcome::Refused { .. }))),
                        ];
                        let outcomes = outcomes.into_iter().filter(Outcome::is_panic).take(1).collect();
                        emit(case(name, &pool, outcomes, facts, Vec::new()));
                        if stop {
                            return Ok(());
                        }
                    }
                }
            }
        }
        Check::Deadline { timeout, .. } => {
            let with_ping = Config { test_on_checkout: true, ..*config };
            for (name, config) in [
                ("the pool is full", config),
                ("connect hangs", config),
                ("the idle connection's ping hangs, then connect hangs", &with_ping),
            ] {
                let pool = new_pool(config)?;
                let leases = match name {
                    "the pool is full" => hold(&pool, config.max_size).0,
                    "connect hangs" => {
                        pool.factory.set(Some(Behaviour::Hang), None);
                        Vec::new()
                    }
                    _ => {
                        let (leases, _) = hold(&pool, 1);
                        for lease in leases {
                            pool.release(lease, Release::Normal);
                        }
                        pool.factory.set(Some(Behaviour::Hang), Some(Behaviour::Hang));
                        Vec::new()
                    }
                };
                emit(Observation::Phase { what: format!("acquire(Some({timeout})) when {name}") });
                let (outcome, lease) = pool.acquire(Some(timeout));
                emit(case(name, &pool, vec![outcome], Vec::new(), leases.into_iter().chain(lease).collect()));
            }
        }
        Check::Fifo { waiters } => {
            let pool = new_pool(config)?;
            let (held, _) = hold(&pool, 1);
            let order = Mutex::new(Vec::new());
            emit(Observation::Phase { what: format!("{waiters} callers queue in acquire(Some(5s)) one after another") });
            let outcomes = std::thread::scope(|scope| {
                let handles: Vec<_> = (1..=waiters as u64)
                    .map(|k| {
                        let (pool, order) = (&pool, &order);
                        let handle = scope.spawn(move || {
                            let (outcome, lease) = pool.acquire(Some(Nanos(5_000 * MS)));
                            if let Some(lease) = lease {
                                order.lock().unwrap().push(k);
                                std::thread::sleep(Duration::from_millis(2));
                                pool.release(lease, Release::Normal);
                            }
                            outcome
                        });
                        // Sequence the arrivals by the pool's own `waiting` count, with a fallback
                        // pause for a pool whose count is wrong.
                        if !wait_until(Duration::from_secs(1), || pool.waiting() >= k) {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        handle
                    })
                    .collect();
                for lease in held {
                    pool.release(lease, Release::Normal);
                }
                handles.into_iter().map(|h| h.join().expect("grader threads do not panic")).collect::<Vec<_>>()
            });
            let order = order.into_inner().unwrap();
            let facts: Vec<(&str, u64)> = order.iter().map(|&k| ("served", k)).collect();
            emit(case("waiters queued one after another", &pool, outcomes, facts, Vec::new()));
        }
        Check::TimedOutWaiterSkipped { rounds } => {
            let mut rng = Rng::new(seed);
            for round in 0..rounds {
                let pool = new_pool(config)?;
                let (held, _) = hold(&pool, 1);
                // Round 0: the first waiter is long gone when the connection comes back. Later
                // rounds: it comes back within a millisecond or two of the first waiter's deadline.
                let first_timeout = if round == 0 { 50 * MS } else { 10 * MS };
                let release_after = if round == 0 { 150 * MS } else { 9 * MS + rng.below(2 * MS) };
                let name = format!("round {}: the first waiter's acquire(Some({})) gives up; the connection comes back at {}", round + 1, Nanos(first_timeout), Nanos(release_after));
                emit(Observation::Phase { what: name.clone() });
                let (outcomes, served_after) = std::thread::scope(|scope| {
                    let pool = &pool;
                    let started = monotonic_nanos();
                    let first = scope.spawn(move || pool.acquire(Some(Nanos(first_timeout))));
                    wait_until(Duration::from_millis(200), || pool.waiting() >= 1);
                    let second = scope.spawn(move || {
                        let (outcome, lease) = pool.acquire(Some(Nanos(2_000 * MS)));
                        let served = monotonic_nanos();
                        if let Some(lease) = lease {
                            pool.release(lease, Release::Normal);
                        }
                        (outcome, served)
                    });
                    wait_until(Duration::from_millis(200), || pool.waiting() >= 2);
                    let elapsed = monotonic_nanos() - started;
                    std::thread::sleep(Duration::from_nanos(release_after.saturating_sub(elapsed)));
                    let released = monotonic_nanos();
                    for lease in held {
                        pool.release(lease, Release::Normal);
                    }
                    let (first, first_lease) = first.join().expect("grader threads do not panic");
                    if let Some(lease) = first_lease {
                        pool.release(lease, Release::Normal);
                    }
                    let (second, served) = second.join().expect("grader threads do not panic");
                    (vec![first, second], served.saturating_sub(released))
                });
                let stop = first_panic(&outcomes).is_some();
                emit(case(name, &pool, outcomes, vec![("served_after_release", served_after)], Vec::new()));
                if stop {
                    return Ok(());
                }
            }
        }
        Check::BrokenWakesWaiters { threads } => {
            let pool = new_pool(config)?;
            // Connects take long enough that the first callers' connects always overlap: a pool
            // that lets them all past its room check then fails here every time, not only when
            // the threads happen to interleave inside an instant connect.
            pool.factory.set(Some(Behaviour::Slow(Nanos(BROKEN_WAKES_CONNECT_MS * MS))), None);
            let max = config.max_size;
            let served = AtomicU64::new(0);
            emit(Observation::Phase {
                what: format!(
                    "{threads} callers on max-size {max}, each connect taking {BROKEN_WAKES_CONNECT_MS}ms; the first {max} return their connections broken"
                ),
            });
            let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|_| {
                        let (pool, served) = (&pool, &served);
                        scope.spawn(move || {
                            let (outcome, lease) = pool.acquire(Some(Nanos(3_000 * MS)));
                            if let Some(lease) = lease {
                                if served.fetch_add(1, Ordering::SeqCst) < max {
                                    wait_until(Duration::from_secs(1), || pool.waiting() >= threads as u64 - max);
                                    pool.factory.mark_broken(lease.id);
                                }
                                std::thread::sleep(Duration::from_millis(2));
                                pool.release(lease, Release::Normal);
                            }
                            outcome
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("grader threads do not panic")).collect()
            });
            emit(case("broken returns", &pool, outcomes, Vec::new(), Vec::new()));
        }
        Check::FactoryFailureWakesWaiter => {
            let pool = new_pool(config)?;
            pool.factory.queue_connects(&[Behaviour::SlowFail(Nanos(100 * MS))]);
            emit(Observation::Phase {
                what: "the first caller's connect fails after 100ms while a second caller waits for room".to_owned(),
            });
            let outcomes = std::thread::scope(|scope| {
                let pool = &pool;
                let first = scope.spawn(move || pool.acquire(Some(Nanos(2_000 * MS))).0);
                std::thread::sleep(Duration::from_millis(20));
                let second = scope.spawn(move || {
                    let (outcome, lease) = pool.acquire(Some(Nanos(2_000 * MS)));
                    if let Some(lease) = lease {
                        pool.release(lease, Release::Normal);
                    }
                    outcome
                });
                vec![first.join().expect("grader threads do not panic"), second.join().expect("grader threads do not panic")]
            });
            emit(case("a failed connect frees its room", &pool, outcomes, Vec::new(), Vec::new()));
        }
        Check::SlowConnectDoesNotBlock { stall } => {
            let pool = new_pool(config)?;
            let (held, _) = hold(&pool, 1);
            pool.factory.set(Some(Behaviour::Stall(stall)), None);
            emit(Observation::Phase {
                what: format!("one caller's connect stalls (up to {stall}) while another returns, re-acquires and reads stats"),
            });
            let (outcomes, others_took) = std::thread::scope(|scope| {
                let pool = &pool;
                let connecting = scope.spawn(move || pool.acquire(Some(Nanos(stall.0 * 2))));
                wait_until(Duration::from_nanos(stall.0), || pool.factory.stall_started() || connecting.is_finished());
                let started = monotonic_nanos();
                let mut others = Vec::new();
                for lease in held {
                    others.push(pool.release(lease, Release::Normal));
                }
                let (again, lease) = pool.acquire(Some(Nanos(stall.0 * 2)));
                others.push(again);
                others.extend(lease.map(|l| pool.release(l, Release::Normal)));
                others.push(pool.stats().map_or_else(|message| Outcome::Panic { message }, Outcome::Stats));
                let took = monotonic_nanos() - started;
                pool.factory.release_stall();
                let (outcome, lease) = connecting.join().expect("grader threads do not panic");
                let mut outcomes = vec![outcome];
                outcomes.extend(lease.map(|l| pool.release(l, Release::Normal)));
                outcomes.extend(others);
                (outcomes, took)
            });
            let facts = vec![("others_took", others_took), ("stall_gave_up", pool.factory.stall_gave_up() as u64)];
            emit(case("a stalled connect", &pool, outcomes, facts, Vec::new()));
        }
        Check::GracefulClose => graceful_close(&new_pool(config)?, &new_pool(config)?, config, emit),
        Check::ManyWaiters { waiters } => {
            let pool = new_pool(config)?;
            let (held, _) = hold(&pool, config.max_size);
            emit(Observation::Phase {
                what: format!("{waiters} threads wait in acquire(Some(20s)) on a full pool of {}, then every connection comes back", config.max_size),
            });
            let spawned = AtomicU64::new(0);
            let (outcomes, took) = std::thread::scope(|scope| {
                let mut handles = Vec::with_capacity(waiters as usize);
                for _ in 0..waiters {
                    let (pool, spawned) = (&pool, &spawned);
                    let started = std::thread::Builder::new().stack_size(64 << 10).spawn_scoped(scope, move || {
                        spawned.fetch_add(1, Ordering::SeqCst);
                        let (outcome, lease) = pool.acquire(Some(Nanos(20_000 * MS)));
                        lease.map(|l| pool.release(l, Release::Normal)).filter(Outcome::is_panic).unwrap_or(outcome)
                    });
                    match started {
                        Ok(handle) => handles.push(handle),
                        Err(_) => break,
                    }
                }
                wait_until(Duration::from_secs(10), || pool.waiting() >= handles.len() as u64);
                let started = monotonic_nanos();
                for lease in held {
                    pool.release(lease, Release::Normal);
                }
                let outcomes: Vec<Outcome> =
                    handles.into_iter().map(|h| h.join().expect("grader threads do not panic")).collect();
                (outcomes, monotonic_nanos() - started)
            });
            let acquired = outcomes.iter().filter(|o| matches!(o, Outcome::Acquired { .. })).count() as u64;
            let odd: Vec<Outcome> = outcomes.into_iter().filter(|o| !matches!(o, Outcome::Acquired { .. })).take(3).collect();
            let facts = vec![("threads", spawned.load(Ordering::SeqCst)), ("acquired", acquired), ("took", took)];
            emit(case(format!("{waiters} waiters"), &pool, odd, facts, Vec::new()));
        }
        Check::Performance { ops, threads, trials, .. } => {
            let reference = reference.ok_or("the performance check needs the reference solution")?;
            let (mut learner_nanos, mut reference_nanos) = (Vec::new(), Vec::new());
            // Alternate sides so that drift in machine load hits both equally.
            for _ in 0..trials {
                match timed_trial(learner, host, config, threads, ops)? {
                    Ok(nanos) => learner_nanos.push(nanos),
                    Err(message) => {
                        emit(Observation::Timing { learner_nanos, reference_nanos, panic: Some(message) });
                        return Ok(());
                    }
                }
                reference_nanos.push(timed_trial(reference, host, config, threads, ops)?.map_err(|m| format!("the reference panicked: {m}"))?);
            }
            emit(Observation::Timing { learner_nanos, reference_nanos, panic: None });
        }
    }
    Ok(())
}

/// One chaos combination: `threads` threads each make `ops` acquires with random timeouts, hold
/// what they get for a moment (querying it), and return it; `kind` 1 breaks a third of them,
/// `kind` 2 returns a third from a panicking borrower mid-transaction. A sampler checks the
/// pool's own counters meanwhile. Returns every outcome (a sampled bad count as a panic-free
/// `Stats`).
fn chaos(pool: &Pool, seed: u64, threads: u32, ops: u32, max_timeout: Nanos, kind: usize, config: &Config) -> Vec<Outcome> {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut bad = None;
            while !stop.load(Ordering::SeqCst) && bad.is_none() {
                match pool.stats() {
                    Ok(s) if s.open > config.max_size || s.in_use > s.open || s.idle > s.open => bad = Some(Outcome::Stats(s)),
                    Ok(_) => {}
                    Err(message) => bad = Some(Outcome::Panic { message }),
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            bad
        });
        let workers: Vec<_> = (0..threads as u64)
            .map(|t| {
                scope.spawn(move || {
                    let mut rng = Rng::new(seed ^ t.wrapping_mul(0x9e37_79b9));
                    let mut outcomes = Vec::with_capacity(ops as usize);
                    for _ in 0..ops {
                        let (outcome, lease) = pool.acquire(Some(Nanos(rng.below(max_timeout.0 + 1))));
                        let stop = outcome.is_panic();
                        outcomes.push(outcome);
                        if stop {
                            break;
                        }
                        let Some(lease) = lease else { continue };
                        pool.factory.query(lease.id, "SELECT 1");
                        std::thread::sleep(Duration::from_micros(rng.below(300)));
                        let how = match (kind, rng.below(3)) {
                            (1, 0) => {
                                pool.factory.mark_broken(lease.id);
                                Release::Normal
                            }
                            (2, 0) => {
                                pool.factory.query(lease.id, "BEGIN; CREATE TEMP TABLE IF NOT EXISTS t(x); INSERT INTO t VALUES (1)");
                                Release::Panicking
                            }
                            _ => Release::Normal,
                        };
                        let released = pool.release(lease, how);
                        if released.is_panic() {
                            outcomes.push(released);
                            break;
                        }
                    }
                    outcomes
                })
            })
            .collect();
        let mut outcomes: Vec<Outcome> =
            workers.into_iter().flat_map(|w| w.join().expect("grader threads do not panic")).collect();
        stop.store(true, Ordering::SeqCst);
        if let Some(bad) = sampler.join().expect("grader threads do not panic") {
            // A bad sample travels as the first outcome, where the judge looks for it.
            outcomes.insert(0, bad);
        }
        outcomes
    })
}

/// `close()` on a full pool with two callers waiting (the first pool), and on one with idle
/// connections and one lent (the second).
fn graceful_close(full: &Pool, mixed: &Pool, config: &Config, emit: &mut dyn FnMut(Observation)) {
    let (held, _) = hold(full, config.max_size);
    emit(Observation::Phase { what: "close() while two callers wait in acquire(Some(3s)) on a full pool".to_owned() });
    let (mut outcomes, mut facts) = std::thread::scope(|scope| {
        let waiter = || {
            scope.spawn(|| {
                let (outcome, lease) = full.acquire(Some(Nanos(3_000 * MS)));
                let returned = monotonic_nanos();
                if let Some(lease) = lease {
                    full.release(lease, Release::Normal);
                }
                (outcome, returned)
            })
        };
        let first = waiter();
        wait_until(Duration::from_millis(500), || full.waiting() >= 1);
        let second = waiter();
        wait_until(Duration::from_millis(500), || full.waiting() >= 2);
        let closing = monotonic_nanos();
        let closed = full.close();
        let mut outcomes = vec![closed];
        let mut facts = Vec::new();
        for waiter in [first, second] {
            let (outcome, returned) = waiter.join().expect("grader threads do not panic");
            outcomes.push(outcome);
            facts.push(("waiter_returned_after_close", returned.saturating_sub(closing)));
        }
        (outcomes, facts)
    });
    outcomes.push(full.acquire(Some(Nanos(50 * MS))).0);
    for lease in held {
        outcomes.push(full.release(lease, Release::Normal));
        facts.push(("open_after_a_return", full.factory.counts().alive));
    }
    emit(case("close() on a full pool with two waiters", full, outcomes, facts, Vec::new()));

    let (mut leases, _) = hold(mixed, 2);
    let lent = leases.pop();
    let mut outcomes: Vec<Outcome> = leases.into_iter().map(|l| mixed.release(l, Release::Normal)).collect();
    outcomes.push(mixed.close());
    let mut facts = vec![("open_after_close", mixed.factory.counts().alive)];
    if let Some(lease) = lent {
        outcomes.push(mixed.release(lease, Release::Normal));
        facts.push(("open_after_a_return", mixed.factory.counts().alive));
    }
    emit(case("close() with one connection idle and one lent", mixed, outcomes, facts, Vec::new()));
}

/// One performance trial on a fresh pool: `threads` threads each acquire and release `ops`
/// times. The host's ledger is off, so only the pool is timed.
fn timed_trial(
    table: &'static ConnectionPoolTable,
    host: &'static Host,
    config: &Config,
    threads: u32,
    ops: u32,
) -> Result<Result<u64, String>, String> {
    let pool = Pool::new(table, host, config, HostFactory::leak_untracked(host, config))?;
    let started = monotonic_nanos();
    let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let pool = &pool;
                scope.spawn(move || {
                    for _ in 0..ops {
                        match pool.acquire(None) {
                            (_, Some(lease)) => {
                                if let Outcome::Panic { message } = pool.release(lease, Release::Normal) {
                                    return Err(message);
                                }
                            }
                            (Outcome::Panic { message }, None) => return Err(message),
                            (other, None) => return Err(format!("acquire answered {}", other.describe())),
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("grader threads do not panic")).collect()
    });
    let nanos = monotonic_nanos() - started;
    Ok(results.into_iter().collect::<Result<Vec<()>, String>>().map(|_| nanos))
}
