//! CONNECTs in progress: which namespace they resolved to, and why a dynamic one was refused.
//!
//! A dynamic child has to exist while its middlewares run (they see `socket.nsp`), and must
//! not be removed or evicted while a CONNECT is on its way into it. Every resolved CONNECT
//! holds an [`Admission`]; when the last one goes away, the child is removed
//! (`cleanupEmptyChildNamespaces`, nobody in it) or, if nobody ever joined it, becomes one a
//! CONNECT at `max_child_namespaces` may evict: `40/dyn-1,`, `40/dyn-2,`… refused one by one
//! never grow the server (and its Redis subscriptions) past the cap, nor lock it.

use crate::namespace::Namespace;
use std::sync::Arc;

/// Characters a client-chosen (dynamic) namespace name may not contain: the Redis adapter
/// builds channel names as `<key>#<nsp>#<room>#` and subscribes with glob patterns, so `#`
/// would let one namespace's name reach into another's rooms, and `*`, `?`, `[`, `]`, `\`
/// would widen the patterns.
pub const FORBIDDEN_IN_DYNAMIC_NAMES: &[char] = &['#', '*', '?', '[', ']', '\\'];

/// The default of [`crate::ServerConfig::max_child_namespaces`].
pub const DEFAULT_MAX_CHILD_NAMESPACES: usize = 10_000;

/// Why a CONNECT found no namespace to join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No namespace and no dynamic matcher accepted the name (socket.io's answer).
    Invalid,
    /// A dynamic name with a character from [`FORBIDDEN_IN_DYNAMIC_NAMES`].
    ForbiddenCharacter,
    /// Creating the child would pass `max_child_namespaces`.
    TooManyChildren(usize),
}

impl Refusal {
    /// The CONNECT_ERROR payload. The message stays socket.io's "Invalid namespace" where a
    /// client may test for it; `data.reason` says what was wrong.
    pub(crate) fn to_json(self) -> String {
        match self {
            Refusal::Invalid => r#"{"message":"Invalid namespace"}"#.to_string(),
            Refusal::ForbiddenCharacter => serde_json::json!({
                "message": "Invalid namespace",
                "data": {"reason": "a dynamic namespace name may not contain # * ? [ ] or \\"},
            })
            .to_string(),
            Refusal::TooManyChildren(limit) => serde_json::json!({
                "message": "Too many namespaces",
                "data": {"reason": format!("the server holds its limit of {limit} dynamic namespaces")},
            })
            .to_string(),
        }
    }
}

/// Whether a name a client asked for may become a dynamic child.
pub(crate) fn check_dynamic_name(name: &str) -> Result<(), Refusal> {
    if name.contains(FORBIDDEN_IN_DYNAMIC_NAMES) {
        Err(Refusal::ForbiddenCharacter)
    } else {
        Ok(())
    }
}

/// A CONNECT that resolved to `namespace` and has not finished (middlewares running).
/// Created only under the server's namespace map lock (see `ServerShared::admit`), so a child
/// is never removed while a CONNECT is on its way into it.
pub(crate) struct Admission {
    nsp: Arc<Namespace>,
}

impl Admission {
    pub(crate) fn begin(nsp: Arc<Namespace>) -> Admission {
        nsp.admission_started();
        Admission { nsp }
    }

    pub(crate) fn namespace(&self) -> &Arc<Namespace> {
        &self.nsp
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.nsp.admission_ended();
        // Admitted or not: the child's removal or eviction may have waited for this CONNECT.
        if self.nsp.parent().is_some() {
            if let Some(server) = self.nsp.server() {
                server.connect_ended(&self.nsp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_and_separator_characters_are_refused() {
        for bad in ["/a#b", "/a*", "/a?", "/[ab]", "/a]", "/a\\b"] {
            assert_eq!(
                check_dynamic_name(bad),
                Err(Refusal::ForbiddenCharacter),
                "{bad}"
            );
        }
        assert_eq!(check_dynamic_name("/dyn-1.é-x_y"), Ok(()));
        let json: serde_json::Value =
            serde_json::from_str(&Refusal::ForbiddenCharacter.to_json()).unwrap();
        assert_eq!(json["message"], "Invalid namespace");
        let json: serde_json::Value =
            serde_json::from_str(&Refusal::TooManyChildren(3).to_json()).unwrap();
        assert_eq!(json["message"], "Too many namespaces");
    }
}
