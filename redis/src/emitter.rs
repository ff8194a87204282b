//! An emitter for processes that run no Socket.IO server (workers, cron jobs): it publishes
//! to Redis exactly what `@socket.io/redis-emitter` publishes, and every roomcast or Node
//! socket.io node of the cluster delivers it.

use crate::wire::{self, Request};
use crate::{RedisAdapterConfig, RedisSetupError};
use redis::aio::ConnectionManager;
use roomcast::adapter::{BroadcastOptions, Room};
use roomcast::socket::EmitError;
use roomcast::Payload;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The uid the reference emitter puts in its messages.
const EMITTER_UID: &str = "emitter";

/// Why an emit through Redis failed.
#[derive(Debug, thiserror::Error)]
pub enum EmitterError {
    #[error(transparent)]
    Setup(#[from] RedisSetupError),
    #[error(transparent)]
    Emit(#[from] EmitError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("cannot encode the message: {0}")]
    Encode(#[from] wire::WireError),
}

struct Shared {
    key: String,
    client: redis::Client,
    conn: OnceCell<ConnectionManager>,
}

/// `Emitter::new(url).of("/chat").to(["room"]).emit("event", args)`.
#[derive(Clone)]
pub struct Emitter {
    shared: Arc<Shared>,
    nsp: String,
    opts: BroadcastOptions,
}

impl Emitter {
    /// An emitter on the default namespace, channel prefix `socket.io`.
    pub fn new(url: &str) -> Result<Emitter, EmitterError> {
        Emitter::with_config(RedisAdapterConfig::new(url))
    }

    pub fn with_config(config: RedisAdapterConfig) -> Result<Emitter, EmitterError> {
        let client = redis::Client::open(config.url.as_str()).map_err(|source| {
            RedisSetupError::InvalidUrl {
                url: config.url.clone(),
                source,
            }
        })?;
        Ok(Emitter {
            shared: Arc::new(Shared {
                key: config.key,
                client,
                conn: OnceCell::new(),
            }),
            nsp: "/".into(),
            opts: BroadcastOptions::default(),
        })
    }

    /// The same emitter for another namespace.
    pub fn of(&self, nsp: &str) -> Emitter {
        let nsp = if nsp.starts_with('/') {
            nsp.to_string()
        } else {
            format!("/{nsp}")
        };
        Emitter {
            shared: self.shared.clone(),
            nsp,
            opts: BroadcastOptions::default(),
        }
    }

    pub fn to<I, R>(mut self, rooms: I) -> Emitter
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        self.opts.rooms.extend(rooms.into_iter().map(Into::into));
        self
    }

    /// Same as [`Emitter::to`] (`in`).
    pub fn within<I, R>(self, rooms: I) -> Emitter
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        self.to(rooms)
    }

    pub fn except<I, R>(mut self, rooms: I) -> Emitter
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        self.opts.except.extend(rooms.into_iter().map(Into::into));
        self
    }

    pub fn volatile(mut self) -> Emitter {
        self.opts.flags.volatile = true;
        self
    }

    pub fn compress(mut self, compress: bool) -> Emitter {
        self.opts.flags.compress = Some(compress);
        self
    }

    async fn publish(&self, channel: String, bytes: Vec<u8>) -> Result<(), EmitterError> {
        let conn = self
            .shared
            .conn
            .get_or_try_init(|| crate::connection::publisher(&self.shared.client))
            .await?;
        let mut conn = conn.clone();
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(bytes)
            .query_async::<i64>(&mut conn)
            .await?;
        Ok(())
    }

    fn request_channel(&self) -> String {
        format!("{}-request#{}#", self.shared.key, self.nsp)
    }

    /// Broadcasts an event to the selected sockets of every node.
    pub async fn emit(&self, event: &str, args: Payload) -> Result<(), EmitterError> {
        roomcast::socket::check_event(event, &args)?;
        let bytes = wire::encode_broadcast(EMITTER_UID, &self.nsp, event, &args, &self.opts)?;
        self.publish(
            wire::broadcast_channel(&self.shared.key, &self.nsp, &self.opts.rooms),
            bytes,
        )
        .await
    }

    /// Makes the selected sockets join rooms, on every node.
    pub async fn sockets_join<I, R>(&self, rooms: I) -> Result<(), EmitterError>
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        let rooms = rooms.into_iter().map(Into::into).collect();
        let req = Request::RemoteJoin {
            uid: None,
            opts: self.opts.clone(),
            rooms,
        };
        self.publish(self.request_channel(), wire::encode_request(&req)?)
            .await
    }

    /// Makes the selected sockets leave rooms, on every node.
    pub async fn sockets_leave<I, R>(&self, rooms: I) -> Result<(), EmitterError>
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        let rooms = rooms.into_iter().map(Into::into).collect();
        let req = Request::RemoteLeave {
            uid: None,
            opts: self.opts.clone(),
            rooms,
        };
        self.publish(self.request_channel(), wire::encode_request(&req)?)
            .await
    }

    /// Disconnects the selected sockets, on every node.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), EmitterError> {
        let req = Request::RemoteDisconnect {
            uid: None,
            opts: self.opts.clone(),
            close,
        };
        self.publish(self.request_channel(), wire::encode_request(&req)?)
            .await
    }

    /// Sends an event to the servers of the cluster (`serverSideEmit`, no acknowledgement).
    pub async fn server_side_emit(&self, event: &str, args: Payload) -> Result<(), EmitterError> {
        roomcast::socket::check_event(event, &args)?;
        let req = Request::ServerSideEmit {
            uid: Some(EMITTER_UID.into()),
            request_id: None,
            event: event.to_string(),
            args,
        };
        self.publish(self.request_channel(), wire::encode_request(&req)?)
            .await
    }
}
