//! `BroadcastOperator`: `to` / `in` / `except` / flags, then `emit`, `emit_with_ack`,
//! `fetch_sockets`, `sockets_join`, `sockets_leave` and `disconnect_sockets`.

pub use crate::adapter::RemoteSocket;
use crate::adapter::{AdapterError, BroadcastOptions, BroadcastPacket, Room};
use crate::engineio::with_batched_wakes;
use crate::hand_off;
use crate::namespace::Namespace;
use crate::socket::{check_event, AckCollector, AckResponse, EmitError, SocketRef};
use crate::Payload;
use std::sync::Arc;
use std::time::Duration;

/// Selects recipients and modifiers for a broadcast (socket.io's `BroadcastOperator`).
/// Every method returns a new operator, so one can be kept and reused.
#[derive(Clone)]
pub struct BroadcastOperator {
    nsp: Arc<Namespace>,
    opts: BroadcastOptions,
}

/// A broadcast with acks did not get every answer in time; `responses` holds those that came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("operation has timed out")]
pub struct BroadcastAckError {
    pub responses: Vec<Payload>,
}

impl BroadcastOperator {
    pub fn new(nsp: Arc<Namespace>) -> BroadcastOperator {
        BroadcastOperator {
            nsp,
            opts: BroadcastOptions::default(),
        }
    }

    /// Builds an operator from options (e.g. received from another node).
    pub fn with_options(nsp: Arc<Namespace>, opts: BroadcastOptions) -> BroadcastOperator {
        BroadcastOperator { nsp, opts }
    }

    pub fn options(&self) -> &BroadcastOptions {
        &self.opts
    }

    pub fn namespace(&self) -> &Arc<Namespace> {
        &self.nsp
    }

    /// Targets the sockets in these rooms (adds to earlier targets).
    pub fn to<I, R>(mut self, rooms: I) -> BroadcastOperator
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        for r in rooms {
            let r = r.into();
            if !self.opts.rooms.contains(&r) {
                self.opts.rooms.push(r);
            }
        }
        self
    }

    /// Same as [`BroadcastOperator::to`] (socket.io's `in`).
    pub fn within<I, R>(self, rooms: I) -> BroadcastOperator
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        self.to(rooms)
    }

    /// Skips the sockets in these rooms.
    pub fn except<I, R>(mut self, rooms: I) -> BroadcastOperator
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        for r in rooms {
            let r = r.into();
            if !self.opts.except.contains(&r) {
                self.opts.except.push(r);
            }
        }
        self
    }

    /// Only this node's sockets (matters with a cluster adapter).
    pub fn local(mut self) -> BroadcastOperator {
        self.opts.flags.local = true;
        self
    }

    /// Drop for recipients whose transport cannot take the packet right now.
    pub fn volatile(mut self) -> BroadcastOperator {
        self.opts.flags.volatile = true;
        self
    }

    pub fn compress(mut self, compress: bool) -> BroadcastOperator {
        self.opts.flags.compress = Some(compress);
        self
    }

    /// Timeout for [`BroadcastOperator::emit_with_ack`].
    pub fn timeout(mut self, timeout: Duration) -> BroadcastOperator {
        self.opts.flags.timeout = Some(timeout);
        self
    }

    /// Encodes the event once and queues the same bytes to every recipient.
    pub fn emit(&self, event: &str, args: Payload) -> Result<(), EmitError> {
        check_event(event, &args)?;
        // With recovery on, non-volatile broadcasts get an offset and are kept for replay.
        let args = match self.nsp.recovery() {
            Some(store)
                if !self.opts.flags.volatile && self.nsp.adapter().session_store().is_none() =>
            {
                store.store(event, args, &self.opts)
            }
            _ => args,
        };
        let packet = BroadcastPacket::new(self.nsp.parser(), self.nsp.name(), event, args, None);
        let on_host = tokio::runtime::Handle::try_current().is_err();
        if on_host && self.recipients_at_most() >= self.nsp.hand_off().min_recipients {
            let op = self.clone();
            self.nsp
                .hand_off()
                .run(move || op.nsp.adapter().broadcast(&*op.nsp, &packet, &op.opts));
            return Ok(());
        }
        self.deliver(|| {
            self.nsp
                .adapter()
                .broadcast(&*self.nsp, &packet, &self.opts)
        });
        Ok(())
    }

    /// Runs a delivery to many sockets. From a host thread (outside the runtime) it first
    /// waits for the thread's handed-off broadcasts, and the writers' wake-ups are handed to
    /// the runtime in one go rather than one by one.
    fn deliver<R>(&self, f: impl FnOnce() -> R) -> R {
        if tokio::runtime::Handle::try_current().is_ok() {
            f()
        } else {
            hand_off::barrier();
            with_batched_wakes(self.nsp.runtime(), f)
        }
    }

    /// An upper bound on the local recipients, without walking them.
    fn recipients_at_most(&self) -> usize {
        if self.opts.rooms.is_empty() {
            self.nsp.socket_count()
        } else {
            let index = self.nsp.adapter().index();
            self.opts.rooms.iter().map(|r| index.room_size(r)).sum()
        }
    }

    /// Emits and collects every recipient's acknowledgement. Resolves when all have answered,
    /// or at the timeout with the answers so far in the error.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Payload,
    ) -> Result<
        impl std::future::Future<Output = Result<Vec<Payload>, BroadcastAckError>> + Send + 'static,
        EmitError,
    > {
        check_event(event, &args)?;
        let id = self.nsp.next_ack_id();
        let packet =
            BroadcastPacket::new(self.nsp.parser(), self.nsp.name(), event, args, Some(id));
        let (collector, mut rx) = AckCollector::new();
        let mut expected = self.deliver(|| {
            self.nsp
                .adapter()
                .broadcast_with_ack(&*self.nsp, &packet, &self.opts, &collector)
        });
        drop(collector);
        let timeout = self.opts.flags.timeout;
        Ok(async move {
            let mut responses = Vec::new();
            // Complete when every node has reported its client count and every client answered.
            let mut servers_pending: i64 = 0;
            let collect = async {
                while servers_pending > 0 || responses.len() < expected {
                    match rx.recv().await {
                        Some(AckResponse::Response(p)) => responses.push(p),
                        Some(AckResponse::ServersPending(n)) => servers_pending += n as i64,
                        Some(AckResponse::ServerCount(n)) => {
                            servers_pending -= 1;
                            expected += n;
                        }
                        // Every recipient is gone: nothing more can arrive.
                        None => return false,
                    }
                }
                true
            };
            let complete = match timeout {
                Some(t) => tokio::time::timeout(t, collect).await.unwrap_or(false),
                None => collect.await,
            };
            if complete {
                Ok(responses)
            } else {
                Err(BroadcastAckError { responses })
            }
        })
    }

    /// The selected sockets, cluster-wide with a cluster adapter.
    pub async fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, AdapterError> {
        self.nsp
            .adapter()
            .fetch_sockets(&*self.nsp, &self.opts)
            .await
    }

    /// Makes the selected sockets join rooms.
    pub fn sockets_join<I, R>(&self, rooms: I)
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        crate::hand_off::barrier();
        let rooms: Vec<Room> = rooms.into_iter().map(Into::into).collect();
        self.nsp
            .adapter()
            .add_sockets(&*self.nsp, &self.opts, &rooms);
    }

    /// Makes the selected sockets leave rooms.
    pub fn sockets_leave<I, R>(&self, rooms: I)
    where
        I: IntoIterator<Item = R>,
        R: Into<Room>,
    {
        crate::hand_off::barrier();
        let rooms: Vec<Room> = rooms.into_iter().map(Into::into).collect();
        self.nsp
            .adapter()
            .del_sockets(&*self.nsp, &self.opts, &rooms);
    }

    /// Disconnects the selected sockets; with `close`, their whole connections.
    pub fn disconnect_sockets(&self, close: bool) {
        crate::hand_off::barrier();
        self.nsp
            .adapter()
            .disconnect_sockets(&*self.nsp, &self.opts, close);
    }
}

impl RemoteSocket {
    pub fn from_local(s: &SocketRef) -> RemoteSocket {
        RemoteSocket {
            id: s.id().to_string(),
            nsp: s.ns().to_string(),
            handshake: s.handshake(),
            rooms: s.rooms(),
            data: s.data(),
            local: true,
        }
    }
}
