//! Loads in flight: what callers of `get_or_insert_with` for a key that is being loaded wait on.
//!
//! The cache's lock is never held while a loader runs (a loader may take milliseconds, and every
//! other key would wait for it). So the first caller to miss a key registers a [`Flight`] for it
//! under the lock, releases the lock and runs its loader; later callers for that key find the
//! flight, register as its waiters, and sleep on the flight's own condvar, which no caller for any
//! other key ever touches. The loader settles the flight when it is done: with the value, or as
//! abandoned when the loader panicked, in which case every waiter goes back to the cache and one
//! of them becomes the next loader.
//!
//! The registry of flights lives inside the cache's store, under its lock, so "is the key cached",
//! "is it being loaded" and "register me" are one atomic step.

use parking_lot::{Condvar, Mutex};

/// How a load ended, or that it has not yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Loading,
    /// The value every waiter returns (the loaded one, or the live value someone else put).
    Loaded(u64),
    /// The loader panicked; nothing was stored.
    Abandoned,
}

/// One load of one key, shared by its loader and its waiters.
pub(crate) struct Flight {
    state: Mutex<State>,
    settled: Condvar,
}

impl Flight {
    pub(crate) fn new() -> Flight {
        Flight { state: Mutex::new(State::Loading), settled: Condvar::new() }
    }

    /// Blocks until the loader settles: `Some(value)` to return, or `None` if it panicked.
    pub(crate) fn wait(&self) -> Option<u64> {
        let mut state = self.state.lock();
        loop {
            match *state {
                State::Loading => self.settled.wait(&mut state),
                State::Loaded(value) => return Some(value),
                State::Abandoned => return None,
            }
        }
    }

    /// Ends the load (`None`: abandoned) and wakes every waiter.
    pub(crate) fn settle(&self, outcome: Option<u64>) {
        *self.state.lock() = outcome.map_or(State::Abandoned, State::Loaded);
        self.settled.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn waiters_see_the_outcome_whenever_they_arrive() {
        let flight = Arc::new(Flight::new());
        let early = {
            let flight = Arc::clone(&flight);
            std::thread::spawn(move || flight.wait())
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        flight.settle(Some(7));
        assert_eq!(early.join().unwrap(), Some(7));
        assert_eq!(flight.wait(), Some(7), "a late waiter does not block");

        let abandoned = Flight::new();
        abandoned.settle(None);
        assert_eq!(abandoned.wait(), None);
    }
}
