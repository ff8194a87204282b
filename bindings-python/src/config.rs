//! Server options from the dict `roomcast.Server` builds (already validated and normalised
//! in Python; checked again here because the extension can be called directly).

use crate::errors::invalid;
use crate::socket::duration;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use roomcast::{Cors, CorsOrigin, Parser, PerMessageDeflate, RecoveryConfig, ServerConfig};
use roomcast_redis::{
    RedisAdapterConfig, RedisAdapterFactory, RedisShardedAdapterFactory, RedisShardedConfig,
    RedisStreamsAdapterFactory, RedisStreamsConfig,
};
use std::sync::Arc;

fn get<'py, T: pyo3::conversion::FromPyObjectOwned<'py>>(
    d: &Bound<'py, PyDict>,
    key: &str,
) -> PyResult<Option<T>> {
    match d.get_item(key)? {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => v.extract::<T>().map(Some).map_err(|e| {
            let e: PyErr = e.into();
            invalid(format!("option {key}: {e}"))
        }),
    }
}

pub fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<ServerConfig> {
    let mut c = ServerConfig::default();
    if let Some(path) = get::<String>(d, "path")? {
        if !path.starts_with('/') {
            return Err(invalid(format!("path must start with '/': {path:?}")));
        }
        c.engine.path = if path.ends_with('/') {
            path
        } else {
            format!("{path}/")
        };
    }
    if let Some(s) = get::<f64>(d, "ping_interval")? {
        c.engine.ping_interval = duration(s)?;
    }
    if let Some(s) = get::<f64>(d, "ping_timeout")? {
        c.engine.ping_timeout = duration(s)?;
    }
    if let Some(s) = get::<f64>(d, "upgrade_timeout")? {
        c.engine.upgrade_timeout = duration(s)?;
    }
    if let Some(s) = get::<f64>(d, "connect_timeout")? {
        c.connect_timeout = duration(s)?;
    }
    if let Some(n) = get::<usize>(d, "max_http_buffer_size")? {
        c.engine.max_http_buffer_size = n;
    }
    if let Some(n) = get::<usize>(d, "max_queued_frames")? {
        c.engine.max_queued_frames = n.max(1);
    }
    if let Some(n) = get::<usize>(d, "max_queued_bytes")? {
        c.engine.max_queued_bytes = n.max(1);
    }
    if let Some(n) = get::<usize>(d, "max_host_backlog_per_socket")? {
        c.max_host_backlog_per_socket = n.max(1);
    }
    if let Some(n) = get::<usize>(d, "max_host_backlog")? {
        c.max_host_backlog = n.max(1);
    }
    // 0 turns a timeout off (None in the dict keeps the core's default).
    if let Some(s) = get::<f64>(d, "http_header_timeout")? {
        c.engine.http_header_timeout = (s > 0.0).then(|| duration(s)).transpose()?;
    }
    if let Some(s) = get::<f64>(d, "http_body_timeout")? {
        c.engine.http_body_timeout = (s > 0.0).then(|| duration(s)).transpose()?;
    }
    if let Some(n) = get::<usize>(d, "max_connections")? {
        c.engine.max_connections = Some(n.max(1));
    }
    if let Some(n) = get::<usize>(d, "max_connections_per_ip")? {
        c.engine.max_connections_per_ip = Some(n.max(1));
    }
    if let Some(n) = get::<usize>(d, "max_sessions")? {
        c.engine.max_sessions = Some(n.max(1));
    }
    if let Some(transports) = get::<Vec<String>>(d, "transports")? {
        for t in &transports {
            if t != "polling" && t != "websocket" {
                return Err(invalid(format!(
                    "unknown transport {t:?}: use \"polling\" and/or \"websocket\""
                )));
            }
        }
        c.engine.transports.polling = transports.iter().any(|t| t == "polling");
        c.engine.transports.websocket = transports.iter().any(|t| t == "websocket");
        if !c.engine.transports.polling && !c.engine.transports.websocket {
            return Err(invalid("transports must name at least one transport"));
        }
    }
    let origin = match get::<Vec<String>>(d, "cors_origins")? {
        None => CorsOrigin::Disabled,
        Some(list) if list.iter().any(|o| o == "*") => CorsOrigin::Any,
        Some(list) if list.is_empty() => CorsOrigin::Disabled,
        Some(list) => CorsOrigin::List(list),
    };
    c.engine.cors = Cors {
        origin,
        credentials: get::<bool>(d, "cors_credentials")?.unwrap_or(false),
        methods: get::<Vec<String>>(d, "cors_methods")?.map(|m| m.join(",")),
        allowed_headers: get::<Vec<String>>(d, "cors_allowed_headers")?.map(|h| h.join(",")),
    };
    if let Some(n) = get::<usize>(d, "max_pending_acks")? {
        c.max_pending_acks = n;
    }
    if let Some(n) = get::<usize>(d, "max_child_namespaces")? {
        c.max_child_namespaces = n;
    }
    if let Some(b) = get::<bool>(d, "cleanup_empty_child_namespaces")? {
        c.cleanup_empty_child_namespaces = b;
    }
    if let Some(b) = get::<bool>(d, "allow_eio3")? {
        c.engine.allow_eio3 = b;
    }
    // Absent: the core's default threshold; 0: off.
    if let Some(n) = get::<usize>(d, "http_compression_threshold")? {
        c.engine.http_compression_threshold = (n > 0).then_some(n);
    }
    if let Some(pmd) = get::<Bound<'_, PyDict>>(d, "per_message_deflate")? {
        let mut deflate = PerMessageDeflate::default();
        for key in pmd.keys() {
            let key: String = key.extract()?;
            if key != "threshold" && key != "level" {
                return Err(invalid(format!(
                    "unknown per_message_deflate option {key:?}: use \"threshold\" and \"level\""
                )));
            }
        }
        if let Some(t) = get::<usize>(&pmd, "threshold")? {
            deflate.threshold = t;
        }
        if let Some(level) = get::<u32>(&pmd, "level")? {
            if level > 9 {
                return Err(invalid("per_message_deflate level must be 0 to 9"));
            }
            deflate.level = level;
        }
        c.engine.per_message_deflate = Some(deflate);
    }
    match get::<String>(d, "parser")?.as_deref() {
        None | Some("default") => {}
        Some("msgpack") => c.parser = Parser::MsgPack,
        Some(other) => {
            return Err(invalid(format!(
                "unknown parser {other:?}: use \"default\" or \"msgpack\""
            )))
        }
    }
    if let Some(r) = get::<Bound<'_, PyDict>>(d, "connection_state_recovery")? {
        let mut recovery = RecoveryConfig::default();
        if let Some(s) = get::<f64>(&r, "max_disconnection_duration")? {
            recovery.max_disconnection_duration = duration(s)?;
        }
        if let Some(b) = get::<bool>(&r, "skip_middlewares")? {
            recovery.skip_middlewares = b;
        }
        c.connection_state_recovery = Some(recovery);
    }
    if let Some(redis) = get::<Bound<'_, PyDict>>(d, "redis")? {
        c.adapter = redis_adapter(&redis)?;
    }
    Ok(c)
}

/// `RedisAdapter._config()`, `RedisStreamsAdapter._config()` (with `streams: True`) or
/// `RedisShardedAdapter._config()` (with `sharded: True`).
fn redis_adapter(
    redis: &Bound<'_, PyDict>,
) -> PyResult<Arc<dyn roomcast::adapter::AdapterFactory>> {
    if get::<bool>(redis, "sharded")?.unwrap_or(false) {
        return sharded_adapter(redis);
    }
    let url =
        get::<String>(redis, "url")?.ok_or_else(|| invalid("the Redis adapter needs a url"))?;
    let key = get::<String>(redis, "key")?;
    let timeout = get::<f64>(redis, "requests_timeout")?
        .map(duration)
        .transpose()?;
    if get::<bool>(redis, "streams")?.unwrap_or(false) {
        let mut config = RedisStreamsConfig::new(url);
        if let Some(key) = key {
            config.channel_prefix = key;
        }
        if let Some(name) = get::<String>(redis, "stream_name")? {
            config.stream_name = name;
        }
        if let Some(prefix) = get::<String>(redis, "session_key_prefix")? {
            config.session_key_prefix = prefix;
        }
        if let Some(n) = get::<usize>(redis, "max_len")? {
            config.max_len = n;
        }
        if let Some(t) = timeout {
            config.requests_timeout = t;
        }
        let factory =
            RedisStreamsAdapterFactory::new(config).map_err(|e| invalid(e.to_string()))?;
        return Ok(Arc::new(factory));
    }
    let mut config = RedisAdapterConfig::new(url);
    if let Some(key) = key {
        config.key = key;
    }
    if let Some(t) = timeout {
        config.requests_timeout = t;
    }
    let factory = RedisAdapterFactory::new(config).map_err(|e| invalid(e.to_string()))?;
    Ok(Arc::new(factory))
}

fn sharded_adapter(
    redis: &Bound<'_, PyDict>,
) -> PyResult<Arc<dyn roomcast::adapter::AdapterFactory>> {
    let nodes = get::<Vec<String>>(redis, "nodes")?.unwrap_or_default();
    let mut config = RedisShardedConfig::new(nodes);
    if let Some(key) = get::<String>(redis, "key")? {
        config.channel_prefix = key;
    }
    if let Some(mode) = get::<String>(redis, "subscription_mode")? {
        config.subscription_mode = mode.parse().map_err(|e| invalid(format!("{e}")))?;
    }
    if let Some(t) = get::<f64>(redis, "requests_timeout")? {
        config.requests_timeout = duration(t)?;
    }
    let factory = RedisShardedAdapterFactory::new(config).map_err(|e| invalid(e.to_string()))?;
    Ok(Arc::new(factory))
}
