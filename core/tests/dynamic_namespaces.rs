//! Dynamic child namespaces are bounded: refused children stay (as in socket.io) but are
//! evicted at the cap, their number is capped, and names that would confuse the Redis
//! adapter's channels are refused.

mod common;

use common::{blocking, RawClient};
use roomcast::{ConnectError, Server, ServerConfig};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A server whose children are `/dyn-*`; the middleware refuses `/dyn-no-*`.
async fn server(config: ServerConfig) -> (Server, SocketAddr, Arc<AtomicUsize>) {
    let io = Server::new(config);
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let parent = io.of_dynamic(move |name: &str, _auth: &str| {
        counter.fetch_add(1, Ordering::SeqCst);
        name.starts_with("/dyn-")
    });
    parent.use_middleware(|socket| async move {
        if socket.namespace().name().starts_with("/dyn-no-") {
            Err(ConnectError::new("not you"))
        } else {
            Ok(())
        }
    });
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    (io, addr, asked)
}

/// A middleware on `parent` that holds a CONNECT whose auth says "wait" until `release` is
/// notified (announcing it on `started`), then refuses it; others pass when `admit(auth)`.
fn gated_refusal(
    parent: &Arc<roomcast::ParentNamespace>,
    admit: fn(&str) -> bool,
) -> (
    tokio::sync::mpsc::UnboundedReceiver<()>,
    Arc<tokio::sync::Notify>,
) {
    let (started_tx, started) = tokio::sync::mpsc::unbounded_channel::<()>();
    let release = Arc::new(tokio::sync::Notify::new());
    let gate = release.clone();
    parent.use_middleware(move |socket| {
        let started_tx = started_tx.clone();
        let gate = gate.clone();
        async move {
            if socket.auth().contains("wait") {
                let _ = started_tx.send(());
                gate.notified().await;
            } else if admit(socket.auth()) {
                return Ok(());
            }
            Err(ConnectError::new("not you"))
        }
    });
    (started, release)
}

fn connect_error_json(answer: &str, nsp: &str) -> serde_json::Value {
    let prefix = format!("44{nsp},");
    let json = answer
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("expected a CONNECT_ERROR for {nsp}, got {answer:?}"));
    serde_json::from_str(json).expect("CONNECT_ERROR carries JSON")
}

/// As socket.io (`cleanupEmptyChildNamespaces` off): a child whose client a middleware
/// refused stays. A flood of such CONNECTs stays within `max_child_namespaces`: each new
/// child evicts the oldest one nobody joined, never a joined one, and hosts hear of each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_children_stay_and_are_evicted_oldest_first_at_the_cap() {
    let config = ServerConfig {
        max_child_namespaces: 5,
        ..ServerConfig::default()
    };
    let (io, addr, _) = server(config).await;
    let removed = Arc::new(parking_lot::Mutex::new(Vec::<String>::new()));
    let seen = removed.clone();
    io.on_namespace_removed(move |nsp| {
        assert!(nsp.is_removed());
        seen.lock().push(nsp.name().to_string());
    });
    let before = io.stats().namespaces;
    blocking(move || {
        let mut client = RawClient::open(addr);
        assert!(client.connect("/dyn-member").starts_with("40/dyn-member,{"));
        let answer = client.connect("/dyn-no-0");
        assert_eq!(
            connect_error_json(&answer, "/dyn-no-0")["message"],
            "not you"
        );
    })
    .await;
    assert_eq!(io.stats().namespaces, before + 2, "the refused child stays");
    assert!(io.namespace("/dyn-no-0").is_some());

    blocking(move || {
        let mut client = RawClient::open(addr);
        for i in 1..200 {
            let nsp = format!("/dyn-no-{i}");
            let answer = client.connect(&nsp);
            assert_eq!(connect_error_json(&answer, &nsp)["message"], "not you");
        }
    })
    .await;
    assert_eq!(io.stats().namespaces, before + 5, "held at the cap");
    assert!(
        io.namespace("/dyn-member").is_some(),
        "a joined child stays"
    );
    for i in 196..200 {
        assert!(
            io.namespace(&format!("/dyn-no-{i}")).is_some(),
            "/dyn-no-{i}"
        );
    }
    let expected: Vec<String> = (0..196).map(|i| format!("/dyn-no-{i}")).collect();
    common::eventually("every eviction reported", || *removed.lock() == expected).await;

    // A legitimate client still gets a new child.
    blocking(move || {
        let mut client = RawClient::open(addr);
        assert!(client.connect("/dyn-new").starts_with("40/dyn-new,{"));
    })
    .await;
    assert_eq!(io.stats().namespaces, before + 5);
    assert!(io.namespace("/dyn-no-196").is_none());
    assert!(io.namespace("/dyn-new").is_some());
    io.close().await;
}

/// A refused child that another CONNECT is on its way into is not evicted: at the cap with
/// nothing else to evict, the next new name is refused, and admitted once that CONNECT has
/// ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_with_a_pending_connect_is_not_evicted() {
    let io = Server::new(ServerConfig {
        max_child_namespaces: 1,
        ..ServerConfig::default()
    });
    let parent = io.of_dynamic(|name: &str, _auth: &str| name.starts_with("/dyn-"));
    let (mut started, release) = gated_refusal(&parent, |auth| !auth.contains("no"));
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    let mut waiting = blocking(move || {
        let mut c = RawClient::open(addr);
        c.send("40/dyn-a,{\"no\":true}");
        let answer = c.next_packet();
        assert_eq!(connect_error_json(&answer, "/dyn-a")["message"], "not you");
        // Evictable now; then a CONNECT on its way in holds it.
        c.send("40/dyn-a,{\"wait\":true}");
        c
    })
    .await;
    tokio::time::timeout(std::time::Duration::from_secs(5), started.recv())
        .await
        .expect("the middleware started");
    blocking(move || {
        let mut c = RawClient::open(addr);
        let answer = c.connect("/dyn-b");
        assert_eq!(
            connect_error_json(&answer, "/dyn-b")["message"],
            "Too many namespaces"
        );
    })
    .await;
    release.notify_one();
    blocking(move || {
        let answer = waiting.next_packet();
        assert_eq!(connect_error_json(&answer, "/dyn-a")["message"], "not you");
        assert!(waiting.connect("/dyn-b").starts_with("40/dyn-b,{"));
    })
    .await;
    assert!(
        io.namespace("/dyn-a").is_none(),
        "evicted once its CONNECT ended"
    );
    io.close().await;
}

/// With `cleanup_empty_child_namespaces`, a child whose only client was refused goes at once
/// (socket.io's behaviour), and hosts hear of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_cleanup_a_refused_child_is_removed() {
    let (io, addr, _) = server(ServerConfig {
        cleanup_empty_child_namespaces: true,
        ..ServerConfig::default()
    })
    .await;
    let removed = Arc::new(AtomicUsize::new(0));
    let count = removed.clone();
    io.on_namespace_removed(move |_| {
        count.fetch_add(1, Ordering::SeqCst);
    });
    let before = io.stats().namespaces;
    blocking(move || {
        let mut client = RawClient::open(addr);
        for i in 0..20 {
            let nsp = format!("/dyn-no-{i}");
            let answer = client.connect(&nsp);
            assert_eq!(connect_error_json(&answer, &nsp)["message"], "not you");
        }
    })
    .await;
    assert_eq!(io.stats().namespaces, before, "refused children were kept");
    assert_eq!(removed.load(Ordering::SeqCst), 20);
    io.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_number_of_children_is_capped() {
    let config = ServerConfig {
        max_child_namespaces: 3,
        ..ServerConfig::default()
    };
    let (io, addr, _) = server(config).await;
    let before = io.stats().namespaces;
    blocking(move || {
        let mut client = RawClient::open(addr);
        for i in 1..=3 {
            let nsp = format!("/dyn-{i}");
            assert!(client.connect(&nsp).starts_with(&format!("40{nsp},{{")));
        }
        let answer = client.connect("/dyn-4");
        let err = connect_error_json(&answer, "/dyn-4");
        assert_eq!(err["message"], "Too many namespaces");
        assert!(err["data"]["reason"].as_str().unwrap().contains('3'));
        // Existing children still take new sockets.
        let mut other = RawClient::open(addr);
        assert!(other.connect("/dyn-2").starts_with("40/dyn-2,{"));
    })
    .await;
    assert_eq!(io.stats().namespaces, before + 3);
    io.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_with_redis_pattern_characters_are_refused() {
    let (io, addr, asked) = server(ServerConfig::default()).await;
    let before = io.stats().namespaces;
    blocking(move || {
        let mut client = RawClient::open(addr);
        for nsp in ["/dyn-a#b", "/dyn-*", "/dyn-?", "/dyn-[x]", "/dyn-\\\\"] {
            let answer = client.connect(nsp);
            // The packet carries the name as sent; JSON escapes do not apply to it.
            let err = connect_error_json(&answer, nsp);
            assert_eq!(err["message"], "Invalid namespace", "{nsp}");
            assert!(err["data"]["reason"]
                .as_str()
                .unwrap()
                .contains("may not contain"));
        }
        // The connection is still usable.
        assert!(client.connect("/dyn-fine").starts_with("40/dyn-fine,{"));
    })
    .await;
    assert_eq!(
        asked.load(Ordering::SeqCst),
        1,
        "the matcher saw only the valid name"
    );
    assert_eq!(io.stats().namespaces, before + 1);
    io.close().await;
}

/// With `cleanup_empty_child_namespaces`, a child emptied while a CONNECT was still in its
/// middlewares goes once that CONNECT is refused (its removal waited for it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_child_goes_once_a_pending_connect_is_refused() {
    let io = Server::new(ServerConfig {
        cleanup_empty_child_namespaces: true,
        ..ServerConfig::default()
    });
    let parent = io.of_dynamic(|name: &str, _auth: &str| name.starts_with("/dyn-"));
    let (mut started, release) = gated_refusal(&parent, |_| true);
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    let before = io.stats().namespaces;

    let mut member = blocking(move || {
        let mut c = RawClient::open(addr);
        assert!(c.connect("/dyn-c").starts_with("40/dyn-c,{"));
        c
    })
    .await;
    let mut waiting = blocking(move || {
        let mut c = RawClient::open(addr);
        c.send("40/dyn-c,{\"wait\":true}");
        c
    })
    .await;
    tokio::time::timeout(std::time::Duration::from_secs(5), started.recv())
        .await
        .expect("the middleware started");
    member = blocking(move || {
        member.send("41/dyn-c,");
        member
    })
    .await;
    common::eventually("the member left", || io.stats().sockets == 0).await;
    assert_eq!(
        io.stats().namespaces,
        before + 1,
        "kept while a CONNECT is pending"
    );

    release.notify_one();
    blocking(move || {
        let answer = waiting.next_packet();
        assert_eq!(connect_error_json(&answer, "/dyn-c")["message"], "not you");
        drop(member);
    })
    .await;
    assert_eq!(io.stats().namespaces, before);
    io.close().await;
}

/// `of_child` (socket.io's `io.of("/dyn-1")` under a matching parent): the parent's
/// middlewares and connection handlers serve it, the parent's emits reach it, and a refused
/// only client does not remove it (the server asked for it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_the_server_creates_is_served_by_its_parent() {
    let io = Server::new(ServerConfig::default());
    let parent = io.of_dynamic(|name: &str, _auth: &str| name.starts_with("/dyn-"));
    parent.use_middleware(|socket| async move {
        if socket.namespace().name().ends_with("-no") {
            Err(ConnectError::new("not you"))
        } else {
            Ok(())
        }
    });
    let connected = Arc::new(AtomicUsize::new(0));
    let counter = connected.clone();
    parent.on_connection(move |_socket| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let child = parent_child(&io, &parent, "/dyn-1");
    let refused = parent_child(&io, &parent, "/dyn-no");
    assert!(Arc::ptr_eq(&child, &io.of_child(&parent, "/dyn-1")));
    assert_eq!(parent.children().len(), 2);
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    let before = io.stats().namespaces;

    let emitter = parent.clone();
    blocking(move || {
        let mut client = RawClient::open(addr);
        assert!(client.connect("/dyn-1").starts_with("40/dyn-1,{"));
        emitter.emit("hello", roomcast::payload!(1)).expect("emit");
        assert_eq!(client.next_packet(), r#"42/dyn-1,["hello",1]"#);
        let answer = client.connect("/dyn-no");
        assert_eq!(connect_error_json(&answer, "/dyn-no")["message"], "not you");
    })
    .await;
    assert_eq!(connected.load(Ordering::SeqCst), 1);
    assert_eq!(
        io.stats().namespaces,
        before,
        "the refused child was removed"
    );
    assert!(Arc::ptr_eq(&refused, &io.of_child(&parent, "/dyn-no")));
    io.close().await;
}

fn parent_child(
    io: &Server,
    parent: &Arc<roomcast::ParentNamespace>,
    name: &str,
) -> Arc<roomcast::Namespace> {
    let child = io.of_child(parent, name);
    assert!(child.parent().is_some_and(|p| Arc::ptr_eq(p, parent)));
    child
}
