//! The dead-letter queue: the exact record of each way to die, its order, and redrive (all or
//! some, twice, with unknown and repeated ids).

use challenge_harness::{DeadLetter, DeadReason, MessageQueue, QueueConfig};

use super::support::*;
use crate::ReferenceQueue;

/// Receives and nacks (with `retry`) message `id` until it dies, moving the clock past each
/// backoff; the error names the attempt.
fn fail_until_dead(clock: &challenge_harness::ManualClock, q: &ReferenceQueue, id: u64) {
    for _ in 0..3 {
        let d = one(q);
        assert_eq!(d.id, id);
        q.nack(d.token, &format!("attempt {} failed", d.attempt), true).unwrap();
        clock.advance(60 * SEC); // past any backoff
    }
}

#[test]
fn the_record_of_a_message_that_used_up_its_attempts() {
    let (clock, q) = queue();
    at(&clock, 5 * SEC);
    q.enqueue(b"poison", None);
    let d = one(&q);
    at(&clock, 7 * SEC);
    q.nack(d.token, "first", true).unwrap(); // back at 8s
    at(&clock, 8 * SEC);
    let d = one(&q);
    at(&clock, 38 * SEC); // its lease (8s + 30s) lapses: the second failure, back at once
    let d3 = one(&q);
    assert_eq!((d.attempt, d3.attempt), (2, 3));
    at(&clock, 40 * SEC);
    q.nack(d3.token, "third", true).unwrap();
    let want = DeadLetter {
        id: 1,
        payload: b"poison".to_vec(),
        reason: DeadReason::MaxAttempts,
        attempts: 3,
        last_error: "third".into(),
        first_failure_at: t(7 * SEC),
        dead_at: t(40 * SEC),
    };
    assert_eq!(q.dead_letters(), [want]);
    assert_eq!(checked_stats(&q), stats(0, 0, 0, 1, 0, 2));
    assert!(q.receive(10).is_empty(), "a dead letter is not delivered");
}

#[test]
fn the_record_of_a_message_whose_last_lease_lapsed() {
    let (clock, q) = queue_with(QueueConfig { max_attempts: 2, ..config() });
    q.enqueue(b"slow", None);
    let d = one(&q);
    at(&clock, SEC);
    q.nack(d.token, "transient", true).unwrap(); // back at 2s
    at(&clock, 2 * SEC);
    one(&q); // leased until 32s
    at(&clock, 100 * SEC);
    let want = DeadLetter {
        id: 1,
        payload: b"slow".to_vec(),
        reason: DeadReason::MaxAttempts,
        attempts: 2,
        last_error: "lease expired".into(),
        first_failure_at: t(SEC),
        dead_at: t(32 * SEC),
    };
    assert_eq!(q.dead_letters(), [want]);
    assert_eq!(checked_stats(&q), stats(0, 0, 0, 1, 0, 1));
}

#[test]
fn a_reject_dead_letters_at_once_on_any_attempt() {
    let (clock, q) = queue();
    q.enqueue(b"first try", None);
    q.enqueue(b"last try", None);
    let [a, b]: [_; 2] = q.receive(2).try_into().unwrap();
    at(&clock, SEC);
    q.nack(a.token, "unparseable", false).unwrap();
    q.nack(b.token, "flaky", true).unwrap(); // 2: back at 2s
    at(&clock, 2 * SEC);
    let b = one(&q);
    q.nack(b.token, "flaky", true).unwrap(); // back at 4s
    at(&clock, 4 * SEC);
    let b = one(&q);
    assert_eq!(b.attempt, 3);
    at(&clock, 5 * SEC);
    q.nack(b.token, "gave up", false).unwrap();
    let dead = q.dead_letters();
    let record = |d: &DeadLetter| (d.id, d.reason, d.attempts, d.last_error.clone(), d.first_failure_at, d.dead_at);
    assert_eq!(
        dead.iter().map(record).collect::<Vec<_>>(),
        [
            (1, DeadReason::Rejected, 1, "unparseable".into(), t(SEC), t(SEC)),
            (2, DeadReason::Rejected, 3, "gave up".into(), t(SEC), t(5 * SEC)),
        ]
    );
    assert_eq!(checked_stats(&q), stats(0, 0, 0, 2, 0, 2));
}

#[test]
fn dead_letters_are_listed_oldest_death_first_ties_by_id() {
    let (clock, q) = queue_with(QueueConfig { max_attempts: 1, ..config() });
    for i in 1..=4u8 {
        q.enqueue(&[i], None);
    }
    let got = q.receive(4);
    at(&clock, SEC);
    q.nack(got[3].token, "4", false).unwrap();
    q.nack(got[1].token, "2", false).unwrap();
    at(&clock, 2 * SEC);
    q.nack(got[0].token, "1", true).unwrap();
    // 3 lapses at 30s, after all the others.
    at(&clock, 31 * SEC);
    let order: Vec<_> = q.dead_letters().iter().map(|d| (d.id, d.dead_at)).collect();
    assert_eq!(order, [(2, t(SEC)), (4, t(SEC)), (1, t(2 * SEC)), (3, t(30 * SEC))]);
}

#[test]
fn redrive_all_twice_resets_attempts_and_the_first_failure() {
    let (clock, q) = queue();
    q.enqueue(b"p", None);
    fail_until_dead(&clock, &q, 1);
    assert_eq!(checked_stats(&q), stats(0, 0, 0, 1, 0, 2));
    assert_eq!(q.redrive(None), 1);
    assert_eq!(q.redrive(None), 0, "nothing left to move");
    assert_eq!(checked_stats(&q), stats(1, 0, 0, 0, 0, 2));
    let redriven_at = clock.clock().now();
    // All three attempts again, and a first failure from this redrive on.
    fail_until_dead(&clock, &q, 1);
    let dead = q.dead_letters();
    assert_eq!((dead[0].attempts, dead[0].first_failure_at), (3, redriven_at));
    assert_eq!(dead[0].last_error, "attempt 3 failed");
    assert_eq!(checked_stats(&q), stats(0, 0, 0, 1, 0, 4));
    assert_eq!(q.redrive(None), 1, "the second redrive of the same message");
    let d = one(&q);
    assert_eq!((d.id, d.attempt, d.payload.as_slice()), (1, 1, &b"p"[..]));
    q.ack(d.token).unwrap();
    assert_eq!(checked_stats(&q), stats(0, 0, 0, 0, 1, 4));
    assert!(q.dead_letters().is_empty());
}

#[test]
fn redrive_some_moves_only_listed_dead_letters_once_in_id_order() {
    let (clock, q) = queue_with(QueueConfig { max_attempts: 1, ..config() });
    for i in 1..=5u8 {
        q.enqueue(&[i], None);
    }
    let got = q.receive(4); // 5 stays ready
    for d in got.iter().rev() {
        q.nack(d.token, "bad", false).unwrap();
    }
    at(&clock, SEC);
    q.enqueue(b"6", None);
    // 5 is live, 6 live, 99 unknown; 3 listed twice; listed out of order.
    assert_eq!(q.redrive(Some(&[4, 99, 3, 5, 2, 3, 6])), 3);
    assert_eq!(q.redrive(Some(&[])), 0);
    assert_eq!(q.redrive(Some(&[4])), 0, "already moved");
    assert_eq!(checked_stats(&q), stats(5, 0, 0, 1, 0, 0));
    assert_eq!(q.dead_letters().iter().map(|d| d.id).collect::<Vec<_>>(), [1]);
    // 5 was available at 0; 2, 3, 4 from the redrive at 1s, with 6 (enqueued at 1s) among them by id.
    assert_eq!(ids(&q.receive(10)), [(5, 1), (2, 1), (3, 1), (4, 1), (6, 1)]);
}

#[test]
fn a_redriven_message_sorts_by_id_among_messages_available_at_the_same_instant() {
    let (clock, q) = queue_with(QueueConfig { max_attempts: 1, ..config() });
    q.enqueue(b"1", None);
    let d = one(&q);
    q.nack(d.token, "bad", false).unwrap();
    at(&clock, SEC);
    q.enqueue(b"2", None); // available at 1s
    q.redrive(None); // 1 available at 1s too: before 2 by id
    q.enqueue(b"3", None);
    assert_eq!(ids(&q.receive(10)), [(1, 1), (2, 1), (3, 1)]);
}
