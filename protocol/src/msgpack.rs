//! msgpack values as roomcast sees them: JSON text plus binary attachments. Shared by the
//! msgpack Socket.IO parser and the Redis adapter, which both exchange notepack-encoded
//! JavaScript values.

use bytes::Bytes;
use rmpv::Value as Mp;
use serde_json::{Map, Value as Json};

/// A msgpack value as JSON; `bin` values become placeholders indexing `binaries`.
pub fn mp_to_json(v: &Mp, binaries: &mut Vec<Bytes>) -> Json {
    match v {
        Mp::Nil => Json::Null,
        Mp::Boolean(b) => Json::Bool(*b),
        Mp::Integer(i) => {
            if let Some(n) = i.as_i64() {
                Json::from(n)
            } else if let Some(n) = i.as_u64() {
                Json::from(n)
            } else {
                Json::Null
            }
        }
        Mp::F32(f) => serde_json::Number::from_f64(f64::from(*f)).map_or(Json::Null, Json::Number),
        Mp::F64(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Mp::String(s) => Json::String(
            s.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(s.as_bytes()).into_owned()),
        ),
        Mp::Binary(b) => {
            let num = binaries.len();
            binaries.push(Bytes::copy_from_slice(b));
            serde_json::json!({"_placeholder": true, "num": num})
        }
        Mp::Array(items) => Json::Array(items.iter().map(|i| mp_to_json(i, binaries)).collect()),
        Mp::Map(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                let key = match k {
                    Mp::String(s) => s.as_str().unwrap_or_default().to_string(),
                    other => other.to_string(),
                };
                m.insert(key, mp_to_json(v, binaries));
            }
            Json::Object(m)
        }
        Mp::Ext(kind, data) => ext_to_json(*kind, data),
    }
}

/// notepack's extension types: −1 is a Date (msgpack timestamp), shown as JSON shows a Date;
/// 1 is a BigInt as its decimal string. Unknown ones become `null`.
fn ext_to_json(kind: i8, data: &[u8]) -> Json {
    match kind {
        -1 => timestamp_ms(data).map_or(Json::Null, |ms| {
            Json::String(crate::calendar::iso_string(ms))
        }),
        1 => Json::String(String::from_utf8_lossy(data).into_owned()),
        _ => Json::Null,
    }
}

/// The largest distance from the epoch a JavaScript Date can hold, in milliseconds; past it
/// notepack decodes an Invalid Date, which JSON shows as `null`.
const MAX_DATE_MS: i64 = 8_640_000_000_000_000;

/// Milliseconds since the epoch of a msgpack timestamp. The 96-bit form carries any `i64` of
/// seconds (and nanoseconds up to 2^32 - 1): every step is checked, as the input is a peer's.
fn timestamp_ms(data: &[u8]) -> Option<i64> {
    let ms = match data.len() {
        4 => {
            let secs = u32::from_be_bytes(data.try_into().ok()?);
            i64::from(secs) * 1000
        }
        8 => {
            let raw = u64::from_be_bytes(data.try_into().ok()?);
            // 30 bits of nanoseconds and 34 of seconds: far from i64's bounds.
            let nanos = (raw >> 34) as i64;
            let secs = (raw & 0x3_ffff_ffff) as i64;
            secs * 1000 + nanos / 1_000_000
        }
        12 => {
            let nanos = u32::from_be_bytes(data[0..4].try_into().ok()?);
            let secs = i64::from_be_bytes(data[4..12].try_into().ok()?);
            secs.checked_mul(1000)?
                .checked_add(i64::from(nanos) / 1_000_000)?
        }
        _ => return None,
    };
    (ms.abs() <= MAX_DATE_MS).then_some(ms)
}

/// A JSON value as msgpack the way notepack encodes JavaScript values; placeholders become
/// `bin` values from `binaries`.
pub fn json_to_mp(v: &Json, binaries: &[Bytes]) -> Mp {
    match v {
        Json::Null => Mp::Nil,
        Json::Bool(b) => Mp::Boolean(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Mp::from(i)
            } else if let Some(u) = n.as_u64() {
                Mp::from(u)
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                // JavaScript has one number type: 2.0 is the integer 2 on the wire.
                if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                    Mp::from(f as i64)
                } else {
                    Mp::F64(f)
                }
            }
        }
        Json::String(s) => Mp::from(s.as_str()),
        Json::Array(items) => Mp::Array(items.iter().map(|i| json_to_mp(i, binaries)).collect()),
        Json::Object(m) => {
            if let Some(bytes) = placeholder(m, binaries) {
                return Mp::Binary(bytes.to_vec());
            }
            Mp::Map(
                m.iter()
                    .map(|(k, v)| (Mp::from(k.as_str()), json_to_mp(v, binaries)))
                    .collect(),
            )
        }
    }
}

fn placeholder<'a>(m: &Map<String, Json>, binaries: &'a [Bytes]) -> Option<&'a Bytes> {
    if m.len() == 2 && m.get("_placeholder") == Some(&Json::Bool(true)) {
        let num = m.get("num")?.as_u64()? as usize;
        return binaries.get(num);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_decode_to_iso_strings() {
        // 2026-11-22T10:04:05.123Z as msgpack timestamp 64.
        let secs: u64 = 1_795_341_845;
        let nanos: u64 = 123_000_000;
        let raw = (nanos << 34) | secs;
        let v = Mp::Ext(-1, raw.to_be_bytes().to_vec());
        assert_eq!(
            mp_to_json(&v, &mut Vec::new()),
            Json::String("2026-11-22T10:04:05.123Z".into())
        );
        let v = Mp::Ext(-1, (secs as u32).to_be_bytes().to_vec());
        assert_eq!(
            mp_to_json(&v, &mut Vec::new()),
            Json::String("2026-11-22T10:04:05.000Z".into())
        );
    }

    fn timestamp96(secs: i64, nanos: u32) -> Mp {
        let mut data = nanos.to_be_bytes().to_vec();
        data.extend_from_slice(&secs.to_be_bytes());
        Mp::Ext(-1, data)
    }

    #[test]
    fn out_of_range_dates_are_null_not_a_panic() {
        // secs * 1000 fits in i64, adding the nanoseconds' milliseconds does not.
        for (secs, nanos) in [
            (i64::MAX / 1000, u32::MAX),
            (i64::MAX, 0),
            (i64::MIN, u32::MAX),
            (MAX_DATE_MS / 1000 + 1, 0),
        ] {
            let v = timestamp96(secs, nanos);
            assert_eq!(mp_to_json(&v, &mut Vec::new()), Json::Null, "{secs} s");
        }
    }

    #[test]
    fn dates_at_the_edges_of_javascripts_range() {
        let edge = MAX_DATE_MS / 1000;
        assert_eq!(
            mp_to_json(&timestamp96(edge, 0), &mut Vec::new()),
            Json::String("+275760-09-13T00:00:00.000Z".into())
        );
        assert_eq!(
            mp_to_json(&timestamp96(-edge, 0), &mut Vec::new()),
            Json::String("-271821-04-20T00:00:00.000Z".into())
        );
        assert_eq!(
            mp_to_json(&timestamp96(-1, 999_000_000), &mut Vec::new()),
            Json::String("1969-12-31T23:59:59.999Z".into())
        );
    }
}
