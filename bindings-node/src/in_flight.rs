//! Counts the attached `http.Server`'s exchanges whose last record (`http` answer, `wsEnd`)
//! is not in the mailbox yet.
//!
//! Closing the server pushes `closed` only once they are all in (or after a bound):
//! JavaScript stops reading the mailbox after `closed`, so a record pushed later would never
//! end its Node socket, and `http.Server#close()` would wait for that socket forever.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Default)]
pub struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// One exchange in flight; dropping it (after its last record is pushed) ends it.
pub struct Exchange(Arc<InFlight>);

impl InFlight {
    pub fn begin(self: &Arc<Self>) -> Exchange {
        self.count.fetch_add(1, Ordering::AcqRel);
        Exchange(self.clone())
    }

    /// Waits until no exchange is in flight, at most `bound`; false when the bound expired.
    pub async fn idle_within(&self, bound: Duration) -> bool {
        tokio::time::timeout(bound, async {
            loop {
                let idle = self.idle.notified();
                tokio::pin!(idle);
                idle.as_mut().enable();
                if self.count.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        })
        .await
        .is_ok()
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}
