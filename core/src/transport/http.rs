//! The native HTTP driver: hyper serves long-polling and hands WebSocket upgrades to
//! [`super::websocket`]. Request checks follow engine.io's `verify()` in the same order, so
//! clients see the same error codes.

use super::client_files::ClientFiles;
use super::cors;
use super::host_http::{HostBody, HostRequest, RequestBody, Responder};
use super::limits::{ConnectionPermit, Refusal};
use crate::engineio::error::EngineError;
use crate::engineio::session::PollError;
use crate::engineio::{CloseReason, EngineSession, TransportKind};
use crate::handshake::RequestInfo;
use crate::server::Server;
use crate::socketio::client::Client;
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

pub(crate) type Resp = Response<Full<Bytes>>;

/// What the native listener answers: the core's own responses, or a host's streamed one.
type ListenerResp = Response<Either<Full<Bytes>, HostBody>>;

/// Resolves once the server is closing — also when that happened before this task first ran.
async fn shutdown_requested(rx: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|closing| *closing).await;
}

pub(crate) async fn accept_loop(server: Server, listener: tokio::net::TcpListener) {
    let mut shutdown = server.shared().shutdown_signal();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    let shared = server.shared();
                    match shared.connection_limits.admit(addr.ip()) {
                        Ok(permit) => {
                            let _ = stream.set_nodelay(true);
                            tokio::spawn(serve_connection(server.clone(), stream, addr, permit));
                            // tokio runs a task just spawned before the tasks already woken
                            // (its LIFO slot), so a new connection's request could overtake one
                            // that came earlier on another connection: a poll the client sent,
                            // aborted and sent again would be answered in reverse order. This
                            // yield and the one starting serve_connection keep arrival order.
                            tokio::task::yield_now().await;
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
    server: Server,
    stream: tokio::net::TcpStream,
    addr: SocketAddr,
    permit: ConnectionPermit,
) {
    // Behind the tasks already woken (see accept_loop).
    tokio::task::yield_now().await;
    let mut shutdown = server.shared().shutdown_signal();
    // With a host's app on this listener, closing waits (within its grace) for the
    // connection, so a response in flight is written out before the process exits.
    let _live = server
        .shared()
        .http_host
        .read()
        .is_some()
        .then(|| LiveConnection::new(server.shared().clone()));
    let local = stream.local_addr().ok();
    let svc_server = server.clone();
    // Shared with the WebSocket task when the connection upgrades, so the place is held for
    // as long as the socket is open.
    let permit = Arc::new(permit);
    let service = service_fn(move |req| {
        let server = svc_server.clone();
        let permit = permit.clone();
        let peers = Peers {
            remote: Some(addr),
            local,
        };
        super::arrived::Arrived::new(async move {
            Ok::<_, Infallible>(handle(server, req, peers, Some(permit)).await)
        })
    });
    let engine = server.shared().engine.clone();
    let mut builder = http1::Builder::new();
    builder
        .max_buf_size(64 * 1024)
        .timer(TokioTimer::new())
        .header_read_timeout(engine.http_header_timeout);
    let (stream, mid_request) = super::watched_io::WatchedIo::new(stream);
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

/// Counts a connection as live (see [`Server::close`]) until dropped.
struct LiveConnection(Arc<crate::server::ServerShared>);

impl LiveConnection {
    fn new(shared: Arc<crate::server::ServerShared>) -> LiveConnection {
        shared.connection_opened();
        LiveConnection(shared)
    }
}

impl Drop for LiveConnection {
    fn drop(&mut self) {
        self.0.connection_closed();
    }
}

pub(crate) fn text_response(
    status: u16,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Resp {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

pub(crate) fn error_response(err: EngineError, cors_headers: &[(&'static str, String)]) -> Resp {
    let mut resp = text_response(err.status(), "application/json", err.body());
    add_headers(&mut resp, cors_headers);
    resp
}

/// An empty-bodied status, as engine.io answers overlapping requests and bad methods.
pub(crate) fn empty_response(status: u16) -> Resp {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// 408 with `Connection: close`: the rest of a body that came too slowly is not read.
fn request_timeout() -> Resp {
    let mut resp = empty_response(408);
    resp.headers_mut()
        .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
    resp
}

/// A refused WebSocket upgrade: the message as plain text, as engine.io's `abortUpgrade`.
pub(crate) fn upgrade_error(err: EngineError) -> Resp {
    // engine.io answers every refused upgrade with 400, whatever the error.
    text_response(400, "text/html", err.to_string())
}

fn add_headers(resp: &mut Resp, headers: &[(&'static str, String)]) {
    for (k, v) in headers {
        if let Ok(v) = http::HeaderValue::from_str(v) {
            resp.headers_mut().append(*k, v);
        }
    }
}

fn is_websocket_upgrade(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Header values engine.io refuses (`checkInvalidHeaderChar`): control characters other
/// than tab, and DEL.
fn has_invalid_header_chars(v: &http::HeaderValue) -> bool {
    v.as_bytes()
        .iter()
        .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

pub(crate) fn request_info(
    parts: &http::request::Parts,
    remote: Option<SocketAddr>,
) -> RequestInfo {
    RequestInfo {
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        query: parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
        remote_addr: remote,
        url: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        secure: false,
        issued: RequestInfo::now_ms(),
    }
}

/// A client file (socket.io's `serve()`): `304` when `If-None-Match` names the version, else
/// the body in the negotiated encoding; CORS headers as on every other response.
fn client_file(
    files: &ClientFiles,
    name: &str,
    parts: &http::request::Parts,
    cors_config: &crate::Cors,
) -> Resp {
    let cors_headers = cors::response_headers(cors_config, &parts.headers);
    let if_none_match = parts
        .headers
        .get(header::IF_NONE_MATCH)
        .map(|v| v.as_bytes());
    let accept = parts
        .headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok());
    if files.not_modified(if_none_match) {
        let mut resp = empty_response(304);
        add_headers(&mut resp, &cors_headers);
        return resp;
    }
    let Some(file) = files.get(name, accept) else {
        return empty_response(404);
    };
    let mut resp = text_response(200, file.content_type, file.body);
    let h = resp.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("public, max-age=0"),
    );
    if let Ok(etag) = http::HeaderValue::from_str(files.etag()) {
        h.insert(header::ETAG, etag);
    }
    if let Some(coding) = file.encoding.header_value() {
        h.insert(
            header::CONTENT_ENCODING,
            http::HeaderValue::from_static(coding),
        );
    }
    // socket.io leaves this out; without it a shared cache may hand a compressed body to a
    // client that did not ask for one.
    h.append(
        header::VARY,
        http::HeaderValue::from_static("Accept-Encoding"),
    );
    add_headers(&mut resp, &cors_headers);
    resp
}

/// What a request to the server asks for, decided the way engine.io's `verify()` does.
pub(crate) enum Route {
    /// Answer this response as is.
    Respond(Resp),
    /// Outside the Socket.IO path.
    Fallback,
    Poll(Arc<EngineSession>, Vec<(&'static str, String)>),
    Post(Arc<EngineSession>, Vec<(&'static str, String)>),
    Handshake(Vec<(&'static str, String)>),
    /// A WebSocket for an existing polling session (the upgrade probe).
    Upgrade(Arc<EngineSession>),
    /// A WebSocket that opens a new session.
    WebSocket,
}

pub(crate) fn route(server: &Server, parts: &http::request::Parts) -> Route {
    let engine = server.shared().engine.clone();
    let path = parts.uri.path();
    let base = engine.path.as_str();
    let base_trimmed = base.trim_end_matches('/');

    if let Some(file) = path.strip_prefix(base) {
        let files = server.shared().client_files.read().clone();
        if let Some(files) = files.filter(|f| f.contains(file)) {
            // A preflight for a bundle is answered as the `cors` middleware socket.io runs
            // before serving would (below); without CORS, socket.io serves any method.
            if !(parts.method == Method::OPTIONS && cors::enabled(&engine.cors)) {
                return Route::Respond(client_file(&files, file, parts, &engine.cors));
            }
        }
    }
    if !(path == base_trimmed || path.starts_with(base)) {
        return Route::Fallback;
    }

    let cors_headers = cors::response_headers(&engine.cors, &parts.headers);
    if parts.method == Method::OPTIONS && cors::enabled(&engine.cors) {
        let mut resp = empty_response(204);
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, http::HeaderValue::from_static("0"));
        add_headers(
            &mut resp,
            &cors::preflight_headers(&engine.cors, &parts.headers),
        );
        return Route::Respond(resp);
    }

    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // With WebSocket disabled, engine.io has no upgrade handler: the request is plain HTTP.
    let upgrade = engine.transports.websocket && is_websocket_upgrade(&parts.headers);
    let refuse = |err: EngineError| {
        Route::Respond(if upgrade {
            upgrade_error(err)
        } else {
            error_response(err, &cors_headers)
        })
    };
    let transport = match param("transport") {
        Some("polling") if engine.transports.polling => TransportKind::Polling,
        Some("websocket") if engine.transports.websocket => TransportKind::WebSocket,
        _ => return refuse(EngineError::UnknownTransport),
    };
    if parts
        .headers
        .get(header::ORIGIN)
        .is_some_and(has_invalid_header_chars)
    {
        return refuse(EngineError::BadRequest);
    }
    if upgrade && transport != TransportKind::WebSocket {
        return Route::Respond(upgrade_error(EngineError::BadRequest));
    }
    if upgrade {
        if let Some(origin) = cors::refused_websocket_origin(&engine.cors, &parts.headers) {
            tracing::warn!(
                origin,
                "WebSocket refused: its Origin is not in the CORS origin list"
            );
            return Route::Respond(text_response(
                EngineError::Forbidden.status(),
                "text/plain; charset=utf-8",
                "Origin not allowed",
            ));
        }
    }

    // The reference reads anything but `EIO=4` as protocol 3.
    let protocol = if param("EIO") == Some("4") { 4 } else { 3 };
    if let Some(sid) = param("sid") {
        let Some(session) = server.shared().session(sid) else {
            return refuse(EngineError::UnknownSid);
        };
        let current = session.transport();
        if !upgrade && current != transport {
            return refuse(EngineError::BadRequest);
        }
        if protocol != session.protocol {
            return refuse(EngineError::BadRequest);
        }
        if upgrade {
            return Route::Upgrade(session);
        }
        return match parts.method {
            Method::GET => Route::Poll(session, cors_headers),
            Method::POST => Route::Post(session, cors_headers),
            // engine.io's polling transport answers any other method with a bare 500.
            _ => Route::Respond(empty_response(500)),
        };
    }

    if parts.method != Method::GET {
        return refuse(EngineError::BadHandshakeMethod);
    }
    if transport == TransportKind::WebSocket && !upgrade {
        return refuse(EngineError::BadRequest);
    }
    if protocol == 3 && !(engine.allow_eio3 && matches!(param("EIO"), Some("3") | None)) {
        return refuse(EngineError::UnsupportedProtocolVersion);
    }
    if server.is_closed() {
        return refuse(EngineError::BadRequest);
    }
    if !server.shared().has_room_for_session() {
        server.shared().refusals.note(Refusal::SessionsFull, None);
        return refuse(EngineError::ServerFull);
    }
    if upgrade {
        return Route::WebSocket;
    }
    Route::Handshake(cors_headers)
}

/// The two ends of a connection.
#[derive(Clone, Copy)]
struct Peers {
    remote: Option<SocketAddr>,
    local: Option<SocketAddr>,
}

/// A request outside the Socket.IO path: fixed content, then the host's app, then 404.
async fn outside(
    server: &Server,
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
    let chunk_timeout = server.shared().engine.http_body_timeout;
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
    server: Server,
    req: Request<Incoming>,
    peers: Peers,
    permit: Option<Arc<ConnectionPermit>>,
) -> ListenerResp {
    if !server.handles_path(req.uri().path()) {
        let (parts, body) = req.into_parts();
        return outside(&server, parts, body, peers).await;
    }
    handle_socketio(server, req, peers.remote, permit)
        .await
        .map(Either::Left)
}

async fn handle_socketio(
    server: Server,
    mut req: Request<Incoming>,
    remote: Option<SocketAddr>,
    permit: Option<Arc<ConnectionPermit>>,
) -> Resp {
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (parts, body) = req.into_parts();
    match route(&server, &parts) {
        Route::Respond(resp) => resp,
        Route::Fallback => text_response(404, "text/plain; charset=utf-8", "Not Found"),
        Route::Poll(session, cors) => with_headers(
            compress(poll(&session).await, &parts.headers, &session),
            &cors,
        ),
        Route::Post(session, cors) => {
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
            with_headers(resp, &cors)
        }
        Route::Handshake(cors) => {
            if !server.allows(&request_info(&parts, remote)).await {
                return error_response(EngineError::Forbidden, &cors);
            }
            with_headers(handshake(&server, &parts, remote), &cors)
        }
        Route::Upgrade(session) => {
            super::websocket::accept(server, &parts, on_upgrade, Some(session), remote, permit)
        }
        Route::WebSocket => {
            if !server.allows(&request_info(&parts, remote)).await {
                return upgrade_error(EngineError::Forbidden);
            }
            super::websocket::accept(server, &parts, on_upgrade, None, remote, permit)
        }
    }
}

fn with_headers(mut resp: Resp, headers: &[(&'static str, String)]) -> Resp {
    add_headers(&mut resp, headers);
    resp
}

pub(crate) fn handshake(
    server: &Server,
    parts: &http::request::Parts,
    remote: Option<SocketAddr>,
) -> Resp {
    let session = open_session(server, TransportKind::Polling, request_info(parts, remote));
    polling_response(session.encode_payload(&[session.open_frame()]))
}

pub(crate) fn declared_length(headers: &http::HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

pub(crate) fn is_binary_body(headers: &http::HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes()
            .eq_ignore_ascii_case(b"application/octet-stream")
    })
}

/// Creates and registers a session with its Socket.IO client (or the Engine.IO handler).
pub(crate) fn open_session(
    server: &Server,
    transport: TransportKind,
    info: RequestInfo,
) -> Arc<EngineSession> {
    let shared = server.shared();
    let session = EngineSession::new(shared.engine.clone(), transport, info);
    match &shared.engine_handler {
        Some(handler) => {
            shared.add_session(&session);
            super::engine_only::attach(&session, handler.clone(), shared);
        }
        None => {
            Client::attach(&session, shared);
            shared.add_session(&session);
        }
    }
    session
}

fn polling_response((body, binary): (Vec<u8>, bool)) -> Resp {
    let content_type = if binary {
        "application/octet-stream"
    } else {
        "text/plain; charset=UTF-8"
    };
    let mut resp = text_response(200, content_type, body);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    resp
}

/// gzip or deflate a polling response for clients that accept it (engine.io's
/// `httpCompression`), above the configured threshold.
pub(crate) fn compress(resp: Resp, request: &http::HeaderMap, session: &EngineSession) -> Resp {
    use std::io::Write as _;
    let Some(threshold) = session.config().http_compression_threshold else {
        return resp;
    };
    let accepted = request
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoding = if accepted.split(',').any(|e| e.trim().starts_with("gzip")) {
        "gzip"
    } else if accepted.split(',').any(|e| e.trim().starts_with("deflate")) {
        "deflate"
    } else {
        return resp;
    };
    let (mut parts, body) = resp.into_parts();
    let raw = match http_body_util::BodyExt::collect(body).now_or_never() {
        Some(Ok(c)) => c.to_bytes(),
        _ => return Response::from_parts(parts, Full::new(Bytes::new())),
    };
    if raw.len() < threshold || parts.status != http::StatusCode::OK {
        return Response::from_parts(parts, Full::new(raw));
    }
    let compressed = if encoding == "gzip" {
        let mut enc = flate2::write::GzEncoder::new(
            Vec::with_capacity(raw.len() / 2),
            flate2::Compression::fast(),
        );
        enc.write_all(&raw).and_then(|_| enc.finish())
    } else {
        let mut enc = flate2::write::ZlibEncoder::new(
            Vec::with_capacity(raw.len() / 2),
            flate2::Compression::fast(),
        );
        enc.write_all(&raw).and_then(|_| enc.finish())
    };
    match compressed {
        Ok(body) => {
            parts.headers.insert(
                header::CONTENT_ENCODING,
                http::HeaderValue::from_static(encoding),
            );
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Full::new(Bytes::from(body)))
        }
        Err(_) => Response::from_parts(parts, Full::new(raw)),
    }
}

pub(crate) async fn poll(session: &Arc<EngineSession>) -> Resp {
    match session.poll().await {
        Ok(body) => polling_response(body),
        Err(PollError::Overlap) => empty_response(400),
        Err(PollError::WrongTransport) => error_response(EngineError::BadRequest, &[]),
        Err(PollError::Gone) => error_response(EngineError::UnknownSid, &[]),
    }
}

pub(crate) async fn post<B>(
    session: &Arc<EngineSession>,
    body: B,
    declared: Option<usize>,
    binary_body: bool,
) -> Resp
where
    B: hyper::body::Body,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let _in_progress = match session.begin_post() {
        Ok(guard) => guard,
        Err(PollError::Overlap) => return empty_response(400),
        Err(PollError::WrongTransport) => return error_response(EngineError::BadRequest, &[]),
        Err(PollError::Gone) => return error_response(EngineError::UnknownSid, &[]),
    };
    // v4 payloads are text; binary travels base64-encoded inside them.
    if binary_body && session.protocol == 4 {
        session.close(CloseReason::TransportError);
        return empty_response(400);
    }
    // Too large: 413 and the body is dropped; the session itself stays usable.
    let limit = session.config().max_http_buffer_size;
    if declared.is_some_and(|n| n > limit) {
        return empty_response(413);
    }
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return empty_response(413);
        }
        Err(_) => {
            session.close(CloseReason::TransportError);
            return empty_response(400);
        }
    };
    session.post(&body, binary_body);
    session.client_close_settled().await;
    text_response(200, "text/html", "ok")
}
