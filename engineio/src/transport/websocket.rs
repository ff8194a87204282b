//! The native WebSocket driver: the 101 handshake, the polling → WebSocket probe, then one
//! task that reads packets into the session and writes its queued frames in batches.

use super::input_waiting::InputWaiting;
use super::permessage_deflate;
use super::server_websocket::{Deflate, ServerWebSocket, WsSettings};
use crate::packet::{decode_text, Frame, Inbound, PONG_PROBE};
use crate::server::EngineServer;
use crate::{CloseReason, EngineSession, Probe, TransportKind};
use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use http::{header, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use tungstenite::error::ProtocolError;
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::frame::Frame as WsFrame;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Error as WsError, Message, Utf8Bytes};

/// What a connection's task runs once hyper has handed the connection over: its WebSocket.
pub(crate) type Continuation = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Where the 101 answer leaves the connection's [`Continuation`] for the connection's task,
/// with the connection's input for its WebSocket (see [`InputWaiting`]).
///
/// The task that wrote the 101 goes on with the WebSocket at once, in the same turn: the
/// `open` packet follows the 101 as closely as engine.io writes it, before the runtime turns
/// to the next connection. A task of its own would run after every connection already woken:
/// clients created together got their 101s in order but their `open` packets only after the
/// other clients' 101s, and under load read them, and sent their CONNECTs, in another order
/// (seen in 23 of 200 rounds of three clients with both cores busy; socket.io: 0).
pub(crate) struct UpgradeSlot {
    continuation: parking_lot::Mutex<Option<Continuation>>,
    input: Option<InputWaiting>,
}

impl UpgradeSlot {
    pub(crate) fn new(input: Option<InputWaiting>) -> UpgradeSlot {
        UpgradeSlot {
            continuation: parking_lot::Mutex::new(None),
            input,
        }
    }

    fn put(&self, continuation: Continuation) {
        *self.continuation.lock() = Some(continuation);
    }

    /// The WebSocket to run, if this connection was upgraded.
    pub(crate) fn take(&self) -> Option<Continuation> {
        self.continuation.lock().take()
    }
}

/// Answers the upgrade request; the connection's task continues with the upgraded
/// connection (`continue_in`).
pub(crate) fn accept(
    server: EngineServer,
    parts: &http::request::Parts,
    on_upgrade: hyper::upgrade::OnUpgrade,
    existing: Option<Arc<EngineSession>>,
    remote: Option<SocketAddr>,
    permit: Option<Arc<super::limits::ConnectionPermit>>,
    continue_in: &UpgradeSlot,
) -> Response<Full<Bytes>> {
    let Some(accept_key) = accept_key(&parts.headers) else {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body(Full::new(Bytes::from_static(b"missing Sec-WebSocket-Key")))
            .unwrap_or_default();
    };
    let target = Target::of(existing);
    let deflate = negotiate_deflate(&server, &parts.headers);
    let opening = Box::new(Opening {
        info: super::http::request_info(parts, remote),
        server,
        target,
        input_waiting: continue_in.input.clone(),
    });
    continue_in.put(Box::pin(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "websocket upgrade failed");
                return;
            }
        };
        run_upgraded(TokioIo::new(upgraded), deflate, opening).await;
        drop(permit);
    }));
    let mut resp = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header("sec-websocket-accept", accept_key);
    if deflate.is_some() {
        resp = resp.header("sec-websocket-extensions", permessage_deflate::ACCEPTED);
    }
    resp.body(Full::new(Bytes::new())).unwrap_or_default()
}

/// The compression of a new WebSocket: on when the server enables permessage-deflate and
/// the client offers parameters it can accept.
pub(crate) fn negotiate_deflate(
    server: &EngineServer,
    headers: &http::HeaderMap,
) -> Option<Deflate> {
    let pmd = server.shared().config.per_message_deflate?;
    permessage_deflate::accepts(headers).then_some(Deflate {
        threshold: pmd.threshold,
        level: pmd.level.min(9),
    })
}

/// What a new WebSocket needs until its session runs: kept in one box, so that the task of
/// an idle connection does not carry it (an async task keeps room for its arguments for as
/// long as it lives).
pub(crate) struct Opening {
    pub server: EngineServer,
    pub target: Target,
    pub info: crate::handshake::RequestInfo,
    /// Whether the client's bytes wait in the kernel; see [`InputWaiting`].
    pub input_waiting: Option<InputWaiting>,
}

/// What a new WebSocket is for.
pub(crate) enum Target {
    /// A new session.
    Open,
    /// The probe of a polling session's upgrade. The claim is taken when the request is
    /// routed and held by the `Opening` until the probe ends, so any path that drops the
    /// connection before `5` gives it back.
    Probe(Probe),
    /// A session that another WebSocket already probes or owns.
    Refused,
}

impl Target {
    /// For a request that routes to `existing` (a known sid), or to a new session.
    pub(crate) fn of(existing: Option<Arc<EngineSession>>) -> Target {
        match existing {
            None => Target::Open,
            Some(session) => session
                .try_begin_probe()
                .map_or(Target::Refused, Target::Probe),
        }
    }
}

/// Runs a WebSocket over an upgraded byte stream (the 101 already sent).
pub(crate) async fn run_upgraded<IO>(io: IO, deflate: Option<Deflate>, opening: Box<Opening>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let settings = WsSettings {
        max_message_size: opening.server.shared().config.max_http_buffer_size,
        deflate,
    };
    // Boxed for the same reason as `Opening`: the framing state is then one pointer in each
    // task frame that passes it on.
    drive(Box::new(ServerWebSocket::new(io, settings)), opening).await;
}

/// The `Sec-WebSocket-Accept` value for a request, if it is a valid WebSocket request.
pub(crate) fn accept_key(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get("sec-websocket-key")
        .map(|k| derive_accept_key(k.as_bytes()))
}

/// Runs a WebSocket of any framing (tungstenite over a socket, or messages from a host) as
/// an Engine.IO transport: a new session, or the probe and upgrade of an existing one.
pub(crate) async fn drive<S>(ws: S, opening: Box<Opening>)
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin + Send,
{
    let server = opening.server.clone();
    let input_waiting = opening.input_waiting.clone();
    server.shared().connection_opened();
    // The handshake phase runs boxed, so its state is freed before the long `run` phase and
    // the task of an idle connection holds only what `run` needs.
    if let Some((session, ws)) = Box::pin(start(ws, opening)).await {
        run(session, ws, input_waiting).await;
    }
    server.shared().connection_closed();
}

/// Opens a new session on the WebSocket, or probes and upgrades an existing one; the session
/// and the WebSocket to run, or None when the connection is already over.
pub(crate) async fn start<S>(mut ws: S, opening: Box<Opening>) -> Option<(Arc<EngineSession>, S)>
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin + Send,
{
    let Opening {
        server,
        target,
        info,
        input_waiting,
    } = *opening;
    match target {
        Target::Refused => {
            // Another WebSocket is already probing or owns this session: close this one
            // without a frame, as engine.io does.
            close_within(&mut ws).await;
            None
        }
        Target::Probe(probe) => upgrade(probe, ws, input_waiting).await,
        Target::Open => {
            let session = server.open_session(TransportKind::WebSocket, info);
            if ws.send(to_message(session.open_frame())).await.is_ok() {
                Some((session, ws))
            } else {
                session.close(CloseReason::TransportError);
                None
            }
        }
    }
}

fn to_message(frame: Frame) -> Message {
    match frame {
        // SAFETY: text frames are only ever built from `str`/`String` (see `Frame::text`).
        Frame::Text(b) => Message::Text(unsafe { Utf8Bytes::from_bytes_unchecked(b) }),
        Frame::Binary(b) => Message::Binary(b),
    }
}

/// A data message as one raw frame, which the WebSocket layer writes as it is: without
/// permessage-deflate (`compress(false)`).
fn without_compression(message: Message) -> Message {
    let (payload, opcode) = match message {
        Message::Text(t) => (Bytes::from(t), Data::Text),
        Message::Binary(b) => (b, Data::Binary),
        other => return other,
    };
    Message::Frame(WsFrame::message(payload, OpCode::Data(opcode), true))
}

/// v3 binary messages carry their packet type (4, message) as a leading byte.
pub(crate) fn to_message_for(frame: Frame, protocol: u8) -> Message {
    match frame {
        Frame::Binary(b) if protocol == 3 => {
            let mut v = Vec::with_capacity(b.len() + 1);
            v.push(4u8);
            v.extend_from_slice(&b);
            Message::Binary(v.into())
        }
        other => to_message(other),
    }
}

/// The probe of an upgrade: `2probe` → `3probe`, then `5`. Anything else aborts the upgrade
/// and the session stays on polling.
async fn upgrade<S>(
    probe: Probe,
    mut ws: S,
    input_waiting: Option<InputWaiting>,
) -> Option<(Arc<EngineSession>, S)>
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin + Send,
{
    let session = probe.session().clone();
    let timeout = session.config().upgrade_timeout;
    let waiting = || input_waiting.as_ref().is_some_and(|input| input.waiting());
    let probed = tokio::time::timeout(timeout, async {
        // A poll asked for a check: it is answered once nothing the client sent is unread.
        let mut check_pending = false;
        loop {
            if check_pending && !waiting() {
                check_pending = false;
                session.upgrade_checked();
            }
            // Biased: what the client sent before a poll's check is read first (its bytes are
            // readable when the poll is, as far as this runtime's reactor knows), so a `5`
            // wins over that poll.
            let message = tokio::select! {
                biased;
                message = ws.next() => message,
                _ = session.upgrade_check_asked(), if !check_pending => {
                    check_pending = true;
                    continue;
                }
            };
            match message {
                Some(Ok(Message::Text(t))) if t.as_str() == "2probe" => {
                    // Upgrading before `3probe` leaves: once the client has it, it may send
                    // `5` and a poll at once, and that poll must find the upgrade begun (and
                    // ask this task to read the `5` first) rather than park and be released
                    // with a noop when this task is scheduled again.
                    session.start_upgrade();
                    if ws.send(to_message(PONG_PROBE)).await.is_err() {
                        return false;
                    }
                }
                Some(Ok(Message::Text(t))) if t.as_str() == "5" => return true,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                _ => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    if !probed {
        // Given back before the close, so a probe the client opens on seeing it is accepted.
        drop(probe);
        close_within(&mut ws).await;
        return None;
    }
    // Even on a session that closed meanwhile: the client has switched to this WebSocket,
    // and `run` writes what is still queued before it closes it.
    Some((probe.finish(), ws))
}

/// What a WebSocket's reader does after a message.
pub(crate) enum Read {
    /// Goes on reading.
    Go,
    /// The session is closed; the WebSocket closes, with this code when there is one.
    End(Option<CloseCode>),
}

/// Feeds one message read from a WebSocket into its session (a native reader's, or a host's
/// on the host's thread).
pub(crate) fn read(session: &Arc<EngineSession>, msg: Result<Message, WsError>) -> Read {
    match msg {
        Ok(Message::Text(t)) => match decode_text(t.as_str()) {
            // Over WebSocket the reference server ignores a close packet: the client closes
            // the socket itself.
            Ok(Inbound::Close) => {}
            Ok(p) => session.on_packet(p),
            Err(e) => {
                tracing::debug!(sid = %session.sid, error = %e, "malformed Engine.IO packet");
                session.close(CloseReason::ParseError);
                return Read::End(None);
            }
        },
        Ok(Message::Binary(b)) if session.protocol == 3 => {
            // Strip the v3 type byte.
            if b.len() > 1 {
                session.on_packet(Inbound::Binary(b.slice(1..)));
            }
        }
        Ok(Message::Binary(b)) => session.on_packet(Inbound::Binary(b)),
        Ok(Message::Close(_)) => {
            session.close(CloseReason::TransportClose);
            return Read::End(None);
        }
        Ok(_) => {}
        Err(WsError::Capacity(e)) => {
            tracing::debug!(sid = %session.sid, error = %e, "websocket message over maxHttpBufferSize");
            session.close(CloseReason::TransportError);
            return Read::End(Some(CloseCode::Size));
        }
        Err(WsError::Io(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
            tracing::debug!(sid = %session.sid, error = %e, "undecodable websocket message");
            session.close(CloseReason::TransportError);
            return Read::End(None);
        }
        // An abrupt TCP close is a "transport close" for the reference server too.
        Err(WsError::Io(_))
        | Err(WsError::ConnectionClosed)
        | Err(WsError::AlreadyClosed)
        | Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake)) => {
            session.close(CloseReason::TransportClose);
            return Read::End(None);
        }
        Err(_) => {
            session.close(CloseReason::TransportError);
            return Read::End(None);
        }
    }
    Read::Go
}

async fn run<S>(session: Arc<EngineSession>, ws: S, input_waiting: Option<InputWaiting>)
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin + Send,
{
    let _watch = input_waiting.map(|waiting| session.watch_input(waiting));
    let (mut sink, mut stream) = ws.split();
    let reader = {
        let session = session.clone();
        async move {
            while let Some(msg) = stream.next().await {
                if let Read::End(code) = read(&session, msg) {
                    return code;
                }
            }
            session.close(CloseReason::TransportClose);
            None
        }
    };
    let writer = async {
        let (mut batch, mut uncompressed) = (Vec::<Frame>::new(), Vec::new());
        while session
            .next_frames(&mut batch, &mut uncompressed)
            .await
            .is_some()
        {
            let mut raw = uncompressed.drain(..).peekable();
            for (i, f) in batch.drain(..).enumerate() {
                let mut message = to_message_for(f, session.protocol);
                if raw.next_if_eq(&i).is_some() {
                    message = without_compression(message);
                }
                if sink.feed(message).await.is_err() {
                    session.close(CloseReason::TransportError);
                    return sink;
                }
            }
            if sink.flush().await.is_err() {
                session.close(CloseReason::TransportError);
                return sink;
            }
        }
        sink
    };
    tokio::pin!(reader);
    tokio::pin!(writer);
    // What runs once the connection is over is boxed: its timers need not take room in the
    // task of every idle connection.
    let (sink, code) = tokio::select! {
        code = &mut reader => {
            // The session is closed; let the writer flush what is left, within a bound.
            let flushed = Box::pin(tokio::time::timeout(std::time::Duration::from_secs(1), &mut writer));
            match flushed.await {
                Ok(sink) => (sink, code),
                Err(_) => return,
            }
        }
        sink = &mut writer => (sink, None),
        _ = session.stalled() => {
            // The writer may be stuck on a peer that stopped reading: it gets the same bound,
            // then the connection is dropped.
            let flushed = Box::pin(tokio::time::timeout(std::time::Duration::from_secs(1), &mut writer));
            match flushed.await {
                Ok(sink) => (sink, None),
                Err(_) => return,
            }
        }
    };
    Box::pin(finish(sink, code)).await;
}

/// Sends the close frame (with `code` when there is one) and closes the WebSocket.
async fn finish<S>(mut sink: S, code: Option<CloseCode>)
where
    S: Sink<Message, Error = WsError> + Unpin,
{
    let frame = code.map(|code| CloseFrame {
        code,
        reason: "message too big".into(),
    });
    let _ = sink.send(Message::Close(frame)).await;
    close_within(&mut sink).await;
}

/// Closes a WebSocket (close frame, then waiting for the client's end of the connection so
/// the client sees a clean close rather than a reset), giving up after a second.
async fn close_within<S>(ws: &mut S)
where
    S: Sink<Message, Error = WsError> + Unpin,
{
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close()).await;
}
