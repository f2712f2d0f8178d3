//! A fast hasher for the core's hash maps, whose keys are its own link ids and configured
//! master names: nothing an outsider picks, so the flooding resistance of the default SipHash
//! buys nothing, and SipHash cost ~3 % of every input (hashing a link id or a master name per
//! lookup). This is the multiply-rotate hash rustc uses for its own tables (FxHash). Iteration
//! order differs from SipHash's, which was random per process anyway: nothing depends on it.

use std::hash::{BuildHasherDefault, Hasher};

/// `HashMap<K, V, FastHash>`.
pub type FastHash = BuildHasherDefault<FastHasher>;

#[derive(Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // The length goes into the top byte, so that "a" and "a\0" differ.
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(n as u64);
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(n as u64);
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash_of<T: Hash>(t: &T) -> u64 {
        FastHash::default().hash_one(t)
    }

    #[test]
    fn equal_keys_hash_equal_and_others_spread() {
        assert_eq!(hash_of(&"mymaster"), hash_of(&"mymaster".to_string()));
        assert_ne!(hash_of(&"mymaster"), hash_of(&"mymaster2"));
        // Strings that differ only past the first 8 bytes, or only in length.
        assert_ne!(hash_of(&"abcdefgh1"), hash_of(&"abcdefgh2"));
        assert_ne!(hash_of(&"a"), hash_of(&"a\0"));
        let ids: std::collections::HashSet<u64> = (0..1000u64).map(|i| hash_of(&i)).collect();
        assert_eq!(ids.len(), 1000);
    }
}
