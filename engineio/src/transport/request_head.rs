//! Request heads read off a connection before any HTTP server parses it: a host's connection
//! taken over as it is accepted is kept only when its first request is a WebSocket upgrade
//! of the engine's path (what Node would emit as `upgrade`).

use crate::server::EngineServer;

/// Node's `http.Server` allows request heads up to 16 KiB by default.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;

/// What the first bytes of a connection hold.
// Made once per connection and matched at once: boxing the head would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum FirstRequest {
    /// A whole `GET` WebSocket upgrade of the engine's path, its head `head_len` bytes long.
    Upgrade {
        parts: http::request::Parts,
        head_len: usize,
    },
    /// The head has not all arrived yet.
    Partial,
    /// Another request, or one the host's HTTP server should judge.
    Other,
}

impl EngineServer {
    /// Reads the request head at the start of `bytes`.
    pub fn first_request(&self, bytes: &[u8]) -> FirstRequest {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        let head_len = match req.parse(bytes) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return FirstRequest::Partial,
            Err(_) => return FirstRequest::Other,
        };
        match self.upgrade_parts(&req) {
            Some(parts) => FirstRequest::Upgrade { parts, head_len },
            None => FirstRequest::Other,
        }
    }

    fn upgrade_parts(&self, req: &httparse::Request<'_, '_>) -> Option<http::request::Parts> {
        if req.method != Some("GET") {
            return None;
        }
        let url = req.path?;
        let path = url.split_once('?').map_or(url, |(p, _)| p);
        if !self.handles_path(path) {
            return None;
        }
        let has_token = |name: &str, token: &str| {
            req.headers.iter().any(|h| {
                h.name.eq_ignore_ascii_case(name)
                    && h.value
                        .split(|&b| b == b',')
                        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
            })
        };
        if !has_token("connection", "upgrade") || !has_token("upgrade", "websocket") {
            return None;
        }
        let mut builder = http::Request::builder().method("GET").uri(url);
        for h in req.headers.iter() {
            // As for a head Node parsed: a header http cannot represent is skipped.
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(h.name.as_bytes()),
                http::HeaderValue::from_bytes(h.value),
            ) {
                builder = builder.header(name, value);
            }
        }
        Some(builder.body(()).ok()?.into_parts().0)
    }
}
