//! Transports driven by a host's own server: an ASGI app, a Node `http.EngineServer`, a WSGI
//! bridge. The host parses HTTP (and, for ASGI, WebSocket framing); the core decides and
//! answers exactly as the native listener does, over the same sessions.

use super::http::{self as native, Route};
use super::websocket;
use crate::server::EngineServer;
use crate::{CloseReason, EngineSession};
use bytes::Bytes;
use futures_channel::mpsc;
use futures_util::{Sink, Stream, StreamExt};
use http_body_util::{BodyExt, Full};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::{Error as WsError, Message};

/// A WebSocket message between a host and the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsMessage {
    Text(String),
    Binary(Bytes),
}

/// A WebSocket whose framing the host does (ASGI's `websocket.receive` / `websocket.send`).
/// Feed what the client sends with [`WebSocketChannel::push`]; send what
/// [`WebSocketChannel::take`] gives (wait with [`WebSocketChannel::ready`]); call
/// [`WebSocketChannel::client_closed`] when the client goes away.
///
/// The handshake (or the probe of an upgrade) runs on the core's runtime. Once the session
/// runs, the host's thread does the session's work itself: a pushed message is decoded and
/// dispatched during the `push` call, and `take` empties the session's queue, so a host that
/// answers on the thread that received (an event loop running the handlers) hands nothing
/// to another thread. Clones share the WebSocket.
pub struct WebSocketChannel {
    hosted: Arc<Hosted>,
    /// Taken and not yet returned by [`WebSocketChannel::next`].
    taken: VecDeque<WsMessage>,
}

impl Clone for WebSocketChannel {
    fn clone(&self) -> Self {
        WebSocketChannel {
            hosted: self.hosted.clone(),
            taken: VecDeque::new(),
        }
    }
}

/// How far a host-framed WebSocket is.
enum Phase {
    /// The handshake or the upgrade probe runs on the core's task, which reads the client's
    /// messages from this channel.
    Starting(mpsc::UnboundedSender<WsMessage>),
    /// The session runs on the host's calls.
    Running(Arc<EngineSession>),
    /// The client went away, or the host has taken the session's last frames.
    Over,
}

/// What the core sent before the session ran (the open packet, `3probe`).
#[derive(Default)]
struct Early {
    messages: VecDeque<WsMessage>,
    /// The start is over: the session runs (or never will).
    done: bool,
}

struct Hosted {
    phase: Mutex<Phase>,
    early: Mutex<Early>,
    /// An early message, the end of the start, the end of the WebSocket.
    changed: Notify,
    /// `maxHttpBufferSize`: the host frames the messages, so the core checks their size
    /// here, as tungstenite does on the native listener.
    max_message_size: usize,
}

impl WebSocketChannel {
    /// A message from the client: decoded and dispatched now when the session runs.
    pub fn push(&self, message: WsMessage) {
        let session = match &*self.hosted.phase.lock() {
            Phase::Starting(inbound) => {
                let _ = inbound.unbounded_send(message);
                return;
            }
            Phase::Running(session) => session.clone(),
            Phase::Over => return,
        };
        self.hosted.feed(&session, message);
    }

    /// The client closed the connection.
    pub fn client_closed(&self) {
        let session = {
            let mut phase = self.hosted.phase.lock();
            match &*phase {
                Phase::Starting(inbound) => {
                    // The start sees it and ends the session it may have opened.
                    inbound.close_channel();
                    return;
                }
                Phase::Running(session) => {
                    let session = session.clone();
                    *phase = Phase::Over;
                    session
                }
                Phase::Over => return,
            }
        };
        session.close(CloseReason::TransportClose);
        self.hosted.changed.notify_waiters();
    }

    /// Moves what there is to send to the client into `into`, without waiting; false once the
    /// server has closed the WebSocket and everything was taken (the host then closes it).
    pub fn take(&self, into: &mut Vec<WsMessage>) -> bool {
        let hosted = &self.hosted;
        {
            let mut early = hosted.early.lock();
            into.extend(early.messages.drain(..));
            if !early.done {
                return true;
            }
        }
        let session = match &*hosted.phase.lock() {
            Phase::Running(session) => session.clone(),
            Phase::Starting(_) => return true,
            Phase::Over => return !into.is_empty(),
        };
        let (mut frames, mut uncompressed) = (Vec::new(), Vec::new());
        if session
            .take_frames(&mut frames, &mut uncompressed)
            .is_none()
        {
            *hosted.phase.lock() = Phase::Over;
            hosted.changed.notify_waiters();
            return !into.is_empty();
        }
        // Compression is the host's business: `uncompressed` has no use here.
        into.extend(
            frames
                .into_iter()
                .filter_map(|f| host_message(f, session.protocol)),
        );
        true
    }

    /// The next message for the client, waiting for it; `None` once the server has closed
    /// the WebSocket. For a host that sends one message at a time from async code.
    pub async fn next(&mut self) -> Option<WsMessage> {
        loop {
            if let Some(message) = self.taken.pop_front() {
                return Some(message);
            }
            let mut batch = Vec::new();
            if !self.take(&mut batch) {
                return None;
            }
            if batch.is_empty() {
                self.ready().await;
            }
            self.taken.extend(batch);
        }
    }

    /// Resolves once [`WebSocketChannel::take`] has something to give (or says the end).
    pub async fn ready(&self) {
        let hosted = &self.hosted;
        loop {
            let changed = hosted.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let session = {
                let early = hosted.early.lock();
                if !early.messages.is_empty() {
                    return;
                }
                if !early.done {
                    None
                } else {
                    match &*hosted.phase.lock() {
                        Phase::Running(session) => Some(session.clone()),
                        _ => return,
                    }
                }
            };
            match session {
                // A client that goes away closes the session, which ends this wait too.
                Some(session) => return session.frames_ready().await,
                None => changed.await,
            }
        }
    }
}

impl Hosted {
    fn feed(&self, session: &Arc<EngineSession>, message: WsMessage) {
        let size = match &message {
            WsMessage::Text(t) => t.len(),
            WsMessage::Binary(b) => b.len(),
        };
        let read = if size > self.max_message_size {
            Err(WsError::Capacity(
                tungstenite::error::CapacityError::MessageTooLong {
                    size,
                    max_size: self.max_message_size,
                },
            ))
        } else {
            Ok(match message {
                WsMessage::Text(t) => Message::Text(t.into()),
                WsMessage::Binary(b) => Message::Binary(b),
            })
        };
        // The session is closed on `End`: the host's next `take` returns its last frames,
        // then the end.
        let _ = websocket::read(session, read);
    }

    /// The start is over with a session: what the client sent meanwhile is fed to it in
    /// order, then the host's calls run it.
    fn hand_over(
        &self,
        session: Arc<EngineSession>,
        mut inbound: mpsc::UnboundedReceiver<WsMessage>,
    ) {
        {
            let mut phase = self.phase.lock();
            let mut gone = false;
            loop {
                match inbound.try_recv() {
                    Ok(message) => self.feed(&session, message),
                    Err(mpsc::TryRecvError::Closed) => {
                        gone = true;
                        break;
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            if gone {
                session.close(CloseReason::TransportClose);
                *phase = Phase::Over;
            } else {
                *phase = Phase::Running(session);
            }
        }
        self.early.lock().done = true;
        self.changed.notify_waiters();
    }

    /// The start is over without a session.
    fn end(&self) {
        *self.phase.lock() = Phase::Over;
        self.early.lock().done = true;
        self.changed.notify_waiters();
    }

    async fn over(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if matches!(*self.phase.lock(), Phase::Over) {
                return;
            }
            changed.await;
        }
    }
}

fn host_message(frame: crate::packet::Frame, protocol: u8) -> Option<WsMessage> {
    match websocket::to_message_for(frame, protocol) {
        Message::Text(t) => Some(WsMessage::Text(t.as_str().to_owned())),
        Message::Binary(b) => Some(WsMessage::Binary(b)),
        _ => None,
    }
}

/// The core's side of a [`WebSocketChannel`] while the handshake or probe runs, as a stream
/// and sink of tungstenite messages.
struct ChannelSocket {
    inbound: mpsc::UnboundedReceiver<WsMessage>,
    hosted: Arc<Hosted>,
}

impl Stream for ChannelSocket {
    type Item = Result<Message, WsError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let max_size = self.hosted.max_message_size;
        self.inbound.poll_next_unpin(cx).map(|m| {
            m.map(|m| {
                let size = match &m {
                    WsMessage::Text(t) => t.len(),
                    WsMessage::Binary(b) => b.len(),
                };
                if size > max_size {
                    return Err(WsError::Capacity(
                        tungstenite::error::CapacityError::MessageTooLong { size, max_size },
                    ));
                }
                Ok(match m {
                    WsMessage::Text(t) => Message::Text(t.into()),
                    WsMessage::Binary(b) => Message::Binary(b),
                })
            })
        })
    }
}

impl Sink<Message> for ChannelSocket {
    type Error = WsError;

    fn poll_ready(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        // Before the session runs the core sends a packet or two: no bound needed.
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), WsError> {
        let m = match item {
            Message::Text(t) => WsMessage::Text(t.as_str().to_string()),
            Message::Binary(b) => WsMessage::Binary(b),
            // A message sent with compression off (the host decides compression itself).
            Message::Frame(f) if matches!(f.header().opcode, OpCode::Data(Data::Text)) => {
                match String::from_utf8(f.into_payload().to_vec()) {
                    Ok(text) => WsMessage::Text(text),
                    Err(_) => return Ok(()),
                }
            }
            Message::Frame(f) if matches!(f.header().opcode, OpCode::Data(Data::Binary)) => {
                WsMessage::Binary(f.into_payload())
            }
            // Close and control frames are the host's business.
            _ => return Ok(()),
        };
        self.hosted.early.lock().messages.push_back(m);
        self.hosted.changed.notify_waiters();
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }
}

async fn to_bytes_response(resp: native::Resp) -> http::Response<Bytes> {
    let (parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    http::Response::from_parts(parts, bytes)
}

pub use super::input_waiting::InputWaiting;

impl EngineServer {
    /// Whether a request path belongs to the Socket.IO server (its path, or the client bundle).
    pub fn handles_path(&self, path: &str) -> bool {
        let base = self.shared().config.path.as_str();
        path == base.trim_end_matches('/') || path.starts_with(base)
    }

    /// Answers one HTTP request of the Socket.IO path from a host's HTTP server: the
    /// handshake, long-polling GET and POST, CORS and errors. A polling GET resolves when
    /// there is something to send. `None`: the request is outside the Socket.IO path.
    ///
    /// WebSocket upgrades go to [`EngineServer::serve_websocket_io`] or [`EngineServer::open_websocket`].
    pub async fn handle_http(
        &self,
        parts: http::request::Parts,
        remote: Option<SocketAddr>,
        body: Bytes,
    ) -> Option<http::Response<Bytes>> {
        self.handle_http_streaming(parts, remote, Full::new(body))
            .await
    }

    /// Like [`EngineServer::handle_http`], with a body that may still be arriving (Node's request
    /// stream, ASGI's `http.request` messages). A polling POST counts as in progress from its
    /// head on, so an overlapping POST is refused while the first body is incomplete, and an
    /// oversized body is refused without being buffered — as on the native listener.
    pub async fn handle_http_streaming<B>(
        &self,
        parts: http::request::Parts,
        remote: Option<SocketAddr>,
        body: B,
    ) -> Option<http::Response<Bytes>>
    where
        B: hyper::body::Body,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let arrival = self.shared().next_arrival();
        let resp = match native::route(self, &parts, remote) {
            Route::Fallback => return None,
            Route::Respond(resp) => resp,
            Route::Elsewhere(sid) => {
                let owner = match self.shared().directory() {
                    Some(directory) => directory.locate(&sid).await,
                    None => None,
                };
                let upgrade = native::is_websocket_upgrade(&parts.headers);
                match owner {
                    // A host's body need not be `Send`: it is read here first (a polling
                    // body is bounded by the payload size).
                    Some(addr) if !upgrade => match http_body_util::BodyExt::collect(body).await {
                        Ok(collected) => {
                            let bytes = collected.to_bytes();
                            native::forward::forward(
                                &addr,
                                parts,
                                http_body_util::Full::new(bytes),
                                None,
                            )
                            .await
                        }
                        Err(_) => native::empty_response(400),
                    },
                    _ => native::unknown_sid(self, &parts, remote, &sid),
                }
            }
            Route::Poll(session, cors) => {
                // A long-poll waits up to a ping interval and never reads its body: dropping
                // it now lets the host's feed fail fast instead of queueing whatever a client
                // streams meanwhile.
                drop(body);
                // The poll first: it registers at its first run, before a host hook for the
                // headers can make this handler wait (see `host_exchange`).
                let (answer, extra) = futures_util::future::join(
                    native::poll(&session, arrival, &parts.headers),
                    self.extra_headers(&parts, remote),
                )
                .await;
                let resp = with(answer, &cors);
                native::with_extra_headers(resp, &extra)
            }
            Route::Post(session, cors) => {
                let declared = native::declared_length(&parts.headers);
                let binary = native::is_binary_body(&parts.headers);
                let (answer, extra) = futures_util::future::join(
                    native::post(&session, body, declared, binary),
                    self.extra_headers(&parts, remote),
                )
                .await;
                let resp = with(answer, &cors);
                native::with_extra_headers(resp, &extra)
            }
            Route::Handshake(cors) => {
                if self.allows(&native::request_info(&parts, remote)).await {
                    let extra = self.extra_headers(&parts, remote).await;
                    let resp = with(native::handshake(self, &parts, remote).await, &cors);
                    native::with_extra_headers(resp, &extra)
                } else {
                    native::error_response(crate::EngineError::Forbidden, &cors)
                }
            }
            Route::Upgrade(_) | Route::WebSocket => native::text_response(
                400,
                "text/plain; charset=utf-8",
                "WebSocket requests need an upgrade",
            ),
        };
        Some(to_bytes_response(resp).await)
    }

    /// Takes over the raw byte stream of a WebSocket upgrade request whose head the host has
    /// parsed (Node's `upgrade` event): writes the 101 (or the error) and runs the WebSocket.
    /// Returns when the connection ends.
    pub fn serve_websocket_io<IO>(
        &self,
        parts: http::request::Parts,
        remote: Option<SocketAddr>,
        io: IO,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.clone().serve_websocket_socket(parts, remote, io, None)
    }

    /// [`EngineServer::serve_websocket_io`] for a socket the host can peek at: `input_waiting`
    /// says whether the client's bytes wait in the kernel (e.g. `recv` with `MSG_PEEK`), so
    /// that a poll the host read on another connection is ordered after a `5` the client
    /// sent before it, as on the native listener.
    ///
    /// It takes the server by value (a clone is a reference count), so the future is
    /// `'static` and can be spawned as it is, without an `async` wrapper around it.
    pub async fn serve_websocket_socket<IO>(
        self,
        parts: http::request::Parts,
        remote: Option<SocketAddr>,
        io: IO,
        input_waiting: Option<InputWaiting>,
    ) where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        // The handshake runs boxed, so the request head and the 101 are freed before the
        // connection's long life: only what `run_upgraded` needs stays per connection.
        let accepted = Box::pin(self.accept_websocket_io(parts, remote, io, input_waiting)).await;
        if let Some((io, deflate, opening)) = accepted {
            websocket::run_upgraded(io, deflate, opening).await;
        }
    }

    /// Answers the upgrade request on `io`: the 101 and what the WebSocket runs with, or
    /// None once a refusal is written.
    pub(crate) async fn accept_websocket_io<IO>(
        &self,
        parts: http::request::Parts,
        remote: Option<SocketAddr>,
        mut io: IO,
        input_waiting: Option<InputWaiting>,
    ) -> Option<(
        IO,
        Option<super::server_websocket::Deflate>,
        Box<websocket::Opening>,
    )>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (existing, key) = match native::route(self, &parts, remote) {
            Route::Upgrade(session) => (Some(session), websocket::accept_key(&parts.headers)),
            Route::WebSocket if !self.allows(&native::request_info(&parts, remote)).await => {
                let resp = native::upgrade_error(crate::EngineError::Forbidden);
                write_response(&mut io, resp).await;
                return None;
            }
            Route::WebSocket => (None, websocket::accept_key(&parts.headers)),
            Route::Respond(resp) => {
                write_response(&mut io, resp).await;
                return None;
            }
            Route::Elsewhere(sid) => {
                let owner = match self.shared().directory() {
                    Some(directory) => directory.locate(&sid).await,
                    None => None,
                };
                match owner {
                    Some(addr) => native::forward::splice_upgrade(&addr, &parts, io).await,
                    None => {
                        let resp = native::unknown_sid(self, &parts, remote, &sid);
                        write_response(&mut io, resp).await;
                    }
                }
                return None;
            }
            _ => {
                let resp = native::text_response(400, "text/plain; charset=utf-8", "Bad request");
                write_response(&mut io, resp).await;
                return None;
            }
        };
        let Some(key) = key else {
            let resp = native::text_response(
                400,
                "text/plain; charset=utf-8",
                "missing Sec-WebSocket-Key",
            );
            write_response(&mut io, resp).await;
            return None;
        };
        let target = websocket::Target::of(existing);
        let deflate = websocket::negotiate_deflate(self, &parts.headers);
        let extensions = match deflate {
            Some(_) => format!(
                "Sec-WebSocket-Extensions: {}\r\n",
                super::permessage_deflate::ACCEPTED
            ),
            None => String::new(),
        };
        let mut extra = String::new();
        for (name, value) in self.extra_headers(&parts, remote).await {
            // A listener's header goes out only if it cannot break the response head.
            if http::HeaderName::from_bytes(name.as_bytes()).is_ok()
                && http::HeaderValue::from_str(&value).is_ok()
            {
                extra.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {key}\r\n{extensions}{extra}\r\n"
        );
        if io.write_all(head.as_bytes()).await.is_err() {
            return None;
        }
        let opening = Box::new(websocket::Opening {
            server: self.clone(),
            target,
            info: native::request_info(&parts, remote),
            input_waiting,
        });
        Some((io, deflate, opening))
    }

    /// Opens a message-level WebSocket for a host that does the framing itself (ASGI).
    /// `Err` carries the HTTP status to refuse the upgrade with.
    pub fn open_websocket(
        &self,
        parts: &http::request::Parts,
        remote: Option<SocketAddr>,
    ) -> Result<WebSocketChannel, u16> {
        let existing = match native::route(self, parts, remote) {
            Route::Upgrade(session) => Some(session),
            Route::WebSocket => None,
            Route::Respond(resp) => return Err(resp.status().as_u16()),
            _ => return Err(400),
        };
        let target = websocket::Target::of(existing);
        let (in_tx, in_rx) = mpsc::unbounded();
        let hosted = Arc::new(Hosted {
            phase: Mutex::new(Phase::Starting(in_tx)),
            early: Mutex::new(Early::default()),
            changed: Notify::new(),
            max_message_size: self.shared().config.max_http_buffer_size,
        });
        let socket = ChannelSocket {
            inbound: in_rx,
            hosted: hosted.clone(),
        };
        let info = native::request_info(parts, remote);
        let server = self.clone();
        let task = hosted.clone();
        self.runtime().spawn(async move {
            // The host already accepted the WebSocket: a refused handshake closes it unopened.
            if matches!(target, websocket::Target::Open) && !server.allows(&info).await {
                task.end();
                return;
            }
            let shared = server.shared().clone();
            shared.connection_opened();
            let opening = Box::new(websocket::Opening {
                server,
                target,
                info,
                input_waiting: None,
            });
            match Box::pin(websocket::start(socket, opening)).await {
                Some((session, socket)) => {
                    task.hand_over(session, socket.inbound);
                    task.over().await;
                }
                None => task.end(),
            }
            shared.connection_closed();
        });
        Ok(WebSocketChannel {
            hosted,
            taken: VecDeque::new(),
        })
    }
}

fn with(mut resp: native::Resp, headers: &[(&'static str, String)]) -> native::Resp {
    for (k, v) in headers {
        if let Ok(v) = http::HeaderValue::from_str(v) {
            resp.headers_mut().append(*k, v);
        }
    }
    resp
}

async fn write_response<IO: AsyncWrite + Unpin>(io: &mut IO, resp: native::Resp) {
    let resp = to_bytes_response(resp).await;
    let reason = resp.status().canonical_reason().unwrap_or("");
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nConnection: close\r\n",
        resp.status().as_u16(),
        reason
    );
    for (k, v) in resp.headers() {
        head.push_str(&format!(
            "{}: {}\r\n",
            k,
            String::from_utf8_lossy(v.as_bytes())
        ));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", resp.body().len()));
    let _ = io.write_all(head.as_bytes()).await;
    let _ = io.write_all(resp.body()).await;
    let _ = io.shutdown().await;
}
