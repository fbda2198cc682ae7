//! The callers blocked in `acquire`, first come first served, and the direct handoff that
//! serves them.
//!
//! A blocked caller owns a [`Waiter`] on its own stack and links it at the back of the pool's
//! [`WaitQueue`], under the pool's lock. Whoever frees a connection or room while callers wait
//! unlinks the *front* waiter and writes its [`Grant`] into that waiter's slot, under the same
//! lock, then wakes its thread once the lock is released. The connection never passes through
//! the idle set, so a newer `acquire` cannot find it there and barge in: that is what makes the
//! queue strictly FIFO, not merely "wake one and let them race" as with a condition variable.
//!
//! A waiter whose deadline passes takes the lock and looks at its slot once more: if a grant
//! arrived first, it is served (the grant is its); otherwise it unlinks itself and nothing was
//! lost, because nothing was handed to it. Either way the next grant goes to the next waiter.
//!
//! Why nodes on the waiters' stacks: no allocation per wait, and unlinking from the middle (a
//! timeout) is O(1), which matters with 10,000 waiters. Why a flag and park/unpark rather than a
//! condvar: the waiter can see its grant without taking the lock again, and a waiter still
//! spinning when its grant lands is never put to sleep or woken at all (`unpark` on a running
//! thread is one atomic swap, no system call).
//!
//! Safety: the queue holds raw pointers to stack nodes. Every link field is touched only under
//! the pool's lock (the queue lives inside the locked state). A node stays where it is from
//! [`WaitQueue::join`] until either [`WaitQueue::leave`] returns for it or [`Waiter::wait`]
//! returned its grant: the server unlinks it, writes the grant and only then sets `granted`
//! (release), and never touches it again; the owner reads the grant only after seeing `granted`
//! (acquire). The server wakes the thread through its own clone of the `Thread` handle, so the
//! node may already be gone by then.

use core::cell::{Cell, UnsafeCell};
use core::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, Thread};
use std::time::Instant;

use crate::state::Pooled;

/// How many times a waiter looks at its slot before it parks. A handoff to a waiter that is
/// still spinning costs neither side a system call; past about a microsecond the holder is
/// probably not coming back soon (it was descheduled, or is doing real work), and spinning on
/// would only steal a core from it.
const SPINS: u32 = 64;

/// What a waiter is served with.
pub(crate) enum Grant {
    /// A connection, straight from a return (or from `maintain`'s top-up).
    Connection(Pooled),
    /// Room for one connection, already reserved in the waiter's name: it opens it.
    Room,
    /// The pool closed.
    Closed,
}

/// One blocked caller's node and slot. Lives on that caller's stack.
pub(crate) struct Waiter {
    /// Neighbours in the queue: read and written only under the pool's lock.
    prev: Cell<*const Waiter>,
    next: Cell<*const Waiter>,
    linked: Cell<bool>,
    /// Written once, under the pool's lock, before `granted` is set.
    grant: UnsafeCell<Option<Grant>>,
    granted: AtomicBool,
    thread: Thread,
}

impl Waiter {
    pub(crate) fn new() -> Waiter {
        Waiter {
            prev: Cell::new(ptr::null()),
            next: Cell::new(ptr::null()),
            linked: Cell::new(false),
            grant: UnsafeCell::new(None),
            granted: AtomicBool::new(false),
            thread: thread::current(),
        }
    }

    /// Blocks until served, or until `until` passes (`None`: never). `None` means "not served
    /// as far as this thread saw": the caller must then [`WaitQueue::leave`] under the lock.
    pub(crate) fn wait(&self, until: Option<Instant>) -> Option<Grant> {
        for _ in 0..SPINS {
            if self.granted.load(Ordering::Acquire) {
                return Some(self.take());
            }
            core::hint::spin_loop();
        }
        loop {
            if self.granted.load(Ordering::Acquire) {
                return Some(self.take());
            }
            match until {
                None => thread::park(),
                Some(at) => {
                    let now = Instant::now();
                    if now >= at {
                        return None;
                    }
                    thread::park_timeout(at - now);
                }
            }
        }
    }

    /// The grant, once `granted` has been seen set.
    fn take(&self) -> Grant {
        // SAFETY: `granted` was observed (acquire) or the pool's lock is held, so the server's
        // write is visible, and nobody touches the slot again (module doc).
        unsafe { (*self.grant.get()).take() }.expect("a waiter is granted once, with a grant")
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        // A linked node going away would leave a dangling pointer in the queue. The pool never
        // lets it happen; if a bug ever did, stopping here beats undefined behaviour.
        if self.linked.get() {
            std::process::abort();
        }
    }
}

/// The blocked callers, longest-waiting first: an intrusive doubly linked list of [`Waiter`]s.
pub(crate) struct WaitQueue {
    head: *const Waiter,
    tail: *const Waiter,
    len: usize,
}

// SAFETY: the queue is only reached through the pool's mutex, and the nodes it points to are
// shared with their owners only as the module doc describes.
unsafe impl Send for WaitQueue {}

impl WaitQueue {
    pub(crate) const fn new() -> WaitQueue {
        WaitQueue { head: ptr::null(), tail: ptr::null(), len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Links `waiter` at the back.
    ///
    /// # Safety
    /// `waiter` must not move or drop until [`WaitQueue::leave`] has returned for it or
    /// [`Waiter::wait`] has returned its grant.
    pub(crate) unsafe fn join(&mut self, waiter: &Waiter) {
        waiter.prev.set(self.tail);
        waiter.next.set(ptr::null());
        waiter.linked.set(true);
        let node: *const Waiter = waiter;
        match self.tail.is_null() {
            true => self.head = node,
            // SAFETY: a linked node is alive (join's contract).
            false => unsafe { (*self.tail).next.set(node) },
        }
        self.tail = node;
        self.len += 1;
    }

    /// Serves the longest waiter with `grant`; returns its thread, to wake once the lock is
    /// released. The queue must not be empty.
    pub(crate) fn serve(&mut self, grant: Grant) -> Thread {
        assert!(!self.head.is_null(), "serve needs a waiter");
        // SAFETY: a linked node is alive until `granted` is set below (join's contract).
        let waiter = unsafe { &*self.head };
        self.unlink(waiter);
        // SAFETY: the owner reads the slot only after seeing `granted`, set after this write.
        unsafe { *waiter.grant.get() = Some(grant) };
        let thread = waiter.thread.clone();
        waiter.granted.store(true, Ordering::Release);
        thread
    }

    /// Called by a waiter that gave up: its grant, if one came first; otherwise it leaves the
    /// queue (and so its turn goes to the next waiter).
    pub(crate) fn leave(&mut self, waiter: &Waiter) -> Option<Grant> {
        if waiter.granted.load(Ordering::Acquire) {
            return Some(waiter.take());
        }
        self.unlink(waiter);
        None
    }

    /// Serves every waiter with [`Grant::Closed`]; their threads, to wake.
    pub(crate) fn close_all(&mut self) -> Vec<Thread> {
        let mut threads = Vec::with_capacity(self.len);
        while !self.is_empty() {
            threads.push(self.serve(Grant::Closed));
        }
        threads
    }

    fn unlink(&mut self, waiter: &Waiter) {
        debug_assert!(waiter.linked.get());
        let (prev, next) = (waiter.prev.get(), waiter.next.get());
        // SAFETY: linked neighbours are alive (join's contract), and we hold the pool's lock.
        unsafe {
            match prev.is_null() {
                true => self.head = next,
                false => (*prev).next.set(next),
            }
            match next.is_null() {
                true => self.tail = prev,
                false => (*next).prev.set(prev),
            }
        }
        waiter.linked.set(false);
        self.len -= 1;
    }
}
