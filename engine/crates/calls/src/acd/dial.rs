//! The parties an agent's desktop may call (`consult`, `makeCall`): an
//! agent, a queue, a user, a SIP URI or a number.

use std::time::Instant;

use dialtone_core::messages::OutboundCall;
use dialtone_core::SessionId;

use crate::registrar::UserKey;
use crate::CallCore;

/// Whom a desktop's `to` names.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Target {
    /// `agent:ID`: that agent's phone.
    Agent(String),
    /// `queue:NAME`: the queue's longest idle ready agent.
    Queue(String),
    /// `user:NAME`: a user of the agent's application.
    User(String),
    /// A SIP URI, dialled as `callSIP` would (with the egress policy).
    Sip(String),
    /// Anything else: a number, through the account's trunks.
    Number(String),
}

pub(super) fn parse_target(to: &str) -> Target {
    if let Some(id) = to.strip_prefix("agent:") {
        Target::Agent(id.to_string())
    } else if let Some(q) = to.strip_prefix("queue:") {
        Target::Queue(q.to_string())
    } else if let Some(u) = to.strip_prefix("user:") {
        Target::User(u.to_string())
    } else if to.starts_with("sip:") || to.starts_with("sips:") {
        Target::Sip(to.to_string())
    } else {
        Target::Number(to.to_string())
    }
}

impl CallCore {
    /// Dials `party` for `account` as call `out.call` of `session`: an
    /// agent's or a user's registered phones (of `application` for a user),
    /// a SIP URI, or a number through the trunks. A queue is resolved to an
    /// agent before this.
    pub(super) fn dial_party(
        &mut self,
        now: Instant,
        session: SessionId,
        mut out: Box<OutboundCall>,
        party: &Target,
        account: &str,
        application: &str,
    ) {
        let user = match party {
            Target::Agent(id) => {
                let agent = self.acd.agents.get(&(account.to_string(), id.clone()));
                Some(match agent {
                    Some(a) => UserKey {
                        account: account.to_string(),
                        application: a.cfg.application.clone(),
                        user: a.cfg.user.clone(),
                    },
                    // No such agent: no phone answers for it.
                    None => UserKey {
                        account: account.to_string(),
                        application: application.to_string(),
                        user: format!("agent:{id}"),
                    },
                })
            }
            Target::User(name) => Some(UserKey {
                account: account.to_string(),
                application: application.to_string(),
                user: name.clone(),
            }),
            Target::Queue(_) | Target::Sip(_) | Target::Number(_) => None,
        };
        match (user, party) {
            (Some(user), _) => {
                out.to = user.user.clone();
                self.call_user_key(now, session, out, user);
            }
            (None, Target::Sip(uri)) => {
                out.to = uri.clone();
                self.call_sip(now, session, out);
            }
            (None, Target::Number(number)) => {
                out.to = number.clone();
                self.call_pstn(now, session, out);
            }
            (None, _) => {
                out.to = String::new();
                self.call_pstn(now, session, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_told_apart_by_their_prefix() {
        assert_eq!(parse_target("agent:bob"), Target::Agent("bob".into()));
        assert_eq!(parse_target("queue:sales"), Target::Queue("sales".into()));
        assert_eq!(parse_target("user:desk"), Target::User("desk".into()));
        assert_eq!(
            parse_target("sip:x@example.com"),
            Target::Sip("sip:x@example.com".into())
        );
        assert_eq!(
            parse_target("+15550001"),
            Target::Number("+15550001".into())
        );
    }
}
