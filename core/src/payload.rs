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
        let body = self
            .json
            .trim_end()
            .trim_end_matches(']')
            .trim_end()
            .to_string();
        self.json = if body.trim() == "[" {
            format!("[{inner}]")
        } else {
            format!("{body},{inner}]")
        };
        Ok(())
    }

    /// Appends a binary argument (as a placeholder in the JSON).
    pub fn push_binary(&mut self, bytes: impl Into<Bytes>) {
        let num = self.binaries.len();
        self.binaries.push(bytes.into());
        let placeholder = format!("{{\"_placeholder\":true,\"num\":{num}}}");
        let body = self
            .json
            .trim_end()
            .trim_end_matches(']')
            .trim_end()
            .to_string();
        self.json = if body.trim() == "[" {
            format!("[{placeholder}]")
        } else {
            format!("{body},{placeholder}]")
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
    fn parses_arguments() {
        let p = Payload::from_json("[\"id\",{\"m\":1}]");
        let (id, m): (String, serde_json::Value) = p.parse().unwrap();
        assert_eq!(id, "id");
        assert_eq!(m["m"], 1);
        assert_eq!(p.first::<String>().as_deref(), Some("id"));
    }
}
