//! What an Engine.IO server tells its host about connections, as engine.io's server emits it:
//! `connection`, the session's close, `connection_error`, and the `initial_headers` /
//! `headers` a host may add to responses. Set with [`crate::EngineServer::set_observer`];
//! without an observer nothing is built or asked, and an observer answers
//! [`EngineObserver::wants_headers`] so responses wait for the host only when it listens.

use crate::error::EngineError;
use crate::handshake::RequestInfo;
use crate::pending::Pending;
use crate::session::{CloseReason, EngineSession};
use std::sync::Arc;

/// Response headers a host adds: name, value.
pub type ExtraHeaders = Vec<(String, String)>;

/// Receives a server's connection events. Every method has a default that does nothing.
pub trait EngineObserver: Send + Sync + 'static {
    /// A session passed its handshake and is registered; its open packet is not sent yet,
    /// so this comes before anything the client sends on it.
    fn connection(&self, _session: &Arc<EngineSession>) {}

    /// A session closed and is released.
    fn closed(&self, _session: &Arc<EngineSession>, _reason: CloseReason) {}

    /// A request was refused (engine.io's `connection_error`).
    fn connection_error(&self, _refused: RefusedRequest) {}

    /// Whether [`EngineObserver::headers`] should be asked for a response: `initial` for a
    /// handshake (no sid), otherwise for a polling response or a WebSocket upgrade of a session.
    fn wants_headers(&self, _initial: bool) -> bool {
        false
    }

    /// Headers to add to a successful handshake, polling or WebSocket upgrade response (the
    /// answer waits for them).
    fn headers(
        &self,
        _request: RequestInfo,
        _method: &str,
        _initial: bool,
    ) -> Pending<ExtraHeaders> {
        Pending::Ready(Vec::new())
    }
}

/// A refused request, with engine.io's code, message and context.
#[derive(Debug, Clone)]
pub struct RefusedRequest {
    pub error: EngineError,
    pub method: String,
    pub request: RequestInfo,
    /// engine.io's `context` (`{ transport }`, `{ sid }`, `{ name, ... }`, ...).
    pub context: Vec<(&'static str, ContextValue)>,
}

/// A value of a refusal's context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    Text(String),
    Number(u64),
    /// `undefined` in engine.io (a missing query parameter, a refusal without a message).
    Absent,
}

impl ContextValue {
    pub fn text(value: Option<&str>) -> ContextValue {
        value.map_or(ContextValue::Absent, |v| ContextValue::Text(v.to_string()))
    }

    /// The context as a JSON object (absent values left out, as `JSON.stringify` does).
    pub fn json_object(context: &[(&'static str, ContextValue)]) -> String {
        let mut out = String::from("{");
        for (key, value) in context {
            let value = match value {
                ContextValue::Text(t) => json_string(t),
                ContextValue::Number(n) => n.to_string(),
                ContextValue::Absent => continue,
            };
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&json_string(key));
            out.push(':');
            out.push_str(&value);
        }
        out.push('}');
        out
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_are_json_objects_without_absent_values() {
        let context = [
            ("name", ContextValue::Text("INVALID_ORIGIN".into())),
            ("origin", ContextValue::Text("a\"\u{1}".into())),
            ("protocol", ContextValue::Number(3)),
            ("message", ContextValue::Absent),
        ];
        assert_eq!(
            ContextValue::json_object(&context),
            r#"{"name":"INVALID_ORIGIN","origin":"a\"\u0001","protocol":3}"#
        );
        assert_eq!(ContextValue::json_object(&[]), "{}");
    }
}
