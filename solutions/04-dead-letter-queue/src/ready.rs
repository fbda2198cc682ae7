//! The waiting messages, in the order `receive` must hand them out: by the instant each became
//! available, ties by id.
//!
//! Most messages are enqueued with no delay, and such a message sorts after every message already
//! waiting (it became available now, the latest instant yet, and its id is the highest yet). So
//! the common case is a plain FIFO, `O(1)` at both ends with no comparisons. Everything else —
//! retries after a backoff, expired leases (available at their expiry instant, which may be in
//! the past), redriven dead letters, delayed enqueues — is appended to the FIFO too when it
//! happens to sort after its back, and otherwise goes to one of two min-heaps:
//! - `later`: available after the latest time seen, so not ready yet (the `delayed` count);
//! - `due`: available already, but out of FIFO order.
//!
//! `pop` merges the FIFO's front with `due`'s top. Each of the three is sorted on its own, so the
//! merge yields exact `(available_at, id)` order. Entries are never stale: a waiting message
//! leaves only through `pop`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A waiting message: its sort key and where its record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    /// The instant it becomes (or became) available.
    pub(crate) at: u64,
    pub(crate) id: u64,
    pub(crate) slot: u32,
}

/// The waiting messages.
#[derive(Default)]
pub(crate) struct ReadyQueue {
    /// Available now, sorted.
    fifo: VecDeque<Entry>,
    /// Available now, sorted only as a heap.
    due: BinaryHeap<Reverse<Entry>>,
    /// Available after `now` as of the last [`ReadyQueue::promote`].
    later: BinaryHeap<Reverse<Entry>>,
}

impl ReadyQueue {
    /// Adds a waiting message; `now` is the latest time seen.
    #[inline]
    pub(crate) fn push(&mut self, entry: Entry, now: u64) {
        if entry.at > now {
            self.later.push(Reverse(entry));
        } else if self.fifo.back().is_none_or(|back| *back < entry) {
            self.fifo.push_back(entry);
        } else {
            self.due.push(Reverse(entry));
        }
    }

    /// Moves what has become available by `now` out of `later`.
    #[inline]
    pub(crate) fn promote(&mut self, now: u64) {
        while let Some(&Reverse(entry)) = self.later.peek() {
            if entry.at > now {
                break;
            }
            self.later.pop();
            self.push(entry, now);
        }
    }

    /// Takes the first message available (as of the last `promote`).
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Entry> {
        let Some(Reverse(due)) = self.due.peek() else {
            return self.fifo.pop_front();
        };
        match self.fifo.front() {
            Some(front) if front < due => self.fifo.pop_front(),
            _ => self.due.pop().map(|Reverse(entry)| entry),
        }
    }

    /// Messages available now.
    #[inline]
    pub(crate) fn ready(&self) -> usize {
        self.fifo.len() + self.due.len()
    }

    /// Messages that become available later.
    #[inline]
    pub(crate) fn delayed(&self) -> usize {
        self.later.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(at: u64, id: u64) -> Entry {
        Entry { at, id, slot: id as u32 }
    }

    #[test]
    fn pops_in_availability_order_ties_by_id_across_all_three_parts() {
        let mut q = ReadyQueue::default();
        q.push(e(5, 1), 5);
        q.push(e(5, 4), 5);
        q.push(e(3, 7), 5); // an expiry in the past: out of FIFO order
        q.push(e(5, 2), 5); // a redrive at now of a lower id
        q.push(e(9, 3), 5); // a backoff
        q.push(e(9, 0), 5);
        assert_eq!((q.ready(), q.delayed()), (4, 2));
        q.promote(8);
        assert_eq!((q.ready(), q.delayed()), (4, 2), "not yet at 8");
        q.promote(9);
        assert_eq!((q.ready(), q.delayed()), (6, 0));
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|e| (e.at, e.id)).collect();
        assert_eq!(order, [(3, 7), (5, 1), (5, 2), (5, 4), (9, 0), (9, 3)]);
    }
}
