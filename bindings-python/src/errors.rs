//! Python exceptions raised by the extension. The classes live in `roomcast.errors` (pure
//! Python, so users can subclass and catch them without importing the extension).

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use roomcast::EmitError;

/// Builds an instance of `roomcast.errors.<name>`, or `fallback` when the package is not
/// importable (the extension used on its own).
fn typed(py: Python<'_>, name: &str, message: String, fallback: fn(String) -> PyErr) -> PyErr {
    let class = py.import("roomcast.errors").and_then(|m| m.getattr(name));
    match class {
        Ok(class) => match class.call1((message.clone(),)) {
            Ok(instance) => PyErr::from_value(instance),
            Err(_) => fallback(message),
        },
        Err(_) => fallback(message),
    }
}

pub fn emit_error(py: Python<'_>, e: EmitError) -> PyErr {
    typed(py, "EmitError", e.to_string(), PyValueError::new_err)
}

pub fn server_closed(py: Python<'_>) -> PyErr {
    typed(
        py,
        "ServerClosed",
        "the server is closed".into(),
        PyRuntimeError::new_err,
    )
}

pub fn invalid(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}
