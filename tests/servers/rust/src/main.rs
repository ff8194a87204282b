//! The scenario server of `tests/SCENARIOS.md`, written with roomcast's Rust API.

use roomcast::host::Pending;
use roomcast::{
    payload, BroadcastOperator, Cors, CorsOrigin, NamespaceMatcher, Payload, SendFlags, Server,
    ServerConfig, SocketRef,
};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SEED_PAGE: &str = include_str!("../../../../examples/seed.html");
const DEFAULT_ACK_TIMEOUT: u64 = 5000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
        .unwrap_or(default)
}

fn config_from_env() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.engine.path = std::env::var("SIO_PATH").unwrap_or_else(|_| "/socket.io/".into());
    c.engine.ping_interval = Duration::from_millis(env_u64("PING_INTERVAL", 25_000));
    c.engine.ping_timeout = Duration::from_millis(env_u64("PING_TIMEOUT", 20_000));
    c.engine.upgrade_timeout = Duration::from_millis(env_u64("UPGRADE_TIMEOUT", 10_000));
    c.engine.max_http_buffer_size = env_u64("MAX_HTTP_BUFFER_SIZE", 1_000_000) as usize;
    c.connect_timeout = Duration::from_millis(env_u64("CONNECT_TIMEOUT", 45_000));
    c.engine.allow_eio3 = std::env::var("ALLOW_EIO3").as_deref() == Ok("1");
    c.engine.max_queued_frames = env_u64("MAX_QUEUED_FRAMES", 65_536) as usize;
    c.engine.max_queued_bytes = env_u64("MAX_QUEUED_BYTES", 64 << 20) as usize;
    if let Ok(ms) = std::env::var("HTTP_HEADER_TIMEOUT") {
        c.engine.http_header_timeout = ms.parse().ok().map(Duration::from_millis);
    }
    if let Ok(ms) = std::env::var("HTTP_BODY_TIMEOUT") {
        c.engine.http_body_timeout = ms.parse().ok().map(Duration::from_millis);
    }
    let env_cap = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    c.engine.max_connections = env_cap("MAX_CONNECTIONS");
    c.engine.max_connections_per_ip = env_cap("MAX_CONNECTIONS_PER_IP");
    c.engine.max_sessions = env_cap("MAX_SESSIONS");
    if std::env::var("PER_MESSAGE_DEFLATE").as_deref() == Ok("1") {
        c.engine.per_message_deflate = Some(roomcast::PerMessageDeflate::default());
    }
    c.cleanup_empty_child_namespaces =
        std::env::var("CLEANUP_EMPTY_CHILDREN").as_deref() == Ok("1");
    if std::env::var("RECOVERY").as_deref() == Ok("1") {
        c.connection_state_recovery = Some(roomcast::RecoveryConfig {
            max_disconnection_duration: Duration::from_millis(env_u64("RECOVERY_MS", 120_000)),
            skip_middlewares: true,
            ..Default::default()
        });
    }
    if std::env::var("PARSER").as_deref() == Ok("msgpack") {
        c.parser = roomcast::Parser::MsgPack;
    }
    let transports = std::env::var("TRANSPORTS").unwrap_or_else(|_| "polling,websocket".into());
    c.engine.transports.polling = transports.split(',').any(|t| t.trim() == "polling");
    c.engine.transports.websocket = transports.split(',').any(|t| t.trim() == "websocket");
    let origin = std::env::var("CORS_ORIGIN").unwrap_or_default();
    if let Ok(url) = std::env::var("REDIS_URL") {
        let requests_timeout = Duration::from_millis(env_u64("REQUESTS_TIMEOUT", 5_000));
        let factory: Result<Arc<dyn roomcast::adapter::AdapterFactory>, _> =
            match std::env::var("REDIS_ADAPTER").as_deref() {
                Ok("streams") => {
                    let mut redis = roomcast_redis::RedisStreamsConfig::new(url);
                    redis.requests_timeout = requests_timeout;
                    roomcast_redis::RedisStreamsAdapterFactory::new(redis).map(|f| Arc::new(f) as _)
                }
                // REDIS_URL: the cluster's nodes, comma-separated.
                Ok("sharded") => {
                    let mut redis =
                        roomcast_redis::RedisShardedConfig::new(url.split(',').map(str::trim));
                    redis.requests_timeout = requests_timeout;
                    std::env::var("SUBSCRIPTION_MODE")
                        .unwrap_or_else(|_| "dynamic".into())
                        .parse()
                        .map(|mode| redis.subscription_mode = mode)
                        .and_then(|()| roomcast_redis::RedisShardedAdapterFactory::new(redis))
                        .map(|f| Arc::new(f) as _)
                }
                _ => {
                    let mut redis = roomcast_redis::RedisAdapterConfig::new(url);
                    redis.requests_timeout = requests_timeout;
                    roomcast_redis::RedisAdapterFactory::new(redis).map(|f| Arc::new(f) as _)
                }
            };
        match factory {
            Ok(factory) => c.adapter = factory,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        }
    }
    c.engine.cors = Cors {
        origin: match origin.as_str() {
            "" => CorsOrigin::Disabled,
            "*" => CorsOrigin::Any,
            list => CorsOrigin::List(list.split(',').map(|o| o.trim().to_string()).collect()),
        },
        credentials: std::env::var("CORS_CREDENTIALS").as_deref() == Ok("1"),
        ..Cors::default()
    };
    c
}

/// The first argument as a JSON value (`null` when missing).
fn first(args: &Payload) -> Value {
    args.values().into_iter().next().unwrap_or(Value::Null)
}

fn sorted_rooms(socket: &SocketRef) -> Vec<String> {
    let mut r: Vec<String> = socket.rooms().iter().map(|r| r.to_string()).collect();
    r.sort();
    r
}

fn rooms_of(v: &Value) -> Vec<String> {
    match v {
        Value::Null => vec![],
        Value::Array(a) => a
            .iter()
            .filter_map(|r| r.as_str().map(String::from))
            .collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

/// `spec.args` as a payload, keeping the incoming binaries so placeholders still resolve.
fn args_of(spec: &Value, incoming: &Payload) -> Payload {
    let args = spec.get("args").cloned().unwrap_or_else(|| json!([]));
    Payload::with_binaries(args.to_string(), incoming.binaries.clone())
}

fn ack_value(ack: Option<roomcast::AckSender>, value: Value) {
    if let Some(ack) = ack {
        ack.send(Payload::from_json(format!("[{value}]")));
    }
}

fn timeout_of(spec: &Value) -> Duration {
    Duration::from_millis(
        spec.get("timeout")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_ACK_TIMEOUT),
    )
}

fn with_rooms(mut op: BroadcastOperator, spec: &Value) -> BroadcastOperator {
    if let Some(r) = spec.get("rooms").filter(|v| !v.is_null()) {
        op = op.to(rooms_of(r));
    }
    if let Some(e) = spec.get("except").filter(|v| !v.is_null()) {
        op = op.except(rooms_of(e));
    }
    op
}

fn with_flags(mut op: BroadcastOperator, spec: &Value) -> BroadcastOperator {
    if spec
        .get("volatile")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        op = op.volatile();
    }
    if spec.get("local").and_then(Value::as_bool).unwrap_or(false) {
        op = op.local();
    }
    if let Some(c) = spec.get("compress").filter(|v| !v.is_null()) {
        op = op.compress(c.as_bool().unwrap_or(false));
    }
    op
}

/// Prepends one JSON value to an argument array.
fn prepend(value: &Value, args: &Payload) -> Payload {
    let inner = args
        .json
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim();
    let json = if inner.is_empty() {
        format!("[{value}]")
    } else {
        format!("[{value},{inner}]")
    };
    Payload::with_binaries(json, args.binaries.clone())
}

fn register_echo(socket: &SocketRef) {
    socket.on("echo", |socket, args, ack| match ack {
        Some(ack) => ack.send(args),
        None => {
            let _ = socket.emit("echo", args);
        }
    });
    // The arguments back twice with compress(false): to the socket, and through a broadcast.
    socket.on("echo-uncompressed", |socket, args, _ack| {
        let uncompressed = SendFlags {
            compress: false,
            ..SendFlags::DEFAULT
        };
        let _ = socket.emit_with("echo", args.clone(), uncompressed);
        let _ = socket
            .namespace()
            .to([socket.id().as_str()])
            .compress(false)
            .emit("echo-room", args);
    });
}

fn observe(io: &Server, socket: &SocketRef) {
    let io1 = io.clone();
    socket.on_disconnecting(move |socket, reason| {
        let body = json!({"id": socket.id().as_str(), "nsp": socket.ns(), "reason": reason.as_str(), "rooms": sorted_rooms(socket)});
        let _ = io1.sockets().to(["observers"]).emit("observed-disconnecting", payload!(body));
    });
    let io2 = io.clone();
    socket.on_disconnect(move |socket, reason| {
        let body = json!({"id": socket.id().as_str(), "nsp": socket.ns(), "reason": reason.as_str(), "rooms": sorted_rooms(socket)});
        let _ = io2.sockets().to(["observers"]).emit("observed-disconnect", payload!(body));
    });
}

fn setup_root(io: &Server) {
    let root = io.sockets();
    let io_outer = io.clone();
    let io = io.clone();
    root.on_connection(move |socket| {
        let rooms_at_connect = sorted_rooms(&socket);
        observe(&io, &socket);

        socket.use_packet(|_, event, _| if event == "forbidden" { Err("forbidden event".into()) } else { Ok(()) });
        socket.on_error(|socket, message| {
            let _ = socket.emit("use-error", payload!(message));
        });
        socket.on_any(|socket, event, args| {
            if event == "any-probe" {
                let _ = socket.emit("any-seen", prepend(&json!(event), args));
            }
        });
        let outgoing = Arc::new(AtomicUsize::new(0));
        let counter = outgoing.clone();
        socket.on_any_outgoing(move |_, event, _| {
            if event == "echo" {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        socket.on("outgoing-count", move |_, _, ack| ack_value(ack, json!(outgoing.load(Ordering::Relaxed))));
        register_echo(&socket);
        socket.on("rooms-at-connect", move |_, _, ack| ack_value(ack, json!(rooms_at_connect)));
        socket.on("join", |socket, args, ack| {
            socket.join(rooms_of(&first(&args)));
            ack_value(ack, json!(sorted_rooms(socket)));
        });
        socket.on("leave", |socket, args, ack| {
            for r in rooms_of(&first(&args)) {
                socket.leave(&r);
            }
            ack_value(ack, json!(sorted_rooms(socket)));
        });
        socket.on("rooms", |socket, _, ack| ack_value(ack, json!(sorted_rooms(socket))));
        let io_rooms = io.clone();
        socket.on("all-rooms", move |_, _, ack| {
            let rooms: Vec<String> = io_rooms.sockets().adapter().index().rooms().iter().map(|r| r.to_string()).collect();
            ack_value(ack, json!(rooms));
        });
        let io_emit = io.clone();
        socket.on("emit-to", move |_, args, ack| {
            let spec = first(&args);
            let name = spec.get("nsp").and_then(Value::as_str).unwrap_or("/");
            let Some(nsp) = io_emit.namespaces().into_iter().find(|n| n.name() == name) else {
                return ack_value(ack, json!(false));
            };
            let op = with_flags(with_rooms(nsp.broadcast(), &spec), &spec);
            let event = spec.get("event").and_then(Value::as_str).unwrap_or("");
            let _ = op.emit(event, args_of(&spec, &args));
            ack_value(ack, json!(true));
        });
        socket.on("broadcast-to", |socket, args, ack| {
            let spec = first(&args);
            let op = with_rooms(socket.broadcast(), &spec);
            let event = spec.get("event").and_then(Value::as_str).unwrap_or("");
            let _ = op.emit(event, args_of(&spec, &args));
            ack_value(ack, json!(true));
        });
        socket.on("say to someone", |socket, args, _| {
            if let Ok((id, msg)) = args.parse::<(String, Value)>() {
                let _ = socket.to([id.as_str()]).emit("my message", payload!(msg));
            }
        });
        socket.on("ask", |socket, args, ack| {
            let spec = first(&args);
            let event = spec.get("event").and_then(Value::as_str).unwrap_or("").to_string();
            let _ = socket.emit_with_ack_callback(&event, args_of(&spec, &args), Some(timeout_of(&spec)), move |result| {
                let (err, res) = match result {
                    Ok(p) => (Value::Null, p),
                    Err(e) => (json!(e.to_string()), Payload::empty()),
                };
                if let Some(ack) = ack {
                    let body = format!("[{{\"err\":{err},\"res\":{}}}]", res.json);
                    ack.send(Payload::with_binaries(body, res.binaries));
                }
            });
        });
        let io_ask = io.clone();
        socket.on("ask-all", move |_, args, ack| {
            let spec = first(&args);
            let event = spec.get("event").and_then(Value::as_str).unwrap_or("").to_string();
            let op = with_rooms(io_ask.sockets().broadcast(), &spec).timeout(timeout_of(&spec));
            let Ok(fut) = op.emit_with_ack(&event, args_of(&spec, &args)) else { return };
            tokio::spawn(async move {
                let (err, responses) = match fut.await {
                    Ok(r) => (Value::Null, r),
                    Err(e) => (json!(e.to_string()), e.responses),
                };
                let mut firsts: Vec<String> = responses
                    .iter()
                    .map(|p| {
                        serde_json::from_str::<Vec<&serde_json::value::RawValue>>(&p.json)
                            .ok()
                            .and_then(|v| v.first().map(|r| r.get().to_string()))
                            .unwrap_or_else(|| "null".into())
                    })
                    .collect();
                firsts.sort();
                if let Some(ack) = ack {
                    ack.send(Payload::from_json(format!("[{{\"err\":{err},\"res\":[{}]}}]", firsts.join(","))));
                }
            });
        });
        let io_fetch = io.clone();
        socket.on("fetch", move |_, args, ack| {
            let spec = first(&args);
            let op = io_fetch.sockets().within(rooms_of(spec.get("rooms").unwrap_or(&Value::Null)));
            tokio::spawn(async move {
                let Ok(mut sockets) = op.fetch_sockets().await else { return };
                sockets.sort_by(|a, b| a.id.cmp(&b.id));
                let list: Vec<Value> = sockets
                    .iter()
                    .map(|s| {
                        let mut rooms: Vec<String> = s.rooms.iter().map(|r| r.to_string()).collect();
                        rooms.sort();
                        let data: Value = serde_json::from_str(&s.data).unwrap_or(Value::Null);
                        json!({"id": s.id, "rooms": rooms, "data": data})
                    })
                    .collect();
                ack_value(ack, json!(list));
            });
        });
        let io_join = io.clone();
        socket.on("sockets-join", move |_, args, ack| {
            let spec = first(&args);
            let op = io_join.sockets().within(rooms_of(spec.get("rooms").unwrap_or(&Value::Null)));
            op.sockets_join(rooms_of(spec.get("join").unwrap_or(&Value::Null)));
            ack_value(ack, json!(true));
        });
        let io_leave = io.clone();
        socket.on("sockets-leave", move |_, args, ack| {
            let spec = first(&args);
            let op = io_leave.sockets().within(rooms_of(spec.get("rooms").unwrap_or(&Value::Null)));
            op.sockets_leave(rooms_of(spec.get("leave").unwrap_or(&Value::Null)));
            ack_value(ack, json!(true));
        });
        let io_disc = io.clone();
        socket.on("disconnect-sockets", move |_, args, ack| {
            let spec = first(&args);
            ack_value(ack, json!(true));
            let op = io_disc.sockets().within(rooms_of(spec.get("rooms").unwrap_or(&Value::Null)));
            op.disconnect_sockets(spec.get("close").and_then(Value::as_bool).unwrap_or(false));
        });
        socket.on("set-data", |socket, args, ack| {
            socket.set_data(json!({"value": first(&args)}).to_string());
            ack_value(ack, json!(true));
        });
        socket.on("disconnect-me", |socket, args, _| {
            socket.disconnect(first(&args).as_bool().unwrap_or(false));
        });
        socket.on("handshake", |socket, _, ack| {
            let h = socket.handshake();
            ack_value(
                ack,
                json!({
                    "query": h["query"],
                    "auth": h["auth"],
                    "address": h["address"],
                    "url": h["url"],
                    "secure": h["secure"],
                    "xdomain": h["xdomain"],
                    "issued": if h["issued"].is_number() { "number" } else { "undefined" },
                    "time": if h["time"].is_string() { "string" } else { "undefined" },
                    "headers": {
                        "host": h["headers"]["host"],
                        "user-agent": h["headers"]["user-agent"].is_string(),
                    },
                }),
            );
        });
        socket.on("binary", |socket, args, ack| {
            if let Some(ack) = ack {
                ack.send(args.clone());
            }
            let _ = socket.emit("binary-back", args);
        });
        socket.on("double-ack", |_, _, ack| {
            // An AckSender answers once by construction; a second answer cannot be sent.
            ack_value(ack, json!("first"));
        });
        socket.on("burst", |socket, args, ack| {
            let spec = first(&args);
            let count = spec.get("count").and_then(Value::as_u64).unwrap_or(0);
            let event = spec.get("event").and_then(Value::as_str).unwrap_or("burst-item").to_string();
            for i in 0..count {
                let _ = socket.emit(&event, payload!(i));
            }
            ack_value(ack, json!(count));
        });
        let io_flood = io.clone();
        socket.on("flood", move |_, args, ack| {
            let spec = first(&args);
            let filler = "x".repeat(spec.get("size").and_then(Value::as_u64).unwrap_or(0) as usize);
            let count = spec.get("count").and_then(Value::as_u64).unwrap_or(0);
            let event = spec.get("event").and_then(Value::as_str).unwrap_or("flood").to_string();
            let op = io_flood.sockets().to(rooms_of(spec.get("rooms").unwrap_or(&Value::Null)));
            for i in 0..count {
                let _ = op.emit(&event, payload!(i, filler));
            }
            ack_value(ack, json!(count));
        });
        let io_count = io.clone();
        socket.on("count", move |_, _, ack| ack_value(ack, json!(io_count.sockets().socket_count())));
        socket.on("node-name", |_, _, ack| ack_value(ack, json!(node_name())));
        socket.on("recovered", |socket, _, ack| ack_value(ack, json!(socket.recovered())));
        let io_stats = io.clone();
        socket.on("stats", move |_, _, ack| {
            let s = io_stats.stats();
            ack_value(ack, json!({
                "sessions": s.sessions, "sockets": s.sockets, "rooms": s.rooms, "namespaces": s.namespaces,
                "refusedConnections": s.refused_connections, "refusedSessions": s.refused_sessions,
                "timedOutRequests": s.timed_out_requests,
            }));
        });
        let io_sse = io.clone();
        socket.on("server-side-emit", move |_, args, ack| {
            let spec = first(&args);
            let event = spec.get("event").and_then(Value::as_str).unwrap_or("");
            let _ = io_sse.sockets().server_side_emit(event, args_of(&spec, &args));
            ack_value(ack, json!(true));
        });
        let io_ssa = io.clone();
        socket.on("server-side-emit-ack", move |_, args, ack| {
            let spec = first(&args);
            let event = spec.get("event").and_then(Value::as_str).unwrap_or("");
            let Ok(fut) = io_ssa.sockets().server_side_emit_with_ack(event, args_of(&spec, &args)) else { return };
            tokio::spawn(async move {
                let body = match fut.await {
                    Ok(answers) => {
                        let mut firsts: Vec<Value> = answers.iter().map(first).collect();
                        firsts.sort_by_key(|v| v.to_string());
                        json!({"err": null, "res": firsts})
                    }
                    Err(e) => json!({"err": e.to_string(), "res": []}),
                };
                ack_value(ack, body);
            });
        });
        let io_rooms_cluster = io.clone();
        socket.on("all-rooms-cluster", move |_, _, ack| {
            let fut = io_rooms_cluster.sockets().adapter().all_rooms();
            tokio::spawn(async move {
                let rooms: Vec<String> = fut.await.unwrap_or_default().iter().map(|r| r.to_string()).collect();
                ack_value(ack, json!(rooms));
            });
        });
    });

    let io_hello = io_outer;
    root.on_server_side("hello", move |_, args, ack| {
        let body = json!({"node": node_name(), "args": args.values()});
        let _ = io_hello
            .sockets()
            .broadcast()
            .local()
            .to(["observers"])
            .emit("observed-server-side", payload!(body));
        if let Some(ack) = ack {
            ack.send(payload!(format!("hi from {}", node_name())));
        }
    });
}

fn node_name() -> String {
    std::env::var("NODE_NAME").unwrap_or_else(|_| "rust".into())
}

/// Accepts `/pred-*` names after a short asynchronous check, like the reference's predicate.
struct PredicateMatcher;

impl NamespaceMatcher for PredicateMatcher {
    fn matches(&self, name: &str, _auth: &str) -> Pending<bool> {
        let ok = name.starts_with("/pred-");
        Pending::Later(Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            ok
        }))
    }
}

fn setup_others(io: &Server) {
    let my = io.of("/my-namespace");
    let (io1, my2) = (io.clone(), my.clone());
    my.on_connection(move |socket| {
        observe(&io1, &socket);
        let _ = my2.emit("hi", payload!("Hello everyone!"));
    });

    let auth = io.of("/auth");
    auth.use_middleware(|socket| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let auth: Value = serde_json::from_str(socket.auth()).unwrap_or(Value::Null);
        if auth.get("token").and_then(Value::as_str) == Some("secret") {
            Ok(())
        } else {
            Err(roomcast::ConnectError::new("unauthorized").with_data(r#"{"reason":"bad token"}"#))
        }
    });
    // Refuses without waiting for anything (the middleware's future is ready at once).
    io.of("/refused").use_middleware(|_socket| async move {
        Err(roomcast::ConnectError::new("refused").with_data(r#"{"reason":"sync"}"#))
    });
    let io2 = io.clone();
    auth.on_connection(move |socket| {
        observe(&io2, &socket);
        let _ = socket.emit(
            "welcome",
            Payload::from_json(format!("[{}]", socket.auth())),
        );
    });

    let io3 = io.clone();
    io.of("/async").on_connection_async(move |socket| {
        observe(&io3, &socket);
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            register_echo(&socket);
        }
    });

    let dynamic = io.of_dynamic(|name: &str, _auth: &str| {
        name.strip_prefix("/dyn-")
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    });
    let io4 = io.clone();
    dynamic.on_connection(move |socket| {
        observe(&io4, &socket);
        register_echo(&socket);
        let _ = socket.emit("dyn", payload!(socket.ns()));
    });

    let pred = io.of_dynamic(PredicateMatcher);
    let io5 = io.clone();
    pred.on_connection(move |socket| {
        observe(&io5, &socket);
        let _ = socket.emit("pred", payload!(socket.ns()));
    });

    let io6 = io.clone();
    io.on_new_namespace(move |nsp| {
        let _ = io6
            .sockets()
            .to(["observers"])
            .emit("observed-namespace", payload!(nsp.name()));
    });
}

fn client_bundle() -> Option<Vec<u8>> {
    let path = std::env::var("SIO_CLIENT_BUNDLE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../node_modules/socket.io-client/dist/socket.io.js"
        )
        .into()
    });
    std::fs::read(path).ok()
}

/// The admin UI (ADMIN=basic: login admin / changeit; ADMIN=none: no login).
fn instrument_from_env(io: &Server) {
    use roomcast::admin::{AdminAuth, AdminMode, AdminOptions};
    let Ok(kind) = std::env::var("ADMIN") else {
        return;
    };
    const PASSWORD_HASH: &str = "$2a$04$Nuhbtc8R0U8W77mJV6FSBektPVo6XIgJMnjwupIk9Z0PxTLNeVaRS";
    let auth = if kind == "basic" {
        AdminAuth::basic("admin", PASSWORD_HASH).expect("a valid bcrypt hash")
    } else {
        AdminAuth::Disabled
    };
    let mode = std::env::var("ADMIN_MODE").unwrap_or_else(|_| "development".into());
    let mut options = AdminOptions::new(auth)
        .mode(AdminMode::parse(&mode).expect("ADMIN_MODE"))
        .read_only(std::env::var("ADMIN_READONLY").as_deref() == Ok("1"));
    if let Ok(id) = std::env::var("ADMIN_SERVER_ID") {
        options = options.server_id(id);
    }
    io.instrument(options).expect("instrument");
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let io = Server::new(config_from_env());
    if let Some(bundle) = client_bundle() {
        io.serve_client(bundle.into());
    }
    io.set_fallback(|parts| {
        (parts.method == http::Method::GET && matches!(parts.uri.path(), "/" | "/index.html")).then(
            || {
                http::Response::builder()
                    .header("content-type", "text/html; charset=utf-8")
                    .body(bytes::Bytes::from_static(SEED_PAGE.as_bytes()))
                    .unwrap_or_default()
            },
        )
    });
    if let Ok(allowed) = std::env::var("ALLOW_ORIGIN") {
        // Answered asynchronously, like a hook that checks a token store would be.
        io.set_allow_request(move |req| {
            let ok = req.header("origin") == Some(allowed.as_str());
            roomcast::Pending::Later(Box::pin(async move { ok }))
        });
    }
    setup_root(&io);
    setup_others(&io);
    instrument_from_env(&io);

    // Installed before announcing the port, so a SIGTERM right after it is handled.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = env_u64("PORT", 0) as u16;
    let addr = io.listen((host.as_str(), port)).await?;
    // ROUTE_SESSIONS=1 (with REDIS_URL): no sticky sessions needed in front of the cluster;
    // a request for another node's session is handed to it.
    if std::env::var("ROUTE_SESSIONS").as_deref() == Ok("1") {
        if let Ok(url) = std::env::var("REDIS_URL") {
            let config = roomcast_redis::SessionDirectoryConfig::new(url, addr.to_string());
            match roomcast_redis::RedisSessionDirectory::new(config, io.runtime()) {
                Ok(directory) => io.engine().set_session_directory(directory),
                Err(e) => eprintln!("ROUTE_SESSIONS: {e}"),
            }
        }
    }
    println!("listening on {}", addr.port());
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    io.close().await;
    Ok(())
}
