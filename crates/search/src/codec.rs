//! Byte encodings shared with the browser client (`js/engine.js` decodes every one of them).
//!
//! - varint: LEB128, 7 bits a byte, low bits first.
//! - set: a sorted set of document numbers (1..=N) as Golomb–Rice coded gaps, or the gaps of its
//!   complement when that is smaller (a word in 95% of the documents costs what one in 5% does).
//!
//! Why Rice-coded gaps rather than `roaring`: roaring's containers cost 2 bytes a document (array)
//! or a fixed 8 KB per 65,536 numbers (bitmap); for the densities of a term (0.01%–50%) Rice codes
//! come within a few percent of the entropy of a random set, 30–60% smaller than roaring between
//! 1% and 12% density, and the decoder is 20 lines of JavaScript. Sets are decoded whole into a
//! sorted `Uint32Array` on the client, where AND/NOT are merges.

use crate::Error;

/// Appends `value` as a LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads a varint at `*pos`, advancing it.
pub fn get_varint(bytes: &[u8], pos: &mut usize) -> Result<u64, Error> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = *bytes
            .get(*pos)
            .ok_or_else(|| Error::malformed("varint past the end"))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
        shift += 7;
        if shift > 63 {
            return Err(Error::malformed("varint too long"));
        }
    }
}

/// Zigzag-encodes a signed number so small magnitudes stay small.
pub fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    current: u8,
    used: u32,
}

impl BitWriter<'_> {
    fn bit(&mut self, bit: bool) {
        if bit {
            self.current |= 1 << self.used;
        }
        self.used += 1;
        if self.used == 8 {
            self.out.push(self.current);
            self.current = 0;
            self.used = 0;
        }
    }

    fn bits(&mut self, value: u32, count: u32) {
        for i in 0..count {
            self.bit(value >> i & 1 == 1);
        }
    }

    fn finish(self) {
        if self.used > 0 {
            self.out.push(self.current);
        }
    }
}

/// Cost in bits of coding `gaps - 1` with Rice parameter `k`.
fn rice_cost(numbers: &[u32], k: u32) -> u64 {
    let mut previous = 0u32;
    let mut bits = 0u64;
    for &n in numbers {
        let gap = n - previous - 1;
        bits += u64::from(gap >> k) + 1 + u64::from(k);
        previous = n;
    }
    bits
}

/// The best Rice parameter near the one the mean gap suggests.
fn rice_parameter(numbers: &[u32]) -> u32 {
    let Some(&last) = numbers.last() else {
        return 0;
    };
    let mean = f64::from(last) / numbers.len() as f64;
    let guess = (mean * std::f64::consts::LN_2).max(1.0).log2().floor() as i64;
    (guess - 1..=guess + 1)
        .filter(|k| (0..=30).contains(k))
        .map(|k| k as u32)
        .min_by_key(|&k| rice_cost(numbers, k))
        .unwrap_or(0)
}

fn put_rice(out: &mut Vec<u8>, numbers: &[u32], complement: bool) {
    let k = rice_parameter(numbers);
    put_varint(out, numbers.len() as u64);
    out.push(k as u8 | if complement { 0x80 } else { 0 });
    let mut writer = BitWriter {
        out,
        current: 0,
        used: 0,
    };
    let mut previous = 0u32;
    for &n in numbers {
        let gap = n - previous - 1;
        for _ in 0..gap >> k {
            writer.bit(true);
        }
        writer.bit(false);
        writer.bits(gap & ((1u32 << k) - 1), k);
        previous = n;
    }
    writer.finish();
}

/// Appends the set `numbers` (strictly increasing, each in 1..=universe): its members, or its
/// complement in 1..=universe when that codes smaller.
pub fn put_set(out: &mut Vec<u8>, numbers: &[u32], universe: u32) {
    debug_assert!(numbers.windows(2).all(|w| w[0] < w[1]));
    if numbers.len() as u64 * 2 > u64::from(universe) {
        let complement = complement(numbers, universe);
        let mut direct = Vec::new();
        put_rice(&mut direct, numbers, false);
        let mut inverse = Vec::new();
        put_rice(&mut inverse, &complement, true);
        out.extend_from_slice(if inverse.len() < direct.len() {
            &inverse
        } else {
            &direct
        });
    } else {
        put_rice(out, numbers, false);
    }
}

fn complement(numbers: &[u32], universe: u32) -> Vec<u32> {
    let mut out = Vec::with_capacity(universe as usize - numbers.len());
    let mut members = numbers.iter().peekable();
    for n in 1..=universe {
        if members.peek() == Some(&&n) {
            members.next();
        } else {
            out.push(n);
        }
    }
    out
}

/// Reads a set written by [`put_set`] at `*pos`, advancing it.
pub fn get_set(bytes: &[u8], pos: &mut usize, universe: u32) -> Result<Vec<u32>, Error> {
    let count = get_varint(bytes, pos)? as usize;
    let header = *bytes
        .get(*pos)
        .ok_or_else(|| Error::malformed("set header past the end"))?;
    *pos += 1;
    let k = u32::from(header & 0x3f);
    let mut bit = 0usize;
    let read_bit = |bit: &mut usize| -> Result<bool, Error> {
        let byte = *bytes
            .get(*pos + *bit / 8)
            .ok_or_else(|| Error::malformed("set bits past the end"))?;
        let value = byte >> (*bit % 8) & 1 == 1;
        *bit += 1;
        Ok(value)
    };
    let mut numbers = Vec::with_capacity(count);
    let mut previous = 0u32;
    for _ in 0..count {
        let mut quotient = 0u32;
        while read_bit(&mut bit)? {
            quotient += 1;
        }
        let mut low = 0u32;
        for i in 0..k {
            if read_bit(&mut bit)? {
                low |= 1 << i;
            }
        }
        previous += (quotient << k | low) + 1;
        numbers.push(previous);
    }
    *pos += bit.div_ceil(8);
    if header & 0x80 != 0 {
        return Ok(complement(&numbers, universe));
    }
    Ok(numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(numbers: &[u32], universe: u32) -> usize {
        let mut bytes = vec![7u8];
        put_set(&mut bytes, numbers, universe);
        bytes.push(9);
        let mut pos = 1;
        let decoded = get_set(&bytes, &mut pos, universe).expect("decodes");
        assert_eq!(decoded, numbers);
        assert_eq!(bytes[pos], 9, "the set ends where its decoder stops");
        bytes.len() - 2
    }

    #[test]
    fn sets_round_trip() {
        round_trip(&[], 10);
        round_trip(&[1], 1);
        round_trip(&[250_000], 250_000);
        round_trip(&[1, 2, 3, 4, 5], 5);
        round_trip(&[3, 70, 71, 1000, 65_536, 65_537, 200_001], 250_000);
        let every_third: Vec<u32> = (1..=30_000).filter(|n| n % 3 == 0).collect();
        round_trip(&every_third, 30_000);
    }

    #[test]
    fn dense_sets_code_their_complement() {
        let universe = 100_000;
        let dense: Vec<u32> = (1..=universe).filter(|n| n % 20 != 7).collect();
        let sparse: Vec<u32> = (1..=universe).filter(|n| n % 20 == 7).collect();
        let dense_bytes = round_trip(&dense, universe);
        let sparse_bytes = round_trip(&sparse, universe);
        assert!(
            dense_bytes <= sparse_bytes + 4,
            "{dense_bytes} vs {sparse_bytes}"
        );
    }

    #[test]
    fn rice_codes_a_random_set_near_its_entropy() {
        // 5% density: entropy H(0.05) = 0.286 bits a number.
        let universe = 200_000u32;
        let mut state = 12345u64;
        let numbers: Vec<u32> = (1..=universe)
            .filter(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 33).is_multiple_of(20)
            })
            .collect();
        let bytes = round_trip(&numbers, universe);
        let entropy_bytes = 0.286 * f64::from(universe) / 8.0;
        assert!(
            (bytes as f64) < entropy_bytes * 1.1,
            "{bytes} bytes, entropy {entropy_bytes}"
        );
    }

    #[test]
    fn varints_round_trip() {
        let mut bytes = Vec::new();
        let values = [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ];
        for v in values {
            put_varint(&mut bytes, v);
        }
        let mut pos = 0;
        for v in values {
            assert_eq!(get_varint(&bytes, &mut pos).expect("decodes"), v);
        }
        assert_eq!(pos, bytes.len());
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }
}
