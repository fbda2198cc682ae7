//! The parent's property checks on a concurrent run's history: every message in exactly one
//! state (conservation), never a second delivery while a lease is valid (exclusivity), only the
//! current lease's token settling it (fencing), attempts numbered and bounded, backoffs kept,
//! and the queue's own counters and dead-letter records agreeing with all of that. A failure
//! names the message and prints its whole history.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::observation::{Dead, Event, EventKind, Stats};
use super::script::Config;
use super::storm::FAILURE;
use crate::judgement::Failure;
use crate::Nanos;

/// What the walk concluded about one message.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Fate {
    /// Not settled yet.
    Open,
    /// Acked.
    Acked,
    /// Dead-lettered: rejected or not, with its error, the first failure's and the death's times.
    Dead { rejected: bool, error: String, first_failure: Nanos, at: Nanos },
}

/// One message's walk through its events.
struct Walk {
    lease: Option<(u64, u32, Nanos)>,
    attempt: u32,
    deliveries: u32,
    available_from: Option<Nanos>,
    first_failure: Option<Nanos>,
    retried: u64,
    fate: Fate,
}

/// A failed property: what broke, for which message.
pub struct Broken {
    /// The message.
    pub id: u64,
    /// What broke, in a sentence.
    pub what: String,
    /// How to fix it.
    pub hint: &'static str,
}

/// The run as a whole, for the checks that span every message.
pub struct Run<'a> {
    /// The config.
    pub config: &'a Config,
    /// Events in stamp order.
    pub events: &'a [Event],
    /// Messages enqueued.
    pub enqueued: u64,
    /// A bad concurrent sample.
    pub bad_sample: Option<Stats>,
    /// `stats()` at the end.
    pub stats: Option<Stats>,
    /// `dead_letters()` at the end.
    pub dead: &'a [Dead],
    /// The last scenario time of the run.
    pub end: Nanos,
}

fn broken(id: u64, what: String, hint: &'static str) -> Result<(), Broken> {
    Err(Broken { id, what, hint })
}

const FENCING: &str = "ack and nack take effect only with the token of the message's current lease, and only while `now < leased_at + visibility_timeout`; a new delivery gets a new token.";
const EXCLUSIVE: &str = "A leased message is invisible until its lease lapses or it is settled: take it out of the available set and record its lease in the same critical section.";
const ATTEMPTS: &str = "Every delivery is an attempt: a lapsed lease counts as a failed one. After attempt max_attempts fails (nack or lapse), the message goes to the dead-letter queue, never back to the queue.";

/// Checks every property; the first broken one.
pub fn check(run: &Run<'_>) -> Result<(), Broken> {
    let vt = run.config.visibility_timeout.0;
    let max = run.config.max_attempts;
    let mut walks: BTreeMap<u64, Walk> = BTreeMap::new();
    let mut tokens: HashMap<u64, u64> = HashMap::new();
    // Every id first: a receive that started before an enqueue returned may deliver its message.
    for e in run.events.iter().filter(|e| matches!(e.kind, EventKind::Enqueued)) {
        let fresh = Walk { lease: None, attempt: 0, deliveries: 0, available_from: None, first_failure: None, retried: 0, fate: Fate::Open };
        if walks.insert(e.id, fresh).is_some() {
            return broken(e.id, format!("enqueue returned id {} twice", e.id), "Ids are 1, 2, 3… in enqueue order: take the next one under the lock.");
        }
    }
    for e in run.events.iter().filter(|e| !matches!(e.kind, EventKind::Enqueued)) {
        let Some(w) = walks.get_mut(&e.id) else {
            return broken(e.id, format!("message {} was never enqueued, yet it was delivered or settled", e.id), EXCLUSIVE);
        };
        // A lease that lapsed before this event is a failed attempt, at the instant it lapsed.
        if let Some((_, attempt, leased)) = w.lease {
            let lapse = Nanos(leased.0 + vt);
            if e.at >= lapse {
                w.lease = None;
                w.first_failure.get_or_insert(lapse);
                if attempt >= max {
                    w.fate = Fate::Dead { rejected: false, error: "lease expired".into(), first_failure: w.first_failure.unwrap_or(lapse), at: lapse };
                } else {
                    w.retried += 1;
                    w.available_from = Some(lapse);
                }
            }
        }
        match e.kind {
            EventKind::Enqueued => {}
            EventKind::Delivered { attempt, token, payload_intact } => {
                if let Some(other) = tokens.insert(token, e.id) {
                    return broken(e.id, format!("token {token} was given to two deliveries (messages {other} and {})", e.id), FENCING);
                }
                if !payload_intact {
                    return broken(e.id, format!("message {} was delivered with a payload other than the one enqueued", e.id), "Store the payload's bytes as they came, and hand out exactly those.");
                }
                match &w.fate {
                    Fate::Acked => return broken(e.id, format!("message {} was delivered again at t={} after it was acked", e.id, e.at), "An acked message leaves the queue for good."),
                    Fate::Dead { at, .. } => return broken(e.id, format!("message {} was delivered at t={} after it should have been dead-lettered at t={at}", e.id, e.at), ATTEMPTS),
                    Fate::Open => {}
                }
                if let Some((held, _, leased)) = w.lease {
                    return broken(e.id, format!("message {} was delivered again at t={} while its lease (token {held}, from t={leased}) was valid until t={}", e.id, e.at, Nanos(leased.0 + vt)), EXCLUSIVE);
                }
                if let Some(from) = w.available_from.filter(|from| e.at < *from) {
                    return broken(e.id, format!("message {} was redelivered at t={} before its backoff ended at t={from}", e.id, e.at), "A retry is available only from `nack time + backoff(attempt)`.");
                }
                if attempt != w.attempt + 1 {
                    return broken(e.id, format!("message {}'s delivery at t={} says attempt {attempt}; it was its delivery number {}", e.id, e.at, w.attempt + 1), ATTEMPTS);
                }
                w.attempt = attempt;
                w.deliveries += 1;
                w.available_from = None;
                w.lease = Some((token, attempt, e.at));
            }
            EventKind::Ack { token, ok } | EventKind::Nack { token, ok, .. } => {
                let current = w.lease.is_some_and(|(held, _, _)| held == token) && w.fate == Fate::Open;
                let verb = if matches!(e.kind, EventKind::Ack { .. }) { "ack" } else { "nack" };
                if ok && !current {
                    return broken(e.id, format!("{verb} with stale token {token} took effect on message {} at t={}", e.id, e.at), FENCING);
                }
                if !ok && current {
                    return broken(e.id, format!("{verb} with the current, unexpired token {token} of message {} was refused as stale at t={}", e.id, e.at), FENCING);
                }
                if !ok {
                    continue;
                }
                w.lease = None;
                w.fate = match e.kind {
                    EventKind::Nack { retry, .. } => {
                        let first = *w.first_failure.get_or_insert(e.at);
                        if !retry || w.attempt >= max {
                            Fate::Dead { rejected: !retry, error: FAILURE.into(), first_failure: first, at: e.at }
                        } else {
                            w.retried += 1;
                            w.available_from = Some(Nanos(e.at.0 + run.config.backoff(w.attempt).0));
                            Fate::Open
                        }
                    }
                    _ => Fate::Acked,
                };
            }
            EventKind::Crashed { .. } => {}
        }
    }
    // Leases still held at the end lapse at their instant, if the run got that far.
    for w in walks.values_mut() {
        if let Some((_, attempt, leased)) = w.lease {
            let lapse = Nanos(leased.0 + vt);
            if run.end >= lapse && attempt >= max {
                let first = *w.first_failure.get_or_insert(lapse);
                w.fate = Fate::Dead { rejected: false, error: "lease expired".into(), first_failure: first, at: lapse };
                w.lease = None;
            }
        }
    }
    if let Some(s) = run.bad_sample {
        let id = walks.keys().next().copied().unwrap_or(0);
        return broken(id, format!("stats() sampled while consumers ran accounted for {} messages ({}), but {} were enqueued: for a moment some message was in no state (or two)", s.accounted(), s.describe(), run.enqueued), "Move a message from one state to the next in one critical section: taking it out of flight and putting it in the dead-letter queue under two separate locks leaves it nowhere in between.");
    }
    let mut dead_ids = BTreeSet::new();
    for d in run.dead {
        if !dead_ids.insert(d.id) {
            return broken(d.id, format!("message {} appears twice in the dead-letter queue", d.id), "Dead-letter a message once, and take it out of every other state as you do.");
        }
    }
    for (&id, w) in &walks {
        let record = run.dead.iter().find(|d| d.id == id);
        match (&w.fate, record) {
            (Fate::Open, Some(_)) | (Fate::Acked, Some(_)) => {
                return broken(id, format!("message {id} is in the dead-letter queue, but {}", match w.fate { Fate::Acked => "it was acked".to_owned(), _ => format!("it had {} of {max} attempts and was never rejected", w.deliveries) }), ATTEMPTS);
            }
            (Fate::Dead { .. }, None) => {
                return broken(id, format!("message {id} is lost: its last attempt failed, so it belongs in the dead-letter queue, but dead_letters() does not list it"), "No message is ever lost: after its last failed attempt it must be in the dead-letter queue.");
            }
            (Fate::Open, None) => {
                return broken(id, format!("message {id} was never settled: after the run it is neither acked nor dead ({} deliveries, the last at attempt {})", w.deliveries, w.attempt), "A lease that lapses makes the message available again at that instant (or dead-letters it after its last attempt); check lapsed leases whenever a call reads the clock.");
            }
            (Fate::Dead { rejected, error, first_failure, at }, Some(d)) => {
                let mut wrong = Vec::new();
                if d.rejected != *rejected {
                    wrong.push(format!("reason {} (expected {})", reason(d.rejected), reason(*rejected)));
                }
                if d.attempts != w.deliveries {
                    wrong.push(format!("attempts {} (it was delivered {} times)", d.attempts, w.deliveries));
                }
                if d.last_error != *error {
                    wrong.push(format!("last_error {:?} (expected {error:?})", d.last_error));
                }
                if d.first_failure_at != *first_failure {
                    wrong.push(format!("first_failure_at t={} (expected t={first_failure})", d.first_failure_at));
                }
                if d.dead_at != *at {
                    wrong.push(format!("dead_at t={} (expected t={at})", d.dead_at));
                }
                if !d.payload_intact {
                    wrong.push("a payload other than the one enqueued".to_owned());
                }
                if !wrong.is_empty() {
                    return broken(id, format!("message {id}'s dead-letter record has {}", wrong.join(", ")), "The record keeps the payload unchanged, the reason, the deliveries it got, the last error (a nack's message, or \"lease expired\"), and the virtual times of the first failure and of the death.");
                }
                if !*rejected && w.deliveries != max {
                    return broken(id, format!("message {id} was dead-lettered after {} deliveries; max_attempts is {max}", w.deliveries), ATTEMPTS);
                }
            }
            (Fate::Acked, None) => {}
        }
    }
    if let Some(s) = run.stats {
        let acked = walks.values().filter(|w| w.fate == Fate::Acked).count() as u64;
        let retried: u64 = walks.values().map(|w| w.retried).sum();
        let expected = Stats { ready: 0, delayed: 0, in_flight: 0, dead: dead_ids.len() as u64, acked, retried };
        if s != expected {
            let id = walks.keys().next().copied().unwrap_or(0);
            return broken(id, format!("stats() at the end were {}; the history says {}", s.describe(), expected.describe()), "Count under the same lock as the state change: acked once per message, retried once per nack(retry) or lapsed lease that sent it back.");
        }
    }
    Ok(())
}

fn reason(rejected: bool) -> &'static str {
    if rejected {
        "Rejected"
    } else {
        "MaxAttempts"
    }
}

/// Turns a broken property into a failure that prints the message's whole history.
pub fn failure(run: &Run<'_>, broken: Broken, summary: &str) -> Failure {
    let mut failure = Failure::new(summary);
    failure.expected = "every property holds for every message\n".to_owned();
    failure.actual = format!("{}\n", broken.what);
    failure.hint = Some(broken.hint.to_owned());
    let events: Vec<&Event> = run.events.iter().filter(|e| e.id == broken.id).collect();
    failure.context.push(format!("message {}'s history ({} events):", broken.id, events.len()));
    for e in events.iter().take(24) {
        failure.context.push(format!("  {}", describe(e)));
    }
    if events.len() > 24 {
        failure.context.push(format!("  … {} more", events.len() - 24));
    }
    failure
}

fn describe(e: &Event) -> String {
    let who = if e.thread == 0 { "main".to_owned() } else { format!("consumer {}", e.thread) };
    let what = match e.kind {
        EventKind::Enqueued => format!("enqueue -> id {}", e.id),
        EventKind::Delivered { attempt, token, .. } => format!("receive -> delivered, attempt {attempt}, token {token}"),
        EventKind::Ack { token, ok } => format!("ack(token {token}) -> {}", if ok { "Ok" } else { "Err(StaleLease)" }),
        EventKind::Nack { token, retry, ok } => format!("nack(token {token}, retry {retry}) -> {}", if ok { "Ok" } else { "Err(StaleLease)" }),
        EventKind::Crashed { token } => format!("crashes holding token {token} (never settles it)"),
    };
    format!("t={} {who}: {what}  [stamps {}..{}]", e.at, e.call, e.ret)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: Config =
        Config { visibility_timeout: Nanos(10), max_attempts: 2, backoff_base: Nanos(4), backoff_max: Nanos(100) };

    fn event(call: u64, at: u64, id: u64, kind: EventKind) -> Event {
        Event { call, ret: call, thread: 1, at: Nanos(at), id, kind }
    }

    fn delivered(call: u64, at: u64, id: u64, attempt: u32, token: u64) -> Event {
        event(call, at, id, EventKind::Delivered { attempt, token, payload_intact: true })
    }

    fn dead(id: u64, attempts: u32, error: &str, first: u64, at: u64) -> Dead {
        Dead {
            id,
            payload: String::new(),
            payload_intact: true,
            rejected: false,
            attempts,
            last_error: error.to_owned(),
            first_failure_at: Nanos(first),
            dead_at: Nanos(at),
        }
    }

    fn run<'a>(events: &'a [Event], dead: &'a [Dead], stats: Stats, end: u64) -> Run<'a> {
        Run { config: &CONFIG, events, enqueued: 1, bad_sample: None, stats: Some(stats), dead, end: Nanos(end) }
    }

    /// A message that fails once, is retried after its backoff, and then lapses on its last attempt.
    fn good_history() -> Vec<Event> {
        vec![
            event(0, 0, 1, EventKind::Enqueued),
            delivered(1, 0, 1, 1, 100),
            event(2, 0, 1, EventKind::Nack { token: 100, retry: true, ok: true }),
            delivered(3, 4, 1, 2, 101),
            event(4, 20, 1, EventKind::Ack { token: 101, ok: false }),
        ]
    }

    #[test]
    fn a_correct_history_passes_with_its_exact_dead_letter_record() {
        let events = good_history();
        let dead = [dead(1, 2, "lease expired", 0, 14)];
        let stats = Stats { dead: 1, retried: 1, ..Stats::default() };
        assert!(check(&run(&events, &dead, stats, 20)).is_ok());
    }

    #[test]
    fn a_retry_delivered_before_its_backoff_is_named() {
        let mut events = good_history();
        events[3] = delivered(3, 2, 1, 2, 101);
        let dead = [dead(1, 2, "lease expired", 0, 12)];
        let broken = check(&run(&events, &dead, Stats::default(), 20)).err().expect("a broken property");
        assert!(broken.what.contains("before its backoff ended"), "{}", broken.what);
    }

    #[test]
    fn a_second_delivery_during_a_valid_lease_breaks_exclusivity() {
        let events = [event(0, 0, 1, EventKind::Enqueued), delivered(1, 0, 1, 1, 100), delivered(2, 5, 1, 2, 101)];
        let broken = check(&run(&events, &[], Stats::default(), 5)).err().expect("a broken property");
        assert!(broken.what.contains("while its lease (token 100, from t=0s) was valid until t=10ns"), "{}", broken.what);
    }

    #[test]
    fn a_stale_token_that_takes_effect_is_a_fencing_failure() {
        let mut events = good_history();
        events[4] = event(4, 20, 1, EventKind::Ack { token: 101, ok: true });
        let broken = check(&run(&events, &[], Stats::default(), 20)).err().expect("a broken property");
        assert!(broken.what.contains("stale token 101 took effect"), "{}", broken.what);
    }

    #[test]
    fn a_message_in_no_state_at_the_end_is_lost() {
        let events = good_history();
        let broken = check(&run(&events, &[], Stats::default(), 20)).err().expect("a broken property");
        assert!(broken.what.contains("is lost"), "{}", broken.what);
        let failure = failure(&run(&events, &[], Stats::default(), 20), broken, "a run");
        assert!(failure.context.iter().any(|l| l.contains("nack(token 100, retry true) -> Ok")), "{:?}", failure.context);
    }
}
