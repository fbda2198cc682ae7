//! The key → state map shared by all four algorithms.
//!
//! - [`Algorithm`]: an algorithm as a pure function over one key's state. Pure, so tests can
//!   probe "what if this request came at `t + d`" on a copy of the state.
//! - [`Keyed`]: the map, split into shards, each a `Mutex` around a `hashbrown::HashTable`. One
//!   hash of the key picks the shard and probes its table; the shard's lock also makes the
//!   key's decision atomic, so per-key state is plain data.
//!
//! Why a mutex per shard rather than a read-write lock plus an atomic per key (dashmap's and
//! governor's design): a read lock costs two locked instructions (lock, unlock) and the per-key
//! compare-and-swap a third; a mutex costs two in all, and with 64 shards two threads meet on
//! one lock only about once in 64 calls. Together with the inline keys below, moving from that
//! design to this one took the bench's 10k-key workload (`benches/rate_limiter.rs`) from ~1.5× to
//! ~1.0× the time of governor given the same hasher. A single hot key is serialised either way,
//! by the lock or by its cache line. The mutex is parking_lot's: it spins adaptively before
//! parking, which pays off exactly for that hot key.
//!
//! Keys of up to 23 bytes (ids, addresses, the common case) are stored inline in the slot, so
//! matching one is three word compares with no pointer to chase and no `memcmp` call; longer keys
//! are boxed. Looking up an existing key allocates nothing.

use core::hash::BuildHasher;
use parking_lot::{Mutex, MutexGuard};

use challenge_harness::Decision;
use hashbrown::hash_table::{Entry, HashTable};

/// One algorithm, configured: its decision as a pure function of one key's state.
pub(crate) trait Algorithm: Send + Sync + 'static {
    /// One key's state. `Default` must be the state of a key never seen (all algorithms here
    /// encode "never seen" as all zeros: last time seen 0, nothing counted), so a key can be
    /// created lazily and cleanup can forget keys equal in effect to it.
    type State: Default + Clone + Send;

    /// Decides `cost` permits at clock reading `now` (the effective time is computed inside, from
    /// the state) and updates the state. `cost <= limit` is the caller's job.
    fn decide(&self, state: &mut Self::State, now: u64, cost: u64) -> Decision;

    /// Whether `remaining` would be `limit` at clock reading `now`, i.e. the key can be forgotten.
    fn is_full(&self, state: &Self::State, now: u64) -> bool;
}

/// Longest key stored inline: 23 bytes plus a length byte fill three words.
const INLINE_MAX: usize = 23;

/// A key as stored in a slot.
enum StoredKey {
    Inline([u64; 3]),
    Heap(Box<str>),
}

/// A key as looked up: packed once per call, compared against many slots.
enum Probe<'a> {
    Inline([u64; 3]),
    Heap(&'a str),
}

impl<'a> Probe<'a> {
    #[inline(always)]
    fn new(key: &'a str) -> Probe<'a> {
        let bytes = key.as_bytes();
        if bytes.len() > INLINE_MAX {
            return Probe::Heap(key);
        }
        // Little-endian words of the zero-padded key, its length in the very last byte: two keys
        // pack equal iff they are equal (the length tells "a" from "a\0"). Built in registers:
        // writing bytes into a stack array and reading it back as words stalls store forwarding.
        let len = bytes.len();
        let word = |from: usize| -> u64 {
            if from + 8 <= len {
                u64::from_le_bytes(bytes[from..from + 8].try_into().unwrap())
            } else {
                let mut w = 0u64;
                for (i, &b) in bytes.get(from..).unwrap_or_default().iter().enumerate() {
                    w |= u64::from(b) << (8 * i);
                }
                w
            }
        };
        let words = [word(0), word(8), word(16) | (len as u64) << 56];
        Probe::Inline(words)
    }

    fn store(&self) -> StoredKey {
        match *self {
            Probe::Inline(words) => StoredKey::Inline(words),
            Probe::Heap(key) => StoredKey::Heap(key.into()),
        }
    }
}

impl StoredKey {
    #[inline(always)]
    fn matches(&self, probe: &Probe<'_>) -> bool {
        match (self, probe) {
            (StoredKey::Inline(a), Probe::Inline(b)) => a == b,
            (StoredKey::Heap(a), Probe::Heap(b)) => **a == **b,
            _ => false,
        }
    }

    /// The key's text again, to rehash it when the table grows or shrinks.
    fn rehash(&self, hasher: &foldhash::fast::RandomState) -> u64 {
        match self {
            StoredKey::Inline(words) => {
                let len = (words[2] >> 56) as usize;
                let mut bytes = [0u8; 24];
                for (i, word) in words.iter().enumerate() {
                    bytes[8 * i..8 * i + 8].copy_from_slice(&word.to_le_bytes());
                }
                // Inline keys were whole `str`s, so their first `len` bytes are valid UTF-8.
                hasher.hash_one(core::str::from_utf8(&bytes[..len]).unwrap_or_default())
            }
            StoredKey::Heap(key) => hasher.hash_one(&**key),
        }
    }
}

/// Enough shards that two threads rarely meet on one lock; a power of two so the shard is a mask.
const SHARDS: usize = 64;

/// Shard selection uses hash bits 32..38: hashbrown probes with the low bits and tags buckets
/// with the top 7, so a slice from the middle keeps both fully spread within each shard.
const SHARD_SHIFT: u32 = 32;

struct Slot<S> {
    key: StoredKey,
    state: S,
}

/// One shard, padded to its own pair of cache lines so neighbouring shards' lock words never
/// share a line (false sharing would make unrelated keys contend).
#[repr(align(128))]
struct Shard<S> {
    table: Mutex<HashTable<Slot<S>>>,
}

/// The sharded map from key to per-key state.
pub(crate) struct Keyed<A: Algorithm> {
    algo: A,
    hasher: foldhash::fast::RandomState,
    shards: Box<[Shard<A::State>]>,
}

impl<A: Algorithm> Keyed<A> {
    pub(crate) fn new(algo: A) -> Self {
        let shards = (0..SHARDS).map(|_| Shard { table: Mutex::new(HashTable::new()) }).collect();
        Keyed { algo, hasher: foldhash::fast::RandomState::default(), shards }
    }

    #[inline(always)]
    fn lock(shard: &Shard<A::State>) -> MutexGuard<'_, HashTable<Slot<A::State>>> {
        shard.table.lock()
    }

    /// One decision on `key`, atomic with respect to every other call on it.
    #[inline]
    pub(crate) fn acquire(&self, key: &str, now: u64, cost: u64) -> Decision {
        let hash = self.hasher.hash_one(key);
        let probe = Probe::new(key);
        let shard = &self.shards[(hash >> SHARD_SHIFT) as usize & (SHARDS - 1)];
        let mut table = Self::lock(shard);
        if let Some(slot) = table.find_mut(hash, |slot| slot.key.matches(&probe)) {
            return self.algo.decide(&mut slot.state, now, cost);
        }
        self.insert_and_decide(&mut table, hash, &probe, now, cost)
    }

    /// The first call on a key (or the first since cleanup forgot it): store it, then decide.
    #[cold]
    #[inline(never)]
    fn insert_and_decide(
        &self,
        table: &mut HashTable<Slot<A::State>>,
        hash: u64,
        probe: &Probe<'_>,
        now: u64,
        cost: u64,
    ) -> Decision {
        let hasher = &self.hasher;
        let slot = match table.entry(hash, |slot| slot.key.matches(probe), |slot| slot.key.rehash(hasher)) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(Slot { key: probe.store(), state: A::State::default() }).into_mut(),
        };
        self.algo.decide(&mut slot.state, now, cost)
    }

    /// Forgets every key whose `remaining` is `limit` at `now`: such a key behaves exactly like
    /// one never seen, which is what a missing key is.
    pub(crate) fn cleanup(&self, now: u64) {
        let hasher = &self.hasher;
        for shard in self.shards.iter() {
            let mut table = Self::lock(shard);
            table.retain(|slot| !self.algo.is_full(&slot.state, now));
            // A burst of keys must not pin its memory forever once they are all forgotten.
            let len = table.len();
            if table.capacity() > 64 && len < table.capacity() / 4 {
                table.shrink_to(len * 2, |slot| slot.key.rehash(hasher));
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|shard| Self::lock(shard).len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_keys_pack_injectively() {
        let keys = ["", "a", "a\0", "\0", "abcdefgh", "abcdefgh\0", "abcdefghi", "x".repeat(23).leak(), "é€😀"];
        for (i, a) in keys.iter().enumerate() {
            for (j, b) in keys.iter().enumerate() {
                assert_eq!(Probe::new(a).store().matches(&Probe::new(b)), i == j, "{a:?} vs {b:?}");
            }
        }
        // 23 bytes inline, 24 boxed; they never match each other.
        let long = "y".repeat(24);
        assert!(matches!(Probe::new(&long), Probe::Heap(_)));
        assert!(Probe::new(&long).store().matches(&Probe::new(&long)));
        assert!(!Probe::new(&long).store().matches(&Probe::new(&long[..23])));
    }

    #[test]
    fn rehash_recovers_the_hash_of_the_key() {
        let hasher = foldhash::fast::RandomState::default();
        for key in ["", "k", "user:00001234", "x".repeat(23).as_str(), "z".repeat(40).as_str(), "é€😀"] {
            assert_eq!(Probe::new(key).store().rehash(&hasher), hasher.hash_one(key), "{key:?}");
        }
    }
}
