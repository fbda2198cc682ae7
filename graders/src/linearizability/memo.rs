//! The search's memo: every `(set of linearized operations, state)` it has already explored.
//! Lowe's memoisation is what turns the Wing & Gong search from exponential into, for
//! histories of bounded concurrency, close to linear.
//!
//! Keys are compact, because a search may store tens of millions of them. States are interned,
//! so a key holds a state's number, not the state. And in any configuration the search reaches,
//! every completed operation called well before the current point is linearized, so the set is
//! a run of ones, a short window, and zeros: a key stores only the window, not one bit per
//! operation of a 10,000-operation history. Pending operations can stay unlinearized forever,
//! which would keep the window open from the first of them to the end, so they get a bitset of
//! their own. A lookup builds its key in a reused buffer, and keys are stored back to back in one
//! arena, so the search allocates nothing per node.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

/// Which bit an operation owns: completed and pending operations number separately.
#[derive(Clone, Copy, Debug)]
pub(super) enum Slot {
    Completed(usize),
    Pending(usize),
}

/// The linearized set, and the configurations seen so far.
pub(super) struct Memo {
    /// A key's hash → the offset in `arena` of the newest key stored with that hash.
    heads: HashMap<u64, u64, PassThrough>,
    /// The keys, back to back, each as `[older key with the same hash or NONE, length, words…]`:
    /// one allocation for all of them, and a rehash of `heads` never touches them.
    arena: Vec<u64>,
    completed: Bitset,
    pending: Bitset,
    /// The key being looked up.
    key: Vec<u64>,
    hash: fn(&[u64]) -> u64,
}

const NONE: u64 = u64::MAX;

impl Memo {
    /// An empty set over `completed` and `pending` operations.
    pub(super) fn new(completed: usize, pending: usize) -> Memo {
        Memo::with_hash(completed, pending, fold_hash)
    }

    /// Tests make every key collide to exercise the chains.
    fn with_hash(completed: usize, pending: usize, hash: fn(&[u64]) -> u64) -> Memo {
        Memo {
            heads: HashMap::default(),
            arena: Vec::new(),
            completed: Bitset::new(completed),
            pending: Bitset::new(pending),
            key: Vec::new(),
            hash,
        }
    }

    /// Adds an operation to the linearized set.
    pub(super) fn set(&mut self, slot: Slot) {
        match slot {
            Slot::Completed(i) => self.completed.set(i),
            Slot::Pending(i) => self.pending.set(i),
        }
    }

    /// Removes an operation from the linearized set.
    pub(super) fn clear(&mut self, slot: Slot) {
        match slot {
            Slot::Completed(i) => self.completed.clear(i),
            Slot::Pending(i) => self.pending.clear(i),
        }
    }

    /// Records the current set with the state numbered `state`; false if that configuration was
    /// seen before.
    pub(super) fn insert(&mut self, state: u32) -> bool {
        self.key.clear();
        self.completed.push_key(&mut self.key);
        self.pending.push_key(&mut self.key);
        self.key.push(u64::from(state));
        let offset = self.arena.len() as u64;
        let older = match self.heads.entry((self.hash)(&self.key)) {
            Entry::Occupied(mut head) => {
                let mut at = *head.get();
                while at != NONE {
                    let start = at as usize + 2;
                    if self.arena[start..start + self.arena[at as usize + 1] as usize] == self.key[..] {
                        return false;
                    }
                    at = self.arena[at as usize];
                }
                head.insert(offset)
            }
            Entry::Vacant(head) => {
                head.insert(offset);
                NONE
            }
        };
        self.arena.extend_from_slice(&[older, self.key.len() as u64]);
        self.arena.extend_from_slice(&self.key);
        true
    }
}

/// The distinct states a search has reached, numbered in order of discovery.
pub(super) struct States<St> {
    numbers: HashMap<St, u32, FoldBuild>,
    states: Vec<St>,
}

impl<St: Clone + Eq + Hash> States<St> {
    pub(super) fn new() -> States<St> {
        States { numbers: HashMap::default(), states: Vec::new() }
    }

    /// The number of `state`, numbering it if it is new.
    pub(super) fn intern(&mut self, state: St) -> u32 {
        if let Some(&number) = self.numbers.get(&state) {
            return number;
        }
        let number = u32::try_from(self.states.len()).expect("fewer than 2^32 distinct states");
        self.states.push(state.clone());
        self.numbers.insert(state, number);
        number
    }

    /// The state numbered `number`.
    pub(super) fn get(&self, number: u32) -> &St {
        &self.states[number as usize]
    }
}

/// A fixed-size bitset that keeps track of its leading full words and trailing empty ones.
struct Bitset {
    words: Vec<u64>,
    /// `words[..lead]` are all ones, and `words[lead]` is not.
    lead: usize,
    /// `words[top..]` are all zeros, and `words[top - 1]` is not.
    top: usize,
}

impl Bitset {
    fn new(bits: usize) -> Bitset {
        Bitset { words: vec![0; bits.div_ceil(64)], lead: 0, top: 0 }
    }

    fn set(&mut self, i: usize) {
        let w = i / 64;
        self.words[w] |= 1 << (i % 64);
        self.top = self.top.max(w + 1);
        while self.lead < self.words.len() && self.words[self.lead] == u64::MAX {
            self.lead += 1;
        }
    }

    fn clear(&mut self, i: usize) {
        let w = i / 64;
        self.words[w] &= !(1 << (i % 64));
        self.lead = self.lead.min(w);
        while self.top > 0 && self.words[self.top - 1] == 0 {
            self.top -= 1;
        }
    }

    /// The window between the leading ones and trailing zeros (`top >= lead`: a full word is
    /// not empty).
    fn window(&self) -> &[u64] {
        &self.words[self.lead..self.top]
    }

    /// Appends `lead`, the window's length and the window: canonical, since the size is fixed.
    fn push_key(&self, key: &mut Vec<u64>) {
        key.push(self.lead as u64);
        key.push(self.window().len() as u64);
        key.extend_from_slice(self.window());
    }
}

/// A fast non-cryptographic hash (a folded 64×64→128 multiply per word, as in foldhash): the
/// keys are our own, so flooding is not a concern, and SipHash would dominate the search.
#[derive(Clone, Copy, Default)]
struct FoldBuild;

impl BuildHasher for FoldBuild {
    type Hasher = FoldHasher;

    fn build_hasher(&self) -> FoldHasher {
        FoldHasher(0x243f_6a88_85a3_08d3)
    }
}

struct FoldHasher(u64);

impl FoldHasher {
    fn mix(&mut self, word: u64) {
        let product = u128::from(self.0 ^ word) * 0x9e37_79b9_7f4a_7c15;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for FoldHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(chunk.try_into().expect("chunks of 8")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The fold hash of a memo key.
fn fold_hash(words: &[u64]) -> u64 {
    let mut hasher = FoldBuild.build_hasher();
    words.iter().for_each(|&word| hasher.mix(word));
    hasher.finish()
}

/// For keys that are already hashes.
#[derive(Clone, Copy, Default)]
struct PassThrough;

impl BuildHasher for PassThrough {
    type Hasher = PassThroughHasher;

    fn build_hasher(&self) -> PassThroughHasher {
        PassThroughHasher(0)
    }
}

struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 hashes are keyed by PassThrough")
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_equal_exactly_when_the_sets_are() {
        keys_are_equal_exactly_when_the_sets_are_with(Memo::new(200, 3));
        keys_are_equal_exactly_when_the_sets_are_with(Memo::with_hash(200, 3, |_| 7));
    }

    fn keys_are_equal_exactly_when_the_sets_are_with(mut memo: Memo) {
        assert!(memo.insert(0));
        assert!(!memo.insert(0), "the empty set again");
        for i in 0..130 {
            memo.set(Slot::Completed(i));
        }
        memo.set(Slot::Completed(150));
        assert!(memo.insert(0));
        memo.clear(Slot::Completed(150));
        memo.set(Slot::Completed(151));
        assert!(memo.insert(0), "a different bit in the window");
        memo.clear(Slot::Completed(151));
        memo.set(Slot::Completed(150));
        assert!(!memo.insert(0), "the same set, reached another way");
        assert!(memo.insert(1), "the same set with another state");
        memo.set(Slot::Pending(2));
        assert!(memo.insert(0), "a pending bit counts too");
        memo.clear(Slot::Pending(2));
        memo.clear(Slot::Completed(3));
        assert!(memo.insert(0), "a hole below the window");
        memo.set(Slot::Completed(3));
        assert!(!memo.insert(0));
    }

    #[test]
    fn states_are_numbered_once() {
        let mut states = States::new();
        assert_eq!((states.intern("a"), states.intern("b"), states.intern("a")), (0, 1, 0));
        assert_eq!(*states.get(1), "b");
    }

    #[test]
    fn lead_and_top_track_full_and_empty_words() {
        let mut bits = Bitset::new(192);
        for i in 0..128 {
            bits.set(i);
        }
        assert_eq!((bits.lead, bits.top), (2, 2));
        bits.set(190);
        assert_eq!((bits.lead, bits.top), (2, 3));
        bits.clear(5);
        assert_eq!((bits.lead, bits.top), (0, 3));
        bits.clear(190);
        assert_eq!((bits.lead, bits.top), (0, 2));
        bits.set(5);
        assert_eq!((bits.lead, bits.top), (2, 2));
        assert!(bits.window().is_empty());
    }
}
