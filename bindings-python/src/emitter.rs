//! `roomcast._native.Emitter`: the core's [`roomcast_redis::Emitter`] for processes that run no
//! server. Publishing runs on the shared runtime without the GIL; the Python callback that
//! settles the result runs on a blocking-pool thread, so no runtime worker ever waits for the
//! GIL.

use crate::errors::invalid;
use crate::payload;
use crate::runtime;
use pyo3::prelude::*;
use roomcast_redis::{Emitter, EmitterError, RedisAdapterConfig};
use std::future::Future;

#[pyclass(frozen, name = "Emitter", module = "roomcast._native")]
pub struct PyEmitter {
    base: Emitter,
}

/// Runs `fut`, then calls `done(None, None)` on success or `done(kind, message)` on failure,
/// where `kind` is `"emit"` (the event cannot be sent) or `"redis"`.
fn settle<F>(fut: F, done: Py<PyAny>)
where
    F: Future<Output = Result<(), EmitterError>> + Send + 'static,
{
    let rt = runtime::handle();
    let blocking = rt.clone();
    rt.spawn(async move {
        let outcome = fut.await.map_err(|e| {
            let kind = if matches!(e, EmitterError::Emit(_)) {
                "emit"
            } else {
                "redis"
            };
            (kind, e.to_string())
        });
        blocking.spawn_blocking(move || {
            // None when the interpreter is shutting down: nobody is left to tell.
            Python::try_attach(move |py| {
                let result = match outcome {
                    Ok(()) => done.call1(py, (py.None(), py.None())),
                    Err((kind, message)) => done.call1(py, (kind, message)),
                };
                if let Err(e) = result {
                    e.write_unraisable(py, None);
                }
            });
        });
    });
}

impl PyEmitter {
    fn select(
        &self,
        nsp: &str,
        rooms: Vec<String>,
        except: Vec<String>,
        volatile: bool,
        compress: Option<bool>,
    ) -> Emitter {
        let mut e = self.base.of(nsp).to(rooms).except(except);
        if volatile {
            e = e.volatile();
        }
        if let Some(c) = compress {
            e = e.compress(c);
        }
        e
    }
}

#[pymethods]
impl PyEmitter {
    /// Checks the URL; the connection is made on the first publish.
    #[new]
    #[pyo3(signature = (url, key = "socket.io"))]
    fn new(url: &str, key: &str) -> PyResult<PyEmitter> {
        let mut config = RedisAdapterConfig::new(url);
        config.key = key.to_string();
        let base = Emitter::with_config(config).map_err(|e| invalid(e.to_string()))?;
        Ok(PyEmitter { base })
    }

    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (nsp, rooms, except_, volatile, compress, event, json, binaries, done))]
    fn emit(
        &self,
        nsp: &str,
        rooms: Vec<String>,
        except_: Vec<String>,
        volatile: bool,
        compress: Option<bool>,
        event: String,
        json: &Bound<'_, PyAny>,
        binaries: Option<&Bound<'_, PyAny>>,
        done: Py<PyAny>,
    ) -> PyResult<()> {
        let args = payload::from_py(json, binaries)?;
        let e = self.select(nsp, rooms, except_, volatile, compress);
        settle(async move { e.emit(&event, args).await }, done);
        Ok(())
    }

    #[pyo3(signature = (nsp, rooms, except_, join, done))]
    fn sockets_join(
        &self,
        nsp: &str,
        rooms: Vec<String>,
        except_: Vec<String>,
        join: Vec<String>,
        done: Py<PyAny>,
    ) {
        let e = self.select(nsp, rooms, except_, false, None);
        settle(async move { e.sockets_join(join).await }, done);
    }

    #[pyo3(signature = (nsp, rooms, except_, leave, done))]
    fn sockets_leave(
        &self,
        nsp: &str,
        rooms: Vec<String>,
        except_: Vec<String>,
        leave: Vec<String>,
        done: Py<PyAny>,
    ) {
        let e = self.select(nsp, rooms, except_, false, None);
        settle(async move { e.sockets_leave(leave).await }, done);
    }

    #[pyo3(signature = (nsp, rooms, except_, close, done))]
    fn disconnect_sockets(
        &self,
        nsp: &str,
        rooms: Vec<String>,
        except_: Vec<String>,
        close: bool,
        done: Py<PyAny>,
    ) {
        let e = self.select(nsp, rooms, except_, false, None);
        settle(async move { e.disconnect_sockets(close).await }, done);
    }

    #[pyo3(signature = (nsp, event, json, binaries, done))]
    fn server_side_emit(
        &self,
        nsp: &str,
        event: String,
        json: &Bound<'_, PyAny>,
        binaries: Option<&Bound<'_, PyAny>>,
        done: Py<PyAny>,
    ) -> PyResult<()> {
        let args = payload::from_py(json, binaries)?;
        let e = self.base.of(nsp);
        settle(async move { e.server_side_emit(&event, args).await }, done);
        Ok(())
    }
}
