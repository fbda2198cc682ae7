//! The trait's conventions one by one, through the public trait on a `ManualClock`, on both sides
//! of every boundary (`t - 1ns`, `t`): ids and order, delays, leases, attempts and backoff,
//! fencing, and the stats.

use std::collections::HashSet;

use challenge_harness::{DeadReason, LeaseToken, MessageQueue, QueueConfig, StaleLease};

use super::support::*;

// ---- ids, order, delays --------------------------------------------------------------------

#[test]
fn ids_count_from_one_and_deliveries_come_in_enqueue_order() {
    let (_, q) = queue();
    for (i, payload) in [&b"a"[..], b"", b"ccc", &[0u8, 255, 7]].into_iter().enumerate() {
        assert_eq!(q.enqueue(payload, None), i as u64 + 1);
    }
    assert!(q.receive(0).is_empty(), "receive(0) leases nothing");
    let first = q.receive(3);
    assert_eq!(ids(&first), [(1, 1), (2, 1), (3, 1)]);
    assert_eq!(first.iter().map(|d| d.payload.clone()).collect::<Vec<_>>(), [b"a".to_vec(), vec![], b"ccc".to_vec()]);
    let rest = q.receive(usize::MAX);
    assert_eq!(ids(&rest), [(4, 1)]);
    assert_eq!(rest[0].payload, [0, 255, 7]);
    assert!(q.receive(10).is_empty());
    assert_eq!(checked_stats(&q), stats(0, 0, 4, 0, 0, 0));
}

#[test]
fn a_delayed_message_is_available_from_enqueue_plus_delay_exactly() {
    let (clock, q) = queue();
    at(&clock, SEC);
    q.enqueue(b"later", Some(5 * SEC));
    q.enqueue(b"zero delay is now", Some(ns(0)));
    assert_eq!(ids(&q.receive(10)), [(2, 1)]);
    at(&clock, 6 * SEC - ns(1));
    assert_eq!(checked_stats(&q), stats(0, 1, 1, 0, 0, 0));
    assert!(q.receive(10).is_empty());
    at(&clock, 6 * SEC);
    assert_eq!(checked_stats(&q), stats(1, 0, 1, 0, 0, 0));
    assert_eq!(ids(&q.receive(10)), [(1, 1)]);
}

#[test]
fn delayed_messages_go_out_in_the_order_they_became_available_ties_by_id() {
    let (clock, q) = queue();
    q.enqueue(b"1", Some(2 * SEC)); // available at 2s
    q.enqueue(b"2", Some(3 * SEC)); // 3s
    at(&clock, SEC);
    q.enqueue(b"3", Some(SEC)); // 2s: ties with 1
    q.enqueue(b"4", None); // 1s
    at(&clock, 2 * SEC);
    q.enqueue(b"5", None); // 2s: ties with 1 and 3
    at(&clock, 3 * SEC);
    q.enqueue(b"6", None); // 3s: ties with 2
    assert_eq!(ids(&q.receive(10)), [(4, 1), (1, 1), (3, 1), (5, 1), (2, 1), (6, 1)]);
}

#[test]
fn an_endless_delay_stays_delayed() {
    let (clock, q) = queue();
    q.enqueue(b"never", Some(std::time::Duration::MAX));
    clock.set(u64::MAX - 1);
    assert!(q.receive(1).is_empty());
    assert_eq!(checked_stats(&q), stats(0, 1, 0, 0, 0, 0));
}

// ---- leases ----------------------------------------------------------------------------------

#[test]
fn a_lease_holds_until_visibility_timeout_minus_one_ns() {
    let (clock, q) = queue();
    q.enqueue(b"a", None);
    q.enqueue(b"b", None);
    let [a, b]: [_; 2] = q.receive(2).try_into().unwrap();
    at(&clock, 30 * SEC - ns(1));
    assert!(q.receive(10).is_empty(), "both still leased");
    assert_eq!(checked_stats(&q), stats(0, 0, 2, 0, 0, 0));
    assert_eq!(q.ack(a.token), Ok(()), "the last nanosecond of the lease");
    at(&clock, 30 * SEC);
    assert_eq!(q.ack(b.token), Err(StaleLease), "the lease ends at t + visibility_timeout exactly");
    assert_eq!(checked_stats(&q), stats(1, 0, 0, 0, 1, 1));
    let again = one(&q);
    assert_eq!((again.id, again.attempt, again.payload.as_slice()), (2, 2, &b"b"[..]));
    assert_ne!(again.token, b.token);
}

#[test]
fn nack_at_the_deadline_is_stale_and_the_expiry_stands() {
    let (clock, q) = queue();
    q.enqueue(b"a", None);
    let d = one(&q);
    at(&clock, 30 * SEC);
    assert_eq!(q.nack(d.token, "too late", false), Err(StaleLease));
    assert!(q.dead_letters().is_empty(), "the late reject changed nothing");
    assert_eq!(checked_stats(&q), stats(1, 0, 0, 0, 0, 1));
}

#[test]
fn an_expired_lease_is_available_at_the_expiry_instant_with_no_backoff() {
    let (clock, q) = queue_with(QueueConfig { backoff_base: 10 * SEC, ..config() });
    q.enqueue(b"a", None);
    one(&q);
    at(&clock, 30 * SEC);
    let d = one(&q);
    assert_eq!((d.id, d.attempt), (1, 2));
}

#[test]
fn an_expired_lease_sorts_at_its_expiry_instant_even_when_noticed_later() {
    let (clock, q) = queue();
    q.enqueue(b"1", None);
    one(&q); // leased until 30s
    at(&clock, 30 * SEC - ns(1));
    q.enqueue(b"2", None);
    at(&clock, 30 * SEC + ns(1));
    q.enqueue(b"3", None);
    at(&clock, 40 * SEC);
    assert_eq!(ids(&q.receive(10)), [(2, 1), (1, 2), (3, 1)]);
}

// ---- attempts and backoff ------------------------------------------------------------------

#[test]
fn a_retry_waits_exactly_its_backoff_which_doubles() {
    let (clock, q) = queue_with(QueueConfig { max_attempts: 4, ..config() });
    q.enqueue(b"a", None);
    let mut now = std::time::Duration::ZERO;
    for (attempt, backoff) in [(1, SEC), (2, 2 * SEC), (3, 4 * SEC)] {
        let d = one(&q);
        assert_eq!(d.attempt, attempt);
        assert_eq!(q.nack(d.token, "boom", true), Ok(()));
        at(&clock, now + backoff - ns(1));
        assert!(q.receive(10).is_empty(), "attempt {attempt}: still backing off at backoff - 1ns");
        assert_eq!(checked_stats(&q), stats(0, 1, 0, 0, 0, attempt as u64));
        now += backoff;
        at(&clock, now);
        assert_eq!(checked_stats(&q), stats(1, 0, 0, 0, 0, attempt as u64));
    }
    let last = one(&q);
    assert_eq!(last.attempt, 4);
    assert_eq!(q.nack(last.token, "boom", true), Ok(()));
    assert_eq!(checked_stats(&q), stats(0, 0, 0, 1, 0, 3), "the last attempt dead-letters, not retried");
}

#[test]
fn a_lapse_is_an_attempt_so_the_nack_after_it_waits_backoff_two() {
    let (clock, q) = queue_with(QueueConfig { backoff_base: 10 * SEC, ..config() });
    q.enqueue(b"a", None);
    one(&q); // lapses at 30s
    at(&clock, 30 * SEC);
    let d = one(&q);
    assert_eq!(d.attempt, 2);
    at(&clock, 40 * SEC);
    q.nack(d.token, "boom", true).unwrap(); // backoff(2) = 20s: back at 60s
    at(&clock, 60 * SEC - ns(1));
    assert!(q.receive(10).is_empty());
    at(&clock, 60 * SEC);
    assert_eq!(ids(&q.receive(10)), [(1, 3)]);
    assert_eq!(checked_stats(&q), stats(0, 0, 1, 0, 0, 2));
}

#[test]
fn backoff_is_capped_at_backoff_max() {
    let config = QueueConfig { max_attempts: 6, backoff_base: SEC, backoff_max: 3 * SEC, ..config() };
    let (clock, q) = queue_with(config);
    q.enqueue(b"a", None);
    let mut now = std::time::Duration::ZERO;
    for backoff in [SEC, 2 * SEC, 3 * SEC, 3 * SEC, 3 * SEC] {
        let d = one(&q);
        q.nack(d.token, "boom", true).unwrap();
        at(&clock, now + backoff - ns(1));
        assert!(q.receive(10).is_empty());
        now += backoff;
        at(&clock, now);
    }
    assert_eq!(one(&q).attempt, 6);
}

#[test]
fn a_zero_backoff_retries_at_once_behind_what_was_already_available() {
    let (clock, q) = queue_with(QueueConfig { backoff_base: ns(0), ..config() });
    q.enqueue(b"1", None);
    q.enqueue(b"2", None);
    let d1 = one_of(&q, 1);
    at(&clock, SEC);
    q.enqueue(b"3", None);
    q.nack(d1.token, "boom", true).unwrap(); // available at 1s, like 3: ties by id
    q.enqueue(b"4", None);
    assert_eq!(ids(&q.receive(10)), [(2, 1), (1, 2), (3, 1), (4, 1)]);
}

/// Receives one delivery and checks its id.
fn one_of(q: &impl MessageQueue, id: u64) -> challenge_harness::Delivery {
    let d = q.receive(1).pop().expect("a delivery");
    assert_eq!(d.id, id);
    d
}

#[test]
fn retries_interleave_with_new_messages_by_availability() {
    let (clock, q) = queue();
    q.enqueue(b"1", None);
    let d1 = one(&q);
    q.nack(d1.token, "boom", true).unwrap(); // back at 1s
    at(&clock, SEC / 2);
    q.enqueue(b"2", None); // 0.5s
    at(&clock, SEC);
    q.enqueue(b"3", None); // 1s, after 1 by id
    at(&clock, 2 * SEC);
    q.enqueue(b"4", None); // 2s
    assert_eq!(ids(&q.receive(10)), [(2, 1), (1, 2), (3, 1), (4, 1)]);
}

#[test]
fn max_attempts_one_dead_letters_on_the_first_failure() {
    let (clock, q) = queue_with(QueueConfig { max_attempts: 1, ..config() });
    q.enqueue(b"nacked", None);
    q.enqueue(b"lapsed", None);
    let [a, _b]: [_; 2] = q.receive(2).try_into().unwrap();
    at(&clock, SEC);
    q.nack(a.token, "bad input", true).unwrap();
    at(&clock, 90 * SEC); // the lapse, at 30s, is noticed only now
    assert_eq!(checked_stats(&q), stats(0, 0, 0, 2, 0, 0));
    let dead = q.dead_letters();
    assert_eq!(dead.len(), 2);
    assert_eq!((dead[0].id, dead[0].reason, dead[0].attempts), (1, DeadReason::MaxAttempts, 1));
    assert_eq!((dead[0].last_error.as_str(), dead[0].first_failure_at, dead[0].dead_at), ("bad input", t(SEC), t(SEC)));
    assert_eq!((dead[1].id, dead[1].reason, dead[1].attempts), (2, DeadReason::MaxAttempts, 1));
    let lapse = t(30 * SEC);
    assert_eq!(
        (dead[1].last_error.as_str(), dead[1].first_failure_at, dead[1].dead_at),
        ("lease expired", lapse, lapse)
    );
}

// ---- fencing ---------------------------------------------------------------------------------

#[test]
fn a_token_works_once_and_only_for_its_own_unexpired_delivery() {
    let (clock, q) = queue();
    q.enqueue(b"a", None);
    q.enqueue(b"b", None);
    let [a, b]: [_; 2] = q.receive(2).try_into().unwrap();
    assert_eq!(q.ack(a.token), Ok(()));
    assert_eq!(q.ack(a.token), Err(StaleLease), "already used");
    assert_eq!(q.nack(a.token, "x", true), Err(StaleLease), "already used");
    for garbage in [0, 1, u64::MAX, a.token.0 ^ b.token.0, b.token.0 + (1 << 32), b.token.0 - (1 << 32)] {
        assert_eq!(q.ack(LeaseToken(garbage)), Err(StaleLease), "token {garbage:#x} never existed");
        assert_eq!(q.nack(LeaseToken(garbage), "x", false), Err(StaleLease));
    }
    at(&clock, 30 * SEC); // b's lease lapses
    let b2 = one(&q);
    let before = checked_stats(&q);
    assert_eq!(q.ack(b.token), Err(StaleLease), "the first delivery's token after redelivery");
    assert_eq!(q.nack(b.token, "x", false), Err(StaleLease));
    assert_eq!(checked_stats(&q), before, "stale calls change nothing");
    assert!(q.dead_letters().is_empty());
    assert_eq!(q.ack(b2.token), Ok(()));
    assert_eq!(checked_stats(&q), stats(0, 0, 0, 0, 2, 1));
}

#[test]
fn tokens_are_never_reused_across_deliveries_or_messages() {
    let (clock, q) = queue_with(QueueConfig { backoff_base: ns(0), max_attempts: 5, ..config() });
    let mut seen = HashSet::new();
    for round in 0..50u64 {
        q.enqueue(&round.to_le_bytes(), None);
        for d in q.receive(10) {
            assert!(seen.insert(d.token), "token {:?} handed out twice", d.token);
            match (round + d.id) % 3 {
                0 => q.ack(d.token).unwrap(),
                1 => q.nack(d.token, "again", true).unwrap(),
                _ => {} // left to lapse
            }
        }
        clock.advance(10 * SEC);
    }
}

// ---- stats -------------------------------------------------------------------------------------

#[test]
fn stats_count_every_state_as_of_now() {
    let (clock, q) = queue();
    q.enqueue(b"ready", None);
    q.enqueue(b"delayed", Some(SEC));
    q.enqueue(b"in flight", None);
    q.enqueue(b"acked", None);
    q.enqueue(b"dead", None);
    assert_eq!(checked_stats(&q), stats(4, 1, 0, 0, 0, 0));
    let got = q.receive(10);
    assert_eq!(ids(&got), [(1, 1), (3, 1), (4, 1), (5, 1)]);
    q.nack(got[0].token, "retry", true).unwrap(); // back at 1s, like 2
    q.ack(got[2].token).unwrap();
    q.nack(got[3].token, "poison", false).unwrap();
    assert_eq!(checked_stats(&q), stats(0, 2, 1, 1, 1, 1));
    at(&clock, SEC);
    assert_eq!(checked_stats(&q), stats(2, 0, 1, 1, 1, 1));
}
