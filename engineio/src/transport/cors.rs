//! CORS headers for the polling transport, following the `cors` middleware socket.io uses,
//! and the origin check on WebSocket handshakes that browsers leave to the server.

use crate::config::{Cors, CorsOrigin};
use http::HeaderMap;

/// Headers for a regular (non-preflight) response.
pub fn response_headers(cors: &Cors, request: &HeaderMap) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let origin = request.get("origin").and_then(|v| v.to_str().ok());
    match &cors.origin {
        CorsOrigin::Disabled => return out,
        CorsOrigin::Any => out.push(("access-control-allow-origin", "*".to_string())),
        CorsOrigin::List(list) => {
            if let Some(o) = origin.filter(|o| list.iter().any(|a| a == o)) {
                out.push(("access-control-allow-origin", o.to_string()));
            }
            out.push(("vary", "Origin".to_string()));
        }
    }
    if cors.credentials {
        out.push(("access-control-allow-credentials", "true".to_string()));
    }
    out
}

/// The `cors` package's preflight methods when none are configured.
pub const DEFAULT_METHODS: &str = "GET,HEAD,PUT,PATCH,POST,DELETE";

/// Headers for a preflight (`OPTIONS`) response.
pub fn preflight_headers(cors: &Cors, request: &HeaderMap) -> Vec<(&'static str, String)> {
    let mut out = response_headers(cors, request);
    if cors.origin == CorsOrigin::Disabled {
        return out;
    }
    let methods = cors.methods.as_deref().unwrap_or(DEFAULT_METHODS);
    out.push(("access-control-allow-methods", methods.to_string()));
    match &cors.allowed_headers {
        // Configured headers are answered as they are, even when empty, as the `cors`
        // package does; only the default mirrors the request and so varies with it.
        Some(configured) if configured.is_empty() => {}
        Some(configured) => out.push(("access-control-allow-headers", configured.clone())),
        None => {
            if let Some(h) = request
                .get("access-control-request-headers")
                .and_then(|v| v.to_str().ok())
            {
                out.push(("access-control-allow-headers", h.to_string()));
                out.push(("vary", "Access-Control-Request-Headers".to_string()));
            }
        }
    }
    out
}

/// The `Origin` of a WebSocket handshake that an origin list does not allow.
///
/// Browsers apply CORS to polling requests (a foreign page cannot read the answers) but not
/// to WebSocket: any page may open one to this server with the user's cookies. socket.io
/// checks nothing there; roomcast refuses a listed-origins server's WebSocket to a browser
/// from elsewhere. A request without `Origin` is not from a browser page and passes, as do
/// all requests when CORS is off or `*`.
pub fn refused_websocket_origin<'a>(cors: &Cors, request: &'a HeaderMap) -> Option<&'a str> {
    let CorsOrigin::List(list) = &cors.origin else {
        return None;
    };
    let origin = request.get("origin")?;
    // An Origin that is not text cannot equal a listed one; show it lossily in the log.
    let text = origin.to_str().unwrap_or("(non-ASCII origin)");
    if list
        .iter()
        .any(|allowed| allowed.as_bytes() == origin.as_bytes())
    {
        None
    } else {
        Some(text)
    }
}

/// Whether CORS handling is on at all.
pub fn enabled(cors: &Cors) -> bool {
    cors.origin != CorsOrigin::Disabled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("origin", origin.parse().unwrap());
        h
    }

    #[test]
    fn any_origin() {
        let c = Cors {
            origin: CorsOrigin::Any,
            credentials: false,
            ..Cors::default()
        };
        assert_eq!(
            response_headers(&c, &headers("http://x")),
            vec![("access-control-allow-origin", "*".into())]
        );
    }

    #[test]
    fn listed_origin_with_credentials() {
        let c = Cors {
            origin: CorsOrigin::List(vec!["http://a.example".into()]),
            credentials: true,
            ..Cors::default()
        };
        let h = response_headers(&c, &headers("http://a.example"));
        assert!(h.contains(&("access-control-allow-origin", "http://a.example".into())));
        assert!(h.contains(&("access-control-allow-credentials", "true".into())));
        let h = response_headers(&c, &headers("http://evil.example"));
        assert!(!h.iter().any(|(k, _)| *k == "access-control-allow-origin"));
    }

    #[test]
    fn websocket_origin_is_checked_only_against_a_list() {
        let list = Cors {
            origin: CorsOrigin::List(vec!["http://a.example".into()]),
            credentials: false,
            ..Cors::default()
        };
        assert_eq!(
            refused_websocket_origin(&list, &headers("http://a.example")),
            None
        );
        assert_eq!(
            refused_websocket_origin(&list, &headers("http://evil.example")),
            Some("http://evil.example")
        );
        assert_eq!(
            refused_websocket_origin(&list, &headers("null")),
            Some("null")
        );
        assert_eq!(refused_websocket_origin(&list, &HeaderMap::new()), None);
        let any = Cors {
            origin: CorsOrigin::Any,
            credentials: true,
            ..Cors::default()
        };
        assert_eq!(
            refused_websocket_origin(&any, &headers("http://evil.example")),
            None
        );
        assert_eq!(
            refused_websocket_origin(&Cors::default(), &headers("http://evil.example")),
            None
        );
    }

    #[test]
    fn preflight_answers_configured_methods_and_headers() {
        let mut request = headers("http://x");
        request.insert("access-control-request-headers", "x-a,x-b".parse().unwrap());
        let mut c = Cors {
            origin: CorsOrigin::Any,
            ..Cors::default()
        };
        let h = preflight_headers(&c, &request);
        assert!(h.contains(&("access-control-allow-methods", DEFAULT_METHODS.into())));
        assert!(h.contains(&("access-control-allow-headers", "x-a,x-b".into())));
        assert!(h.contains(&("vary", "Access-Control-Request-Headers".into())));
        c.methods = Some("GET,POST".into());
        c.allowed_headers = Some("x-token".into());
        let h = preflight_headers(&c, &request);
        assert!(h.contains(&("access-control-allow-methods", "GET,POST".into())));
        assert!(h.contains(&("access-control-allow-headers", "x-token".into())));
        assert!(!h.iter().any(|(k, _)| *k == "vary"));
        c.allowed_headers = Some(String::new());
        let h = preflight_headers(&c, &request);
        assert!(!h.iter().any(|(k, _)| *k == "access-control-allow-headers"));
    }

    #[test]
    fn disabled_sends_nothing() {
        assert!(response_headers(&Cors::default(), &headers("http://x")).is_empty());
    }
}
