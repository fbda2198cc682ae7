//! Which entry expires when: a min-heap of `(expiry, node)` records, so that finding what is due
//! costs one comparison when nothing is, and `O(log n)` per entry that is.
//!
//! Expired entries must be found before they are noticed: `len()` and capacity must not count
//! them, and `metrics()` must count their expirations the instant they happen. Scanning for them
//! would cost `O(n)` per call; the heap hands them over in expiry order.
//!
//! A record is never removed when its entry goes away early (removed, evicted, cleared, or put
//! again with a new expiry): that would need a position index kept up to date through every heap
//! move. Instead a record is *stale* once the node it names no longer carries its expiry, and the
//! owner skips stale records as they surface. A record that names a node since reused by another
//! entry with the very same expiry is not stale but harmless: that entry is genuinely expired when
//! the record comes due. Stale records are dropped in bulk by [`ExpiryQueue::compact`] once they
//! outnumber the live ones, so the heap stays within twice the number of expiring entries, and
//! entries put without a TTL never enter it at all.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Records beyond twice the expiring entries that the heap tolerates before compacting; it keeps
/// tiny caches from compacting on every other put.
const SLACK: usize = 64;

/// The expiry records, earliest first.
#[derive(Default)]
pub(crate) struct ExpiryQueue {
    heap: BinaryHeap<Reverse<(u64, u32)>>,
}

impl ExpiryQueue {
    /// Records that node `i` expires at `expires`.
    #[inline]
    pub(crate) fn push(&mut self, expires: u64, i: u32) {
        self.heap.push(Reverse((expires, i)));
    }

    /// Takes the earliest record if it is due at `now` (its expiry is `<= now`).
    #[inline]
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<(u64, u32)> {
        match self.heap.peek() {
            Some(&Reverse((expires, _))) if expires <= now => self.heap.pop().map(|Reverse(record)| record),
            _ => None,
        }
    }

    /// Whether the heap holds many more records than the `expiring` entries need.
    #[inline]
    pub(crate) fn needs_compaction(&self, expiring: usize) -> bool {
        self.heap.len() > 2 * expiring + SLACK
    }

    /// Keeps one record per node for which `is_current` holds. `O(n log n)` in the records, which
    /// a compaction only starts once more than half of them are stale, so it is amortised over at
    /// least as many pushes.
    pub(crate) fn compact(&mut self, is_current: impl Fn(u64, u32) -> bool) {
        let mut records = std::mem::take(&mut self.heap).into_vec();
        records.retain(|&Reverse((expires, i))| is_current(expires, i));
        // The same node may have been recorded twice with the same expiry (freed and reused at the
        // same instant with the same TTL); one record is enough.
        records.sort_unstable();
        records.dedup();
        self.heap = BinaryHeap::from(records);
    }

    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_records_come_out_earliest_first_and_only_when_due() {
        let mut q = ExpiryQueue::default();
        q.push(30, 3);
        q.push(10, 1);
        q.push(20, 2);
        assert_eq!(q.pop_due(9), None);
        assert_eq!(q.pop_due(10), Some((10, 1)));
        assert_eq!(q.pop_due(25), Some((20, 2)));
        assert_eq!(q.pop_due(25), None);
        assert_eq!(q.pop_due(u64::MAX - 1), Some((30, 3)));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn compaction_keeps_one_current_record_per_node() {
        let mut q = ExpiryQueue::default();
        for i in 0..100 {
            q.push(5, 7);
            q.push(i, 8);
        }
        assert!(q.needs_compaction(2));
        q.compact(|expires, i| (i == 7 && expires == 5) || (i == 8 && expires == 99));
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop_due(1000), Some((5, 7)));
        assert_eq!(q.pop_due(1000), Some((99, 8)));
    }
}
