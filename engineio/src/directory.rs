//! Where the sessions of a cluster live, so that any node can answer any request: without
//! sticky sessions a load balancer sends a long-poll, a POST or the WebSocket upgrade of a
//! session to whichever node it likes, and the node that does not hold the session hands the
//! request to the one that does (one extra hop inside the cluster). Set with
//! [`crate::EngineServer::set_session_directory`]; `roomcast-redis` keeps the directory in
//! Redis.

use futures_util::future::BoxFuture;

/// A request another node handed over carries this header, and is never handed on again
/// (two nodes that disagree about a session cannot bounce a request between them).
pub const FORWARDED_HEADER: &str = "x-roomcast-forwarded";

/// The sessions of every node of a cluster, by id.
pub trait SessionDirectory: Send + Sync + 'static {
    /// A long-polling session opened on this node: other nodes hand its requests here. The
    /// handshake is answered once this resolves, so the client's next request, whichever node
    /// it reaches, finds the session.
    fn register(&self, sid: &str) -> BoxFuture<'static, ()>;

    /// A request of the session was served here (a directory whose entries expire renews it).
    fn seen(&self, _sid: &str) {}

    /// The session closed.
    fn unregister(&self, sid: &str);

    /// The address (`host:port`) of the node that holds `sid`, when it is another node.
    fn locate(&self, sid: &str) -> BoxFuture<'static, Option<String>>;
}
