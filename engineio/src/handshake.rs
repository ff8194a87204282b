//! What a connection's first HTTP request said, kept for the handshake data socket.io
//! exposes to handlers (`socket.handshake`).

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

/// Marks a request that arrived over TLS, as an entry of its `http::Extensions`: a driver
/// (or a host that terminated TLS) inserts it, and the handshake reports `secure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encrypted;

/// The parts of the first HTTP request of a session that handlers may read.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// Header names lower-cased, in request order.
    pub headers: Vec<(String, String)>,
    /// Query parameters, decoded, in request order.
    pub query: Vec<(String, String)>,
    pub remote_addr: Option<SocketAddr>,
    /// The request target (`/socket.io/?EIO=4&transport=polling`).
    pub url: String,
    /// Whether the connection is TLS (the request carried [`Encrypted`]).
    pub secure: bool,
    /// Milliseconds since the Unix epoch when the session was created.
    pub issued: u64,
}

impl RequestInfo {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Cross-domain: the request carried an `Origin` header.
    pub fn xdomain(&self) -> bool {
        self.header("origin").is_some()
    }

    /// The client's address as socket.io reports it (IPv4-mapped IPv6 becomes `::ffff:a.b.c.d`).
    pub fn address(&self) -> String {
        match self.remote_addr {
            Some(SocketAddr::V4(a)) => a.ip().to_string(),
            Some(SocketAddr::V6(a)) => a.ip().to_string(),
            None => String::new(),
        }
    }

    /// The handshake time as JavaScript's `Date.prototype.toString` prints it in UTC.
    pub fn time(&self) -> String {
        js_date_string(self.issued)
    }

    pub fn now_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// Formats a Unix time in milliseconds the way `new Date().toString()` does under UTC:
/// `Sun Nov 22 2026 10:04:05 GMT+0000 (Coordinated Universal Time)`.
pub fn js_date_string(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = roomcast_protocol::calendar::civil_from_days(days);
    format!(
        "{} {} {:02} {} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        y,
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_javascript() {
        assert_eq!(
            js_date_string(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        // 2026-11-22T10:04:05Z
        assert_eq!(
            js_date_string(1_795_341_845_000),
            "Sun Nov 22 2026 10:04:05 GMT+0000 (Coordinated Universal Time)"
        );
        // Leap day.
        assert_eq!(&js_date_string(951_782_400_000)[..15], "Tue Feb 29 2000");
    }

    #[test]
    fn looks_up_headers_case_insensitively() {
        let info = RequestInfo {
            headers: vec![("origin".into(), "http://a".into())],
            ..Default::default()
        };
        assert_eq!(info.header("Origin"), Some("http://a"));
        assert!(info.xdomain());
    }
}
