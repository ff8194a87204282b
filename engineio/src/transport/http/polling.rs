//! Long-polling over HTTP: the handshake, a GET that takes the session's queue, a POST that
//! brings packets in.

use super::*;

/// How long a handshake waits for the cluster's session directory to list the new session.
const REGISTER_BOUND: std::time::Duration = std::time::Duration::from_secs(2);

pub(crate) async fn handshake(
    server: &EngineServer,
    parts: &http::request::Parts,
    remote: Option<SocketAddr>,
) -> Resp {
    let session = server.open_session(TransportKind::Polling, request_info(parts, remote));
    // A WebSocket session lives on its one connection; a polling one is listed, so that the
    // other nodes hand its requests here.
    if let Some(directory) = server.shared().directory() {
        let listed = directory.register(session.sid.as_str());
        if tokio::time::timeout(REGISTER_BOUND, listed).await.is_err() {
            tracing::warn!(sid = %session.sid, "the session directory is slow: answering the handshake unlisted");
        }
    }
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

/// Answers a polling GET, compressed as the request accepts unless every packet in it was
/// sent with `compress(false)`.
pub(crate) async fn poll(
    session: &Arc<EngineSession>,
    arrival: u64,
    request: &http::HeaderMap,
) -> Resp {
    match session.poll(arrival).await {
        Ok(answer) if answer.compress => compress(
            polling_response((answer.body, answer.binary)),
            request,
            session,
        ),
        Ok(answer) => polling_response((answer.body, answer.binary)),
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
