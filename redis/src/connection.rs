//! The Redis connections every node and emitter shares the shape of.

use redis::aio::ConnectionManager;
use std::time::Duration;

/// A publishing connection: an unreachable Redis fails a call within seconds (the next call
/// tries again) instead of retrying for long, so a broadcast never waits on a dead server.
pub(crate) async fn publisher(client: &redis::Client) -> redis::RedisResult<ConnectionManager> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(2)))
        .set_number_of_retries(2);
    ConnectionManager::new_with_config(client.clone(), config).await
}

/// `PUBSUB NUMSUB channel`: how many nodes listen on it.
pub(crate) async fn subscribers(
    conn: &mut ConnectionManager,
    channel: &str,
) -> redis::RedisResult<usize> {
    let (_, n): (String, usize) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(conn)
        .await?;
    Ok(n)
}
