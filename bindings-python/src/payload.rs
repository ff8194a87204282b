//! Event arguments between Python and the core: JSON text (as `str` or UTF-8 `bytes`, what
//! `json.dumps` / `orjson.dumps` produce) plus a list of binary attachments.

use crate::errors::invalid;
use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use roomcast::Payload;

/// The bytes of a `bytes` or the UTF-8 of a `str`.
pub fn bytes_of<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<&'a [u8]> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes());
    }
    Err(invalid(format!(
        "{what} must be str or bytes, not {}",
        type_name(obj)
    )))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// Builds a payload from the Python encoder's output.
pub fn from_py(json: &Bound<'_, PyAny>, binaries: Option<&Bound<'_, PyAny>>) -> PyResult<Payload> {
    let text = if let Ok(s) = json.cast::<PyString>() {
        s.to_str()?.to_owned()
    } else if let Ok(b) = json.cast::<PyBytes>() {
        std::str::from_utf8(b.as_bytes())
            .map_err(|_| invalid("the encoded arguments are not valid UTF-8"))?
            .to_owned()
    } else {
        return Err(invalid(format!(
            "encoded arguments must be str or bytes, not {}",
            type_name(json)
        )));
    };
    let mut bins = Vec::new();
    if let Some(list) = binaries.filter(|b| !b.is_none()) {
        for item in list.try_iter()? {
            let item = item?;
            let b = item.cast::<PyBytes>().map_err(|_| {
                invalid(format!(
                    "binary attachments must be bytes, not {}",
                    type_name(&item)
                ))
            })?;
            bins.push(Bytes::copy_from_slice(b.as_bytes()));
        }
    }
    Ok(Payload::with_binaries(text, bins))
}

/// The JSON text as `str` and the attachments as a list of `bytes` (`None` when there are none,
/// so the common case costs no list).
pub fn to_py<'py>(
    py: Python<'py>,
    payload: &Payload,
) -> PyResult<(Bound<'py, PyString>, Bound<'py, PyAny>)> {
    let json = PyString::new(py, &payload.json);
    let bins = if payload.binaries.is_empty() {
        py.None().into_bound(py)
    } else {
        let list = PyList::empty(py);
        for b in &payload.binaries {
            list.append(PyBytes::new(py, b))?;
        }
        list.into_any()
    };
    Ok((json, bins))
}
