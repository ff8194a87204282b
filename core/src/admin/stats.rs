//! `server_stats`: this node's counts, sent to the admin namespace every interval (and once
//! at once), until the server closes.

use super::AdminOptions;
use crate::engineio::traffic::{TrafficEvent, TrafficMeter};
use crate::namespace::Namespace;
use crate::server::Server;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

/// When the first server of this process was built: `uptime` counts from there.
static STARTED: OnceLock<Instant> = OnceLock::new();

pub(crate) fn mark_process_start() {
    STARTED.get_or_init(Instant::now);
}

pub(super) fn start(
    io: &Server,
    admin: &Arc<Namespace>,
    meter: Arc<TrafficMeter>,
    options: &AdminOptions,
) {
    let hostname = gethostname::gethostname().to_string_lossy().into_owned();
    let base = Base {
        server_id: options
            .server_id
            .clone()
            .unwrap_or_else(|| hostname.clone()),
        hostname,
        pid: std::process::id(),
    };
    let server = Arc::downgrade(&io.shared);
    let admin = Arc::downgrade(admin);
    let every = options.stats_interval;
    io.runtime().spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            if !emit(&server, &admin, &meter, &base) {
                return;
            }
        }
    });
}

struct Base {
    server_id: String,
    hostname: String,
    pid: u32,
}

/// Sends one `server_stats`; false once the server is closed or gone.
fn emit(
    server: &Weak<crate::server::ServerShared>,
    admin: &Weak<Namespace>,
    meter: &TrafficMeter,
    base: &Base,
) -> bool {
    let (Some(shared), Some(admin)) = (server.upgrade(), admin.upgrade()) else {
        return false;
    };
    let io = Server { shared };
    if io.is_closed() {
        return false;
    }
    let (clients, polling) = io.engine().open_session_counts();
    let mut namespaces: Vec<Value> = io
        .namespaces()
        .iter()
        .map(|n| json!({ "name": n.name(), "socketsCount": n.socket_count() }))
        .collect();
    namespaces.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let uptime = STARTED.get_or_init(Instant::now).elapsed().as_secs_f64();
    let stats = json!({
        "serverId": base.server_id,
        "hostname": base.hostname,
        "pid": base.pid,
        "uptime": uptime,
        "clientsCount": clients,
        "pollingClientsCount": polling,
        "aggregatedEvents": meter.drain().iter().map(aggregated).collect::<Vec<_>>(),
        "namespaces": namespaces,
    });
    let _ = admin.emit("server_stats", crate::payload!(stats));
    true
}

/// One count as the UI reads it (`subType` only when there is one).
fn aggregated(event: &TrafficEvent) -> Value {
    let (kind, sub) = event.kind.names();
    let mut out = json!({
        "timestamp": event.timestamp_ms,
        "type": kind,
        "count": event.count,
    });
    if let (Some(sub), Value::Object(map)) = (sub, &mut out) {
        map.insert("subType".into(), Value::String(sub.into()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::traffic::TrafficKind;

    #[test]
    fn counts_are_named_as_the_ui_reads_them() {
        let out = aggregated(&TrafficEvent {
            timestamp_ms: 1000,
            kind: TrafficKind::Disconnection("ping timeout"),
            count: 2,
        });
        assert_eq!(
            out,
            json!({"timestamp": 1000, "type": "rawDisconnection", "subType": "ping timeout", "count": 2})
        );
        let out = aggregated(&TrafficEvent {
            timestamp_ms: 2000,
            kind: TrafficKind::BytesOut,
            count: 9,
        });
        assert!(out.get("subType").is_none());
    }
}
