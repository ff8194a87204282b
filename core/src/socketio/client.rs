//! The Socket.IO client of one Engine.IO session: it decodes packets, reassembles binary
//! attachments, connects namespaces and routes packets to their sockets.

use super::packet::{self, PacketKind};
use super::parser::{decode_msgpack, Parser};
use crate::admission::Admission;
use crate::engineio::session::{Message, SessionHandler};
use crate::engineio::PacketEvent;
use crate::engineio::{CloseReason, EngineServer, EngineSession, SessionAcceptor};
use crate::host::{ConnEvent, Pending};
use crate::server::{Resolved, ServerShared};
use crate::socket::{
    incoming_payload, Announcement, DisconnectReason, IncomingEvent, Socket, SocketRef,
};
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::{Arc, Weak};

/// How long a CONNECT that claims a session waits for its previous socket's disconnect
/// handlers (see [`Client::restore_and_connect`]).
const CLOSING_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

struct Partial {
    text: String,
    expected: usize,
    binaries: Vec<Bytes>,
}

struct State {
    /// In connection order: a server-side close disconnects namespaces in that order.
    sockets: Vec<(String, SocketRef)>,
    connecting: HashSet<String>,
    partial: Option<Partial>,
    closed: bool,
    /// Sockets that asked to hear about the connection ([`crate::host::ConnEvent`]); kept
    /// after they leave their namespace, as the connection's `close` concerns them still.
    watchers: Vec<SocketRef>,
}

/// Gives every new Engine.IO session of the server a Socket.IO client.
pub(crate) fn acceptor(server: Weak<ServerShared>) -> Arc<dyn SessionAcceptor> {
    Arc::new(ClientAcceptor { server })
}

struct ClientAcceptor {
    server: Weak<ServerShared>,
}

impl SessionAcceptor for ClientAcceptor {
    fn accept(&self, session: &Arc<EngineSession>, engine: &EngineServer) {
        match self.server.upgrade() {
            Some(server) => {
                Client::attach(session, &server);
            }
            // The Socket.IO server is gone while its listener still answers: nothing can
            // serve this session.
            None => {
                session.close(CloseReason::ServerShuttingDown);
                engine.release_session(session, CloseReason::ServerShuttingDown);
            }
        }
    }
}

/// One Engine.IO connection seen from Socket.IO.
pub struct Client {
    pub session: Arc<EngineSession>,
    server: Weak<ServerShared>,
    me: Weak<Client>,
    parser: Parser,
    state: Mutex<State>,
}

impl Client {
    /// Creates the client of a new session and arms the connect timeout.
    pub(crate) fn attach(session: &Arc<EngineSession>, server: &Arc<ServerShared>) -> Arc<Client> {
        let client = Arc::new_cyclic(|me| Client {
            session: session.clone(),
            server: Arc::downgrade(server),
            me: me.clone(),
            parser: server.config.parser,
            state: Mutex::new(State {
                sockets: Vec::new(),
                connecting: HashSet::new(),
                partial: None,
                closed: false,
                watchers: Vec::new(),
            }),
        });
        session.set_handler(client.clone());
        // socket.io v2 clients are connected to "/" implicitly (Socket.IO protocol v4).
        if session.protocol == 3 {
            client.on_connect("/", None);
        }
        let weak = Arc::downgrade(&client);
        let timeout = server.config.connect_timeout;
        server.runtime.spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(c) = weak.upgrade() {
                let idle = {
                    let st = c.state.lock();
                    !st.closed && st.sockets.is_empty() && st.connecting.is_empty()
                };
                if idle {
                    tracing::debug!(sid = %c.session.sid, "no namespace joined within connectTimeout");
                    c.session.close(CloseReason::ForcedClose);
                }
            }
        });
        client
    }

    fn me(&self) -> Option<Arc<Client>> {
        self.me.upgrade()
    }

    fn protocol_error(&self, why: &str) {
        tracing::debug!(sid = %self.session.sid, reason = why, "closing a client that broke the protocol");
        // As socket.io: every socket of the connection hears the error, then it closes.
        for s in self.watchers() {
            if s.connected() {
                s.conn_event(ConnEvent::Error(why.to_string()));
            }
        }
        self.session.close(CloseReason::ForcedClose);
    }

    /// `socket` hears about this connection from now on (once is enough).
    pub(crate) fn watch(&self, socket: &SocketRef) {
        let mut st = self.state.lock();
        if !st.closed && !st.watchers.iter().any(|s| Arc::ptr_eq(s, socket)) {
            st.watchers.push(socket.clone());
        }
    }

    /// Nobody pays for this when nobody listens: an empty list is one lock, once per upgrade
    /// or close.
    fn watchers(&self) -> Vec<SocketRef> {
        self.state.lock().watchers.clone()
    }

    fn parser(&self) -> Parser {
        self.parser
    }

    /// Forgets the socket of a namespace (it is disconnecting).
    pub(crate) fn forget(&self, nsp: &str) {
        self.state.lock().sockets.retain(|(name, _)| name != nsp);
    }

    /// The connection's sockets now (a copy: acting on them may change the list).
    fn sockets_now(&self) -> Vec<SocketRef> {
        self.state
            .lock()
            .sockets
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// Disconnects every socket of this connection from the server side.
    pub(crate) fn disconnect_all(&self) {
        for s in self.sockets_now() {
            s.close_with_disconnect_packet();
        }
    }

    /// The namespaces this connection has joined.
    pub fn socket_count(&self) -> usize {
        self.state.lock().sockets.len()
    }

    fn socket_of(&self, nsp: &str) -> Option<SocketRef> {
        self.state
            .lock()
            .sockets
            .iter()
            .find(|(n, _)| n == nsp)
            .map(|(_, s)| s.clone())
    }

    fn on_text(&self, text: &str) {
        if self.parser() == Parser::MsgPack {
            return self.protocol_error("text packet from a msgpack client");
        }
        if self.state.lock().partial.is_some() {
            return self.protocol_error("text packet while binary attachments were expected");
        }
        let packet = match packet::decode(text) {
            Ok(p) => p,
            Err(e) => return self.protocol_error(&e.to_string()),
        };
        if packet.attachments > 0 {
            self.state.lock().partial = Some(Partial {
                text: text.to_string(),
                expected: packet.attachments,
                binaries: Vec::with_capacity(packet.attachments),
            });
            return;
        }
        self.dispatch(&packet, Vec::new());
    }

    fn on_binary(&self, bytes: Bytes) {
        if self.parser() == Parser::MsgPack {
            return self.on_msgpack(&bytes);
        }
        let complete = {
            let mut st = self.state.lock();
            let Some(partial) = st.partial.as_mut() else {
                drop(st);
                return self.protocol_error("unexpected binary attachment");
            };
            partial.binaries.push(bytes);
            if partial.binaries.len() == partial.expected {
                st.partial.take()
            } else {
                None
            }
        };
        if let Some(p) = complete {
            match packet::decode(&p.text) {
                Ok(packet) => self.dispatch(&packet, p.binaries),
                Err(e) => self.protocol_error(&e.to_string()),
            }
        }
    }

    fn on_msgpack(&self, bytes: &[u8]) {
        let decoded = match decode_msgpack(bytes) {
            Ok(d) => d,
            Err(e) => return self.protocol_error(&e.to_string()),
        };
        let packet = packet::Packet {
            kind: decoded.kind,
            nsp: &decoded.nsp,
            id: decoded.id,
            attachments: 0,
            data: decoded.data.as_deref(),
        };
        if let Err(e) = packet::validate(&packet) {
            return self.protocol_error(&e.to_string());
        }
        self.dispatch(&packet, decoded.binaries);
    }

    fn dispatch(&self, packet: &packet::Packet<'_>, binaries: Vec<Bytes>) {
        if packet.kind == PacketKind::Connect {
            return self.on_connect(packet.nsp, packet.data);
        }
        if packet.kind == PacketKind::ConnectError {
            return self.protocol_error("CONNECT_ERROR from a client");
        }
        let socket = self.socket_of(packet.nsp);
        let Some(socket) = socket else {
            return self.protocol_error("packet for a namespace the client has not joined");
        };
        match packet.kind {
            PacketKind::Disconnect => socket.on_close(DisconnectReason::ClientNamespaceDisconnect),
            PacketKind::Event | PacketKind::BinaryEvent => {
                let data = packet.data.unwrap_or("[]");
                let (name, args) = match packet::split_event(data) {
                    Ok(parts) => parts,
                    Err(e) => return self.protocol_error(&e.to_string()),
                };
                let ack = packet.id.map(|id| socket.make_ack_sender(id));
                let args = incoming_payload(args, binaries);
                if let Some(monitor) = socket.namespace().monitor() {
                    monitor.event_received(&socket, &name, &args);
                }
                socket.on_event(IncomingEvent { name, args, ack });
            }
            PacketKind::Ack | PacketKind::BinaryAck => {
                if let Some(id) = packet.id {
                    let json = packet.data.unwrap_or("[]").to_string();
                    socket.on_ack(id, incoming_payload(json, binaries));
                }
            }
            PacketKind::Connect | PacketKind::ConnectError => {}
        }
    }

    fn on_connect(&self, nsp_name: &str, auth: Option<&str>) {
        let Some(server) = self.server.upgrade() else {
            return;
        };
        let Some(me) = self.me() else { return };
        {
            let mut st = self.state.lock();
            if st.sockets.iter().any(|(n, _)| n == nsp_name)
                || !st.connecting.insert(nsp_name.to_string())
            {
                drop(st);
                return self.protocol_error("second CONNECT to the same namespace");
            }
        }
        let (name, auth) = if self.session.protocol == 3 {
            // v2 clients put their auth in the namespace's query string: `/nsp?token=x`.
            let (path, query) = nsp_name.split_once('?').unwrap_or((nsp_name, ""));
            let fields: serde_json::Map<String, serde_json::Value> =
                form_urlencoded::parse(query.as_bytes())
                    .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
                    .collect();
            (
                path.to_string(),
                serde_json::Value::Object(fields).to_string(),
            )
        } else {
            (nsp_name.to_string(), auth.unwrap_or("{}").to_string())
        };
        if name != nsp_name {
            let mut st = self.state.lock();
            st.connecting.remove(nsp_name);
            if st.sockets.iter().any(|(n, _)| *n == name) || !st.connecting.insert(name.clone()) {
                drop(st);
                return self.protocol_error("second CONNECT to the same namespace");
            }
        }
        match server.resolve_namespace(&name, &auth) {
            Resolved::Found(admission) => me.connect_to(admission, auth),
            Resolved::Refused(refusal) => me.refuse(&name, refusal.to_json()),
            Resolved::Pending(fut) => {
                server.runtime.spawn(async move {
                    match fut.await {
                        Ok(admission) => me.connect_to(admission, auth),
                        Err(refusal) => me.refuse(&name, refusal.to_json()),
                    }
                });
            }
        }
    }

    fn refuse(&self, nsp: &str, json: String) {
        self.state.lock().connecting.remove(nsp);
        let _ = self.session.send(self.parser().control(
            PacketKind::ConnectError,
            nsp,
            Some(&json),
        ));
    }

    fn connect_to(self: Arc<Self>, admission: Admission, mut auth: String) {
        let nsp = admission.namespace().clone();
        // A reconnecting client names its previous session: resume it if it is still kept.
        let mut claim = None;
        if nsp.recovery().is_some() {
            if let Ok(serde_json::Value::Object(mut a)) = serde_json::from_str(&auth) {
                // The private id and offset are the client's secret: they never reach the
                // handshake the application sees (`fetchSockets`, other servers, logs).
                let pid = a.remove("pid");
                let offset = a.remove("offset");
                if pid.is_some() || offset.is_some() {
                    auth = serde_json::Value::Object(a).to_string();
                }
                if let (
                    Some(serde_json::Value::String(pid)),
                    Some(serde_json::Value::String(offset)),
                ) = (pid, offset)
                {
                    claim = Some((pid, offset));
                }
            }
        }
        let Some((pid, offset)) = claim else {
            return self.connect_with(admission, auth, None);
        };
        if let Some(closed) = nsp.recovery().and_then(|store| store.wait_closed(&pid)) {
            // The session's previous socket is still disconnecting (its host handlers run
            // first, as on socket.io's one thread): its state is kept only after them. A
            // handler that never finishes costs this CONNECT its recovery, not its answer.
            nsp.runtime().clone().spawn(async move {
                let _ = tokio::time::timeout(CLOSING_WAIT, closed).await;
                self.restore_and_connect(admission, auth, pid, offset);
            });
            return;
        }
        self.restore_and_connect(admission, auth, pid, offset);
    }

    /// Connects with the session `pid` left behind, if it is still kept.
    fn restore_and_connect(
        self: Arc<Self>,
        admission: Admission,
        auth: String,
        pid: String,
        offset: String,
    ) {
        let nsp = admission.namespace().clone();
        match nsp.adapter().session_store() {
            // Kept by the cluster: asked for over the network, the CONNECT waits meanwhile
            // (as it waits for middlewares).
            Some(shared) => {
                let lookup = shared.restore(&pid, &offset);
                nsp.runtime().clone().spawn(async move {
                    let restored = lookup.await;
                    self.connect_with(admission, auth, restored);
                });
            }
            None => {
                let restored = nsp
                    .recovery()
                    .and_then(|store| store.restore(&pid, &offset));
                self.connect_with(admission, auth, restored);
            }
        }
    }

    fn connect_with(
        self: Arc<Self>,
        admission: Admission,
        auth: String,
        restored: Option<crate::recovery::RestoredSession>,
    ) {
        let nsp = admission.namespace().clone();
        let socket = match &restored {
            Some(r) => {
                // The private id stays: socket.io-client reports `recovered` only when the
                // CONNECT reply carries the id it sent.
                let s = Socket::new(
                    nsp.clone(),
                    self.clone(),
                    auth,
                    r.session.sid.clone(),
                    Some(r.session.pid.clone()),
                    true,
                );
                s.set_data(r.session.data.clone());
                s
            }
            None => {
                // socket.io gives v2 clients ids derived from the engine sid (`/nsp#sid`).
                let id = if self.session.protocol == 3 {
                    if nsp.name() == "/" {
                        self.session.sid.clone()
                    } else {
                        crate::Sid::from_string(format!("{}#{}", nsp.name(), self.session.sid))
                    }
                } else {
                    crate::Sid::generate()
                };
                let pid = nsp.recovery().map(|_| crate::Sid::generate());
                Socket::new(nsp.clone(), self.clone(), auth, id, pid, false)
            }
        };
        let skip =
            restored.is_some() && nsp.recovery().is_some_and(|r| r.config().skip_middlewares);
        let authorization = if skip {
            Pending::Ready(Ok(()))
        } else {
            nsp.handler().authorize(&socket)
        };
        match authorization {
            Pending::Ready(result) => self.finish_connect(socket, result, restored, admission),
            Pending::Later(fut) => {
                nsp.runtime().clone().spawn(async move {
                    let result = fut.await;
                    self.finish_connect(socket, result, restored, admission);
                });
            }
        }
    }

    fn finish_connect(
        &self,
        socket: SocketRef,
        result: Result<(), crate::ConnectError>,
        restored: Option<crate::recovery::RestoredSession>,
        admission: Admission,
    ) {
        let nsp = socket.namespace().clone();
        if let Err(e) = result {
            // A middleware may have joined rooms before refusing: they must not outlive it.
            nsp.adapter().index().del_all(socket.id());
            // Before the answer: once the client hears it, a child it alone asked for is gone.
            drop(admission);
            let json = if self.session.protocol == 3 {
                // v2 clients get `err.data`, or the message, as the error.
                e.data
                    .clone()
                    .unwrap_or_else(|| serde_json::Value::String(e.message.clone()).to_string())
            } else {
                e.to_json()
            };
            return self.refuse(nsp.name(), json);
        }
        {
            let mut st = self.state.lock();
            st.connecting.remove(nsp.name());
            if st.closed {
                return;
            }
            socket.mark_connected(Announcement {
                restored: restored.map(Box::new),
                _admission: admission,
            });
            st.sockets.push((nsp.name().to_string(), socket.clone()));
        }
        match nsp.handler().connected(&socket) {
            Pending::Ready(()) => socket.mark_ready(),
            Pending::Later(fut) => {
                nsp.runtime().spawn(async move {
                    fut.await;
                    socket.mark_ready();
                });
            }
        }
    }
}

impl Client {
    /// The second half of a connection (see [`crate::Socket::announce`]): the socket enters
    /// its namespace and rooms, then the client hears any missed packets and CONNECT.
    pub(crate) fn announce(&self, socket: &SocketRef, announcement: Announcement) {
        let nsp = socket.namespace();
        {
            // Under the client's lock, so a close either comes first (and the socket never
            // enters the namespace) or sees it there and removes it.
            let st = self.state.lock();
            let still_here = st.sockets.iter().any(|(_, s)| Arc::ptr_eq(s, socket));
            if st.closed || !still_here {
                return;
            }
            nsp.add_socket(socket);
            if let Some(r) = &announcement.restored {
                socket.join(r.session.rooms.iter().cloned());
            }
        }
        // A session kept by the cluster was read up to some offset; what the cluster appended
        // since went past the socket while it was not in its rooms. It sees broadcasts from
        // now on, held behind a second read of the missed ones (see `catch_up`).
        if let Some(restored) = &announcement.restored {
            if let (Some(from), Some(_)) = (&restored.read_up_to, nsp.adapter().session_store()) {
                socket.hold();
                socket.mark_announced();
                if let Some(monitor) = nsp.monitor() {
                    monitor.connected(socket);
                }
                let from = from.clone();
                let missed = announcement.restored.map(|r| r.missed).unwrap_or_default();
                let me = self.me();
                let socket = socket.clone();
                nsp.runtime().spawn(async move {
                    if let Some(client) = me {
                        client.catch_up(&socket, missed, from).await;
                    }
                });
                return;
            }
        }
        // Sent outside the lock: a full outbound queue closes the session, which takes it.
        // A recovered session's missed packets go first, as socket.io sends them: the client
        // buffers them and hands them over right before its `connect` (so they come before
        // anything the connection handler emits, too).
        let missed = announcement.restored.map(|r| r.missed).unwrap_or_default();
        for (event, args) in missed {
            socket.queue_frames(
                &self.parser().event(nsp.name(), None, &event, &args),
                crate::socket::SendFlags::DEFAULT,
            );
        }
        self.send_connect(socket);
        socket.mark_announced();
        if let Some(monitor) = nsp.monitor() {
            monitor.connected(socket);
        }
    }
}

impl Client {
    /// Queues the CONNECT reply: the socket's id (and private id, with recovery), or nothing
    /// for a v2 client.
    fn send_connect(&self, socket: &SocketRef) {
        let nsp = socket.ns();
        let packet = if self.session.protocol == 3 {
            self.parser().control(PacketKind::Connect, nsp, None)
        } else {
            let reply = match socket.pid() {
                Some(pid) => format!("{{\"sid\":\"{}\",\"pid\":\"{}\"}}", socket.id(), pid),
                None => format!("{{\"sid\":\"{}\"}}", socket.id()),
            };
            self.parser()
                .control(PacketKind::Connect, nsp, Some(&reply))
        };
        let _ = self.session.send(packet);
    }

    /// The end of a recovery from the cluster: the packets appended after the first read,
    /// then every missed packet and CONNECT, then what was held meanwhile (minus what the
    /// missed packets already carried), in that order.
    async fn catch_up(
        &self,
        socket: &SocketRef,
        mut missed: Vec<(String, crate::Payload)>,
        from: String,
    ) {
        let nsp = socket.namespace().clone();
        if let Some(store) = nsp.adapter().session_store() {
            let rooms = socket.rooms();
            missed.extend(store.missed_after(&from, &rooms).await);
        }
        let last = missed
            .iter()
            .rev()
            .find_map(|(_, args)| {
                args.values()
                    .last()
                    .and_then(|v| v.as_str().map(str::to_string))
            })
            .unwrap_or(from);
        let flags = crate::socket::SendFlags::DEFAULT;
        for (event, args) in missed {
            socket.send_now(&self.parser().event(nsp.name(), None, &event, &args), flags);
        }
        self.send_connect(socket);
        socket.release(&last);
    }
}

impl SessionHandler for Client {
    fn on_message(&self, _session: &Arc<EngineSession>, message: Message<'_>) {
        match message {
            Message::Text(t) => self.on_text(t),
            Message::Binary(b) => self.on_binary(b),
        }
    }

    fn on_upgrade(&self, _session: &Arc<EngineSession>, done: bool) {
        let event = if done {
            ConnEvent::Upgrade
        } else {
            ConnEvent::Upgrading
        };
        for s in self.watchers() {
            s.conn_event(event.clone());
        }
        if done {
            for s in self.sockets_now() {
                if let Some(monitor) = s.namespace().monitor() {
                    monitor.transport_upgraded(&s);
                }
            }
        }
    }

    fn on_packet_event(&self, _session: &Arc<EngineSession>, event: PacketEvent) {
        // One report per connection: the host's `conn` object is shared by its sockets.
        let Some(watcher) = self.state.lock().watchers.first().cloned() else {
            return;
        };
        watcher.conn_event(match event {
            PacketEvent::Received(p) => ConnEvent::Packet(p),
            PacketEvent::Created(p, compress) => ConnEvent::PacketCreate(p, compress),
            PacketEvent::Drain => ConnEvent::Drain,
        });
    }

    fn on_close(&self, session: &Arc<EngineSession>, reason: CloseReason) {
        let sockets: Vec<SocketRef> = {
            let mut st = self.state.lock();
            st.closed = true;
            st.partial = None;
            st.sockets.iter().map(|(_, s)| s.clone()).collect()
        };
        for s in sockets {
            s.on_close(reason.into());
        }
        let watchers = std::mem::take(&mut self.state.lock().watchers);
        for s in watchers {
            s.conn_event(ConnEvent::Close(DisconnectReason::from(reason).as_str()));
        }
        if let Some(server) = self.server.upgrade() {
            server.engine.release_session(session, reason);
        }
    }
}
