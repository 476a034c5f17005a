//! `VoxEngine.callPSTN`: a number dialled through the account's trunks. The
//! driver's router picks the trunks whose prefixes match, in priority order
//! (`Services::trunks`); the first is dialled with its credentials and its
//! rewriting of the number, and when it answers 5xx, 408 or not at all the
//! next one takes over on a new leg. The scenario sees one call: its
//! `Failed` carries the last trunk's answer.

use std::collections::VecDeque;
use std::time::Instant;

use dialtone_core::messages::OutboundCall;
use dialtone_core::{CallId, SessionId};
use dialtone_sip::LegId;

use crate::call::Phase;
use crate::call_user::fork_leg;
use crate::codes;
use crate::ending::failed;
use crate::services::TrunkRoute;
use crate::target::parse_target;
use crate::CallCore;

/// A trunk as routing sees it (from `dialtone serve`'s store, or a
/// `dialtone test` spec). `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct TrunkConfig {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub tcp: bool,
    pub auth: Option<(String, String)>,
    /// Numbers it takes (empty: any).
    pub prefixes: Vec<String>,
    /// Lower goes first.
    pub priority: i64,
    /// Digits removed from the front of the number.
    pub strip: usize,
    /// Prepended after stripping.
    pub add_prefix: String,
    pub caller_id: Option<String>,
}

impl std::fmt::Debug for TrunkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrunkConfig")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("prefixes", &self.prefixes)
            .field("priority", &self.priority)
            .finish_non_exhaustive()
    }
}

/// Characters a number may have to go to a trunk.
fn dialable(number: &str) -> bool {
    !number.is_empty()
        && number.len() <= 64
        && number
            .chars()
            .all(|c| c.is_ascii_digit() || "+*#".contains(c))
}

/// The trunks `number` goes through, in the order to try them: those
/// whose prefixes match (or that have none), by priority, then by the
/// longest matching prefix, then by name. Each with the number rewritten
/// for it. A number that is not digits (and `+*#`) goes nowhere.
pub fn select_trunks(trunks: &[TrunkConfig], number: &str) -> Vec<TrunkRoute> {
    if !dialable(number) {
        return Vec::new();
    }
    let mut matching: Vec<(&TrunkConfig, usize)> = trunks
        .iter()
        .filter_map(|t| {
            if t.prefixes.is_empty() {
                return Some((t, 0));
            }
            t.prefixes
                .iter()
                .filter(|p| number.starts_with(p.as_str()))
                .map(|p| p.len())
                .max()
                .map(|len| (t, len))
        })
        .collect();
    matching.sort_by(|(a, la), (b, lb)| {
        a.priority
            .cmp(&b.priority)
            .then(lb.cmp(la))
            .then(a.name.cmp(&b.name))
    });
    matching
        .into_iter()
        .map(|(t, _)| {
            let rest = number.get(t.strip.min(number.len())..).unwrap_or_default();
            let host = if t.host.contains(':') && !t.host.starts_with('[') {
                format!("[{}]", t.host)
            } else {
                t.host.clone()
            };
            let transport = if t.tcp { ";transport=tcp" } else { "" };
            TrunkRoute {
                trunk: t.name.clone(),
                uri: format!("sip:{}{rest}@{host}:{}{transport}", t.add_prefix, t.port),
                auth: t.auth.clone(),
                caller_id: t.caller_id.clone(),
            }
        })
        .collect()
}

/// What a `callPSTN` asked for, and the trunks not tried yet.
#[derive(Debug)]
pub(crate) struct TrunkPlan {
    pub out: OutboundCall,
    pub left: VecDeque<TrunkRoute>,
    /// Legs used so far (the next attempt's leg number).
    pub attempts: usize,
}

/// Whether a trunk's answer lets the next trunk try.
fn fails_over(code: u16) -> bool {
    code == 408 || (500..600).contains(&code)
}

impl CallCore {
    pub(crate) fn call_pstn(&mut self, now: Instant, session: SessionId, out: Box<OutboundCall>) {
        let Some(id) = self.begin_outbound(now, session, &out) else {
            return;
        };
        let owner = self.sessions.get(&session).and_then(|s| s.owner.clone());
        let routes = self.services.trunks(owner.as_ref(), &out.to);
        if routes.is_empty() {
            tracing::info!(%session, call = %id, number = %out.to, "callPSTN: no trunk takes this number");
            self.finish(id, now, failed(404, "No Trunk For Number"));
            return;
        }
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.trunks = Some(Box::new(TrunkPlan {
            out: *out,
            left: routes.into(),
            attempts: 0,
        }));
        self.dial_next_trunk(now, id);
    }

    /// Dials the next trunk of call `id`'s plan on a new leg.
    fn dial_next_trunk(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(plan) = call.trunks.as_mut() else {
            return;
        };
        let Some(route) = plan.left.pop_front() else {
            return;
        };
        let attempt = plan.attempts;
        plan.attempts += 1;
        let (user, password) = route.auth.clone().unzip();
        let out = OutboundCall {
            call: id,
            to: route.uri.clone(),
            callerid: route
                .caller_id
                .clone()
                .or_else(|| plan.out.callerid.clone()),
            display_name: plan.out.display_name.clone(),
            headers: plan.out.headers.clone(),
            auth_user: user,
            password,
        };
        if attempt > 0 {
            let old = call.leg;
            let leg = fork_leg(id, attempt);
            call.leg = leg;
            call.phase = Phase::Resolving;
            self.legs.remove(&old);
            self.legs.insert(leg, id);
        }
        tracing::debug!(call = %id, trunk = %route.trunk, uri = %route.uri, attempt, "callPSTN: dialling a trunk");
        let target = match parse_target(&route.uri) {
            Ok(t) => t,
            Err(e) => {
                self.finish(id, now, failed(codes::BAD_TARGET, e));
                return;
            }
        };
        match target.literal_peer() {
            Some(peer) => self.dial_allowed(now, id, out, target, peer),
            None => {
                let (host, port) = (target.host.clone(), target.port);
                self.resolving.insert(id, (Box::new(out), target));
                self.output(crate::io::Output::Job(crate::io::Job::Resolve {
                    call: id,
                    host,
                    port,
                }));
            }
        }
    }

    /// A `callPSTN` leg failed with `code`: true when another trunk takes
    /// over (the failure goes no further).
    pub(crate) fn trunk_failover(&mut self, now: Instant, leg: LegId, code: u16) -> bool {
        let Some(id) = self.call_of_leg(leg) else {
            return false;
        };
        let Some(call) = self.calls.get(&id) else {
            return false;
        };
        let more = call
            .trunks
            .as_ref()
            .is_some_and(|plan| !plan.left.is_empty());
        if call.leg != leg || call.phase != Phase::Dialing || !more || !fails_over(code) {
            return false;
        }
        tracing::info!(call = %id, code, "callPSTN: the trunk failed; the next one takes over");
        self.dial_next_trunk(now, id);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trunk(name: &str, prefixes: &[&str], priority: i64) -> TrunkConfig {
        TrunkConfig {
            name: name.into(),
            host: format!("{name}.example.com"),
            port: 5060,
            tcp: false,
            auth: None,
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            priority,
            strip: 0,
            add_prefix: String::new(),
            caller_id: None,
        }
    }

    #[test]
    fn trunks_are_chosen_by_prefix_and_priority_and_rewrite_the_number() {
        let mut intl = trunk("intl", &["00"], 0);
        intl.strip = 2;
        intl.add_prefix = "+".into();
        intl.tcp = true;
        let trunks = [
            trunk("backup", &[], 10),
            trunk("us", &["1"], 0),
            trunk("us-ny", &["1212"], 0),
            intl,
        ];
        let names = |n: &str| -> Vec<String> {
            select_trunks(&trunks, n)
                .into_iter()
                .map(|r| r.trunk)
                .collect()
        };
        assert_eq!(names("12125550100"), ["us-ny", "us", "backup"]);
        assert_eq!(names("15550100"), ["us", "backup"]);
        assert_eq!(names("447700900000"), ["backup"]);
        let routes = select_trunks(&trunks, "00447700900000");
        assert_eq!(
            routes[0].uri,
            "sip:+447700900000@intl.example.com:5060;transport=tcp"
        );
        assert!(select_trunks(&trunks, "bob@evil").is_empty());
        assert!(select_trunks(&trunks, "").is_empty());
    }

    #[test]
    fn server_errors_and_timeouts_fail_over_and_client_errors_do_not() {
        assert!(fails_over(503) && fails_over(500) && fails_over(408));
        assert!(!fails_over(404) && !fails_over(486) && !fails_over(603));
    }
}
