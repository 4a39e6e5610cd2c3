//! The hashed-bin layout: which delegated role holds which target.
//!
//! A target's bin is chosen by the hex SHA-256 of its name (classic `path_hash_prefixes`, which
//! python-tuf and tough both read). There are `B` leaf bins, a power of two near √(4.3·T) for
//! `T` targets: that balances the snapshot (≈30 bytes per bin, fetched whole) against one leaf
//! (≈130 bytes per target, `T/B` targets), the two files that dominate what a reader downloads
//! to verify one document. Leaves own consecutive ranges of `L`-digit prefixes and are named
//! after their first prefix (`bin-3fc`). Up to 32 leaves, `targets.json` delegates to them
//! directly; above, `targets.json` delegates to 16 middle roles `bins-0` … `bins-f` (one hex digit
//! each), each delegating to its `B/16` leaves, so no delegating file grows past a few KB.

use sha2::{Digest as _, Sha256};

use crate::error::{Error, ErrorKind, Result};

/// Fewest leaves (so `bin-0`/`bin-8` exist even for an empty release).
pub const MIN_LEAVES: u32 = 2;
/// Most leaves (4 hex digits of prefix, enough for ~10⁹ targets).
pub const MAX_LEAVES: u32 = 65_536;
/// Above this many leaves there is a middle level.
pub const MAX_DIRECT_LEAVES: u32 = 32;

/// A hashed-bin layout with `leaf_count` leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BinLayout {
    leaf_count: u32,
    prefix_digits: u32,
    /// `bin` for the main family (leaves `bin-3fc`, middles `bins-3`), `obin` for originals.
    family: &'static str,
}

impl BinLayout {
    /// The layout for `target_count` targets: the power of two nearest (on a log scale)
    /// √(4.3·T), unless `previous_leaf_count` is still within a factor of 2 of √(4.3·T), in which
    /// case the previous layout is kept so that releases do not reshuffle every bin.
    pub fn for_target_count(target_count: usize, previous_leaf_count: Option<u32>) -> Self {
        let ideal = (4.3 * target_count as f64).sqrt();
        if let Some(previous) = previous_leaf_count
            && let Ok(layout) = Self::with_leaf_count(previous)
        {
            let previous = f64::from(previous);
            if previous >= ideal / 2.0 && previous <= ideal * 2.0 {
                return layout;
            }
        }
        let exponent = if ideal <= 1.0 {
            0.0
        } else {
            ideal.log2().round()
        };
        let leaf_count = 2f64
            .powf(exponent)
            .clamp(f64::from(MIN_LEAVES), f64::from(MAX_LEAVES)) as u32;
        Self::from_power_of_two(leaf_count)
    }

    /// The layout with exactly `leaf_count` leaves (a power of two in 2..=65,536).
    pub fn with_leaf_count(leaf_count: u32) -> Result<Self> {
        if !leaf_count.is_power_of_two() || !(MIN_LEAVES..=MAX_LEAVES).contains(&leaf_count) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("bin count {leaf_count} is not a power of two between 2 and 65536"),
            ));
        }
        Ok(Self::from_power_of_two(leaf_count))
    }

    fn from_power_of_two(leaf_count: u32) -> Self {
        let bits = leaf_count.trailing_zeros();
        Self {
            leaf_count,
            prefix_digits: bits.div_ceil(4).max(1),
            family: "bin",
        }
    }

    /// The layout of the originals family for a main family `main`: a quarter as many leaves
    /// (at least 2), named `obin-…` and `obins-…`. Originals are fetched by TUF clients that want
    /// the original file (python-tuf); samizdat's reader verifies them through the document's
    /// record instead, so their bins may be larger, and fewer of them keeps the snapshot small.
    pub fn originals_for(main: &BinLayout) -> Self {
        let leaf_count = (main.leaf_count / 4).max(MIN_LEAVES);
        Self {
            family: "obin",
            ..Self::from_power_of_two(leaf_count)
        }
    }

    /// Number of leaf bins.
    pub fn leaf_count(&self) -> usize {
        self.leaf_count as usize
    }

    /// Hex digits in a leaf's prefixes.
    pub fn prefix_digits(&self) -> usize {
        self.prefix_digits as usize
    }

    /// Whether `targets.json` delegates to 16 middle roles instead of the leaves.
    pub fn has_middle_level(&self) -> bool {
        self.leaf_count > MAX_DIRECT_LEAVES
    }

    fn prefixes_per_leaf(&self) -> u32 {
        (1u32 << (4 * self.prefix_digits)) / self.leaf_count
    }

    /// The leaf index of a target name.
    pub fn leaf_of(&self, name: &str) -> usize {
        let hash = Sha256::digest(name.as_bytes());
        let first_four_digits = u32::from(u16::from_be_bytes([hash[0], hash[1]]));
        let prefix = first_four_digits >> (4 * (4 - self.prefix_digits));
        (prefix / self.prefixes_per_leaf()) as usize
    }

    fn prefix_text(&self, prefix: u32) -> String {
        format!("{prefix:0width$x}", width = self.prefix_digits as usize)
    }

    /// The role name of leaf `index`: `bin-` and its first prefix.
    pub fn leaf_name(&self, index: usize) -> String {
        format!(
            "{}-{}",
            self.family,
            self.prefix_text(index as u32 * self.prefixes_per_leaf())
        )
    }

    /// The `path_hash_prefixes` of leaf `index`.
    pub fn leaf_prefixes(&self, index: usize) -> Vec<String> {
        let per_leaf = self.prefixes_per_leaf();
        let first = index as u32 * per_leaf;
        (first..first + per_leaf)
            .map(|prefix| self.prefix_text(prefix))
            .collect()
    }

    /// The role name of middle role `digit` (0..16).
    pub fn middle_name(&self, digit: usize) -> String {
        format!("{}s-{digit:x}", self.family)
    }

    /// The leaves under middle role `digit`.
    pub fn leaves_of_middle(&self, digit: usize) -> std::ops::Range<usize> {
        let per_middle = self.leaf_count() / 16;
        digit * per_middle..(digit + 1) * per_middle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_counts() {
        let count = |targets| BinLayout::for_target_count(targets, None).leaf_count();
        assert_eq!(count(0), 2);
        assert_eq!(count(1), 2);
        assert_eq!(count(20), 8);
        assert_eq!(count(5_000), 128);
        assert_eq!(count(250_000), 1024);
        // Stability: 8 stays while within a factor of two of the ideal.
        assert_eq!(BinLayout::for_target_count(40, Some(8)).leaf_count(), 8);
        assert_eq!(
            BinLayout::for_target_count(5_000, Some(8)).leaf_count(),
            128
        );
    }

    #[test]
    fn prefixes_partition_the_hash_space() {
        for leaf_count in [2u32, 4, 8, 16, 32, 64, 128, 256, 1024, 2048, 4096, 8192] {
            let layout = BinLayout::with_leaf_count(leaf_count).unwrap();
            let mut all = Vec::new();
            for index in 0..layout.leaf_count() {
                let prefixes = layout.leaf_prefixes(index);
                assert_eq!(layout.leaf_name(index), format!("bin-{}", prefixes[0]));
                all.extend(prefixes);
            }
            assert_eq!(all.len(), 16usize.pow(layout.prefix_digits() as u32));
            all.dedup();
            assert_eq!(all.len(), 16usize.pow(layout.prefix_digits() as u32));
            for name in ["a", "b.pdf", "0123.original.pdf"] {
                let hash = hex::encode(Sha256::digest(name.as_bytes()));
                let index = layout.leaf_of(name);
                assert!(
                    layout
                        .leaf_prefixes(index)
                        .iter()
                        .any(|p| hash.starts_with(p.as_str()))
                );
                if layout.has_middle_level() {
                    let digit = usize::from_str_radix(&hash[..1], 16).unwrap();
                    assert!(layout.leaves_of_middle(digit).contains(&index));
                }
            }
        }
    }
}
