//! The session table: starting sessions (for an INVITE or over REST),
//! listing, ending them, requests to their `accessURL`, and what happens to
//! a session's calls when it ends.

use std::sync::Arc;
use std::time::Instant;

use dialtone_core::messages::{AccessRequest, AccessResponse, CallState, SessionEnd, SessionEvent};
use dialtone_core::{CallId, Scenario, SessionId};
use dialtone_sip::UaCommand;

use crate::admission::AdmissionError;
use crate::call::Phase;
use crate::codes;
use crate::io::{Fact, HttpJob, Job, Output, SessionStart};
use crate::services::RouteOwner;
use crate::CallCore;

pub(crate) struct SessionEntry {
    pub calls: Vec<CallId>,
    pub owner: Option<RouteOwner>,
    /// The scenario's name.
    pub scenario: String,
    /// Milliseconds since the epoch.
    pub started_at: i64,
    /// The secret part of the session's `accessURL`.
    pub access_token: String,
    /// Asked to end (REST, shutdown) and not ended yet.
    pub terminating: bool,
    /// Max-Forwards of the INVITEs it sends: one less than its inbound
    /// call's, 70 without one.
    pub max_forwards: u8,
}

/// A session to start with no call: `AppEvents.Started` is its first event.
#[derive(Debug)]
pub struct StartRequest {
    pub scenario: Arc<Scenario>,
    pub custom_data: String,
    pub owner: Option<RouteOwner>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct StartedSession {
    pub id: SessionId,
    pub access_url: String,
    /// Milliseconds since the epoch.
    pub started_at: i64,
}

impl std::fmt::Debug for StartedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartedSession")
            .field("id", &self.id)
            .field("access_url", &redacted_access_url(&self.access_url))
            .field("started_at", &self.started_at)
            .finish()
    }
}

/// A live session as the call core sees it.
#[derive(Clone)]
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

impl std::fmt::Debug for LiveSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSession")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("scenario", &self.scenario)
            .field("started_at", &self.started_at)
            .field("terminating", &self.terminating)
            .field("access_url", &redacted_access_url(&self.access_url))
            .field("calls", &self.calls)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct LiveCall {
    pub id: CallId,
    pub incoming: bool,
    pub state: CallState,
}

/// A fresh secret for a session's `accessURL`: 128 random bits in hex.
pub fn new_access_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// An `accessURL` as it may be shown (`Debug`, logs): its token, the last
/// path segment, as `***`.
pub fn redacted_access_url(url: &str) -> String {
    match url.rsplit_once('/') {
        Some((base, _token)) => format!("{base}/***"),
        None => "***".to_owned(),
    }
}

/// Compares tokens in time independent of where they first differ.
pub fn token_matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The answer to a request to an unknown session or with a wrong token.
pub fn access_not_found() -> AccessResponse {
    AccessResponse {
        status: 404,
        content_type: Some("application/json"),
        body: r#"{"error":{"code":"not_found","message":"no such session"}}"#.to_owned(),
    }
}

impl CallCore {
    /// Starts a session with no call (`POST /v1/sessions`, `dialtone test`
    /// without an inbound call).
    pub fn start_session(
        &mut self,
        now: Instant,
        request: StartRequest,
    ) -> Result<StartedSession, AdmissionError> {
        self.admit_counted(now)?;
        self.admit_owner_counted(request.owner.as_ref().map(|o| o.account.as_str()))?;
        let session = SessionId::new();
        tracing::debug!(%session, scenario = %request.scenario.name, "session started without a call");
        Ok(self.spawn(
            session,
            request.scenario,
            request.custom_data,
            request.owner,
            None,
            Vec::new(),
        ))
    }

    /// Enters a session in the table and asks the driver to start it.
    pub(crate) fn spawn(
        &mut self,
        session: SessionId,
        scenario: Arc<Scenario>,
        custom_data: String,
        owner: Option<RouteOwner>,
        first_event: Option<SessionEvent>,
        calls: Vec<CallId>,
    ) -> StartedSession {
        let access_token = new_access_token();
        let access_url = self.access_url(session, &access_token);
        let started_at = self.services.wall_ms();
        self.fact(Fact::SessionStarted {
            session,
            owner: owner.clone(),
        });
        self.sessions.insert(
            session,
            SessionEntry {
                calls,
                owner,
                scenario: scenario.name.clone(),
                started_at,
                access_token,
                terminating: false,
                max_forwards: crate::DEFAULT_MAX_FORWARDS,
            },
        );
        self.output(Output::Start(SessionStart {
            id: session,
            scenario,
            custom_data,
            first_event,
            access_url: access_url.clone(),
        }));
        StartedSession {
            id: session,
            access_url,
            started_at,
        }
    }

    fn access_url(&self, session: SessionId, token: &str) -> String {
        format!("{}/{session}/{token}", self.cfg.access_base)
    }

    /// Live sessions; only `account`'s when given.
    pub fn list_sessions(&self, account: Option<&str>) -> Vec<LiveSession> {
        self.sessions
            .iter()
            .filter(|(_, s)| owned_by(s, account))
            .map(|(id, s)| self.live_view(*id, s))
            .collect()
    }

    pub fn session(&self, id: SessionId) -> Option<LiveSession> {
        self.sessions.get(&id).map(|s| self.live_view(id, s))
    }

    fn live_view(&self, id: SessionId, s: &SessionEntry) -> LiveSession {
        LiveSession {
            id,
            owner: s.owner.clone(),
            scenario: s.scenario.clone(),
            started_at: s.started_at,
            terminating: s.terminating,
            access_url: self.access_url(id, &s.access_token),
            calls: s
                .calls
                .iter()
                .filter_map(|c| self.calls.get(c))
                .map(|c| LiveCall {
                    id: c.id,
                    incoming: c.incoming,
                    state: c.state,
                })
                .collect(),
        }
    }

    /// Asks a session to end; true if it was live (and `account`'s, when given).
    pub fn terminate_session(
        &mut self,
        session: SessionId,
        account: Option<&str>,
        reason: &str,
    ) -> bool {
        match self.sessions.get_mut(&session) {
            Some(s) if owned_by(s, account) => {
                s.terminating = true;
                let reason = reason.to_string();
                self.event(session, SessionEvent::Terminate { reason });
                true
            }
            _ => false,
        }
    }

    /// Asks every live session to end and refuses new ones (shutdown).
    pub fn terminate_all(&mut self, reason: &str) {
        self.closed = true;
        let mut live: Vec<SessionId> = self.sessions.keys().copied().collect();
        live.sort_by_key(|s| s.0);
        for session in live {
            self.terminate_session(session, None, reason);
        }
    }

    /// A request to a session's `accessURL`. A wrong token and an unknown
    /// session look the same: the request comes back for a 404.
    pub fn access(
        &mut self,
        session: SessionId,
        token: &str,
        request: AccessRequest,
    ) -> Result<(), AccessRequest> {
        match self.sessions.get(&session) {
            Some(s) if token_matches(&s.access_token, token) => {
                self.event(session, SessionEvent::Access(request));
                Ok(())
            }
            _ => Err(request),
        }
    }

    /// `Net.httpRequestAsync`: the driver runs it; the result comes back as
    /// a job result and goes to the session if it is still live.
    pub(crate) fn http_request(&mut self, session: SessionId, job: HttpJob) {
        if self.sessions.contains_key(&session) {
            self.output(Output::Job(Job::Http(job)));
        }
    }

    /// `ApplicationStorage`: the driver runs it on the store of the
    /// session's application; the result comes back as a job result.
    pub(crate) fn storage(
        &mut self,
        session: SessionId,
        id: u64,
        op: dialtone_core::storage::StorageOp,
    ) {
        let Some(entry) = self.sessions.get(&session) else {
            return;
        };
        let scope = entry
            .owner
            .as_ref()
            .map(|o| dialtone_core::storage::StorageScope {
                account: o.account.clone(),
                application: o.application.clone(),
            })
            .unwrap_or_default();
        self.output(Output::Job(Job::Storage {
            session,
            id,
            scope,
            op,
        }));
    }

    /// The session has ended: its units go, its calls are hung up (BYE, or a
    /// final response to an unanswered INVITE), and nothing more reaches it.
    pub(crate) fn session_ended(&mut self, now: Instant, session: SessionId, reason: SessionEnd) {
        let Some(entry) = self.sessions.remove(&session) else {
            return;
        };
        self.output(Output::Ended(session));
        self.release_session_units(session);
        self.forget_conference_session(session);
        let unanswered = match &reason {
            SessionEnd::Normal => codes::UNANSWERED_HANGUP,
            SessionEnd::ScriptError(_) | SessionEnd::CompileError(_) => codes::SCRIPT_ERROR,
        };
        tracing::debug!(%session, ?reason, calls = entry.calls.len(), "session ended");
        self.fact(Fact::SessionEnded { session, reason });
        for id in entry.calls {
            let Some(call) = self.calls.get_mut(&id) else {
                continue;
            };
            let leg = call.leg;
            match call.phase {
                Phase::Offered => {
                    self.ua(UaCommand::Reject {
                        leg,
                        code: unanswered,
                        reason: None,
                        headers: Vec::new(),
                    });
                    self.release(
                        id,
                        now,
                        Some((unanswered, codes::reason(unanswered).to_string())),
                    );
                }
                Phase::Answering | Phase::Confirmed | Phase::Dialing => {
                    // The SIP layer reports the end later; the session is
                    // gone, so the call is cleaned up then without an event.
                    call.phase = Phase::Ending;
                    self.cancel_forks(id);
                    self.ua(UaCommand::Hangup {
                        leg,
                        headers: Vec::new(),
                    });
                }
                Phase::Resolving => {
                    self.resolving.remove(&id);
                    let code = codes::CANCELLED;
                    self.release(id, now, Some((code, codes::reason(code).to_string())));
                }
                Phase::Ending => {}
            }
        }
    }
}

fn owned_by(s: &SessionEntry, account: Option<&str>) -> bool {
    match account {
        None => true,
        Some(a) => s.owner.as_ref().is_some_and(|o| o.account == a),
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

    #[test]
    fn debug_output_does_not_show_access_tokens() {
        let token = new_access_token();
        let url = format!("http://127.0.0.1:8080/access/s1/{token}");
        let started = StartedSession {
            id: SessionId::new(),
            access_url: url.clone(),
            started_at: 1,
        };
        let live = LiveSession {
            id: started.id,
            owner: None,
            scenario: "a/b".into(),
            started_at: 1,
            terminating: false,
            access_url: url.clone(),
            calls: Vec::new(),
        };
        let start = crate::io::SessionStart {
            id: started.id,
            scenario: Arc::new(Scenario {
                name: "x".into(),
                source: String::new(),
            }),
            custom_data: String::new(),
            first_event: None,
            access_url: url,
        };
        for shown in [
            format!("{started:?}"),
            format!("{live:#?}"),
            format!("{start:?}"),
        ] {
            assert!(!shown.contains(&token), "{shown}");
            assert!(shown.contains("/access/s1/***"), "{shown}");
        }
    }
}
