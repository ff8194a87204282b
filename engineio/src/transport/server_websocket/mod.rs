//! The server side of a WebSocket: the message layer over tungstenite's frame-header codec.
//!
//! tungstenite's own `WebSocket` refuses frames with RSV1 set (so no permessage-deflate) and
//! keeps a read buffer of fixed size allocated for the life of each connection. Here frames
//! are parsed and formatted with tungstenite's codec and the message layer — fragments,
//! control frames, the close handshake, compression — is ours: an idle connection holds no
//! read or write buffer, and a broadcast is compressed once. The edge types are tungstenite's
//! (`Message`, `Error`), so `websocket::drive` also runs host-framed WebSockets.

use super::permessage_deflate::{deflate_shared, inflate, InflateError};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::{Sink, Stream};
use std::io::{self, Cursor};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tungstenite::error::{CapacityError, ProtocolError};
use tungstenite::protocol::frame::coding::{CloseCode, Control, Data, OpCode};
use tungstenite::protocol::frame::{CloseFrame, Frame, FrameHeader};
use tungstenite::{Error, Message, Utf8Bytes};

/// Bytes read from the socket per call, into a buffer on the stack.
const READ_CHUNK: usize = 4096;
/// Outbound bytes buffered before `poll_ready` makes the writer flush.
const WRITE_HIGH_WATER: usize = 64 * 1024;
/// A write buffer larger than this is dropped once flushed, so an idle connection does not
/// keep the memory of its largest burst.
const WRITE_KEEP: usize = 1024;

/// permessage-deflate as negotiated for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deflate {
    /// Messages at least this long are compressed.
    pub threshold: usize,
    pub level: u32,
}

/// Settings of one connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WsSettings {
    /// Largest message accepted (after inflating).
    pub max_message_size: usize,
    /// `None`: permessage-deflate was not negotiated, and RSV1 is a protocol error.
    pub deflate: Option<Deflate>,
}

/// A message being received in several frames.
struct Fragments {
    opcode: Data,
    compressed: bool,
    data: BytesMut,
}

pub(crate) struct ServerWebSocket<IO> {
    io: IO,
    settings: WsSettings,
    read_buf: BytesMut,
    write_buf: BytesMut,
    fragments: Option<Fragments>,
    close_sent: bool,
    close_received: bool,
    /// The stream gave its last item (end, or an error).
    ended: bool,
    shut_down: bool,
}

impl<IO> ServerWebSocket<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    pub(crate) fn new(io: IO, settings: WsSettings) -> Self {
        ServerWebSocket {
            io,
            settings,
            read_buf: BytesMut::new(),
            write_buf: BytesMut::new(),
            fragments: None,
            close_sent: false,
            close_received: false,
            ended: false,
            shut_down: false,
        }
    }

    /// Cuts the next whole frame out of the read buffer, unmasked.
    fn next_frame(&mut self) -> Result<Option<(FrameHeader, BytesMut)>, Error> {
        let mut cursor = Cursor::new(&self.read_buf[..]);
        let Some((header, len)) = FrameHeader::parse(&mut cursor)? else {
            return Ok(None);
        };
        let max = self.settings.max_message_size;
        if len > max as u64 {
            return Err(too_long(len as usize, max));
        }
        let head = cursor.position() as usize;
        let len = len as usize;
        if self.read_buf.len() < head + len {
            self.read_buf.reserve(head + len - self.read_buf.len());
            return Ok(None);
        }
        self.read_buf.advance(head);
        let mut payload = self.read_buf.split_to(len);
        // RFC 6455 §5.1: a server must fail a connection whose client frames are unmasked.
        let Some(mask) = header.mask else {
            return Err(ProtocolError::UnmaskedFrameFromClient.into());
        };
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i & 3];
        }
        Ok(Some((header, payload)))
    }

    /// What one frame means: a message to hand out, or nothing yet.
    fn on_frame(
        &mut self,
        header: FrameHeader,
        payload: BytesMut,
    ) -> Result<Option<Message>, Error> {
        if header.rsv2 || header.rsv3 {
            return Err(ProtocolError::NonZeroReservedBits.into());
        }
        match header.opcode {
            OpCode::Control(control) => {
                // Control frames are never compressed nor fragmented (RFC 7692 §6.1, 6455 §5.5).
                if header.rsv1 {
                    return Err(ProtocolError::NonZeroReservedBits.into());
                }
                if !header.is_final {
                    return Err(ProtocolError::FragmentedControlFrame.into());
                }
                if payload.len() > 125 {
                    return Err(ProtocolError::ControlFrameTooBig.into());
                }
                match control {
                    Control::Close => {
                        self.close_received = true;
                        let close = parse_close(&payload)?;
                        if !self.close_sent {
                            let code = close.as_ref().map_or(CloseCode::Normal, |c| c.code);
                            self.queue_frame(close_frame(code, ""));
                            self.close_sent = true;
                        }
                        Ok(Some(Message::Close(close)))
                    }
                    Control::Ping => {
                        let data = payload.freeze();
                        if !self.close_sent {
                            self.queue_frame(Frame::pong(data.clone()));
                        }
                        Ok(Some(Message::Ping(data)))
                    }
                    Control::Pong => Ok(Some(Message::Pong(payload.freeze()))),
                    Control::Reserved(i) => Err(ProtocolError::UnknownControlFrameType(i).into()),
                }
            }
            OpCode::Data(Data::Reserved(i)) => Err(ProtocolError::UnknownDataFrameType(i).into()),
            OpCode::Data(Data::Continue) => {
                let max = self.settings.max_message_size;
                let Some(f) = self.fragments.as_mut() else {
                    return Err(ProtocolError::UnexpectedContinueFrame.into());
                };
                if header.rsv1 {
                    return Err(ProtocolError::NonZeroReservedBits.into());
                }
                if f.data.len() + payload.len() > max {
                    return Err(too_long(f.data.len() + payload.len(), max));
                }
                f.data.extend_from_slice(&payload);
                if !header.is_final {
                    return Ok(None);
                }
                let Some(f) = self.fragments.take() else {
                    return Ok(None);
                };
                self.message(f.opcode, f.compressed, f.data).map(Some)
            }
            OpCode::Data(opcode) => {
                if self.fragments.is_some() {
                    return Err(ProtocolError::ExpectedFragment(opcode).into());
                }
                if header.rsv1 && self.settings.deflate.is_none() {
                    return Err(ProtocolError::NonZeroReservedBits.into());
                }
                if header.is_final {
                    return self.message(opcode, header.rsv1, payload).map(Some);
                }
                self.fragments = Some(Fragments {
                    opcode,
                    compressed: header.rsv1,
                    data: payload,
                });
                Ok(None)
            }
        }
    }

    fn message(&self, opcode: Data, compressed: bool, data: BytesMut) -> Result<Message, Error> {
        let bytes = if compressed {
            match inflate(&data, self.settings.max_message_size) {
                Ok(v) => Bytes::from(v),
                Err(InflateError::TooLarge { max }) => return Err(too_long(max + 1, max)),
                Err(e @ InflateError::Corrupt) => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e).into())
                }
            }
        } else {
            data.freeze()
        };
        Ok(match opcode {
            Data::Text => {
                Message::Text(Utf8Bytes::try_from(bytes).map_err(|e| Error::Utf8(e.to_string()))?)
            }
            _ => Message::Binary(bytes),
        })
    }

    fn queue_frame(&mut self, frame: Frame) {
        let header = frame.header().clone();
        let payload = frame.into_payload();
        self.queue(header, &payload);
    }

    fn queue(&mut self, header: FrameHeader, payload: &[u8]) {
        let mut w = (&mut self.write_buf).writer();
        // Formatting into memory cannot fail.
        let _ = header.format(payload.len() as u64, &mut w);
        self.write_buf.extend_from_slice(payload);
    }

    fn queue_data(&mut self, opcode: Data, payload: Bytes) {
        let deflate = self
            .settings
            .deflate
            .filter(|d| payload.len() >= d.threshold);
        let header = FrameHeader {
            is_final: true,
            rsv1: deflate.is_some(),
            rsv2: false,
            rsv3: false,
            opcode: OpCode::Data(opcode),
            mask: None,
        };
        if let Some(d) = deflate {
            let deflated = deflate_shared(&payload, d.level);
            self.queue(header, &deflated);
        } else {
            self.queue(header, &payload);
        }
    }

    fn poll_write_buf(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while !self.write_buf.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.write_buf))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero).into()));
            }
            self.write_buf.advance(n);
        }
        if self.write_buf.capacity() > WRITE_KEEP {
            self.write_buf = BytesMut::new();
        }
        Poll::Ready(Ok(()))
    }
}

fn too_long(size: usize, max_size: usize) -> Error {
    Error::Capacity(CapacityError::MessageTooLong { size, max_size })
}

fn close_frame(code: CloseCode, reason: &str) -> Frame {
    Frame::close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

fn parse_close(payload: &[u8]) -> Result<Option<CloseFrame>, Error> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(ProtocolError::InvalidCloseSequence.into()),
        _ => {
            let code = CloseCode::from(u16::from_be_bytes([payload[0], payload[1]]));
            let reason = Utf8Bytes::try_from(Bytes::copy_from_slice(&payload[2..]))
                .map_err(|e| Error::Utf8(e.to_string()))?;
            Ok(Some(CloseFrame { code, reason }))
        }
    }
}

impl<IO> Stream for ServerWebSocket<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.ended {
                return Poll::Ready(None);
            }
            // Pongs and the close reply go out even when nobody is sending.
            if !this.write_buf.is_empty() {
                if let Poll::Ready(Err(e)) = this.poll_write_buf(cx) {
                    this.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
                // A peer that pings without reading the pongs would grow the buffer without
                // bound: stop reading until the socket takes them (the write above wakes
                // this task when it can).
                if this.write_buf.len() >= WRITE_HIGH_WATER {
                    return Poll::Pending;
                }
            }
            match this.next_frame() {
                Ok(Some((header, payload))) => match this.on_frame(header, payload) {
                    Ok(Some(message)) => {
                        // A pong or close reply just queued goes out now if the socket takes
                        // it; otherwise at the next poll. A write error shows on that poll.
                        if !this.write_buf.is_empty() {
                            let _ = this.poll_write_buf(cx);
                        }
                        return Poll::Ready(Some(Ok(message)));
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        this.ended = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                },
                Ok(None) => {}
                Err(e) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            // Whole frames were cut out of the buffer above: an empty one gives its memory back
            // (what it held now belongs to the messages handed out).
            if this.read_buf.is_empty() && this.read_buf.capacity() > 0 {
                this.read_buf = BytesMut::new();
            }
            let mut chunk = [0u8; READ_CHUNK];
            let mut buf = ReadBuf::new(&mut chunk);
            let polled = Pin::new(&mut this.io).poll_read(cx, &mut buf);
            let filled = buf.filled().len();
            this.read_buf.extend_from_slice(buf.filled());
            match polled {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(e.into())));
                }
                Poll::Ready(Ok(())) if filled == 0 => {
                    this.ended = true;
                    if this.close_received {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Err(
                        ProtocolError::ResetWithoutClosingHandshake.into()
                    )));
                }
                Poll::Ready(Ok(())) => {}
            }
        }
    }
}

impl<IO> Sink<Message> for ServerWebSocket<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.write_buf.len() >= WRITE_HIGH_WATER {
            ready!(this.poll_write_buf(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        let this = self.get_mut();
        if this.close_sent {
            return Err(ProtocolError::SendAfterClosing.into());
        }
        match item {
            Message::Text(t) => this.queue_data(Data::Text, Bytes::from(t)),
            Message::Binary(b) => this.queue_data(Data::Binary, b),
            Message::Ping(p) => this.queue_frame(Frame::ping(p)),
            Message::Pong(p) => this.queue_frame(Frame::pong(p)),
            Message::Close(close) => {
                this.queue_frame(Frame::close(close));
                this.close_sent = true;
            }
            Message::Frame(f) => this.queue_frame(f),
        }
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        ready!(this.poll_write_buf(cx))?;
        Pin::new(&mut this.io).poll_flush(cx).map_err(Error::from)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if !this.close_sent {
            // A close frame without a status, as tungstenite and ws send on a plain close.
            this.queue_frame(Frame::close(None));
            this.close_sent = true;
        }
        ready!(this.poll_write_buf(cx))?;
        if !this.shut_down {
            ready!(Pin::new(&mut this.io).poll_shutdown(cx))?;
            this.shut_down = true;
        }
        // Read (and drop) what the client still sends — its close reply — until it closes
        // too: closing our socket with unread bytes would reset the connection.
        while !this.ended {
            let mut chunk = [0u8; READ_CHUNK];
            let mut buf = ReadBuf::new(&mut chunk);
            match ready!(Pin::new(&mut this.io).poll_read(cx, &mut buf)) {
                Ok(()) if !buf.filled().is_empty() => {}
                _ => this.ended = true,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Feeds `input` to a server-side permessage-deflate WebSocket as bytes from a client and
/// returns what it made of them, up to the first error; the entry point for fuzzing this
/// decoder.
#[doc(hidden)]
pub fn decode_client_bytes(input: &[u8], max_message_size: usize) -> Vec<Result<Message, Error>> {
    /// Reads `input` then reports end of stream; swallows writes (pongs, close replies).
    struct Replay<'a>(&'a [u8]);
    impl AsyncRead for Replay<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let n = self.0.len().min(buf.remaining());
            buf.put_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Poll::Ready(Ok(()))
        }
    }
    impl AsyncWrite for Replay<'_> {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            b: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(b.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
    let settings = WsSettings {
        max_message_size,
        deflate: Some(Deflate {
            threshold: 1024,
            level: 1,
        }),
    };
    let mut ws = ServerWebSocket::new(Replay(input), settings);
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut out = Vec::new();
    // The replayed stream never returns Pending, so every poll is final.
    while let Poll::Ready(Some(item)) = Pin::new(&mut ws).poll_next(&mut cx) {
        out.push(item);
    }
    out
}

#[cfg(test)]
mod tests;
