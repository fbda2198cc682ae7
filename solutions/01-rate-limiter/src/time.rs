//! Conversions between the harness's `Duration`s and the integer nanoseconds all the algorithms
//! compute in, and [`Divisor`], the token bucket's fast division by its fixed `L` and `W`.

use core::time::Duration;

/// The window in nanoseconds. The contract promises at least 1ns and the FFI carries a `u64`;
/// clamping keeps a direct Rust caller's zero or enormous window from dividing by zero or
/// overflowing, instead of trusting it.
pub(crate) fn window_nanos(window: Duration) -> u64 {
    u64::try_from(window.as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// A wait that can exceed `u64` nanoseconds (the sliding counter's `2W - e` with a huge `W`).
pub(crate) fn duration_from_u128(nanos: u128) -> Duration {
    match u64::try_from(nanos) {
        Ok(n) => Duration::from_nanos(n),
        Err(_) => Duration::new((nanos / 1_000_000_000) as u64, (nanos % 1_000_000_000) as u32),
    }
}

/// Division of `u64`s by one divisor fixed at construction, as a multiply and shifts: the token
/// bucket divides by `W` and by `L` on every call, and a hardware `div` costs several times a
/// multiply. This is the classic round-up method (Granlund & Montgomery 1994, as in libdivide):
/// `n / d == (mulhi(n, m) [+ correction]) >> s` for a precomputed 65-bit `m`, exact for every
/// `n` and every `d >= 1`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Divisor {
    divisor: u64,
    /// A power of two divides by shifting alone.
    pow2: bool,
    /// The low 64 bits of the magic number.
    magic: u64,
    shift: u32,
    /// Whether the magic number needs its 65th bit, applied as `((n - q) >> 1) + q`.
    add: bool,
}

impl Divisor {
    pub(crate) fn new(divisor: u64) -> Divisor {
        let divisor = divisor.max(1);
        let log2 = 63 - divisor.leading_zeros();
        if divisor.is_power_of_two() {
            return Divisor { divisor, pow2: true, magic: 0, shift: log2, add: false };
        }
        let numerator = 1u128 << (64 + log2);
        let mut magic = (numerator / u128::from(divisor)) as u64;
        let rem = (numerator % u128::from(divisor)) as u64;
        let add = divisor - rem >= 1u64 << log2;
        if add {
            // The 64-bit candidate is too small: use the 65-bit one, 2m + (2·rem >= d).
            magic = magic.wrapping_add(magic);
            let twice_rem = rem.wrapping_add(rem);
            if twice_rem >= divisor || twice_rem < rem {
                magic = magic.wrapping_add(1);
            }
        }
        Divisor { divisor, pow2: false, magic: magic.wrapping_add(1), shift: log2, add }
    }

    #[inline(always)]
    pub(crate) fn div(&self, n: u64) -> u64 {
        if self.pow2 {
            return n >> self.shift;
        }
        let q = ((u128::from(n) * u128::from(self.magic)) >> 64) as u64;
        if self.add {
            (((n - q) >> 1) + q) >> self.shift
        } else {
            q >> self.shift
        }
    }

    /// `ceil(n / d)`.
    #[inline(always)]
    pub(crate) fn div_ceil(&self, n: u64) -> u64 {
        let q = self.div(n);
        q + u64::from(q * self.divisor != n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::support::Rng;

    #[test]
    fn divisor_matches_hardware_division() {
        let mut rng = Rng::new(99);
        let mut divisors: Vec<u64> = (1..=1_000).collect();
        divisors.extend([u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) + 1, (1 << 63) - 1, 3_000_000_000, 1_000_000_007]);
        for _ in 0..2_000 {
            // Spread over every magnitude.
            divisors.push(rng.next() >> rng.below(64));
        }
        for &d in &divisors {
            let div = Divisor::new(d.max(1));
            let d = d.max(1);
            let mut numerators = vec![0, 1, d - 1, d, d.wrapping_add(1), u64::MAX, u64::MAX - 1, u64::MAX / d * d];
            for _ in 0..200 {
                numerators.push(rng.next() >> rng.below(64));
            }
            for n in numerators {
                assert_eq!(div.div(n), n / d, "{n} / {d}");
                assert_eq!(div.div_ceil(n), n.div_ceil(d), "ceil({n} / {d})");
            }
        }
    }
}
