//! The message queue's `extern "C"` shims, instantiated by `export_message_queue!`. Lists
//! (deliveries, dead letters) cross as one host callback per item, which copies it.

use core::ffi::c_void;
use core::time::Duration;

use super::guard::{guarded, unit, write_out};
use crate::ffi::{
    AbiHeader, BytesC, DeadLetterC, DeadLetterSinkC, DeliveryC, DeliverySinkC, HostApi, MessageQueueTable,
    QueueConfigC, QueueStatsC, Status, Str, DEAD_MAX_ATTEMPTS, DEAD_REJECTED, STATUS_OK, STATUS_STALE_LEASE,
};
use crate::{Clock, DeadReason, LeaseToken, MessageQueue, QueueConfig, QueueStats};

/// The queue behind `this`.
///
/// # Safety
/// `this` must have come from `message_queue_create::<T>` and not yet been destroyed.
unsafe fn queue<'a, T>(this: *const c_void) -> &'a T {
    &*this.cast::<T>()
}

fn fenced(result: Result<Result<(), crate::StaleLease>, Status>) -> Status {
    match result {
        Ok(Ok(())) => STATUS_OK,
        Ok(Err(_)) => STATUS_STALE_LEASE,
        Err(status) => status,
    }
}

/// `MessageQueueTable::create` for `T`.
pub extern "C" fn message_queue_create<T: MessageQueue>(
    host: *const HostApi,
    config: QueueConfigC,
    out: *mut *mut c_void,
) -> Status {
    let config = QueueConfig {
        visibility_timeout: Duration::from_nanos(config.visibility_timeout_nanos),
        max_attempts: config.max_attempts,
        backoff_base: Duration::from_nanos(config.backoff_base_nanos),
        backoff_max: Duration::from_nanos(config.backoff_max_nanos),
    };
    // SAFETY: the host's `HostApi` is leaked for the life of the worker.
    let clock = Clock::from_host(unsafe { &*host });
    write_out(out, guarded(host, || Box::into_raw(Box::new(T::new(config, clock))).cast()))
}

/// `MessageQueueTable::enqueue` for `T`.
pub extern "C" fn message_queue_enqueue<T: MessageQueue>(
    host: *const HostApi,
    this: *const c_void,
    payload: BytesC,
    has_delay: bool,
    delay_nanos: u64,
    out: *mut u64,
) -> Status {
    // SAFETY: see `queue`; the payload is borrowed for this call.
    let (queue, payload) = unsafe { (queue::<T>(this), payload.as_slice()) };
    let delay = has_delay.then(|| Duration::from_nanos(delay_nanos));
    write_out(out, guarded(host, || queue.enqueue(payload, delay)))
}

/// `MessageQueueTable::receive` for `T`.
pub extern "C" fn message_queue_receive<T: MessageQueue>(
    host: *const HostApi,
    this: *const c_void,
    max: u64,
    sink: DeliverySinkC,
) -> Status {
    // SAFETY: see `queue`.
    let queue = unsafe { queue::<T>(this) };
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let deliveries = guarded(host, || queue.receive(max));
    unit(deliveries.map(|deliveries| {
        for d in &deliveries {
            let c = DeliveryC { id: d.id, payload: BytesC::new(&d.payload), attempt: d.attempt, token: d.token.0 };
            (sink.push)(sink.ctx, &c);
        }
    }))
}

/// `MessageQueueTable::ack` for `T`.
pub extern "C" fn message_queue_ack<T: MessageQueue>(host: *const HostApi, this: *const c_void, token: u64) -> Status {
    // SAFETY: see `queue`.
    let queue = unsafe { queue::<T>(this) };
    fenced(guarded(host, || queue.ack(LeaseToken(token))))
}

/// `MessageQueueTable::nack` for `T`.
pub extern "C" fn message_queue_nack<T: MessageQueue>(
    host: *const HostApi,
    this: *const c_void,
    token: u64,
    error: Str,
    retry: bool,
) -> Status {
    // SAFETY: see `queue`; the error is borrowed for this call.
    let (queue, error) = unsafe { (queue::<T>(this), error.as_str()) };
    fenced(guarded(host, || queue.nack(LeaseToken(token), error, retry)))
}

/// `MessageQueueTable::dead_letters` for `T`.
pub extern "C" fn message_queue_dead_letters<T: MessageQueue>(
    host: *const HostApi,
    this: *const c_void,
    sink: DeadLetterSinkC,
) -> Status {
    // SAFETY: see `queue`.
    let queue = unsafe { queue::<T>(this) };
    let dead = guarded(host, || queue.dead_letters());
    unit(dead.map(|dead| {
        for d in &dead {
            let reason = match d.reason {
                DeadReason::MaxAttempts => DEAD_MAX_ATTEMPTS,
                DeadReason::Rejected => DEAD_REJECTED,
            };
            let c = DeadLetterC {
                id: d.id,
                payload: BytesC::new(&d.payload),
                reason,
                attempts: d.attempts,
                last_error: BytesC::new(d.last_error.as_bytes()),
                first_failure_at: d.first_failure_at,
                dead_at: d.dead_at,
            };
            (sink.push)(sink.ctx, &c);
        }
    }))
}

/// `MessageQueueTable::redrive` for `T`.
pub extern "C" fn message_queue_redrive<T: MessageQueue>(
    host: *const HostApi,
    this: *const c_void,
    has_ids: bool,
    ids: *const u64,
    len: usize,
    out: *mut u64,
) -> Status {
    // SAFETY: see `queue`; `ids..ids+len` is borrowed for this call.
    let queue = unsafe { queue::<T>(this) };
    let ids: Option<&[u64]> = match (has_ids, len) {
        (false, _) => None,
        (true, 0) => Some(&[]),
        // SAFETY: the host passes `len` valid ids for the duration of the call.
        (true, len) => Some(unsafe { core::slice::from_raw_parts(ids, len) }),
    };
    write_out(out, guarded(host, || queue.redrive(ids) as u64))
}

/// `MessageQueueTable::stats` for `T`.
pub extern "C" fn message_queue_stats<T: MessageQueue>(
    host: *const HostApi,
    this: *const c_void,
    out: *mut QueueStatsC,
) -> Status {
    // SAFETY: see `queue`.
    let queue = unsafe { queue::<T>(this) };
    let stats = guarded(host, || {
        let QueueStats { ready, delayed, in_flight, dead, acked, retried } = queue.stats();
        QueueStatsC { ready, delayed, in_flight, dead, acked, retried }
    });
    write_out(out, stats)
}

/// `MessageQueueTable::destroy` for `T`: frees with the plugin's own allocator.
pub extern "C" fn message_queue_destroy<T: MessageQueue>(host: *const HostApi, this: *mut c_void) -> Status {
    // SAFETY: `this` came from `Box::into_raw` in `message_queue_create::<T>` and is destroyed once.
    let queue = unsafe { Box::from_raw(this.cast::<T>()) };
    unit(guarded(host, move || drop(queue)))
}

/// The table [`crate::export_message_queue!`] exports for `T`.
pub const fn message_queue_table<T: MessageQueue>() -> MessageQueueTable {
    MessageQueueTable {
        header: AbiHeader::for_table::<MessageQueueTable>(),
        create: message_queue_create::<T>,
        enqueue: message_queue_enqueue::<T>,
        receive: message_queue_receive::<T>,
        ack: message_queue_ack::<T>,
        nack: message_queue_nack::<T>,
        dead_letters: message_queue_dead_letters::<T>,
        redrive: message_queue_redrive::<T>,
        stats: message_queue_stats::<T>,
        destroy: message_queue_destroy::<T>,
    }
}

