//! The worker side: builds the learner's cache through its exported table and drives it through
//! one scenario, streaming observations. It decides nothing; the one place it consults the model
//! is to shrink a failing trace, and the judge replays that proposal before believing it.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::Duration;

use challenge_harness::ffi::{
    CacheConfigC, CacheMetricsC, LoaderC, LruCacheTable, OptionU64C, Status, STATUS_INVALID_CONFIG,
    STATUS_LOADER_PANICKED, STATUS_OK, STATUS_PANIC,
};

use super::call::{Call, Outcome};
use super::lin_spec::{LinOp, LinRet};
use super::model::Model;
use super::observation::{History, Metrics, Observation, Tally};
use super::script::{Check, Config, Scenario, Script, Step};
use super::trace::{self, Request, TracedCall};
use crate::host::{monotonic_nanos, Host};
use crate::linearizability::Call as HistoryCall;
use crate::Nanos;

/// A cache living inside a plugin.
pub struct Cache {
    table: &'static LruCacheTable,
    host: &'static Host,
    this: *mut c_void,
}

// SAFETY: the learner's type is `Send + Sync` (the trait demands it, checked when the plugin was
// compiled), and the table's functions only borrow it.
unsafe impl Send for Cache {}
unsafe impl Sync for Cache {}

/// What a loader does when the learner's cache calls it.
enum LoaderMode {
    /// Return the value at once.
    Value,
    /// Fail: the learner's code sees a panic.
    Fail,
    /// Sleep this long (real time), then return the value.
    Sleep(Duration),
    /// Say it started, then wait for `release` for at most the duration.
    Stall(Duration),
}

/// The host state behind one `LoaderC`.
struct Loader {
    value: u64,
    mode: LoaderMode,
    calls: AtomicU64,
    started: AtomicBool,
    released: AtomicBool,
    gave_up: AtomicBool,
}

impl Loader {
    fn new(value: u64, mode: LoaderMode) -> Loader {
        Loader {
            value,
            mode,
            calls: AtomicU64::new(0),
            started: AtomicBool::new(false),
            released: AtomicBool::new(false),
            gave_up: AtomicBool::new(false),
        }
    }

    fn c(&self) -> LoaderC {
        LoaderC { ctx: (self as *const Loader).cast_mut().cast(), load }
    }
}

extern "C" fn load(ctx: *mut c_void, _key: u64, out: *mut u64) -> Status {
    // SAFETY: `ctx` is the `Loader` that outlives the call it was passed to.
    let loader = unsafe { &*ctx.cast::<Loader>() };
    loader.calls.fetch_add(1, Ordering::SeqCst);
    match loader.mode {
        LoaderMode::Value => {}
        LoaderMode::Fail => return STATUS_PANIC,
        LoaderMode::Sleep(d) => std::thread::sleep(d),
        LoaderMode::Stall(limit) => {
            loader.started.store(true, Ordering::SeqCst);
            let started = monotonic_nanos();
            // Polling with sleeps, not a condvar with a timeout: that would read the system clock,
            // and every clock read in this process is counted against the learner.
            while !loader.released.load(Ordering::SeqCst) {
                if monotonic_nanos() - started > limit.as_nanos() as u64 {
                    loader.gave_up.store(true, Ordering::SeqCst);
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    // SAFETY: `out` is a valid out-param for this call.
    unsafe { *out = loader.value };
    STATUS_OK
}

fn option(o: OptionU64C) -> Option<u64> {
    o.present.then_some(o.value)
}

impl Cache {
    /// Calls the plugin's `create`; `Err` carries the panic message.
    pub fn new(table: &'static LruCacheTable, host: &'static Host, config: &Config) -> Result<Cache, String> {
        let c = CacheConfigC { capacity: config.capacity, default_ttl_nanos: config.default_ttl.map_or(0, |t| t.0) };
        let mut this = std::ptr::null_mut();
        match (table.create)(host.api(), c, &mut this) {
            STATUS_OK => Ok(Cache { table, host, this }),
            STATUS_INVALID_CONFIG => Err("the cache rejected a valid configuration".to_owned()),
            STATUS_PANIC => Err(Host::take_panic()),
            other => Err(format!("create returned unknown status {other}")),
        }
    }

    /// Makes `call` and reports what came back.
    pub fn call(&self, call: &Call) -> Outcome {
        match *call {
            Call::GetOrInsert { key, ttl, load } => self.get_or_insert(key, ttl, &Loader::new(load, LoaderMode::Value)),
            Call::LoaderPanics { key } => self.get_or_insert(key, None, &Loader::new(0, LoaderMode::Fail)),
            _ => self.plain(call),
        }
    }

    fn plain(&self, call: &Call) -> Outcome {
        let (api, this) = (self.host.api(), self.this);
        let mut value = OptionU64C::default();
        let (status, outcome) = match *call {
            Call::Get { key } => ((self.table.get)(api, this, key, &mut value), None),
            Call::Peek { key } => ((self.table.peek)(api, this, key, &mut value), None),
            Call::Remove { key } => ((self.table.remove)(api, this, key, &mut value), None),
            Call::Put { key, value: v, ttl } => {
                ((self.table.put)(api, this, key, v, ttl.map_or(0, |t| t.0), &mut value), None)
            }
            Call::Contains { key } => {
                let mut found = false;
                let status = (self.table.contains)(api, this, key, &mut found);
                (status, Some(Outcome::Bool(found)))
            }
            Call::Len => {
                let mut n = 0;
                let status = (self.table.len)(api, this, &mut n);
                (status, Some(Outcome::Len(n)))
            }
            Call::Clear => ((self.table.clear)(api, this), Some(Outcome::Done)),
            Call::Resize { capacity } => ((self.table.resize)(api, this, capacity), Some(Outcome::Done)),
            Call::Metrics => {
                let mut m = CacheMetricsC::default();
                let status = (self.table.metrics)(api, this, &mut m);
                let CacheMetricsC { hits, misses, inserts, replacements, evictions, expirations } = m;
                (
                    status,
                    Some(Outcome::Metrics(Metrics { hits, misses, inserts, replacements, evictions, expirations })),
                )
            }
            Call::GetOrInsert { .. } | Call::LoaderPanics { .. } => {
                unreachable!("loader calls go through get_or_insert")
            }
        };
        match status {
            STATUS_OK => outcome.unwrap_or(Outcome::Value(option(value))),
            other => failed(other),
        }
    }

    fn get_or_insert(&self, key: u64, ttl: Option<Nanos>, loader: &Loader) -> Outcome {
        let mut value = 0;
        let status = (self.table.get_or_insert_with)(
            self.host.api(),
            self.this,
            key,
            ttl.map_or(0, |t| t.0),
            loader.c(),
            &mut value,
        );
        match status {
            STATUS_OK => Outcome::Loaded { value, loads: loader.calls.load(Ordering::SeqCst) },
            STATUS_LOADER_PANICKED => Outcome::LoaderPanicked,
            other => failed(other),
        }
    }

    /// One call of a concurrent history, in the sequential specification's terms.
    fn lin(&self, op: &LinOp) -> Result<LinRet, String> {
        let call = match *op {
            LinOp::Get(key) => Call::Get { key },
            LinOp::Peek(key) => Call::Peek { key },
            LinOp::Contains(key) => Call::Contains { key },
            LinOp::Put(key, value) => Call::Put { key, value, ttl: None },
            LinOp::Remove(key) => Call::Remove { key },
            LinOp::Len => Call::Len,
        };
        match self.plain(&call) {
            Outcome::Value(v) => Ok(LinRet::Value(v)),
            Outcome::Bool(b) => Ok(LinRet::Bool(b)),
            Outcome::Len(n) => Ok(LinRet::Len(n)),
            Outcome::Panic { message } => Err(message),
            other => Err(format!("{} answered {other:?}", call.describe())),
        }
    }
}

fn failed(status: Status) -> Outcome {
    match status {
        STATUS_PANIC => Outcome::Panic { message: Host::take_panic() },
        STATUS_LOADER_PANICKED => {
            Outcome::Panic { message: "a loader's panic came out of a call that has no loader".to_owned() }
        }
        other => Outcome::Panic { message: format!("the call returned unknown status {other}") },
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        // A panicking destructor was reported to the host; the scenario's verdict is already out.
        let _ = (self.table.destroy)(self.host.api(), self.this);
    }
}

/// Runs `scenario` against `learner` (and `reference` for checks that compare), sending each
/// observation to `emit`. `Err` is a panic in the learner's constructor.
pub fn drive(
    learner: &'static LruCacheTable,
    reference: Option<&'static LruCacheTable>,
    host: &'static Host,
    scenario: &Scenario,
    seed: u64,
    emit: &mut dyn FnMut(Observation),
) -> Result<(), String> {
    let config = &scenario.config;
    let check = match &scenario.script {
        Script::Steps(steps) => {
            let cache = Cache::new(learner, host, config)?;
            run_steps(&cache, host, steps, emit);
            return Ok(());
        }
        Script::Check(check) => check,
    };
    match *check {
        Check::Differential { ops, keys, max_gap } => {
            let calls = trace::differential(config, seed, ops, keys, max_gap);
            let outcomes = run_trace(&Cache::new(learner, host, config)?, host, &calls);
            let diverged = first_divergence(config, &calls, &outcomes).is_some();
            emit(Observation::Trace { outcomes: outcomes.clone() });
            if diverged && !outcomes.last().is_some_and(Outcome::is_panic) {
                let (calls, outcomes) = shrink(learner, host, config, calls, outcomes)?;
                emit(Observation::Shrunk { calls, outcomes });
            }
        }
        Check::ZipfHitRatio { ops, keys, exponent } => {
            let cache = Cache::new(learner, host, config)?;
            let mut hits = String::with_capacity(ops as usize);
            let mut panic = None;
            for key in trace::zipf(seed, ops, keys, exponent) {
                match cache_aside(&cache, key) {
                    Ok(hit) => hits.push(if hit { '1' } else { '0' }),
                    Err(message) => {
                        panic = Some(message);
                        break;
                    }
                }
            }
            emit(Observation::Hits { hits, panic });
        }
        Check::ConcurrentInvariants { threads, ops, keys } => {
            let cache = Cache::new(learner, host, config)?;
            emit(Observation::Tally(invariants(&cache, seed, threads, ops, keys)));
        }
        Check::Linearizable { runs, threads, ops, keys } => {
            for run in 0..runs {
                let cache = Cache::new(learner, host, config)?;
                let (calls, panic) = history(&cache, seed, run, threads, ops, keys);
                let stop = panic.is_some();
                emit(Observation::History { run, calls, panic });
                if stop {
                    break;
                }
            }
        }
        Check::LoaderOnce { threads, load_time } => {
            let cache = Cache::new(learner, host, config)?;
            let loader = Loader::new(4242, LoaderMode::Sleep(Duration::from_nanos(load_time.0)));
            let barrier = Barrier::new(threads as usize);
            let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|_| {
                        scope.spawn(|| {
                            barrier.wait();
                            cache.get_or_insert(42, None, &loader)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("grader threads do not panic")).collect()
            });
            let loads = loader.calls.load(Ordering::SeqCst);
            let metrics = cache.call(&Call::Metrics);
            let after = cache.call(&Call::Peek { key: 42 });
            emit(Observation::LoaderOnce { loads, outcomes, metrics, after });
        }
        Check::LoaderDoesNotBlockOthers { stall } => {
            let cache = Cache::new(learner, host, config)?;
            emit(blocking(&cache, Duration::from_nanos(stall.0)));
        }
        Check::Performance { ops, keys, threads, trials, .. } => {
            let reference = reference.ok_or("the performance check needs the reference solution")?;
            let workload: Vec<Vec<Request>> = (0..threads).map(|t| trace::performance(seed, t, ops, keys)).collect();
            let (mut learner_nanos, mut reference_nanos) = (Vec::new(), Vec::new());
            let (mut learner_hits, mut reference_hits) = (0, 0);
            // Alternate sides so that drift in machine load hits both equally.
            for _ in 0..trials {
                let (nanos, hits) = timed_trial(learner, host, config, &workload)?;
                learner_nanos.push(nanos);
                learner_hits = hits;
                let (nanos, hits) = timed_trial(reference, host, config, &workload)?;
                reference_nanos.push(nanos);
                reference_hits = hits;
            }
            emit(Observation::Timing { learner_nanos, reference_nanos, learner_hits, reference_hits });
        }
    }
    Ok(())
}

fn run_steps(cache: &Cache, host: &Host, steps: &[Step], emit: &mut dyn FnMut(Observation)) {
    for (index, step) in steps.iter().enumerate() {
        if let Some(at) = step.at {
            host.set_time(at);
        }
        emit(Observation::StepStarted { index, at: host.time() });
        let mut outcomes = Vec::with_capacity(step.calls.len());
        for call in &step.calls {
            let outcome = cache.call(call);
            let stop = outcome.is_panic();
            outcomes.push(outcome);
            if stop {
                break;
            }
        }
        let stop = outcomes.last().is_some_and(Outcome::is_panic);
        emit(Observation::Step { index, at: host.time(), outcomes });
        if stop {
            return;
        }
    }
}

/// Runs `calls` from scenario time 0, stopping after a panic.
fn run_trace(cache: &Cache, host: &Host, calls: &[TracedCall]) -> Vec<Outcome> {
    let mut now = 0;
    let mut outcomes = Vec::with_capacity(calls.len());
    for traced in calls {
        now += traced.gap.0;
        host.set_time(Nanos(now));
        let outcome = cache.call(&traced.call);
        let stop = outcome.is_panic();
        outcomes.push(outcome);
        if stop {
            break;
        }
    }
    outcomes
}

/// The index of the first call whose outcome differs from the model's.
pub fn first_divergence(config: &Config, calls: &[TracedCall], outcomes: &[Outcome]) -> Option<usize> {
    let mut model = Model::new(config);
    let mut now = 0;
    for (n, (traced, actual)) in calls.iter().zip(outcomes).enumerate() {
        now += traced.gap.0;
        if model.apply(&traced.call, now) != *actual {
            return Some(n);
        }
    }
    (outcomes.len() < calls.len()).then_some(outcomes.len())
}

/// Most fresh caches one shrink may build.
const SHRINK_ATTEMPTS: usize = 4_000;

/// Delta debugging on the trace up to its first divergence: drop chunks of calls, halving the
/// chunk size, keeping every removal after which the cache still disagrees with the model.
fn shrink(
    table: &'static LruCacheTable,
    host: &'static Host,
    config: &Config,
    calls: Vec<TracedCall>,
    outcomes: Vec<Outcome>,
) -> Result<(Vec<TracedCall>, Vec<Outcome>), String> {
    let end = first_divergence(config, &calls, &outcomes).map_or(calls.len(), |n| n + 1);
    let (mut calls, mut outcomes) = (calls[..end].to_vec(), outcomes[..end].to_vec());
    let mut attempts = 0;
    let mut chunk = calls.len().div_ceil(2);
    while chunk >= 1 && attempts < SHRINK_ATTEMPTS {
        let mut start = 0;
        while start < calls.len() && attempts < SHRINK_ATTEMPTS {
            attempts += 1;
            let mut candidate = calls.clone();
            candidate.drain(start..(start + chunk).min(calls.len()));
            let got = run_trace(&Cache::new(table, host, config)?, host, &candidate);
            match first_divergence(config, &candidate, &got) {
                // A panic is its own verdict; shrink only towards a wrong answer.
                Some(n) if n < got.len() && !got[n].is_panic() => {
                    candidate.truncate(n + 1);
                    outcomes = got[..=n].to_vec();
                    calls = candidate;
                }
                _ => start += chunk,
            }
        }
        if chunk == 1 {
            break;
        }
        chunk = chunk.div_ceil(2).max(1);
    }
    Ok((calls, outcomes))
}

/// `get(key)`, then `put(key, key)` on a miss; `Ok(true)` for a hit.
fn cache_aside(cache: &Cache, key: u64) -> Result<bool, String> {
    match cache.call(&Call::Get { key }) {
        Outcome::Value(Some(_)) => Ok(true),
        Outcome::Value(None) => match cache.call(&Call::Put { key, value: key, ttl: None }) {
            Outcome::Panic { message } => Err(message),
            _ => Ok(false),
        },
        Outcome::Panic { message } => Err(message),
        other => Err(format!("get answered {other:?}")),
    }
}

/// A spinning start line. A `Barrier` wakes its sleepers one by one, so the first threads are
/// often done before the last ones run; spinning (with a yield now and then, since there may be
/// more threads than cores) releases them within nanoseconds of each other, and races show.
struct StartLine {
    threads: usize,
    arrived: AtomicUsize,
}

impl StartLine {
    fn new(threads: u32) -> StartLine {
        StartLine { threads: threads as usize, arrived: AtomicUsize::new(0) }
    }

    fn wait(&self) {
        self.arrived.fetch_add(1, Ordering::SeqCst);
        let mut spins = 0u32;
        while self.arrived.load(Ordering::SeqCst) < self.threads {
            spins += 1;
            if spins.is_multiple_of(64) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

fn invariants(cache: &Cache, seed: u64, threads: u32, ops: u32, keys: u32) -> Tally {
    let barrier = StartLine::new(threads);
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let (cache, barrier) = (cache, &barrier);
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    let calls = trace::invariants(seed, thread, ops, keys);
                    barrier.wait();
                    for op in &calls {
                        match (op, cache.lin(op)) {
                            (_, Err(message)) => {
                                tally.panic = Some(message);
                                break;
                            }
                            (LinOp::Get(_), Ok(LinRet::Value(v))) => {
                                tally.gets += 1;
                                tally.gets_found += v.is_some() as u64;
                            }
                            (LinOp::Put(..), Ok(LinRet::Value(v))) => {
                                tally.puts += 1;
                                tally.puts_replaced += v.is_some() as u64;
                            }
                            (LinOp::Remove(_), Ok(LinRet::Value(v))) => tally.removed += v.is_some() as u64,
                            (LinOp::Len, Ok(LinRet::Len(n))) => tally.max_len = tally.max_len.max(n),
                            (_, Ok(_)) => {}
                        }
                    }
                    tally
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("grader threads do not panic")).collect()
    });
    let mut total = Tally::default();
    for t in tallies {
        total.gets += t.gets;
        total.gets_found += t.gets_found;
        total.puts += t.puts;
        total.puts_replaced += t.puts_replaced;
        total.removed += t.removed;
        total.max_len = total.max_len.max(t.max_len);
        total.panic = total.panic.or(t.panic);
    }
    if total.panic.is_none() {
        match (cache.call(&Call::Len), cache.call(&Call::Metrics)) {
            (Outcome::Len(n), Outcome::Metrics(m)) => {
                total.final_len = n;
                total.metrics = m;
            }
            (Outcome::Panic { message }, _) | (_, Outcome::Panic { message }) => total.panic = Some(message),
            (len, metrics) => total.panic = Some(format!("len and metrics answered {len:?} and {metrics:?}")),
        }
    }
    total
}

/// One `linearizable` run: threads released together from a start line, each call stamped before and after
/// from one counter (a total order consistent with real time).
fn history(cache: &Cache, seed: u64, run: u32, threads: u32, ops: u32, keys: u32) -> (History, Option<String>) {
    let stamp = AtomicU64::new(0);
    let barrier = StartLine::new(threads);
    let per_thread: Vec<(History, Option<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let (cache, stamp, barrier) = (cache, &stamp, &barrier);
                scope.spawn(move || {
                    let calls = trace::linearizable(seed, run, thread, ops, keys);
                    let mut history = Vec::with_capacity(calls.len());
                    barrier.wait();
                    for op in calls {
                        let call = stamp.fetch_add(1, Ordering::SeqCst);
                        let result = cache.lin(&op);
                        let ret = stamp.fetch_add(1, Ordering::SeqCst);
                        match result {
                            Ok(result) => history.push(HistoryCall { thread, op, call, ret, result: Some(result) }),
                            Err(message) => return (history, Some(message)),
                        }
                    }
                    (history, None)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("grader threads do not panic")).collect()
    });
    let mut all = Vec::new();
    let mut panic = None;
    for (history, p) in per_thread {
        all.extend(history);
        panic = panic.or(p);
    }
    all.sort_by_key(|c| c.call);
    (all, panic)
}

fn blocking(cache: &Cache, stall: Duration) -> Observation {
    let loader = Loader::new(1111, LoaderMode::Stall(stall));
    std::thread::scope(|scope| {
        let stalled = scope.spawn(|| cache.get_or_insert(1, None, &loader));
        let waited = monotonic_nanos();
        while !loader.started.load(Ordering::SeqCst) && !stalled.is_finished() {
            if monotonic_nanos() - waited > 10 * stall.as_nanos() as u64 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let started = monotonic_nanos();
        let others: Vec<Outcome> = [Call::Put { key: 2, value: 22, ttl: None }, Call::Get { key: 2 }, Call::Len]
            .iter()
            .map(|call| cache.call(call))
            .collect();
        let others_took = monotonic_nanos() - started;
        loader.released.store(true, Ordering::SeqCst);
        let loader_call = stalled.join().expect("grader threads do not panic");
        let finished_during_load = loader.started.load(Ordering::SeqCst) && !loader.gave_up.load(Ordering::SeqCst);
        Observation::Blocking { finished_during_load, others_took, loader_call, others }
    })
}

fn timed_trial(
    table: &'static LruCacheTable,
    host: &'static Host,
    config: &Config,
    workload: &[Vec<Request>],
) -> Result<(u64, u64), String> {
    let cache = Cache::new(table, host, config)?;
    let barrier = Barrier::new(workload.len());
    let started = monotonic_nanos();
    let results: Vec<Result<u64, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = workload
            .iter()
            .map(|requests| {
                let (cache, barrier) = (&cache, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let mut hits = 0;
                    for request in requests {
                        match *request {
                            Request::Read(key) => hits += cache_aside(cache, key)? as u64,
                            Request::Write(key) => {
                                if let Outcome::Panic { message } =
                                    cache.call(&Call::Put { key, value: key, ttl: None })
                                {
                                    return Err(message);
                                }
                            }
                        }
                    }
                    Ok(hits)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("grader threads do not panic")).collect()
    });
    let nanos = monotonic_nanos() - started;
    drop(cache);
    let mut hits = 0;
    for result in results {
        hits += result?;
    }
    Ok((nanos, hits))
}
