//! Challenge 3: the connection pool trait, the connections it lends, and the factory it opens
//! them with.
//!
//! The brief (`challenges/03-connection-pool/README.md`) pins every convention; the docs here
//! repeat the ones a signature cannot say. Under the grader the factory is the host's: every
//! connection is a real in-memory SQLite database the scenarios query through the connections
//! you lend, and the host counts each one opened and closed, whatever your own counters say.

use core::fmt;
use core::ops::Deref;
use core::time::Duration;
use std::sync::Arc;

use crate::ffi::{FactoryC, MessageC, FACTORY_OK, FACTORY_TIMED_OUT};
use crate::Clock;

/// How a pool is configured.
///
/// Two clocks are in play. **Ages** (`idle_timeout`, `max_lifetime`) are virtual: read them from
/// the [`Clock`] passed to [`ConnectionPool::new`]; the grader jumps it forward. **Waiting**
/// (`acquire_timeout`, the timeouts you pass to [`Factory::connect`] and [`Connection::ping`])
/// is real time: use `std::time::Instant` and a `Condvar` for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most connections open at once, counting those being opened: 1 to 1024.
    pub max_size: usize,
    /// Idle connections [`ConnectionPool::maintain`] keeps ready (and `new` opens): 0 to `max_size`.
    pub min_idle: usize,
    /// How long `acquire(None)` may take, in real time.
    pub acquire_timeout: Duration,
    /// Virtual time a connection may sit idle before `maintain` closes it (down to `min_idle`);
    /// `None` for never.
    pub idle_timeout: Option<Duration>,
    /// Virtual age, from its opening, at which a connection must be closed; `None` for never.
    pub max_lifetime: Option<Duration>,
    /// Whether `acquire` pings an idle connection before lending it.
    pub test_on_checkout: bool,
}

/// The pool's counters, as of now.
///
/// Two identities hold whenever no call is in progress: `in_use + idle == open`, and
/// `created - (closed_broken + closed_invalid + closed_lifetime + closed_idle + closed_shutdown)
/// == open`. A connection still being opened counts nowhere until the factory returns it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open now: opened and not yet closed.
    pub open: u64,
    /// Open connections in the pool, ready to lend.
    pub idle: u64,
    /// Open connections lent out (their guards are alive).
    pub in_use: u64,
    /// `acquire` calls blocked right now, waiting for a connection or for room to open one.
    pub waiting: u64,
    /// Connections the factory ever opened for this pool.
    pub created: u64,
    /// Closed on return because [`Connection::is_broken`] said so, or because the borrower's
    /// thread was panicking.
    pub closed_broken: u64,
    /// Closed because the ping on checkout failed or timed out.
    pub closed_invalid: u64,
    /// Closed because they reached `max_lifetime`: on checkout, on return, or in `maintain`.
    pub closed_lifetime: u64,
    /// Closed by `maintain` after `idle_timeout`.
    pub closed_idle: u64,
    /// Closed by [`ConnectionPool::close`]: idle ones at once, lent ones on return.
    pub closed_shutdown: u64,
    /// `acquire` calls that returned [`PoolError::Timeout`].
    pub timeouts: u64,
}

/// Why `acquire` returned no connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolError {
    /// The deadline passed: no connection became free, or opening or pinging one took too long.
    Timeout,
    /// The pool is closed.
    Closed,
    /// The factory failed to open a connection; its message.
    Factory(String),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Timeout => f.write_str("timed out waiting for a connection"),
            PoolError::Closed => f.write_str("the pool is closed"),
            PoolError::Factory(message) => write!(f, "failed to open a connection: {message}"),
        }
    }
}

impl std::error::Error for PoolError {}

/// Why a factory call did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FactoryError {
    /// The backend refused or failed; its message.
    Failed(String),
    /// The call did not finish within the timeout it was given.
    TimedOut,
}

impl fmt::Display for FactoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactoryError::Failed(message) => f.write_str(message),
            FactoryError::TimedOut => f.write_str("timed out"),
        }
    }
}

impl std::error::Error for FactoryError {}

/// What a [`Factory`] is made of in your own tests: open, check and close connections named by
/// integer ids. Under the grader the host provides it.
pub trait Backend: Send + Sync + 'static {
    /// Opens a connection within `timeout` of real time and returns its id.
    fn connect(&self, timeout: Duration) -> Result<u64, FactoryError>;
    /// Checks that connection `id` still answers, within `timeout` of real time.
    fn ping(&self, id: u64, timeout: Duration) -> Result<(), FactoryError>;
    /// Whether connection `id` is known to be unusable. Cheap: no round trip.
    fn is_broken(&self, id: u64) -> bool;
    /// Closes connection `id`; called exactly once per id, when its [`Connection`] drops.
    fn close(&self, id: u64);
}

/// Opens connections. Cloning is cheap; every clone opens from the same backend.
#[derive(Clone)]
pub struct Factory {
    source: Source,
}

#[derive(Clone)]
enum Source {
    Host(&'static FactoryC),
    Backend(Arc<dyn Backend>),
}

// SAFETY: the host's factory callbacks are thread-safe and its `FactoryC` outlives every pool
// built on it (see `ffi::FactoryC`); a `Backend` is `Send + Sync`.
unsafe impl Send for Factory {}
unsafe impl Sync for Factory {}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn factory_result(code: u32, message: &MessageC) -> Result<(), FactoryError> {
    match code {
        FACTORY_OK => Ok(()),
        FACTORY_TIMED_OUT => Err(FactoryError::TimedOut),
        _ => Err(FactoryError::Failed(message.text())),
    }
}

impl Factory {
    /// A factory over your own backend, for your unit tests.
    pub fn new(backend: impl Backend) -> Factory {
        Factory { source: Source::Backend(Arc::new(backend)) }
    }

    /// The factory the grader provides. Used by the export shims, not by learners.
    #[doc(hidden)]
    pub fn from_host(factory: &'static FactoryC) -> Factory {
        Factory { source: Source::Host(factory) }
    }

    /// Opens a connection, taking at most `timeout` of real time. Pass what is left of your
    /// caller's deadline, not a fresh timeout: a factory that hangs uses all of it.
    pub fn connect(&self, timeout: Duration) -> Result<Connection, FactoryError> {
        let id = match &self.source {
            Source::Host(host) => {
                let (mut id, mut message) = (0, MessageC::EMPTY);
                let code = (host.connect)(host.ctx, duration_nanos(timeout), &mut id, &mut message);
                factory_result(code, &message).map(|()| id)?
            }
            Source::Backend(backend) => backend.connect(timeout)?,
        };
        Ok(Connection { id, factory: self.clone() })
    }

    fn ping(&self, id: u64, timeout: Duration) -> Result<(), FactoryError> {
        match &self.source {
            Source::Host(host) => {
                let mut message = MessageC::EMPTY;
                factory_result((host.ping)(host.ctx, id, duration_nanos(timeout), &mut message), &message)
            }
            Source::Backend(backend) => backend.ping(id, timeout),
        }
    }

    fn is_broken(&self, id: u64) -> bool {
        match &self.source {
            Source::Host(host) => (host.is_broken)(host.ctx, id),
            Source::Backend(backend) => backend.is_broken(id),
        }
    }

    fn close(&self, id: u64) {
        match &self.source {
            Source::Host(host) => (host.close)(host.ctx, id),
            Source::Backend(backend) => backend.close(id),
        }
    }
}

impl fmt::Debug for Factory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.source {
            Source::Host(_) => "Factory(host)",
            Source::Backend(_) => "Factory(backend)",
        })
    }
}

/// One open connection. Dropping it closes it: keep it in your pool to reuse it.
pub struct Connection {
    id: u64,
    factory: Factory,
}

impl Connection {
    /// The connection's id, unique among the factory's connections.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Checks that the connection still answers, taking at most `timeout` of real time.
    pub fn ping(&self, timeout: Duration) -> Result<(), FactoryError> {
        self.factory.ping(self.id, timeout)
    }

    /// Whether the connection is known to be unusable (a borrower saw it fail). Cheap.
    pub fn is_broken(&self) -> bool {
        self.factory.is_broken(self.id)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.factory.close(self.id);
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").field("id", &self.id).finish()
    }
}

/// A thread-safe pool of connections opened by a [`Factory`], lent out through guards.
///
/// The conventions (the brief has a timeline of each):
/// - **Size.** At most `max_size` connections exist at any instant, counting those being opened:
///   reserve room before calling [`Factory::connect`], and give it back if the connect fails.
/// - **`acquire(timeout)`** has one deadline, `timeout` (or `acquire_timeout`) from the call, in
///   real time. In order: a closed pool returns [`PoolError::Closed`]. Otherwise it takes the
///   *most recently returned* idle connection: past `max_lifetime`, close it and look again;
///   with `test_on_checkout`, ping it with the time left and close it on failure. With no idle
///   connection and room, it opens one with the time left: a factory failure returns
///   [`PoolError::Factory`] at once, a factory timeout returns [`PoolError::Timeout`]. With no
///   room it waits. Never call the factory or ping while holding your lock.
/// - **Waiters** are served first come, first served: a connection returned while callers wait
///   goes to the one waiting longest, never to a newer `acquire`. A waiter that times out leaves
///   the queue, and what would have been its turn goes to the next one.
/// - **Returning** (dropping the guard): a connection that [`Connection::is_broken`], or whose
///   borrower's thread is panicking (`std::thread::panicking()`), is closed as broken; one past
///   `max_lifetime` is closed as such. Either way the room it frees goes to a waiter. Otherwise
///   it goes to the oldest waiter, or back to the idle set.
/// - **`maintain()`** (the grader calls it after moving virtual time): closes idle connections
///   past `max_lifetime`; then, while more than `min_idle` are idle, closes those idle for at
///   least `idle_timeout`, longest idle first; then opens connections until `min_idle` are idle
///   or the pool is full. It never touches lent connections. `new` opens `min_idle` too.
/// - **`close()`**: waiters and later `acquire`s get [`PoolError::Closed`], idle connections
///   close at once, lent ones close when returned.
/// - **Ages** are virtual ([`Clock`]): a connection opened at `t` is past `max_lifetime` from
///   `t + max_lifetime` on, exactly; one returned at `t` has been idle `idle_timeout` from
///   `t + idle_timeout` on. **Waiting** is real time.
///
/// ```
/// use challenge_harness::{
///     Backend, Clock, Connection, ConnectionPool, Factory, FactoryError, ManualClock, PoolConfig, PoolError,
///     PoolStats,
/// };
/// use std::ops::Deref;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// /// Opens a fresh connection for every caller and never reuses one: a start, not a solution.
/// pub struct NoPool {
///     factory: Factory,
///     config: PoolConfig,
///     created: Arc<AtomicU64>,
/// }
///
/// pub struct Lent(Connection);
///
/// impl Deref for Lent {
///     type Target = Connection;
///     fn deref(&self) -> &Connection {
///         &self.0
///     }
/// }
///
/// impl ConnectionPool for NoPool {
///     type Guard = Lent;
///
///     fn new(config: PoolConfig, factory: Factory, _clock: Clock) -> Self {
///         NoPool { factory, config, created: Arc::new(AtomicU64::new(0)) }
///     }
///     fn acquire(&self, timeout: Option<Duration>) -> Result<Lent, PoolError> {
///         let timeout = timeout.unwrap_or(self.config.acquire_timeout);
///         match self.factory.connect(timeout) {
///             Ok(conn) => {
///                 self.created.fetch_add(1, Ordering::Relaxed);
///                 Ok(Lent(conn))
///             }
///             Err(FactoryError::TimedOut) => Err(PoolError::Timeout),
///             Err(FactoryError::Failed(message)) => Err(PoolError::Factory(message)),
///         }
///     }
///     fn maintain(&self) {}
///     fn close(&self) {}
///     fn stats(&self) -> PoolStats {
///         PoolStats { created: self.created.load(Ordering::Relaxed), ..PoolStats::default() }
///     }
/// }
///
/// challenge_harness::export_connection_pool!(NoPool);
///
/// /// A backend for tests: every connect succeeds with the next id.
/// struct Counter(AtomicU64);
///
/// impl Backend for Counter {
///     fn connect(&self, _timeout: Duration) -> Result<u64, FactoryError> {
///         Ok(self.0.fetch_add(1, Ordering::Relaxed))
///     }
///     fn ping(&self, _id: u64, _timeout: Duration) -> Result<(), FactoryError> {
///         Ok(())
///     }
///     fn is_broken(&self, _id: u64) -> bool {
///         false
///     }
///     fn close(&self, _id: u64) {}
/// }
///
/// let config = PoolConfig {
///     max_size: 2,
///     min_idle: 0,
///     acquire_timeout: Duration::from_millis(100),
///     idle_timeout: None,
///     max_lifetime: None,
///     test_on_checkout: false,
/// };
/// let manual = ManualClock::new(0);
/// let pool = NoPool::new(config, Factory::new(Counter(AtomicU64::new(1))), manual.clock());
/// let conn = pool.acquire(None).unwrap();
/// assert_eq!(conn.id(), 1);
/// assert_eq!(pool.stats().created, 1);
/// ```
pub trait ConnectionPool: Send + Sync + 'static {
    /// What `acquire` lends: it derefs to the [`Connection`], and dropping it returns the
    /// connection to the pool. It outlives the borrow of the pool (hold an `Arc` to your state).
    type Guard: Deref<Target = Connection> + Send + 'static;

    /// Builds a pool and opens `min_idle` connections (each with `acquire_timeout` to connect;
    /// a failure leaves it to a later `maintain`). Read ages only from `clock`.
    fn new(config: PoolConfig, factory: Factory, clock: Clock) -> Self
    where
        Self: Sized;

    /// Lends a connection within `timeout` of real time (`None`: the config's `acquire_timeout`).
    fn acquire(&self, timeout: Option<Duration>) -> Result<Self::Guard, PoolError>;

    /// Housekeeping at the current virtual time: lifetime and idle reaping, then topping up to
    /// `min_idle`.
    fn maintain(&self);

    /// Closes the pool for good. Idempotent.
    fn close(&self);

    /// The counters, as of now.
    fn stats(&self) -> PoolStats;
}
