//! The challenge-4 reference message queue against `crossbeam-channel`, side by side in one run:
//! enqueue → receive → ack throughput, and the memory each message costs while it waits or is
//! in flight.
//!
//! Run: `cargo bench --bench message_queue` (a plain binary, `harness = false`; 10–30 s on 2 cores,
//! depending on what else runs).
//!
//! Workload: one producer thread enqueues `MESSAGES` payloads of `PAYLOAD` bytes as fast as it
//! can while 1 or 2 consumer threads receive them in batches of up to `BATCH` and ack each one,
//! until every message has been acked. The reference's clock is a `ManualClock` that never moves,
//! and its visibility timeout is 30s, so no lease ever expires: this measures the bookkeeping of
//! leases (granting a token, fencing the ack) and locking, not retries.
//!
//! Fairness:
//! - `crossbeam-channel` (an unbounded channel: lock-free, no leases, no acks, no redelivery) is
//!   the floor: what moving the same payloads between the same threads costs with nothing kept
//!   for a redelivery. Its producer sends each payload as a fresh `Vec<u8>` (the one allocation a
//!   channel of owned messages needs); its consumers drain up to `BATCH` with `try_recv` and drop
//!   each payload, where the reference's consumers `receive(BATCH)` and `ack` each delivery. Both
//!   poll the same way: an empty batch yields the thread and tries again.
//! - The reference is called through the `MessageQueue` trait directly (no FFI shim).
//! - Trials alternate which contestant goes first (a rotation); each figure is the median over
//!   trials. msgs/s is messages over wall time from the barrier to the last thread's end; CPU
//!   ns/msg is all threads' CPU time over all messages, shown because the bench shares its 2 cores
//!   with whatever else runs (a consumer that finds nothing and yields counts too).
//!
//! Memory: a counting global allocator adds up the bytes requested from the allocator (its own
//! per-block overhead not included) while `IN_FLIGHT` messages sit in one contestant, divided by
//! the number of messages: payload, records, queue slots and the spare capacity of every growing
//! buffer. Counting is off during the throughput runs (one relaxed load per allocation).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use challenge_harness::{LeaseToken, ManualClock, MessageQueue as _, QueueConfig};
use dead_letter_queue_reference::ReferenceQueue;

/// Messages per timed run.
const MESSAGES: usize = 1 << 20;
/// Payload bytes: a small job message (an id and a few fields).
const PAYLOAD: usize = 64;
/// The most messages a consumer takes at once.
const BATCH: usize = 32;
const TRIALS: usize = 7;
/// Messages held for the memory figures.
const IN_FLIGHT: usize = 100_000;

// ---- the counting allocator ----------------------------------------------------------------

/// The system allocator, counting the bytes live while [`COUNTING`] is on.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);

#[global_allocator]
static ALLOCATOR: Counting = Counting;

// SAFETY: every call is forwarded to `System` unchanged; the counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if COUNTING.load(Ordering::Relaxed) && !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if COUNTING.load(Ordering::Relaxed) && !p.is_null() {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        }
        p
    }
}

/// Bytes that `f` leaves allocated, and what it returns (which is dropped after counting stops,
/// so that what it holds counts).
fn counted<R>(f: impl FnOnce() -> R) -> (isize, R) {
    LIVE.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let kept = f();
    let bytes = LIVE.load(Ordering::SeqCst);
    COUNTING.store(false, Ordering::SeqCst);
    (bytes, kept)
}

// ---- the contestants -----------------------------------------------------------------------

/// One contestant, built fresh for each trial.
trait Contestant: Sync + Sized {
    const NAME: &'static str;
    fn new() -> Self;
    fn produce(&self, payload: &[u8]);
    /// Takes up to [`BATCH`] messages and settles each; how many it took.
    fn consume(&self) -> usize;
}

fn config() -> QueueConfig {
    QueueConfig {
        visibility_timeout: Duration::from_secs(30),
        max_attempts: 5,
        backoff_base: Duration::from_secs(1),
        backoff_max: Duration::from_secs(60),
    }
}

struct Reference(ReferenceQueue);

impl Contestant for Reference {
    const NAME: &'static str = "reference (challenge 4)";
    fn new() -> Self {
        Reference(ReferenceQueue::new(config(), ManualClock::new(1 << 40).clock()))
    }
    #[inline(always)]
    fn produce(&self, payload: &[u8]) {
        black_box(self.0.enqueue(payload, None));
    }
    #[inline(always)]
    fn consume(&self) -> usize {
        let batch = self.0.receive(BATCH);
        for d in &batch {
            black_box(&d.payload);
            self.0.ack(d.token).expect("a fresh lease");
        }
        batch.len()
    }
}

struct Channel(crossbeam_channel::Sender<Vec<u8>>, crossbeam_channel::Receiver<Vec<u8>>);

impl Contestant for Channel {
    const NAME: &'static str = "crossbeam-channel 0.5 (unbounded)";
    fn new() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Channel(tx, rx)
    }
    #[inline(always)]
    fn produce(&self, payload: &[u8]) {
        self.0.send(payload.to_vec()).expect("the receiver lives");
    }
    #[inline(always)]
    fn consume(&self) -> usize {
        let mut n = 0;
        while n < BATCH {
            match self.1.try_recv() {
                Ok(payload) => {
                    black_box(&payload);
                    n += 1;
                }
                Err(_) => break,
            }
        }
        n
    }
}

/// The payloads: distinct, so nothing can be shared between messages.
fn payloads() -> Vec<[u8; PAYLOAD]> {
    (0..MESSAGES as u64)
        .map(|i| {
            let mut p = [0x5a; PAYLOAD];
            p[..8].copy_from_slice(&i.to_le_bytes());
            p
        })
        .collect()
}

// ---- throughput ----------------------------------------------------------------------------

/// CPU time consumed by the calling thread, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a valid out-pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// One trial's figures.
#[derive(Clone, Copy)]
struct Trial {
    wall_ns: u64,
    cpu_ns: u64,
}

/// A fresh contestant; one producer and `consumers` consumers start at a barrier and run until
/// every message is settled.
fn trial<C: Contestant>(consumers: usize, payloads: &[[u8; PAYLOAD]]) -> Trial {
    let queue = C::new();
    let settled = AtomicU64::new(0);
    let barrier = Barrier::new(consumers + 1);
    let per_thread: Vec<(Instant, Instant, u64)> = std::thread::scope(|scope| {
        let (queue, settled, barrier) = (&queue, &settled, &barrier);
        let producer = scope.spawn(move || {
            barrier.wait();
            let (start, cpu) = (Instant::now(), thread_cpu_ns());
            for p in payloads {
                queue.produce(p);
            }
            (start, Instant::now(), thread_cpu_ns() - cpu)
        });
        let consumers: Vec<_> = (0..consumers)
            .map(|_| {
                scope.spawn(move || {
                    barrier.wait();
                    let (start, cpu) = (Instant::now(), thread_cpu_ns());
                    while settled.load(Ordering::Relaxed) < payloads.len() as u64 {
                        match queue.consume() {
                            0 => std::thread::yield_now(),
                            n => {
                                settled.fetch_add(n as u64, Ordering::Relaxed);
                            }
                        }
                    }
                    (start, Instant::now(), thread_cpu_ns() - cpu)
                })
            })
            .collect();
        std::iter::once(producer).chain(consumers).map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(settled.load(Ordering::SeqCst), payloads.len() as u64, "{}: every message once", C::NAME);
    let start = per_thread.iter().map(|t| t.0).min().unwrap();
    let end = per_thread.iter().map(|t| t.1).max().unwrap();
    Trial { wall_ns: (end - start).as_nanos() as u64, cpu_ns: per_thread.iter().map(|t| t.2).sum() }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

struct Row {
    name: &'static str,
    trials: Vec<Trial>,
}

impl Row {
    fn msgs_per_sec(&self) -> f64 {
        median(self.trials.iter().map(|t| MESSAGES as f64 * 1e9 / t.wall_ns as f64).collect())
    }
    fn cpu_ns_per_msg(&self) -> f64 {
        median(self.trials.iter().map(|t| t.cpu_ns as f64 / MESSAGES as f64).collect())
    }
}

/// Both contestants with `consumers` consumers, in rotating order, `TRIALS` times each.
fn configuration(consumers: usize, payloads: &[[u8; PAYLOAD]]) -> Vec<Row> {
    type Run = fn(usize, &[[u8; PAYLOAD]]) -> Trial;
    let runs: [(&'static str, Run); 2] = [(Reference::NAME, trial::<Reference>), (Channel::NAME, trial::<Channel>)];
    let mut rows: Vec<Row> = runs.iter().map(|&(name, _)| Row { name, trials: Vec::new() }).collect();
    for t in 0..TRIALS {
        for i in 0..runs.len() {
            let c = (t + i) % runs.len();
            rows[c].trials.push((runs[c].1)(consumers, payloads));
        }
    }
    rows
}

// ---- memory --------------------------------------------------------------------------------

/// Bytes per message: `IN_FLIGHT` messages enqueued (ready), then all received (in flight, the
/// deliveries dropped: their copies are the consumer's, not the queue's), then all acked (what
/// the queue keeps allocated for reuse).
fn reference_memory(payloads: &[[u8; PAYLOAD]]) -> (f64, f64, f64) {
    let payloads = &payloads[..IN_FLIGHT];
    let mut tokens: Vec<LeaseToken> = Vec::with_capacity(IN_FLIGHT);
    let (ready, queue) = counted(|| {
        let q = Reference::new();
        for p in payloads {
            q.produce(p);
        }
        q
    });
    let (in_flight, ()) = counted(|| loop {
        let batch = queue.0.receive(BATCH);
        if batch.is_empty() {
            break;
        }
        tokens.extend(batch.iter().map(|d| d.token));
    });
    assert_eq!(tokens.len(), IN_FLIGHT);
    let (after_acks, ()) = counted(|| {
        for &t in &tokens {
            queue.0.ack(t).expect("a fresh lease");
        }
    });
    let per = |bytes: isize| bytes as f64 / IN_FLIGHT as f64;
    (per(ready), per(ready + in_flight), per(ready + in_flight + after_acks))
}

/// Bytes per message sitting in a channel.
fn channel_memory(payloads: &[[u8; PAYLOAD]]) -> f64 {
    let (bytes, channel) = counted(|| {
        let c = Channel::new();
        for p in &payloads[..IN_FLIGHT] {
            c.produce(p);
        }
        c
    });
    drop(channel);
    bytes as f64 / IN_FLIGHT as f64
}

fn main() {
    let total = Instant::now();
    println!("command: cargo bench --bench message_queue");
    println!(
        "workload: 1 producer enqueuing {MESSAGES} messages of {PAYLOAD} bytes, consumers taking batches of up to \
         {BATCH} and acking each (the channel: try_recv and drop), a virtual clock that never moves (no lease \
         expires); {TRIALS} rotating trials per contestant, median."
    );
    println!();
    println!("{:>9}  {:<34} {:>8} {:>11} {:>10}", "consumers", "contestant", "Mmsg/s", "CPU ns/msg", "vs channel");
    let payloads = payloads();
    for consumers in [1, 2] {
        let rows = configuration(consumers, &payloads);
        let channel = rows[1].msgs_per_sec();
        for r in &rows {
            println!(
                "{:>9}  {:<34} {:>8.2} {:>11.1} {:>9.2}x",
                consumers,
                r.name,
                r.msgs_per_sec() / 1e6,
                r.cpu_ns_per_msg(),
                r.msgs_per_sec() / channel
            );
        }
    }
    println!();
    println!(
        "Mmsg/s: median over trials of messages / wall time (producer and consumers); vs channel: that over \
         crossbeam-channel's, below 1 means slower. CPU ns/msg: all threads' CPU time per message."
    );
    println!();
    let (ready, in_flight, after_acks) = reference_memory(&payloads);
    let channel = channel_memory(&payloads);
    println!(
        "memory: bytes requested from the allocator per message ({PAYLOAD} of them the payload), {IN_FLIGHT} messages"
    );
    println!("  {:<58} {:>8.1}", "reference: enqueued, waiting (ready)", ready);
    println!("  {:<58} {:>8.1}", "reference: received, leased (in flight)", in_flight);
    println!("  {:<58} {:>8.1}", "reference: all acked (slots and buffers kept for reuse)", after_acks);
    println!("  {:<58} {:>8.1}", "crossbeam-channel: sent, not yet received", channel);
    println!("total bench time: {:.1} s", total.elapsed().as_secs_f64());
}
