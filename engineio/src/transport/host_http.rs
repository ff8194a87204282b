//! The host seam for plain HTTP on the native listener: a request outside the Socket.IO
//! path goes to an [`HttpHost`] (a WSGI app in Python, a request listener in Node), so one
//! port serves the web app and Socket.IO with WebSocket. hyper parses HTTP; the host gets
//! the method, target, headers and a streamed body, and answers a status, headers and body
//! chunks. A body without `Content-Length` goes out chunked.
//!
//! [`RequestQueue`] is a ready host for thread-pool runtimes: a bounded queue that worker
//! threads take requests from; when it is full a request is answered 503 at once, so a slow
//! app never makes the server buffer requests without bound.

use bytes::Bytes;
use http::{HeaderMap, Method, Uri, Version};
use hyper::body::{Body, Frame, Incoming};
use parking_lot::Mutex;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Response chunks a host may have in flight before its writes wait for the client.
const BODY_CHUNKS_IN_FLIGHT: usize = 8;

/// Answers the native listener's requests outside the Socket.IO path.
///
/// `handle` runs on a runtime thread: it must return at once (queue the request, spawn a
/// task), never wait for the host's language runtime.
pub trait HttpHost: Send + Sync + 'static {
    fn handle(&self, request: HostRequest, responder: Responder);
}

/// A request for the host. The body is read on demand, so a large upload is never buffered.
pub struct HostRequest {
    pub method: Method,
    pub uri: Uri,
    pub version: Version,
    pub headers: HeaderMap,
    pub remote: Option<SocketAddr>,
    /// The address the connection arrived on (WSGI's `SERVER_NAME` / `SERVER_PORT`).
    pub local: Option<SocketAddr>,
    pub body: RequestBody,
}

/// Why reading a request body failed.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the client sent no more of the request body within {0:?}")]
    TimedOut(Duration),
    #[error("the request body could not be read: {0}")]
    Broken(String),
}

/// The streamed body of a [`HostRequest`].
pub struct RequestBody {
    incoming: Option<Incoming>,
    /// The longest wait for the next chunk (`http_body_timeout`).
    chunk_timeout: Option<Duration>,
}

impl RequestBody {
    pub(crate) fn new(incoming: Incoming, chunk_timeout: Option<Duration>) -> RequestBody {
        RequestBody {
            incoming: Some(incoming),
            chunk_timeout,
        }
    }

    /// A body with nothing in it.
    pub fn empty() -> RequestBody {
        RequestBody {
            incoming: None,
            chunk_timeout: None,
        }
    }

    /// The next chunk of the body; `Ok(None)` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        loop {
            let Some(incoming) = self.incoming.as_mut() else {
                return Ok(None);
            };
            let next = std::future::poll_fn(|cx| Pin::new(&mut *incoming).poll_frame(cx));
            let frame = match self.chunk_timeout {
                Some(limit) => tokio::time::timeout(limit, next)
                    .await
                    .map_err(|_| BodyError::TimedOut(limit))?,
                None => next.await,
            };
            match frame {
                None => {
                    self.incoming = None;
                    return Ok(None);
                }
                Some(Err(e)) => {
                    self.incoming = None;
                    return Err(BodyError::Broken(e.to_string()));
                }
                // Trailers carry no body bytes.
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }
}

/// The client went away (or the server closed) before the response was complete.
#[derive(Debug, thiserror::Error)]
#[error("the client closed the connection before the response was complete")]
pub struct ClientGone;

/// What the core needs to start a response.
pub(crate) struct ResponseHead {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: mpsc::Receiver<Result<Bytes, ClientGone>>,
}

/// Starts the response to one [`HostRequest`]. Dropped without [`Responder::start`], the
/// request is answered 500.
pub struct Responder {
    head: oneshot::Sender<ResponseHead>,
}

impl Responder {
    pub(crate) fn new() -> (Responder, oneshot::Receiver<ResponseHead>) {
        let (head, rx) = oneshot::channel();
        (Responder { head }, rx)
    }

    /// Sends the status and headers; the body follows through the returned sender and ends
    /// when it is dropped.
    pub fn start(
        self,
        status: u16,
        headers: Vec<(String, String)>,
    ) -> Result<BodySender, ClientGone> {
        let (tx, body) = mpsc::channel(BODY_CHUNKS_IN_FLIGHT);
        self.head
            .send(ResponseHead {
                status,
                headers,
                body,
            })
            .map_err(|_| ClientGone)?;
        Ok(BodySender { tx })
    }

    /// A whole response at once.
    pub fn respond(self, status: u16, headers: Vec<(String, String)>, body: Bytes) {
        if let Ok(sender) = self.start(status, headers) {
            if !body.is_empty() {
                let _ = sender.tx.try_send(Ok(body));
            }
        }
    }
}

/// The body of a started response. Each send waits while the client is behind, so a
/// streaming app is paced by its reader.
pub struct BodySender {
    tx: mpsc::Sender<Result<Bytes, ClientGone>>,
}

impl BodySender {
    pub async fn send(&self, chunk: Bytes) -> Result<(), ClientGone> {
        self.tx.send(Ok(chunk)).await.map_err(|_| ClientGone)
    }

    /// [`BodySender::send`] for a thread outside the runtime.
    ///
    /// # Panics
    /// On a runtime thread.
    pub fn blocking_send(&self, chunk: Bytes) -> Result<(), ClientGone> {
        self.tx.blocking_send(Ok(chunk)).map_err(|_| ClientGone)
    }

    /// Ends the response as broken (the app failed halfway): the connection is closed
    /// instead of ending the body cleanly, so the client cannot take it for complete.
    pub fn abort(self) {
        let _ = self.tx.try_send(Err(ClientGone));
    }
}

/// The response body the native listener sends for a host.
pub(crate) struct HostBody {
    rx: mpsc::Receiver<Result<Bytes, ClientGone>>,
}

impl HostBody {
    pub(crate) fn new(rx: mpsc::Receiver<Result<Bytes, ClientGone>>) -> HostBody {
        HostBody { rx }
    }
}

impl Body for HostBody {
    type Data = Bytes;
    type Error = ClientGone;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ClientGone>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| c.map(Frame::data)))
    }
}

/// A bounded queue of requests for a pool of worker threads (a WSGI server's threads).
///
/// At most `workers + backlog` requests are admitted at once (being served or waiting for
/// a worker); one more is answered 503 with `Retry-After` at once. A request holds its
/// place until its [`Slot`] is dropped, which a worker does as it finishes the response —
/// before the body ends, so a client that saw its response complete finds the place free.
pub struct RequestQueue {
    tx: Mutex<Option<Sender<Queued>>>,
    rx: Mutex<Receiver<Queued>>,
    admitted: Arc<AtomicUsize>,
    limit: usize,
}

/// A request taken from a [`RequestQueue`].
pub struct Queued {
    pub request: HostRequest,
    pub responder: Responder,
    /// The request's place in the queue's bound.
    pub slot: Slot,
}

/// A place in a [`RequestQueue`]'s bound, given back when dropped.
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why [`RequestQueue::next_timeout`] returned no request.
#[derive(Debug, PartialEq, Eq)]
pub enum QueueWait {
    /// Nothing arrived in time; ask again.
    Empty,
    /// The queue is closed and drained: the worker may stop.
    Closed,
}

impl RequestQueue {
    pub fn new(workers: usize, backlog: usize) -> RequestQueue {
        let (tx, rx) = std::sync::mpsc::channel();
        RequestQueue {
            tx: Mutex::new(Some(tx)),
            rx: Mutex::new(rx),
            admitted: Arc::new(AtomicUsize::new(0)),
            limit: workers.saturating_add(backlog),
        }
    }

    /// The next request, waiting up to `timeout` (on a worker thread, never a runtime
    /// thread).
    pub fn next_timeout(&self, timeout: Duration) -> Result<Queued, QueueWait> {
        // One worker waits on the channel at a time; the others wait for the lock, which
        // amounts to the same queue of idle workers.
        let Some(rx) = self.rx.try_lock_for(timeout) else {
            return Err(QueueWait::Empty);
        };
        match rx.recv_timeout(timeout) {
            Ok(item) => Ok(item),
            Err(RecvTimeoutError::Timeout) => Err(QueueWait::Empty),
            Err(RecvTimeoutError::Disconnected) => Err(QueueWait::Closed),
        }
    }

    /// Accepts no more requests; workers get what is queued, then [`QueueWait::Closed`].
    pub fn close(&self) {
        self.tx.lock().take();
    }
}

fn busy(responder: Responder) {
    responder.respond(
        503,
        vec![
            (
                "content-type".to_string(),
                "text/plain; charset=utf-8".to_string(),
            ),
            ("retry-after".to_string(), "1".to_string()),
        ],
        Bytes::from_static(b"Service Unavailable: every worker is busy\n"),
    );
}

impl HttpHost for RequestQueue {
    fn handle(&self, request: HostRequest, responder: Responder) {
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.limit {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return busy(responder);
        }
        let queued = Queued {
            request,
            responder,
            slot: Slot(self.admitted.clone()),
        };
        let refused = match self.tx.lock().as_ref() {
            None => Some(queued),
            Some(tx) => tx.send(queued).err().map(|e| e.0),
        };
        if let Some(queued) = refused {
            busy(queued.responder);
        }
    }
}
