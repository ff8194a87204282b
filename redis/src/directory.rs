//! The cluster's session directory in Redis, for clusters without sticky sessions: each node
//! writes `<prefix><sid>` = its own address for its long-polling sessions, and a node that
//! gets a request for a session it does not hold reads who does and hands the request there.
//! Entries expire after `ttl` unless the session keeps being served (renewed at half of it),
//! and are deleted when the session closes, so a node that died leaves nothing for long.

use crate::RedisSetupError;
use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use redis::aio::ConnectionManager;
use roomcast::engineio::directory::SessionDirectory;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, OnceCell};

/// Options of [`RedisSessionDirectory`].
#[derive(Debug, Clone)]
pub struct SessionDirectoryConfig {
    /// `redis://[:password@]host[:port][/db]`, or `rediss://` for TLS.
    pub url: String,
    /// The address other nodes reach this node's listener at (`10.0.0.5:3000`).
    pub address: String,
    /// The prefix of the keys (`roomcast:owner:`).
    pub key_prefix: String,
    /// How long an entry lives without its session being served (1 hour).
    pub ttl: Duration,
}

impl SessionDirectoryConfig {
    /// The address to advertise for a listener bound to `bound`: `given`, or the bound
    /// address itself when it names one interface (not `0.0.0.0` / `::`).
    pub fn address_for(
        given: Option<&str>,
        bound: std::net::SocketAddr,
    ) -> Result<String, RedisSetupError> {
        match given {
            Some(a) if !a.is_empty() => Ok(a.to_string()),
            _ if bound.ip().is_unspecified() => Err(RedisSetupError::NoAddress(bound)),
            _ => Ok(bound.to_string()),
        }
    }

    pub fn new(url: impl Into<String>, address: impl Into<String>) -> SessionDirectoryConfig {
        SessionDirectoryConfig {
            url: url.into(),
            address: address.into(),
            key_prefix: "roomcast:owner:".into(),
            ttl: Duration::from_secs(3600),
        }
    }
}

enum Write {
    Set(String),
    Del(String),
}

/// A [`SessionDirectory`] in Redis; give it to
/// [`roomcast::engineio::EngineServer::set_session_directory`].
pub struct RedisSessionDirectory {
    config: SessionDirectoryConfig,
    client: redis::Client,
    connection: Arc<OnceCell<ConnectionManager>>,
    writes: mpsc::UnboundedSender<Write>,
    /// When each of this node's sessions was last written.
    written: Mutex<HashMap<String, Instant>>,
}

impl RedisSessionDirectory {
    /// Checks the URL; the writes run on `runtime`, in order, in the background.
    pub fn new(
        config: SessionDirectoryConfig,
        runtime: &Handle,
    ) -> Result<Arc<RedisSessionDirectory>, RedisSetupError> {
        let client = redis::Client::open(config.url.as_str()).map_err(|source| {
            RedisSetupError::InvalidUrl {
                url: config.url.clone(),
                source,
            }
        })?;
        let (writes, rx) = mpsc::unbounded_channel();
        let connection = Arc::new(OnceCell::new());
        runtime.spawn(write_loop(
            client.clone(),
            connection.clone(),
            config.clone(),
            rx,
        ));
        Ok(Arc::new(RedisSessionDirectory {
            config,
            client,
            connection,
            writes,
            written: Mutex::new(HashMap::new()),
        }))
    }

    fn key(&self, sid: &str) -> String {
        format!("{}{sid}", self.config.key_prefix)
    }
}

async fn connection(
    client: &redis::Client,
    cell: &OnceCell<ConnectionManager>,
) -> redis::RedisResult<ConnectionManager> {
    cell.get_or_try_init(|| crate::connection::publisher(client))
        .await
        .cloned()
}

/// `SET key address PX ttl`: this node holds the session.
async fn set_owner(
    conn: &mut ConnectionManager,
    key: String,
    address: &str,
    ttl_ms: u64,
) -> redis::RedisResult<()> {
    redis::cmd("SET")
        .arg(key)
        .arg(address)
        .arg("PX")
        .arg(ttl_ms)
        .query_async::<redis::Value>(conn)
        .await
        .map(drop)
}

async fn write_loop(
    client: redis::Client,
    cell: Arc<OnceCell<ConnectionManager>>,
    config: SessionDirectoryConfig,
    mut rx: mpsc::UnboundedReceiver<Write>,
) {
    let ttl_ms = config.ttl.as_millis().max(1) as u64;
    while let Some(write) = rx.recv().await {
        let result = match connection(&client, &cell).await {
            Ok(mut conn) => match write {
                Write::Set(key) => set_owner(&mut conn, key, &config.address, ttl_ms).await,
                Write::Del(key) => redis::cmd("DEL")
                    .arg(key)
                    .query_async::<redis::Value>(&mut conn)
                    .await
                    .map(drop),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "session directory: a write to redis failed");
        }
    }
}

impl SessionDirectory for RedisSessionDirectory {
    fn register(&self, sid: &str) -> BoxFuture<'static, ()> {
        self.written.lock().insert(sid.to_string(), Instant::now());
        // Written here rather than queued: the handshake waits for it.
        let (client, cell) = (self.client.clone(), self.connection.clone());
        let (key, address) = (self.key(sid), self.config.address.clone());
        let ttl_ms = self.config.ttl.as_millis().max(1) as u64;
        Box::pin(async move {
            let written = match connection(&client, &cell).await {
                Ok(mut conn) => set_owner(&mut conn, key, &address, ttl_ms).await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                tracing::warn!(error = %e, "session directory: a session could not be listed");
            }
        })
    }

    fn seen(&self, sid: &str) {
        let renew = {
            let mut written = self.written.lock();
            match written.get_mut(sid) {
                Some(at) if at.elapsed() >= self.config.ttl / 2 => {
                    *at = Instant::now();
                    true
                }
                _ => false,
            }
        };
        if renew {
            let _ = self.writes.send(Write::Set(self.key(sid)));
        }
    }

    fn unregister(&self, sid: &str) {
        if self.written.lock().remove(sid).is_some() {
            let _ = self.writes.send(Write::Del(self.key(sid)));
        }
    }

    fn locate(&self, sid: &str) -> BoxFuture<'static, Option<String>> {
        let (client, cell) = (self.client.clone(), self.connection.clone());
        let (key, me) = (self.key(sid), self.config.address.clone());
        Box::pin(async move {
            let mut conn = match connection(&client, &cell).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "session directory: redis unreachable");
                    return None;
                }
            };
            let owner: Option<String> = redis::cmd("GET")
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "session directory: a lookup failed");
                    None
                });
            owner.filter(|addr| *addr != me)
        })
    }
}
