//! A panic in a Rust middleware or disconnect handler is contained: the CONNECT is answered,
//! and a leaving socket's session is still removed.

mod common;

use common::{blocking, eventually, RawClient};
use roomcast::{Server, ServerConfig};

/// The panics below are expected ("... bug"): keep them out of the output, and every other
/// panic (a failing assertion) in it.
fn quiet_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str));
        if !message.is_some_and(|m| m.contains(" bug")) {
            default(info);
        }
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_middleware_refuses_the_connect() {
    quiet_panics();
    let io = Server::new(ServerConfig::default());
    io.of("/sync-panic").use_middleware(|_socket| {
        panic!("middleware bug");
        #[allow(unreachable_code)]
        async {
            Ok(())
        }
    });
    io.of("/async-panic").use_middleware(|_socket| async move {
        tokio::task::yield_now().await;
        panic!("middleware bug after an await")
    });
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    blocking(move || {
        let mut client = RawClient::open(addr);
        for nsp in ["/sync-panic", "/async-panic"] {
            let answer = client.connect(nsp);
            assert_eq!(answer, format!("44{nsp},{{\"message\":\"server error\"}}"));
        }
        // The connection lives on.
        assert!(client.connect("/").starts_with("40{"));
        client.close();
    })
    .await;
    eventually("the session is removed", || io.stats().sessions == 0).await;
    assert_eq!(io.stats().sockets, 0);
    io.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_disconnect_handlers_do_not_keep_the_session() {
    quiet_panics();
    let io = Server::new(ServerConfig::default());
    io.sockets().on_connection(|socket| {
        socket.on_disconnecting(|_, _| panic!("disconnecting bug"));
        socket.on_disconnect(|_, _| panic!("disconnect bug"));
    });
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    blocking(move || {
        let mut client = RawClient::open(addr);
        assert!(client.connect("/").starts_with("40{"));
        client.close();
    })
    .await;
    eventually("the session and socket are removed", || {
        let s = io.stats();
        s.sessions == 0 && s.sockets == 0
    })
    .await;
    io.close().await;
}
