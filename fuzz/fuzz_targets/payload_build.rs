//! Building event arguments with `Payload::push`/`push_binary`: whatever JSON values the
//! array held and whatever is appended, the result is the same array plus the new element,
//! and it crosses the Socket.IO packet codec unchanged.
//!
//! Input: one mode byte, then a JSON array. Its last element is the one pushed; the others
//! form the starting payload, laid out compactly, pretty-printed or padded with whitespace.
#![no_main]
use libfuzzer_sys::fuzz_target;
use roomcast_protocol::socketio::packet;
use roomcast_protocol::Payload;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, json)) = data.split_first() else {
        return;
    };
    let Ok(mut items) = serde_json::from_slice::<Vec<Value>>(json) else {
        return;
    };
    let Some(pushed) = items.pop() else {
        return;
    };
    let text = match mode % 3 {
        0 => serde_json::to_string(&items),
        1 => serde_json::to_string_pretty(&items),
        _ => serde_json::to_string(&items).map(|t| format!(" {t}\n\t")),
    };
    let Ok(text) = text else {
        return;
    };
    let mut payload = Payload::from_json(text);
    let mut expected = items;
    if mode & 0x80 != 0 {
        payload.push_binary(vec![mode]);
        expected.push(serde_json::json!({"_placeholder": true, "num": 0}));
    } else {
        payload.push(&pushed).expect("a JSON value serialises");
        expected.push(pushed);
    }

    let got: Vec<Value> = serde_json::from_str(&payload.json).expect("the payload is a JSON array");
    assert_eq!(got, expected);

    let attachments = payload.binaries.len();
    let encoded = packet::encode_event("/", None, "e", &payload.json, attachments);
    let decoded = packet::decode(&encoded[1..]).expect("an encoded event decodes");
    assert_eq!(decoded.attachments, attachments);
    let (event, args) = packet::split_event(decoded.data.expect("an event has data"))
        .expect("an encoded event splits");
    assert_eq!(event, "e");
    let args: Vec<Value> = serde_json::from_str(&args).expect("event arguments are an array");
    assert_eq!(args, expected);
});
