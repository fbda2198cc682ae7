//! Which lease expires when: a deque of `(deadline, slot, generation)` records in deadline order.
//!
//! Every lease lasts the same `visibility_timeout` and time never moves backwards (readings are
//! made monotonic), so leases granted later expire no earlier: appending keeps the deque sorted,
//! and no heap is needed. Finding what is due costs one comparison when nothing is.
//!
//! A record is not removed when its lease ends early (acked or nacked): that would need its
//! position. It is *stale* once its slot's current delivery is no longer that generation, and the
//! owner drops stale records as they reach the front. A lease held longer than those granted
//! after it would keep them all behind it, so once stale records outnumber live ones the deque is
//! [compacted](LeaseQueue::compact): it stays within twice the leases in flight.

use std::collections::VecDeque;

/// Records beyond twice the leases in flight that the deque tolerates before compacting; it keeps
/// a queue with a handful of leases from compacting on every ack.
const SLACK: usize = 64;

/// One lease granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lease {
    pub(crate) deadline: u64,
    pub(crate) slot: u32,
    pub(crate) generation: u32,
}

/// The leases granted, earliest deadline first; some may be stale.
#[derive(Default)]
pub(crate) struct LeaseQueue {
    deque: VecDeque<Lease>,
}

impl LeaseQueue {
    #[inline]
    pub(crate) fn push(&mut self, lease: Lease) {
        debug_assert!(self.deque.back().is_none_or(|back| back.deadline <= lease.deadline));
        self.deque.push_back(lease);
    }

    #[inline]
    pub(crate) fn front(&self) -> Option<Lease> {
        self.deque.front().copied()
    }

    #[inline]
    pub(crate) fn pop_front(&mut self) {
        self.deque.pop_front();
    }

    /// Whether the deque holds many more records than the `in_flight` leases need.
    #[inline]
    pub(crate) fn needs_compaction(&self, in_flight: usize) -> bool {
        self.deque.len() > 2 * in_flight + SLACK
    }

    /// Keeps the records for which `is_live` holds, in order. `O(n)`, and it only runs once more
    /// than half the records are stale, so it is amortised over at least as many acks and nacks.
    pub(crate) fn compact(&mut self, is_live: impl Fn(Lease) -> bool) {
        self.deque.retain(|&lease| is_live(lease));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.deque.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compaction_keeps_the_live_records_in_order() {
        let mut q = LeaseQueue::default();
        for slot in 0..200 {
            q.push(Lease { deadline: u64::from(slot), slot, generation: 1 });
        }
        assert!(q.needs_compaction(3));
        q.compact(|l| l.slot % 70 == 0);
        assert_eq!(q.len(), 3);
        assert!(!q.needs_compaction(3));
        let slots: Vec<u32> = std::iter::from_fn(|| {
            let front = q.front();
            q.pop_front();
            front
        })
        .map(|l| l.slot)
        .collect();
        assert_eq!(slots, [0, 70, 140]);
    }
}
