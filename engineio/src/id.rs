//! Session and socket ids.
//!
//! The reference server (engine.io's `base64id`) makes ids from 15 random bytes encoded as
//! URL-safe base64, which gives exactly 20 characters. The Redis adapter's sharded mode
//! assumes that a 20-character room name is a socket id, so the length is part of the wire
//! contract, not a cosmetic choice.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use std::fmt;
use std::sync::Arc;

/// A 20-character, unguessable identifier drawn from the operating system's randomness.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid(Arc<str>);

impl Sid {
    /// Draws a fresh id from OS randomness.
    pub fn generate() -> Sid {
        let mut raw = [0u8; 15];
        // The OS RNG failing is unrecoverable for a server that must hand out unguessable ids.
        getrandom::fill(&mut raw).expect("the operating system's random number generator failed");
        Sid(URL_SAFE_NO_PAD.encode(raw).into())
    }

    /// Wraps an id received from elsewhere (a query string, a Redis message).
    pub fn from_string(s: impl Into<Arc<str>>) -> Sid {
        Sid(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", &self.0)
    }
}

impl std::borrow::Borrow<str> for Sid {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Sid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_twenty_url_safe_characters() {
        for _ in 0..1000 {
            let id = Sid::generate();
            assert_eq!(id.as_str().len(), 20);
            assert!(id
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
    }

    #[test]
    fn ids_do_not_repeat() {
        let ids: HashSet<_> = (0..10_000).map(|_| Sid::generate()).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
