//! The HTTP errors of the Engine.IO handshake, with the codes and messages of the reference
//! server (clients and load balancers match on them).

/// An Engine.IO request error, answered as `{"code":N,"message":"..."}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("Transport unknown")]
    UnknownTransport,
    #[error("Session ID unknown")]
    UnknownSid,
    #[error("Bad handshake method")]
    BadHandshakeMethod,
    #[error("Bad request")]
    BadRequest,
    #[error("Forbidden")]
    Forbidden,
    #[error("Unsupported protocol version")]
    UnsupportedProtocolVersion,
    /// The server holds `max_sessions` sessions (roomcast's own; engine.io has no cap).
    #[error("Server full")]
    ServerFull,
}

impl EngineError {
    pub fn code(self) -> u8 {
        match self {
            EngineError::UnknownTransport => 0,
            EngineError::UnknownSid => 1,
            EngineError::BadHandshakeMethod => 2,
            EngineError::BadRequest => 3,
            EngineError::Forbidden => 4,
            EngineError::UnsupportedProtocolVersion => 5,
            EngineError::ServerFull => 6,
        }
    }

    pub fn status(self) -> u16 {
        match self {
            EngineError::Forbidden => 403,
            EngineError::ServerFull => 503,
            _ => 400,
        }
    }

    /// The JSON body of the error response.
    pub fn body(self) -> String {
        format!("{{\"code\":{},\"message\":\"{}\"}}", self.code(), self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_the_reference() {
        assert_eq!(
            EngineError::UnknownTransport.body(),
            r#"{"code":0,"message":"Transport unknown"}"#
        );
        assert_eq!(
            EngineError::UnknownSid.body(),
            r#"{"code":1,"message":"Session ID unknown"}"#
        );
        assert_eq!(EngineError::Forbidden.status(), 403);
        assert_eq!(EngineError::UnsupportedProtocolVersion.code(), 5);
    }
}
