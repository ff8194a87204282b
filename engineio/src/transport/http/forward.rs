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
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
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
    #[error("request: {0}")]
    Request(#[from] http::Error),
}

async fn relay<B>(
    addr: &str,
    parts: http::request::Parts,
    body: B,
    on_upgrade: Option<OnUpgrade>,
) -> Result<Resp, RelayError>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = tokio::time::timeout(CONNECT_BOUND, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| RelayError::ConnectTimeout)?
        .map_err(RelayError::Connect)?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = client::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %e, "forwarded request's connection ended");
        }
    });
    let upgrade = on_upgrade.is_some() && is_websocket_upgrade(&parts.headers);
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_string(), |p| p.to_string());
    let mut request = Request::builder()
        .method(parts.method.clone())
        .uri(path)
        .version(http::Version::HTTP_11);
    for (name, value) in &parts.headers {
        request = request.header(name, value);
    }
    let request = request.header(FORWARDED_HEADER, "1").body(body)?;
    let mut answer = sender.send_request(request).await?;
    let (head, owner_body) = {
        let owner_upgrade = (answer.status() == http::StatusCode::SWITCHING_PROTOCOLS && upgrade)
            .then(|| hyper::upgrade::on(&mut answer));
        let (head, owner_body) = answer.into_parts();
        if let (Some(owner_upgrade), Some(client_upgrade)) = (owner_upgrade, on_upgrade) {
            tokio::spawn(splice(client_upgrade, owner_upgrade));
        }
        (head, owner_body)
    };
    // Polling answers are small (bounded by the payload size): read whole, as this node's
    // own answers are.
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
