//! `answer` from the desktop. The agent's phone rings with an ordinary
//! INVITE; a desktop cannot press its button, so the engine asks the phone
//! to answer by itself: a new INVITE to the same registrations carries
//! `Call-Info: <sip:HOST>;answer-after=0` and `Alert-Info:
//! <sip:HOST>;info=alert-autoanswer;delay=0` (the auto-answer requests desk
//! phones and softphones honour when auto-answer is allowed, as for
//! paging and click-to-dial), and the ringing one is cancelled. The call
//! keeps its id; only its forks change.

use std::time::Instant;

use super::{AgentError, AgentKey, AgentState};
use crate::call::Phase;
use crate::call_user::Ring;
use crate::outbound::host_for_uri;
use crate::registrar::UserKey;
use crate::CallCore;

impl CallCore {
    pub(crate) fn answer_from_desk(
        &mut self,
        now: Instant,
        key: &AgentKey,
    ) -> Result<(), AgentError> {
        let refuse = |state: AgentState, command: &'static str| AgentError::InvalidState {
            agent: key.1.clone(),
            state: state.as_str(),
            command,
        };
        let Some(agent) = self.acd.agents.get(key) else {
            return Err(AgentError::NotFound(key.1.clone()));
        };
        let state = agent.state;
        let user = UserKey {
            account: agent.cfg.account.clone(),
            application: agent.cfg.application.clone(),
            user: agent.cfg.user.clone(),
        };
        let ringing = agent.call.filter(|c| {
            self.acd.calls.get(c).is_some_and(|op| !op.connected)
                && self.calls.get(c).is_some_and(|x| x.phase == Phase::Dialing)
        });
        let Some(call) = ringing else {
            return Err(refuse(state, "answer (no call rings)"));
        };
        let callerid = self
            .acd
            .calls
            .get(&call)
            .map(|op| op.callerid.clone())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "dialtone".into());
        let mut bindings = self.registrar.bindings(&user, now);
        bindings.sort_by_key(|b| std::cmp::Reverse(b.since));
        let Some(c) = self.calls.get_mut(&call) else {
            return Err(refuse(state, "answer (no call rings)"));
        };
        let first = c.next_fork;
        let old: Vec<_> = std::iter::once(c.leg).chain(c.forks.drain(..)).collect();
        let host = host_for_uri(self.cfg.media_ip);
        let ring = Ring {
            from_user: callerid,
            display: None,
            headers: vec![
                ("Call-Info".into(), format!("<sip:{host}>;answer-after=0")),
                (
                    "Alert-Info".into(),
                    format!("<sip:{host}>;info=alert-autoanswer;delay=0"),
                ),
            ],
        };
        let sent = self.ring_bindings(call, &bindings, ring, first);
        let Some(c) = self.calls.get_mut(&call) else {
            return Ok(());
        };
        if sent == 0 {
            // Nothing went out (no registration left, no fork index free):
            // the call rings on as it was.
            c.forks = old[1..].to_vec();
            return Err(refuse(state, "answer (the phone cannot be asked to)"));
        }
        // The first new INVITE is the call's leg now.
        c.leg = c.forks.remove(0);
        for leg in old {
            self.legs.remove(&leg);
            self.ua(dialtone_sip::UaCommand::Hangup {
                leg,
                headers: Vec::new(),
            });
        }
        tracing::info!(call = %call, agent = %key.1, "answer from the desktop: auto-answer INVITE sent");
        Ok(())
    }
}
