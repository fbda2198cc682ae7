//! The C-shaped boundary between the grader (the host) and a learner's cdylib (the plugin).
//!
//! Nothing here is meant for learners to call: the export macros and the shims in `shim` use it.
//! Only `#[repr(C)]` types and `extern "C"` function pointers cross the boundary, so the rustc
//! version a learner builds with does not matter. Inputs are borrowed for one call; outputs go to
//! out-params; each side frees only what it allocated. Every byte of this file feeds [`ABI_HASH`],
//! so any edit here makes old plugins fail the header check instead of misbehaving.

use core::ffi::c_void;

/// Major ABI version. It is also part of every entry symbol's name (`…_v1`).
pub const ABI_VERSION: u32 = 1;

/// FNV-1a hash of this file's source: the host and the plugin must agree on it.
pub const ABI_HASH: u64 = fnv1a(include_bytes!("ffi.rs"));

/// The 64-bit FNV-1a hash, usable in constants.
pub const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// Outcome of one call through a table. Anything but [`STATUS_OK`] means the out-params are unset.
pub type Status = i32;
/// The call returned normally and wrote its out-params.
pub const STATUS_OK: Status = 0;
/// The learner's code panicked; the message was sent to [`HostApi::report_panic`] first.
pub const STATUS_PANIC: Status = 1;
/// The host passed a configuration the plugin cannot represent (for example an unknown algorithm).
pub const STATUS_INVALID_CONFIG: Status = 2;
/// `try_acquire` asked for more permits than the limiter can ever hold.
pub const STATUS_COST_EXCEEDS_CAPACITY: Status = 3;

/// A UTF-8 string borrowed for the duration of one call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Str {
    /// First byte.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

impl Str {
    /// Borrows `s` for one call.
    pub fn new(s: &str) -> Str {
        Str { ptr: s.as_ptr(), len: s.len() }
    }

    /// Reads the string back.
    ///
    /// # Safety
    /// `ptr..ptr+len` must be valid UTF-8 that outlives `'a`; [`Str::new`] guarantees it for the
    /// duration of the call it was made for.
    pub unsafe fn as_str<'a>(self) -> &'a str {
        core::str::from_utf8_unchecked(core::slice::from_raw_parts(self.ptr, self.len))
    }
}

/// Services the host offers the plugin. It lives for the whole worker process.
#[repr(C)]
pub struct HostApi {
    /// Opaque host state passed back to every callback.
    pub ctx: *mut c_void,
    /// The virtual monotonic clock, in nanoseconds. Safe to call from any thread.
    pub now_nanos: extern "C" fn(ctx: *mut c_void) -> u64,
    /// Receives a panic message; the host copies the bytes before returning.
    pub report_panic: extern "C" fn(ctx: *mut c_void, message: Str),
}

/// The first field of every table: checked by the host before it calls anything.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbiHeader {
    /// Must equal [`ABI_VERSION`].
    pub abi_version: u32,
    /// Must equal [`ABI_HASH`].
    pub abi_hash: u64,
    /// `size_of` the whole table, header included.
    pub table_size: usize,
}

impl AbiHeader {
    /// The header this build of the harness writes for a table of type `T`.
    pub const fn for_table<T>() -> AbiHeader {
        AbiHeader { abi_version: ABI_VERSION, abi_hash: ABI_HASH, table_size: core::mem::size_of::<T>() }
    }
}

/// Entry symbol of a rate limiter plugin. It returns `&'static RateLimiterTable`.
pub const RATE_LIMITER_SYMBOL: &str = "challenge_rate_limiter_v1";

/// The signature of [`RATE_LIMITER_SYMBOL`].
pub type RateLimiterEntry = extern "C" fn() -> &'static RateLimiterTable;

/// A rate limiter configuration as it crosses the boundary.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RateLimiterConfigC {
    /// 0 fixed window, 1 sliding log, 2 sliding counter, 3 token bucket.
    pub algorithm: u32,
    /// Permits per window, or the bucket's capacity.
    pub limit: u64,
    /// Window length, or the time to refill an empty bucket, in nanoseconds.
    pub window_nanos: u64,
}

/// A rate limiter decision as it crosses the boundary.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct DecisionC {
    /// Whether the permits were granted.
    pub allowed: bool,
    /// Permits still available right now, after this decision.
    pub remaining: u64,
    /// Nanoseconds until the same request would be allowed; 0 when allowed.
    pub retry_after_nanos: u64,
    /// Nanoseconds until the key is back to full capacity.
    pub reset_after_nanos: u64,
}

/// The function table a rate limiter plugin exports.
#[repr(C)]
pub struct RateLimiterTable {
    /// Checked before any call.
    pub header: AbiHeader,
    /// Builds a limiter; writes an opaque pointer owned by the plugin.
    pub create: extern "C" fn(host: *const HostApi, config: RateLimiterConfigC, out: *mut *mut c_void) -> Status,
    /// One decision for `cost` permits on `key`.
    pub try_acquire:
        extern "C" fn(host: *const HostApi, this: *const c_void, key: Str, cost: u64, out: *mut DecisionC) -> Status,
    /// Forgets keys that are indistinguishable from fresh ones.
    pub cleanup: extern "C" fn(host: *const HostApi, this: *const c_void) -> Status,
    /// How many keys the limiter currently stores.
    pub tracked_keys: extern "C" fn(host: *const HostApi, this: *const c_void, out: *mut u64) -> Status,
    /// Frees the limiter with the plugin's allocator.
    pub destroy: extern "C" fn(host: *const HostApi, this: *mut c_void) -> Status,
}

/// A loader passed to `get_or_insert_with` failed (the host's loader "panicked"); the shim turned
/// that into a panic inside the learner's code and caught it again. The key must stay absent.
pub const STATUS_LOADER_PANICKED: Status = 4;

/// Entry symbol of an LRU cache plugin. It returns `&'static LruCacheTable`.
pub const LRU_CACHE_SYMBOL: &str = "challenge_lru_cache_v1";

/// The signature of [`LRU_CACHE_SYMBOL`].
pub type LruCacheEntry = extern "C" fn() -> &'static LruCacheTable;

/// A cache configuration as it crosses the boundary.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CacheConfigC {
    /// Live entries the cache may hold, at least 1.
    pub capacity: u64,
    /// TTL for entries put without one, in nanoseconds; 0 means they never expire.
    pub default_ttl_nanos: u64,
}

/// An `Option<u64>` as it crosses the boundary.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OptionU64C {
    /// Whether there is a value.
    pub present: bool,
    /// The value, when present.
    pub value: u64,
}

/// The cache's lifetime counters as they cross the boundary.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheMetricsC {
    /// Reads that returned a live entry.
    pub hits: u64,
    /// Reads that found no live entry.
    pub misses: u64,
    /// Keys added with no live entry before.
    pub inserts: u64,
    /// Values replaced on a live key.
    pub replacements: u64,
    /// Live entries pushed out for room.
    pub evictions: u64,
    /// Entries that reached their expiry while in the cache.
    pub expirations: u64,
}

/// A host-side loader for `get_or_insert_with`, borrowed for one call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct LoaderC {
    /// Opaque host state passed back to `load`.
    pub ctx: *mut c_void,
    /// Produces the value for `key`. Anything but [`STATUS_OK`] means the loader failed.
    pub load: extern "C" fn(ctx: *mut c_void, key: u64, out: *mut u64) -> Status,
}

/// The function table an LRU cache plugin exports. `ttl_nanos` arguments use 0 for "the default".
#[repr(C)]
pub struct LruCacheTable {
    /// Checked before any call.
    pub header: AbiHeader,
    /// Builds a cache; writes an opaque pointer owned by the plugin.
    pub create: extern "C" fn(host: *const HostApi, config: CacheConfigC, out: *mut *mut c_void) -> Status,
    /// `get(key)`: promotes, counts a hit or a miss.
    pub get: extern "C" fn(host: *const HostApi, this: *const c_void, key: u64, out: *mut OptionU64C) -> Status,
    /// `peek(key)`: neither promotes nor counts.
    pub peek: extern "C" fn(host: *const HostApi, this: *const c_void, key: u64, out: *mut OptionU64C) -> Status,
    /// `contains(key)`: neither promotes nor counts.
    pub contains: extern "C" fn(host: *const HostApi, this: *const c_void, key: u64, out: *mut bool) -> Status,
    /// `put(key, value, ttl)`: writes the replaced live value, if any.
    pub put: extern "C" fn(
        host: *const HostApi,
        this: *const c_void,
        key: u64,
        value: u64,
        ttl_nanos: u64,
        out: *mut OptionU64C,
    ) -> Status,
    /// `remove(key)`: writes the removed live value, if any.
    pub remove: extern "C" fn(host: *const HostApi, this: *const c_void, key: u64, out: *mut OptionU64C) -> Status,
    /// `len()`: live entries.
    pub len: extern "C" fn(host: *const HostApi, this: *const c_void, out: *mut u64) -> Status,
    /// `clear()`.
    pub clear: extern "C" fn(host: *const HostApi, this: *const c_void) -> Status,
    /// `resize(capacity)`.
    pub resize: extern "C" fn(host: *const HostApi, this: *const c_void, capacity: u64) -> Status,
    /// `metrics()`.
    pub metrics: extern "C" fn(host: *const HostApi, this: *const c_void, out: *mut CacheMetricsC) -> Status,
    /// `get_or_insert_with(key, ttl, loader)`: writes the value returned.
    pub get_or_insert_with: extern "C" fn(
        host: *const HostApi,
        this: *const c_void,
        key: u64,
        ttl_nanos: u64,
        loader: LoaderC,
        out: *mut u64,
    ) -> Status,
    /// Frees the cache with the plugin's allocator.
    pub destroy: extern "C" fn(host: *const HostApi, this: *mut c_void) -> Status,
}

/// Entry symbol of a connection pool plugin. It returns `&'static ConnectionPoolTable`.
pub const CONNECTION_POOL_SYMBOL: &str = "challenge_connection_pool_v1";

/// The signature of [`CONNECTION_POOL_SYMBOL`].
pub type ConnectionPoolEntry = extern "C" fn() -> &'static ConnectionPoolTable;

/// A short UTF-8 message copied by value, so neither side borrows the other's memory.
/// Longer messages are cut at a character boundary.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MessageC {
    /// Bytes used.
    pub len: u32,
    /// The bytes.
    pub bytes: [u8; MESSAGE_BYTES],
}

/// Room in a [`MessageC`].
pub const MESSAGE_BYTES: usize = 200;

impl MessageC {
    /// An empty message.
    pub const EMPTY: MessageC = MessageC { len: 0, bytes: [0; MESSAGE_BYTES] };

    /// Copies `s`, cut to fit.
    pub fn new(s: &str) -> MessageC {
        let mut end = s.len().min(MESSAGE_BYTES);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut message = MessageC::EMPTY;
        message.bytes[..end].copy_from_slice(&s.as_bytes()[..end]);
        message.len = end as u32;
        message
    }

    /// The message as a string (lossy, should a writer have broken UTF-8).
    pub fn text(&self) -> String {
        let len = (self.len as usize).min(MESSAGE_BYTES);
        String::from_utf8_lossy(&self.bytes[..len]).into_owned()
    }
}

/// A pool configuration as it crosses the boundary. Durations are nanoseconds; 0 means "none"
/// for the two optional ones.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PoolConfigC {
    /// Most connections open (or being opened) at once.
    pub max_size: u64,
    /// Idle connections `maintain` keeps ready.
    pub min_idle: u64,
    /// Real time `acquire(None)` waits.
    pub acquire_timeout_nanos: u64,
    /// Virtual idle time after which `maintain` closes a connection; 0 for never.
    pub idle_timeout_nanos: u64,
    /// Virtual age at which a connection is closed; 0 for never.
    pub max_lifetime_nanos: u64,
    /// Whether `acquire` pings an idle connection before handing it out.
    pub test_on_checkout: bool,
}

/// A factory call succeeded.
pub const FACTORY_OK: u32 = 0;
/// A factory call failed; its message says why.
pub const FACTORY_FAILED: u32 = 1;
/// A factory call did not finish within the timeout it was given.
pub const FACTORY_TIMED_OUT: u32 = 2;

/// The host's connection factory, handed to the pool's `create`. It lives as long as the pool.
/// Connections are integer ids; the host owns what they stand for and counts every one.
#[repr(C)]
pub struct FactoryC {
    /// Opaque host state passed back to every callback.
    pub ctx: *mut c_void,
    /// Opens a connection within `timeout_nanos` of real time: writes its id, or a message.
    pub connect: extern "C" fn(ctx: *mut c_void, timeout_nanos: u64, id: *mut u64, message: *mut MessageC) -> u32,
    /// Checks that connection `id` still answers, within `timeout_nanos` of real time.
    pub ping: extern "C" fn(ctx: *mut c_void, id: u64, timeout_nanos: u64, message: *mut MessageC) -> u32,
    /// Whether connection `id` is known to be unusable (no round trip; cheap).
    pub is_broken: extern "C" fn(ctx: *mut c_void, id: u64) -> bool,
    /// Closes connection `id`. Each id is closed at most once.
    pub close: extern "C" fn(ctx: *mut c_void, id: u64),
}

/// `acquire` handed out a connection.
pub const ACQUIRED: u32 = 0;
/// `acquire` gave up at its deadline.
pub const ACQUIRE_TIMEOUT: u32 = 1;
/// `acquire` found the pool closed.
pub const ACQUIRE_CLOSED: u32 = 2;
/// `acquire` tried to open a connection and the factory failed.
pub const ACQUIRE_FACTORY: u32 = 3;

/// What one `acquire` returned.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct AcquireC {
    /// [`ACQUIRED`], [`ACQUIRE_TIMEOUT`], [`ACQUIRE_CLOSED`] or [`ACQUIRE_FACTORY`].
    pub outcome: u32,
    /// When acquired: the guard, owned by the plugin until `release` or `release_panicking`.
    pub guard: *mut c_void,
    /// When acquired: the id of the connection the guard lends.
    pub connection: u64,
    /// For [`ACQUIRE_FACTORY`]: the factory's message.
    pub message: MessageC,
}

/// The pool's counters as they cross the boundary.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStatsC {
    /// Connections open now.
    pub open: u64,
    /// Open connections in the pool, not lent.
    pub idle: u64,
    /// Open connections lent to callers.
    pub in_use: u64,
    /// Callers blocked in `acquire`, waiting for a connection.
    pub waiting: u64,
    /// Connections ever opened.
    pub created: u64,
    /// Closed because broken, or returned by a panicking borrower.
    pub closed_broken: u64,
    /// Closed because a ping on checkout failed.
    pub closed_invalid: u64,
    /// Closed at `max_lifetime`.
    pub closed_lifetime: u64,
    /// Closed by `maintain` after `idle_timeout`.
    pub closed_idle: u64,
    /// Closed by `close()`, at once or on return.
    pub closed_shutdown: u64,
    /// `acquire` calls that returned a timeout.
    pub timeouts: u64,
}

/// The function table a connection pool plugin exports.
#[repr(C)]
pub struct ConnectionPoolTable {
    /// Checked before any call.
    pub header: AbiHeader,
    /// Builds a pool on `factory` (which outlives it); writes an opaque pointer owned by the plugin.
    pub create: extern "C" fn(
        host: *const HostApi,
        config: PoolConfigC,
        factory: *const FactoryC,
        out: *mut *mut c_void,
    ) -> Status,
    /// `acquire(timeout)`; `has_timeout = false` means the config's `acquire_timeout`.
    pub acquire: extern "C" fn(
        host: *const HostApi,
        this: *const c_void,
        has_timeout: bool,
        timeout_nanos: u64,
        out: *mut AcquireC,
    ) -> Status,
    /// Drops a guard from `acquire`: the connection goes back to the pool.
    pub release: extern "C" fn(host: *const HostApi, guard: *mut c_void) -> Status,
    /// Drops a guard from `acquire` while the calling thread unwinds from a panic.
    pub release_panicking: extern "C" fn(host: *const HostApi, guard: *mut c_void) -> Status,
    /// `maintain()`: lifetime and idle reaping, then topping up to `min_idle`.
    pub maintain: extern "C" fn(host: *const HostApi, this: *const c_void) -> Status,
    /// `close()`.
    pub close: extern "C" fn(host: *const HostApi, this: *const c_void) -> Status,
    /// `stats()`.
    pub stats: extern "C" fn(host: *const HostApi, this: *const c_void, out: *mut PoolStatsC) -> Status,
    /// Frees the pool with the plugin's allocator. Every guard has been released first.
    pub destroy: extern "C" fn(host: *const HostApi, this: *mut c_void) -> Status,
}

/// Entry symbol of a message queue plugin. It returns `&'static MessageQueueTable`.
pub const MESSAGE_QUEUE_SYMBOL: &str = "challenge_message_queue_v1";

/// The signature of [`MESSAGE_QUEUE_SYMBOL`].
pub type MessageQueueEntry = extern "C" fn() -> &'static MessageQueueTable;

/// `ack` or `nack` had no effect: the lease token is stale.
pub const STATUS_STALE_LEASE: Status = 5;

/// Bytes borrowed for the duration of one call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BytesC {
    /// First byte.
    pub ptr: *const u8,
    /// Length.
    pub len: usize,
}

impl BytesC {
    /// Borrows `bytes` for one call.
    pub fn new(bytes: &[u8]) -> BytesC {
        BytesC { ptr: bytes.as_ptr(), len: bytes.len() }
    }

    /// Reads the bytes back.
    ///
    /// # Safety
    /// `ptr..ptr+len` must be valid for `'a`; [`BytesC::new`] guarantees it for the call it was
    /// made for.
    pub unsafe fn as_slice<'a>(self) -> &'a [u8] {
        if self.len == 0 {
            return &[];
        }
        core::slice::from_raw_parts(self.ptr, self.len)
    }
}

/// A queue configuration as it crosses the boundary. Durations are nanoseconds.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QueueConfigC {
    /// How long a delivery is leased.
    pub visibility_timeout_nanos: u64,
    /// Deliveries a message gets in all.
    pub max_attempts: u32,
    /// The wait before the first retry.
    pub backoff_base_nanos: u64,
    /// The longest wait before a retry.
    pub backoff_max_nanos: u64,
}

/// One delivery as it crosses the boundary; the payload is borrowed for the `push` call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DeliveryC {
    /// The message's id.
    pub id: u64,
    /// The payload.
    pub payload: BytesC,
    /// Which delivery of the message this is, from 1.
    pub attempt: u32,
    /// The lease token.
    pub token: u64,
}

/// The host's collector for `receive`: the plugin pushes each delivery, and the host copies it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DeliverySinkC {
    /// Opaque host state passed back to `push`.
    pub ctx: *mut c_void,
    /// Receives one delivery.
    pub push: extern "C" fn(ctx: *mut c_void, delivery: *const DeliveryC),
}

/// [`DeadLetterC::reason`]: its last allowed attempt failed.
pub const DEAD_MAX_ATTEMPTS: u32 = 0;
/// [`DeadLetterC::reason`]: it was nacked with `retry = false`.
pub const DEAD_REJECTED: u32 = 1;

/// One dead letter as it crosses the boundary; the bytes are borrowed for the `push` call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DeadLetterC {
    /// The message's id.
    pub id: u64,
    /// The payload.
    pub payload: BytesC,
    /// [`DEAD_MAX_ATTEMPTS`] or [`DEAD_REJECTED`].
    pub reason: u32,
    /// Deliveries it got.
    pub attempts: u32,
    /// Its last error, UTF-8.
    pub last_error: BytesC,
    /// Virtual time of its first failure.
    pub first_failure_at: u64,
    /// Virtual time it was dead-lettered.
    pub dead_at: u64,
}

/// The host's collector for `dead_letters`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct DeadLetterSinkC {
    /// Opaque host state passed back to `push`.
    pub ctx: *mut c_void,
    /// Receives one dead letter.
    pub push: extern "C" fn(ctx: *mut c_void, dead: *const DeadLetterC),
}

/// The queue's counters as they cross the boundary.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStatsC {
    /// Available now.
    pub ready: u64,
    /// Available later.
    pub delayed: u64,
    /// Leased now.
    pub in_flight: u64,
    /// Dead-lettered.
    pub dead: u64,
    /// Acked, ever.
    pub acked: u64,
    /// Sent back for another attempt, ever.
    pub retried: u64,
}

/// The function table a message queue plugin exports.
#[repr(C)]
pub struct MessageQueueTable {
    /// Checked before any call.
    pub header: AbiHeader,
    /// Builds a queue; writes an opaque pointer owned by the plugin.
    pub create: extern "C" fn(host: *const HostApi, config: QueueConfigC, out: *mut *mut c_void) -> Status,
    /// `enqueue(payload, delay)`: writes the id.
    pub enqueue: extern "C" fn(
        host: *const HostApi,
        this: *const c_void,
        payload: BytesC,
        has_delay: bool,
        delay_nanos: u64,
        out: *mut u64,
    ) -> Status,
    /// `receive(max)`: pushes each delivery to `sink`, in order.
    pub receive: extern "C" fn(host: *const HostApi, this: *const c_void, max: u64, sink: DeliverySinkC) -> Status,
    /// `ack(token)`: [`STATUS_OK`] or [`STATUS_STALE_LEASE`].
    pub ack: extern "C" fn(host: *const HostApi, this: *const c_void, token: u64) -> Status,
    /// `nack(token, error, retry)`: [`STATUS_OK`] or [`STATUS_STALE_LEASE`].
    pub nack: extern "C" fn(host: *const HostApi, this: *const c_void, token: u64, error: Str, retry: bool) -> Status,
    /// `dead_letters()`: pushes each to `sink`, in order.
    pub dead_letters: extern "C" fn(host: *const HostApi, this: *const c_void, sink: DeadLetterSinkC) -> Status,
    /// `redrive(ids)`; `has_ids = false` means all. Writes how many moved.
    pub redrive: extern "C" fn(
        host: *const HostApi,
        this: *const c_void,
        has_ids: bool,
        ids: *const u64,
        len: usize,
        out: *mut u64,
    ) -> Status,
    /// `stats()`.
    pub stats: extern "C" fn(host: *const HostApi, this: *const c_void, out: *mut QueueStatsC) -> Status,
    /// Frees the queue with the plugin's allocator.
    pub destroy: extern "C" fn(host: *const HostApi, this: *mut c_void) -> Status,
}

/// Entry symbol of a migration runner plugin. It returns `&'static MigrationRunnerTable`.
pub const MIGRATION_RUNNER_SYMBOL: &str = "challenge_migration_runner_v1";

/// The signature of [`MIGRATION_RUNNER_SYMBOL`].
pub type MigrationRunnerEntry = extern "C" fn() -> &'static MigrationRunnerTable;

/// A runner configuration as it crosses the boundary.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MigratorConfigC {
    /// `allow_out_of_order`.
    pub allow_out_of_order: bool,
    /// `busy_timeout`, in nanoseconds of real time.
    pub busy_timeout_nanos: u64,
}

/// One migration as it crosses the boundary, borrowed for one call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MigrationC {
    /// Its version.
    pub version: u64,
    /// Its name.
    pub name: Str,
    /// Its up SQL.
    pub up: Str,
    /// Whether it has a down.
    pub has_down: bool,
    /// Its down SQL (empty without one).
    pub down: Str,
    /// Run outside a transaction.
    pub no_transaction: bool,
}

/// The code's migrations, borrowed for one call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MigrationsC {
    /// First migration.
    pub ptr: *const MigrationC,
    /// How many.
    pub len: usize,
}

/// [`MigrateErrorC::kind`] values, one per `MigrateError` variant, in its order.
pub const MIGRATE_DUPLICATE_VERSION: u32 = 0;
/// `Dirty(version)`.
pub const MIGRATE_DIRTY: u32 = 1;
/// `DatabaseAhead { applied: version, latest: other }`.
pub const MIGRATE_DATABASE_AHEAD: u32 = 2;
/// `MissingMigration(version)`.
pub const MIGRATE_MISSING_MIGRATION: u32 = 3;
/// `ChecksumMismatch { version, applied: first, local: second }`.
pub const MIGRATE_CHECKSUM_MISMATCH: u32 = 4;
/// `OutOfOrder { version, applied: other }`.
pub const MIGRATE_OUT_OF_ORDER: u32 = 5;
/// `MissingDown(version)`.
pub const MIGRATE_MISSING_DOWN: u32 = 6;
/// `Failed { version, message: first }`.
pub const MIGRATE_FAILED: u32 = 7;
/// `Locked`.
pub const MIGRATE_LOCKED: u32 = 8;
/// `Database(first)`.
pub const MIGRATE_DATABASE: u32 = 9;

/// A `MigrateError` as it crosses the boundary; the strings are borrowed for the `error` call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MigrateErrorC {
    /// Which error (`MIGRATE_*`).
    pub kind: u32,
    /// The version it names, or 0.
    pub version: u64,
    /// Its second number, or 0.
    pub other: u64,
    /// Its first string, or empty.
    pub first: Str,
    /// Its second string, or empty.
    pub second: Str,
}

/// [`OutcomeSinkC::version`] lists: what `migrate`, `rollback` and `repair` return.
pub const LIST_RESULT: u32 = 0;
/// `MigrationStatus::applied`.
pub const LIST_APPLIED: u32 = 1;
/// `MigrationStatus::pending`.
pub const LIST_PENDING: u32 = 2;
/// `MigrationStatus::mismatched`.
pub const LIST_MISMATCHED: u32 = 3;
/// `MigrationStatus::missing`.
pub const LIST_MISSING: u32 = 4;
/// `MigrationStatus::failed`.
pub const LIST_FAILED: u32 = 5;

/// The host's collector for one call's outcome: versions pushed one at a time into lists, or
/// one error. The host copies everything before returning.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct OutcomeSinkC {
    /// Opaque host state.
    pub ctx: *mut c_void,
    /// Appends `version` to list `list` (`LIST_*`).
    pub version: extern "C" fn(ctx: *mut c_void, list: u32, version: u64),
    /// Records the call's error.
    pub error: extern "C" fn(ctx: *mut c_void, error: &MigrateErrorC),
}

/// The function table a migration runner plugin exports. Each call's outcome goes to its sink;
/// [`STATUS_OK`] means the call returned (with an `Ok` or an `Err`).
#[repr(C)]
pub struct MigrationRunnerTable {
    /// Checked before any call.
    pub header: AbiHeader,
    /// Builds a runner; writes an opaque pointer owned by the plugin.
    pub create: extern "C" fn(host: *const HostApi, config: MigratorConfigC, out: *mut *mut c_void) -> Status,
    /// `migrate(db, migrations, target)`; `has_target = false` means the latest.
    pub migrate: extern "C" fn(
        host: *const HostApi,
        this: *const c_void,
        db: Str,
        migrations: MigrationsC,
        has_target: bool,
        target: u64,
        sink: OutcomeSinkC,
    ) -> Status,
    /// `rollback(db, migrations, to)`.
    pub rollback: extern "C" fn(
        host: *const HostApi,
        this: *const c_void,
        db: Str,
        migrations: MigrationsC,
        to: u64,
        sink: OutcomeSinkC,
    ) -> Status,
    /// `status(db, migrations)`.
    pub status:
        extern "C" fn(host: *const HostApi, this: *const c_void, db: Str, migrations: MigrationsC, sink: OutcomeSinkC) -> Status,
    /// `repair(db, migrations)`.
    pub repair:
        extern "C" fn(host: *const HostApi, this: *const c_void, db: Str, migrations: MigrationsC, sink: OutcomeSinkC) -> Status,
    /// Frees the runner with the plugin's allocator.
    pub destroy: extern "C" fn(host: *const HostApi, this: *mut c_void) -> Status,
}
