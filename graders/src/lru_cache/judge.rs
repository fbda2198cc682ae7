//! The parent side: compares what the worker observed with the scenario's expectations or with
//! the model, and explains each failure in terms a learner can act on.

use std::fmt::Write as _;

use super::call::{Call, Outcome};
use super::driver::first_divergence;
use super::lin_spec::{LinOp, LinRet, LruSpec};
use super::model::Model;
use super::observation::{Observation, Tally};
use super::script::{Check, Config, Expected, PartialMetrics, Scenario, Script, Step};
use super::trace::{self, TracedCall};
use crate::judgement::{Failure, Judgement, PanicReport};
use crate::linearizability::{self, Outcome as LinOutcome};
use crate::Nanos;

/// Search nodes one history may cost the linearizability checker before it answers "unknown".
const NODE_BUDGET: u64 = 2_000_000;

/// The step that started but never reported, described: what a timeout or crash interrupted.
pub fn interrupted(scenario: &Scenario, observations: &[Observation]) -> Option<String> {
    let Script::Steps(steps) = &scenario.script else { return None };
    crate::scenario::interrupted(observations, |index| steps.get(index).map(Step::describe))
}

/// Judges one scenario from its observations, in the order the worker sent them.
pub fn judge(scenario: &Scenario, seed: u64, observations: &[Observation]) -> Judgement {
    let config = &scenario.config;
    match &scenario.script {
        Script::Steps(steps) => judge_steps(config, steps, observations),
        Script::Check(check) => match *check {
            Check::Differential { ops, keys, max_gap } => {
                judge_trace(config, &trace::differential(config, seed, ops, keys, max_gap), observations)
            }
            Check::ZipfHitRatio { ops, keys, exponent } => {
                judge_hits(config, &trace::zipf(seed, ops, keys, exponent), observations)
            }
            Check::ConcurrentInvariants { threads, ops, .. } => judge_tally(config, threads, ops, observations),
            Check::Linearizable { runs, threads, ops, .. } => judge_histories(config, runs, threads, ops, observations),
            Check::LoaderOnce { threads, .. } => judge_loader_once(threads, observations),
            Check::LoaderDoesNotBlockOthers { stall } => judge_blocking(stall, observations),
            Check::Performance { threads, max_ratio, .. } => judge_timing(threads, max_ratio, observations),
        },
    }
}

fn judge_steps(config: &Config, steps: &[Step], observations: &[Observation]) -> Judgement {
    let mut model = Model::new(config);
    for (index, step) in steps.iter().enumerate() {
        let Some((at, outcomes)) = observations.iter().find_map(|o| match o {
            Observation::Step { index: i, at, outcomes } if *i == index => Some((*at, outcomes)),
            _ => None,
        }) else {
            return Judgement::Fail(Failure::new(format!("step {} never reported a result", index + 1)));
        };
        let recency_before = model.keys_by_recency();
        for (n, (call, actual)) in step.calls.iter().zip(outcomes).enumerate() {
            model.apply(call, at.0);
            if let Outcome::Panic { message } = actual {
                return Judgement::Panic(PanicReport::new(message.clone())).located(index + 1, at);
            }
            let expected = step.expect.get(n).cloned().flatten();
            let loads = step.loads.filter(|_| matches!(call, Call::GetOrInsert { .. }));
            if let Some(mut failure) = compare(call, expected.as_ref(), loads, actual) {
                if step.calls.len() > 1 {
                    failure.summary = format!("{} (call {} of {})", failure.summary, n + 1, step.calls.len());
                }
                failure
                    .context
                    .push(format!("a correct cache held, least recently used first: {}", keys(&recency_before)));
                return Judgement::Fail(failure).located(index + 1, at);
            }
        }
        if outcomes.len() < step.calls.len() {
            return Judgement::Fail(Failure::new(format!("step {} stopped after {} calls", index + 1, outcomes.len())));
        }
    }
    Judgement::Pass { note: None }
}

fn keys(keys: &[u64]) -> String {
    if keys.is_empty() {
        return "nothing".to_owned();
    }
    keys.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

/// Compares one call's outcome with what a step expects; `None` when it matches.
fn compare(call: &Call, expected: Option<&Expected>, loads: Option<u64>, actual: &Outcome) -> Option<Failure> {
    let mut want = String::new();
    let mut got = String::new();
    match (expected, actual) {
        (None, _) => {}
        (Some(Expected::Metrics(fields)), Outcome::Metrics(m)) => {
            for (name, e, a) in fields.fields(m) {
                let _ = writeln!(want, "{name}: {e}");
                let _ = writeln!(got, "{name}: {a}");
            }
        }
        (Some(Expected::Value(v)), Outcome::Loaded { value, .. }) => {
            let _ = writeln!(want, "returns: {}", Outcome::Value(*v).describe());
            let _ = writeln!(got, "returns: {}", Outcome::Value(Some(*value)).describe());
        }
        (Some(expected), actual) => {
            let _ = writeln!(want, "returns: {}", expected_outcome(expected).describe());
            let _ = writeln!(got, "returns: {}", actual.describe());
        }
    }
    if let (Some(n), Outcome::Loaded { loads, .. }) = (loads, actual) {
        let _ = writeln!(want, "loader calls: {n}");
        let _ = writeln!(got, "loader calls: {loads}");
    }
    (want != got).then(|| {
        let mut failure = Failure::new(call.describe());
        failure.hint = Some(hint(call, expected).to_owned());
        failure.expected = want;
        failure.actual = got;
        failure
    })
}

fn expected_outcome(expected: &Expected) -> Outcome {
    match expected {
        Expected::Value(v) => Outcome::Value(*v),
        Expected::Bool(b) => Outcome::Bool(*b),
        Expected::Len(n) => Outcome::Len(*n),
        Expected::Metrics(_) => unreachable!("metrics are compared field by field"),
        Expected::LoaderPanicked => Outcome::LoaderPanicked,
    }
}

fn hint(call: &Call, expected: Option<&Expected>) -> &'static str {
    match (call, expected) {
        (Call::Metrics, _) => {
            "Each get counts one hit or one miss (an expired entry is a miss); a put on a live key is a \
             replacement, never an eviction; evictions are live entries pushed out for room; expirations count \
             every entry that reached its expiry while cached, read or not; clear() keeps the counters."
        }
        (Call::Len, _) => "len() counts live entries only: an entry is expired from exactly inserted + ttl on.",
        (Call::LoaderPanics { .. }, _) => {
            "Let the loader's panic leave get_or_insert_with (don't swallow it), keep the key absent, and leave \
             nothing locked or poisoned: the next call must work."
        }
        (_, Some(Expected::Value(None) | Expected::Bool(false))) => {
            "This key should have no live entry now: either it was the least recently used when something was \
             inserted at capacity (get and put promote, peek and contains do not), or its expiry (exactly \
             inserted + ttl) has come."
        }
        (_, _) => {
            "This key should still be live: check which entry you evicted (the least recently used live one; \
             expired entries go first and never count as evictions), and that an overwrite restarts the TTL."
        }
    }
}

fn judge_trace(config: &Config, calls: &[TracedCall], observations: &[Observation]) -> Judgement {
    let Some(outcomes) = observations.iter().find_map(|o| match o {
        Observation::Trace { outcomes } => Some(outcomes),
        _ => None,
    }) else {
        return Judgement::Fail(Failure::new("the differential trace reported nothing"));
    };
    let Some(n) = first_divergence(config, calls, outcomes) else {
        return Judgement::Pass { note: Some(format!("{} calls matched the model", calls.len())) };
    };
    let at = Nanos(calls[..=n.min(calls.len() - 1)].iter().map(|c| c.gap.0).sum());
    if let Some(Outcome::Panic { message }) = outcomes.get(n) {
        return Judgement::Panic(PanicReport { step: None, at: Some(at), message: message.clone() });
    }
    let Some(actual) = outcomes.get(n) else {
        return Judgement::Fail(Failure::new(format!(
            "the trace stopped after {} of {} calls",
            outcomes.len(),
            calls.len()
        )));
    };
    let expected = replay(config, &calls[..=n]);
    let mut failure = Failure::new(format!("call {} of {}: {}", n + 1, calls.len(), calls[n].call.describe()));
    failure.at = Some(at);
    failure.expected = format!("returns: {}\n", expected.describe());
    failure.actual = format!("returns: {}\n", actual.describe());
    failure.context = match shrunk(config, observations) {
        Some(steps) => {
            let mut lines =
                vec![format!("The same disagreement in {} calls (from an empty cache at t=0):", steps.len())];
            lines.extend(steps);
            lines
        }
        None => vec!["(no shorter failing trace was found)".to_owned()],
    };
    failure.hint =
        Some("Replay the short trace above in a unit test with ManualClock: it fails the same way.".to_owned());
    Judgement::Fail(failure)
}

/// The model's outcome for the last of `calls`.
fn replay(config: &Config, calls: &[TracedCall]) -> Outcome {
    let mut model = Model::new(config);
    let mut now = 0;
    let mut last = Outcome::Done;
    for traced in calls {
        now += traced.gap.0;
        last = model.apply(&traced.call, now);
    }
    last
}

/// The worker's shrunk trace as steps, if the model confirms it fails at its last call.
fn shrunk(config: &Config, observations: &[Observation]) -> Option<Vec<String>> {
    let (calls, outcomes) = observations.iter().find_map(|o| match o {
        Observation::Shrunk { calls, outcomes } => Some((calls, outcomes)),
        _ => None,
    })?;
    if calls.is_empty() || first_divergence(config, calls, outcomes) != Some(calls.len() - 1) {
        return None;
    }
    let mut model = Model::new(config);
    let mut now = 0;
    let lines = calls
        .iter()
        .zip(outcomes)
        .map(|(traced, actual)| {
            now += traced.gap.0;
            let expected = model.apply(&traced.call, now);
            let call = traced.call.describe();
            if expected == *actual {
                format!("  t={:<10} {call} → {}", Nanos(now).to_string(), actual.describe())
            } else {
                format!(
                    "  t={:<10} {call} → {}   ✗ a correct cache returns {}",
                    Nanos(now).to_string(),
                    actual.describe(),
                    expected.describe()
                )
            }
        })
        .collect();
    Some(lines)
}

fn judge_hits(config: &Config, keys: &[u64], observations: &[Observation]) -> Judgement {
    let Some((hits, panic)) = observations.iter().find_map(|o| match o {
        Observation::Hits { hits, panic } => Some((hits, panic)),
        _ => None,
    }) else {
        return Judgement::Fail(Failure::new("the hit-ratio trace reported nothing"));
    };
    if let Some(message) = panic {
        return Judgement::Panic(PanicReport::new(message.clone()));
    }
    let mut model = Model::new(config);
    let (mut expected_hits, mut actual_hits, mut first_difference) = (0u64, 0u64, None);
    for (n, (&key, actual)) in keys.iter().zip(hits.bytes()).enumerate() {
        let hit = matches!(model.apply(&Call::Get { key }, 0), Outcome::Value(Some(_)));
        if !hit {
            model.apply(&Call::Put { key, value: key, ttl: None }, 0);
        }
        expected_hits += hit as u64;
        actual_hits += (actual == b'1') as u64;
        if first_difference.is_none() && hit != (actual == b'1') {
            first_difference = Some((n, key, hit));
        }
    }
    let ratio = |h: u64| 100.0 * h as f64 / keys.len().max(1) as f64;
    match first_difference {
        None if hits.len() == keys.len() => Judgement::Pass {
            note: Some(format!("hit ratio {:.2}%, exactly LRU's over {} requests", ratio(actual_hits), keys.len())),
        },
        None => {
            Judgement::Fail(Failure::new(format!("the trace stopped after {} of {} requests", hits.len(), keys.len())))
        }
        Some((n, key, hit)) => {
            let mut failure = Failure::new(format!(
                "{} Zipf requests, cache-aside: get(key), then put(key, key) on a miss",
                keys.len()
            ));
            failure.expected = format!("hits: {expected_hits} ({:.2}%)\n", ratio(expected_hits));
            failure.actual = format!("hits: {actual_hits} ({:.2}%)\n", ratio(actual_hits));
            failure.context = vec![format!(
                "The first difference is request {}: get({key}) {} in exact LRU but {} in yours.",
                n + 1,
                if hit { "hits" } else { "misses" },
                if hit { "missed" } else { "hit" }
            )];
            failure.hint = Some(
                "Exact LRU keeps the `capacity` most recently used keys, whatever their hash: one recency order for \
                 the whole cache, not one per shard or bucket."
                    .to_owned(),
            );
            Judgement::Fail(failure)
        }
    }
}

fn judge_tally(config: &Config, threads: u32, ops: u32, observations: &[Observation]) -> Judgement {
    let Some(tally) = observations.iter().find_map(|o| match o {
        Observation::Tally(t) => Some(t),
        _ => None,
    }) else {
        return Judgement::Fail(Failure::new("the concurrent run reported nothing"));
    };
    if let Some(message) = &tally.panic {
        return Judgement::Panic(PanicReport::new(message.clone()));
    }
    let Tally { gets, gets_found, puts, puts_replaced, removed, max_len, final_len, metrics: m, .. } = tally;
    let inserts = puts - puts_replaced;
    let expected = PartialMetrics {
        hits: Some(*gets_found),
        misses: Some(gets - gets_found),
        inserts: Some(inserts),
        replacements: Some(*puts_replaced),
        evictions: None,
        expirations: Some(0),
    };
    let summary = format!("{threads} threads × {ops} random calls on one cache at a frozen instant");
    let mut want = String::new();
    let mut got = String::new();
    for (name, e, a) in expected.fields(m) {
        let _ = writeln!(want, "{name}: {e}");
        let _ = writeln!(got, "{name}: {a}");
    }
    let live = inserts.checked_sub(m.evictions + removed);
    let _ = writeln!(
        want,
        "len() at the end: {}",
        live.map_or("inserts − evictions − removals".to_owned(), |l| l.to_string())
    );
    let _ = writeln!(got, "len() at the end: {final_len}");
    let _ = writeln!(want, "largest len() seen: at most {}", config.capacity);
    let _ = writeln!(
        got,
        "largest len() seen: {}",
        if *max_len <= config.capacity { format!("at most {}", config.capacity) } else { max_len.to_string() }
    );
    if want == got {
        return Judgement::Pass { note: Some(format!("{gets} gets, {puts} puts: every counter added up")) };
    }
    let mut failure = Failure::new(summary);
    failure.expected = want;
    failure.actual = got;
    failure.context = vec![format!(
        "The threads' own tally: {gets} gets ({gets_found} found a value), {puts} puts ({puts_replaced} replaced one), {removed} removes that found a value."
    )];
    failure.hint = Some(
        "Under contention, counters updated outside the lock (or with a load then a store) lose updates, and \
         check-then-act sequences let two threads insert the same key. Update the entry and its counters in one \
         critical section, or use fetch_add."
            .to_owned(),
    );
    Judgement::Fail(failure)
}

fn judge_histories(config: &Config, runs: u32, threads: u32, ops: u32, observations: &[Observation]) -> Judgement {
    let spec = LruSpec { capacity: config.capacity as usize };
    let (mut checked, mut unknown) = (0, 0);
    for observation in observations {
        let Observation::History { run, calls, panic } = observation else { continue };
        if let Some(message) = panic {
            return Judgement::Panic(PanicReport::new(message.clone()));
        }
        checked += 1;
        match linearizability::check(&spec, calls, NODE_BUDGET) {
            LinOutcome::Linearizable { .. } => {}
            LinOutcome::Unknown { .. } => unknown += 1,
            LinOutcome::Violation(witness) => {
                let mut failure = Failure::new(format!(
                    "run {} of {runs}: {threads} threads × {ops} calls on a fresh cache (capacity {})",
                    run + 1,
                    config.capacity
                ));
                failure.expected = "some one-at-a-time order of these calls explains every result\n".to_owned();
                failure.actual = "no order does: the calls below cannot have happened one at a time\n".to_owned();
                failure.context = linearizability::render(&witness, LinOp::describe, LinRet::describe);
                failure.hint = Some(
                    "Some call saw, or left, a half-finished state of another. Typical causes: a lookup and an \
                     insert in two separate critical sections (check-then-act), a read outside the lock, or \
                     recency updated after the lock was released."
                        .to_owned(),
                );
                return Judgement::Fail(failure);
            }
        }
    }
    if checked < runs {
        return Judgement::Fail(Failure::new(format!("only {checked} of {runs} runs reported")));
    }
    let undecided = if unknown > 0 {
        format!(" ({unknown} too tangled to decide, not counted against you)")
    } else {
        String::new()
    };
    Judgement::Pass { note: Some(format!("{runs} runs of {threads} threads were linearizable{undecided}")) }
}

fn judge_loader_once(threads: u32, observations: &[Observation]) -> Judgement {
    let Some((loads, outcomes, metrics, after)) = observations.iter().find_map(|o| match o {
        Observation::LoaderOnce { loads, outcomes, metrics, after } => Some((*loads, outcomes, metrics, after)),
        _ => None,
    }) else {
        return Judgement::Fail(Failure::new("the loader check reported nothing"));
    };
    for outcome in outcomes.iter().chain([metrics, after]) {
        if let Outcome::Panic { message } = outcome {
            return Judgement::Panic(PanicReport::new(message.clone()));
        }
    }
    let values: Vec<u64> = outcomes
        .iter()
        .filter_map(|o| if let Outcome::Loaded { value, .. } = o { Some(*value) } else { None })
        .collect();
    let all_loaded = values.len() == outcomes.len() && values.iter().all(|&v| v == 4242);
    let expected_metrics = PartialMetrics {
        hits: Some(u64::from(threads) - 1),
        misses: Some(1),
        inserts: Some(1),
        ..PartialMetrics::default()
    };
    let mut want = "loader calls: 1\nevery call returns: 4242\npeek(42) afterwards: Some(4242)\n".to_owned();
    let mut got = format!(
        "loader calls: {loads}\nevery call returns: {}\npeek(42) afterwards: {}\n",
        if all_loaded {
            "4242".to_owned()
        } else {
            outcomes.iter().map(Outcome::describe).collect::<Vec<_>>().join(", ")
        },
        after.describe()
    );
    if let Outcome::Metrics(m) = metrics {
        for (name, e, a) in expected_metrics.fields(m) {
            let _ = writeln!(want, "{name}: {e}");
            let _ = writeln!(got, "{name}: {a}");
        }
    }
    if want == got {
        return Judgement::Pass { note: Some(format!("{threads} callers, one load")) };
    }
    let mut failure = Failure::new(format!(
        "{threads} threads call get_or_insert_with(42, None, slow loader) at once on an empty cache"
    ));
    failure.expected = want;
    failure.actual = got;
    failure.hint = Some(
        "Checking for the key, loading, then inserting lets every thread that checked before the first insert run \
         the loader too. Record that a load for the key is in flight (under the lock), run the loader outside the \
         lock, and make the other callers wait for its result."
            .to_owned(),
    );
    Judgement::Fail(failure)
}

fn judge_blocking(stall: Nanos, observations: &[Observation]) -> Judgement {
    let Some((finished_during_load, others_took, loader_call, others)) = observations.iter().find_map(|o| match o {
        Observation::Blocking { finished_during_load, others_took, loader_call, others } => {
            Some((*finished_during_load, *others_took, loader_call, others))
        }
        _ => None,
    }) else {
        return Judgement::Fail(Failure::new("the blocking check reported nothing"));
    };
    for outcome in others.iter().chain([loader_call]) {
        if let Outcome::Panic { message } = outcome {
            return Judgement::Panic(PanicReport::new(message.clone()));
        }
    }
    // Key 1 is still loading, so only key 2 is live.
    let expected_others = [Outcome::Value(None), Outcome::Value(Some(22)), Outcome::Len(1)];
    let describe = |outcomes: &[Outcome]| outcomes.iter().map(Outcome::describe).collect::<Vec<_>>().join(", ");
    let want = format!(
        "put(2, 22, None), get(2), len() finish while the loader for key 1 runs\nthey return: {}\nthe stalled call returns: 1111\n",
        describe(&expected_others)
    );
    let loader_value = match loader_call {
        Outcome::Loaded { value, .. } => value.to_string(),
        other => other.describe(),
    };
    let got = format!(
        "put(2, 22, None), get(2), len() {}\nthey return: {}\nthe stalled call returns: {loader_value}\n",
        if finished_during_load {
            "finish while the loader for key 1 runs".to_owned()
        } else {
            format!("waited for the loader (it gave up after {stall})")
        },
        describe(others)
    );
    if want == got {
        return Judgement::Pass {
            note: Some(format!("other keys answered in {:.2} ms during a load", others_took as f64 / 1e6)),
        };
    }
    let mut failure =
        Failure::new("get_or_insert_with(1, None, loader) stalls in its loader while another thread uses key 2");
    failure.expected = want;
    failure.actual = got;
    failure.hint = Some(
        "Never hold the cache's lock while the loader runs: a slow backend would stall every caller. Release it, \
         load, then lock again to insert."
            .to_owned(),
    );
    Judgement::Fail(failure)
}

fn judge_timing(threads: u32, max_ratio: f64, observations: &[Observation]) -> Judgement {
    let Some((learner, reference, learner_hits, reference_hits)) = observations.iter().find_map(|o| match o {
        Observation::Timing { learner_nanos, reference_nanos, learner_hits, reference_hits } => {
            Some((learner_nanos, reference_nanos, *learner_hits, *reference_hits))
        }
        _ => None,
    }) else {
        return Judgement::Fail(Failure::new("the performance check reported nothing"));
    };
    // One thread replays the same requests in the same order, so exact LRU's hits are fixed.
    if threads == 1 && learner_hits != reference_hits {
        let mut failure = Failure::new("the performance workload must hit exactly as often as the reference");
        failure.expected = format!("hits: {reference_hits}");
        failure.actual = format!("hits: {learner_hits}");
        return Judgement::Fail(failure);
    }
    crate::timing::compare(
        learner,
        reference,
        max_ratio,
        "Look for work that grows with the number of entries on every call (scanning a list to find the least \
         recently used, cloning, sorting) or for a lock held while doing slow work.",
    )
}
