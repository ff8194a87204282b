//! WebSocket upgrades of an attached Node `http.Server`: the core takes the raw byte stream
//! (its own WebSocket framing, the same code as the native listener) through an in-memory
//! duplex pipe; JavaScript pumps bytes between that pipe and the Node socket.
//!
//! Both directions are bounded: output waits for JavaScript to report written bytes (at most
//! [`OUTPUT_WINDOW`] in flight), input asks JavaScript to pause the Node socket past
//! [`INPUT_HIGH`] unconsumed bytes and to resume below [`INPUT_LOW`].

use crate::http::RequestHead;
use crate::mailbox::{Delivery, Mailbox};
use crate::runtime;
use crate::server::NativeServer;
use bytes::Bytes;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use parking_lot::Mutex;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, Semaphore};

const PIPE_SIZE: usize = 64 * 1024;
const OUTPUT_WINDOW: usize = 1024 * 1024;
const INPUT_HIGH: usize = 1024 * 1024;
const INPUT_LOW: usize = 256 * 1024;

/// Bytes received from the client and not yet consumed by the core.
#[derive(Default)]
struct InputLevel {
    queued: usize,
    paused: bool,
}

pub struct Conn {
    input: mpsc::UnboundedSender<Bytes>,
    level: Arc<Mutex<InputLevel>>,
    output_credit: Arc<Semaphore>,
}

impl Conn {
    /// Queues input; true when JavaScript should pause the socket.
    fn push(&self, data: Bytes) -> bool {
        let mut level = self.level.lock();
        level.queued += data.len();
        if self.input.send(data).is_err() {
            return false;
        }
        if level.queued > INPUT_HIGH {
            level.paused = true;
        }
        level.paused
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Wakes the output pump if it waits for credit nobody will return.
        self.output_credit.close();
    }
}

#[napi]
impl NativeServer {
    /// Takes over an upgrade request of the attached `http.Server` (its `upgrade` event):
    /// the core writes the 101 (or the refusal) and runs the WebSocket. Output arrives as
    /// `wsData` / `wsEnd` records with `token`; feed input with `wsWrite`.
    #[napi]
    pub fn open_web_socket(
        &self,
        token: f64,
        request: RequestHead,
        head: Option<Buffer>,
    ) -> napi::Result<()> {
        let rt = runtime::get()?;
        let parts = request.parts()?;
        let remote = request.remote();
        let token = token as u64;
        let (ours, theirs) = tokio::io::duplex(PIPE_SIZE);
        let (mut reader, mut writer) = tokio::io::split(ours);
        let (input, mut input_rx) = mpsc::unbounded_channel::<Bytes>();
        let level = Arc::new(Mutex::new(InputLevel::default()));
        let output_credit = Arc::new(Semaphore::new(OUTPUT_WINDOW));

        let io = self.shared.io.clone();
        rt.spawn(io.serve_websocket_io(parts, remote, theirs));

        let mailbox: Arc<Mailbox> = self.shared.mailbox.clone();
        let input_level = level.clone();
        rt.spawn(async move {
            while let Some(chunk) = input_rx.recv().await {
                if writer.write_all(&chunk).await.is_err() {
                    break;
                }
                let resume = {
                    let mut l = input_level.lock();
                    l.queued = l.queued.saturating_sub(chunk.len());
                    let resume = l.paused && l.queued < INPUT_LOW;
                    if resume {
                        l.paused = false;
                    }
                    resume
                };
                if resume {
                    mailbox.push(Delivery::WsResume { token });
                }
            }
            // The client is gone (or JavaScript ended the socket): the core sees EOF.
            let _ = writer.shutdown().await;
        });

        let shared = self.shared.clone();
        let credit = output_credit.clone();
        let exchange = shared.in_flight.begin();
        rt.spawn(async move {
            let _exchange = exchange;
            let mut buf = vec![0u8; PIPE_SIZE];
            loop {
                let n = match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                match credit.acquire_many(n as u32).await {
                    Ok(permit) => permit.forget(),
                    Err(_) => break,
                }
                shared.mailbox.push(Delivery::WsData {
                    token,
                    data: Bytes::copy_from_slice(&buf[..n]),
                });
            }
            shared.websockets.lock().remove(&token);
            shared.mailbox.push(Delivery::WsEnd { token });
        });

        let conn = Conn {
            input,
            level,
            output_credit,
        };
        if let Some(head) = head.filter(|h| !h.is_empty()) {
            conn.push(Bytes::copy_from_slice(&head));
        }
        self.shared.websockets.lock().insert(token, conn);
        Ok(())
    }

    /// Bytes the client sent; true when JavaScript should pause the socket until a
    /// `wsResume` record.
    #[napi]
    pub fn ws_write(&self, token: f64, data: Buffer) -> bool {
        match self.shared.websockets.lock().get(&(token as u64)) {
            Some(conn) => conn.push(Bytes::copy_from_slice(&data)),
            None => false,
        }
    }

    /// JavaScript has written `bytes` of output to the socket: more may come.
    #[napi]
    pub fn ws_flushed(&self, token: f64, bytes: u32) {
        if let Some(conn) = self.shared.websockets.lock().get(&(token as u64)) {
            conn.output_credit.add_permits(bytes as usize);
        }
    }

    /// The Node socket closed: the core sees the end of the stream.
    #[napi]
    pub fn ws_end(&self, token: f64) {
        self.shared.websockets.lock().remove(&(token as u64));
    }
}
