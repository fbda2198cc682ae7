//! The host's fault-injecting connection factory. Every connection is a real in-memory SQLite
//! database owned here and known to the pool only by its id; the factory answers `connect` and
//! `ping` as scripted (ok, fail, slow, hang, stall), and keeps a ledger of every connection
//! opened, lent, returned and closed, so leaks, an exceeded `max_size`, a connection lent twice
//! and a dirty one handed out are seen whatever the pool's own counters say.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use challenge_harness::ffi::{FactoryC, MessageC, FACTORY_FAILED, FACTORY_OK, FACTORY_TIMED_OUT};

use super::behaviour::Behaviour;
use super::observation::HostCounts;
use super::script::Config;
use crate::host::{monotonic_nanos, Host};
use crate::Nanos;

/// One connection the host opened.
struct Conn {
    db: rusqlite::Connection,
    opened_at: Nanos,
    broken: bool,
    lent: bool,
}

/// The ledger and the script, under one lock (never held across a sleep).
struct State {
    next_id: u64,
    alive: BTreeMap<u64, Conn>,
    connecting: u64,
    created: u64,
    closed: u64,
    peak: u64,
    violations: Vec<String>,
    connect: Behaviour,
    ping: Behaviour,
    /// Answers for the next connects, before `connect` applies again.
    connect_queue: VecDeque<Behaviour>,
}

/// The factory behind one pool. Leaked, like the host: the pool may keep its pointer until the
/// worker exits.
pub struct HostFactory {
    api: FactoryC,
    host: &'static Host,
    config: Config,
    state: Mutex<State>,
    stall_started: AtomicBool,
    stall_released: AtomicBool,
    stall_gave_up: AtomicBool,
    /// Whether lending is recorded (off for timing, where the ledger's lock would be measured).
    ledger_on: bool,
}

/// The message a failing connect or ping reports; the pool must pass it on unchanged.
pub const CONNECT_FAILURE: &str = "connection refused by the database (scripted by the grader)";
const PING_FAILURE: &str = "the connection did not answer the ping (scripted by the grader)";
const BROKEN: &str = "the connection is broken";

impl HostFactory {
    /// A factory whose connects and pings succeed, for a pool built with `config`.
    pub fn leak(host: &'static Host, config: &Config) -> &'static HostFactory {
        HostFactory::leak_with(host, config, true)
    }

    /// A factory that keeps no ledger of lending, for timing.
    pub fn leak_untracked(host: &'static Host, config: &Config) -> &'static HostFactory {
        HostFactory::leak_with(host, config, false)
    }

    fn leak_with(host: &'static Host, config: &Config, ledger_on: bool) -> &'static HostFactory {
        let factory: &'static mut HostFactory = Box::leak(Box::new(HostFactory {
            api: FactoryC { ctx: std::ptr::null_mut(), connect, ping, is_broken, close },
            host,
            config: *config,
            state: Mutex::new(State {
                next_id: 1,
                alive: BTreeMap::new(),
                connecting: 0,
                created: 0,
                closed: 0,
                peak: 0,
                violations: Vec::new(),
                connect: Behaviour::Ok,
                ping: Behaviour::Ok,
                connect_queue: VecDeque::new(),
            }),
            stall_started: AtomicBool::new(false),
            stall_released: AtomicBool::new(false),
            stall_gave_up: AtomicBool::new(false),
            ledger_on,
        }));
        factory.api.ctx = (factory as *const HostFactory).cast_mut().cast::<c_void>();
        factory
    }

    /// The table handed to the plugin.
    pub fn api(&'static self) -> &'static FactoryC {
        &self.api
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The grader's own code never panics while holding it; a poisoned ledger is still right.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Scripts later connects and pings.
    pub fn set(&self, connect: Option<Behaviour>, ping: Option<Behaviour>) {
        let mut state = self.state();
        if let Some(b) = connect {
            state.connect = b;
            state.connect_queue.clear();
        }
        if let Some(b) = ping {
            state.ping = b;
        }
    }

    /// Answers for the next connects, one each, before the scripted one applies again.
    pub fn queue_connects(&self, answers: &[Behaviour]) {
        self.state().connect_queue.extend(answers.iter().copied());
    }

    /// The id the next opened connection will get: ids at or above it were opened after now.
    pub fn next_id(&self) -> u64 {
        if !self.ledger_on {
            return 0;
        }
        self.state().next_id
    }

    /// Records that the pool lent connection `id`, noting every rule that breaks. Whether an
    /// idle connection was pinged first is judged by the scenarios' counts, not here: a
    /// connection handed straight from its returning borrower to a waiter may skip the ping.
    pub fn lend(&self, id: u64) {
        if !self.ledger_on {
            return;
        }
        let now = self.host.time();
        let max_lifetime = self.config.max_lifetime;
        let mut state = self.state();
        let problem = match state.alive.get_mut(&id) {
            None => Some(format!("the pool lent connection {id}, which was already closed (or never opened)")),
            Some(conn) if conn.lent => Some(format!("the pool lent connection {id}, which another caller still holds")),
            Some(conn) => {
                conn.lent = true;
                if conn.broken {
                    Some(format!("the pool lent connection {id}, which had been returned broken"))
                } else if !conn.db.is_autocommit() {
                    Some(format!(
                        "the pool lent connection {id} with a transaction still open: its last borrower panicked \
                         mid-transaction, and the connection went back to the pool instead of being closed"
                    ))
                } else if let Some(limit) = max_lifetime.filter(|l| now.0 >= conn.opened_at.0.saturating_add(l.0)) {
                    Some(format!(
                        "the pool lent connection {id}, opened at t={}, at t={now}: it reached max-lifetime ({limit}) \
                         at t={}",
                        conn.opened_at,
                        Nanos(conn.opened_at.0 + limit.0)
                    ))
                } else {
                    None
                }
            }
        };
        state.violations.extend(problem);
    }

    /// Records that the borrower of connection `id` gave it back.
    pub fn unlend(&self, id: u64) {
        if !self.ledger_on {
            return;
        }
        if let Some(conn) = self.state().alive.get_mut(&id) {
            conn.lent = false;
        }
    }

    /// Marks connection `id` broken, as a failed query would.
    pub fn mark_broken(&self, id: u64) {
        if let Some(conn) = self.state().alive.get_mut(&id) {
            conn.broken = true;
        }
    }

    /// Runs `sql` on connection `id`; `Some(message)` when SQLite refuses it.
    pub fn query(&self, id: u64, sql: &str) -> Option<String> {
        match self.state().alive.get(&id) {
            Some(conn) => conn.db.execute_batch(sql).err().map(|e| e.to_string()),
            None => Some(format!("connection {id} is closed")),
        }
    }

    /// The host's count right now.
    pub fn counts(&self) -> HostCounts {
        let state = self.state();
        HostCounts {
            alive: state.alive.len() as u64,
            lent: state.alive.values().filter(|c| c.lent).count() as u64,
            created: state.created,
            closed: state.closed,
            peak: state.peak,
        }
    }

    /// The rules seen broken since the last call.
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.state().violations)
    }

    /// Whether a stalled connect is waiting for [`HostFactory::release_stall`].
    pub fn stall_started(&self) -> bool {
        self.stall_started.load(Ordering::SeqCst)
    }

    /// Lets a stalled connect finish.
    pub fn release_stall(&self) {
        self.stall_released.store(true, Ordering::SeqCst);
    }

    /// Whether a stalled connect gave up waiting for its release.
    pub fn stall_gave_up(&self) -> bool {
        self.stall_gave_up.load(Ordering::SeqCst)
    }

    /// Plays `behaviour` within `timeout`: `Ok(())` to succeed, `Err(code)` to answer with it.
    fn play(&self, behaviour: Behaviour, timeout: u64) -> Result<(), u32> {
        let sleep = |nanos: u64| std::thread::sleep(Duration::from_nanos(nanos));
        match behaviour {
            Behaviour::Ok => Ok(()),
            Behaviour::Fail => Err(FACTORY_FAILED),
            Behaviour::Slow(d) | Behaviour::SlowFail(d) if d.0 > timeout => {
                sleep(timeout);
                Err(FACTORY_TIMED_OUT)
            }
            Behaviour::Slow(d) => {
                sleep(d.0);
                Ok(())
            }
            Behaviour::SlowFail(d) => {
                sleep(d.0);
                Err(FACTORY_FAILED)
            }
            Behaviour::Hang => {
                sleep(timeout);
                Err(FACTORY_TIMED_OUT)
            }
            Behaviour::Stall(limit) => {
                self.stall_started.store(true, Ordering::SeqCst);
                let started = monotonic_nanos();
                // Polling with sleeps, not a condvar with a timeout: that would read the system
                // clock, and every clock read in this process is counted against the learner.
                while !self.stall_released.load(Ordering::SeqCst) {
                    let waited = monotonic_nanos() - started;
                    if waited >= limit.0 || waited >= timeout {
                        self.stall_gave_up.store(true, Ordering::SeqCst);
                        break;
                    }
                    sleep(500_000);
                }
                Ok(())
            }
        }
    }
}

fn factory<'a>(ctx: *mut c_void) -> &'a HostFactory {
    // SAFETY: ctx is the leaked `HostFactory` this table belongs to.
    unsafe { &*ctx.cast::<HostFactory>() }
}

fn write_message(out: *mut MessageC, text: &str) {
    // SAFETY: the plugin passes a valid out-param for the duration of the call.
    unsafe { out.write(MessageC::new(text)) };
}

extern "C" fn connect(ctx: *mut c_void, timeout_nanos: u64, id: *mut u64, message: *mut MessageC) -> u32 {
    let factory = factory(ctx);
    let behaviour = {
        let mut state = factory.state();
        state.connecting += 1;
        let in_flight = state.alive.len() as u64 + state.connecting;
        state.peak = state.peak.max(in_flight);
        if in_flight > factory.config.max_size {
            let open = state.alive.len();
            let also = state.connecting - 1;
            state.violations.push(format!(
                "the pool called connect with {open} connections open and {also} more being opened: that makes \
                 {in_flight}, above max-size {}",
                factory.config.max_size
            ));
        }
        state.connect_queue.pop_front().unwrap_or(state.connect)
    };
    let played = factory.play(behaviour, timeout_nanos);
    let opened = played.and_then(|()| rusqlite::Connection::open_in_memory().map_err(|_| FACTORY_FAILED));
    let mut state = factory.state();
    state.connecting -= 1;
    match opened {
        Ok(db) => {
            let new = state.next_id;
            state.next_id += 1;
            state.created += 1;
            let opened_at = factory.host.time();
            state.alive.insert(new, Conn { db, opened_at, broken: false, lent: false });
            // SAFETY: a valid out-param for this call.
            unsafe { id.write(new) };
            FACTORY_OK
        }
        Err(code) => {
            write_message(message, CONNECT_FAILURE);
            code
        }
    }
}

extern "C" fn ping(ctx: *mut c_void, id: u64, timeout_nanos: u64, message: *mut MessageC) -> u32 {
    let factory = factory(ctx);
    let behaviour = {
        let mut state = factory.state();
        match state.alive.get(&id) {
            None => {
                state.violations.push(format!("the pool pinged connection {id} after closing it"));
                write_message(message, BROKEN);
                return FACTORY_FAILED;
            }
            Some(conn) if conn.broken => {
                write_message(message, BROKEN);
                return FACTORY_FAILED;
            }
            Some(_) => state.ping,
        }
    };
    match factory.play(behaviour, timeout_nanos) {
        Ok(()) => FACTORY_OK,
        Err(code) => {
            write_message(message, PING_FAILURE);
            code
        }
    }
}

extern "C" fn is_broken(ctx: *mut c_void, id: u64) -> bool {
    factory(ctx).state().alive.get(&id).is_none_or(|c| c.broken)
}

extern "C" fn close(ctx: *mut c_void, id: u64) {
    let mut state = factory(ctx).state();
    match state.alive.remove(&id) {
        Some(conn) => {
            state.closed += 1;
            if conn.lent {
                state.violations.push(format!("the pool closed connection {id} while a caller was still using it"));
            }
        }
        None => state.violations.push(format!("the pool closed connection {id} twice")),
    }
}
