//! An Engine.IO server, without Socket.IO, that sends every message back to its sender (text
//! and binary alike) — the server the official Engine.IO v3 and v4 protocol test suites expect.
//!
//! ```text
//! cargo run -p roomcast-engineio --example engineio_echo -- --port 3000 --path /engine.io/ \
//!     --ping-interval 300 --ping-timeout 200 --max-payload 1000000 --allow-eio3
//! ```
//!
//! Every option can also come from the environment: `PORT`, `ENGINEIO_PATH`,
//! `PING_INTERVAL` / `PING_TIMEOUT` (ms), `MAX_PAYLOAD` (bytes), `ALLOW_EIO3=1`.

use roomcast_engineio::session::{Message, SessionHandler};
use roomcast_engineio::{CloseReason, EngineConfig, EngineServer, EngineSession, Frame};
use std::sync::Arc;
use std::time::Duration;

struct Echo;

impl SessionHandler for Echo {
    fn on_message(&self, session: &Arc<EngineSession>, message: Message<'_>) {
        let frame = match message {
            Message::Text(text) => Frame::message(text),
            Message::Binary(bytes) => Frame::Binary(bytes),
        };
        // Fails only once the session is closed: nobody left to echo to.
        let _ = session.send(frame);
    }

    fn on_close(&self, _session: &Arc<EngineSession>, _reason: CloseReason) {}
}

/// Options from `--name value` / `--name=value` arguments, then the environment, then defaults.
struct Options {
    args: Vec<String>,
}

impl Options {
    fn get(&self, flag: &str, env: &str) -> Option<String> {
        let long = format!("--{flag}");
        let mut it = self.args.iter();
        while let Some(arg) = it.next() {
            if *arg == long {
                return it.next().cloned();
            }
            if let Some(v) = arg.strip_prefix(&format!("{long}=")) {
                return Some(v.to_string());
            }
        }
        std::env::var(env).ok()
    }

    fn flag(&self, flag: &str, env: &str) -> bool {
        self.args.iter().any(|a| *a == format!("--{flag}"))
            || std::env::var(env).is_ok_and(|v| v == "1" || v == "true")
    }

    fn number(&self, flag: &str, env: &str, default: u64) -> Result<u64, String> {
        match self.get(flag, env) {
            None => Ok(default),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .map(|n| n as u64)
                .ok_or_else(|| format!("--{flag} (or {env}) must be a number, got {v:?}")),
        }
    }
}

fn config(options: &Options) -> Result<(EngineConfig, u64), String> {
    let mut path = options
        .get("path", "ENGINEIO_PATH")
        .unwrap_or_else(|| "/engine.io/".into());
    if !path.ends_with('/') {
        path.push('/');
    }
    let config = EngineConfig {
        path,
        ping_interval: Duration::from_millis(options.number(
            "ping-interval",
            "PING_INTERVAL",
            25_000,
        )?),
        ping_timeout: Duration::from_millis(options.number(
            "ping-timeout",
            "PING_TIMEOUT",
            20_000,
        )?),
        max_http_buffer_size: options.number("max-payload", "MAX_PAYLOAD", 1_000_000)? as usize,
        allow_eio3: options.flag("allow-eio3", "ALLOW_EIO3"),
        ..EngineConfig::default()
    };
    Ok((config, options.number("port", "PORT", 3000)?))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let options = Options {
        args: std::env::args().skip(1).collect(),
    };
    let (config, port) = match config(&options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("engineio_echo: {e}");
            std::process::exit(2);
        }
    };
    let server = EngineServer::new(config, Arc::new(Echo));
    let addr = server.listen(format!("127.0.0.1:{port}")).await?;
    println!("listening on {}", addr.port());
    tokio::signal::ctrl_c().await?;
    server.close().await;
    Ok(())
}
