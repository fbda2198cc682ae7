//! The worker side of the queue's checks: the seeded fault storm, the no-failure run, the poison
//! message and the timing. Each concurrent run records one stamped history for the parent's
//! property checks; the worker itself checks nothing but byte equality of payloads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use challenge_harness::ffi::MessageQueueTable;

use super::driver::{marked, Queue, RawDelivery};
use super::observation::{Event, EventKind, Observation, Stats};
use super::script::{Check, Config};
use crate::host::{monotonic_nanos, Host};
use crate::{Nanos, Rng};

/// The error every failing consumer reports.
pub const FAILURE: &str = "the handler failed (scripted by the grader)";
/// The poison message's payload.
pub const POISON: &[u8] = b"poison";

/// The payload of the `n`-th message of a seeded run: 0 to 47 bytes, not always UTF-8.
fn payload(seed: u64, n: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let len = rng.below(48) as usize;
    (0..len).map(|_| rng.below(256) as u8).collect()
}

/// What a consumer does with one delivery in the storm, drawn from the seed, the id and the
/// attempt, so a rerun with the same seed makes the same choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Ack,
    Fail,
    Reject,
    Crash,
    /// Settled (acked) this many rounds later, perhaps after its lease lapsed.
    Slow(u32),
}

fn fate(seed: u64, id: u64, attempt: u32) -> Fate {
    let mut rng = Rng::new(seed ^ id.wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (attempt as u64) << 48);
    match rng.below(100) {
        0..=54 => Fate::Ack,
        55..=69 => Fate::Fail,
        70..=72 => Fate::Reject,
        73..=84 => Fate::Crash,
        _ => Fate::Slow(1 + rng.below(3) as u32),
    }
}

/// Stamps and per-thread event logs for one concurrent run.
struct Recorder {
    stamp: AtomicU64,
}

impl Recorder {
    fn new() -> Recorder {
        Recorder { stamp: AtomicU64::new(0) }
    }

    /// Runs `call`, returning its result with the stamps before and after.
    fn stamped<R>(&self, call: impl FnOnce() -> R) -> (u64, R, u64) {
        let before = self.stamp.fetch_add(1, Ordering::SeqCst);
        let result = call();
        (before, result, self.stamp.fetch_add(1, Ordering::SeqCst))
    }
}

/// A consumer's log: its events, and the first panic it saw.
#[derive(Default)]
struct Log {
    events: Vec<Event>,
    panic: Option<String>,
}

impl Log {
    fn push(&mut self, (call, ret): (u64, u64), thread: u32, at: Nanos, id: u64, kind: EventKind) {
        self.events.push(Event { call, ret, thread, at, id, kind });
    }

    fn delivered(&mut self, stamps: (u64, u64), thread: u32, at: Nanos, d: &RawDelivery, intact: bool) {
        let kind = EventKind::Delivered { attempt: d.attempt, token: d.token, payload_intact: intact };
        self.push(stamps, thread, at, d.id, kind);
    }
}

/// Runs one check, sending its observations to `emit`. `Err` is a panic in the constructor.
pub fn run(
    learner: &'static MessageQueueTable,
    reference: Option<&'static MessageQueueTable>,
    host: &'static Host,
    config: &Config,
    check: &Check,
    seed: u64,
    emit: &mut dyn FnMut(Observation),
) -> Result<(), String> {
    match *check {
        Check::FaultStorm { messages, consumers, step, runs } => {
            for run in 0..runs {
                let queue = fresh_queue(learner, host, config)?;
                emit(Observation::Phase {
                    what: format!("fault storm {} of {runs}: {messages} messages, {consumers} consumers, rounds {step} apart", run + 1),
                });
                emit(storm(&queue, host, seed.wrapping_add(run as u64), messages as u64, consumers, step));
            }
        }
        Check::NoFailure { messages, consumers, runs } => {
            for run in 0..runs {
                let queue = fresh_queue(learner, host, config)?;
                emit(Observation::Phase {
                    what: format!(
                        "run {} of {runs}: {consumers} consumers receiving and acking while {messages} messages are enqueued",
                        run + 1
                    ),
                });
                emit(no_failure(&queue, seed, messages as u64, consumers));
            }
        }
        Check::Poison { good } => {
            let queue = Queue::new(learner, host, config)?;
            emit(Observation::Phase { what: format!("one consumer; a poison message ahead of {good} good ones") });
            emit(poison(&queue, host, config, good as u64));
        }
        Check::Performance { messages, consumers, trials, .. } => {
            let reference = reference.ok_or("the performance check needs the reference solution")?;
            let (mut learner_nanos, mut reference_nanos) = (Vec::new(), Vec::new());
            // Alternate sides so that drift in machine load hits both equally.
            for _ in 0..trials {
                match timed_trial(&Queue::new(learner, host, config)?, seed, messages as u64, consumers) {
                    Ok(nanos) => learner_nanos.push(nanos),
                    Err(message) => {
                        emit(Observation::Timing { learner_nanos, reference_nanos, panic: Some(message) });
                        return Ok(());
                    }
                }
                let nanos = timed_trial(&Queue::new(reference, host, config)?, seed, messages as u64, consumers)
                    .map_err(|m| format!("the reference failed: {m}"))?;
                reference_nanos.push(nanos);
            }
            emit(Observation::Timing { learner_nanos, reference_nanos, panic: None });
        }
    }
    Ok(())
}

/// A new queue on a clock set back to zero, for a run that starts over: the clock is rewound
/// before the queue is made, so no queue ever sees time move backwards (one made while the clock
/// still read the last run's end would take that end as "now" for the whole run).
fn fresh_queue(learner: &'static MessageQueueTable, host: &'static Host, config: &Config) -> Result<Queue, String> {
    host.set_time(Nanos(0));
    Queue::new(learner, host, config)
}

/// Enqueues `messages` seeded payloads from the main thread; the payload of each id returned.
fn enqueue_all(queue: &Queue, rec: &Recorder, log: &mut Log, at: Nanos, seed: u64, messages: u64) -> HashMap<u64, Vec<u8>> {
    let mut payloads = HashMap::with_capacity(messages as usize);
    for n in 0..messages {
        let bytes = payload(seed, n);
        let (call, result, ret) = rec.stamped(|| queue.enqueue(&bytes, None));
        match result {
            Ok(id) => {
                log.push((call, ret), 0, at, id, EventKind::Enqueued);
                payloads.insert(id, bytes);
            }
            Err(message) => {
                log.panic = Some(message);
                break;
            }
        }
    }
    payloads
}

/// Calls `stats()` and keeps the first sample whose counters do not account for `enqueued`.
fn sample(queue: &Queue, enqueued: u64, bad: &Mutex<Option<Stats>>) {
    if let Ok(s) = queue.stats() {
        if s.accounted() != enqueued {
            bad.lock().unwrap().get_or_insert(s);
        }
    }
}

/// A held delivery a slow consumer settles in a later round.
struct Held {
    id: u64,
    token: u64,
    due_round: u32,
}

/// Most rounds a storm runs before it reports that the queue never drained.
const MAX_ROUNDS: u32 = 400;

fn storm(queue: &Queue, host: &Host, seed: u64, messages: u64, consumers: u32, step: Nanos) -> Observation {
    let rec = Recorder::new();
    let mut main = Log::default();
    host.set_time(Nanos(0));
    let payloads = enqueue_all(queue, &rec, &mut main, Nanos(0), seed, messages);
    let enqueued = payloads.len() as u64;
    let held: Mutex<Vec<Held>> = Mutex::new(Vec::new());
    let bad_sample: Mutex<Option<Stats>> = Mutex::new(None);
    let mut logs: Vec<Log> = vec![main];
    let mut rounds = 0;
    while rounds < MAX_ROUNDS && logs.iter().all(|l| l.panic.is_none()) {
        let at = Nanos(rounds as u64 * step.0);
        host.set_time(at);
        // Slow consumers settle first, alone, so whether their lease has lapsed is exact.
        let due: Vec<Held> = {
            let mut held = held.lock().unwrap();
            let (due, later): (Vec<Held>, Vec<Held>) = held.drain(..).partition(|h| h.due_round <= rounds);
            *held = later;
            due
        };
        let mut slow = Log::default();
        for h in due {
            let (call, result, ret) = rec.stamped(|| queue.ack(h.token));
            match result {
                Ok(ok) => slow.push((call, ret), 0, at, h.id, EventKind::Ack { token: h.token, ok }),
                Err(message) => slow.panic = Some(message),
            }
        }
        logs.push(slow);
        let stop = AtomicBool::new(false);
        let round_logs: Vec<Log> = std::thread::scope(|scope| {
            let sampler = scope.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    sample(queue, enqueued, &bad_sample);
                }
            });
            let workers: Vec<_> = (1..=consumers)
                .map(|thread| {
                    let (rec, held, payloads, bad_sample) = (&rec, &held, &payloads, &bad_sample);
                    scope.spawn(move || {
                        let mut log = Log::default();
                        loop {
                            let (call, result, ret) = rec.stamped(|| queue.receive(8));
                            let batch = match result {
                                Ok(batch) => batch,
                                Err(message) => {
                                    log.panic = Some(message);
                                    return log;
                                }
                            };
                            if batch.is_empty() {
                                return log;
                            }
                            for d in &batch {
                                let intact = payloads.get(&d.id).is_some_and(|p| *p == d.payload);
                                log.delivered((call, ret), thread, at, d, intact);
                            }
                            for d in batch {
                                let settled = match fate(seed, d.id, d.attempt) {
                                    Fate::Ack => Some((rec.stamped(|| queue.ack(d.token)), None)),
                                    Fate::Fail => Some((rec.stamped(|| queue.nack(d.token, FAILURE, true)), Some(true))),
                                    Fate::Reject => Some((rec.stamped(|| queue.nack(d.token, FAILURE, false)), Some(false))),
                                    Fate::Crash => {
                                        let s = rec.stamp.fetch_add(1, Ordering::SeqCst);
                                        log.push((s, s), thread, at, d.id, EventKind::Crashed { token: d.token });
                                        None
                                    }
                                    Fate::Slow(later) => {
                                        held.lock().unwrap().push(Held { id: d.id, token: d.token, due_round: rounds + later });
                                        None
                                    }
                                };
                                let Some(((call, result, ret), nack)) = settled else { continue };
                                match result {
                                    Ok(ok) => {
                                        let kind = match nack {
                                            None => EventKind::Ack { token: d.token, ok },
                                            Some(retry) => EventKind::Nack { token: d.token, retry, ok },
                                        };
                                        log.push((call, ret), thread, at, d.id, kind);
                                        // Every consumer samples too: a message in no state for a
                                        // moment shows only to a call that lands in that moment.
                                        sample(queue, enqueued, bad_sample);
                                    }
                                    Err(message) => {
                                        log.panic = Some(message);
                                        return log;
                                    }
                                }
                            }
                        }
                    })
                })
                .collect();
            let logs = workers.into_iter().map(|w| w.join().expect("grader threads do not panic")).collect();
            stop.store(true, Ordering::SeqCst);
            sampler.join().expect("grader threads do not panic");
            logs
        });
        logs.extend(round_logs);
        rounds += 1;
        let drained = held.lock().unwrap().is_empty()
            && queue.stats().is_ok_and(|s| s.ready == 0 && s.delayed == 0 && s.in_flight == 0);
        if drained {
            break;
        }
    }
    finish(queue, logs, enqueued, bad_sample.into_inner().unwrap(), rounds, |id| payloads.get(&id).cloned())
}

/// The history of every log, in stamp order, with the queue's state at the end.
fn finish(
    queue: &Queue,
    logs: Vec<Log>,
    enqueued: u64,
    bad_sample: Option<Stats>,
    rounds: u32,
    payload_of: impl Fn(u64) -> Option<Vec<u8>>,
) -> Observation {
    let mut panic = None;
    let mut events = Vec::new();
    for log in logs {
        panic = panic.or(log.panic);
        events.extend(log.events);
    }
    // In the order calls returned: within a round no call may legitimately act on a message
    // another call has not finished with, so two receives that overlap and both delivered one
    // message show as a second delivery during a lease, not as a misnumbered attempt.
    events.sort_by_key(|e| (e.ret, e.call));
    let (stats, dead) = match (queue.stats(), queue.dead_letters()) {
        (Ok(stats), Ok(dead)) => (Some(stats), marked(dead, payload_of)),
        (Err(message), _) | (_, Err(message)) => {
            panic = panic.or(Some(message));
            (None, Vec::new())
        }
    };
    Observation::History { events, enqueued, bad_sample, stats, dead, rounds, panic }
}

fn no_failure(queue: &Queue, seed: u64, messages: u64, consumers: u32) -> Observation {
    let rec = Recorder::new();
    let produced = AtomicBool::new(false);
    let payloads: Mutex<HashMap<u64, Vec<u8>>> = Mutex::new(HashMap::new());
    let at = Nanos(0);
    // Half the messages wait in the queue before any consumer starts, so the consumers' first
    // receives all contend for full batches; the rest arrive while they run.
    let prefilled = messages / 2;
    let mut first = Log::default();
    payloads.lock().unwrap().extend(enqueue_all(queue, &rec, &mut first, at, seed, prefilled));
    let logs: Vec<Log> = std::thread::scope(|scope| {
        let producer = scope.spawn(|| {
            let mut log = Log::default();
            for n in prefilled..messages {
                let bytes = payload(seed, n);
                // The payload is known before the id comes back, so a fast consumer can check it.
                let (call, result, ret) = rec.stamped(|| {
                    let mut map = payloads.lock().unwrap();
                    queue.enqueue(&bytes, None).inspect(|&id| {
                        map.insert(id, bytes.clone());
                    })
                });
                match result {
                    Ok(id) => log.push((call, ret), 0, at, id, EventKind::Enqueued),
                    Err(message) => {
                        log.panic = Some(message);
                        break;
                    }
                }
            }
            produced.store(true, Ordering::SeqCst);
            log
        });
        let consumers: Vec<_> = (1..=consumers)
            .map(|thread| {
                let (rec, produced, payloads) = (&rec, &produced, &payloads);
                scope.spawn(move || {
                    let mut log = Log::default();
                    loop {
                        let done = produced.load(Ordering::SeqCst);
                        let (call, result, ret) = rec.stamped(|| queue.receive(16));
                        let batch = match result {
                            Ok(batch) => batch,
                            Err(message) => {
                                log.panic = Some(message);
                                return log;
                            }
                        };
                        if batch.is_empty() && done {
                            return log;
                        }
                        for d in &batch {
                            let intact = payloads.lock().unwrap().get(&d.id).is_some_and(|p| *p == d.payload);
                            log.delivered((call, ret), thread, at, d, intact);
                        }
                        for d in batch {
                            let (call, result, ret) = rec.stamped(|| queue.ack(d.token));
                            match result {
                                Ok(ok) => log.push((call, ret), thread, at, d.id, EventKind::Ack { token: d.token, ok }),
                                Err(message) => {
                                    log.panic = Some(message);
                                    return log;
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        let mut logs = vec![producer.join().expect("grader threads do not panic")];
        logs.extend(consumers.into_iter().map(|c| c.join().expect("grader threads do not panic")));
        logs
    });
    let logs: Vec<Log> = std::iter::once(first).chain(logs).collect();
    let payloads = payloads.into_inner().unwrap();
    let enqueued = payloads.len() as u64;
    finish(queue, logs, enqueued, None, 1, |id| payloads.get(&id).cloned())
}

/// Most clock moves the poison check makes before it reports that the poison never died.
const POISON_MOVES: u32 = 10_000;

fn poison(queue: &Queue, host: &Host, config: &Config, good: u64) -> Observation {
    let rec = Recorder::new();
    let mut log = Log::default();
    let mut payloads = HashMap::new();
    host.set_time(Nanos(0));
    let mut at = Nanos(0);
    for n in 0..=good {
        let bytes = if n == 0 { POISON.to_vec() } else { format!("good {n}").into_bytes() };
        let (call, result, ret) = rec.stamped(|| queue.enqueue(&bytes, None));
        match result {
            Ok(id) => {
                log.push((call, ret), 0, at, id, EventKind::Enqueued);
                payloads.insert(id, bytes);
            }
            Err(message) => {
                log.panic = Some(message);
                return finish(queue, vec![log], n, None, 0, |id| payloads.get(&id).cloned());
            }
        }
    }
    // One consumer: poison fails, good ones are acked. When nothing is available, time moves on
    // by half the first backoff (the poison's waits are whole multiples of it).
    let tick = Nanos((config.backoff_base.0 / 2).max(1));
    let mut moves = 0;
    while moves < POISON_MOVES && log.panic.is_none() {
        let (call, result, ret) = rec.stamped(|| queue.receive(1));
        let batch = match result {
            Ok(batch) => batch,
            Err(message) => {
                log.panic = Some(message);
                break;
            }
        };
        let Some(d) = batch.into_iter().next() else {
            match queue.stats() {
                Ok(s) if s.ready + s.delayed + s.in_flight == 0 => break,
                Ok(_) => {}
                Err(message) => {
                    log.panic = Some(message);
                    break;
                }
            }
            at = Nanos(at.0 + tick.0);
            host.set_time(at);
            moves += 1;
            continue;
        };
        let intact = payloads.get(&d.id).is_some_and(|p| *p == d.payload);
        log.delivered((call, ret), 1, at, &d, intact);
        let poisoned = d.payload == POISON;
        let (call, result, ret) =
            rec.stamped(|| if poisoned { queue.nack(d.token, FAILURE, true) } else { queue.ack(d.token) });
        match result {
            Ok(ok) if poisoned => log.push((call, ret), 1, at, d.id, EventKind::Nack { token: d.token, retry: true, ok }),
            Ok(ok) => log.push((call, ret), 1, at, d.id, EventKind::Ack { token: d.token, ok }),
            Err(message) => log.panic = Some(message),
        }
    }
    let enqueued = payloads.len() as u64;
    finish(queue, vec![log], enqueued, None, moves, |id| payloads.get(&id).cloned())
}

/// One timed trial: a producer enqueues `messages` while `consumers` threads receive (32 at a
/// time) and ack, until every message is acked; real time in nanoseconds.
fn timed_trial(queue: &Queue, seed: u64, messages: u64, consumers: u32) -> Result<u64, String> {
    let acked = AtomicU64::new(0);
    let produced = AtomicBool::new(false);
    let payload = payload(seed, 7);
    let started = monotonic_nanos();
    let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let producer = scope.spawn(|| {
            let result = (0..messages).try_for_each(|_| queue.enqueue(&payload, None).map(|_| ()));
            produced.store(true, Ordering::SeqCst);
            result
        });
        let workers: Vec<_> = (0..consumers)
            .map(|_| {
                let (acked, produced) = (&acked, &produced);
                scope.spawn(move || {
                    let mut idle = 0u32;
                    while acked.load(Ordering::Relaxed) < messages {
                        let batch = queue.receive(32)?;
                        if batch.is_empty() {
                            // A queue that lost messages would keep everyone spinning forever.
                            idle += produced.load(Ordering::SeqCst) as u32;
                            if idle > 100_000 {
                                return Err(format!("the queue stopped delivering after {} of {messages} acks", acked.load(Ordering::SeqCst)));
                            }
                            std::thread::yield_now();
                            continue;
                        }
                        idle = 0;
                        for d in batch {
                            if queue.ack(d.token)? {
                                acked.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        let mut results = vec![producer.join().expect("grader threads do not panic")];
        results.extend(workers.into_iter().map(|w| w.join().expect("grader threads do not panic")));
        results
    });
    let nanos = monotonic_nanos() - started;
    results.into_iter().collect::<Result<Vec<()>, String>>().map(|_| nanos)
}
