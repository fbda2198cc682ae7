//! The parent side: compares what the worker observed with the scenario's expectations, the
//! brief's identities and the host's ledger, and explains each failure in terms a learner can
//! act on.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::factory::CONNECT_FAILURE;
use super::observation::{Audit, HostCounts, Observation, Outcome, PoolError, Stats};
use super::script::{AcquireExpect, Action, Check, Config, Identity, PartialStats, Scenario, Script, Step};
use crate::judgement::{Failure, Judgement, PanicReport};
use crate::Nanos;

const MS: u64 = 1_000_000;

/// The step or phase that started but never reported: what a timeout or crash interrupted.
pub fn interrupted(scenario: &Scenario, observations: &[Observation]) -> Option<String> {
    let steps: &[Step] = match &scenario.script {
        Script::Steps(steps) => steps,
        Script::Check(_) => &[],
    };
    crate::scenario::interrupted(observations, |index| steps.get(index).map(Step::describe))
}

/// Judges one scenario from its observations, in the order the worker sent them.
pub fn judge(scenario: &Scenario, _seed: u64, observations: &[Observation]) -> Judgement {
    let config = &scenario.config;
    let verdict = match &scenario.script {
        Script::Steps(steps) => judge_steps(config, steps, observations),
        Script::Check(Check::Performance { max_ratio, .. }) => return judge_timing(*max_ratio, observations),
        Script::Check(check) => judge_cases(config, check, observations),
    };
    verdict.unwrap_or(Judgement::Pass { note: None })
}

fn fail(failure: Failure) -> Option<Judgement> {
    Some(Judgement::Fail(failure))
}

fn panic(message: &str) -> Option<Judgement> {
    Some(Judgement::Panic(PanicReport::new(message)))
}

fn counts(host: &HostCounts) -> String {
    format!(
        "the factory's own count: {} open ({} lent), {} opened, {} closed, at most {} open or opening at once",
        host.alive, host.lent, host.created, host.closed, host.peak
    )
}

/// Rules the host saw broken.
fn violations(found: &[String], summary: &str) -> Option<Failure> {
    let first = found.first()?;
    let mut failure = Failure::new(summary);
    failure.expected = "every connection the pool lends is open, unbroken, clean, within its lifetime and lent to one caller at a time; never more than max-size open or opening\n".to_owned();
    failure.actual = format!("{first}\n");
    failure.context.extend(found.iter().skip(1).take(3).map(|v| format!("also: {v}")));
    failure.hint = Some(hint_for_violation(first).to_owned());
    Some(failure)
}

fn hint_for_violation(v: &str) -> &'static str {
    if v.contains("above max-size") {
        "Reserve room under the lock before you call connect (count connections being opened), and give it back if the connect fails. Checking `open < max_size`, unlocking, connecting and only then counting lets several threads pass the check at once."
    } else if v.contains("transaction still open") {
        "A borrower that panics leaves its connection in an unknown state. In your guard's Drop, check std::thread::panicking() and close the connection instead of returning it (count it as closed_broken)."
    } else if v.contains("another caller") {
        "A connection must be lent to one caller at a time: hand it from the idle set or directly to one waiter, never both."
    } else if v.contains("broken") {
        "On return, ask Connection::is_broken(): a broken connection must be closed, never put back."
    } else if v.contains("max-lifetime") {
        "Compare each connection's age (clock.now() - opened_at) with max_lifetime on checkout and on return: at exactly opened_at + max_lifetime it is too old."
    } else if v.contains("ping fails") {
        "With test_on_checkout, ping every idle connection before lending it (with the time left), and close it as closed_invalid if the ping fails."
    } else {
        "Close each connection exactly once, and never one a caller is still using: close lent connections only when they come back."
    }
}

/// The brief's identities, and the pool's counters against the host's, when nothing is in
/// progress.
fn audit_failure(audit: &Audit, context: &str) -> Option<Judgement> {
    if let Some(message) = &audit.panic {
        return panic(message);
    }
    if let Some(f) = violations(&audit.violations, context) {
        return fail(f);
    }
    let s = audit.stats?;
    let host = &audit.host;
    let checks = [
        (s.in_use + s.idle == s.open, "in_use + idle == open".to_owned(), format!("in_use {} + idle {} = {}, open {}", s.in_use, s.idle, s.in_use + s.idle, s.open)),
        (
            s.created.checked_sub(s.closed()) == Some(s.open),
            "created - closed == open".to_owned(),
            format!("created {} - closed {} (broken {} + invalid {} + lifetime {} + idle {} + shutdown {}), open {}", s.created, s.closed(), s.closed_broken, s.closed_invalid, s.closed_lifetime, s.closed_idle, s.closed_shutdown, s.open),
        ),
        (s.open == host.alive, format!("open: {} (the factory's count)", host.alive), format!("open: {}", s.open)),
        (s.created == host.created, format!("created: {} (the factory's count)", host.created), format!("created: {}", s.created)),
        (s.in_use == host.lent, format!("in_use: {} (connections lent and not returned)", host.lent), format!("in_use: {}", s.in_use)),
        (s.waiting == 0, "waiting: 0 (no caller is in acquire now)".to_owned(), format!("waiting: {}", s.waiting)),
    ];
    let (_, expected, actual) = checks.into_iter().find(|(ok, _, _)| !ok)?;
    let mut failure = Failure::new(format!("pool.stats() once every call had returned ({context})"));
    failure.expected = format!("{expected}\n");
    failure.actual = format!("{actual}\n");
    failure.context.push(counts(host));
    failure.hint = Some("Keep every counter under the same lock as the state it describes, and move a connection between idle and in_use, or close it, in the same critical section that counts it. The factory counts every connection itself, so a leaked or double-counted one shows.".to_owned());
    fail(failure)
}

/// After every connection came back and `close()`: nothing may be left open.
fn after_close_failure(audit: &Audit, context: &str) -> Option<Judgement> {
    if audit.host.alive > 0 {
        let mut failure = Failure::new(format!("every connection returned, then pool.close() ({context})"));
        failure.expected = "connections still open: 0\n".to_owned();
        failure.actual = format!("connections still open: {}\n", audit.host.alive);
        failure.context.push(counts(&audit.host));
        failure.hint = Some("close() must close every idle connection at once, and a connection returned after close() must be closed on return. A connection open now was leaked: lost by the pool while still open (a handoff to a waiter that had already left, an error path that forgot it).".to_owned());
        return fail(failure);
    }
    audit_failure(audit, context)
}

fn judge_steps(config: &Config, steps: &[Step], observations: &[Observation]) -> Option<Judgement> {
    let mut names: BTreeMap<&str, u64> = BTreeMap::new();
    for (index, step) in steps.iter().enumerate() {
        let Some((at, outcome, host, found)) = observations.iter().find_map(|o| match o {
            Observation::Step { index: i, at, outcome, host, violations } if *i == index => {
                Some((*at, outcome, host, violations))
            }
            _ => None,
        }) else {
            return fail(Failure::new(format!("step {} never reported a result", index + 1)));
        };
        let located = |j: Judgement| Some(j.located(index + 1, at));
        if let Outcome::Panic { message } = outcome {
            return located(Judgement::Panic(PanicReport::new(message.clone())));
        }
        // The ledger first: a rule it saw broken explains the step better than what came back.
        let mut failure = violations(found, &step.describe()).or_else(|| compare(config, &step.action, outcome, host, &names));
        if let Some(f) = failure.as_mut() {
            f.context.push(counts(host));
            return located(Judgement::Fail(failure.take().expect("just matched")));
        }
        if let (Action::Acquire { name, .. }, Outcome::Acquired { id, .. }) = (&step.action, outcome) {
            names.insert(name, *id);
        }
    }
    let closed = observations.iter().find_map(|o| match o {
        Observation::Closed(audit) => Some(audit),
        _ => None,
    })?;
    after_close_failure(closed, "after the last step")
}

fn compare(config: &Config, action: &Action, outcome: &Outcome, host: &HostCounts, names: &BTreeMap<&str, u64>) -> Option<Failure> {
    let mut want = String::new();
    let mut got = String::new();
    let hint: &str;
    match (action, outcome) {
        (Action::Acquire { expect, identity, timeout, .. }, outcome) => {
            let kind = |o: &Outcome| match o {
                Outcome::Acquired { .. } => AcquireExpect::Ok,
                Outcome::Refused { error: PoolError::Timeout, .. } => AcquireExpect::Timeout,
                Outcome::Refused { error: PoolError::Closed, .. } => AcquireExpect::Closed,
                _ => AcquireExpect::Factory,
            };
            if let Some(expect) = expect {
                if kind(outcome) != *expect {
                    let _ = writeln!(want, "returns: {expect}");
                    let _ = writeln!(got, "returns: {}", outcome.describe());
                }
            }
            if let (Some(AcquireExpect::Factory), Outcome::Refused { error: PoolError::Factory(m), .. }) = (expect, outcome) {
                if m != CONNECT_FAILURE {
                    let _ = writeln!(want, "message: {CONNECT_FAILURE:?}");
                    let _ = writeln!(got, "message: {m:?}");
                }
            }
            if let (Some(AcquireExpect::Timeout), Some(took)) = (expect, outcome.took()) {
                let limit = timeout.unwrap_or(config.acquire_timeout);
                if took.0 + MS < limit.0 {
                    let _ = writeln!(want, "gives up no earlier than: {limit}");
                    let _ = writeln!(got, "gave up after: {took}");
                }
            }
            if let (Some(identity), Outcome::Acquired { id, fresh, .. }) = (identity, outcome) {
                match identity {
                    Identity::SameAs(name) => {
                        let other = names.get(name.as_str()).copied().unwrap_or(0);
                        if *id != other {
                            let _ = writeln!(want, "connection: {other} (the one {name} had)");
                            let _ = writeln!(got, "connection: {id}");
                        }
                    }
                    Identity::Fresh if !fresh => {
                        let _ = writeln!(want, "connection: newly opened by the factory");
                        let _ = writeln!(got, "connection: {id}, opened earlier");
                    }
                    Identity::Fresh => {}
                }
            }
            hint = match (expect, identity) {
                (_, Some(Identity::SameAs(_))) => "Idle connections are reused most recently returned first (a stack): the warmest connection goes out again, and the others can age out.",
                (_, Some(Identity::Fresh)) => "This connection had to be opened now: an idle one was due to be closed (too old, broken, or its ping failed), or there was none.",
                (Some(AcquireExpect::Timeout), _) => "With max_size connections lent (or being opened), acquire must wait, and give up with PoolError::Timeout at its deadline, not before and not much after.",
                (Some(AcquireExpect::Closed), _) => "After close(), every acquire returns PoolError::Closed at once.",
                (Some(AcquireExpect::Factory), _) => "When connect fails, return PoolError::Factory with its message at once, and give back the room you reserved for it.",
                _ => "A connection should have been available here: check that returned, closed and failed connections give their room back.",
            };
        }
        (Action::Query { expect_ok: Some(ok), .. }, Outcome::Query(error)) => {
            if error.is_none() != *ok {
                let _ = writeln!(want, "{}", if *ok { "the query succeeds" } else { "the query fails" });
                let _ = writeln!(got, "{}", outcome.describe());
            }
            hint = "Each connection is its own in-memory database.";
        }
        (Action::Stats { expect }, Outcome::Stats(actual)) => {
            for (name, e, a) in fields(expect, actual) {
                let _ = writeln!(want, "{name}: {e}");
                let _ = writeln!(got, "{name}: {a}");
            }
            if want == got {
                return audit_failure(&Audit { stats: Some(*actual), panic: None, host: *host, violations: Vec::new() }, "pool.stats()").and_then(|j| match j {
                    Judgement::Fail(f) => Some(f),
                    _ => None,
                });
            }
            hint = "Count each connection exactly once, under the lock, in the same critical section that moves it: one lent is in_use, one put back is idle, one closed moves to the closed_* counter for its reason.";
        }
        _ => return None,
    }
    (want != got).then(|| {
        let mut failure = Failure::new(action.describe());
        failure.expected = want;
        failure.actual = got;
        failure.hint = Some(hint.to_owned());
        failure
    })
}

/// `(name, expected, actual)` for each counter a `stats` step checks.
fn fields(expect: &PartialStats, actual: &Stats) -> Vec<(&'static str, u64, u64)> {
    let wanted = [
        expect.open,
        expect.idle,
        expect.in_use,
        expect.waiting,
        expect.created,
        expect.closed_broken,
        expect.closed_invalid,
        expect.closed_lifetime,
        expect.closed_idle,
        expect.closed_shutdown,
        expect.timeouts,
    ];
    actual.fields().into_iter().zip(wanted).filter_map(|((name, a), e)| e.map(|e| (name, e, a))).collect()
}

/// The check's cases, in order: each must pass its own test, its audit and its after-close audit.
fn judge_cases(config: &Config, check: &Check, observations: &[Observation]) -> Option<Judgement> {
    let mut seen = 0;
    for o in observations {
        let Observation::Case { name, outcomes, facts, audit, after_close } = o else { continue };
        seen += 1;
        if let Some(message) = outcomes.iter().find_map(Outcome::panic) {
            return panic(message);
        }
        let fact = |key: &str| facts.iter().filter(|(k, _)| k == key).map(|(_, v)| *v).collect::<Vec<u64>>();
        let verdict = judge_case(config, check, name, outcomes, &fact, audit)
            .or_else(|| audit_failure(audit, name))
            .or_else(|| after_close.as_ref().and_then(|a| after_close_failure(a, name)));
        if let Some(Judgement::Fail(mut failure)) = verdict {
            failure.context.insert(0, format!("case: {name}"));
            return Some(Judgement::Fail(failure));
        }
        if verdict.is_some() {
            return verdict;
        }
    }
    (seen == 0).then(|| Judgement::Fail(Failure::new("the check reported no result")))
}

fn judge_case(config: &Config, check: &Check, name: &str, outcomes: &[Outcome], fact: &dyn Fn(&str) -> Vec<u64>, audit: &Audit) -> Option<Judgement> {
    let failure = |summary: &str, expected: String, actual: String, hint: &str| {
        let mut f = Failure::new(summary);
        f.expected = format!("{expected}\n");
        f.actual = format!("{actual}\n");
        f.hint = Some(hint.to_owned());
        fail(f)
    };
    let is_acquired = |o: &Outcome| matches!(o, Outcome::Acquired { .. });
    match *check {
        Check::Chaos { .. } => match outcomes.first() {
            Some(Outcome::Stats(s)) => failure(
                "pool.stats() sampled while threads acquired and returned",
                format!("open <= max-size {} and in_use, idle <= open", config.max_size),
                format!("open {} · in_use {} · idle {}", s.open, s.in_use, s.idle),
                "Count a connection being opened against max_size before you call connect, and keep the counters under the lock that moves connections.",
            ),
            _ => None,
        },
        Check::Deadline { timeout, tolerance } => {
            let outcome = outcomes.first()?;
            let took = outcome.took().unwrap_or_default();
            let timed_out = matches!(outcome, Outcome::Refused { error: PoolError::Timeout, .. });
            if !timed_out || took.0 + MS < timeout.0 || took.0 > timeout.0 + tolerance.0 {
                return failure(
                    &format!("acquire(Some({timeout})) when {name}"),
                    format!("Err(PoolError::Timeout) between {timeout} and {} after the call", Nanos(timeout.0 + tolerance.0)),
                    format!("{} after {took}", outcome.describe()),
                    "The timeout is one deadline for the whole call: compute it once on entry, and give connect and ping only the time left. A ping that takes the whole timeout, followed by a connect with a fresh one, takes twice as long.",
                );
            }
            None
        }
        Check::Fifo { waiters } => {
            let served = fact("served");
            let expected: Vec<u64> = (1..=waiters as u64).collect();
            if served != expected || !outcomes.iter().all(is_acquired) {
                let list = |v: &[u64]| v.iter().map(|k| format!("W{k}")).collect::<Vec<_>>().join(", ");
                return failure(
                    &format!("{waiters} callers queued in acquire one after another (W1 first), then connections returned one at a time"),
                    format!("served in order: {}", list(&expected)),
                    format!("served in order: {}", list(&served)),
                    "Waiters must be served first come, first served: keep them in a FIFO queue (VecDeque) and hand each returned connection to the front one. A Vec popped from the end serves the newest first, and notify_one on a shared Condvar lets any thread win.",
                );
            }
            None
        }
        Check::TimedOutWaiterSkipped { .. } => {
            let second = outcomes.get(1)?;
            let after = fact("served_after_release").first().copied().unwrap_or(0);
            if !is_acquired(second) || after > 1_000 * MS {
                return failure(
                    "the first waiter gave up; then the connection came back while the second still waited (its timeout: 2s)",
                    "the second waiter gets the connection, at once".to_owned(),
                    format!("the second waiter got {} {} after the connection came back", second.describe(), Nanos(after)),
                    "A waiter that times out must leave the queue, and a connection handed to a waiter that is already gone must go on to the next one (or back to the idle set), never be lost with it.",
                );
            }
            None
        }
        Check::BrokenWakesWaiters { threads } => {
            let stuck = outcomes.iter().filter(|o| !is_acquired(o)).count();
            if stuck > 0 {
                return failure(
                    &format!("{threads} callers on max-size {}; the first {} returned their connections broken", config.max_size, config.max_size),
                    format!("all {threads} callers get a connection"),
                    format!("{stuck} got {}", outcomes.iter().find(|o| !is_acquired(o)).map(Outcome::describe).unwrap_or_default()),
                    "Closing a broken connection frees room: wake a waiter so it opens a new one (bb8 #167: when broken returns woke no one, every waiter timed out).",
                );
            }
            let broken = audit.stats.map_or(0, |s| s.closed_broken);
            if broken != config.max_size {
                return failure(
                    "pool.stats() after every caller finished",
                    format!("closed_broken: {}", config.max_size),
                    format!("closed_broken: {broken}"),
                    "Each connection returned broken is closed and counted once in closed_broken.",
                );
            }
            None
        }
        Check::FactoryFailureWakesWaiter => {
            let (first, second) = (outcomes.first()?, outcomes.get(1)?);
            let factory_failed = matches!(first, Outcome::Refused { error: PoolError::Factory(m), .. } if m == CONNECT_FAILURE);
            if !factory_failed {
                return failure(
                    "the first caller's connect fails after 100ms",
                    format!("the first caller gets Err(PoolError::Factory({CONNECT_FAILURE:?}))"),
                    format!("the first caller got {}", first.describe()),
                    "Return the factory's error as PoolError::Factory with its message, at once: do not retry until the deadline.",
                );
            }
            if !is_acquired(second) || second.took().unwrap_or_default().0 > 1_000 * MS {
                return failure(
                    "while the first caller's connect was failing, a second caller waited for room (its timeout: 2s)",
                    "the second caller opens its own connection soon after the failure".to_owned(),
                    format!("the second caller got {}", second.describe()),
                    "A failed connect must give back the room it reserved and wake one waiter to try in its place (deadpool's managed_deadlock test).",
                );
            }
            None
        }
        Check::SlowConnectDoesNotBlock { stall } => {
            let gave_up = fact("stall_gave_up").first().copied().unwrap_or(0) == 1;
            let took = Nanos(fact("others_took").first().copied().unwrap_or(0));
            if gave_up || took.0 > stall.0 / 2 {
                return failure(
                    &format!("while one caller's connect stalled (up to {stall}), another returned its connection, acquired it again and read stats()"),
                    "those calls finish while the connect is still stalled".to_owned(),
                    format!("they took {took}{}", if gave_up { ", finishing only after the stalled connect gave up" } else { "" }),
                    "Never call connect or ping while holding the pool's lock: reserve room under the lock, unlock, connect, then lock again to record the result.",
                );
            }
            None
        }
        Check::GracefulClose => {
            if name.contains("two waiters") {
                let waiters: Vec<&Outcome> = outcomes.iter().skip(1).take(2).collect();
                let late = fact("waiter_returned_after_close").into_iter().max().unwrap_or(0);
                if !waiters.iter().all(|o| matches!(o, Outcome::Refused { error: PoolError::Closed, .. })) || late > 1_000 * MS {
                    return failure(
                        "close() while two callers waited in acquire(Some(3s))",
                        "both waiters get Err(PoolError::Closed) promptly".to_owned(),
                        format!("they got {} after {}", waiters.iter().map(|o| o.describe()).collect::<Vec<_>>().join(" and "), Nanos(late)),
                        "close() must wake every waiter (notify_all, or fail each queued waiter's slot), and a waiter that wakes to a closed pool returns PoolError::Closed.",
                    );
                }
                let later = outcomes.get(3)?;
                if !matches!(later, Outcome::Refused { error: PoolError::Closed, .. }) {
                    return failure("pool.acquire(Some(50ms)) after close()", "Err(PoolError::Closed)".to_owned(), later.describe(), "After close(), every acquire returns PoolError::Closed at once.");
                }
            }
            let open = fact("open_after_a_return");
            let expected: Vec<u64> = (0..open.len() as u64).rev().collect();
            if open != expected {
                return failure(
                    "connections returned one by one after close()",
                    format!("connections still open after each return: {expected:?}"),
                    format!("connections still open after each return: {open:?}"),
                    "A connection returned to a closed pool is closed on return (closed_shutdown), not put back.",
                );
            }
            if let Some(&open) = fact("open_after_close").first() {
                if open != 1 {
                    return failure(
                        "close() with one connection idle and one lent",
                        "connections open right after close(): 1 (the lent one)".to_owned(),
                        format!("connections open right after close(): {open}"),
                        "close() closes idle connections at once; lent ones close when they come back.",
                    );
                }
            }
            None
        }
        Check::ManyWaiters { waiters } => {
            let threads = fact("threads").first().copied().unwrap_or(0);
            let acquired = fact("acquired").first().copied().unwrap_or(0);
            if acquired < threads {
                let odd = outcomes.first().map(Outcome::describe).unwrap_or_default();
                return failure(
                    &format!("{threads} threads waited at once on a full pool of {}, then every connection came back", config.max_size),
                    format!("all {threads} get a connection"),
                    format!("{acquired} did; another got {odd}"),
                    "Every return must reach exactly one waiter, and a waiter must re-check the pool when it wakes: a lost wakeup strands everyone behind it.",
                );
            }
            if threads < waiters as u64 {
                return Some(Judgement::Pass { note: Some(format!("the worker could start only {threads} of {waiters} threads")) });
            }
            None
        }
        Check::Performance { .. } => None,
    }
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
        "Profile before guessing. Usual costs: a lock held across more than the idle-stack pop or push, an allocation or a clock read on every acquire, a scan over every connection, and waking all waiters (notify_all) for one returned connection.",
    )
}
