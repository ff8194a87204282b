//! Broadcasts to selections large enough that the namespace keeps them between broadcasts
//! still follow every change in between: joins, leaves, disconnects, new sockets and
//! outgoing listeners.

mod common;

use common::{blocking, eventually, RawClient};
use roomcast::{payload, Server, ServerConfig, SocketRef};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// More than the smallest selection a namespace keeps.
const CROWD: usize = 70;

struct Crowd {
    io: Server,
    addr: SocketAddr,
    sockets: mpsc::UnboundedReceiver<SocketRef>,
}

async fn start() -> Crowd {
    let io = Server::new(ServerConfig::default());
    let (tx, sockets) = mpsc::unbounded_channel::<SocketRef>();
    io.sockets().on_connection(move |socket| {
        let _ = tx.send(socket);
    });
    let addr = io.listen("127.0.0.1:0").await.expect("listen");
    Crowd { io, addr, sockets }
}

impl Crowd {
    /// Connects `n` clients to `/`; returns them with their server-side sockets, in order.
    async fn join(&mut self, n: usize) -> Vec<(RawClient, SocketRef)> {
        let mut out = Vec::new();
        for _ in 0..n {
            let addr = self.addr;
            let client = blocking(move || {
                let mut client = RawClient::open(addr);
                let answer = client.connect("/");
                assert!(answer.starts_with("40{"), "{answer}");
                client
            })
            .await;
            let socket = tokio::time::timeout(Duration::from_secs(5), self.sockets.recv())
                .await
                .expect("the connection handler ran")
                .expect("a socket");
            out.push((client, socket));
        }
        out
    }
}

/// The arguments of every `n` event the client got before `end`.
async fn numbers_until_end(client: RawClient) -> (RawClient, Vec<i64>) {
    blocking(move || {
        let mut client = client;
        let mut got = Vec::new();
        loop {
            let packet = client.next_packet();
            if packet == r#"42["end"]"# {
                return (client, got);
            }
            let n = packet
                .strip_prefix(r#"42["n","#)
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected packet {packet:?}"));
            got.push(n);
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_room_follows_joins_leaves_and_disconnects() {
    let mut crowd = start().await;
    let mut members = crowd.join(CROWD).await;
    for (_, socket) in &members {
        socket.join(["crowd"]);
    }
    let room = crowd.io.sockets().to(["crowd"]);
    room.emit("n", payload!(1)).expect("emit 1");
    // Kept now; the same selection again, unchanged.
    room.emit("n", payload!(2)).expect("emit 2");

    let (gone, gone_socket) = members.remove(1);
    gone.close();
    let io = crowd.io.clone();
    eventually("the closed client's socket is removed", || {
        io.sockets().get_socket(gone_socket.id().as_str()).is_none()
    })
    .await;
    room.emit("n", payload!(3)).expect("emit 3");

    let (late, late_socket) = crowd.join(1).await.pop().expect("one more client");
    room.emit("n", payload!(4)).expect("emit 4");
    // Only the rooms change now.
    late_socket.join(["crowd"]);
    members[0].1.leave("crowd");
    room.emit("n", payload!(5)).expect("emit 5");
    // Every socket of `/`, a selection kept as well.
    crowd.io.sockets().emit("n", payload!(6)).expect("emit 6");
    crowd.io.sockets().emit("end", payload!()).expect("end");

    let (first, _) = members.remove(0);
    assert_eq!(numbers_until_end(first).await.1, vec![1, 2, 3, 4, 6]);
    for (client, socket) in members {
        let (_, got) = numbers_until_end(client).await;
        assert_eq!(got, vec![1, 2, 3, 4, 5, 6], "socket {}", socket.id());
    }
    let (_, got) = numbers_until_end(late).await;
    assert_eq!(got, vec![5, 6], "the socket that joined late");
    crowd.io.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outgoing_listener_added_after_a_kept_broadcast_hears_the_next() {
    let mut crowd = start().await;
    let members = crowd.join(CROWD).await;
    let except = members[2].1.id().as_str().to_string();
    let op = crowd.io.sockets().to(["all"]).except([except.as_str()]);
    for (_, socket) in &members {
        socket.join(["all"]);
    }
    op.emit("n", payload!(1)).expect("emit 1");

    let heard = Arc::new(AtomicUsize::new(0));
    let counter = heard.clone();
    members[5].1.on_any_outgoing(move |_, event, _| {
        if event == "n" {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    op.emit("n", payload!(2)).expect("emit 2");
    crowd.io.sockets().emit("end", payload!()).expect("end");
    assert_eq!(
        heard.load(Ordering::SeqCst),
        1,
        "the listener heard emit 2 once"
    );

    for (i, (client, _)) in members.into_iter().enumerate() {
        let (_, got) = numbers_until_end(client).await;
        let want: Vec<i64> = if i == 2 { vec![] } else { vec![1, 2] };
        assert_eq!(got, want, "client {i}");
    }
    crowd.io.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volatile_and_uncompressed_broadcasts_to_a_kept_room_arrive() {
    let mut crowd = start().await;
    let members = crowd.join(CROWD).await;
    for (_, socket) in &members {
        socket.join(["v"]);
    }
    crowd
        .io
        .sockets()
        .to(["v"])
        .emit("n", payload!(1))
        .expect("emit 1");
    crowd
        .io
        .sockets()
        .to(["v"])
        .compress(false)
        .emit("n", payload!(2))
        .expect("emit 2");
    crowd.io.sockets().emit("end", payload!()).expect("end");
    let mut clients = Vec::new();
    for (i, (client, _)) in members.into_iter().enumerate() {
        let (client, got) = numbers_until_end(client).await;
        assert_eq!(got, vec![1, 2], "client {i}");
        clients.push(client);
    }
    // Every client has read all it was sent, so nothing waits in a queue and a volatile
    // broadcast goes out to each.
    crowd
        .io
        .sockets()
        .to(["v"])
        .volatile()
        .emit("n", payload!(3))
        .expect("emit 3");
    crowd.io.sockets().emit("end", payload!()).expect("end");
    for (i, client) in clients.into_iter().enumerate() {
        assert_eq!(numbers_until_end(client).await.1, vec![3], "client {i}");
    }
    crowd.io.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn senders_to_a_kept_room_skip_themselves_and_what_they_except() {
    let mut crowd = start().await;
    let members = crowd.join(CROWD).await;
    for (i, (_, socket)) in members.iter().enumerate() {
        socket.join(["room"]);
        if i % 2 == 0 {
            // A large except room: more sockets than a recipient is compared with.
            socket.join(["even"]);
        }
    }
    // Three senders share the room's selection, each skipping itself.
    for (sender, (_, socket)) in members.iter().enumerate().take(3) {
        socket
            .to(["room"])
            .emit("n", payload!(sender as i64))
            .expect("emit to the room");
    }
    // Skips itself and a second socket, by id.
    let other = members[4].1.id().as_str().to_string();
    members[3]
        .1
        .broadcast()
        .to(["room"])
        .except([other.as_str()])
        .emit("n", payload!(3))
        .expect("emit with an except");
    // Skips the even members.
    members[5]
        .1
        .to(["room"])
        .except(["even"])
        .emit("n", payload!(5))
        .expect("emit except a large room");
    crowd.io.sockets().emit("end", payload!()).expect("end");

    for (i, (client, _)) in members.into_iter().enumerate() {
        let (_, got) = numbers_until_end(client).await;
        let mut want: Vec<i64> = (0..3).filter(|&s| s != i as i64).collect();
        if i != 3 && i != 4 {
            want.push(3);
        }
        if i != 5 && i % 2 == 1 {
            want.push(5);
        }
        assert_eq!(got, want, "client {i}");
    }
    crowd.io.close().await;
}
