//! The WebSocket message layer against hand-made frames: compressed and fragmented messages,
//! protocol violations, size limits, idle buffers, the close handshake.

use super::*;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SETTINGS: WsSettings = WsSettings {
    max_message_size: 1 << 16,
    deflate: Some(Deflate {
        threshold: 16,
        level: 1,
    }),
};

/// A client frame: masked, as browsers send them.
fn client_frame(opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
    let mask = [0x11, 0x22, 0x33, 0x44];
    let header = FrameHeader {
        is_final: fin,
        rsv1,
        rsv2: false,
        rsv3: false,
        opcode,
        mask: Some(mask),
    };
    let mut out = Vec::new();
    header.format(payload.len() as u64, &mut out).unwrap();
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
    out
}

fn pair() -> (
    ServerWebSocket<tokio::io::DuplexStream>,
    tokio::io::DuplexStream,
) {
    let (a, b) = tokio::io::duplex(1 << 20);
    (ServerWebSocket::new(a, SETTINGS), b)
}

#[tokio::test]
async fn reads_compressed_and_fragmented_messages() {
    let (mut ws, mut client) = pair();
    let text = "4hello compressed world, hello compressed world";
    let deflated = crate::transport::permessage_deflate::deflate(text.as_bytes(), 6);
    let (a, b) = deflated.split_at(deflated.len() / 2);
    let mut wire = client_frame(OpCode::Data(Data::Text), false, true, a);
    // A ping between fragments is answered and handed out in between.
    wire.extend(client_frame(
        OpCode::Control(Control::Ping),
        true,
        false,
        b"p",
    ));
    wire.extend(client_frame(OpCode::Data(Data::Continue), true, false, b));
    wire.extend(client_frame(
        OpCode::Data(Data::Binary),
        true,
        false,
        &[1, 2, 3],
    ));
    client.write_all(&wire).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Ping(Bytes::from("p"))
    );
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Text(text.into())
    );
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Binary(Bytes::from_static(&[1, 2, 3]))
    );
    // The pong went out unmasked.
    let mut pong = [0u8; 3];
    client.read_exact(&mut pong).await.unwrap();
    assert_eq!(pong, [0x8a, 0x01, b'p']);
}

#[tokio::test]
async fn compresses_from_the_threshold_on() {
    let (mut ws, mut client) = pair();
    ws.send(Message::Text("4short".into())).await.unwrap();
    let long = "4".to_string() + &"abc".repeat(100);
    ws.send(Message::Text(long.clone().into())).await.unwrap();
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await.unwrap();
    assert_eq!(head, [0x81, 6], "short text: FIN, no RSV1");
    let mut short = [0u8; 6];
    client.read_exact(&mut short).await.unwrap();
    client.read_exact(&mut head).await.unwrap();
    assert_eq!(head[0], 0xc1, "long text: FIN and RSV1");
    let mut body = vec![0u8; head[1] as usize];
    client.read_exact(&mut body).await.unwrap();
    let inflated = crate::transport::permessage_deflate::inflate(&body, 1 << 16).unwrap();
    assert_eq!(inflated, long.as_bytes());
}

#[tokio::test]
async fn refuses_protocol_violations() {
    let cases: Vec<Vec<u8>> = vec![
        // Unmasked client frame.
        vec![0x81, 0x01, b'x'],
        // RSV2 set.
        {
            let mut f = client_frame(OpCode::Data(Data::Text), true, false, b"x");
            f[0] |= 0x20;
            f
        },
        // Compressed control frame.
        client_frame(OpCode::Control(Control::Ping), true, true, b"x"),
        // Continuation without a start.
        client_frame(OpCode::Data(Data::Continue), true, false, b"x"),
        // Invalid deflate data.
        client_frame(OpCode::Data(Data::Text), true, true, &[0xff, 0xff, 0xff]),
        // Invalid UTF-8 in a text message.
        client_frame(OpCode::Data(Data::Text), true, false, &[0xc3, 0x28]),
    ];
    for wire in cases {
        let (mut ws, mut client) = pair();
        client.write_all(&wire).await.unwrap();
        assert!(ws.next().await.unwrap().is_err(), "accepted {wire:?}");
        assert!(ws.next().await.is_none());
    }
}

#[tokio::test]
async fn without_deflate_rsv1_is_refused_and_nothing_is_compressed() {
    let settings = WsSettings {
        max_message_size: 1 << 16,
        deflate: None,
    };
    let (a, mut client) = tokio::io::duplex(1 << 20);
    let mut ws = ServerWebSocket::new(a, settings);
    ws.send(Message::Text("4".repeat(2000).into()))
        .await
        .unwrap();
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await.unwrap();
    assert_eq!(head, [0x81, 126], "FIN, no RSV1, 16-bit length");
    let deflated = crate::transport::permessage_deflate::deflate(b"4hello", 1);
    client
        .write_all(&client_frame(
            OpCode::Data(Data::Text),
            true,
            true,
            &deflated,
        ))
        .await
        .unwrap();
    assert!(matches!(
        ws.next().await.unwrap(),
        Err(Error::Protocol(ProtocolError::NonZeroReservedBits))
    ));
}

#[tokio::test]
async fn an_idle_connection_holds_no_buffers() {
    let (mut ws, mut client) = pair();
    client
        .write_all(&client_frame(OpCode::Data(Data::Text), true, false, b"4hi"))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Text("4hi".into())
    );
    ws.send(Message::Text("4".repeat(3000).into()))
        .await
        .unwrap();
    // Waiting for the next message drops the emptied read buffer.
    let next = tokio::time::timeout(std::time::Duration::from_millis(20), ws.next()).await;
    assert!(next.is_err());
    assert_eq!(ws.read_buf.capacity(), 0);
    assert_eq!(ws.write_buf.capacity(), 0);
}

#[tokio::test]
async fn refuses_messages_over_the_limit_after_inflating() {
    let (mut ws, mut client) = pair();
    let big = vec![b'a'; (1 << 16) + 1];
    let deflated = crate::transport::permessage_deflate::deflate(&big, 6);
    client
        .write_all(&client_frame(
            OpCode::Data(Data::Text),
            true,
            true,
            &deflated,
        ))
        .await
        .unwrap();
    assert!(matches!(
        ws.next().await.unwrap(),
        Err(Error::Capacity(CapacityError::MessageTooLong { .. }))
    ));
}

#[test]
fn the_fuzzing_entry_decodes_a_whole_stream() {
    let mut wire = client_frame(OpCode::Data(Data::Text), true, false, b"4hi");
    wire.extend(client_frame(OpCode::Data(Data::Binary), true, false, &[]));
    let out = decode_client_bytes(&wire, 1024);
    assert_eq!(out.len(), 3, "two messages, then the reset without a close");
    assert_eq!(out[0].as_ref().unwrap(), &Message::Text("4hi".into()));
    assert!(out[2].is_err());
}

#[tokio::test]
async fn answers_a_close_and_ends() {
    let (mut ws, mut client) = pair();
    client
        .write_all(&client_frame(
            OpCode::Control(Control::Close),
            true,
            false,
            &1000u16.to_be_bytes(),
        ))
        .await
        .unwrap();
    assert!(matches!(ws.next().await, Some(Ok(Message::Close(Some(_))))));
    let mut reply = [0u8; 4];
    client.read_exact(&mut reply).await.unwrap();
    assert_eq!(reply, [0x88, 0x02, 0x03, 0xe8]);
    drop(client);
    assert!(ws.next().await.is_none());
}
