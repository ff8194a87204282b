//! Connection state recovery across nodes, as `@socket.io/redis-streams-adapter` keeps it: a
//! disconnected socket's session is a Redis key (`<sessionKeyPrefix><pid>`, base64 of msgpack
//! `{sid, pid, rooms, data}`, expiring after `maxDisconnectionDuration`), and the packets it
//! missed are the stream's broadcast entries after the offset the client sends back (each
//! broadcast's offset is its entry id). Any node can restore a session another node kept, a
//! Node socket.io node included.

use super::message::{kind, Body, Message};
use base64::Engine as _;
use rmpv::Value as Mp;
use roomcast::adapter::Room;
use roomcast::msgpack::{json_to_mp, mp_to_json};
use roomcast::recovery::{should_include, PersistedSession, RestoredSession};
use roomcast::{Payload, Sid};
use std::sync::Arc;

/// `XRANGE` calls made to collect one session's missed packets, as the npm adapter bounds it
/// (entries appended faster than they are read must not keep a reconnecting client waiting).
const MAX_RANGE_CALLS: usize = 100;
/// Entries per `XRANGE` call.
const RANGE_COUNT: usize = 1_000;

/// The key that holds the session of `pid`.
pub(crate) fn key(prefix: &str, pid: &str) -> String {
    format!("{prefix}{pid}")
}

/// A session as the npm adapter stores it.
pub(crate) fn encode(session: &PersistedSession) -> Result<String, std::io::Error> {
    let data: serde_json::Value = serde_json::from_str(&session.data).unwrap_or_default();
    let rooms = session.rooms.iter().map(|r| Mp::from(&**r)).collect();
    let value = Mp::Map(vec![
        (Mp::from("sid"), Mp::from(session.sid.as_str())),
        (Mp::from("pid"), Mp::from(session.pid.as_str())),
        (Mp::from("rooms"), Mp::Array(rooms)),
        (Mp::from("data"), json_to_mp(&data, &[])),
    ]);
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &value)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A stored session, or `None` when it is not one (another writer's key, a corrupt value).
pub(crate) fn decode(stored: &str) -> Option<PersistedSession> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(stored.trim())
        .ok()?;
    let value = rmpv::decode::read_value(&mut bytes.as_slice()).ok()?;
    let field = |name: &str| {
        value
            .as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(name))
            .map(|(_, v)| v)
    };
    let sid = field("sid")?.as_str()?;
    let pid = field("pid")?.as_str()?;
    let rooms: Vec<Room> = field("rooms")?
        .as_array()?
        .iter()
        .filter_map(|r| r.as_str().map(Arc::from))
        .collect();
    let data = field("data")
        .map(|d| mp_to_json(d, &mut Vec::new()).to_string())
        .unwrap_or_else(|| "{}".into());
    Some(PersistedSession {
        sid: Sid::from_string(sid),
        pid: Sid::from_string(pid),
        rooms,
        data,
    })
}

/// A stream entry id (`<ms>-<seq>`), the only offsets this adapter hands out.
pub(crate) fn valid_offset(offset: &str) -> bool {
    offset.split_once('-').is_some_and(|(ms, seq)| {
        !ms.is_empty()
            && !seq.is_empty()
            && ms.bytes().all(|b| b.is_ascii_digit())
            && seq.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The first id after `offset` (an exclusive range start that Redis before 6.2 understands).
fn next_offset(offset: &str) -> Option<String> {
    let (ms, seq) = offset.split_once('-')?;
    Some(format!("{ms}-{}", seq.parse::<u64>().ok()?.checked_add(1)?))
}

type Entry = (String, Vec<(String, String)>);

async fn range(
    conn: &mut redis::aio::ConnectionManager,
    stream: &str,
    from: &str,
    to: &str,
    count: usize,
) -> redis::RedisResult<Vec<Entry>> {
    redis::cmd("XRANGE")
        .arg(stream)
        .arg(from)
        .arg(to)
        .arg("COUNT")
        .arg(count)
        .query_async(conn)
        .await
}

/// What a reconnecting client gets back: its session (taken, so it restores once) and the
/// broadcasts of `nsp` after `offset` that reach its rooms, each with its offset appended.
pub(crate) async fn restore(
    mut conn: redis::aio::ConnectionManager,
    stream: &str,
    key: &str,
    nsp: &str,
    offset: &str,
) -> redis::RedisResult<Option<RestoredSession>> {
    if !valid_offset(offset) {
        return Ok(None);
    }
    let stored: Option<String> = redis::cmd("GETDEL").arg(key).query_async(&mut conn).await?;
    let Some(session) = stored.as_deref().and_then(decode) else {
        return Ok(None);
    };
    // The offset must still be in the stream: past it, what the client missed is trimmed away.
    if range(&mut conn, stream, offset, offset, 1)
        .await?
        .is_empty()
    {
        return Ok(None);
    }
    let (missed, last) = read_missed(&mut conn, stream, nsp, &session.rooms, offset).await?;
    Ok(Some(RestoredSession {
        session,
        missed,
        read_up_to: Some(last),
    }))
}

/// The broadcasts after `offset` that reach `rooms`, and the id read up to.
pub(crate) async fn read_missed(
    conn: &mut redis::aio::ConnectionManager,
    stream: &str,
    nsp: &str,
    rooms: &[Room],
    offset: &str,
) -> redis::RedisResult<(Vec<(String, Payload)>, String)> {
    let mut missed = Vec::new();
    let mut last = offset.to_string();
    for _ in 0..MAX_RANGE_CALLS {
        let Some(from) = next_offset(&last) else {
            break;
        };
        let entries = range(conn, stream, &from, "+", RANGE_COUNT).await?;
        let full = entries.len() == RANGE_COUNT;
        for (id, fields) in entries {
            if let Some((event, args)) = missed_packet(&fields, nsp, rooms, &id) {
                missed.push((event, args));
            }
            last = id;
        }
        if !full {
            break;
        }
    }
    Ok((missed, last))
}

/// The broadcast an entry carries, if it is one the session missed: of its namespace, without
/// acks, not volatile, to its rooms; its offset appended as the last argument.
fn missed_packet(
    fields: &[(String, String)],
    nsp: &str,
    rooms: &[Room],
    id: &str,
) -> Option<(String, Payload)> {
    let is = |k: &str, v: &str| fields.iter().any(|(fk, fv)| fk == k && fv == v);
    if !is("nsp", nsp) || !is("type", &kind::BROADCAST.to_string()) {
        return None;
    }
    let pairs = fields.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let Ok(Some(Message {
        body:
            Body::Broadcast {
                request_id: None,
                event,
                mut args,
                opts,
            },
        ..
    })) = Message::from_stream_fields(pairs)
    else {
        return None;
    };
    if opts.flags.volatile || !should_include(rooms, &opts) {
        return None;
    }
    let _ = args.push(id);
    Some((event, args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> PersistedSession {
        PersistedSession {
            sid: Sid::from_string("sid1"),
            pid: Sid::from_string("pid1"),
            rooms: vec![Arc::from("sid1"), Arc::from("room")],
            data: r#"{"user":"ann","n":[1,2]}"#.into(),
        }
    }

    #[test]
    fn sessions_round_trip_through_the_npm_encoding() {
        let stored = encode(&session()).expect("encode");
        let back = decode(&stored).expect("decode");
        assert_eq!(back.sid.as_str(), "sid1");
        assert_eq!(back.pid.as_str(), "pid1");
        assert_eq!(back.rooms, session().rooms);
        let data: serde_json::Value = serde_json::from_str(&back.data).expect("json");
        assert_eq!(data, serde_json::json!({"user": "ann", "n": [1, 2]}));
        assert!(decode("not base64 !").is_none());
        assert!(decode(&base64::engine::general_purpose::STANDARD.encode([0xc0])).is_none());
    }

    #[test]
    fn a_session_the_npm_adapter_stored_decodes() {
        // @msgpack/msgpack's encode({sid: "a", pid: "b", rooms: ["a", "r"], data: {x: 1}}),
        // base64 as @socket.io/redis-streams-adapter stores it.
        let stored = "hKNzaWShYaNwaWShYqVyb29tc5KhYaFypGRhdGGBoXgB";
        let s = decode(stored).expect("npm session");
        assert_eq!((s.sid.as_str(), s.pid.as_str()), ("a", "b"));
        assert_eq!(s.rooms, vec![Arc::<str>::from("a"), Arc::from("r")]);
        assert_eq!(s.data, r#"{"x":1}"#);
    }

    #[test]
    fn only_stream_ids_are_offsets() {
        assert!(valid_offset("1700000000000-0"));
        for bad in ["", "-", "1-", "-1", "1-a", "1_2", "1-2-3", "+", "$"] {
            assert!(!valid_offset(bad), "{bad}");
        }
        assert_eq!(next_offset("5-9").as_deref(), Some("5-10"));
    }
}
