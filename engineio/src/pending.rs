//! An answer a host (Python, JavaScript, a closure) gives now or later.

use futures_util::future::BoxFuture;

/// A value that is either available now or will be produced by the host later.
pub enum Pending<T> {
    Ready(T),
    Later(BoxFuture<'static, T>),
}

impl<T> Pending<T> {
    /// Awaits the answer (at once when it is ready).
    pub async fn resolve(self) -> T {
        match self {
            Pending::Ready(value) => value,
            Pending::Later(later) => later.await,
        }
    }
}
