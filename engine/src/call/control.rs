//! Control of live sessions from outside SIP: starting a session without a
//! call (the REST API's `POST /v1/sessions`), listing and inspecting live
//! sessions, ending one, and HTTP requests to a session's `accessURL`.
//!
//! The call layer owns the session table, so every operation is a message to
//! the signalling task; [`SessionControl`] is the cheap, cloneable handle the
//! HTTP side holds.

use crate::routing::RouteOwner;
use dialtone_core::messages::{AccessRequest, AccessResponse, CallState};
use dialtone_core::{CallId, SessionId};
use dialtone_script::Scenario;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A session to start with no call: `AppEvents.Started` is its first event.
#[derive(Debug)]
pub struct StartRequest {
    pub scenario: Arc<Scenario>,
    pub custom_data: String,
    pub owner: Option<RouteOwner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedSession {
    pub id: SessionId,
    pub access_url: String,
    /// Milliseconds since the epoch.
    pub started_at: i64,
}

/// A live session as the call layer sees it.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub id: SessionId,
    pub owner: Option<RouteOwner>,
    /// The scenario's name (`application/scenario` in `dialtone serve`).
    pub scenario: String,
    pub started_at: i64,
    /// Asked to end (REST, shutdown) and not ended yet.
    pub terminating: bool,
    pub access_url: String,
    pub calls: Vec<LiveCall>,
}

#[derive(Debug, Clone)]
pub struct LiveCall {
    pub id: CallId,
    pub incoming: bool,
    pub state: CallState,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("the engine is shutting down")]
    ShuttingDown,
    #[error("the engine is overloaded: history is not keeping up; retry later")]
    Overloaded,
    #[error("the limit of {0} live sessions is reached; retry later")]
    SessionLimit(usize),
}

pub enum Control {
    Start {
        request: StartRequest,
        reply: oneshot::Sender<Result<StartedSession, ControlError>>,
    },
    /// Live sessions; only `account`'s when given.
    List {
        account: Option<String>,
        reply: oneshot::Sender<Vec<LiveSession>>,
    },
    Get {
        session: SessionId,
        reply: oneshot::Sender<Option<LiveSession>>,
    },
    /// Asks a session to end; answers whether it was live (and `account`'s,
    /// when given).
    Terminate {
        session: SessionId,
        account: Option<String>,
        reply: oneshot::Sender<bool>,
    },
    /// An HTTP request to `accessURL`; the call layer answers 404 itself
    /// when the session or token is unknown.
    Access {
        session: SessionId,
        token: String,
        request: AccessRequest,
    },
}

/// The handle the HTTP side uses. Every call fails with
/// [`ControlError::ShuttingDown`] once the signalling task is gone.
#[derive(Clone)]
pub struct SessionControl {
    tx: mpsc::UnboundedSender<Control>,
}

impl SessionControl {
    pub fn new() -> (SessionControl, mpsc::UnboundedReceiver<Control>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (SessionControl { tx }, rx)
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Control,
    ) -> Result<T, ControlError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .map_err(|_| ControlError::ShuttingDown)?;
        rx.await.map_err(|_| ControlError::ShuttingDown)
    }

    pub async fn start(&self, request: StartRequest) -> Result<StartedSession, ControlError> {
        self.ask(|reply| Control::Start { request, reply }).await?
    }

    pub async fn list(&self, account: Option<String>) -> Result<Vec<LiveSession>, ControlError> {
        self.ask(|reply| Control::List { account, reply }).await
    }

    pub async fn get(&self, session: SessionId) -> Result<Option<LiveSession>, ControlError> {
        self.ask(|reply| Control::Get { session, reply }).await
    }

    pub async fn terminate(
        &self,
        session: SessionId,
        account: Option<String>,
    ) -> Result<bool, ControlError> {
        self.ask(|reply| Control::Terminate {
            session,
            account,
            reply,
        })
        .await
    }

    /// Hands a request to the session; its answer arrives on the receiver
    /// that came with `request.reply`.
    pub fn access(
        &self,
        session: SessionId,
        token: String,
        request: AccessRequest,
    ) -> Result<(), ControlError> {
        self.tx
            .send(Control::Access {
                session,
                token,
                request,
            })
            .map_err(|_| ControlError::ShuttingDown)
    }
}

/// A fresh secret for a session's `accessURL`: 128 random bits in hex.
pub fn new_access_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Compares tokens in time independent of where they first differ.
pub fn token_matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The answer for a request to an unknown session or with a wrong token.
pub fn not_found() -> AccessResponse {
    AccessResponse {
        status: 404,
        content_type: Some("application/json"),
        body: r#"{"error":{"code":"not_found","message":"no such session"}}"#.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_hex_and_compare_exactly() {
        let a = new_access_token();
        let b = new_access_token();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert!(token_matches(&a, &a.clone()));
        assert!(!token_matches(&a, &b));
        assert!(!token_matches(&a, &a[..31]));
        assert!(!token_matches(&a, ""));
    }
}
