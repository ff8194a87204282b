//! Hands a request for a session held by another node to that node (see
//! [`crate::directory`]): the same method, path, headers and streamed body, marked as
//! forwarded; the answer comes back as the owner gave it. A WebSocket upgrade is forwarded
//! too, and once the owner switched protocols the two connections are spliced, so the frames
//! go through this node untouched.

use super::*;
use crate::directory::FORWARDED_HEADER;
use hyper::client::conn::http1 as client;
use hyper::upgrade::OnUpgrade;
use std::time::Duration;

/// How long reaching the owner may take before the request is answered 502.
const CONNECT_BOUND: Duration = Duration::from_secs(2);

/// Forwards the request to `addr`; `on_upgrade` (the client's side of a WebSocket upgrade)
/// is spliced to the owner's once it switched protocols.
pub(crate) async fn forward<B>(
    addr: &str,
    parts: http::request::Parts,
    body: B,
    on_upgrade: Option<OnUpgrade>,
) -> Resp
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match relay(addr, parts, body, on_upgrade).await {
        Ok(resp) => resp,
        Err(why) => {
            tracing::warn!(owner = addr, error = %why, "cannot hand a request to the node that holds its session");
            text_response(502, "text/plain; charset=utf-8", "Bad Gateway")
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("connecting: {0}")]
    Connect(std::io::Error),
    #[error("connecting: timed out after {CONNECT_BOUND:?}")]
    ConnectTimeout,
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    #[error("http: {0}")]
    Pooled(#[from] hyper_util::client::legacy::Error),
    #[error("request: {0}")]
    Request(#[from] http::Error),
}

type ForwardBody =
    http_body_util::combinators::UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;
type Pool = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    ForwardBody,
>;

/// Keep-alive connections to the other nodes, shared by every forwarded poll and POST (a
/// connection per request would cost more than the request).
fn pool() -> &'static Pool {
    static POOL: std::sync::OnceLock<Pool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(CONNECT_BOUND));
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector)
    })
}

/// The request as the owner gets it: same method, path and headers, marked as forwarded.
fn forwarded_request<B>(
    parts: &http::request::Parts,
    uri: String,
    body: B,
) -> Result<Request<B>, http::Error> {
    let mut request = Request::builder()
        .method(parts.method.clone())
        .uri(uri)
        .version(http::Version::HTTP_11);
    for (name, value) in &parts.headers {
        request = request.header(name, value);
    }
    request.header(FORWARDED_HEADER, "1").body(body)
}

async fn relay<B>(
    addr: &str,
    parts: http::request::Parts,
    body: B,
    on_upgrade: Option<OnUpgrade>,
) -> Result<Resp, RelayError>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_string(), |p| p.to_string());
    let upgrade = on_upgrade.filter(|_| is_websocket_upgrade(&parts.headers));
    let Some(client_upgrade) = upgrade else {
        let body: ForwardBody = body.map_err(Into::into).boxed_unsync();
        let request = forwarded_request(&parts, format!("http://{addr}{path}"), body)?;
        let answer = pool().request(request).await?;
        let (head, owner_body) = answer.into_parts();
        // Polling answers are small (bounded by the payload size): read whole, as this node's
        // own answers are.
        let bytes = owner_body.collect().await?.to_bytes();
        return Ok(Response::from_parts(head, Full::new(bytes)));
    };
    // A WebSocket gets a connection of its own, spliced once the owner switched protocols.
    let stream = tokio::time::timeout(CONNECT_BOUND, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| RelayError::ConnectTimeout)?
        .map_err(RelayError::Connect)?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = client::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %e, "forwarded WebSocket's connection ended");
        }
    });
    let mut answer = sender
        .send_request(forwarded_request(&parts, path, body)?)
        .await?;
    if answer.status() == http::StatusCode::SWITCHING_PROTOCOLS {
        tokio::spawn(splice(client_upgrade, hyper::upgrade::on(&mut answer)));
    }
    let (head, owner_body) = answer.into_parts();
    let bytes = owner_body.collect().await?.to_bytes();
    Ok(Response::from_parts(head, Full::new(bytes)))
}

/// Copies bytes both ways between the client's upgraded connection and the owner's.
async fn splice(client: OnUpgrade, owner: OnUpgrade) {
    let (client, owner) = match futures_util::future::try_join(client, owner).await {
        Ok(both) => both,
        Err(e) => {
            tracing::debug!(error = %e, "a forwarded WebSocket upgrade did not complete");
            return;
        }
    };
    let mut client = TokioIo::new(client);
    let mut owner = TokioIo::new(owner);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut owner).await;
}

/// Forwards a WebSocket upgrade a host handed over as a byte stream (its request head already
/// read): the head goes to the owner as it came, marked as forwarded, then the bytes flow
/// both ways untouched, the owner's `101` included.
pub(crate) async fn splice_upgrade<IO>(addr: &str, parts: &http::request::Parts, mut io: IO)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncWriteExt as _;
    let connected = tokio::time::timeout(CONNECT_BOUND, tokio::net::TcpStream::connect(addr)).await;
    let mut owner = match connected {
        Ok(Ok(stream)) => stream,
        _ => {
            tracing::warn!(
                owner = addr,
                "cannot reach the node that holds a session to hand it a WebSocket"
            );
            let _ = io
                .write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
            return;
        }
    };
    let _ = owner.set_nodelay(true);
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_string(), |p| p.to_string());
    let mut head = format!("{} {path} HTTP/1.1\r\n", parts.method);
    for (name, value) in &parts.headers {
        // Values that cannot be written back as text are left out rather than mangled.
        if let Ok(value) = value.to_str() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("{FORWARDED_HEADER}: 1\r\n\r\n"));
    if owner.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut io, &mut owner).await;
}
