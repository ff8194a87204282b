//! Who may open the admin UI's namespace: the UI's login form checked against a bcrypt hash
//! (as `@socket.io/admin-ui`), CONNECT payloads compared whole (python-socketio's dict or list
//! of dicts), a host's own check, or nobody checked. A basic login is given a session id (the
//! UI's `session` event) that later connects may present instead of the password.

use super::AdminError;
use crate::host::Pending;
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;

/// Sessions kept for basic logins; the oldest are forgotten past this.
const MAX_SESSIONS: usize = 10_000;

/// A host's own check: gets the CONNECT payload (JSON text), answers whether it may in.
pub type AdminCheck = Arc<dyn Fn(&str) -> Pending<bool> + Send + Sync>;

/// How the admin UI authenticates.
#[derive(Clone)]
pub enum AdminAuth {
    /// Anyone may connect (`auth: false`): only on a private network.
    Disabled,
    /// The UI's username and password, the password checked against a bcrypt hash.
    Basic {
        username: String,
        password_hash: String,
    },
    /// Any of these CONNECT payloads, compared as JSON values (python-socketio's `auth` dict
    /// or list of dicts).
    Exact(Vec<serde_json::Value>),
    /// Decided by the host.
    Check(AdminCheck),
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminAuth::Disabled => f.write_str("Disabled"),
            AdminAuth::Basic { username, .. } => write!(f, "Basic({username:?})"),
            AdminAuth::Exact(v) => write!(f, "Exact({} credentials)", v.len()),
            AdminAuth::Check(_) => f.write_str("Check"),
        }
    }
}

impl AdminAuth {
    /// The UI's login form against `username` and a bcrypt hash of the password; an invalid
    /// hash is refused here rather than at the first login.
    pub fn basic(
        username: impl Into<String>,
        password_hash: impl Into<String>,
    ) -> Result<AdminAuth, AdminError> {
        let password_hash = password_hash.into();
        password_hash
            .parse::<bcrypt::HashParts>()
            .map_err(|e| AdminError::InvalidPasswordHash(e.to_string()))?;
        Ok(AdminAuth::Basic {
            username: username.into(),
            password_hash,
        })
    }
}

/// The verdict on one CONNECT to the admin namespace.
pub(super) enum Verdict {
    Allowed,
    /// Allowed by a fresh basic login: the UI is told this session id.
    NewSession(String),
    Refused,
}

/// Checks CONNECTs to the admin namespace and keeps the sessions of basic logins.
pub(super) struct Gate {
    auth: AdminAuth,
    sessions: Mutex<(HashSet<String>, std::collections::VecDeque<String>)>,
}

impl Gate {
    pub(super) fn new(auth: AdminAuth) -> Gate {
        Gate {
            auth,
            sessions: Mutex::new(Default::default()),
        }
    }

    /// Decides on a CONNECT payload (JSON text); bcrypt runs off the runtime's threads.
    pub(super) async fn check(&self, auth_json: &str) -> Verdict {
        let given: serde_json::Value = serde_json::from_str(auth_json).unwrap_or_default();
        match &self.auth {
            AdminAuth::Disabled => Verdict::Allowed,
            AdminAuth::Exact(accepted) => {
                if accepted.contains(&given) {
                    Verdict::Allowed
                } else {
                    Verdict::Refused
                }
            }
            AdminAuth::Check(check) => {
                let allowed = match check(auth_json) {
                    Pending::Ready(v) => v,
                    Pending::Later(fut) => fut.await,
                };
                if allowed {
                    Verdict::Allowed
                } else {
                    Verdict::Refused
                }
            }
            AdminAuth::Basic {
                username,
                password_hash,
            } => {
                let session = given.get("sessionId").and_then(|v| v.as_str());
                if session.is_some_and(|id| self.sessions.lock().0.contains(id)) {
                    return Verdict::Allowed;
                }
                let user = given.get("username").and_then(|v| v.as_str());
                let password = given.get("password").and_then(|v| v.as_str());
                let (Some(user), Some(password)) = (user, password) else {
                    return Verdict::Refused;
                };
                if user != username {
                    return Verdict::Refused;
                }
                let (password, hash) = (password.to_string(), password_hash.clone());
                let matches = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
                    .await
                    .is_ok_and(|r| r.unwrap_or(false));
                if matches {
                    Verdict::NewSession(self.new_session())
                } else {
                    Verdict::Refused
                }
            }
        }
    }

    fn new_session(&self) -> String {
        let mut bytes = [0u8; 8];
        // Without randomness no session is worth handing out; the login still succeeds.
        if getrandom::fill(&mut bytes).is_err() {
            return String::new();
        }
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut sessions = self.sessions.lock();
        let (set, order) = &mut *sessions;
        if set.insert(id.clone()) {
            order.push_back(id.clone());
        }
        while order.len() > MAX_SESSIONS {
            if let Some(old) = order.pop_front() {
                set.remove(&old);
            }
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // bcrypt (cost 4) of "changeit".
    fn hash() -> String {
        bcrypt::hash("changeit", 4).expect("hash")
    }

    #[tokio::test]
    async fn basic_login_gets_a_session_that_replaces_the_password() {
        let gate = Gate::new(AdminAuth::basic("admin", hash()).expect("valid hash"));
        let Verdict::NewSession(id) = gate
            .check(r#"{"username":"admin","password":"changeit"}"#)
            .await
        else {
            panic!("the right password is accepted");
        };
        assert_eq!(id.len(), 16);
        let with_session = format!(r#"{{"sessionId":"{id}"}}"#);
        assert!(matches!(gate.check(&with_session).await, Verdict::Allowed));
        for wrong in [
            r#"{"username":"admin","password":"nope"}"#,
            r#"{"username":"root","password":"changeit"}"#,
            r#"{"sessionId":"0123456789abcdef"}"#,
            r#"{}"#,
            "not json",
        ] {
            assert!(
                matches!(gate.check(wrong).await, Verdict::Refused),
                "{wrong}"
            );
        }
    }

    #[test]
    fn a_password_that_is_not_a_bcrypt_hash_is_refused_up_front() {
        let err = AdminAuth::basic("admin", "changeit").expect_err("plain text");
        assert!(matches!(err, AdminError::InvalidPasswordHash(_)));
    }

    #[tokio::test]
    async fn exact_credentials_compare_whole_payloads() {
        let gate = Gate::new(AdminAuth::Exact(vec![
            serde_json::json!({"username": "a", "password": "1"}),
            serde_json::json!({"username": "b", "password": "2"}),
        ]));
        let ok = r#"{"password":"2","username":"b"}"#;
        assert!(matches!(gate.check(ok).await, Verdict::Allowed));
        let extra = r#"{"username":"a","password":"1","x":1}"#;
        assert!(matches!(gate.check(extra).await, Verdict::Refused));
    }
}
