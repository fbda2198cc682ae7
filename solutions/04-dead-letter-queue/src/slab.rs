//! The live messages (waiting or leased) as records in one `Vec`, addressed by a `u32` slot, and
//! the lease tokens that name one delivery of one slot.
//!
//! A token is the slot in its low half and the slot's *generation* in its high half. Every
//! delivery from a slot bumps the generation, and the generation carries on when the slot is
//! freed and reused by a later message, so no two deliveries ever get the same token: checking a
//! token is one bounds check and two compares, with no map from tokens to messages. A slot whose
//! generation comes near `u32::MAX` is retired instead of reused, so it can never wrap around and
//! repeat a token (a slot serves at most [`MAX_ATTEMPTS`] deliveries between being taken and freed,
//! since a message leaves the slab when it is dead-lettered).
//!
//! Dead letters are not here: a message that dies takes its payload to [`crate::dead`] and frees
//! its slot, so the slab holds only messages that `receive` or a lease can still reach.

use challenge_harness::LeaseToken;

/// The most deliveries a message may get between enqueue (or redrive) and its death: the
/// contract's upper bound on `max_attempts`.
pub(crate) const MAX_ATTEMPTS: u32 = 1000;

/// Where a live message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// The slot holds no message.
    Free,
    /// Available at `at` (now, or later): in [`crate::ready`].
    Waiting,
    /// Leased until `at`: in [`crate::leases`].
    Leased,
}

/// One message. Its position in the ready or lease queues is kept there, not here.
pub(crate) struct Record {
    pub(crate) id: u64,
    /// When `Waiting`: the instant it becomes (or became) available. When `Leased`: the deadline.
    pub(crate) at: u64,
    /// The first failure since enqueue or redrive; meaningful only when `failed`.
    pub(crate) first_failure_at: u64,
    pub(crate) payload: Box<[u8]>,
    /// Deliveries since enqueue or redrive.
    pub(crate) attempt: u32,
    /// Deliveries this slot has made, across every message it held: the token's high half.
    generation: u32,
    pub(crate) state: State,
    pub(crate) failed: bool,
}

/// The records and the slots free for reuse.
#[derive(Default)]
pub(crate) struct Slab {
    records: Vec<Record>,
    /// Freed slots, reused last-freed first: that record is the likeliest to still be in cache.
    free: Vec<u32>,
}

impl Slab {
    /// Stores a fresh message (no attempts, no failure), waiting from `at`, and returns its slot.
    #[inline]
    pub(crate) fn insert(&mut self, id: u64, at: u64, payload: Box<[u8]>) -> u32 {
        if let Some(slot) = self.free.pop() {
            let r = &mut self.records[slot as usize];
            r.id = id;
            r.at = at;
            r.payload = payload;
            r.attempt = 0;
            r.state = State::Waiting;
            r.failed = false;
            return slot;
        }
        let slot = u32::try_from(self.records.len()).expect("more than 2^32 live messages");
        self.records.push(Record {
            id,
            at,
            first_failure_at: 0,
            payload,
            attempt: 0,
            generation: 0,
            state: State::Waiting,
            failed: false,
        });
        slot
    }

    /// Frees `slot` and hands back its payload, for the caller to drop outside the lock or to
    /// move into the dead-letter queue.
    #[inline]
    pub(crate) fn remove(&mut self, slot: u32) -> Box<[u8]> {
        let r = &mut self.records[slot as usize];
        debug_assert_ne!(r.state, State::Free);
        r.state = State::Free;
        // Reusing a slot this close to the end of its generations could wrap one (see the module
        // docs); retiring it costs one unused record, once per four billion deliveries.
        if r.generation <= u32::MAX - MAX_ATTEMPTS {
            self.free.push(slot);
        }
        core::mem::take(&mut r.payload)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut Record {
        &mut self.records[slot as usize]
    }

    /// Leases the waiting message in `slot` until `deadline`: one more attempt, a new token.
    #[inline]
    pub(crate) fn lease(&mut self, slot: u32, deadline: u64) -> (LeaseToken, &Record) {
        let r = &mut self.records[slot as usize];
        debug_assert_eq!(r.state, State::Waiting);
        r.attempt += 1;
        r.generation += 1;
        r.state = State::Leased;
        r.at = deadline;
        (token(slot, r.generation), r)
    }

    /// Whether `generation` is the current, still-leased delivery of `slot`.
    #[inline]
    pub(crate) fn is_leased(&self, slot: u32, generation: u32) -> bool {
        self.records.get(slot as usize).is_some_and(|r| r.state == State::Leased && r.generation == generation)
    }

    /// The slot whose current lease `token` is, if it is one (its expiry is the caller's to check).
    #[inline]
    pub(crate) fn leased(&self, token: LeaseToken) -> Option<u32> {
        let (slot, generation) = split(token);
        self.is_leased(slot, generation).then_some(slot)
    }

    /// Live messages (waiting or leased).
    #[cfg(test)]
    pub(crate) fn live(&self) -> usize {
        self.records.iter().filter(|r| r.state != State::Free).count()
    }
}

/// The token of delivery `generation` from `slot`. Generations start at 1, so no token is ever 0.
#[inline]
pub(crate) fn token(slot: u32, generation: u32) -> LeaseToken {
    LeaseToken(u64::from(generation) << 32 | u64::from(slot))
}

/// `token`'s slot and generation.
#[inline]
pub(crate) fn split(token: LeaseToken) -> (u32, u32) {
    (token.0 as u32, (token.0 >> 32) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_one_delivery_and_survive_slot_reuse() {
        let mut slab = Slab::default();
        let a = slab.insert(1, 0, Box::from(&b"a"[..]));
        let (t1, _) = slab.lease(a, 10);
        assert_eq!(slab.leased(t1), Some(a));
        slab.get_mut(a).state = State::Waiting;
        let (t2, _) = slab.lease(a, 20);
        assert_ne!(t1, t2);
        assert_eq!(slab.leased(t1), None, "the earlier delivery's token is stale");
        assert_eq!(&*slab.remove(a), b"a");
        assert_eq!(slab.leased(t2), None, "a freed slot has no lease");
        let b = slab.insert(2, 0, Box::from(&b"b"[..]));
        assert_eq!(a, b, "the freed slot is reused");
        let (t3, r) = slab.lease(b, 30);
        assert_eq!((r.id, r.attempt), (2, 1));
        assert!(t3 != t1 && t3 != t2, "generations carry on across messages");
        assert_eq!(slab.leased(LeaseToken(0)), None);
        assert_eq!(slab.leased(LeaseToken(u64::MAX)), None);
    }

    #[test]
    fn a_slot_near_the_end_of_its_generations_is_retired() {
        let mut slab = Slab::default();
        let a = slab.insert(1, 0, Box::default());
        slab.get_mut(a).generation = u32::MAX - MAX_ATTEMPTS;
        slab.lease(a, 1);
        slab.remove(a);
        assert_ne!(slab.insert(2, 0, Box::default()), a);
    }
}
