//! Consumers on several threads, with the clock moved between rounds as the grader moves it:
//! 10k messages, each consumer acking, nacking (retrying or rejecting) or crashing on each
//! delivery at random. Checked: conservation (in every stats snapshot, taken concurrently),
//! lease exclusivity (a message's next delivery only once its previous lease ended: acked never
//! again, a retry no earlier than its backoff, a crash no earlier than its expiry), bounded
//! delivery (attempts count deliveries, at most `max_attempts` per life), fencing of crashed
//! consumers' late acks, and that in the end every message was acked exactly once or is dead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use challenge_harness::{DeadReason, LeaseToken, MessageQueue, QueueConfig, StaleLease};

use super::support::*;

const MESSAGES: u64 = 10_000;
const CONSUMERS: u64 = 4;
/// Rounds of random outcomes; after them every delivery is acked, until the queue is drained.
const CHAOS_ROUNDS: u64 = 12;
/// The round before which every dead letter is redriven, once.
const REDRIVE_ROUND: u64 = 6;
/// The visibility timeout, in nanoseconds.
const VT: u64 = 10_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Acked,
    Retried,
    Rejected,
    Crashed,
}

/// One delivery as its consumer saw it.
#[derive(Clone, Copy, Debug)]
struct Seen {
    id: u64,
    attempt: u32,
    token: LeaseToken,
    /// The round's virtual time.
    at: u64,
    round: u64,
    outcome: Outcome,
}

fn consume(q: &crate::ReferenceQueue, round: u64, consumer: u64, now: u64, producing: &AtomicBool) -> Vec<Seen> {
    let mut rng = Rng::new(round * 1_000 + consumer);
    let mut seen = Vec::new();
    loop {
        let batch = q.receive(1 + rng.below(16) as usize);
        if batch.is_empty() {
            // Time stands still within a round and every retry waits at least a second, so once
            // nothing is ready and nothing more is coming, nothing will be ready this round.
            if !producing.load(Ordering::SeqCst) {
                break;
            }
            std::thread::yield_now();
            continue;
        }
        for d in batch {
            let outcome = match (round < CHAOS_ROUNDS, rng.below(20)) {
                (false, _) | (true, 0..=12) => Outcome::Acked,
                (true, 13..=15) => Outcome::Retried,
                (true, 16) => Outcome::Rejected,
                (true, _) => Outcome::Crashed,
            };
            let result = match outcome {
                Outcome::Acked => q.ack(d.token),
                Outcome::Retried => q.nack(d.token, "retry me", true),
                Outcome::Rejected => q.nack(d.token, "poison", false),
                Outcome::Crashed => Ok(()),
            };
            assert_eq!(result, Ok(()), "round {round}: a live lease's {outcome:?} of message {}", d.id);
            seen.push(Seen { id: d.id, attempt: d.attempt, token: d.token, at: now, round, outcome });
        }
    }
    seen
}

#[test]
fn four_consumers_keep_every_message_and_never_share_a_lease() {
    let config = QueueConfig { visibility_timeout: ns(VT), max_attempts: 4, backoff_base: SEC, backoff_max: 4 * SEC };
    let (clock, q) = queue_with(config);
    let mut seen: Vec<Seen> = Vec::new();
    let mut redriven: Vec<u64> = Vec::new();
    let mut rng = Rng::new(99);
    let mut round = 0;
    loop {
        let now = clock.clock().now();
        let producing = AtomicBool::new(round == 0);
        let monitoring = AtomicBool::new(true);
        let got: Vec<Vec<Seen>> = std::thread::scope(|s| {
            let (q, producing, monitoring) = (&q, &producing, &monitoring);
            if round == 0 {
                s.spawn(move || {
                    for i in 0..MESSAGES {
                        assert_eq!(q.enqueue(&i.to_le_bytes(), None), i + 1);
                    }
                    producing.store(false, Ordering::SeqCst);
                });
            }
            // Stats taken while everyone works: each snapshot accounts for every message so far.
            let monitor = s.spawn(move || {
                let mut last = q.stats();
                while monitoring.load(Ordering::SeqCst) {
                    let st = q.stats();
                    let total = st.ready + st.delayed + st.in_flight + st.dead + st.acked;
                    let last_total = last.ready + last.delayed + last.in_flight + last.dead + last.acked;
                    assert!(total <= MESSAGES && total >= last_total, "conservation: {st:?} after {last:?}");
                    assert!(st.acked >= last.acked && st.retried >= last.retried, "{st:?} after {last:?}");
                    last = st;
                    std::thread::yield_now();
                }
            });
            let consumers: Vec<_> =
                (0..CONSUMERS).map(|c| s.spawn(move || consume(q, round, c, now, producing))).collect();
            let got = consumers.into_iter().map(|h| h.join().unwrap()).collect();
            monitoring.store(false, Ordering::SeqCst);
            monitor.join().unwrap();
            got
        });
        seen.extend(got.into_iter().flatten());

        // Between rounds, the queue is quiet: its counts are exact.
        let st = checked_stats(&q);
        assert_eq!(st.ready + st.delayed + st.in_flight + st.dead + st.acked, MESSAGES, "round {round}: {st:?}");
        assert_eq!(st.ready, 0, "round {round}: the consumers left nothing ready");
        let leased = |s: &&Seen| s.outcome == Outcome::Crashed && s.at + VT > now;
        let crashed_live = seen.iter().filter(leased).count() as u64;
        assert_eq!(st.in_flight, crashed_live, "round {round}: only the crashed consumers' unexpired leases remain");
        if round >= CHAOS_ROUNDS && st.delayed == 0 && st.in_flight == 0 {
            break;
        }
        assert!(round < CHAOS_ROUNDS + 20, "the queue did not drain: {st:?}");

        // Move the clock, sometimes to just before or exactly at the crashed leases' expiry.
        let step = match rng.below(4) {
            0 => ns(VT - 1),
            1 => ns(VT),
            _ => SEC + ns(rng.below(12_000_000_000)),
        };
        clock.advance(if round >= CHAOS_ROUNDS { 60 * SEC } else { step });
        let now = clock.clock().now();
        // A crashed consumer that comes back after its lease lapsed is fenced off.
        for s in seen.iter().filter(|s| s.outcome == Outcome::Crashed && s.at + VT <= now).take(50) {
            assert_eq!(q.ack(s.token), Err(StaleLease), "message {}: a lapsed lease's late ack", s.id);
        }
        round += 1;
        if round == REDRIVE_ROUND {
            redriven = q.dead_letters().iter().map(|d| d.id).collect();
            assert!(!redriven.is_empty(), "the test should redrive something");
            assert_eq!(q.redrive(None), redriven.len());
        }
    }
    check_history(&config, &seen, &redriven);

    let st = checked_stats(&q);
    let dead = q.dead_letters();
    assert_eq!(st.acked + st.dead, MESSAGES, "{st:?}");
    assert_eq!(st.dead, dead.len() as u64);
    let acked: HashMap<u64, usize> =
        seen.iter().filter(|s| s.outcome == Outcome::Acked).fold(HashMap::new(), |mut m, s| {
            *m.entry(s.id).or_default() += 1;
            m
        });
    assert_eq!(acked.len() as u64, st.acked, "acked ids");
    assert!(acked.values().all(|&n| n == 1), "some message was acked twice");
    for d in &dead {
        assert!(!acked.contains_key(&d.id), "message {} is both acked and dead", d.id);
        assert!(d.attempts >= 1 && d.attempts <= config.max_attempts);
        assert!(d.reason == DeadReason::Rejected || d.attempts == config.max_attempts, "{d:?}");
    }
}

/// Each message's deliveries, life by life (a redrive starts a new one), against the rules.
fn check_history(config: &QueueConfig, seen: &[Seen], redriven: &[u64]) {
    let mut by_id: HashMap<u64, Vec<(u8, Seen)>> = HashMap::new();
    for s in seen {
        let life = u8::from(s.round >= REDRIVE_ROUND && redriven.contains(&s.id));
        by_id.entry(s.id).or_default().push((life, *s));
    }
    assert_eq!(by_id.len() as u64, MESSAGES, "every message was delivered");
    for (id, mut deliveries) in by_id {
        deliveries.sort_by_key(|&(life, s)| (life, s.attempt));
        for pair in deliveries.windows(2) {
            let ((life, prev), (next_life, next)) = (pair[0], pair[1]);
            let what = format!("message {id}: {prev:?} then {next:?}");
            if life != next_life {
                let died = prev.outcome == Outcome::Rejected || prev.attempt == config.max_attempts;
                assert!(died && next.attempt == 1, "{what}: a new life only after a death, from attempt 1");
                continue;
            }
            assert_eq!(next.attempt, prev.attempt + 1, "{what}: attempts count deliveries");
            let earliest = match prev.outcome {
                Outcome::Retried => prev.at + config.backoff(prev.attempt).as_nanos() as u64,
                Outcome::Crashed => prev.at + VT,
                Outcome::Acked | Outcome::Rejected => panic!("{what}: delivered again after it was settled"),
            };
            assert!(next.at >= earliest, "{what}: delivered while the previous lease or backoff still held");
        }
        for &(_, s) in &deliveries {
            assert!(s.attempt >= 1 && s.attempt <= config.max_attempts, "message {id}: {s:?}");
        }
    }
}
