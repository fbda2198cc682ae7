//! The sequential spec as a plain model, and seeded random histories (small durations, so clock
//! moves land on deadlines and backoff ends all the time) replayed through both and compared call
//! by call, stats and conservation included after every call.

use challenge_harness::{
    DeadLetter, DeadReason, Delivery, LeaseToken, MessageQueue, QueueConfig, QueueStats, StaleLease,
};

use super::support::*;

#[derive(Clone, Debug)]
enum State {
    Waiting { at: u64 },
    Leased { deadline: u64, token: LeaseToken },
    Dead(DeadLetter),
    Acked,
}

struct Msg {
    payload: Vec<u8>,
    state: State,
    attempt: u32,
    first_failure: Option<u64>,
}

/// The contract at its plainest: every message in a `Vec` by id, each call first expiring every
/// lease whose deadline has come (which is what "lazy expiry" must be indistinguishable from).
struct Model {
    config: QueueConfig,
    msgs: Vec<Msg>,
    retried: u64,
}

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Model {
    fn expire(&mut self, now: u64) {
        for i in 0..self.msgs.len() {
            if let State::Leased { deadline, .. } = self.msgs[i].state {
                if deadline <= now {
                    self.fail(i, deadline, "lease expired", true, false);
                }
            }
        }
    }

    fn fail(&mut self, i: usize, at: u64, error: &str, retry: bool, backoff: bool) {
        let config = self.config;
        let m = &mut self.msgs[i];
        let first = *m.first_failure.get_or_insert(at);
        if retry && m.attempt < config.max_attempts {
            let wait = if backoff { nanos(config.backoff(m.attempt)) } else { 0 };
            m.state = State::Waiting { at: at.saturating_add(wait) };
            self.retried += 1;
        } else {
            m.state = State::Dead(DeadLetter {
                id: i as u64 + 1,
                payload: m.payload.clone(),
                reason: if retry { DeadReason::MaxAttempts } else { DeadReason::Rejected },
                attempts: m.attempt,
                last_error: error.to_string(),
                first_failure_at: first,
                dead_at: at,
            });
        }
    }

    fn enqueue(&mut self, now: u64, payload: &[u8], delay: Option<u64>) -> u64 {
        self.expire(now);
        let at = now.saturating_add(delay.unwrap_or(0));
        self.msgs.push(Msg {
            payload: payload.to_vec(),
            state: State::Waiting { at },
            attempt: 0,
            first_failure: None,
        });
        self.msgs.len() as u64
    }

    /// `(id, attempt, payload)` of what `receive(max)` must hand out. The model cannot know the
    /// tokens: [`Model::adopt`] takes the real queue's.
    fn receive(&mut self, now: u64, max: usize) -> Vec<(u64, u32, Vec<u8>)> {
        self.expire(now);
        let mut available: Vec<(u64, usize)> = (self.msgs.iter().enumerate())
            .filter_map(|(i, m)| match m.state {
                State::Waiting { at } if at <= now => Some((at, i)),
                _ => None,
            })
            .collect();
        available.sort();
        available.truncate(max);
        available
            .into_iter()
            .map(|(_, i)| {
                let m = &mut self.msgs[i];
                m.attempt += 1;
                (i as u64 + 1, m.attempt, m.payload.clone())
            })
            .collect()
    }

    fn adopt(&mut self, now: u64, deliveries: &[Delivery]) {
        let deadline = now.saturating_add(nanos(self.config.visibility_timeout));
        for d in deliveries {
            self.msgs[d.id as usize - 1].state = State::Leased { deadline, token: d.token };
        }
    }

    fn leased(&mut self, now: u64, token: LeaseToken) -> Result<usize, StaleLease> {
        self.expire(now);
        (self.msgs.iter())
            .position(|m| matches!(m.state, State::Leased { token: t, deadline } if t == token && now < deadline))
            .ok_or(StaleLease)
    }

    fn ack(&mut self, now: u64, token: LeaseToken) -> Result<(), StaleLease> {
        let i = self.leased(now, token)?;
        self.msgs[i].state = State::Acked;
        Ok(())
    }

    fn nack(&mut self, now: u64, token: LeaseToken, error: &str, retry: bool) -> Result<(), StaleLease> {
        let i = self.leased(now, token)?;
        self.fail(i, now, error, retry, true);
        Ok(())
    }

    fn dead_letters(&mut self, now: u64) -> Vec<DeadLetter> {
        self.expire(now);
        let mut dead: Vec<DeadLetter> = (self.msgs.iter())
            .filter_map(|m| match &m.state {
                State::Dead(d) => Some(d.clone()),
                _ => None,
            })
            .collect();
        dead.sort_by_key(|d| (d.dead_at, d.id));
        dead
    }

    fn redrive(&mut self, now: u64, ids: Option<&[u64]>) -> usize {
        self.expire(now);
        let mut moved = 0;
        for (i, m) in self.msgs.iter_mut().enumerate() {
            let listed = ids.is_none_or(|ids| ids.contains(&(i as u64 + 1)));
            if listed && matches!(m.state, State::Dead(_)) {
                m.state = State::Waiting { at: now };
                m.attempt = 0;
                m.first_failure = None;
                moved += 1;
            }
        }
        moved
    }

    fn stats(&mut self, now: u64) -> QueueStats {
        self.expire(now);
        let mut s = QueueStats { retried: self.retried, ..QueueStats::default() };
        for m in &self.msgs {
            match m.state {
                State::Waiting { at } if at <= now => s.ready += 1,
                State::Waiting { .. } => s.delayed += 1,
                State::Leased { .. } => s.in_flight += 1,
                State::Dead(_) => s.dead += 1,
                State::Acked => s.acked += 1,
            }
        }
        s
    }
}

fn random_config(rng: &mut Rng) -> QueueConfig {
    QueueConfig {
        visibility_timeout: ns(1 + rng.below(8)),
        max_attempts: 1 + rng.below(4) as u32,
        backoff_base: ns(rng.below(4)),
        backoff_max: ns(rng.below(10)),
    }
}

#[test]
fn matches_the_sequential_model_on_random_histories() {
    for seed in 0..300 {
        let mut rng = Rng::new(seed);
        let config = random_config(&mut rng);
        let (clock, q) = queue_with(config);
        let mut model = Model { config, msgs: Vec::new(), retried: 0 };
        let mut tokens: Vec<LeaseToken> = Vec::new();
        for step in 0..300 {
            if rng.below(3) == 0 {
                clock.advance(ns(rng.below(6)));
            }
            let now = clock.clock().now();
            let at = format!("seed {seed}, step {step}, {config:?}");
            // Mostly the latest tokens (likely live), sometimes an old one, sometimes garbage.
            let token = match (tokens.len() as u64, rng.below(10)) {
                (0, _) | (_, 0) => LeaseToken(rng.below(1 << 40)),
                (n, 1 | 2) => tokens[rng.below(n) as usize],
                (n, _) => tokens[(n - 1 - rng.below(n.min(4))) as usize],
            };
            match rng.below(20) {
                0..=4 => {
                    let delay = [None, None, Some(0), Some(1), Some(3)][rng.below(5) as usize];
                    let payload = step.to_string();
                    let id = q.enqueue(payload.as_bytes(), delay.map(ns));
                    assert_eq!(id, model.enqueue(now, payload.as_bytes(), delay), "enqueue, {at}");
                }
                5..=8 => {
                    let max = rng.below(4) as usize;
                    let got = q.receive(max);
                    let want = model.receive(now, max);
                    let seen: Vec<_> = got.iter().map(|d| (d.id, d.attempt, d.payload.clone())).collect();
                    assert_eq!(seen, want, "receive({max}), {at}");
                    for d in &got {
                        assert!(!tokens.contains(&d.token), "token reused, {at}");
                    }
                    tokens.extend(got.iter().map(|d| d.token));
                    model.adopt(now, &got);
                }
                9..=11 => assert_eq!(q.ack(token), model.ack(now, token), "ack, {at}"),
                12..=15 => {
                    let retry = rng.below(4) != 0;
                    let error = format!("error at step {step}");
                    assert_eq!(q.nack(token, &error, retry), model.nack(now, token, &error, retry), "nack, {at}");
                }
                16 => assert_eq!(q.dead_letters(), model.dead_letters(now), "dead_letters, {at}"),
                17 => {
                    let ids: Vec<u64> = (0..rng.below(4)).map(|_| 1 + rng.below(model.msgs.len() as u64 + 2)).collect();
                    let ids = (rng.below(3) != 0).then_some(ids.as_slice());
                    assert_eq!(q.redrive(ids), model.redrive(now, ids), "redrive({ids:?}), {at}");
                }
                _ => clock.advance(ns(rng.below(12))),
            }
            let now = clock.clock().now();
            let s = checked_stats(&q);
            assert_eq!(s, model.stats(now), "stats, {at}");
            let sum = s.ready + s.delayed + s.in_flight + s.dead + s.acked;
            assert_eq!(sum, model.msgs.len() as u64, "conservation, {at}");
        }
        assert_eq!(q.dead_letters(), model.dead_letters(clock.clock().now()), "seed {seed}: the final dead letters");
    }
}

#[test]
fn the_lease_records_stay_bounded_behind_one_long_lease() {
    let (_, q) = queue();
    q.enqueue(b"held", None);
    let _held = one(&q);
    for i in 0..10_000u32 {
        q.enqueue(&i.to_le_bytes(), None);
        let d = one(&q);
        q.ack(d.token).unwrap();
        assert!(q.inspect(|s| s.lease_records()) <= 2 + 64 + 1, "after {i} acks");
    }
}
