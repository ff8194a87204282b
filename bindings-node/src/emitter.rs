//! `NativeEmitter`: the core's [`roomcast_redis::Emitter`] for processes that run no server. Each
//! operation publishes on the shared runtime and settles a Promise; the JavaScript thread
//! never waits for Redis.

use crate::args::to_payload;
use crate::runtime;
use napi::bindgen_prelude::{Buffer, Object};
use napi::Env;
use napi_derive::napi;
use roomcast_redis::{Emitter, EmitterError, RedisAdapterConfig};
use std::future::Future;

/// Namespace, recipients and flags of one emitter operation.
#[napi(object)]
pub struct EmitterTarget {
    pub nsp: String,
    pub rooms: Option<Vec<String>>,
    pub except: Option<Vec<String>>,
    pub volatile: Option<bool>,
    pub compress: Option<bool>,
}

#[napi]
pub struct NativeEmitter {
    base: Emitter,
}

/// A Promise settled when `fut` completes on the runtime.
pub(crate) fn promise<'env, F>(env: &'env Env, fut: F) -> napi::Result<Object<'env>>
where
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    let rt = runtime::get()?;
    let (deferred, promise) = env.create_deferred::<(), _>()?;
    rt.spawn(async move {
        match fut.await {
            Ok(()) => deferred.resolve(|_| Ok(())),
            Err(message) => deferred.reject(napi::Error::from_reason(message)),
        }
    });
    Ok(promise)
}

fn failed(e: EmitterError) -> String {
    format!("roomcast: {e}")
}

impl NativeEmitter {
    fn select(&self, target: &EmitterTarget) -> Emitter {
        let mut e = self.base.of(&target.nsp);
        if let Some(rooms) = &target.rooms {
            e = e.to(rooms.iter().map(String::as_str));
        }
        if let Some(except) = &target.except {
            e = e.except(except.iter().map(String::as_str));
        }
        if target.volatile.unwrap_or(false) {
            e = e.volatile();
        }
        if let Some(c) = target.compress {
            e = e.compress(c);
        }
        e
    }
}

#[napi]
impl NativeEmitter {
    /// Checks the URL; the connection is made on the first publish.
    #[napi(constructor)]
    pub fn new(url: String, key: Option<String>) -> napi::Result<Self> {
        let mut config = RedisAdapterConfig::new(url);
        if let Some(key) = key {
            config.key = key;
        }
        let base = Emitter::with_config(config).map_err(|e| napi::Error::from_reason(failed(e)))?;
        Ok(NativeEmitter { base })
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn emit<'env>(
        &self,
        env: &'env Env,
        target: EmitterTarget,
        event: String,
        json: String,
        binaries: Option<Vec<Buffer>>,
    ) -> napi::Result<Object<'env>> {
        let e = self.select(&target);
        let args = to_payload(json, binaries);
        promise(
            env,
            async move { e.emit(&event, args).await.map_err(failed) },
        )
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn sockets_join<'env>(
        &self,
        env: &'env Env,
        target: EmitterTarget,
        rooms: Vec<String>,
    ) -> napi::Result<Object<'env>> {
        let e = self.select(&target);
        promise(
            env,
            async move { e.sockets_join(rooms).await.map_err(failed) },
        )
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn sockets_leave<'env>(
        &self,
        env: &'env Env,
        target: EmitterTarget,
        rooms: Vec<String>,
    ) -> napi::Result<Object<'env>> {
        let e = self.select(&target);
        promise(
            env,
            async move { e.sockets_leave(rooms).await.map_err(failed) },
        )
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn disconnect_sockets<'env>(
        &self,
        env: &'env Env,
        target: EmitterTarget,
        close: bool,
    ) -> napi::Result<Object<'env>> {
        let e = self.select(&target);
        promise(env, async move {
            e.disconnect_sockets(close).await.map_err(failed)
        })
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn server_side_emit<'env>(
        &self,
        env: &'env Env,
        nsp: String,
        event: String,
        json: String,
        binaries: Option<Vec<Buffer>>,
    ) -> napi::Result<Object<'env>> {
        let e = self.base.of(&nsp);
        let args = to_payload(json, binaries);
        promise(env, async move {
            e.server_side_emit(&event, args).await.map_err(failed)
        })
    }
}
