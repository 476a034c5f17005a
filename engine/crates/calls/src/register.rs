//! REGISTER: digest authentication against the user's stored HA1, then the
//! contacts applied to the registrar (`registrar.rs`) and the user's
//! bindings in the 200. The same digest check challenges INVITEs from
//! users (407).
//!
//! An unknown user is challenged like a known one and then refused 403, so
//! REGISTER does not tell which users exist.

use std::time::{Duration, Instant};

use dialtone_sip::digest_server::{challenge, DigestAlgorithm, DigestAuthorization, NonceState};
use dialtone_sip::{NameAddr, RegisterRequest, Reply, Transport, UaCommand};

use crate::registrar::{BindingError, ContactChange, Registration, UserKey};
use crate::services::UserAuth;
use crate::CallCore;

/// What a request's credentials are worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthOutcome {
    Authorized,
    /// No usable credentials (none, another realm, a nonce not ours, or an
    /// old one: `stale`): challenge.
    Challenge {
        stale: bool,
    },
    /// Credentials for a fresh nonce of ours that do not match.
    Forbidden,
}

impl CallCore {
    pub(crate) fn on_register(&mut self, now: Instant, req: Box<RegisterRequest>, reply: Reply) {
        let respond = |core: &mut CallCore, code: u16, contacts: Vec<String>, headers| {
            let bindings = core.registrar.len();
            core.fact(crate::io::Fact::RegisterAnswered { code, bindings });
            core.ua(UaCommand::Respond {
                reply: reply.clone(),
                code,
                contacts,
                headers,
            })
        };
        let Some((user, domain)) = address_of_record(&req.to_uri) else {
            respond(self, 400, vec![], vec![]);
            return;
        };
        let record = self.services.user(&domain, &user);
        let realm = record
            .as_ref()
            .map_or_else(|| domain.clone(), |r| r.realm.clone());
        match self.authenticate(
            now,
            req.source.addr.ip(),
            "REGISTER",
            &req.authorization,
            &user,
            record.as_deref(),
            &realm,
        ) {
            AuthOutcome::Authorized => {}
            AuthOutcome::Challenge { stale } => {
                let headers = self
                    .challenges(now, &realm, stale, req.source.transport)
                    .into_iter()
                    .map(|c| ("WWW-Authenticate".to_string(), c))
                    .collect();
                respond(self, 401, vec![], headers);
                return;
            }
            AuthOutcome::Forbidden => {
                tracing::info!(peer = %req.source.addr, %user, %domain, "REGISTER refused: wrong credentials");
                respond(self, 403, vec![], vec![]);
                return;
            }
        }
        let Some(record) = record else {
            respond(self, 403, vec![], vec![]);
            return;
        };
        let key = UserKey {
            account: record.account.clone(),
            application: record.application.clone(),
            user: record.name.clone(),
        };
        let cfg = &self.cfg.registrar;
        let changes = match contact_changes(&req, cfg) {
            Ok(c) => c,
            Err(ContactProblem::TooBrief) => {
                let min = cfg.min_expires.as_secs().to_string();
                respond(self, 423, vec![], vec![("Min-Expires".into(), min)]);
                return;
            }
            Err(ContactProblem::Bad) => {
                respond(self, 400, vec![], vec![]);
                return;
            }
        };
        let bindings = match changes {
            // No Contact: a query.
            Changes::Query => Ok(self.registrar.bindings(&key, now)),
            Changes::RemoveAll => self.apply_register(now, &key, None, &req),
            Changes::Some(list) => self.apply_register(now, &key, Some(list), &req),
        };
        let Ok(bindings) = bindings.map_err(|e| {
            tracing::info!(peer = %req.source.addr, %user, error = %e, "REGISTER refused");
        }) else {
            respond(self, 400, vec![], vec![]);
            return;
        };
        let contacts = bindings
            .iter()
            .map(|b| {
                let left = b.expires_at.saturating_duration_since(now).as_secs();
                format!("<{}>;expires={left}", b.contact)
            })
            .collect();
        respond(self, 200, contacts, vec![]);
    }

    fn apply_register(
        &mut self,
        now: Instant,
        key: &UserKey,
        changes: Option<Vec<ContactChange>>,
        req: &RegisterRequest,
    ) -> Result<Vec<crate::registrar::Binding>, BindingError> {
        let max = self.cfg.registrar.max_bindings_per_user;
        let aor = NameAddr::parse(&req.to_uri)
            .map(|a| a.uri.to_string())
            .unwrap_or_default();
        let reg = Registration {
            source: req.source,
            call_id: &req.call_id,
            cseq: req.cseq,
            user_agent: req.user_agent.as_deref(),
            aor: &aor,
        };
        self.registrar.apply(now, key, changes, &reg, max)
    }

    /// Checks `credentials` (Authorization or Proxy-Authorization values)
    /// of a `method` request from `user` in `realm`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn authenticate(
        &mut self,
        now: Instant,
        source: std::net::IpAddr,
        method: &str,
        credentials: &[String],
        user: &str,
        record: Option<&UserAuth>,
        realm: &str,
    ) -> AuthOutcome {
        let outcome = self.check_credentials(now, source, method, credentials, user, record, realm);
        match outcome {
            AuthOutcome::Forbidden => {
                if self.auth_guard.failed(source, now) {
                    tracing::warn!(%source, "too many wrong digest answers: refusing this address's for five minutes");
                }
            }
            AuthOutcome::Authorized => self.auth_guard.succeeded(source),
            AuthOutcome::Challenge { .. } => {}
        }
        outcome
    }

    #[allow(clippy::too_many_arguments)]
    fn check_credentials(
        &mut self,
        now: Instant,
        source: std::net::IpAddr,
        method: &str,
        credentials: &[String],
        user: &str,
        record: Option<&UserAuth>,
        realm: &str,
    ) -> AuthOutcome {
        if !credentials.is_empty() && self.auth_guard.blocked(source, now) {
            return AuthOutcome::Forbidden;
        }
        let secs = self.nonce_clock(now);
        let ttl = self.cfg.registrar.nonce_ttl.as_secs();
        for value in credentials {
            let Ok(auth) = DigestAuthorization::parse(value) else {
                continue;
            };
            if auth.realm != realm {
                continue;
            }
            match self.nonces.check(&auth.nonce, realm, secs, ttl) {
                NonceState::Invalid => continue,
                NonceState::Stale => return AuthOutcome::Challenge { stale: true },
                NonceState::Fresh => {}
            }
            let Some(record) = record.filter(|r| r.name == auth.username && r.name == user) else {
                return AuthOutcome::Forbidden;
            };
            let ha1 = match auth.algorithm {
                DigestAlgorithm::Md5 => &record.ha1_md5,
                DigestAlgorithm::Sha256 => &record.ha1_sha256,
            };
            return if auth.verify(method, ha1) {
                AuthOutcome::Authorized
            } else {
                AuthOutcome::Forbidden
            };
        }
        AuthOutcome::Challenge { stale: false }
    }

    /// Challenge values for `realm`, MD5 and SHA-256, in the order of
    /// `RegistrarConfig::prefer_sha256` (RFC 8760 §2.4: in order of
    /// preference; a client takes the first it supports). A client over a
    /// WebSocket gets MD5 only: browser SIP stacks know no other, and JsSIP
    /// answers the last challenge it is given, whatever its algorithm.
    pub(crate) fn challenges(
        &mut self,
        now: Instant,
        realm: &str,
        stale: bool,
        transport: Transport,
    ) -> Vec<String> {
        let secs = self.nonce_clock(now);
        let nonce = self.nonces.issue(secs, realm);
        let order: &[DigestAlgorithm] = match transport {
            Transport::Ws => &[DigestAlgorithm::Md5],
            _ if self.cfg.registrar.prefer_sha256 => {
                &[DigestAlgorithm::Sha256, DigestAlgorithm::Md5]
            }
            _ => &[DigestAlgorithm::Md5, DigestAlgorithm::Sha256],
        };
        order
            .iter()
            .map(|alg| challenge(realm, &nonce, *alg, stale))
            .collect()
    }

    /// Seconds since the core first needed a nonce: nonces carry their issue
    /// time on this clock.
    fn nonce_clock(&mut self, now: Instant) -> u64 {
        let epoch = *self.nonce_epoch.get_or_insert(now);
        now.saturating_duration_since(epoch).as_secs()
    }
}

impl CallCore {
    /// The users of `account` (and `application`) with live bindings, for
    /// the REST API.
    pub fn registered_users(
        &self,
        now: Instant,
        account: &str,
        application: Option<&str>,
    ) -> Vec<(UserKey, Vec<crate::Binding>)> {
        self.registrar.users_of(account, application, now)
    }

    /// Drops the bindings of a user that was deleted.
    pub fn forget_user(&mut self, key: &UserKey) {
        self.registrar.forget(key);
    }

    /// A connection-bound peer is gone (a SIP WebSocket closed): the
    /// bindings registered through it go with it, as RFC 7118 §5 has it.
    pub fn connection_closed(&mut self, _now: Instant, peer: dialtone_sip::Peer) {
        let dropped = self.registrar.drop_source(peer);
        if dropped > 0 {
            tracing::info!(peer = %peer.addr, dropped, "bindings of a closed connection removed");
        }
    }

    /// Bindings held (for `/metrics`).
    pub fn binding_count(&self) -> usize {
        self.registrar.len()
    }

    /// Binds `contact` for `key` as an authenticated REGISTER from `source`
    /// would (`dialtone test`'s simulated phones register this way).
    pub fn bind(
        &mut self,
        now: Instant,
        key: &UserKey,
        contact: &str,
        source: dialtone_sip::Peer,
        expires: Duration,
    ) {
        let change = ContactChange {
            contact: contact.to_string(),
            expires,
        };
        let call_id = format!("bind-{contact}");
        let reg = Registration {
            source,
            call_id: &call_id,
            cseq: 1,
            user_agent: None,
            aor: contact,
        };
        let _ = self
            .registrar
            .apply(now, key, Some(vec![change]), &reg, usize::MAX);
    }
}

/// `(user, domain)` of a To or From value: the user %-decoded, the domain in
/// lower case.
pub(crate) fn address_of_record(value: &str) -> Option<(String, String)> {
    let addr = NameAddr::parse(value).ok()?;
    let user = dialtone_sip::uri::unescape(addr.uri.user.as_deref()?).into_owned();
    (!user.is_empty() && !addr.uri.host.is_empty())
        .then(|| (user, addr.uri.host.to_ascii_lowercase()))
}

enum Changes {
    Query,
    RemoveAll,
    Some(Vec<ContactChange>),
}

enum ContactProblem {
    /// 423: a requested expiry below the minimum.
    TooBrief,
    Bad,
}

fn contact_changes(
    req: &RegisterRequest,
    cfg: &crate::registrar::RegistrarConfig,
) -> Result<Changes, ContactProblem> {
    if req.contacts.is_empty() {
        return Ok(Changes::Query);
    }
    if req.contacts.iter().any(|c| c == "*") {
        // §10.3 step 6: only alone, and only with Expires: 0.
        return if req.contacts.len() == 1 && req.expires == Some(0) {
            Ok(Changes::RemoveAll)
        } else {
            Err(ContactProblem::Bad)
        };
    }
    let mut out = Vec::with_capacity(req.contacts.len());
    for contact in &req.contacts {
        let addr = NameAddr::parse(contact).map_err(|_| ContactProblem::Bad)?;
        let asked = match addr.param("expires") {
            Some(Some(v)) => Some(v.trim().parse::<u64>().map_err(|_| ContactProblem::Bad)?),
            Some(None) => return Err(ContactProblem::Bad),
            None => req.expires.map(u64::from),
        };
        let expires = match asked {
            None => cfg.default_expires,
            Some(0) => Duration::ZERO,
            Some(n) if Duration::from_secs(n) < cfg.min_expires => {
                return Err(ContactProblem::TooBrief)
            }
            Some(n) => Duration::from_secs(n).min(cfg.max_expires),
        };
        let mut uri = addr.uri;
        uri.headers.clear();
        out.push(ContactChange {
            contact: uri.to_string(),
            expires,
        });
    }
    Ok(Changes::Some(out))
}
