//! `roomcast._native`: the extension module under the `roomcast` Python package.
//!
//! Python owns the application logic; this module owns nothing but handles on the core. The
//! core runs on a shared tokio runtime ([`runtime`]) and talks to Python only through the
//! event queue of [`host`], whose wake-up never takes the GIL ([`wake`]). The Python side
//! (`roomcast/_dispatch.py`) drains the queue in batches on its asyncio loop.

mod bridge;
mod config;
mod emitter;
mod errors;
mod events;
mod host;
mod namespace;
mod operator;
mod payload;
mod reply;
mod runtime;
mod server;
mod socket;
mod wake;
mod web;

use pyo3::prelude::*;

/// Sends the core's own log lines (Rust `tracing`) to stderr, filtered like `RUST_LOG`
/// (e.g. `"warn"` or `"roomcast=debug"`). Returns False if a subscriber was already set.
#[pyfunction]
#[pyo3(signature = (filter="warn"))]
fn enable_core_logging(filter: &str) -> PyResult<bool> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| errors::invalid(format!("bad log filter {filter:?}: {e}")))?;
    Ok(tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .is_ok())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<server::PyServer>()?;
    m.add_class::<namespace::PyNamespace>()?;
    m.add_class::<namespace::PyParent>()?;
    m.add_class::<socket::PySocket>()?;
    m.add_class::<operator::PyOperator>()?;
    m.add_class::<reply::PyReply>()?;
    m.add_class::<reply::PyAck>()?;
    m.add_class::<reply::PyServerSideAck>()?;
    m.add_class::<bridge::PyWebSocket>()?;
    m.add_class::<emitter::PyEmitter>()?;
    m.add_class::<web::PyHttpQueue>()?;
    m.add_class::<web::PyExchange>()?;
    m.add_function(wrap_pyfunction!(enable_core_logging, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    for (name, value) in [
        ("EV_AUTHORIZE", events::EV_AUTHORIZE),
        ("EV_CONNECTION", events::EV_CONNECTION),
        ("EV_EVENT", events::EV_EVENT),
        ("EV_DISCONNECTING", events::EV_DISCONNECTING),
        ("EV_DISCONNECT", events::EV_DISCONNECT),
        ("EV_MATCH", events::EV_MATCH),
        ("EV_OUTGOING", events::EV_OUTGOING),
        ("EV_NEW_NAMESPACE", events::EV_NEW_NAMESPACE),
        ("EV_ACK", events::EV_ACK),
        ("EV_BROADCAST_ACK", events::EV_BROADCAST_ACK),
        ("EV_SOCKETS", events::EV_SOCKETS),
        ("EV_HTTP", events::EV_HTTP),
        ("EV_WEBSOCKET", events::EV_WEBSOCKET),
        ("EV_DONE", events::EV_DONE),
        ("EV_ALLOW_REQUEST", events::EV_ALLOW_REQUEST),
        ("EV_SERVER_SIDE", events::EV_SERVER_SIDE),
        ("EV_SERVER_SIDE_ACKS", events::EV_SERVER_SIDE_ACKS),
        ("EV_ROOMS", events::EV_ROOMS),
        ("EV_ADMIN_AUTH", events::EV_ADMIN_AUTH),
        ("EV_NAMESPACE_REMOVED", events::EV_NAMESPACE_REMOVED),
    ] {
        m.add(name, value)?;
    }
    Ok(())
}
