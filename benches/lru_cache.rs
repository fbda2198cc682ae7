//! The challenge-2 reference cache against `Mutex<lru::LruCache>` (the usual strict LRU),
//! `moka::sync::Cache` and `quick_cache::sync::Cache`, side by side in one run.
//!
//! Run: `cargo bench --bench lru_cache` (a plain binary, `harness = false`; 35–75 s on 2 cores,
//! depending on what else runs, most of it moka's runs).
//!
//! Workload (cache-aside): keys drawn from a seeded Zipf distribution (s = 0.9) over 100k keys;
//! 90% of operations are a `get`, and a `get` that misses is followed by a `put` of the key, as an
//! application filling its cache would; the other 10% are a `put`. Capacity 1% and 10% of the key
//! space; 1 and 2 threads, each thread with its own sequence (its own seed), ~2M operations per
//! run in all. No TTLs: this measures recency bookkeeping, hashing and locking.
//!
//! Fairness:
//! - Every contestant starts each trial empty and is first warmed, untimed, by the same 500k
//!   operations on one thread; then the timed run starts all its threads at a barrier.
//! - The reference is called through the `LruCache` trait directly (no FFI shim); `lru` hashes
//!   with hashbrown's default, foldhash, the reference's hasher too, so hashing is not what differs.
//! - Trials alternate which contestant goes first (a rotation); each figure is the median over
//!   trials. ops/s is operations over wall time from the barrier to the last thread's end; CPU
//!   ns/op is both threads' CPU time over all operations, shown because the bench shares its 2 cores
//!   with whatever else runs (wall time charges a contestant for other processes scheduled during
//!   its trial; CPU time mostly does not, but counts spinning on a contended lock as work).
//! - Hit ratios: the reference and `lru` are both strict LRU, so with one thread, fed identical
//!   sequences, they must hit exactly as often: the bench asserts it on every trial, which is also a
//!   check that the reference is the same policy. moka (TinyLFU admission) and quick_cache
//!   (S3-FIFO) are other policies: compare their throughput only; their hit ratios are shown for
//!   what they are. With 2 threads the interleaving differs from run to run, so hit ratios differ
//!   slightly between runs of even the same policy.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::{Barrier, Mutex};
use std::time::Instant;

use challenge_harness::{CacheConfig, LruCache as _, ManualClock};
use lru_cache_reference::ReferenceCache;

const KEYS: usize = 100_000;
const ZIPF_S: f64 = 0.9;
/// Operations per timed run, all threads together.
const OPS: usize = 1 << 21;
/// Untimed operations that fill a fresh cache before each timed run.
const WARM: usize = 500_000;
const TRIALS: usize = 5;
/// An operation's top bit: a `put` (otherwise a `get`).
const PUT: u32 = 1 << 31;

/// One contestant, built fresh for each trial.
trait Contestant: Sync + Sized {
    const NAME: &'static str;
    /// Whether its hit ratio is comparable with the reference's (the same policy).
    const STRICT_LRU: bool;
    fn new(capacity: usize) -> Self;
    /// A lookup; whether it hit.
    fn get(&self, key: u64) -> bool;
    fn put(&self, key: u64, value: u64);
}

struct Reference(ReferenceCache);

impl Contestant for Reference {
    const NAME: &'static str = "reference (challenge 2)";
    const STRICT_LRU: bool = true;
    fn new(capacity: usize) -> Self {
        let config = CacheConfig { capacity, default_ttl: None };
        Reference(ReferenceCache::new(config, ManualClock::new(0).clock()))
    }
    #[inline(always)]
    fn get(&self, key: u64) -> bool {
        self.0.get(key).is_some()
    }
    #[inline(always)]
    fn put(&self, key: u64, value: u64) {
        black_box(self.0.put(key, value, None));
    }
}

struct LruMutex(Mutex<lru::LruCache<u64, u64>>);

impl Contestant for LruMutex {
    const NAME: &'static str = "Mutex<lru::LruCache> 0.19";
    const STRICT_LRU: bool = true;
    fn new(capacity: usize) -> Self {
        LruMutex(Mutex::new(lru::LruCache::new(NonZeroUsize::new(capacity).unwrap())))
    }
    #[inline(always)]
    fn get(&self, key: u64) -> bool {
        self.0.lock().unwrap().get(&key).is_some()
    }
    #[inline(always)]
    fn put(&self, key: u64, value: u64) {
        black_box(self.0.lock().unwrap().put(key, value));
    }
}

struct Moka(moka::sync::Cache<u64, u64>);

impl Contestant for Moka {
    const NAME: &'static str = "moka::sync::Cache 0.12 (TinyLFU)";
    const STRICT_LRU: bool = false;
    fn new(capacity: usize) -> Self {
        Moka(moka::sync::Cache::builder().max_capacity(capacity as u64).build())
    }
    #[inline(always)]
    fn get(&self, key: u64) -> bool {
        self.0.get(&key).is_some()
    }
    #[inline(always)]
    fn put(&self, key: u64, value: u64) {
        self.0.insert(key, value);
    }
}

struct Quick(quick_cache::sync::Cache<u64, u64>);

impl Contestant for Quick {
    const NAME: &'static str = "quick_cache::sync 0.7 (S3-FIFO)";
    const STRICT_LRU: bool = false;
    fn new(capacity: usize) -> Self {
        Quick(quick_cache::sync::Cache::new(capacity))
    }
    #[inline(always)]
    fn get(&self, key: u64) -> bool {
        self.0.get(&key).is_some()
    }
    #[inline(always)]
    fn put(&self, key: u64, value: u64) {
        self.0.insert(key, value);
    }
}

/// xorshift64*, so every contestant gets the same sequences without a dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The Zipf(s) cumulative distribution over ranks `0..n`: rank `r` has weight `1 / (r + 1)^s`.
fn zipf_cdf(n: usize, s: f64) -> Vec<f64> {
    let mut cdf: Vec<f64> = (0..n).map(|r| 1.0 / ((r + 1) as f64).powf(s)).collect();
    let mut sum = 0.0;
    for w in cdf.iter_mut() {
        sum += *w;
        *w = sum;
    }
    cdf.iter_mut().for_each(|w| *w /= sum);
    cdf
}

/// `len` operations: a Zipf rank, with [`PUT`] set on 10% of them.
fn sequence(cdf: &[f64], seed: u64, len: usize) -> Vec<u32> {
    let mut rng = Rng::new(seed);
    (0..len)
        .map(|_| {
            let u = rng.unit();
            let rank = cdf.partition_point(|&c| c < u).min(cdf.len() - 1) as u32;
            if rng.next().is_multiple_of(10) {
                rank | PUT
            } else {
                rank
            }
        })
        .collect()
}

/// A rank's key: scattered over `u64` (a bijection), so hot keys are not small neighbouring numbers.
#[inline(always)]
fn key(rank: u32) -> u64 {
    u64::from(rank).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Runs `ops` on `cache`; returns (gets, hits).
#[inline(always)]
fn drive<C: Contestant>(cache: &C, ops: &[u32]) -> (u64, u64) {
    let (mut gets, mut hits) = (0, 0);
    for &op in ops {
        let k = key(op & !PUT);
        if op & PUT != 0 {
            cache.put(k, k);
        } else {
            gets += 1;
            if cache.get(k) {
                hits += 1;
            } else {
                cache.put(k, k);
            }
        }
    }
    (gets, hits)
}

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
    ops: u64,
    gets: u64,
    hits: u64,
}

/// A fresh cache, warmed on one thread, then one timed run of every thread's sequence.
fn trial<C: Contestant>(capacity: usize, warm: &[u32], seqs: &[Vec<u32>]) -> Trial {
    let cache = C::new(capacity);
    drive(&cache, warm);
    let barrier = Barrier::new(seqs.len());
    let per_thread: Vec<(Instant, Instant, u64, u64, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = seqs
            .iter()
            .map(|seq| {
                let (cache, barrier) = (&cache, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let (start, cpu) = (Instant::now(), thread_cpu_ns());
                    let (gets, hits) = drive(cache, seq);
                    (start, Instant::now(), thread_cpu_ns() - cpu, gets, hits)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let start = per_thread.iter().map(|t| t.0).min().unwrap();
    let end = per_thread.iter().map(|t| t.1).max().unwrap();
    // Dropping a big cache is not part of the run.
    drop(cache);
    Trial {
        wall_ns: (end - start).as_nanos() as u64,
        cpu_ns: per_thread.iter().map(|t| t.2).sum(),
        ops: seqs.iter().map(|s| s.len() as u64).sum(),
        gets: per_thread.iter().map(|t| t.3).sum(),
        hits: per_thread.iter().map(|t| t.4).sum(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

struct Row {
    name: &'static str,
    strict: bool,
    trials: Vec<Trial>,
}

impl Row {
    fn ops_per_sec(&self) -> f64 {
        median(self.trials.iter().map(|t| t.ops as f64 * 1e9 / t.wall_ns as f64).collect())
    }
    fn cpu_ns_per_op(&self) -> f64 {
        median(self.trials.iter().map(|t| t.cpu_ns as f64 / t.ops as f64).collect())
    }
    fn hit_ratio(&self) -> f64 {
        let (hits, gets) = self.trials.iter().fold((0, 0), |(h, g), t| (h + t.hits, g + t.gets));
        hits as f64 / gets as f64
    }
}

/// All contestants on one configuration, in rotating order, `TRIALS` times each.
fn configuration(capacity: usize, warm: &[u32], seqs: &[Vec<u32>]) -> Vec<Row> {
    type Run = fn(usize, &[u32], &[Vec<u32>]) -> Trial;
    let runs: [(&'static str, bool, Run); 4] = [
        (Reference::NAME, Reference::STRICT_LRU, trial::<Reference>),
        (LruMutex::NAME, LruMutex::STRICT_LRU, trial::<LruMutex>),
        (Quick::NAME, Quick::STRICT_LRU, trial::<Quick>),
        (Moka::NAME, Moka::STRICT_LRU, trial::<Moka>),
    ];
    let mut rows: Vec<Row> = runs.iter().map(|&(name, strict, _)| Row { name, strict, trials: Vec::new() }).collect();
    for t in 0..TRIALS {
        for i in 0..runs.len() {
            let c = (t + i) % runs.len();
            rows[c].trials.push((runs[c].2)(capacity, warm, seqs));
        }
        if seqs.len() == 1 {
            // The same policy on the same single-threaded sequence: the same hits, exactly.
            let (ours, lru) = (rows[0].trials[t], rows[1].trials[t]);
            assert_eq!(
                (ours.gets, ours.hits),
                (lru.gets, lru.hits),
                "the reference and lru disagree on hits (capacity {capacity}, trial {t})"
            );
        }
    }
    rows
}

fn main() {
    let total = Instant::now();
    println!("command: cargo bench --bench lru_cache");
    println!(
        "workload: Zipf(s = {ZIPF_S}) over {KEYS} keys, 90% get (a miss is followed by a put of the key) / 10% put, \
         no TTL; {OPS} ops per timed run (all threads together), each run on a fresh cache warmed by {WARM} \
         untimed ops; {TRIALS} rotating trials per contestant, median."
    );
    println!();
    println!(
        "{:>8} {:>3}  {:<34} {:>8} {:>10} {:>7} {:>10}",
        "capacity", "thr", "contestant", "Mops/s", "CPU ns/op", "vs lru", "hit ratio"
    );
    let cdf = zipf_cdf(KEYS, ZIPF_S);
    let warm = sequence(&cdf, 7, WARM);
    for capacity in [KEYS / 100, KEYS / 10] {
        for threads in [1, 2] {
            let seqs: Vec<Vec<u32>> = (0..threads).map(|t| sequence(&cdf, 42 + t as u64, OPS / threads)).collect();
            let rows = configuration(capacity, &warm, &seqs);
            let lru = rows[1].ops_per_sec();
            for r in &rows {
                let hit = format!("{:.2}%{}", 100.0 * r.hit_ratio(), if r.strict { "" } else { "*" });
                println!(
                    "{:>8} {:>3}  {:<34} {:>8.2} {:>10.1} {:>6.2}x {:>10}",
                    capacity,
                    threads,
                    r.name,
                    r.ops_per_sec() / 1e6,
                    r.cpu_ns_per_op(),
                    r.ops_per_sec() / lru,
                    hit
                );
            }
            if threads == 1 {
                println!("{:>8} {:>3}  (reference and lru hit identically on every trial: asserted)", "", "");
            }
        }
    }
    println!();
    println!(
        "Mops/s: median over trials of ops / wall time; vs lru: that over Mutex<lru::LruCache>'s, above 1 means \
         faster. CPU ns/op: both threads' CPU time per op (spinning on a contended lock counts)."
    );
    println!("*: another policy than strict LRU (admission or S3-FIFO): compare throughput only.");
    println!("total bench time: {:.1} s", total.elapsed().as_secs_f64());
}
