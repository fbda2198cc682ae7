//! The LRU cache's `extern "C"` shims, instantiated by `export_lru_cache!`.

use core::ffi::c_void;
use core::time::Duration;

use super::guard::{guarded, unit, write_out, LoaderFailed};
use crate::ffi::{
    AbiHeader, CacheConfigC, CacheMetricsC, HostApi, LoaderC, LruCacheTable, OptionU64C, Status, STATUS_INVALID_CONFIG,
    STATUS_OK,
};
use crate::{CacheConfig, CacheMetrics, Clock, LruCache};

/// The cache behind `this`.
///
/// # Safety
/// `this` must have come from `lru_cache_create::<T>` and not yet been destroyed.
unsafe fn cache<'a, T>(this: *const c_void) -> &'a T {
    &*this.cast::<T>()
}

fn option(value: Option<u64>) -> OptionU64C {
    OptionU64C { present: value.is_some(), value: value.unwrap_or(0) }
}

/// `0` on the wire means "no TTL given".
fn ttl(nanos: u64) -> Option<Duration> {
    (nanos != 0).then(|| Duration::from_nanos(nanos))
}

/// `LruCacheTable::create` for `T`.
pub extern "C" fn lru_cache_create<T: LruCache>(
    host: *const HostApi,
    config: CacheConfigC,
    out: *mut *mut c_void,
) -> Status {
    let Ok(capacity) = usize::try_from(config.capacity) else { return STATUS_INVALID_CONFIG };
    let config = CacheConfig { capacity, default_ttl: ttl(config.default_ttl_nanos) };
    // SAFETY: the host's `HostApi` is leaked for the life of the worker.
    let clock = Clock::from_host(unsafe { &*host });
    write_out(out, guarded(host, || Box::into_raw(Box::new(T::new(config, clock))).cast()))
}

/// `LruCacheTable::get` for `T`.
pub extern "C" fn lru_cache_get<T: LruCache>(
    host: *const HostApi,
    this: *const c_void,
    key: u64,
    out: *mut OptionU64C,
) -> Status {
    // SAFETY: see `cache`.
    let cache = unsafe { cache::<T>(this) };
    write_out(out, guarded(host, || option(cache.get(key))))
}

/// `LruCacheTable::peek` for `T`.
pub extern "C" fn lru_cache_peek<T: LruCache>(
    host: *const HostApi,
    this: *const c_void,
    key: u64,
    out: *mut OptionU64C,
) -> Status {
    // SAFETY: see `cache`.
    let cache = unsafe { cache::<T>(this) };
    write_out(out, guarded(host, || option(cache.peek(key))))
}

/// `LruCacheTable::contains` for `T`.
pub extern "C" fn lru_cache_contains<T: LruCache>(
    host: *const HostApi,
    this: *const c_void,
    key: u64,
    out: *mut bool,
) -> Status {
    // SAFETY: see `cache`.
    let cache = unsafe { cache::<T>(this) };
    write_out(out, guarded(host, || cache.contains(key)))
}

/// `LruCacheTable::put` for `T`.
pub extern "C" fn lru_cache_put<T: LruCache>(
    host: *const HostApi,
    this: *const c_void,
    key: u64,
    value: u64,
    ttl_nanos: u64,
    out: *mut OptionU64C,
) -> Status {
    // SAFETY: see `cache`.
    let cache = unsafe { cache::<T>(this) };
    write_out(out, guarded(host, || option(cache.put(key, value, ttl(ttl_nanos)))))
}

/// `LruCacheTable::remove` for `T`.
pub extern "C" fn lru_cache_remove<T: LruCache>(
    host: *const HostApi,
    this: *const c_void,
    key: u64,
    out: *mut OptionU64C,
) -> Status {
    // SAFETY: see `cache`.
    let cache = unsafe { cache::<T>(this) };
    write_out(out, guarded(host, || option(cache.remove(key))))
}

/// `LruCacheTable::len` for `T`.
pub extern "C" fn lru_cache_len<T: LruCache>(host: *const HostApi, this: *const c_void, out: *mut u64) -> Status {
    // SAFETY: see `cache`.
    let cache = unsafe { cache::<T>(this) };
    write_out(out, guarded(host, || cache.len() as u64))
}

/// `LruCacheTable::clear` for `T`.
pub extern "C" fn lru_cache_clear<T: LruCache>(host: *const HostApi, this: *const c_void) -> Status {
    // SAFETY: see `cache`.
    let cache = unsafe { cache::<T>(this) };
    unit(guarded(host, || cache.clear()))
}

/// `LruCacheTable::resize` for `T`.
pub extern "C" fn lru_cache_resize<T: LruCache>(host: *const HostApi, this: *const c_void, capacity: u64) -> Status {
    let Ok(capacity) = usize::try_from(capacity) else { return STATUS_INVALID_CONFIG };
    // SAFETY: see `cache`.
    let cache = unsafe { cache::<T>(this) };
    unit(guarded(host, || cache.resize(capacity)))
}

/// `LruCacheTable::metrics` for `T`.
pub extern "C" fn lru_cache_metrics<T: LruCache>(
    host: *const HostApi,
    this: *const c_void,
    out: *mut CacheMetricsC,
) -> Status {
    // SAFETY: see `cache`.
    let cache = unsafe { cache::<T>(this) };
    let metrics = guarded(host, || {
        let CacheMetrics { hits, misses, inserts, replacements, evictions, expirations } = cache.metrics();
        CacheMetricsC { hits, misses, inserts, replacements, evictions, expirations }
    });
    write_out(out, metrics)
}

/// `LruCacheTable::get_or_insert_with` for `T`. The host's loader is wrapped in a closure that
/// panics inside the learner's code when the loader fails, so a failing loader behaves exactly
/// like a panicking one in a real program.
pub extern "C" fn lru_cache_get_or_insert_with<T: LruCache>(
    host: *const HostApi,
    this: *const c_void,
    key: u64,
    ttl_nanos: u64,
    loader: LoaderC,
    out: *mut u64,
) -> Status {
    // SAFETY: see `cache`.
    let cache = unsafe { cache::<T>(this) };
    let mut load = move || {
        let mut value = 0;
        match (loader.load)(loader.ctx, key, &mut value) {
            STATUS_OK => value,
            _ => std::panic::panic_any(LoaderFailed),
        }
    };
    write_out(out, guarded(host, || cache.get_or_insert_with(key, ttl(ttl_nanos), &mut load)))
}

/// `LruCacheTable::destroy` for `T`: frees with the plugin's own allocator.
pub extern "C" fn lru_cache_destroy<T: LruCache>(host: *const HostApi, this: *mut c_void) -> Status {
    // SAFETY: `this` came from `Box::into_raw` in `lru_cache_create::<T>` and is destroyed once.
    let cache = unsafe { Box::from_raw(this.cast::<T>()) };
    unit(guarded(host, move || drop(cache)))
}

/// The table [`crate::export_lru_cache!`] exports for `T`.
pub const fn lru_cache_table<T: LruCache>() -> LruCacheTable {
    LruCacheTable {
        header: AbiHeader::for_table::<LruCacheTable>(),
        create: lru_cache_create::<T>,
        get: lru_cache_get::<T>,
        peek: lru_cache_peek::<T>,
        contains: lru_cache_contains::<T>,
        put: lru_cache_put::<T>,
        remove: lru_cache_remove::<T>,
        len: lru_cache_len::<T>,
        clear: lru_cache_clear::<T>,
        resize: lru_cache_resize::<T>,
        metrics: lru_cache_metrics::<T>,
        get_or_insert_with: lru_cache_get_or_insert_with::<T>,
        destroy: lru_cache_destroy::<T>,
    }
}
