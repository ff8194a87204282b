//! Event arguments as they cross between the network, the core and a host language: a JSON
//! array as text plus binary attachments referenced by `{"_placeholder":true,"num":i}`.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The arguments of an event or an ack.
///
/// `json` is always the text of a JSON array. Binary arguments appear in it as placeholder
/// objects whose `num` indexes `binaries` — the same convention as the Socket.IO wire format,
/// so the core can splice the text into a packet without parsing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub json: String,
    pub binaries: Vec<Bytes>,
}

impl Default for Payload {
    fn default() -> Self {
        Payload::empty()
    }
}

impl Payload {
    /// No arguments.
    pub fn empty() -> Payload {
        Payload {
            json: "[]".into(),
            binaries: Vec::new(),
        }
    }

    /// Arguments from the text of a JSON array (not checked: hosts pass their serialiser's output).
    pub fn from_json(json: impl Into<String>) -> Payload {
        Payload {
            json: json.into(),
            binaries: Vec::new(),
        }
    }

    /// Arguments with binary attachments; `json` must reference them with placeholders.
    pub fn with_binaries(json: impl Into<String>, binaries: Vec<Bytes>) -> Payload {
        Payload {
            json: json.into(),
            binaries,
        }
    }

    /// A single serialisable argument.
    pub fn arg<T: Serialize + ?Sized>(value: &T) -> Result<Payload, serde_json::Error> {
        let inner = serde_json::to_string(value)?;
        Ok(Payload::from_json(format!("[{inner}]")))
    }

    /// Appends one serialisable argument.
    pub fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), serde_json::Error> {
        let inner = serde_json::to_string(value)?;
        self.append_element(&inner);
        Ok(())
    }

    /// Appends a binary argument (as a placeholder in the JSON).
    pub fn push_binary(&mut self, bytes: impl Into<Bytes>) {
        let num = self.binaries.len();
        self.binaries.push(bytes.into());
        self.append_element(&format!("{{\"_placeholder\":true,\"num\":{num}}}"));
    }

    /// Splices one element's JSON text before the array's closing bracket. Only that one
    /// bracket may go: the last argument can itself end in `]` (a nested array, `[[1,2]]`).
    fn append_element(&mut self, element: &str) {
        let trimmed = self.json.trim_end();
        // `json` is documented to be an array; text without a closing bracket is kept whole
        // rather than losing characters, and the result is as malformed as the input was.
        let body = trimmed.strip_suffix(']').unwrap_or(trimmed).trim_end();
        self.json = if body.trim_start() == "[" {
            format!("[{element}]")
        } else {
            format!("{body},{element}]")
        };
    }

    /// Deserialises the argument array, e.g. into a tuple `(String, u32)` or a `Vec<Value>`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.json)
    }

    /// The arguments as JSON values (placeholders left in place).
    pub fn values(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.json).unwrap_or_default()
    }

    /// The first argument deserialised, if there is one and it has the right shape.
    pub fn first<T: DeserializeOwned>(&self) -> Option<T> {
        let v: Vec<&serde_json::value::RawValue> = serde_json::from_str(&self.json).ok()?;
        serde_json::from_str(v.first()?.get()).ok()
    }
}

/// Builds a [`Payload`] from serialisable values, one argument each:
/// `payload!("Hello everyone!", 42)`. Serialisation errors are turned into `null`.
#[macro_export]
macro_rules! payload {
    () => { $crate::Payload::empty() };
    ($($arg:expr),+ $(,)?) => {{
        let parts: Vec<String> = vec![$(
            $crate::__serde_json::to_string(&$arg).unwrap_or_else(|_| "null".to_string())
        ),+];
        $crate::Payload::from_json(format!("[{}]", parts.join(",")))
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_arguments() {
        let mut p = Payload::empty();
        p.push("a").unwrap();
        p.push(&1).unwrap();
        p.push_binary(vec![1u8, 2]);
        assert_eq!(p.json, "[\"a\",1,{\"_placeholder\":true,\"num\":0}]");
        assert_eq!(p.binaries.len(), 1);
        assert_eq!(payload!("x", 2).json, "[\"x\",2]");
        assert_eq!(payload!().json, "[]");
    }

    #[test]
    fn push_keeps_a_nested_array_last_argument_whole() {
        let mut p = Payload::from_json("[[1,2]]");
        p.push("x").unwrap();
        assert_eq!(p.json, "[[1,2],\"x\"]");

        let mut p = Payload::from_json("[[[]]]");
        p.push(&["y"]).unwrap();
        assert_eq!(p.json, "[[[]],[\"y\"]]");

        let mut p = Payload::from_json("[\"a]\"] \n");
        p.push_binary(vec![1u8]);
        assert_eq!(p.json, "[\"a]\",{\"_placeholder\":true,\"num\":0}]");
    }

    #[test]
    fn push_onto_an_empty_array_in_any_spacing() {
        for empty in ["[]", "[ ]", " [\n] ", "[]\n"] {
            let mut p = Payload::from_json(empty);
            p.push(&[[1]]).unwrap();
            assert_eq!(p.json, "[[[1]]]", "pushing onto {empty:?}");
            let mut p = Payload::from_json(empty);
            p.push_binary(vec![0u8]);
            assert_eq!(p.json, "[{\"_placeholder\":true,\"num\":0}]");
        }
    }

    /// A small deterministic generator, so the property runs the same cases everywhere and a
    /// failure names a reproducible seed.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn string(&mut self) -> String {
            const PIECES: &[&str] = &[
                "]", "[", "\"", "\\", ",", " ", "\n", "a", "é", "😀", "\u{0}", "}",
            ];
            (0..self.below(6))
                .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
                .collect()
        }

        fn value(&mut self, depth: u32) -> serde_json::Value {
            use serde_json::Value;
            let kinds = if depth == 0 { 5 } else { 8 };
            match self.below(kinds) {
                0 => Value::Null,
                1 => Value::Bool(self.below(2) == 0),
                2 => Value::from(self.next() as i64),
                // Binary fractions: serde_json parses decimals without its `float_roundtrip` feature.
                3 => Value::from((self.next() % 1_000_000) as f64 / 1024.0),
                4 => Value::String(self.string()),
                // Arrays are drawn more often: a trailing `]` is what the bug was about.
                5 | 6 => Value::Array((0..self.below(4)).map(|_| self.value(depth - 1)).collect()),
                _ => Value::Object(
                    (0..self.below(3))
                        .map(|_| (self.string(), self.value(depth - 1)))
                        .collect(),
                ),
            }
        }

        /// The array's text as a host might hand it over: compact, pretty, or padded.
        fn array_text(&mut self, items: &[serde_json::Value]) -> String {
            match self.below(3) {
                0 => serde_json::to_string(items).unwrap(),
                1 => serde_json::to_string_pretty(items).unwrap(),
                _ => format!(" {} \n", serde_json::to_string(items).unwrap()),
            }
        }
    }

    fn placeholder(num: usize) -> serde_json::Value {
        serde_json::json!({"_placeholder": true, "num": num})
    }

    /// The packet codec must carry the built arguments unchanged, as an event and as an ack.
    fn assert_round_trips(p: &Payload, expected: &[serde_json::Value]) {
        use crate::socketio::packet::{self, PacketKind};
        let attachments = p.binaries.len();

        let text = packet::encode_event("/n", Some(7), "ev", &p.json, attachments);
        let decoded = packet::decode(&text[1..]).expect("an encoded event decodes");
        let kind = if attachments > 0 {
            PacketKind::BinaryEvent
        } else {
            PacketKind::Event
        };
        assert_eq!(
            (decoded.kind, decoded.nsp, decoded.id),
            (kind, "/n", Some(7))
        );
        assert_eq!(decoded.attachments, attachments);
        let (event, args) = packet::split_event(decoded.data.unwrap()).unwrap();
        assert_eq!(event, "ev");
        let args: Vec<serde_json::Value> = serde_json::from_str(&args).unwrap();
        assert_eq!(args, expected);

        let text = packet::encode_ack("/", 3, &p.json, attachments);
        let decoded = packet::decode(&text[1..]).expect("an encoded ack decodes");
        let args: Vec<serde_json::Value> = serde_json::from_str(decoded.data.unwrap()).unwrap();
        assert_eq!(args, expected);
    }

    #[test]
    fn pushing_any_json_value_keeps_every_argument() {
        for seed in 1..=3000u64 {
            let mut gen = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut expected: Vec<serde_json::Value> =
                (0..gen.below(4)).map(|_| gen.value(3)).collect();
            let mut p = Payload::from_json(gen.array_text(&expected));
            for _ in 0..1 + gen.below(3) {
                if gen.below(4) == 0 {
                    expected.push(placeholder(p.binaries.len()));
                    p.push_binary(vec![seed as u8]);
                } else {
                    let v = gen.value(3);
                    p.push(&v).unwrap();
                    expected.push(v);
                }
                let got: Vec<serde_json::Value> = serde_json::from_str(&p.json)
                    .unwrap_or_else(|e| panic!("seed {seed}: {e} in {:?}", p.json));
                assert_eq!(got, expected, "seed {seed}");
            }
            assert_round_trips(&p, &expected);
        }
    }

    #[test]
    fn parses_arguments() {
        let p = Payload::from_json("[\"id\",{\"m\":1}]");
        let (id, m): (String, serde_json::Value) = p.parse().unwrap();
        assert_eq!(id, "id");
        assert_eq!(m["m"], 1);
        assert_eq!(p.first::<String>().as_deref(), Some("id"));
    }
}
