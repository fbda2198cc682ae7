//! Virtual-time durations: written by authors as human strings ("250ms", "1s 5ns"), carried on
//! the wire as integer nanoseconds, and shown to learners in the author's notation.

use core::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A span or an offset of virtual time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nanos(pub u64);

impl Nanos {
    /// One second.
    pub const SECOND: Nanos = Nanos(1_000_000_000);

    /// Parses "250ms", "1s", "1h 30m", "999999999ns".
    pub fn parse(text: &str) -> Result<Nanos, String> {
        let d = humantime::parse_duration(text)
            .map_err(|e| format!("invalid duration {text:?}: {e} (write it like \"250ms\", \"60s\" or \"1s 5ns\")"))?;
        u64::try_from(d.as_nanos()).map(Nanos).map_err(|_| format!("duration {text:?} is too long (over 584 years)"))
    }
}

impl fmt::Display for Nanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        write!(f, "{}", humantime::format_duration(core::time::Duration::from_nanos(self.0)))
    }
}

impl Serialize for Nanos {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Nanos {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Nanos, D::Error> {
        struct NanosVisitor;
        impl Visitor<'_> for NanosVisitor {
            type Value = Nanos;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"250ms\" or \"60s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Nanos, E> {
                Nanos::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Nanos, E> {
                Ok(Nanos(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Nanos, E> {
                u64::try_from(v).map(Nanos).map_err(|_| E::custom("a duration cannot be negative"))
            }
        }
        d.deserialize_any(NanosVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_human_durations() {
        assert_eq!(Nanos::parse("250ms").unwrap(), Nanos(250_000_000));
        assert_eq!(Nanos::parse("1s 5ns").unwrap(), Nanos(1_000_000_005));
        assert_eq!(Nanos(999_999_999).to_string(), "999ms 999us 999ns");
        assert_eq!(Nanos(0).to_string(), "0s");
        assert!(Nanos::parse("5 parsecs").unwrap_err().contains("\"250ms\""));
    }
}
