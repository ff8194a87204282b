//! Client events cross to JavaScript in runs, as one JSON text per run.
//!
//! Events are most of the traffic, and building a JavaScript object per event through N-API
//! (a property set, a string and a map transition per field, plus an object for the ack)
//! costs more than the rest of its handling. Their arguments are JSON text already (checked
//! by the core's decoder), so a run of consecutive events becomes a single
//! `[[nsp, sid, name, args, ack, binStart, binCount], ...]` text that JavaScript parses in one
//! `JSON.parse`; binary attachments travel beside it as one list of Buffers. `ack` is the
//! acknowledgement id as a string (ids are 64-bit) or null; `binStart` and `binCount` appear
//! only on events with attachments.

use crate::args::to_buffers;
use crate::records::{Args, Record};
use napi::bindgen_prelude::Buffer;
use roomcast::{IncomingEvent, SocketRef};
use std::io::Write;

/// A run's JSON text is cut at about this size and the rest goes in the next record: one
/// JavaScript string cannot exceed ~512 MiB (V8's limit), and one huge `JSON.parse` would
/// hold up the event loop for its whole length anyway.
pub const RUN_TEXT_CAP: usize = 32 << 20;

#[derive(Default)]
pub struct EventBatch {
    text: Vec<u8>,
    binaries: Vec<Buffer>,
}

impl EventBatch {
    pub fn push(&mut self, socket: &SocketRef, event: IncomingEvent) {
        self.text
            .push(if self.text.is_empty() { b'[' } else { b',' });
        self.text.push(b'[');
        push_str(&mut self.text, socket.ns());
        self.text.push(b',');
        push_str(&mut self.text, socket.id().as_str());
        self.text.push(b',');
        push_str(&mut self.text, &event.name);
        self.text.push(b',');
        self.text.extend_from_slice(event.args.json.as_bytes());
        self.text.push(b',');
        // Writing into a Vec cannot fail.
        let _ = match &event.ack {
            Some(ack) => write!(self.text, "\"{}\"", ack.id()),
            None => self.text.write_all(b"null"),
        };
        if let Some(buffers) = to_buffers(&event.args) {
            let _ = write!(self.text, ",{},{}", self.binaries.len(), buffers.len());
            self.binaries.extend(buffers);
        }
        self.text.push(b']');
    }

    /// Whether the run has reached [`RUN_TEXT_CAP`] and should be taken now.
    pub fn is_full(&self) -> bool {
        self.text.len() >= RUN_TEXT_CAP
    }

    /// The `events` record of the run so far (None when empty); the batch is empty again.
    pub fn take(&mut self) -> Option<Record> {
        if self.text.is_empty() {
            return None;
        }
        let mut text = std::mem::take(&mut self.text);
        text.push(b']');
        let binaries = std::mem::take(&mut self.binaries);
        // Everything written is UTF-8: escaped strings and the core's JSON text.
        let json = String::from_utf8(text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Some(Record {
            kind: "events".to_string(),
            args: Some(Args {
                json,
                binaries: (!binaries.is_empty()).then_some(binaries),
            }),
            ..Default::default()
        })
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    // Serialising a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::push_str;

    #[test]
    fn strings_are_escaped_as_json() {
        let mut out = Vec::new();
        push_str(&mut out, "a\"b\\c\n\u{1}é");
        let text = String::from_utf8(out).expect("utf-8");
        let back: String = serde_json::from_str(&text).expect("valid JSON string");
        assert_eq!(back, "a\"b\\c\n\u{1}é");
    }
}
