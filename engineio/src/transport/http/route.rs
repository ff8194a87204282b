//! What a request asks for, decided in the order of engine.io's `verify()`, so clients see
//! the same error codes; and the client files.

use super::*;

pub(crate) fn is_websocket_upgrade(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Header values engine.io refuses (`checkInvalidHeaderChar`): control characters other
/// than tab, and DEL.
pub(crate) fn has_invalid_header_chars(v: &http::HeaderValue) -> bool {
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
        secure: parts
            .extensions
            .get::<crate::handshake::Encrypted>()
            .is_some(),
        issued: RequestInfo::now_ms(),
    }
}

/// A client file (socket.io's `serve()`): `304` when `If-None-Match` names the version, else
/// the body in the negotiated encoding; CORS headers as on every other response.
pub(crate) fn client_file(
    files: &ClientFiles,
    name: &str,
    parts: &http::request::Parts,
    cors_config: &crate::config::Cors,
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
    /// A session this node does not hold: another node of the cluster may.
    Elsewhere(String),
}

/// The refusal of a request for a session nobody holds (400 "Session ID unknown").
pub(crate) fn unknown_sid(
    server: &EngineServer,
    parts: &http::request::Parts,
    remote: Option<SocketAddr>,
    sid: &str,
) -> Resp {
    let engine = &server.shared().config;
    server.report_refusal(parts, remote, EngineError::UnknownSid, || {
        vec![("sid", ContextValue::Text(sid.into()))]
    });
    if engine.transports.websocket && is_websocket_upgrade(&parts.headers) {
        upgrade_error(EngineError::UnknownSid)
    } else {
        let cors_headers = cors::response_headers(&engine.cors, &parts.headers);
        error_response(EngineError::UnknownSid, &cors_headers)
    }
}

pub(crate) fn route(
    server: &EngineServer,
    parts: &http::request::Parts,
    remote: Option<SocketAddr>,
) -> Route {
    let engine = server.shared().config.clone();
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
    // Each refusal is reported with engine.io's context (its `connection_error` event).
    let refuse = |err: EngineError, context: Vec<(&'static str, ContextValue)>| {
        server.report_refusal(parts, remote, err, || context);
        Route::Respond(if upgrade {
            upgrade_error(err)
        } else {
            error_response(err, &cors_headers)
        })
    };
    let transport = match param("transport") {
        Some("polling") if engine.transports.polling => TransportKind::Polling,
        Some("websocket") if engine.transports.websocket => TransportKind::WebSocket,
        other => {
            return refuse(
                EngineError::UnknownTransport,
                vec![("transport", ContextValue::text(other))],
            )
        }
    };
    if parts
        .headers
        .get(header::ORIGIN)
        .is_some_and(has_invalid_header_chars)
    {
        let origin = parts
            .headers
            .get(header::ORIGIN)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        return refuse(
            EngineError::BadRequest,
            vec![
                ("name", ContextValue::Text("INVALID_ORIGIN".into())),
                ("origin", ContextValue::text(origin.as_deref())),
            ],
        );
    }
    if upgrade && transport != TransportKind::WebSocket {
        server.report_refusal(parts, remote, EngineError::BadRequest, || {
            vec![
                ("name", ContextValue::Text("TRANSPORT_MISMATCH".into())),
                ("transport", ContextValue::Text(transport.name().into())),
            ]
        });
        return Route::Respond(upgrade_error(EngineError::BadRequest));
    }
    if upgrade {
        if let Some(origin) = cors::refused_websocket_origin(&engine.cors, &parts.headers) {
            tracing::warn!(
                origin,
                "WebSocket refused: its Origin is not in the CORS origin list"
            );
            server.report_refusal(parts, remote, EngineError::Forbidden, || {
                vec![
                    ("name", ContextValue::Text("ORIGIN_NOT_ALLOWED".into())),
                    ("origin", ContextValue::Text(origin.to_string())),
                ]
            });
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
            let forwarded = parts
                .headers
                .contains_key(crate::directory::FORWARDED_HEADER);
            if server.shared().directory().is_some() && !forwarded {
                return Route::Elsewhere(sid.to_string());
            }
            return refuse(
                EngineError::UnknownSid,
                vec![("sid", ContextValue::Text(sid.into()))],
            );
        };
        if let Some(directory) = server.shared().directory() {
            directory.seen(sid);
        }
        let current = session.transport();
        if !upgrade && current != transport {
            return refuse(
                EngineError::BadRequest,
                vec![
                    ("name", ContextValue::Text("TRANSPORT_MISMATCH".into())),
                    ("transport", ContextValue::Text(transport.name().into())),
                    (
                        "previousTransport",
                        ContextValue::Text(current.name().into()),
                    ),
                ],
            );
        }
        if protocol != session.protocol {
            return refuse(
                EngineError::BadRequest,
                vec![
                    ("name", ContextValue::Text("PROTOCOL_MISMATCH".into())),
                    ("protocol", ContextValue::Number(protocol.into())),
                ],
            );
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
        return refuse(
            EngineError::BadHandshakeMethod,
            vec![("method", ContextValue::Text(parts.method.to_string()))],
        );
    }
    if transport == TransportKind::WebSocket && !upgrade {
        return refuse(
            EngineError::BadRequest,
            vec![(
                "name",
                ContextValue::Text("TRANSPORT_HANDSHAKE_ERROR".into()),
            )],
        );
    }
    if protocol == 3 && !(engine.allow_eio3 && matches!(param("EIO"), Some("3") | None)) {
        return refuse(
            EngineError::UnsupportedProtocolVersion,
            vec![("protocol", ContextValue::Number(3))],
        );
    }
    if server.is_closed() {
        return refuse(
            EngineError::BadRequest,
            vec![("name", ContextValue::Text("SERVER_CLOSED".into()))],
        );
    }
    if !server.shared().has_room_for_session() {
        server.shared().refusals.note(Refusal::SessionsFull, None);
        return refuse(
            EngineError::ServerFull,
            vec![("name", ContextValue::Text("MAX_SESSIONS".into()))],
        );
    }
    if upgrade {
        return Route::WebSocket;
    }
    Route::Handshake(cors_headers)
}
