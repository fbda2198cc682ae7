//! The parent side: compares what the worker observed with what the scenario expects, and
//! explains each failure in terms a learner can act on. Only the parent process runs this.

use std::fmt::Write as _;

use super::model::Model;
use super::{
    trace, AcquireExpect, Check, ExpectedError, Observation, Observed, Op, Outcome, Round, Scenario, Script, Step,
};
use crate::host::EPOCH;
use crate::judgement::{Failure, Judgement, PanicReport};
use crate::Nanos;

/// The step that started but never reported, described: what a timeout or crash interrupted.
pub fn interrupted(scenario: &Scenario, observations: &[Observation]) -> Option<String> {
    let Script::Steps(steps) = &scenario.script else { return None };
    crate::scenario::interrupted(observations, |index| steps.get(index).map(|s| s.op.describe()))
}

/// Judges one scenario from its observations, in the order the worker sent them.
pub fn judge(scenario: &Scenario, seed: u64, observations: &[Observation]) -> Judgement {
    match &scenario.script {
        Script::Steps(steps) => judge_steps(steps, observations),
        Script::Check(Check::ConcurrentFrozen { threads, rounds, .. }) => judge_rounds(*threads, *rounds, observations),
        Script::Check(Check::Differential { ops, keys, max_gap, max_cost }) => {
            let calls = trace::differential(&scenario.config, seed, *ops, *keys, max_gap.0, *max_cost);
            judge_trace(scenario, &calls, observations)
        }
        Script::Check(Check::Performance { max_ratio, .. }) => judge_timing(*max_ratio, observations),
    }
}

fn judge_steps(steps: &[Step], observations: &[Observation]) -> Judgement {
    let mut clock_moved = false;
    for (index, step) in steps.iter().enumerate() {
        clock_moved |= step.at.is_some_and(|at| at > Nanos(0));
        let Some((at, observed)) = observations.iter().find_map(|o| match o {
            Observation::Step { index: i, at, observed } if *i == index => Some((*at, observed)),
            _ => None,
        }) else {
            return Judgement::Fail(Failure::new(format!("step {} never reported a result", index + 1)));
        };
        let step_no = index + 1;
        if let Some(judgement) = judge_step(&step.op, observed, clock_moved) {
            return judgement.located(step_no, at);
        }
    }
    Judgement::Pass { note: None }
}

fn judge_step(op: &Op, observed: &Observed, clock_moved: bool) -> Option<Judgement> {
    if let Observed::Panic { message } = observed {
        return Some(Judgement::Panic(PanicReport::new(message.clone())));
    }
    match (op, observed) {
        (Op::Acquire { key, cost, repeat, expect }, Observed::Calls(outcomes)) => {
            for (n, outcome) in outcomes.iter().enumerate() {
                if let Outcome::Panic { message } = outcome {
                    return Some(Judgement::Panic(PanicReport::new(message.clone())));
                }
                if let Some(mut failure) = compare_decision(expect, outcome) {
                    failure.summary = format!("try_acquire({key:?}, {cost}){}", call_of(n, *repeat));
                    if expect.allowed == Some(true) && !outcome.allowed() && clock_moved {
                        failure.hint = Some(REAL_CLOCK_HINT.to_owned());
                    }
                    return Some(Judgement::Fail(failure));
                }
            }
            None
        }
        (Op::Burst { key, cost, expect, .. }, Observed::Admitted { admitted, calls }) => count_failure(
            format!("{calls} calls of try_acquire({key:?}, {cost}) at one instant"),
            expect.admitted,
            *admitted,
        ),
        (Op::Poll { key, cost, every, until, expect }, Observed::Admitted { admitted, calls }) => count_failure(
            format!("{calls} calls of try_acquire({key:?}, {cost}), one every {every} for {until}"),
            expect.admitted,
            *admitted,
        ),
        (Op::FillKeys { count, prefix, cost, expect }, Observed::Admitted { admitted, .. }) => count_failure(
            format!("try_acquire on {count} fresh keys \"{prefix}0\"… with cost {cost}"),
            expect.as_ref()?.admitted,
            *admitted,
        ),
        (Op::Cleanup {}, Observed::CleanedUp) => None,
        (Op::TrackedKeys { expect }, Observed::Keys(keys)) => (expect.keys != *keys).then(|| {
            let mut failure = Failure::new("tracked_keys()");
            failure.expected = format!("keys: {}", expect.keys);
            failure.actual = format!("keys: {keys}");
            failure.hint = Some(
                "cleanup() must forget every key whose remaining budget is back to the full limit, and keep the others."
                    .to_owned(),
            );
            Judgement::Fail(failure)
        }),
        (op, observed) => Some(Judgement::Fail(Failure::new(format!(
            "the worker answered {observed:?} to {op:?}; this is a grader bug, please report it"
        )))),
    }
}

const REAL_CLOCK_HINT: &str = "Virtual time moved forward before this call. If your limiter reads \
std::time::Instant or SystemTime instead of the Clock passed to new(), it never sees time pass.";

fn call_of(n: usize, repeat: u64) -> String {
    if repeat > 1 {
        format!(", call {} of {repeat}", n + 1)
    } else {
        String::new()
    }
}

fn count_failure(summary: String, expected: u64, admitted: u64) -> Option<Judgement> {
    (expected != admitted).then(|| {
        let mut failure = Failure::new(summary);
        failure.expected = format!("admitted: {expected}");
        failure.actual = format!("admitted: {admitted}");
        Judgement::Fail(failure)
    })
}

/// Renders the fields `expect` names, from `outcome`; `None` when they all match.
fn compare_decision(expect: &AcquireExpect, outcome: &Outcome) -> Option<Failure> {
    let expected = render_expected(expect);
    let actual = render_actual(expect, outcome);
    (expected != actual).then(|| {
        let mut failure = Failure::new(String::new());
        failure.expected = expected;
        failure.actual = actual;
        failure
    })
}

fn render_expected(expect: &AcquireExpect) -> String {
    let mut out = String::new();
    if let Some(ExpectedError::CostExceedsCapacity) = expect.error {
        out.push_str("Err(CostExceedsCapacity)\n");
    }
    if let Some(allowed) = expect.allowed {
        let _ = writeln!(out, "allowed: {allowed}");
    }
    if let Some(remaining) = expect.remaining {
        let _ = writeln!(out, "remaining: {remaining}");
    }
    if let Some(retry) = expect.retry_after {
        let _ = writeln!(out, "retry_after: {retry}");
    }
    if let Some(reset) = expect.reset_after {
        let _ = writeln!(out, "reset_after: {reset}");
    }
    out
}

/// The same fields as `render_expected`, read from what came back. An unexpected error or an
/// unexpected decision is shown whole.
fn render_actual(expect: &AcquireExpect, outcome: &Outcome) -> String {
    let wants_error = expect.error.is_some();
    match outcome {
        Outcome::CostExceedsCapacity => "Err(CostExceedsCapacity)\n".to_owned(),
        Outcome::Decision { allowed, remaining, retry_after, reset_after } => {
            let all = !wants_error
                && expect.allowed.is_none()
                && expect.remaining.is_none()
                && expect.retry_after.is_none()
                && expect.reset_after.is_none();
            if all {
                return String::new();
            }
            let mut out = String::new();
            if wants_error || expect.allowed.is_some() {
                let _ = writeln!(out, "allowed: {allowed}");
            }
            if wants_error || expect.remaining.is_some() {
                let _ = writeln!(out, "remaining: {remaining}");
            }
            if wants_error || expect.retry_after.is_some() {
                let _ = writeln!(out, "retry_after: {retry_after}");
            }
            if wants_error || expect.reset_after.is_some() {
                let _ = writeln!(out, "reset_after: {reset_after}");
            }
            out
        }
        Outcome::Panic { message } => format!("panic: {message}\n"),
    }
}

fn render_outcome(outcome: &Outcome) -> String {
    let all = AcquireExpect {
        allowed: Some(true),
        remaining: Some(0),
        retry_after: Some(Nanos(0)),
        reset_after: Some(Nanos(0)),
        error: None,
    };
    render_actual(&all, outcome)
}

fn judge_rounds(threads: u32, rounds: u32, observations: &[Observation]) -> Judgement {
    let rounds_seen: Vec<&Round> = observations
        .iter()
        .filter_map(|o| match o {
            Observation::Round(r) => Some(r),
            _ => None,
        })
        .collect();
    for (n, round) in rounds_seen.iter().enumerate() {
        if let Some(message) = &round.panic {
            return Judgement::Panic(PanicReport::new(message.clone()));
        }
        let expected = round.budget.min(round.calls);
        let location = format!("round {} of {rounds}", n + 1);
        if round.admitted != expected {
            let mut failure = Failure::new(format!(
                "{threads} threads made {} calls at one frozen instant with {} permits left ({location})",
                round.calls, round.budget
            ));
            failure.expected = format!("admitted: {expected}");
            failure.actual = format!("admitted: {}", round.admitted);
            failure.hint = Some(if round.admitted > expected {
                "More calls were allowed than the budget holds: a check-then-act race. Read and update a key's \
                 state under one lock (or in one compare-and-swap loop), never in two steps."
                    .to_owned()
            } else {
                "Fewer calls were allowed than the budget holds: a lost update or a denial that consumed \
                 permits under contention."
                    .to_owned()
            });
            return Judgement::Fail(failure);
        }
        if let (Some(start), Some(end)) = (round.last_admitted_start, round.first_denied_end) {
            if start > end {
                let mut failure = Failure::new(format!(
                    "{threads} threads at one frozen instant ({location}): a call was allowed although it began after another call had already been denied"
                ));
                failure.expected = "no call allowed after a denial at the same instant".to_owned();
                failure.actual = "a later call was allowed".to_owned();
                failure.hint = Some("The decisions are not linearizable: some thread saw a stale count.".to_owned());
                return Judgement::Fail(failure);
            }
        }
    }
    if rounds_seen.len() < rounds as usize {
        return Judgement::Fail(Failure::new(format!("only {} of {rounds} rounds reported", rounds_seen.len())));
    }
    Judgement::Pass { note: Some(format!("{rounds} rounds of {threads} threads")) }
}

fn judge_trace(scenario: &Scenario, calls: &[trace::TracedCall], observations: &[Observation]) -> Judgement {
    let Some(outcomes) = observations.iter().find_map(|o| match o {
        Observation::Trace { outcomes } => Some(outcomes),
        _ => None,
    }) else {
        return Judgement::Fail(Failure::new("the differential trace reported nothing"));
    };
    let mut model = Model::new(scenario.config);
    for (n, (call, actual)) in calls.iter().zip(outcomes).enumerate() {
        let key = format!("user-{}", call.key);
        let expected = model.acquire(&key, call.cost, EPOCH + call.at);
        if let Outcome::Panic { message } = actual {
            return Judgement::Panic(PanicReport { step: None, at: Some(Nanos(call.at)), message: message.clone() });
        }
        if *actual != expected {
            let mut failure =
                Failure::new(format!("call {} of {}: try_acquire({key:?}, {})", n + 1, calls.len(), call.cost));
            failure.at = Some(Nanos(call.at));
            failure.expected = render_outcome(&expected);
            failure.actual = render_outcome(actual);
            failure.context = history(calls, n, call.key);
            return Judgement::Fail(failure);
        }
    }
    if outcomes.len() < calls.len() {
        return Judgement::Fail(Failure::new(format!(
            "the trace stopped after {} of {} calls",
            outcomes.len(),
            calls.len()
        )));
    }
    Judgement::Pass { note: Some(format!("{} calls matched the model", calls.len())) }
}

/// The last few calls on the same key before call `n`, so the learner can replay the failure.
fn history(calls: &[trace::TracedCall], n: usize, key: u32) -> Vec<String> {
    let earlier: Vec<String> = calls[..n]
        .iter()
        .filter(|c| c.key == key)
        .map(|c| format!("t={} try_acquire(\"user-{}\", {})", Nanos(c.at), c.key, c.cost))
        .collect();
    let skip = earlier.len().saturating_sub(6);
    let mut lines: Vec<String> = earlier.into_iter().skip(skip).collect();
    if skip > 0 {
        lines.insert(0, format!("… {skip} earlier calls on this key"));
    }
    if !lines.is_empty() {
        lines.insert(0, "earlier calls on this key:".to_owned());
    }
    lines
}

fn judge_timing(max_ratio: f64, observations: &[Observation]) -> Judgement {
    let Some((learner, reference, learner_admitted, reference_admitted)) = observations.iter().find_map(|o| match o {
        Observation::Timing { learner_nanos, reference_nanos, learner_admitted, reference_admitted } => {
            Some((learner_nanos, reference_nanos, *learner_admitted, *reference_admitted))
        }
        _ => None,
    }) else {
        return Judgement::Fail(Failure::new("the performance check reported nothing"));
    };
    if learner_admitted != reference_admitted {
        let mut failure = Failure::new("the performance workload must make the same decisions as the reference");
        failure.expected = format!("admitted: {reference_admitted}");
        failure.actual = format!("admitted: {learner_admitted}");
        return Judgement::Fail(failure);
    }
    crate::timing::compare(
        learner,
        reference,
        max_ratio,
        "Look for work that grows with the number of keys or with history on every call: scans, sorting, \
         cloning maps, or one global lock held across slow work.",
    )
}
