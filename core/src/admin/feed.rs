//! Development mode's live feed: what happens to sockets, reported to the admin namespace.
//!
//! The hooks run on the hot paths (an event in, each recipient of a broadcast, a room join
//! under the adapter's bookkeeping), so they only queue a record; one task turns the records
//! into broadcasts to the admin namespace. The queue is bounded: past it records are dropped
//! and counted, and the count is logged, never silently.

use super::wire;
use crate::monitor::SocketMonitor;
use crate::namespace::Namespace;
use crate::server::Server;
use crate::socket::{DisconnectReason, SocketRef};
use crate::Payload;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use tokio::sync::mpsc;

/// Records waiting for the feed task; past this they are dropped (and counted).
const QUEUE_BOUND: usize = 65_536;

enum Record {
    Connected(SocketRef, String),
    Upgraded(SocketRef),
    Disconnected {
        nsp: String,
        id: String,
        reason: &'static str,
        at: String,
    },
    Room {
        nsp: String,
        room: String,
        id: String,
        joined: bool,
        at: String,
    },
    Event {
        received: bool,
        nsp: String,
        id: String,
        args: Payload,
        at: String,
    },
}

pub(super) struct Feed {
    tx: mpsc::Sender<Record>,
    /// The admin namespace's name: its own events are not reported (reporting them would
    /// report the reports).
    admin_nsp: String,
    dropped: AtomicU64,
}

impl Feed {
    /// Starts the task that sends the records to `admin`; it ends with the server.
    pub(super) fn start(io: &Server, admin: &Arc<Namespace>) -> Arc<Feed> {
        let (tx, rx) = mpsc::channel(QUEUE_BOUND);
        let feed = Arc::new(Feed {
            tx,
            admin_nsp: admin.name().to_string(),
            dropped: AtomicU64::new(0),
        });
        io.runtime()
            .spawn(run(Arc::downgrade(admin), Arc::downgrade(&feed), rx));
        feed
    }

    fn push(&self, record: Record) {
        if self.tx.try_send(record).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Reports the joins and leaves of `nsp`'s sockets from now on.
    pub(super) fn watch_rooms(self: &Arc<Self>, nsp: &Arc<Namespace>) {
        let feed = Arc::downgrade(self);
        let name = nsp.name().to_string();
        nsp.adapter()
            .index()
            .watch(Arc::new(move |sid, room, joined| {
                if let Some(feed) = feed.upgrade() {
                    feed.push(Record::Room {
                        nsp: name.clone(),
                        room: room.to_string(),
                        id: sid.to_string(),
                        joined,
                        at: wire::now_iso(),
                    });
                }
            }));
    }

    fn is_admin(&self, socket: &SocketRef) -> bool {
        socket.ns() == self.admin_nsp
    }
}

impl SocketMonitor for Feed {
    fn connected(&self, socket: &SocketRef) {
        self.push(Record::Connected(socket.clone(), wire::now_iso()));
    }

    fn transport_upgraded(&self, socket: &SocketRef) {
        self.push(Record::Upgraded(socket.clone()));
    }

    fn disconnected(&self, socket: &SocketRef, reason: DisconnectReason) {
        self.push(Record::Disconnected {
            nsp: socket.ns().to_string(),
            id: socket.id().to_string(),
            reason: reason.as_str(),
            at: wire::now_iso(),
        });
    }

    fn event_received(&self, socket: &SocketRef, event: &str, args: &Payload) {
        if !self.is_admin(socket) {
            self.push(event_record(true, socket, event, args));
        }
    }

    fn event_sent(&self, socket: &SocketRef, event: &str, args: &Payload) {
        if !self.is_admin(socket) {
            self.push(event_record(false, socket, event, args));
        }
    }
}

fn event_record(received: bool, socket: &SocketRef, event: &str, args: &Payload) -> Record {
    Record::Event {
        received,
        nsp: socket.ns().to_string(),
        id: socket.id().to_string(),
        args: Payload::with_binaries(
            wire::event_with_args(event, &args.json),
            args.binaries.clone(),
        ),
        at: wire::now_iso(),
    }
}

async fn run(admin: Weak<Namespace>, feed: Weak<Feed>, mut rx: mpsc::Receiver<Record>) {
    let mut reported_drops = 0;
    while let Some(record) = rx.recv().await {
        let Some(admin) = admin.upgrade() else {
            return;
        };
        if let Some(feed) = feed.upgrade() {
            let dropped = feed.dropped.load(Ordering::Relaxed);
            if dropped > reported_drops {
                tracing::warn!(
                    dropped = dropped - reported_drops,
                    "admin UI feed full: reports dropped (development mode reports every packet; \
                     use production mode under heavy traffic)"
                );
                reported_drops = dropped;
            }
        }
        let (event, payload) = to_payload(record);
        let _ = admin.emit(event, payload);
    }
}

fn to_payload(record: Record) -> (&'static str, Payload) {
    match record {
        Record::Connected(socket, at) => (
            "socket_connected",
            crate::payload!(wire::serialize_local(&socket), at),
        ),
        Record::Upgraded(socket) => (
            "socket_updated",
            crate::payload!(serde_json::json!({
                "id": socket.id().as_str(),
                "nsp": socket.ns(),
                "transport": socket.transport(),
            })),
        ),
        Record::Disconnected {
            nsp,
            id,
            reason,
            at,
        } => ("socket_disconnected", crate::payload!(nsp, id, reason, at)),
        Record::Room {
            nsp,
            room,
            id,
            joined,
            at,
        } => (
            if joined { "room_joined" } else { "room_left" },
            crate::payload!(nsp, room, id, at),
        ),
        Record::Event {
            received,
            nsp,
            id,
            args,
            at,
        } => {
            let head = crate::payload!(nsp, id);
            let json = format!(
                "{},{},{}]",
                head.json.trim_end_matches(']'),
                args.json,
                serde_json::to_string(&at).unwrap_or_default()
            );
            let name = if received {
                "event_received"
            } else {
                "event_sent"
            };
            (name, Payload::with_binaries(json, args.binaries))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_reports_nest_the_event_and_its_arguments() {
        let (name, payload) = to_payload(Record::Event {
            received: true,
            nsp: "/".into(),
            id: "abc".into(),
            args: Payload::from_json(r#"["hi",1]"#),
            at: "2026-12-04T00:00:00.000Z".into(),
        });
        assert_eq!(name, "event_received");
        assert_eq!(
            payload.json,
            r#"["/","abc",["hi",1],"2026-12-04T00:00:00.000Z"]"#
        );
    }
}
