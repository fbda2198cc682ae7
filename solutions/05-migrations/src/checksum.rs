//! The brief's migration checksum: lowercase hex SHA-256 of `up` after every `"\r\n"` becomes
//! `"\n"`, so a CRLF checkout is the same migration and any other edit is not.

use sha2::{Digest, Sha256};

/// The checksum of a migration whose SQL is `up`.
pub fn checksum(up: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Validation hashes every applied script on every call: skip the copy when there is no CR.
    let digest = if up.contains('\r') { Sha256::digest(up.replace("\r\n", "\n")) } else { Sha256::digest(up) };
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}
