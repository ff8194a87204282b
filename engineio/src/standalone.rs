//! An Engine.IO server without anything on top: every session's messages go to one
//! [`SessionHandler`] (see [`crate::EngineServer::new`]).

use crate::server::{EngineServer, SessionAcceptor};
use crate::session::{CloseReason, EngineSession, Message, SessionHandler};
use std::sync::{Arc, Weak};

pub(crate) fn acceptor(handler: Arc<dyn SessionHandler>) -> Arc<dyn SessionAcceptor> {
    Arc::new(HandlerAcceptor { handler })
}

struct HandlerAcceptor {
    handler: Arc<dyn SessionHandler>,
}

impl SessionAcceptor for HandlerAcceptor {
    fn accept(&self, session: &Arc<EngineSession>, server: &EngineServer) {
        session.set_handler(Arc::new(Attached {
            handler: self.handler.clone(),
            server: Arc::downgrade(&server.shared),
        }));
        self.handler.on_open(session);
    }
}

/// Sits between a session and the user's handler, so the server forgets the session when it
/// closes.
struct Attached {
    handler: Arc<dyn SessionHandler>,
    server: Weak<crate::server::EngineShared>,
}

impl SessionHandler for Attached {
    fn on_message(&self, session: &Arc<EngineSession>, message: Message<'_>) {
        self.handler.on_message(session, message);
    }

    fn on_close(&self, session: &Arc<EngineSession>, reason: CloseReason) {
        self.handler.on_close(session, reason);
        if let Some(shared) = self.server.upgrade() {
            EngineServer { shared }.release_session(session, reason);
        }
    }

    fn on_upgrade(&self, session: &Arc<EngineSession>, done: bool) {
        self.handler.on_upgrade(session, done);
    }

    fn on_packet_event(&self, session: &Arc<EngineSession>, event: crate::PacketEvent) {
        self.handler.on_packet_event(session, event);
    }
}
