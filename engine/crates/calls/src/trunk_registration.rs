//! Trunks that register with their provider (RFC 3261 §10.2): each is kept
//! registered by refreshing before what the provider granted runs out, and
//! after a failure tries again after a back-off that doubles (10 s up to
//! 10 minutes, a minute at least when the provider refused outright, its
//! Retry-After when it gave one), spread by a jitter so that many trunks
//! of one provider do not retry in step. A trunk removed or changed is
//! un-registered (`Expires: 0`).
//!
//! The driver hands the whole set over whenever it changes
//! ([`CallCore::set_trunk_registrations`]); a trunk whose settings are the
//! same keeps its registration untouched.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use dialtone_sip::auth::Credentials;
use dialtone_sip::{ClientRegister, Peer, RegistrationId, Transport, UaCommand};

use crate::io::{Fact, Job, Output};
use crate::timers::Timer;
use crate::CallCore;

/// Back-off after the first failure; it doubles with each one after.
const FIRST_RETRY: Duration = Duration::from_secs(10);
/// Back-off at most.
const MAX_RETRY: Duration = Duration::from_secs(600);
/// Back-off at least after a refusal that waiting will not cure quickly
/// (wrong credentials, unknown user).
const REFUSED_RETRY: Duration = Duration::from_secs(60);
/// A Min-Expires (423) above this is not followed.
const MAX_EXPIRES: u32 = 86_400;

/// One trunk to keep registered, as the driver configures it. `Debug`
/// hides the password.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TrunkRegistrationConfig {
    pub account: String,
    pub trunk: String,
    /// The registrar: a host name or an IP address.
    pub host: String,
    pub port: u16,
    pub tcp: bool,
    /// The user of the address of record and of our Contact.
    pub user: String,
    pub auth: Option<Credentials>,
    /// Seconds asked for (the provider may grant less).
    pub expires: u32,
}

/// Where a trunk's registration stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationState {
    /// The first REGISTER (or one after a change) is under way.
    Registering,
    Registered,
    /// The last attempt failed; another follows after a back-off.
    Failed,
}

impl RegistrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationState::Registering => "registering",
            RegistrationState::Registered => "registered",
            RegistrationState::Failed => "failed",
        }
    }
}

/// A trunk's registration as REST shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrunkRegistrationStatus {
    pub account: String,
    pub trunk: String,
    pub state: RegistrationState,
    /// The last final response (`None` before any, or when the request
    /// could not be sent: DNS, egress policy).
    pub code: Option<u16>,
    pub reason: String,
    /// Until the binding the provider granted runs out.
    pub expires_in: Option<Duration>,
    /// Until the next REGISTER (a refresh or a retry).
    pub next_attempt_in: Option<Duration>,
    /// Failures in a row.
    pub failures: u32,
}

struct Entry {
    cfg: TrunkRegistrationConfig,
    /// Where the last REGISTER went.
    target: Option<Peer>,
    state: RegistrationState,
    /// Seconds asked for now (raised by a 423's Min-Expires).
    expires: u32,
    /// Timers of an older generation find nothing to do.
    generation: u32,
    failures: u32,
    last: Option<(u16, String)>,
    registered_until: Option<Instant>,
    next_at: Option<Instant>,
}

/// Every registering trunk, by registration id.
#[derive(Default)]
pub(crate) struct TrunkRegistrations {
    entries: HashMap<RegistrationId, Entry>,
    next_id: RegistrationId,
}

impl TrunkRegistrations {
    fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for e in self.entries.values() {
            match e.state {
                RegistrationState::Registered => counts.0 += 1,
                RegistrationState::Failed => counts.1 += 1,
                RegistrationState::Registering => counts.2 += 1,
            }
        }
        counts
    }
}

impl CallCore {
    /// The trunks to keep registered, all of them, whenever the set
    /// changes. New ones register at once; removed or changed ones are
    /// un-registered; the others go on as they were.
    pub fn set_trunk_registrations(&mut self, now: Instant, wanted: Vec<TrunkRegistrationConfig>) {
        let stale: Vec<RegistrationId> = self
            .trunk_regs
            .entries
            .iter()
            .filter(|(_, e)| !wanted.contains(&e.cfg))
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.unregister_trunk(id);
        }
        for cfg in wanted {
            if self.trunk_regs.entries.values().any(|e| e.cfg == cfg) {
                continue;
            }
            self.trunk_regs.next_id += 1;
            let id = self.trunk_regs.next_id;
            tracing::info!(account = %cfg.account, trunk = %cfg.trunk, host = %cfg.host, "trunk registration starts");
            self.trunk_regs.entries.insert(
                id,
                Entry {
                    expires: cfg.expires,
                    cfg,
                    target: None,
                    state: RegistrationState::Registering,
                    generation: 0,
                    failures: 0,
                    last: None,
                    registered_until: None,
                    next_at: None,
                },
            );
            self.attempt_registration(now, id);
        }
        self.registration_counts();
    }

    /// Un-registers every trunk (the engine is stopping).
    pub fn unregister_trunks(&mut self) {
        let ids: Vec<RegistrationId> = self.trunk_regs.entries.keys().copied().collect();
        for id in ids {
            self.unregister_trunk(id);
        }
        self.registration_counts();
    }

    /// `account`'s registering trunks (every account's with `None`).
    pub fn trunk_registrations(
        &self,
        now: Instant,
        account: Option<&str>,
    ) -> Vec<TrunkRegistrationStatus> {
        let mut out: Vec<TrunkRegistrationStatus> = self
            .trunk_regs
            .entries
            .values()
            .filter(|e| account.is_none_or(|a| a == e.cfg.account))
            .map(|e| TrunkRegistrationStatus {
                account: e.cfg.account.clone(),
                trunk: e.cfg.trunk.clone(),
                state: e.state,
                code: e.last.as_ref().map(|(code, _)| *code).filter(|c| *c != 0),
                reason: e
                    .last
                    .as_ref()
                    .map(|(_, reason)| reason.clone())
                    .unwrap_or_default(),
                expires_in: e
                    .registered_until
                    .filter(|until| *until > now)
                    .map(|until| until - now),
                next_attempt_in: e.next_at.map(|at| at.saturating_duration_since(now)),
                failures: e.failures,
            })
            .collect();
        out.sort_by(|a, b| (&a.account, &a.trunk).cmp(&(&b.account, &b.trunk)));
        out
    }

    /// Sends the REGISTER's `Expires: 0` when one may have registered,
    /// and forgets the trunk.
    fn unregister_trunk(&mut self, id: RegistrationId) {
        let Some(entry) = self.trunk_regs.entries.remove(&id) else {
            return;
        };
        tracing::info!(account = %entry.cfg.account, trunk = %entry.cfg.trunk, "trunk registration ends");
        if let Some(target) = entry.target {
            self.output(Output::Ua(register_command(id, &entry.cfg, target, 0)));
        }
    }

    /// The next REGISTER of `id`: resolved first when its host is a name.
    fn attempt_registration(&mut self, now: Instant, id: RegistrationId) {
        let Some(entry) = self.trunk_regs.entries.get_mut(&id) else {
            return;
        };
        entry.next_at = None;
        entry.generation += 1;
        let host = entry.cfg.host.trim_start_matches('[').trim_end_matches(']');
        match host.parse::<IpAddr>() {
            Ok(ip) => {
                let addr = SocketAddr::new(ip, entry.cfg.port);
                self.register_at(now, id, addr);
            }
            Err(_) => {
                let (host, port) = (entry.cfg.host.clone(), entry.cfg.port);
                self.output(Output::Job(Job::ResolveTrunk { id, host, port }));
            }
        }
    }

    /// A registrar's host name resolved (or not).
    pub(crate) fn on_trunk_resolved(
        &mut self,
        now: Instant,
        id: RegistrationId,
        result: Result<SocketAddr, String>,
    ) {
        if !self.trunk_regs.entries.contains_key(&id) {
            return;
        }
        match result {
            Ok(addr) => self.register_at(now, id, addr),
            Err(e) => self.registration_failed(now, id, None, format!("DNS: {e}"), None),
        }
    }

    fn register_at(&mut self, now: Instant, id: RegistrationId, addr: SocketAddr) {
        if let Err(why) = self.services.egress(addr) {
            let reason = format!("Forbidden (egress policy): {why}");
            self.registration_failed(now, id, None, reason, None);
            return;
        }
        let Some(entry) = self.trunk_regs.entries.get_mut(&id) else {
            return;
        };
        let transport = if entry.cfg.tcp {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        let target = Peer { transport, addr };
        entry.target = Some(target);
        let cmd = register_command(id, &entry.cfg, target, entry.expires);
        self.output(Output::Ua(cmd));
    }

    /// The outcome of a REGISTER of ours.
    pub(crate) fn on_register_answered(
        &mut self,
        now: Instant,
        id: RegistrationId,
        answer: RegisterAnswer,
    ) {
        self.fact(Fact::TrunkRegisterAnswered { code: answer.code });
        let Some(entry) = self.trunk_regs.entries.get_mut(&id) else {
            // An un-REGISTER's answer, or one for a trunk since removed.
            return;
        };
        let code = answer.code;
        if (200..300).contains(&code) {
            let granted = answer.expires.unwrap_or(entry.expires);
            if granted == 0 {
                let reason = "the registrar granted no time".to_string();
                self.registration_failed(now, id, Some(code), reason, None);
                return;
            }
            let granted = Duration::from_secs(u64::from(granted));
            let refresh = refresh_after(granted);
            entry.state = RegistrationState::Registered;
            entry.failures = 0;
            entry.last = Some((code, answer.reason));
            entry.registered_until = Some(now + granted);
            entry.next_at = Some(now + refresh);
            entry.generation += 1;
            let timer = Timer::TrunkRegistration(id, entry.generation);
            tracing::info!(account = %entry.cfg.account, trunk = %entry.cfg.trunk, granted_s = granted.as_secs(), "trunk registered");
            self.timers.set(now + refresh, timer);
            self.registration_counts();
            return;
        }
        if code == 423 {
            if let Some(min) = answer
                .min_expires
                .filter(|m| *m > entry.expires && *m <= MAX_EXPIRES)
            {
                entry.expires = min;
                entry.last = Some((code, answer.reason));
                self.attempt_registration(now, id);
                return;
            }
        }
        let retry_after = answer
            .retry_after
            .map(|s| Duration::from_secs(u64::from(s)));
        self.registration_failed(now, id, Some(code), answer.reason, retry_after);
    }

    fn registration_failed(
        &mut self,
        now: Instant,
        id: RegistrationId,
        code: Option<u16>,
        reason: String,
        retry_after: Option<Duration>,
    ) {
        let Some(entry) = self.trunk_regs.entries.get_mut(&id) else {
            return;
        };
        entry.failures = entry.failures.saturating_add(1);
        entry.state = RegistrationState::Failed;
        let delay = retry_after
            .map(|d| d.min(MAX_RETRY))
            .unwrap_or_else(|| backoff(id, entry.failures, code));
        tracing::warn!(
            account = %entry.cfg.account,
            trunk = %entry.cfg.trunk,
            code,
            %reason,
            retry_in_s = delay.as_secs(),
            "trunk registration failed"
        );
        // 0: nothing was sent (DNS, egress policy).
        entry.last = Some((code.unwrap_or(0), reason));
        entry.next_at = Some(now + delay);
        entry.generation += 1;
        let timer = Timer::TrunkRegistration(id, entry.generation);
        self.timers.set(now + delay, timer);
        self.registration_counts();
    }

    /// A refresh or retry is due (unless the trunk changed since).
    pub(crate) fn on_registration_timer(
        &mut self,
        now: Instant,
        id: RegistrationId,
        generation: u32,
    ) {
        let current = self
            .trunk_regs
            .entries
            .get(&id)
            .is_some_and(|e| e.generation == generation);
        if current {
            self.attempt_registration(now, id);
        }
    }

    /// A call a provider sends to the Contact a trunk registered
    /// (`sip:USER@us`) is for the number in its To (the DID), as with
    /// providers that address calls to the registration: that number is
    /// the destination routing sees. `None` for any other INVITE.
    pub(crate) fn registered_trunk_did(&self, sip: &crate::inbound::IncomingSip) -> Option<String> {
        let from_trunk = self.trunk_regs.entries.values().any(|e| {
            e.state == RegistrationState::Registered
                && e.cfg.user == sip.destination
                && e.target.is_some_and(|t| t.addr.ip() == sip.source.ip())
        });
        if !from_trunk {
            return None;
        }
        let to = dialtone_sip::SipUri::parse(&sip.to_uri).ok()?;
        let did = dialtone_sip::uri::unescape(to.user_str()).into_owned();
        (!did.is_empty() && did != sip.destination).then_some(did)
    }

    fn registration_counts(&mut self) {
        let (registered, failed, registering) = self.trunk_regs.counts();
        self.fact(Fact::TrunkRegistrations {
            registered,
            failed,
            registering,
        });
    }
}

/// A `RegisterAnswered` event's contents.
pub(crate) struct RegisterAnswer {
    pub code: u16,
    pub reason: String,
    pub expires: Option<u32>,
    pub min_expires: Option<u32>,
    pub retry_after: Option<u32>,
}

fn register_command(
    id: RegistrationId,
    cfg: &TrunkRegistrationConfig,
    target: Peer,
    expires: u32,
) -> UaCommand {
    let host = if cfg.host.contains(':') && !cfg.host.starts_with('[') {
        format!("[{}]", cfg.host)
    } else {
        cfg.host.clone()
    };
    let port = if cfg.port == 5060 {
        String::new()
    } else {
        format!(":{}", cfg.port)
    };
    UaCommand::Register(ClientRegister {
        id,
        target,
        registrar_uri: format!("sip:{host}{port}"),
        aor: format!("sip:{}@{host}{port}", cfg.user),
        contact_user: cfg.user.clone(),
        expires,
        auth: cfg.auth.clone(),
    })
}

/// When to refresh a binding granted for `granted`: a fifth of it early
/// (at least 2 s, at most 5 minutes), never sooner than 1 s from now.
fn refresh_after(granted: Duration) -> Duration {
    let secs = granted.as_secs();
    let margin = (secs / 5).clamp(2, 300);
    Duration::from_secs(secs.saturating_sub(margin).max(1))
}

/// How long to wait after the `failures`-th failure in a row: doubling
/// from [`FIRST_RETRY`] up to [`MAX_RETRY`], at least [`REFUSED_RETRY`]
/// after a refusal, then moved by up to ±20 % (a hash of the trunk and
/// the count, so it is the same on every run).
fn backoff(id: RegistrationId, failures: u32, code: Option<u16>) -> Duration {
    let doubled = FIRST_RETRY
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(MAX_RETRY);
    let refused =
        code.is_some_and(|c| matches!(c, 400..=699) && !matches!(c, 408 | 480 | 500..=599));
    let base = if refused {
        doubled.max(REFUSED_RETRY)
    } else {
        doubled
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (id, failures).hash(&mut hasher);
    let percent = 80 + hasher.finish() % 41;
    base * percent as u32 / 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_comes_a_fifth_early() {
        assert_eq!(
            refresh_after(Duration::from_secs(3600)),
            Duration::from_secs(3300)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(600)),
            Duration::from_secs(480)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(5)),
            Duration::from_secs(3)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn backoff_doubles_within_its_bounds() {
        let within = |d: Duration, base: u64| {
            let (lo, hi) = (base * 8 / 10, base * 12 / 10);
            (lo..=hi).contains(&d.as_secs())
        };
        assert!(within(backoff(1, 1, Some(503)), 10));
        assert!(within(backoff(1, 2, Some(408)), 20));
        assert!(within(backoff(1, 3, None), 40));
        assert!(within(backoff(1, 30, Some(503)), 600));
        assert!(
            within(backoff(1, 1, Some(403)), 60),
            "a refusal waits a minute at least"
        );
        assert!(within(backoff(1, 8, Some(403)), 600));
        // Two trunks failing together do not retry in step.
        let spread: std::collections::HashSet<Duration> =
            (1..20).map(|id| backoff(id, 3, Some(503))).collect();
        assert!(spread.len() > 5, "{spread:?}");
    }
}
