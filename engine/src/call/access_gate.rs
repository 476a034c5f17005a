//! Which sessions have an `accessURL` and its token, readable by the HTTP
//! side without a round trip to the signalling task: a request with an
//! unknown session or a wrong token is answered 404 before its body is read
//! or anything is queued. The call driver keeps it in step with the call
//! core's session table (a session enters when it starts, leaves when it
//! ends); the call core checks the token again when the request arrives.

use std::collections::HashMap;
use std::sync::Arc;

use dialtone_core::SessionId;
use parking_lot::RwLock;

#[derive(Clone, Default)]
pub struct AccessGate {
    tokens: Arc<RwLock<HashMap<SessionId, String>>>,
}

impl AccessGate {
    /// A session's `accessURL` is live; its token is the URL's last segment.
    pub fn open(&self, session: SessionId, access_url: &str) {
        let token = access_url.rsplit('/').next().unwrap_or_default();
        self.tokens.write().insert(session, token.to_owned());
    }

    pub fn close(&self, session: SessionId) {
        self.tokens.write().remove(&session);
    }

    /// Whether `token` opens `session`, compared in constant time.
    pub fn admits(&self, session: SessionId, token: &str) -> bool {
        self.tokens
            .read()
            .get(&session)
            .is_some_and(|t| dialtone_calls::token_matches(t, token))
    }

    /// Sessions with a live `accessURL`.
    pub fn len(&self) -> usize {
        self.tokens.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_live_session_with_its_token_gets_in() {
        let gate = AccessGate::default();
        let s = SessionId::new();
        assert!(!gate.admits(s, "abc"));
        gate.open(s, "http://h/access/x/abc");
        assert!(gate.admits(s, "abc"));
        assert!(!gate.admits(s, "abd"));
        assert!(!gate.admits(SessionId::new(), "abc"));
        gate.close(s);
        assert!(!gate.admits(s, "abc"));
        assert!(gate.is_empty());
    }
}
