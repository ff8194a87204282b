//! The admin UI's data shapes: a serialised socket, the supported features, ISO timestamps
//! (what `JSON.stringify(new Date())` gives the UI).

use crate::adapter::RemoteSocket;
use crate::socket::SocketRef;
use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `new Date().toISOString()`.
pub(super) fn now_iso() -> String {
    roomcast_protocol::calendar::iso_string(now_ms() as i64)
}

/// What the UI may do, in the order the npm package lists them.
pub(super) fn features(read_only: bool, development: bool) -> Vec<&'static str> {
    let mut features = Vec::new();
    if !read_only {
        features.extend([
            "EMIT",
            "JOIN",
            "LEAVE",
            "DISCONNECT",
            "MJOIN",
            "MLEAVE",
            "MDISCONNECT",
        ]);
    }
    features.push("AGGREGATED_EVENTS");
    if development {
        features.push("ALL_EVENTS");
    }
    features
}

/// A socket as the UI lists it. Remote sockets (other nodes) have no transport or client id
/// in what the cluster returns; `local` fills them in for this node's own.
pub(super) fn serialize_remote(socket: &RemoteSocket, local: Option<&SocketRef>) -> Value {
    let rooms: Vec<&str> = socket.rooms.iter().map(|r| &**r).collect();
    let data: Value = serde_json::from_str(&socket.data).unwrap_or(Value::Object(Map::new()));
    // A Node socket.io node instrumented by the npm package keeps them in `data._admin`.
    let npm = data.get("_admin").cloned();
    let mut out = json!({
        "id": socket.id,
        "nsp": socket.nsp,
        "data": without_admin(data),
        "handshake": handshake(&socket.handshake),
        "rooms": rooms,
    });
    if let Some(s) = local {
        add_connection(&mut out, s);
    } else if let (Some(npm), Value::Object(map)) = (npm, &mut out) {
        for key in ["clientId", "transport"] {
            if let Some(v) = npm.get(key) {
                map.insert(key.into(), v.clone());
            }
        }
    }
    out
}

/// A socket of this node as the UI lists it.
pub(super) fn serialize_local(socket: &SocketRef) -> Value {
    let remote = RemoteSocket::from_local(socket);
    serialize_remote(&remote, Some(socket))
}

/// The client id (the Engine.IO session's, shortened as the npm package does: it is
/// sensitive) and the transport.
fn add_connection(out: &mut Value, socket: &SocketRef) {
    if let Value::Object(map) = out {
        let client: String = socket.engine_sid().as_str().chars().take(12).collect();
        map.insert("clientId".into(), Value::String(client));
        map.insert("transport".into(), Value::String(socket.transport().into()));
    }
}

/// The handshake fields the UI shows (the address as a proxy reports it); `auth` is left out.
fn handshake(h: &Value) -> Value {
    let header = |name: &str| h.get("headers").and_then(|hs| hs.get(name)).cloned();
    let address = header("cf-connecting-ip")
        .or_else(|| header("x-forwarded-for"))
        .or_else(|| h.get("address").cloned())
        .unwrap_or(Value::Null);
    let field = |name: &str| h.get(name).cloned().unwrap_or(Value::Null);
    json!({
        "address": address,
        "headers": field("headers"),
        "query": field("query"),
        "issued": field("issued"),
        "secure": field("secure"),
        "time": field("time"),
        "url": field("url"),
        "xdomain": field("xdomain"),
    })
}

/// `socket.data` without the npm package's private `_admin` key (a mixed cluster may carry it).
fn without_admin(data: Value) -> Value {
    match data {
        Value::Object(mut map) => {
            map.remove("_admin");
            Value::Object(map)
        }
        other => other,
    }
}

/// `[event, ...args]` as JSON text, from an event name and its argument array's text.
pub(super) fn event_with_args(event: &str, args_json: &str) -> String {
    let name = serde_json::to_string(event).unwrap_or_else(|_| "\"\"".into());
    let inner = args_json.trim();
    let inner = inner
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or("")
        .trim();
    if inner.is_empty() {
        format!("[{name}]")
    } else {
        format!("[{name},{inner}]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_their_name_first() {
        assert_eq!(event_with_args("hi", "[]"), r#"["hi"]"#);
        assert_eq!(event_with_args("a\"b", "[1,[2]]"), r#"["a\"b",1,[2]]"#);
        assert_eq!(event_with_args("x", " [ {\"k\":1} ] "), r#"["x",{"k":1}]"#);
    }

    #[test]
    fn read_only_and_production_take_features_away() {
        assert_eq!(features(true, false), vec!["AGGREGATED_EVENTS"]);
        let all = features(false, true);
        assert_eq!(all.first(), Some(&"EMIT"));
        assert_eq!(all.last(), Some(&"ALL_EVENTS"));
        assert_eq!(all.len(), 9);
    }

    #[test]
    fn the_address_comes_from_a_proxy_header_when_there_is_one() {
        let h = json!({"address": "127.0.0.1", "headers": {"x-forwarded-for": "10.0.0.9"}, "auth": {"token": 1}});
        let out = handshake(&h);
        assert_eq!(out["address"], "10.0.0.9");
        assert!(out.get("auth").is_none(), "auth is never shown");
        assert_eq!(without_admin(json!({"_admin": 1, "a": 2})), json!({"a": 2}));
    }
}
