//! [`Lent`]: the guard `acquire` returns. It derefs to the connection, and dropping it returns
//! the connection to the pool (see `Shared::checkin` for where it goes).

use core::mem::ManuallyDrop;
use core::ops::Deref;
use std::sync::Arc;

use challenge_harness::Connection;

use crate::pool::Shared;
use crate::state::Pooled;

/// A connection lent by [`crate::ReferencePool`]. It keeps the pool's state alive, so it may
/// outlive the pool itself (its connection then closes on return).
pub struct Lent {
    /// Taken exactly once, in `drop`.
    conn: ManuallyDrop<Connection>,
    born: u64,
    shared: Arc<Shared>,
}

impl Lent {
    #[inline]
    pub(crate) fn new(pooled: Pooled, shared: &Arc<Shared>) -> Lent {
        Lent { conn: ManuallyDrop::new(pooled.conn), born: pooled.born, shared: Arc::clone(shared) }
    }
}

impl Deref for Lent {
    type Target = Connection;

    #[inline]
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Drop for Lent {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `conn` is never used again: this is the guard's last moment.
        let conn = unsafe { ManuallyDrop::take(&mut self.conn) };
        self.shared.checkin(conn, self.born);
    }
}

impl core::fmt::Debug for Lent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Lent").field("id", &self.conn.id()).finish()
    }
}
