//! The parent side: compares each step's outcome with the author's expectations and the
//! conservation identity, and runs the history's property checks on the concurrent runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::history::{self, Run};
use super::observation::{Dead, EventKind, Observation, Outcome, Stats};
use super::script::{Action, Check, Config, DeadExpect, PartialStats, Reason, Scenario, Script, Settled, Step};
use super::storm::POISON;
use crate::judgement::{Failure, Judgement, PanicReport};
use crate::Nanos;

/// The step or phase that started but never reported: what a timeout or crash interrupted.
pub fn interrupted(scenario: &Scenario, observations: &[Observation]) -> Option<String> {
    let steps: &[Step] = match &scenario.script {
        Script::Steps(steps) => steps,
        Script::Check(_) => &[],
    };
    crate::scenario::interrupted(observations, |index| steps.get(index).map(Step::describe))
}

impl Step {
    /// What the step does, as a learner would write it.
    pub fn describe(&self) -> String {
        self.action.describe()
    }
}

/// Judges one scenario from its observations, in the order the worker sent them.
pub fn judge(scenario: &Scenario, _seed: u64, observations: &[Observation]) -> Judgement {
    let config = &scenario.config;
    match &scenario.script {
        Script::Steps(steps) => judge_steps(config, steps, observations),
        Script::Check(Check::Performance { max_ratio, .. }) => judge_timing(*max_ratio, observations),
        Script::Check(check) => judge_history(config, check, observations),
    }
}

fn judge_steps(config: &Config, steps: &[Step], observations: &[Observation]) -> Judgement {
    let mut enqueued = 0u64;
    let mut ids: BTreeMap<u64, String> = BTreeMap::new();
    for (index, step) in steps.iter().enumerate() {
        let Some((at, outcome)) = observations.iter().find_map(|o| match o {
            Observation::Step { index: i, at, outcome } if *i == index => Some((*at, outcome)),
            _ => None,
        }) else {
            return Judgement::Fail(Failure::new(format!("step {} never reported a result", index + 1)));
        };
        if let Outcome::Panic { message } = outcome {
            return Judgement::Panic(PanicReport::new(message.clone())).located(index + 1, at);
        }
        if let Outcome::Enqueued(id) = outcome {
            enqueued += 1;
            if let Action::Enqueue { payload, .. } = &step.action {
                ids.insert(*id, payload.clone());
            }
        }
        if let Some(mut failure) = compare(config, &step.action, outcome, enqueued, &ids) {
            failure.summary = step.describe();
            return Judgement::Fail(failure).located(index + 1, at);
        }
    }
    Judgement::Pass { note: None }
}

fn lines(pairs: &[(String, String)]) -> (String, String) {
    let (mut want, mut got) = (String::new(), String::new());
    for (w, g) in pairs {
        let _ = writeln!(want, "{w}");
        let _ = writeln!(got, "{g}");
    }
    (want, got)
}

fn compare(config: &Config, action: &Action, outcome: &Outcome, enqueued: u64, ids: &BTreeMap<u64, String>) -> Option<Failure> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let hint: String;
    match (action, outcome) {
        (Action::Enqueue { expect, .. }, Outcome::Enqueued(id)) => {
            if let Some(e) = expect.filter(|e| e != id) {
                pairs.push((format!("returns id {e}"), format!("returns id {id}")));
            }
            hint = "Ids are 1, 2, 3… in enqueue order.".to_owned();
        }
        (Action::Receive { expect, attempts, .. }, Outcome::Received(got)) => {
            let payloads: Vec<String> = got.iter().map(|d| d.payload.clone()).collect();
            if let Some(expect) = expect.as_ref().filter(|e| **e != payloads) {
                pairs.push((format!("delivers: {}", list(expect)), format!("delivers: {}", list(&payloads))));
            }
            let got_attempts: Vec<u32> = got.iter().map(|d| d.attempt).collect();
            if let Some(a) = attempts.as_ref().filter(|a| **a != got_attempts) {
                pairs.push((format!("attempts: {a:?}"), format!("attempts: {got_attempts:?}")));
            }
            for d in got {
                if ids.get(&d.id).is_some_and(|p| *p != d.payload) {
                    pairs.push((format!("message {} carries {:?}", d.id, ids[&d.id]), format!("message {} carries {:?}", d.id, d.payload)));
                }
            }
            hint = format!(
                "receive returns available messages in the order they became available, ties by id. A delivery at t is leased while now < t + {vt} (visibility_timeout); a retry is available from its nack + backoff; an expired lease's message from the instant it expired, with attempt + 1.",
                vt = config.visibility_timeout
            );
        }
        (Action::Ack { expect: Some(e), .. } | Action::Nack { expect: Some(e), .. }, Outcome::Settled(ok)) => {
            let got = if *ok { Settled::Ok } else { Settled::Stale };
            if got != *e {
                let show = |s: Settled| match s {
                    Settled::Ok => "Ok(())",
                    Settled::Stale => "Err(StaleLease)",
                };
                pairs.push((format!("returns {}", show(*e)), format!("returns {}", show(got))));
            }
            hint = "Only the token of the message's current lease settles it, and only while now < leased_at + visibility_timeout; an expired, used or superseded token is stale and changes nothing.".to_owned();
        }
        (Action::DeadLetters { expect: Some(expect) }, Outcome::DeadLetters(got)) => {
            compare_dead(expect, got, &mut pairs);
            hint = "The dead-letter queue lists messages oldest dead first, each with its payload unchanged, the reason, its deliveries since it was enqueued or redriven, the last error (a nack's message, or \"lease expired\"), and the virtual times of its first failure and its death.".to_owned();
        }
        (Action::Redrive { expect: Some(e), .. }, Outcome::Redriven(moved)) => {
            if moved != e {
                pairs.push((format!("moves {e}"), format!("moves {moved}")));
            }
            hint = "redrive moves each listed dead letter back once (available now, attempts reset) and ignores ids not in the dead-letter queue.".to_owned();
        }
        (Action::Stats { expect }, Outcome::Stats(s)) => {
            let checked = fields(expect, s);
            if checked.iter().any(|(_, e, a)| e != a) {
                pairs.extend(checked.iter().map(|(name, e, a)| (format!("{name}: {e}"), format!("{name}: {a}"))));
            } else if s.accounted() != enqueued {
                pairs.push((
                    format!("ready + delayed + in_flight + dead + acked: {enqueued} (messages enqueued)"),
                    format!("ready + delayed + in_flight + dead + acked: {}", s.accounted()),
                ));
            }
            hint = "Every message is in exactly one state at every instant: ready (available now), delayed (available later), in_flight (leased now), dead, or acked. Count lapsed leases as of now, even before any receive.".to_owned();
        }
        _ => return None,
    }
    if pairs.is_empty() {
        return None;
    }
    let (expected, actual) = lines(&pairs);
    let mut failure = Failure::new("");
    failure.expected = expected;
    failure.actual = actual;
    failure.hint = Some(hint);
    Some(failure)
}

fn list(payloads: &[String]) -> String {
    if payloads.is_empty() {
        return "nothing".to_owned();
    }
    payloads.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(", ")
}

fn compare_dead(expect: &[DeadExpect], got: &[Dead], pairs: &mut Vec<(String, String)>) {
    let names: Vec<String> = got.iter().map(|d| d.payload.clone()).collect();
    let wanted: Vec<String> = expect.iter().map(|e| e.payload.clone()).collect();
    if names != wanted {
        pairs.push((format!("dead letters: {}", list(&wanted)), format!("dead letters: {}", list(&names))));
        return;
    }
    for (e, d) in expect.iter().zip(got) {
        let p = &e.payload;
        let reason = |rejected: bool| if rejected { "Rejected" } else { "MaxAttempts" };
        if let Some(r) = e.reason {
            let want = r == Reason::Rejected;
            if want != d.rejected {
                pairs.push((format!("{p:?}: reason {}", reason(want)), format!("{p:?}: reason {}", reason(d.rejected))));
            }
        }
        if let Some(a) = e.attempts.filter(|a| *a != d.attempts) {
            pairs.push((format!("{p:?}: attempts {a}"), format!("{p:?}: attempts {}", d.attempts)));
        }
        if let Some(err) = e.last_error.as_ref().filter(|err| **err != d.last_error) {
            pairs.push((format!("{p:?}: last_error {err:?}"), format!("{p:?}: last_error {:?}", d.last_error)));
        }
        if let Some(t) = e.first_failure_at.filter(|t| *t != d.first_failure_at) {
            pairs.push((format!("{p:?}: first_failure_at t={t}"), format!("{p:?}: first_failure_at t={}", d.first_failure_at)));
        }
        if let Some(t) = e.dead_at.filter(|t| *t != d.dead_at) {
            pairs.push((format!("{p:?}: dead_at t={t}"), format!("{p:?}: dead_at t={}", d.dead_at)));
        }
        if !d.payload_intact {
            pairs.push((format!("{p:?}: the payload as enqueued"), format!("{p:?}: other bytes ({:?})", d.payload)));
        }
    }
}

/// `(name, expected, actual)` for each counter a `stats` step checks.
fn fields(expect: &PartialStats, actual: &Stats) -> Vec<(&'static str, u64, u64)> {
    let wanted = [expect.ready, expect.delayed, expect.in_flight, expect.dead, expect.acked, expect.retried];
    actual.fields().into_iter().zip(wanted).filter_map(|((name, a), e)| e.map(|e| (name, e, a))).collect()
}

/// Judges each run's history in turn: the first that fails fails the scenario.
fn judge_history(config: &Config, check: &Check, observations: &[Observation]) -> Judgement {
    let histories: Vec<&Observation> = observations.iter().filter(|o| matches!(o, Observation::History { .. })).collect();
    let (runs, expected) = match *check {
        Check::FaultStorm { runs, .. } | Check::NoFailure { runs, .. } => (histories.len(), runs as usize),
        Check::Poison { .. } | Check::Performance { .. } => (histories.len(), 1),
    };
    if runs < expected {
        // The worker reports each run as it ends: fewer means it stopped without saying why.
        return Judgement::Fail(Failure::new(format!("the check reported {runs} of its {expected} runs")));
    }
    let mut last = None;
    for (run, history) in histories.into_iter().enumerate() {
        match judge_run(config, check, history) {
            Judgement::Fail(mut failure) if runs > 1 => {
                failure.summary = format!("run {} of {runs}: {}", run + 1, failure.summary);
                return Judgement::Fail(failure);
            }
            Judgement::Pass { note } => last = note,
            other => return other,
        }
    }
    let note = last.map(|note| if runs > 1 { format!("{runs} runs; the last: {note}") } else { note });
    Judgement::Pass { note }
}

fn judge_run(config: &Config, check: &Check, history: &Observation) -> Judgement {
    let Observation::History { events, enqueued, bad_sample, stats, dead, rounds, panic } = history else {
        unreachable!("judge_history passes histories only")
    };
    if let Some(message) = panic {
        return Judgement::Panic(PanicReport::new(message.clone()));
    }
    let end = match check {
        Check::FaultStorm { step, .. } => Nanos(rounds.saturating_sub(1) as u64 * step.0),
        _ => events.iter().map(|e| e.at).max().unwrap_or_default(),
    };
    let run = Run { config, events, enqueued: *enqueued, bad_sample: *bad_sample, stats: *stats, dead, end };
    let summary = match check {
        Check::FaultStorm { messages, consumers, .. } => format!("the fault storm: {messages} messages, {consumers} consumers, {rounds} rounds"),
        Check::NoFailure { messages, consumers, .. } => format!("{consumers} consumers acking every delivery of {messages} messages"),
        Check::Poison { good } => format!("one consumer; a poison message ahead of {good} good ones"),
        Check::Performance { .. } => unreachable!("judged by timing"),
    };
    if let Err(broken) = history::check(&run) {
        return Judgement::Fail(history::failure(&run, broken, &summary));
    }
    match check {
        Check::NoFailure { .. } => {
            if let Some(e) = events.iter().find(|e| matches!(e.kind, EventKind::Delivered { attempt, .. } if attempt > 1)) {
                let mut failure = Failure::new(summary);
                failure.expected = "every message delivered exactly once\n".to_owned();
                failure.actual = format!("message {} was delivered again (attempt > 1)\n", e.id);
                return Judgement::Fail(failure);
            }
        }
        Check::Poison { .. } => {
            let late = events.iter().find(|e| matches!(e.kind, EventKind::Ack { ok: true, .. }) && e.at > Nanos(0));
            if let Some(e) = late {
                let mut failure = Failure::new(summary);
                failure.expected = "every good message acked at t=0s, while the poison message waits out its backoff\n".to_owned();
                failure.actual = format!("message {} was acked only at t={}\n", e.id, e.at);
                failure.hint = Some("A retry waiting for its backoff must not block messages behind it: receive takes whatever is available now, in the order it became available, skipping what is not.".to_owned());
                return Judgement::Fail(failure);
            }
            if !dead.iter().any(|d| d.payload.as_bytes() == POISON) {
                return Judgement::Fail(Failure::new("the poison message never reached the dead-letter queue"));
            }
        }
        Check::FaultStorm { .. } | Check::Performance { .. } => {}
    }
    let deliveries = events.iter().filter(|e| matches!(e.kind, EventKind::Delivered { .. })).count();
    Judgement::Pass { note: Some(format!("{enqueued} messages, {deliveries} deliveries, every property held")) }
}

fn judge_timing(max_ratio: f64, observations: &[Observation]) -> Judgement {
    let timing = observations.iter().find_map(|o| match o {
        Observation::Timing { learner_nanos, reference_nanos, panic } => {
            Some((&learner_nanos[..], &reference_nanos[..], panic.as_ref()))
        }
        _ => None,
    });
    crate::timing::judge(
        timing,
        max_ratio,
        "Profile before guessing. Usual costs: scanning every message (acked ones included) to find the next available one, a clock read or allocation per message instead of per call, a BTreeMap where a VecDeque of messages available now would do, and locking once per message in a batch.",
    )
}
