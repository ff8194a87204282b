//! The responses the HTTP driver builds: errors as engine.io words them, polling payloads,
//! their compression, and the headers CORS and listeners add.

use super::*;

pub(crate) type Resp = Response<Full<Bytes>>;

/// What the native listener answers: the core's own responses, or a host's streamed one.
pub(crate) type ListenerResp = Response<Either<Full<Bytes>, HostBody>>;

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
pub(crate) fn request_timeout() -> Resp {
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

pub(crate) fn add_headers(resp: &mut Resp, headers: &[(&'static str, String)]) {
    for (k, v) in headers {
        if let Ok(v) = http::HeaderValue::from_str(v) {
            resp.headers_mut().append(*k, v);
        }
    }
}

/// Adds the headers a host's `headers` listeners set: a name replaces the response's own
/// header of that name, and repeats of it add lines (`Set-Cookie`); an invalid name or value
/// is skipped.
pub(crate) fn with_extra_headers(mut resp: Resp, extra: &[(String, String)]) -> Resp {
    let mut set: Vec<http::HeaderName> = Vec::new();
    for (name, value) in extra {
        match (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                if set.contains(&name) {
                    resp.headers_mut().append(name, value);
                } else {
                    resp.headers_mut().insert(name.clone(), value);
                    set.push(name);
                }
            }
            _ => tracing::warn!(name, "skipped an invalid response header set by a listener"),
        }
    }
    resp
}

pub(crate) fn with_headers(mut resp: Resp, headers: &[(&'static str, String)]) -> Resp {
    add_headers(&mut resp, headers);
    resp
}

pub(crate) fn polling_response((body, binary): (Vec<u8>, bool)) -> Resp {
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
