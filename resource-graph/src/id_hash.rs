//! A hasher for maps keyed by integers the scheduler made itself (job
//! ids, packed vertex keys), never by what a user chose.
//!
//! The default SipHash resists keys picked to collide, which these keys
//! cannot be, and costs more than the rest of a look-up: a planner's
//! index is asked on every booking and release, the bounded walk's cache
//! once per child of every vertex it enters.
use std::hash::{BuildHasherDefault, Hasher};

/// One multiply-rotate per integer written.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        // The table indexes by the low bits, which of a product depend
        // only on the low bits of the key: fold the well-mixed high bits
        // into them (a run of ids then fills buckets as random keys do).
        self.0 ^ (self.0 >> 32)
    }
}

/// `HashMap<K, V, IdHash>` hashes with [`IdHasher`].
pub type IdHash = BuildHasherDefault<IdHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn sequential_ids_spread_and_stay_findable() {
        let mut m: HashMap<u64, u64, IdHash> = HashMap::default();
        for id in 0..100_000u64 {
            m.insert(id, id * 3);
        }
        assert!((0..100_000u64).all(|id| m.get(&id) == Some(&(id * 3))));
        // Low bits of the hashes of consecutive ids differ: no bucket
        // chains along a run of job ids.
        let low: std::collections::BTreeSet<u64> = (0..1024u64)
            .map(|id| {
                let mut h = IdHasher::default();
                h.write_u64(id);
                h.finish() & 1023
            })
            .collect();
        assert!(low.len() > 600, "{} distinct buckets of 1024", low.len());
    }
}
