//! CORS headers for the polling transport, following the `cors` middleware socket.io uses.

use crate::engineio::config::{Cors, CorsOrigin};
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

/// Headers for a preflight (`OPTIONS`) response.
pub fn preflight_headers(cors: &Cors, request: &HeaderMap) -> Vec<(&'static str, String)> {
    let mut out = response_headers(cors, request);
    if cors.origin == CorsOrigin::Disabled {
        return out;
    }
    out.push((
        "access-control-allow-methods",
        "GET,HEAD,PUT,PATCH,POST,DELETE".to_string(),
    ));
    if let Some(h) = request
        .get("access-control-request-headers")
        .and_then(|v| v.to_str().ok())
    {
        out.push(("access-control-allow-headers", h.to_string()));
        out.push(("vary", "Access-Control-Request-Headers".to_string()));
    }
    out
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
        };
        let h = response_headers(&c, &headers("http://a.example"));
        assert!(h.contains(&("access-control-allow-origin", "http://a.example".into())));
        assert!(h.contains(&("access-control-allow-credentials", "true".into())));
        let h = response_headers(&c, &headers("http://evil.example"));
        assert!(!h.iter().any(|(k, _)| *k == "access-control-allow-origin"));
    }

    #[test]
    fn disabled_sends_nothing() {
        assert!(response_headers(&Cors::default(), &headers("http://x")).is_empty());
    }
}
