//! The native HTTP driver: hyper serves long-polling and hands WebSocket upgrades to
//! [`super::websocket`]. Request checks follow engine.io's `verify()` in the same order, so
//! clients see the same error codes.

use super::client_files::ClientFiles;
use super::cors;
use super::host_http::{HostBody, HostRequest, RequestBody, Responder};
use super::input_waiting::{InputWaiting, ReadTracked};
use super::limits::{ConnectionPermit, Refusal};
use super::watched_io::WaitingPoll;
use crate::error::EngineError;
use crate::handshake::RequestInfo;
use crate::observer::ContextValue;
use crate::server::EngineServer;
use crate::session::PollError;
use crate::{CloseReason, EngineSession, TransportKind};
use bytes::Bytes;
use futures_util::FutureExt as _;
use http::{header, Method, Request, Response};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub(crate) mod forward;
mod polling;
mod response;
mod route;

pub(crate) use polling::*;
pub(crate) use response::*;
pub(crate) use route::*;

/// Resolves once the server is closing — also when that happened before this task first ran.
async fn shutdown_requested(rx: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|closing| *closing).await;
}

pub(crate) async fn accept_loop(
    server: EngineServer,
    listener: tokio::net::TcpListener,
    tls: Option<super::tls::TlsSettings>,
) {
    let mut shutdown = server.shared().shutdown_signal();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    let shared = server.shared();
                    match shared.connection_limits.admit(addr.ip()) {
                        Ok(permit) => {
                            let _ = stream.set_nodelay(true);
                            let arrival = shared.next_arrival();
                            let ordered = runs_in_wake_order();
                            match &tls {
                                None => {
                                    tokio::spawn(serve_connection(
                                        server.clone(),
                                        stream,
                                        addr,
                                        permit,
                                        arrival,
                                        ordered,
                                    ));
                                }
                                Some(tls) => {
                                    tokio::spawn(serve_tls_connection(
                                        server.clone(),
                                        tls.clone(),
                                        stream,
                                        addr,
                                        permit,
                                        arrival,
                                    ));
                                }
                            }
                            // The work-stealing scheduler runs a task just spawned before the
                            // tasks already woken (its LIFO slot), so a new connection's request
                            // could overtake one that came earlier on another connection: a poll
                            // the client sent, aborted and sent again would be answered in
                            // reverse order. This yield and the one starting serve_connection
                            // keep arrival order there. The current-thread scheduler queues a
                            // new task behind the woken ones, and accepts every waiting
                            // connection at once, in the order their requests came (see
                            // `bind_listener`).
                            if !ordered {
                                tokio::task::yield_now().await;
                            }
                        }
                        // Dropping the stream closes it: a refused peer costs no task and
                        // holds its descriptor only for this instant.
                        Err(why) => shared.refusals.note(why, Some(addr.ip())),
                    }
                }
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            },
            _ = shutdown_requested(&mut shutdown) => break,
        }
    }
}

async fn serve_connection(
    server: EngineServer,
    stream: tokio::net::TcpStream,
    addr: SocketAddr,
    permit: ConnectionPermit,
    arrival: u64,
    ordered: bool,
) {
    if !ordered {
        // Behind the tasks already woken (see accept_loop).
        tokio::task::yield_now().await;
    }
    let local = stream.local_addr().ok();
    #[cfg(unix)]
    if ordered {
        match super::read_ordered::ReadOrderedStream::new(stream) {
            Ok(stream) => {
                let (stream, input) = ReadTracked::new(stream);
                let peer = Peer::plain(addr, local);
                serve_stream(server, stream, peer, permit, arrival, Some(input)).await
            }
            Err(e) => tracing::warn!(error = %e, "could not register an accepted connection"),
        }
        return;
    }
    #[cfg(unix)]
    {
        let (stream, input) = ReadTracked::new(stream);
        let peer = Peer::plain(addr, local);
        serve_stream(server, stream, peer, permit, arrival, Some(input)).await;
    }
    #[cfg(not(unix))]
    serve_stream(
        server,
        stream,
        Peer::plain(addr, local),
        permit,
        arrival,
        None,
    )
    .await;
}

/// A connection of a TLS listener: the handshake, then HTTP as on a plain one. Its reads are
/// not tracked ([`InputWaiting`]): what the kernel holds says nothing of what the TLS layer
/// has buffered.
async fn serve_tls_connection(
    server: EngineServer,
    tls: super::tls::TlsSettings,
    stream: tokio::net::TcpStream,
    addr: SocketAddr,
    permit: ConnectionPermit,
    arrival: u64,
) {
    let local = stream.local_addr().ok();
    match tls.accept(stream).await {
        Ok(stream) => {
            let peer = Peer {
                addr,
                local,
                secure: true,
            };
            serve_stream(server, stream, peer, permit, arrival, None).await
        }
        Err(e) => tracing::debug!(error = %e, %addr, "TLS handshake failed"),
    }
}

/// Who an accepted connection is with, and whether it is TLS.
#[derive(Clone, Copy)]
struct Peer {
    addr: SocketAddr,
    local: Option<SocketAddr>,
    secure: bool,
}

impl Peer {
    fn plain(addr: SocketAddr, local: Option<SocketAddr>) -> Peer {
        Peer {
            addr,
            local,
            secure: false,
        }
    }
}

/// A connection's HTTP phase, then its WebSocket if it upgraded.
async fn serve_stream<S>(
    server: EngineServer,
    stream: S,
    peer: Peer,
    permit: ConnectionPermit,
    arrival: u64,
    input_waiting: Option<InputWaiting>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let upgrade_slot = Arc::new(super::websocket::UpgradeSlot::new(input_waiting));
    // Boxed, so the HTTP phase's state is freed when it ends: an upgraded connection's task
    // lives on as its WebSocket and then holds only what the WebSocket needs.
    Box::pin(serve_http(
        server,
        stream,
        peer,
        permit,
        arrival,
        upgrade_slot.clone(),
    ))
    .await;
    if let Some(websocket) = upgrade_slot.take() {
        websocket.await;
    }
}

/// Whether tasks run in the order they were woken: a current-thread runtime (the ordered
/// scheduler). There a connection is served over a [`ReadOrderedStream`], so that its reads
/// are woken in the order its data and other connections' data arrived.
///
/// [`ReadOrderedStream`]: super::read_ordered::ReadOrderedStream
fn runs_in_wake_order() -> bool {
    tokio::runtime::Handle::current().runtime_flavor()
        == tokio::runtime::RuntimeFlavor::CurrentThread
}

/// The HTTP phase of a connection: requests until it closes, or until a WebSocket upgrade
/// leaves the connection's WebSocket in `upgrade_slot`.
async fn serve_http<S>(
    server: EngineServer,
    stream: S,
    peer: Peer,
    permit: ConnectionPermit,
    arrival: u64,
    upgrade_slot: Arc<super::websocket::UpgradeSlot>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let Peer {
        addr,
        local,
        secure,
    } = peer;
    let mut shutdown = server.shared().shutdown_signal();
    // With a host's app on this listener, closing waits (within its grace) for the
    // connection, so a response in flight is written out before the process exits.
    let _live = server
        .shared()
        .http_host
        .read()
        .is_some()
        .then(|| LiveConnection::new(server.shared().clone()));
    let (stream, mid_request, waiting) = super::watched_io::WatchedIo::new(stream);
    let svc_server = server.clone();
    // Shared with the WebSocket task when the connection upgrades, so the place is held for
    // as long as the socket is open.
    let permit = Arc::new(permit);
    // The first request takes the connection's number; later ones (keep-alive) their own.
    let first_arrival = std::sync::atomic::AtomicU64::new(arrival);
    let service = service_fn(move |mut req: Request<Incoming>| {
        if secure {
            req.extensions_mut().insert(crate::handshake::Encrypted);
        }
        let server = svc_server.clone();
        let permit = permit.clone();
        let waiting = waiting.clone();
        let upgraded = upgrade_slot.clone();
        let arrival = match first_arrival.swap(0, Ordering::Relaxed) {
            0 => server.shared().next_arrival(),
            first => first,
        };
        let peers = Peers {
            remote: Some(addr),
            local,
        };
        super::arrived::Arrived::new(async move {
            let origin = Origin {
                peers,
                arrival,
                waiting: Some(&waiting),
                upgraded: &upgraded,
            };
            Ok::<_, Infallible>(handle(server, req, origin, Some(permit)).await)
        })
    });
    let engine = server.shared().config.clone();
    let mut builder = http1::Builder::new();
    builder
        .max_buf_size(64 * 1024)
        .timer(TokioTimer::new())
        .header_read_timeout(engine.http_header_timeout);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                // A keep-alive connection idle past the timeout is closed quietly; one whose
                // request stopped halfway is a slow (or hostile) peer.
                if e.is_timeout() && mid_request.load(Ordering::Relaxed) {
                    server.shared().refusals.note(Refusal::HeaderTimeout, Some(addr.ip()));
                }
            }
        }
        _ = shutdown_requested(&mut shutdown) => {
            // In-flight requests finish (a host's app may take a while), idle keep-alive
            // connections close now.
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(server.shared().drain_grace(), conn).await;
        }
    }
}

/// Counts a connection as live (see [`EngineServer::close`]) until dropped.
struct LiveConnection(Arc<crate::server::EngineShared>);

impl LiveConnection {
    fn new(shared: Arc<crate::server::EngineShared>) -> LiveConnection {
        shared.connection_opened();
        LiveConnection(shared)
    }
}

impl Drop for LiveConnection {
    fn drop(&mut self) {
        self.0.connection_closed();
    }
}

/// Where a request comes from: its connection's two ends, its arrival number (see
/// `EngineShared::next_arrival`) and its connection's [`WaitingPoll`] slot.
struct Origin<'a> {
    peers: Peers,
    arrival: u64,
    waiting: Option<&'a WaitingPoll>,
    /// Where a WebSocket upgrade leaves the connection's WebSocket for its task.
    upgraded: &'a super::websocket::UpgradeSlot,
}

/// The two ends of a connection.
#[derive(Clone, Copy)]
struct Peers {
    remote: Option<SocketAddr>,
    local: Option<SocketAddr>,
}

/// A request outside the Socket.IO path: fixed content, then the host's app, then 404.
async fn outside(
    server: &EngineServer,
    parts: http::request::Parts,
    body: Incoming,
    peers: Peers,
) -> ListenerResp {
    let fallback = server.shared().fallback.read().clone();
    if let Some(resp) = fallback.and_then(|f| f(&parts)) {
        let (p, b) = resp.into_parts();
        return Response::from_parts(p, Either::Left(Full::new(b)));
    }
    let host = server.shared().http_host.read().clone();
    let Some(host) = host else {
        return text_response(404, "text/plain; charset=utf-8", "Not Found").map(Either::Left);
    };
    let (responder, head) = Responder::new();
    let chunk_timeout = server.shared().config.http_body_timeout;
    host.handle(
        HostRequest {
            method: parts.method,
            uri: parts.uri,
            version: parts.version,
            headers: parts.headers,
            remote: peers.remote,
            local: peers.local,
            body: RequestBody::new(body, chunk_timeout),
        },
        responder,
    );
    let Ok(head) = head.await else {
        return empty_response(500).map(Either::Left);
    };
    let mut builder = Response::builder().status(head.status);
    for (name, value) in &head.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Either::Right(HostBody::new(head.body)))
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the app answered an invalid status or header");
            empty_response(500).map(Either::Left)
        })
}

async fn handle(
    server: EngineServer,
    req: Request<Incoming>,
    origin: Origin<'_>,
    permit: Option<Arc<ConnectionPermit>>,
) -> ListenerResp {
    if !server.handles_path(req.uri().path()) {
        let (parts, body) = req.into_parts();
        return outside(&server, parts, body, origin.peers).await;
    }
    handle_socketio(server, req, origin, permit)
        .await
        .map(Either::Left)
}

async fn handle_socketio(
    server: EngineServer,
    mut req: Request<Incoming>,
    origin: Origin<'_>,
    permit: Option<Arc<ConnectionPermit>>,
) -> Resp {
    let remote = origin.peers.remote;
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (parts, body) = req.into_parts();
    match route(&server, &parts, remote) {
        Route::Respond(resp) => resp,
        Route::Fallback => text_response(404, "text/plain; charset=utf-8", "Not Found"),
        Route::Poll(session, cors) => {
            // The poll first: it registers at its first run (see `arrived`), before a host
            // hook for the headers can make this handler wait.
            let arrival = origin.arrival;
            if let Some(waiting) = origin.waiting {
                waiting.set(&session, arrival);
            }
            let (answer, extra) = futures_util::future::join(
                poll(&session, arrival, &parts.headers),
                server.extra_headers(&parts, remote),
            )
            .await;
            if let Some(waiting) = origin.waiting {
                waiting.clear(arrival);
            }
            let resp = with_headers(answer, &cors);
            with_extra_headers(resp, &extra)
        }
        Route::Post(session, cors) => {
            let extra = server.extra_headers(&parts, remote).await;
            let content_length = declared_length(&parts.headers);
            let binary = is_binary_body(&parts.headers);
            let resp = match session.config().http_body_timeout {
                Some(limit) => {
                    tokio::time::timeout(limit, post(&session, body, content_length, binary))
                        .await
                        .unwrap_or_else(|_| {
                            let peer = remote.map(|r| r.ip());
                            server.shared().refusals.note(Refusal::BodyTimeout, peer);
                            request_timeout()
                        })
                }
                None => post(&session, body, content_length, binary).await,
            };
            with_extra_headers(with_headers(resp, &cors), &extra)
        }
        Route::Handshake(cors) => {
            if !server.allows(&request_info(&parts, remote)).await {
                return error_response(EngineError::Forbidden, &cors);
            }
            // Asked before the session opens: engine.io emits `initial_headers` before
            // `connection`.
            let extra = server.extra_headers(&parts, remote).await;
            with_extra_headers(
                with_headers(handshake(&server, &parts, remote).await, &cors),
                &extra,
            )
        }
        Route::Upgrade(session) => {
            let extra = server.extra_headers(&parts, remote).await;
            let resp = super::websocket::accept(
                server,
                &parts,
                on_upgrade,
                Some(session),
                remote,
                permit,
                origin.upgraded,
            );
            with_extra_headers(resp, &extra)
        }
        Route::Elsewhere(sid) => {
            let owner = match server.shared().directory() {
                Some(directory) => directory.locate(&sid).await,
                None => None,
            };
            match owner {
                Some(addr) => forward::forward(&addr, parts, body, Some(on_upgrade)).await,
                None => unknown_sid(&server, &parts, remote, &sid),
            }
        }
        Route::WebSocket => {
            if !server.allows(&request_info(&parts, remote)).await {
                return upgrade_error(EngineError::Forbidden);
            }
            let extra = server.extra_headers(&parts, remote).await;
            let resp = super::websocket::accept(
                server,
                &parts,
                on_upgrade,
                None,
                remote,
                permit,
                origin.upgraded,
            );
            with_extra_headers(resp, &extra)
        }
    }
}
