//! What every test module shares: a scripted [`Backend`] that keeps the host's ledger (opens,
//! closes, what is alive or being opened at its peak, the timeouts it was given), a pool on a
//! `ManualClock` at scenario time 0, and helpers that make a scenario read like the brief.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use challenge_harness::{Backend, ConnectionPool, Factory, FactoryError, ManualClock, PoolConfig, PoolStats};

use crate::ReferencePool;

/// Scenario time 0: far from zero, as under the grader.
pub(crate) const T0: u64 = 1_000 * 3_600 * 1_000_000_000;
pub(crate) const SEC: Duration = Duration::from_secs(1);
/// A timeout no test reaches: a waiter that should be served never gives up first.
pub(crate) const LONG: Duration = Duration::from_secs(30);

pub(crate) fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}

pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What the next `connect` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Open {
    /// Opens at once.
    Ok,
    /// Refuses at once: `Failed("refused")`.
    Fail,
    /// Takes this long, then opens (or times out at its timeout, if that comes first).
    Slow(Duration),
    /// Never answers: uses all of its timeout, then `TimedOut`.
    Hang,
    /// Opens a connection whose pings fail at once.
    PingFails,
    /// Opens a connection whose pings hang until their timeout.
    PingHangs,
}

/// How an open connection answers pings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answers {
    Yes,
    Fails,
    Hangs,
}

#[derive(Default)]
struct Ledger {
    script: VecDeque<Open>,
    next_id: u64,
    alive: HashMap<u64, Answers>,
    broken: HashSet<u64>,
    connecting: usize,
    /// Most connections alive or being opened at once.
    peak: usize,
    opens: u64,
    closes: u64,
    connect_timeouts: Vec<Duration>,
    ping_timeouts: Vec<Duration>,
}

/// The test backend. Clones share one ledger: keep one, give the other to the pool.
#[derive(Clone, Default)]
pub(crate) struct TestBackend(Arc<Mutex<Ledger>>);

impl TestBackend {
    pub(crate) fn new() -> TestBackend {
        TestBackend::default()
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues what the next connects do; once the script runs out, connects succeed.
    pub(crate) fn script(&self, opens: &[Open]) -> &TestBackend {
        self.ledger().script.extend(opens);
        self
    }

    /// Marks connection `id` broken, as a borrower that saw it fail would.
    pub(crate) fn break_conn(&self, id: u64) {
        self.ledger().broken.insert(id);
    }

    /// Connections opened, closed, alive now; most alive or being opened at once.
    pub(crate) fn opens(&self) -> u64 {
        self.ledger().opens
    }
    pub(crate) fn closes(&self) -> u64 {
        self.ledger().closes
    }
    pub(crate) fn alive(&self) -> usize {
        self.ledger().alive.len()
    }
    pub(crate) fn peak(&self) -> usize {
        self.ledger().peak
    }
    pub(crate) fn is_alive(&self, id: u64) -> bool {
        self.ledger().alive.contains_key(&id)
    }

    /// The timeouts connects and pings were given, in order.
    pub(crate) fn connect_timeouts(&self) -> Vec<Duration> {
        self.ledger().connect_timeouts.clone()
    }
    pub(crate) fn ping_timeouts(&self) -> Vec<Duration> {
        self.ledger().ping_timeouts.clone()
    }
}

impl Backend for TestBackend {
    fn connect(&self, timeout: Duration) -> Result<u64, FactoryError> {
        let open = {
            let mut ledger = self.ledger();
            ledger.connecting += 1;
            ledger.peak = ledger.peak.max(ledger.alive.len() + ledger.connecting);
            ledger.connect_timeouts.push(timeout);
            ledger.script.pop_front().unwrap_or(Open::Ok)
        };
        let outcome = match open {
            Open::Fail => Err(FactoryError::Failed("refused".to_owned())),
            Open::Slow(took) if took > timeout => {
                thread::sleep(timeout);
                Err(FactoryError::TimedOut)
            }
            Open::Slow(took) => {
                thread::sleep(took);
                Ok(Answers::Yes)
            }
            Open::Hang => {
                thread::sleep(timeout);
                Err(FactoryError::TimedOut)
            }
            Open::Ok => Ok(Answers::Yes),
            Open::PingFails => Ok(Answers::Fails),
            Open::PingHangs => Ok(Answers::Hangs),
        };
        let mut ledger = self.ledger();
        ledger.connecting -= 1;
        let answers = outcome?;
        ledger.next_id += 1;
        let id = ledger.next_id;
        ledger.alive.insert(id, answers);
        ledger.opens += 1;
        Ok(id)
    }

    fn ping(&self, id: u64, timeout: Duration) -> Result<(), FactoryError> {
        let answers = {
            let mut ledger = self.ledger();
            ledger.ping_timeouts.push(timeout);
            *ledger.alive.get(&id).unwrap_or_else(|| panic!("ping on connection {id}, which is not open"))
        };
        match answers {
            Answers::Yes => Ok(()),
            Answers::Fails => Err(FactoryError::Failed("no answer".to_owned())),
            Answers::Hangs => {
                thread::sleep(timeout);
                Err(FactoryError::TimedOut)
            }
        }
    }

    fn is_broken(&self, id: u64) -> bool {
        self.ledger().broken.contains(&id)
    }

    fn close(&self, id: u64) {
        let mut ledger = self.ledger();
        assert!(ledger.alive.remove(&id).is_some(), "connection {id} closed twice, or never opened");
        ledger.closes += 1;
    }
}

/// A config with `max_size`, nothing else set, and an `acquire_timeout` no test reaches.
pub(crate) fn config(max_size: usize) -> PoolConfig {
    PoolConfig {
        max_size,
        min_idle: 0,
        acquire_timeout: LONG,
        idle_timeout: None,
        max_lifetime: None,
        test_on_checkout: false,
    }
}

/// A pool over `backend` on a manual clock at scenario time 0.
pub(crate) fn pool(config: PoolConfig, backend: &TestBackend) -> (ManualClock, ReferencePool) {
    let clock = ManualClock::new(T0);
    let pool = ReferencePool::new(config, Factory::new(backend.clone()), clock.clock());
    (clock, pool)
}

pub(crate) fn at(clock: &ManualClock, offset: Duration) {
    clock.set(T0 + offset.as_nanos() as u64);
}

/// The stats, after checking the two identities the trait promises between calls.
pub(crate) fn stats(pool: &ReferencePool) -> PoolStats {
    let s = pool.stats();
    assert_eq!(s.in_use + s.idle, s.open, "in_use + idle == open: {s:?}");
    let closed = s.closed_broken + s.closed_invalid + s.closed_lifetime + s.closed_idle + s.closed_shutdown;
    assert_eq!(s.created - closed, s.open, "created - closed == open: {s:?}");
    s
}

/// Stats that differ from `PoolStats::default()` only where named, for readable expectations.
#[derive(Default)]
pub(crate) struct Expect {
    pub(crate) open: u64,
    pub(crate) idle: u64,
    pub(crate) in_use: u64,
    pub(crate) waiting: u64,
    pub(crate) created: u64,
    pub(crate) broken: u64,
    pub(crate) invalid: u64,
    pub(crate) lifetime: u64,
    pub(crate) idle_closed: u64,
    pub(crate) shutdown: u64,
    pub(crate) timeouts: u64,
}

impl From<Expect> for PoolStats {
    fn from(e: Expect) -> PoolStats {
        PoolStats {
            open: e.open,
            idle: e.idle,
            in_use: e.in_use,
            waiting: e.waiting,
            created: e.created,
            closed_broken: e.broken,
            closed_invalid: e.invalid,
            closed_lifetime: e.lifetime,
            closed_idle: e.idle_closed,
            closed_shutdown: e.shutdown,
            timeouts: e.timeouts,
        }
    }
}

pub(crate) fn expect(pool: &ReferencePool, expected: Expect) {
    assert_eq!(stats(pool), PoolStats::from(expected));
}

/// Waits (really) until `cond` holds: how a test sequences threads, e.g. on `stats().waiting`.
pub(crate) fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(10), "gave up waiting for {what}");
        thread::sleep(Duration::from_micros(200));
    }
}

/// Until exactly `n` callers are blocked in `acquire`.
pub(crate) fn until_waiting(pool: &ReferencePool, n: u64) {
    until(&format!("{n} waiters"), || pool.stats().waiting == n);
}
