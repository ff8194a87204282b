//! The Socket.IO server's shared state and its namespace registry: look-up, dynamic
//! children (created when a CONNECT resolves to them; removed when the last socket left under
//! `cleanupEmptyChildNamespaces`, or evicted at `max_child_namespaces` when nobody ever joined
//! them) and the matchers of dynamic parents.

use super::ServerConfig;
use crate::admission::{check_dynamic_name, Admission, Refusal};
use crate::host::{NamespaceListener, Pending};
use crate::namespace::{Namespace, ParentNamespace};
use futures_util::future::BoxFuture;
use parking_lot::RwLock;
use roomcast_engineio::EngineServer;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use tokio::runtime::Handle;

pub(crate) enum Resolved {
    Found(Admission),
    Refused(Refusal),
    Pending(BoxFuture<'static, Result<Admission, Refusal>>),
}

/// What every part of the Socket.IO server shares: its options, its Engine.IO server and its
/// namespaces (static, and the dynamic parents with their children).
pub(crate) struct ServerShared {
    pub(crate) config: ServerConfig,
    pub(crate) engine: EngineServer,
    pub(crate) runtime: Handle,
    /// Where the hosts' large broadcasts run (see [`crate::hand_off`]).
    pub(crate) hand_off: Arc<crate::hand_off::HandOff>,
    pub(super) me: Weak<ServerShared>,
    pub(super) namespaces: RwLock<HashMap<String, Arc<Namespace>>>,
    pub(super) parents: RwLock<Vec<Arc<ParentNamespace>>>,
    /// Dynamic children in `namespaces`; changed under its write lock.
    pub(super) children: AtomicUsize,
    /// Children a CONNECT at `max_child_namespaces` may evict, oldest first.
    pub(super) evictable: super::eviction::Evictable,
    pub(super) namespace_listeners: RwLock<Vec<NamespaceListener>>,
    /// Told of each dynamic child the server drops from its map.
    pub(super) removal_listeners: RwLock<Vec<NamespaceListener>>,
    /// The admin UI's feed, once the server is instrumented.
    pub(crate) monitor: crate::monitor::MonitorSlot,
    /// Signalled when a namespace's last socket leaves (closing waits for every goodbye).
    pub(crate) namespace_emptied: tokio::sync::Notify,
    /// `instrument()` has run.
    pub(crate) instrumented: std::sync::atomic::AtomicBool,
}

impl ServerShared {
    pub(crate) fn create_adapter(&self, nsp: &str) -> Arc<dyn crate::Adapter> {
        self.config.adapter.create(nsp)
    }

    pub(super) fn of(&self, name: &str) -> Arc<Namespace> {
        let name = normalize(name);
        if let Some(n) = self.namespaces.read().get(&name) {
            return n.clone();
        }
        let me = self.me.upgrade().expect("server is alive while in use");
        let created = {
            let mut map = self.namespaces.write();
            if let Some(n) = map.get(&name) {
                return n.clone();
            }
            let nsp = Namespace::new(&name, &me, None);
            map.insert(name, nsp.clone());
            nsp
        };
        self.announce(&created);
        created
    }

    pub(super) fn announce(&self, nsp: &Arc<Namespace>) {
        let listeners: Vec<NamespaceListener> = self.namespace_listeners.read().clone();
        for l in listeners {
            l(nsp);
        }
    }

    /// Starts a CONNECT into the existing namespace `name`. The map's lock keeps a refused
    /// CONNECT from removing the child between the look-up and the start.
    fn admit(&self, name: &str) -> Option<Admission> {
        let map = self.namespaces.read();
        map.get(name).map(|n| Admission::begin(n.clone()))
    }

    fn create_child(
        &self,
        parent: &Arc<ParentNamespace>,
        name: &str,
    ) -> Result<Admission, Refusal> {
        let me = self.me.upgrade().expect("server is alive while in use");
        let mut evicted = None;
        let admission = {
            let mut map = self.namespaces.write();
            if let Some(n) = map.get(name) {
                return Ok(Admission::begin(n.clone()));
            }
            let limit = self.config.max_child_namespaces;
            if self.children.load(Ordering::Acquire) >= limit {
                let Some(old) = self.evictable.take(&map) else {
                    tracing::warn!(
                        nsp = name,
                        limit,
                        "CONNECT refused: max_child_namespaces reached"
                    );
                    return Err(Refusal::TooManyChildren(limit));
                };
                tracing::debug!(
                    nsp = name,
                    evicted = old.name(),
                    "max_child_namespaces reached: evicting a child nobody joined"
                );
                self.detach(&mut map, &old);
                evicted = Some(old);
            }
            Admission::begin(self.insert_child(&mut map, &me, parent, name))
        };
        if let Some(old) = evicted {
            self.removed(&old);
        }
        parent.add_child(admission.namespace());
        self.announce(admission.namespace());
        Ok(admission)
    }

    /// A child that is in the map from now on; called under the map's write lock.
    pub(super) fn insert_child(
        &self,
        map: &mut HashMap<String, Arc<Namespace>>,
        me: &Arc<ServerShared>,
        parent: &Arc<ParentNamespace>,
        name: &str,
    ) -> Arc<Namespace> {
        let nsp = Namespace::new(name, me, Some(parent.clone()));
        map.insert(name.to_string(), nsp.clone());
        self.children.fetch_add(1, Ordering::AcqRel);
        nsp
    }

    /// Takes the child `nsp` out of `map` (under its write lock); the caller then calls
    /// [`ServerShared::removed`] once the lock is released.
    fn detach(&self, map: &mut HashMap<String, Arc<Namespace>>, nsp: &Arc<Namespace>) {
        map.remove(nsp.name());
        self.children.fetch_sub(1, Ordering::AcqRel);
        nsp.mark_removed();
    }

    /// After [`ServerShared::detach`]: the adapter lets go of its rooms (and Redis
    /// subscriptions), the hosts drop what they hold for the child.
    fn removed(&self, nsp: &Arc<Namespace>) {
        nsp.adapter().close();
        let listeners: Vec<NamespaceListener> = self.removal_listeners.read().clone();
        for l in listeners {
            l(nsp);
        }
    }

    /// `cleanupEmptyChildNamespaces`: removes the child `nsp` if it is still in the map, has
    /// no socket and no CONNECT on its way in.
    pub(crate) fn remove_child_namespace(&self, nsp: &Namespace) {
        let gone = {
            let mut map = self.namespaces.write();
            let current = map
                .get(nsp.name())
                .filter(|n| std::ptr::eq(Arc::as_ptr(n), nsp))
                .cloned();
            match current {
                Some(n) if n.socket_count() == 0 && n.no_admission_pending() => {
                    self.detach(&mut map, &n);
                    n
                }
                _ => return,
            }
        };
        self.removed(&gone);
    }

    /// A CONNECT into the child `nsp` ended, admitted or not. Under
    /// `cleanupEmptyChildNamespaces` an empty child goes (its removal may have waited for this
    /// CONNECT); otherwise a child nobody joined stays, as in socket.io, and becomes one a
    /// CONNECT at `max_child_namespaces` may evict.
    pub(crate) fn connect_ended(&self, nsp: &Namespace) {
        if nsp.parent().is_some_and(|p| p.cleanup_empty_children) {
            self.remove_child_namespace(nsp);
        } else if nsp.evictable() {
            self.evictable.offer(nsp);
        }
    }

    pub(crate) fn resolve_namespace(&self, name: &str, auth: &str) -> Resolved {
        if let Some(admission) = self.admit(name) {
            return Resolved::Found(admission);
        }
        let parents: Vec<Arc<ParentNamespace>> = self.parents.read().clone();
        if parents.is_empty() {
            return Resolved::Refused(Refusal::Invalid);
        }
        if let Err(refusal) = check_dynamic_name(name) {
            return Resolved::Refused(refusal);
        }
        let mut later = Vec::new();
        for (i, p) in parents.iter().enumerate() {
            match p.matcher.matches(name, auth) {
                Pending::Ready(true) if later.is_empty() => {
                    return match self.create_child(p, name) {
                        Ok(admission) => Resolved::Found(admission),
                        Err(refusal) => Resolved::Refused(refusal),
                    };
                }
                Pending::Ready(true) => later.push((i, Pending::Ready(true))),
                Pending::Ready(false) => {}
                pending @ Pending::Later(_) => later.push((i, pending)),
            }
        }
        if later.is_empty() {
            return Resolved::Refused(Refusal::Invalid);
        }
        // Matchers answer in registration order, as socket.io tries parents in order.
        let me = self.me.clone();
        let name = name.to_string();
        Resolved::Pending(Box::pin(async move {
            for (i, answer) in later {
                let ok = match answer {
                    Pending::Ready(b) => b,
                    Pending::Later(f) => f.await,
                };
                if ok {
                    let server = me.upgrade().ok_or(Refusal::Invalid)?;
                    if let Some(admission) = server.admit(&name) {
                        return Ok(admission);
                    }
                    return server.create_child(&parents[i], &name);
                }
            }
            Err(Refusal::Invalid)
        }))
    }
}

/// Namespace names always start with `/`.
pub(super) fn normalize(name: &str) -> String {
    if name.starts_with('/') {
        name.to_string()
    } else {
        format!("/{name}")
    }
}
