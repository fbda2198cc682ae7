//! The worker side: builds the learner's pool on a host factory through its exported table,
//! drives it through one scenario, and streams what came back together with the host's own
//! ledger. It decides nothing.

use std::collections::BTreeMap;
use std::ffi::c_void;

use challenge_harness::ffi::{
    AcquireC, ConnectionPoolTable, MessageC, PoolConfigC, PoolStatsC, Status, ACQUIRED, ACQUIRE_CLOSED,
    ACQUIRE_FACTORY, ACQUIRE_TIMEOUT, STATUS_INVALID_CONFIG, STATUS_OK, STATUS_PANIC,
};

use super::checks;
use super::factory::HostFactory;
use super::observation::{Audit, Observation, Outcome, PoolError, Stats};
use super::script::{Action, Config, Release, Scenario, Script, Step};
use crate::host::{monotonic_nanos, Host};
use crate::Nanos;

/// A pool living inside a plugin, on a host factory.
pub struct Pool {
    table: &'static ConnectionPoolTable,
    host: &'static Host,
    /// The factory the pool opens connections with.
    pub factory: &'static HostFactory,
    this: *mut c_void,
}

// SAFETY: the learner's type is `Send + Sync` (the trait demands it, checked when the plugin was
// compiled), and the table's functions only borrow it.
unsafe impl Send for Pool {}
unsafe impl Sync for Pool {}

/// A connection the pool lent: its guard, owned by the plugin until released.
pub struct Lease {
    guard: *mut c_void,
    /// The connection's id.
    pub id: u64,
}

// SAFETY: the guard type is `Send` (the trait demands it).
unsafe impl Send for Lease {}

fn failed(status: Status) -> Outcome {
    match status {
        STATUS_PANIC => Outcome::Panic { message: Host::take_panic() },
        other => Outcome::Panic { message: format!("the call returned unknown status {other}") },
    }
}

impl Pool {
    /// Calls the plugin's `create` on `factory`; `Err` carries the panic message.
    pub fn new(
        table: &'static ConnectionPoolTable,
        host: &'static Host,
        config: &Config,
        factory: &'static HostFactory,
    ) -> Result<Pool, String> {
        let c = PoolConfigC {
            max_size: config.max_size,
            min_idle: config.min_idle,
            acquire_timeout_nanos: config.acquire_timeout.0,
            idle_timeout_nanos: config.idle_timeout.map_or(0, |t| t.0),
            max_lifetime_nanos: config.max_lifetime.map_or(0, |t| t.0),
            test_on_checkout: config.test_on_checkout,
        };
        let mut this = std::ptr::null_mut();
        match (table.create)(host.api(), c, factory.api(), &mut this) {
            STATUS_OK => Ok(Pool { table, host, factory, this }),
            STATUS_INVALID_CONFIG => Err("the pool rejected a valid configuration".to_owned()),
            STATUS_PANIC => Err(Host::take_panic()),
            other => Err(format!("create returned unknown status {other}")),
        }
    }

    /// `acquire(timeout)`, timed in real time, with the lending recorded in the host's ledger.
    pub fn acquire(&self, timeout: Option<Nanos>) -> (Outcome, Option<Lease>) {
        let next = self.factory.next_id();
        let mut out = AcquireC { outcome: ACQUIRE_TIMEOUT, guard: std::ptr::null_mut(), connection: 0, message: MessageC::EMPTY };
        let started = monotonic_nanos();
        let status =
            (self.table.acquire)(self.host.api(), self.this, timeout.is_some(), timeout.map_or(0, |t| t.0), &mut out);
        let took = monotonic_nanos() - started;
        if status != STATUS_OK {
            return (failed(status), None);
        }
        let refused = |error| (Outcome::Refused { error, took }, None);
        match out.outcome {
            ACQUIRED => {
                let (id, fresh) = (out.connection, out.connection >= next);
                self.factory.lend(id);
                (Outcome::Acquired { id, fresh, took }, Some(Lease { guard: out.guard, id }))
            }
            ACQUIRE_TIMEOUT => refused(PoolError::Timeout),
            ACQUIRE_CLOSED => refused(PoolError::Closed),
            ACQUIRE_FACTORY => refused(PoolError::Factory(out.message.text())),
            other => (Outcome::Panic { message: format!("acquire returned unknown outcome {other}") }, None),
        }
    }

    /// Gives a lent connection back, normally or while unwinding from a panic.
    pub fn release(&self, lease: Lease, how: Release) -> Outcome {
        self.factory.unlend(lease.id);
        let status = match how {
            Release::Normal => (self.table.release)(self.host.api(), lease.guard),
            Release::Panicking => (self.table.release_panicking)(self.host.api(), lease.guard),
        };
        match status {
            STATUS_OK => Outcome::Done,
            other => failed(other),
        }
    }

    /// `maintain()`.
    pub fn maintain(&self) -> Outcome {
        match (self.table.maintain)(self.host.api(), self.this) {
            STATUS_OK => Outcome::Done,
            other => failed(other),
        }
    }

    /// `close()`.
    pub fn close(&self) -> Outcome {
        match (self.table.close)(self.host.api(), self.this) {
            STATUS_OK => Outcome::Done,
            other => failed(other),
        }
    }

    /// `stats()`; `Err` carries a panic message.
    pub fn stats(&self) -> Result<Stats, String> {
        let mut s = PoolStatsC::default();
        match (self.table.stats)(self.host.api(), self.this, &mut s) {
            STATUS_OK => Ok(Stats {
                open: s.open,
                idle: s.idle,
                in_use: s.in_use,
                waiting: s.waiting,
                created: s.created,
                closed_broken: s.closed_broken,
                closed_invalid: s.closed_invalid,
                closed_lifetime: s.closed_lifetime,
                closed_idle: s.closed_idle,
                closed_shutdown: s.closed_shutdown,
                timeouts: s.timeouts,
            }),
            other => Err(failed(other).panic().unwrap_or_default().to_owned()),
        }
    }

    /// The pool's `waiting` counter, 0 if `stats()` panics (the scenario's own calls report that).
    pub fn waiting(&self) -> u64 {
        self.stats().map_or(0, |s| s.waiting)
    }

    /// The pool and the host side by side, and the rules broken since the last audit.
    pub fn audit(&self) -> Audit {
        let (stats, panic) = match self.stats() {
            Ok(s) => (Some(s), None),
            Err(message) => (None, Some(message)),
        };
        Audit { stats, panic, host: self.factory.counts(), violations: self.factory.take_violations() }
    }

    /// Returns every lease, closes the pool and audits: what every scenario ends with.
    pub fn finish(&self, leases: impl IntoIterator<Item = Lease>) -> Audit {
        for lease in leases {
            if let Outcome::Panic { message } = self.release(lease, Release::Normal) {
                return Audit { panic: Some(message), ..self.audit() };
            }
        }
        if let Outcome::Panic { message } = self.close() {
            return Audit { panic: Some(message), ..self.audit() };
        }
        self.audit()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // A panicking destructor was reported to the host; the scenario's verdict is already out.
        let _ = (self.table.destroy)(self.host.api(), self.this);
    }
}

/// Runs `scenario` against `learner` (and `reference` for checks that compare), sending each
/// observation to `emit`. `Err` is a panic in the learner's constructor.
pub fn drive(
    learner: &'static ConnectionPoolTable,
    reference: Option<&'static ConnectionPoolTable>,
    host: &'static Host,
    scenario: &Scenario,
    seed: u64,
    emit: &mut dyn FnMut(Observation),
) -> Result<(), String> {
    match &scenario.script {
        Script::Steps(steps) => {
            let pool = Pool::new(learner, host, &scenario.config, HostFactory::leak(host, &scenario.config))?;
            if let Some(leases) = run_steps(&pool, host, steps, emit) {
                emit(Observation::Closed(pool.finish(leases)));
            }
            Ok(())
        }
        Script::Check(check) => checks::run(learner, reference, host, &scenario.config, check, seed, emit),
    }
}

/// Runs the steps in order; the leases still held at the end, or `None` after a panic.
fn run_steps(pool: &Pool, host: &Host, steps: &[Step], emit: &mut dyn FnMut(Observation)) -> Option<Vec<Lease>> {
    let mut leases: BTreeMap<String, Lease> = BTreeMap::new();
    let mut displaced = Vec::new();
    let id = |leases: &BTreeMap<String, Lease>, name: &str| leases.get(name).map(|l| l.id);
    for (index, step) in steps.iter().enumerate() {
        if let Some(at) = step.at {
            host.set_time(at);
        }
        emit(Observation::StepStarted { index, at: host.time() });
        let outcome = match &step.action {
            Action::Acquire { name, timeout, .. } => {
                let (outcome, lease) = pool.acquire(*timeout);
                if let Some(lease) = lease {
                    displaced.extend(leases.insert(name.clone(), lease));
                }
                outcome
            }
            Action::Release { name, how } => match leases.remove(name) {
                Some(lease) => pool.release(lease, *how),
                None => Outcome::Done,
            },
            Action::Break { name } => {
                if let Some(id) = id(&leases, name) {
                    pool.factory.mark_broken(id);
                }
                Outcome::Done
            }
            Action::Query { name, sql, .. } => match id(&leases, name) {
                Some(id) => Outcome::Query(pool.factory.query(id, sql)),
                None => Outcome::Query(Some(format!("{name} holds no connection"))),
            },
            Action::Factory { connect, ping } => {
                pool.factory.set(*connect, *ping);
                Outcome::Done
            }
            Action::Maintain => pool.maintain(),
            Action::Close => pool.close(),
            Action::Stats { .. } => match pool.stats() {
                Ok(stats) => Outcome::Stats(stats),
                Err(message) => Outcome::Panic { message },
            },
        };
        let stop = outcome.is_panic();
        let (host_counts, violations) = (pool.factory.counts(), pool.factory.take_violations());
        emit(Observation::Step { index, at: host.time(), outcome, host: host_counts, violations });
        if stop {
            return None;
        }
    }
    Some(leases.into_values().chain(displaced).collect())
}
