//! Control of live sessions from outside SIP: starting a session without a
//! call (the REST API's `POST /v1/sessions`), listing and inspecting live
//! sessions, ending one, and HTTP requests to a session's `accessURL`.
//!
//! The call layer owns the session table, so every operation is a message to
//! the signalling task; [`SessionControl`] is the cheap, cloneable handle the
//! HTTP side holds.

use dialtone_core::messages::AccessRequest;
use dialtone_core::SessionId;
use tokio::sync::{mpsc, oneshot};

pub use dialtone_calls::AdmissionError as ControlError;
pub use dialtone_calls::{Binding, LiveCall, LiveSession, StartRequest, StartedSession, UserKey};

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
    /// The registered users of `account` (and `application`) with their
    /// live bindings.
    Bindings {
        account: String,
        application: Option<String>,
        reply: oneshot::Sender<Vec<(UserKey, Vec<Binding>)>>,
    },
    /// `account`'s agents and queues changed (all of that account's).
    SetContactCentre {
        account: String,
        agents: Vec<dialtone_calls::AgentConfig>,
        queues: Vec<dialtone_calls::QueueConfig>,
    },
    /// A state change asked of an agent (REST, CTI).
    AgentCommand {
        account: String,
        agent: String,
        command: dialtone_calls::AgentCommand,
        reply: oneshot::Sender<Result<dialtone_calls::AgentStatus, dialtone_calls::AgentError>>,
    },
    /// `account`'s agents' live states and queues' figures.
    ContactCentre {
        account: String,
        reply: oneshot::Sender<(
            Vec<dialtone_calls::AgentStatus>,
            Vec<dialtone_calls::QueueStats>,
        )>,
    },
    /// The trunks to keep registered changed (all of them).
    SetTrunkRegistrations(Vec<dialtone_calls::TrunkRegistrationConfig>),
    /// Where `account`'s registering trunks stand.
    TrunkRegistrations {
        account: String,
        reply: oneshot::Sender<Vec<dialtone_calls::TrunkRegistrationStatus>>,
    },
    /// A user was deleted: its bindings go.
    ForgetUser { user: UserKey },
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
    gate: super::access_gate::AccessGate,
    cti: crate::cti::hub::CtiHub,
}

impl SessionControl {
    pub fn new() -> (SessionControl, mpsc::UnboundedReceiver<Control>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let gate = super::access_gate::AccessGate::default();
        let cti = crate::cti::hub::CtiHub::default();
        (SessionControl { tx, gate, cti }, rx)
    }

    /// Desktop events, published by the call driver.
    pub fn cti(&self) -> &crate::cti::hub::CtiHub {
        &self.cti
    }

    /// The sessions with a live `accessURL`, for checks before a request
    /// is read.
    pub fn gate(&self) -> &super::access_gate::AccessGate {
        &self.gate
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

    pub async fn bindings(
        &self,
        account: String,
        application: Option<String>,
    ) -> Result<Vec<(UserKey, Vec<Binding>)>, ControlError> {
        self.ask(|reply| Control::Bindings {
            account,
            application,
            reply,
        })
        .await
    }

    pub fn set_contact_centre(
        &self,
        account: String,
        agents: Vec<dialtone_calls::AgentConfig>,
        queues: Vec<dialtone_calls::QueueConfig>,
    ) {
        let _ = self.tx.send(Control::SetContactCentre {
            account,
            agents,
            queues,
        });
    }

    pub async fn agent_command(
        &self,
        account: String,
        agent: String,
        command: dialtone_calls::AgentCommand,
    ) -> Result<Result<dialtone_calls::AgentStatus, dialtone_calls::AgentError>, ControlError> {
        self.ask(|reply| Control::AgentCommand {
            account,
            agent,
            command,
            reply,
        })
        .await
    }

    pub async fn contact_centre(
        &self,
        account: String,
    ) -> Result<
        (
            Vec<dialtone_calls::AgentStatus>,
            Vec<dialtone_calls::QueueStats>,
        ),
        ControlError,
    > {
        self.ask(|reply| Control::ContactCentre { account, reply })
            .await
    }

    pub fn set_trunk_registrations(&self, trunks: Vec<dialtone_calls::TrunkRegistrationConfig>) {
        let _ = self.tx.send(Control::SetTrunkRegistrations(trunks));
    }

    pub async fn trunk_registrations(
        &self,
        account: String,
    ) -> Result<Vec<dialtone_calls::TrunkRegistrationStatus>, ControlError> {
        self.ask(|reply| Control::TrunkRegistrations { account, reply })
            .await
    }

    pub fn forget_user(&self, user: UserKey) {
        let _ = self.tx.send(Control::ForgetUser { user });
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

pub use dialtone_calls::access_not_found as not_found;
