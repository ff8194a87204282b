//! The native listener hands requests outside the Socket.IO path to an `HttpHost`: the
//! body streams in, the response streams out (chunked without Content-Length), the
//! connection stays alive, Socket.IO still answers on the same port, and a full
//! `RequestQueue` answers 503.

mod common;

use bytes::Bytes;
use common::{blocking, RawClient};
use roomcast::transport::host_http::{HostRequest, HttpHost, RequestQueue, Responder};
use roomcast::{Server, ServerConfig};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Answers `got <n> bytes` then the body back, in two chunks, with no Content-Length.
struct Echo;

impl HttpHost for Echo {
    fn handle(&self, mut request: HostRequest, responder: Responder) {
        tokio::spawn(async move {
            let mut body = Vec::new();
            while let Ok(Some(chunk)) = request.body.chunk().await {
                body.extend_from_slice(&chunk);
            }
            let Ok(out) = responder.start(200, vec![("x-path".into(), request.uri.to_string())])
            else {
                return;
            };
            let _ = out
                .send(Bytes::from(format!("got {} bytes:", body.len())))
                .await;
            let _ = out.send(Bytes::from(body)).await;
        });
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response (Content-Length or chunked) off a kept-alive connection.
fn read_response(reader: &mut BufReader<TcpStream>) -> Response {
    let mut line = String::new();
    reader.read_line(&mut line).expect("a status line");
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).expect("a header line");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').expect("name: value");
        headers.push((k.to_string(), v.trim().to_string()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if let Some(n) = response.header("content-length") {
        let mut body = vec![0; n.parse().expect("a length")];
        reader.read_exact(&mut body).expect("the body");
        response.body = body;
    } else if response.header("transfer-encoding") == Some("chunked") {
        loop {
            line.clear();
            reader.read_line(&mut line).expect("a chunk size");
            let size = usize::from_str_radix(line.trim_end(), 16).expect("a hex size");
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).expect("a chunk");
            if size == 0 {
                break;
            }
            response.body.extend_from_slice(&chunk[..size]);
        }
    }
    response
}

fn connect(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a read timeout");
    let reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    (stream, reader)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_outside_the_socketio_path_reach_the_host_on_one_port() {
    let io = Server::new(ServerConfig::default());
    io.set_http_host(Arc::new(Echo), Duration::from_secs(2));
    let addr = io.listen("127.0.0.1:0").await.expect("listen");

    blocking(move || {
        let (mut stream, mut reader) = connect(addr);
        // A chunked request body, then a second request on the same connection.
        stream
            .write_all(
                b"POST /upload?x=1 HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n\
                  3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            )
            .expect("write");
        let first = read_response(&mut reader);
        assert_eq!(first.status, 200);
        assert_eq!(first.header("x-path"), Some("/upload?x=1"));
        assert_eq!(first.header("transfer-encoding"), Some("chunked"));
        assert_eq!(first.body, b"got 5 bytes:abcde");

        stream
            .write_all(b"GET /again HTTP/1.1\r\nhost: t\r\n\r\n")
            .expect("write on the kept-alive connection");
        let second = read_response(&mut reader);
        assert_eq!(second.body, b"got 0 bytes:");
    })
    .await;

    // Socket.IO with WebSocket on the same port.
    blocking(move || {
        let mut client = RawClient::open(addr);
        assert!(client.connect("/").starts_with("40{"));
        client.close();
    })
    .await;
    io.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_request_queue_answers_503_at_once() {
    let io = Server::new(ServerConfig::default());
    // No worker, and no request may wait.
    let queue = Arc::new(RequestQueue::new(0, 0));
    io.set_http_host(queue.clone(), Duration::from_secs(2));
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    let response = blocking(move || {
        let (mut stream, mut reader) = connect(addr);
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
            .expect("write");
        read_response(&mut reader)
    })
    .await;
    assert_eq!(response.status, 503);
    assert_eq!(response.header("retry-after"), Some("1"));
    queue.close();
    io.close().await;
}

/// Answers `started;` at once and `done` after `release` fires.
struct Held(Arc<tokio::sync::Notify>);

impl HttpHost for Held {
    fn handle(&self, _request: HostRequest, responder: Responder) {
        let release = self.0.clone();
        tokio::spawn(async move {
            let Ok(out) = responder.start(200, vec![]) else {
                return;
            };
            let _ = out.send(Bytes::from_static(b"started;")).await;
            release.notified().await;
            let _ = out.send(Bytes::from_static(b"done")).await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_lets_a_response_in_flight_finish() {
    let io = Server::new(ServerConfig::default());
    let release = Arc::new(tokio::sync::Notify::new());
    io.set_http_host(Arc::new(Held(release.clone())), Duration::from_secs(5));
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    let (mut stream, mut reader) = blocking(move || connect(addr)).await;
    let (stream, mut reader) = blocking(move || {
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
            .expect("write");
        // The head and the first chunk: the response is in flight.
        let mut line = String::new();
        while !line.starts_with("started;") {
            line.clear();
            reader.read_line(&mut line).expect("the response so far");
        }
        (stream, reader)
    })
    .await;
    let mut closing = tokio::spawn({
        let io = io.clone();
        async move { io.close().await }
    });
    // Closing waits for the connection while the app has not finished.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut closing)
            .await
            .is_err(),
        "close returned while a response was in flight"
    );
    release.notify_one();
    let rest = blocking(move || {
        let _keep = stream;
        let mut rest = String::new();
        let _ = reader.read_to_string(&mut rest);
        rest
    })
    .await;
    assert!(rest.contains("done"), "the response was cut: {rest:?}");
    assert!(
        rest.ends_with("0\r\n\r\n"),
        "the response did not end: {rest:?}"
    );
    tokio::time::timeout(Duration::from_secs(5), closing)
        .await
        .expect("close returns")
        .expect("close did not panic");
}
