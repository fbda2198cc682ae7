//! Challenge 4: the message queue trait, with leases, retries and a dead-letter queue, and the
//! values it speaks in.
//!
//! The brief (`challenges/04-dead-letter-queue/README.md`) pins every convention; the docs here
//! repeat the ones a signature cannot say. The semantics are those real brokers share (SQS's
//! visibility timeout and redrive, RabbitMQ's dead-lettering, Sidekiq's retries): a learner who
//! passes understands why "no message is ever lost" takes more than a `VecDeque`.

use core::fmt;
use core::time::Duration;

use crate::Clock;

/// How a queue is configured. All durations are virtual: read time only from the [`Clock`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// How long a delivery is leased: at least 1ns.
    pub visibility_timeout: Duration,
    /// Deliveries a message gets in all, the first included: 1 to 1000. A failure of the last one
    /// dead-letters the message.
    pub max_attempts: u32,
    /// The wait before the first retry; each later retry waits twice as long as the one before,
    /// capped at `backoff_max`. Zero retries at once.
    pub backoff_base: Duration,
    /// The longest wait before a retry.
    pub backoff_max: Duration,
}

impl QueueConfig {
    /// The wait before the retry that follows failed attempt `attempt` (1-based):
    /// `min(backoff_base * 2^(attempt - 1), backoff_max)`, saturating. No jitter: the schedule is
    /// exact.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(63);
        let base = u64::try_from(self.backoff_base.as_nanos()).unwrap_or(u64::MAX);
        let max = u64::try_from(self.backoff_max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(base.saturating_mul(1u64 << doublings).min(max))
    }
}

/// Proof of one delivery's lease, for `ack` and `nack`. Unique for every delivery, never
/// reused: a redelivery of the same message gets a new token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeaseToken(pub u64);

/// One message handed to a consumer by [`MessageQueue::receive`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The message's id, as `enqueue` returned it.
    pub id: u64,
    /// The payload, exactly as enqueued.
    pub payload: Vec<u8>,
    /// Which delivery of the message this is: 1 for the first.
    pub attempt: u32,
    /// The lease.
    pub token: LeaseToken,
}

/// Why `ack` or `nack` had no effect: the token's lease expired (at `leased_at +
/// visibility_timeout`, exactly), or it was already used, or it never existed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaleLease;

impl fmt::Display for StaleLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the lease is no longer valid")
    }
}

impl std::error::Error for StaleLease {}

/// Why a message is in the dead-letter queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadReason {
    /// Its last allowed attempt failed: nacked with `retry = true`, or its lease expired.
    MaxAttempts,
    /// It was nacked with `retry = false`.
    Rejected,
}

/// One message in the dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// The message's id.
    pub id: u64,
    /// The payload, unchanged.
    pub payload: Vec<u8>,
    /// Why it is here.
    pub reason: DeadReason,
    /// Deliveries it got since it was enqueued or last redriven.
    pub attempts: u32,
    /// The error of its last failure: a nack's message, or `"lease expired"`.
    pub last_error: String,
    /// Virtual time of its first failure since it was enqueued or last redriven.
    pub first_failure_at: u64,
    /// Virtual time it was dead-lettered: the nack, or the instant its last lease expired.
    pub dead_at: u64,
}

/// The queue's counters, as of now.
///
/// Every message ever enqueued is in exactly one state, so
/// `ready + delayed + in_flight + dead + acked` is the number of messages enqueued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Messages available now, not leased.
    pub ready: u64,
    /// Messages that will become available later (an enqueue delay or a retry's backoff).
    pub delayed: u64,
    /// Messages leased now (the lease has not expired).
    pub in_flight: u64,
    /// Messages in the dead-letter queue.
    pub dead: u64,
    /// Messages acked (each once, ever).
    pub acked: u64,
    /// Times a message went back for another attempt: a retrying nack, or an expired lease, that
    /// did not dead-letter it.
    pub retried: u64,
}

/// A thread-safe queue with leases, retries and a dead-letter queue, on the virtual [`Clock`].
///
/// The conventions (the brief has a timeline of each):
/// - **Ids** are 1, 2, 3… in enqueue order. A message enqueued at `t` with delay `d` is
///   available from `t + d`.
/// - **Order.** `receive(max)` returns up to `max` available messages in the order they became
///   available, ties by id: a retry becomes available when its backoff ends, an expired lease's
///   message at the instant of expiry.
/// - **Leases.** A delivery at `t` is leased while `now < t + visibility_timeout`; from that
///   instant on the message is available again (and the expiry counts as a failed attempt).
/// - **Attempts.** A message's `attempt` counts its deliveries. `nack(retry = true)` or an
///   expired lease on attempt `n < max_attempts` makes it available again after `backoff(n)`
///   (an expiry: at the expiry instant, no backoff); on attempt `max_attempts` it is
///   dead-lettered (`MaxAttempts`). `nack(retry = false)` dead-letters it at once (`Rejected`).
/// - **Fencing.** `ack` and `nack` take effect only with the token of the message's current,
///   unexpired lease; anything else returns [`StaleLease`] and changes nothing.
/// - **Redrive** moves dead letters back to the queue, available now, with their attempts
///   reset; the same id never appears twice.
/// - **Time** never moves backwards in this challenge. Read it only from the `Clock`.
///
/// ```
/// use challenge_harness::{
///     Clock, DeadLetter, Delivery, LeaseToken, ManualClock, MessageQueue, QueueConfig, QueueStats, StaleLease,
/// };
/// use std::collections::VecDeque;
/// use std::sync::Mutex;
/// use std::time::Duration;
///
/// /// Hands each message out once and forgets it: no leases, no retries. A start, not a solution.
/// pub struct AtMostOnce {
///     next: Mutex<(u64, VecDeque<(u64, Vec<u8>)>)>,
/// }
///
/// impl MessageQueue for AtMostOnce {
///     fn new(_config: QueueConfig, _clock: Clock) -> Self {
///         AtMostOnce { next: Mutex::new((1, VecDeque::new())) }
///     }
///     fn enqueue(&self, payload: &[u8], _delay: Option<Duration>) -> u64 {
///         let mut state = self.next.lock().unwrap();
///         let id = state.0;
///         state.0 += 1;
///         state.1.push_back((id, payload.to_vec()));
///         id
///     }
///     fn receive(&self, max: usize) -> Vec<Delivery> {
///         let mut state = self.next.lock().unwrap();
///         let n = max.min(state.1.len());
///         state.1.drain(..n).map(|(id, payload)| Delivery { id, payload, attempt: 1, token: LeaseToken(id) }).collect()
///     }
///     fn ack(&self, _token: LeaseToken) -> Result<(), StaleLease> {
///         Ok(())
///     }
///     fn nack(&self, _token: LeaseToken, _error: &str, _retry: bool) -> Result<(), StaleLease> {
///         Ok(())
///     }
///     fn dead_letters(&self) -> Vec<DeadLetter> {
///         Vec::new()
///     }
///     fn redrive(&self, _ids: Option<&[u64]>) -> usize {
///         0
///     }
///     fn stats(&self) -> QueueStats {
///         QueueStats { ready: self.next.lock().unwrap().1.len() as u64, ..QueueStats::default() }
///     }
/// }
///
/// challenge_harness::export_message_queue!(AtMostOnce);
///
/// let config = QueueConfig {
///     visibility_timeout: Duration::from_secs(30),
///     max_attempts: 3,
///     backoff_base: Duration::from_secs(1),
///     backoff_max: Duration::from_secs(60),
/// };
/// assert_eq!(config.backoff(1), Duration::from_secs(1));
/// assert_eq!(config.backoff(3), Duration::from_secs(4));
/// let queue = AtMostOnce::new(config, ManualClock::new(0).clock());
/// assert_eq!(queue.enqueue(b"hello", None), 1);
/// assert_eq!(queue.receive(10)[0].payload, b"hello");
/// ```
pub trait MessageQueue: Send + Sync + 'static {
    /// Builds an empty queue. Read time only from `clock`.
    fn new(config: QueueConfig, clock: Clock) -> Self
    where
        Self: Sized;

    /// Adds a message, available now or after `delay`, and returns its id.
    fn enqueue(&self, payload: &[u8], delay: Option<Duration>) -> u64;

    /// Leases up to `max` available messages, in the order they became available.
    fn receive(&self, max: usize) -> Vec<Delivery>;

    /// Marks the leased message done: it leaves the queue for good.
    fn ack(&self, token: LeaseToken) -> Result<(), StaleLease>;

    /// Reports that processing failed with `error`: retry it after its backoff (or dead-letter it
    /// after its last attempt), or with `retry = false` dead-letter it now.
    fn nack(&self, token: LeaseToken, error: &str, retry: bool) -> Result<(), StaleLease>;

    /// The dead-letter queue, oldest dead first (ties by id).
    fn dead_letters(&self) -> Vec<DeadLetter>;

    /// Moves the listed dead letters (or, with `None`, all of them) back to the queue, available
    /// now with their attempts reset, and returns how many moved. Ids not in the dead-letter
    /// queue are ignored.
    fn redrive(&self, ids: Option<&[u64]>) -> usize;

    /// The counters, as of now.
    fn stats(&self) -> QueueStats;
}
