//! The dead-letter queue: messages that will not be delivered again until redriven, by id.
//!
//! Kept by id (a `BTreeMap`), because that is how `redrive` names them and the order in which a
//! redrive of many at one instant must make them available (ties by id). `dead_letters()` wants
//! them by death instead; it sorts a copy, since it is a rare, inspecting call and the map would
//! otherwise need a second index kept up to date through every death and redrive.

use std::collections::BTreeMap;

use challenge_harness::{DeadLetter, DeadReason};

/// One dead message: everything its [`DeadLetter`] reports, and its payload.
pub(crate) struct Dead {
    pub(crate) payload: Box<[u8]>,
    pub(crate) reason: DeadReason,
    pub(crate) attempts: u32,
    pub(crate) last_error: Box<str>,
    pub(crate) first_failure_at: u64,
    pub(crate) dead_at: u64,
}

/// The dead letters.
#[derive(Default)]
pub(crate) struct DeadLetterQueue {
    by_id: BTreeMap<u64, Dead>,
}

impl DeadLetterQueue {
    pub(crate) fn insert(&mut self, id: u64, dead: Dead) {
        let previous = self.by_id.insert(id, dead);
        debug_assert!(previous.is_none(), "message {id} died twice without a redrive");
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Copies of every dead letter, oldest death first, ties by id.
    pub(crate) fn list(&self) -> Vec<DeadLetter> {
        let mut list: Vec<DeadLetter> = self
            .by_id
            .iter()
            .map(|(&id, d)| DeadLetter {
                id,
                payload: d.payload.to_vec(),
                reason: d.reason,
                attempts: d.attempts,
                last_error: d.last_error.to_string(),
                first_failure_at: d.first_failure_at,
                dead_at: d.dead_at,
            })
            .collect();
        // Stable, and the map iterates by id: ties stay by id.
        list.sort_by_key(|d| d.dead_at);
        list
    }

    /// Takes the listed dead letters (all with `None`), each once, and returns their ids and
    /// payloads by id. Ids that are not here, or listed twice, are skipped.
    pub(crate) fn take(&mut self, ids: Option<&[u64]>) -> Vec<(u64, Box<[u8]>)> {
        match ids {
            None => core::mem::take(&mut self.by_id).into_iter().map(|(id, d)| (id, d.payload)).collect(),
            Some(ids) => {
                let mut taken: Vec<(u64, Box<[u8]>)> =
                    ids.iter().filter_map(|&id| self.by_id.remove(&id).map(|d| (id, d.payload))).collect();
                taken.sort_unstable_by_key(|&(id, _)| id);
                taken
            }
        }
    }
}
