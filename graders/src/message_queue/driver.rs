//! The worker side: builds the learner's queue through its exported table and drives it through
//! one scenario, streaming what came back. It decides nothing.

use std::collections::BTreeMap;
use std::ffi::c_void;

use challenge_harness::ffi::{
    BytesC, DeadLetterC, DeadLetterSinkC, DeliveryC, DeliverySinkC, MessageQueueTable, QueueConfigC, QueueStatsC,
    Status, Str, DEAD_REJECTED, STATUS_OK, STATUS_PANIC, STATUS_STALE_LEASE,
};

use super::observation::{Dead, Delivered, Observation, Outcome, Stats};
use super::script::{Action, Config, Scenario, Script, Step};
use super::storm;
use crate::host::{Host, EPOCH};
use crate::Nanos;

/// A queue living inside a plugin.
pub struct Queue {
    table: &'static MessageQueueTable,
    host: &'static Host,
    this: *mut c_void,
}

// SAFETY: the learner's type is `Send + Sync` (the trait demands it, checked when the plugin was
// compiled), and the table's functions only borrow it.
unsafe impl Send for Queue {}
unsafe impl Sync for Queue {}

/// One delivery as it came back, bytes and all.
#[derive(Clone, Debug)]
pub struct RawDelivery {
    /// `id`.
    pub id: u64,
    /// `payload`.
    pub payload: Vec<u8>,
    /// `attempt`.
    pub attempt: u32,
    /// `token`.
    pub token: u64,
}

/// One dead letter as it came back.
#[derive(Clone, Debug)]
pub struct RawDead {
    /// The record, with the payload as text.
    pub dead: Dead,
    /// The payload's bytes.
    pub payload: Vec<u8>,
}

fn failed(status: Status) -> String {
    match status {
        STATUS_PANIC => Host::take_panic(),
        other => format!("the call returned unknown status {other}"),
    }
}

fn status(status: Status) -> Result<(), String> {
    match status {
        STATUS_OK => Ok(()),
        other => Err(failed(other)),
    }
}

extern "C" fn push_delivery(ctx: *mut c_void, d: *const DeliveryC) {
    // SAFETY: ctx is the `Vec` the caller lent for this call; `d` and its payload are borrowed
    // for this callback, and copied here.
    let (out, d) = unsafe { (&mut *ctx.cast::<Vec<RawDelivery>>(), &*d) };
    let payload = unsafe { d.payload.as_slice() }.to_vec();
    out.push(RawDelivery { id: d.id, payload, attempt: d.attempt, token: d.token });
}

extern "C" fn push_dead(ctx: *mut c_void, d: *const DeadLetterC) {
    // SAFETY: as in `push_delivery`.
    let (out, d) = unsafe { (&mut *ctx.cast::<Vec<RawDead>>(), &*d) };
    let (payload, last_error) = unsafe { (d.payload.as_slice().to_vec(), d.last_error.as_slice()) };
    let time = |t: u64| Nanos(t.saturating_sub(EPOCH));
    out.push(RawDead {
        dead: Dead {
            id: d.id,
            payload: String::from_utf8_lossy(&payload).into_owned(),
            payload_intact: false,
            rejected: d.reason == DEAD_REJECTED,
            attempts: d.attempts,
            last_error: String::from_utf8_lossy(last_error).into_owned(),
            first_failure_at: time(d.first_failure_at),
            dead_at: time(d.dead_at),
        },
        payload,
    });
}

impl Queue {
    /// Calls the plugin's `create`; `Err` carries the panic message.
    pub fn new(table: &'static MessageQueueTable, host: &'static Host, config: &Config) -> Result<Queue, String> {
        let c = QueueConfigC {
            visibility_timeout_nanos: config.visibility_timeout.0,
            max_attempts: config.max_attempts,
            backoff_base_nanos: config.backoff_base.0,
            backoff_max_nanos: config.backoff_max.0,
        };
        let mut this = std::ptr::null_mut();
        status((table.create)(host.api(), c, &mut this))?;
        Ok(Queue { table, host, this })
    }

    /// `enqueue(payload, delay)`.
    pub fn enqueue(&self, payload: &[u8], delay: Option<Nanos>) -> Result<u64, String> {
        let mut id = 0;
        let (has, nanos) = (delay.is_some(), delay.map_or(0, |d| d.0));
        status((self.table.enqueue)(self.host.api(), self.this, BytesC::new(payload), has, nanos, &mut id))?;
        Ok(id)
    }

    /// `receive(max)`.
    pub fn receive(&self, max: u64) -> Result<Vec<RawDelivery>, String> {
        let mut out: Vec<RawDelivery> = Vec::new();
        let sink = DeliverySinkC { ctx: (&mut out as *mut Vec<RawDelivery>).cast(), push: push_delivery };
        status((self.table.receive)(self.host.api(), self.this, max, sink))?;
        Ok(out)
    }

    /// `ack(token)`: whether it took effect.
    pub fn ack(&self, token: u64) -> Result<bool, String> {
        match (self.table.ack)(self.host.api(), self.this, token) {
            STATUS_OK => Ok(true),
            STATUS_STALE_LEASE => Ok(false),
            other => Err(failed(other)),
        }
    }

    /// `nack(token, error, retry)`: whether it took effect.
    pub fn nack(&self, token: u64, error: &str, retry: bool) -> Result<bool, String> {
        match (self.table.nack)(self.host.api(), self.this, token, Str::new(error), retry) {
            STATUS_OK => Ok(true),
            STATUS_STALE_LEASE => Ok(false),
            other => Err(failed(other)),
        }
    }

    /// `dead_letters()`.
    pub fn dead_letters(&self) -> Result<Vec<RawDead>, String> {
        let mut out: Vec<RawDead> = Vec::new();
        let sink = DeadLetterSinkC { ctx: (&mut out as *mut Vec<RawDead>).cast(), push: push_dead };
        status((self.table.dead_letters)(self.host.api(), self.this, sink))?;
        Ok(out)
    }

    /// `redrive(ids)`: how many moved.
    pub fn redrive(&self, ids: Option<&[u64]>) -> Result<u64, String> {
        let mut moved = 0;
        let (has, ptr, len) = match ids {
            Some(ids) => (true, ids.as_ptr(), ids.len()),
            None => (false, std::ptr::null(), 0),
        };
        status((self.table.redrive)(self.host.api(), self.this, has, ptr, len, &mut moved))?;
        Ok(moved)
    }

    /// `stats()`.
    pub fn stats(&self) -> Result<Stats, String> {
        let mut s = QueueStatsC::default();
        status((self.table.stats)(self.host.api(), self.this, &mut s))?;
        let QueueStatsC { ready, delayed, in_flight, dead, acked, retried } = s;
        Ok(Stats { ready, delayed, in_flight, dead, acked, retried })
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // A panicking destructor was reported to the host; the scenario's verdict is already out.
        let _ = (self.table.destroy)(self.host.api(), self.this);
    }
}

/// The dead letters, each marked with whether its payload is the one enqueued under its id.
pub fn marked(dead: Vec<RawDead>, payload_of: impl Fn(u64) -> Option<Vec<u8>>) -> Vec<Dead> {
    dead.into_iter()
        .map(|raw| Dead { payload_intact: payload_of(raw.dead.id).as_deref() == Some(&raw.payload[..]), ..raw.dead })
        .collect()
}

/// Runs `scenario` against `learner` (and `reference` for checks that compare), sending each
/// observation to `emit`. `Err` is a panic in the learner's constructor.
pub fn drive(
    learner: &'static MessageQueueTable,
    reference: Option<&'static MessageQueueTable>,
    host: &'static Host,
    scenario: &Scenario,
    seed: u64,
    emit: &mut dyn FnMut(Observation),
) -> Result<(), String> {
    match &scenario.script {
        Script::Steps(steps) => {
            let queue = Queue::new(learner, host, &scenario.config)?;
            run_steps(&queue, host, steps, emit);
            Ok(())
        }
        Script::Check(check) => storm::run(learner, reference, host, &scenario.config, check, seed, emit),
    }
}

fn run_steps(queue: &Queue, host: &Host, steps: &[Step], emit: &mut dyn FnMut(Observation)) {
    let mut payloads: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut tokens: BTreeMap<String, u64> = BTreeMap::new();
    for (index, step) in steps.iter().enumerate() {
        if let Some(at) = step.at {
            host.set_time(at);
        }
        emit(Observation::StepStarted { index, at: host.time() });
        let token = |name: &str| tokens.get(name).copied().unwrap_or(u64::MAX);
        let result = match &step.action {
            Action::Enqueue { payload, delay, .. } => queue.enqueue(payload.as_bytes(), *delay).map(|id| {
                payloads.insert(id, payload.as_bytes().to_vec());
                Outcome::Enqueued(id)
            }),
            Action::Receive { max, names, .. } => queue.receive(*max).map(|deliveries| {
                for (name, d) in names.iter().zip(&deliveries) {
                    tokens.insert(name.clone(), d.token);
                }
                Outcome::Received(
                    deliveries
                        .into_iter()
                        .map(|d| Delivered {
                            id: d.id,
                            payload: String::from_utf8_lossy(&d.payload).into_owned(),
                            attempt: d.attempt,
                            token: d.token,
                        })
                        .collect(),
                )
            }),
            Action::Ack { delivery, .. } => queue.ack(token(delivery)).map(Outcome::Settled),
            Action::Nack { delivery, error, retry, .. } => queue.nack(token(delivery), error, *retry).map(Outcome::Settled),
            Action::DeadLetters { .. } => {
                queue.dead_letters().map(|dead| Outcome::DeadLetters(marked(dead, |id| payloads.get(&id).cloned())))
            }
            Action::Redrive { ids, .. } => queue.redrive(ids.as_deref()).map(Outcome::Redriven),
            Action::Stats { .. } => queue.stats().map(Outcome::Stats),
        };
        let outcome = result.unwrap_or_else(|message| Outcome::Panic { message });
        let stop = outcome.panic().is_some();
        emit(Observation::Step { index, at: host.time(), outcome });
        if stop {
            return;
        }
    }
}
