//! The registrar's bindings (RFC 3261 §10.3): which contacts a user is
//! reached at, until when. Pure data: `register.rs` authenticates a REGISTER
//! and applies it here; `callUser` reads it.
//!
//! A binding is reached at the address its REGISTER came from, not the one
//! in its Contact (a phone behind NAT writes its private address there), and
//! the INVITE carries the Contact URI as its Request-URI.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use dialtone_sip::Peer;

/// Whose bindings: a user of one application of one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserKey {
    pub account: String,
    /// Application name.
    pub application: String,
    pub user: String,
}

/// One contact of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI, without angle brackets or header parameters.
    pub contact: String,
    /// Where the REGISTER came from; requests to the binding go there.
    pub source: Peer,
    pub expires_at: Instant,
    pub call_id: String,
    pub cseq: u32,
    pub user_agent: Option<String>,
    /// When it was first made.
    pub since: Instant,
    /// The address of record it was registered for (`sip:alice@domain`):
    /// the To of requests to it.
    pub aor: String,
}

impl Binding {
    /// A browser's binding: registered over a WebSocket, or its Contact
    /// says it does ICE (`+sip.ice`, RFC 5768) or WebSocket transport.
    /// Calls to it get a WebRTC offer.
    pub fn is_webrtc(&self) -> bool {
        let contact = self.contact.to_ascii_lowercase();
        self.source.transport == dialtone_sip::Transport::Ws
            || contact.contains(";transport=ws")
            || contact.contains("+sip.ice")
    }
}

/// Who sent a REGISTER, and in which dialog of registrations.
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    pub source: Peer,
    pub call_id: &'a str,
    pub cseq: u32,
    pub user_agent: Option<&'a str>,
    pub aor: &'a str,
}

/// How long bindings last, and how many a user may have.
#[derive(Debug, Clone)]
pub struct RegistrarConfig {
    /// Shorter requested expiries get 423 with Min-Expires.
    pub min_expires: Duration,
    /// Longer ones are cut to this.
    pub max_expires: Duration,
    /// When the REGISTER names none.
    pub default_expires: Duration,
    /// Contacts one user may hold; a new one past it replaces the oldest.
    pub max_bindings_per_user: usize,
    /// How long a nonce is taken; older ones are answered `stale=true`.
    pub nonce_ttl: Duration,
    /// The key nonces are made with (random per process).
    pub nonce_key: [u8; 32],
    /// Offer SHA-256 before MD5. Clients should take the first challenge
    /// they support (RFC 8760), but some (SIPp among them) take the first
    /// one and give up when it is not MD5; so MD5 comes first by default.
    pub prefer_sha256: bool,
}

impl Default for RegistrarConfig {
    fn default() -> RegistrarConfig {
        RegistrarConfig {
            min_expires: Duration::from_secs(60),
            max_expires: Duration::from_secs(3600),
            default_expires: Duration::from_secs(3600),
            max_bindings_per_user: 10,
            nonce_ttl: Duration::from_secs(300),
            nonce_key: rand::random(),
            prefer_sha256: false,
        }
    }
}

/// Why a REGISTER's contacts were not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    /// §10.3 step 7: the same Call-ID with an older CSeq.
    #[error("out-of-order REGISTER")]
    OutOfOrder,
}

/// One contact change a REGISTER asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactChange {
    pub contact: String,
    /// Zero removes the binding.
    pub expires: Duration,
}

#[derive(Default)]
pub(crate) struct Registrar {
    users: HashMap<UserKey, Vec<Binding>>,
    /// (expiry, user) for every binding, to drop the expired ones in order.
    expiries: BTreeSet<(Instant, UserKey)>,
    /// The users with bindings made over each WebSocket connection,
    /// so a closing connection drops its bindings without a scan of every
    /// user. An entry may name a user that no longer has such a binding;
    /// it is only a place to look.
    by_connection: HashMap<dialtone_sip::Peer, BTreeSet<UserKey>>,
}

impl Registrar {
    /// The live bindings of `key`.
    pub fn bindings(&self, key: &UserKey, now: Instant) -> Vec<Binding> {
        self.users
            .get(key)
            .map(|list| {
                list.iter()
                    .filter(|b| b.expires_at > now)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every user of `account` (and `application`, if given) with live
    /// bindings.
    pub fn users_of(
        &self,
        account: &str,
        application: Option<&str>,
        now: Instant,
    ) -> Vec<(UserKey, Vec<Binding>)> {
        let mut out: Vec<(UserKey, Vec<Binding>)> = self
            .users
            .iter()
            .filter(|(k, _)| k.account == account && application.is_none_or(|a| k.application == a))
            .map(|(k, list)| {
                let live: Vec<Binding> = list
                    .iter()
                    .filter(|b| b.expires_at > now)
                    .cloned()
                    .collect();
                (k.clone(), live)
            })
            .filter(|(_, live)| !live.is_empty())
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Drops a user's bindings (the user was deleted).
    pub fn forget(&mut self, key: &UserKey) {
        self.users.remove(key);
    }

    /// Applies one REGISTER's changes (`None`: `Contact: *`, remove all)
    /// and returns the user's bindings after it.
    pub fn apply(
        &mut self,
        now: Instant,
        key: &UserKey,
        changes: Option<Vec<ContactChange>>,
        reg: &Registration<'_>,
        max_bindings: usize,
    ) -> Result<Vec<Binding>, BindingError> {
        let (source, call_id, cseq, user_agent) =
            (reg.source, reg.call_id, reg.cseq, reg.user_agent);
        self.expire(now);
        let list = self.users.entry(key.clone()).or_default();
        let Some(changes) = changes else {
            // §10.3 step 6: the wildcard removes every binding, unless one
            // of them has this Call-ID with a CSeq this one does not pass.
            if list.iter().any(|b| b.call_id == call_id && cseq < b.cseq) {
                return Err(BindingError::OutOfOrder);
            }
            for b in list.drain(..) {
                self.expiries.remove(&(b.expires_at, key.clone()));
            }
            self.users.remove(key);
            return Ok(Vec::new());
        };
        // A retransmission (same Call-ID and CSeq) applies again: the
        // answer is stateless. An older CSeq of the same Call-ID is refused.
        for change in &changes {
            if let Some(b) = list
                .iter()
                .find(|b| same_contact(&b.contact, &change.contact))
            {
                if b.call_id == call_id && cseq < b.cseq {
                    return Err(BindingError::OutOfOrder);
                }
            }
        }
        for change in changes {
            let at = list
                .iter()
                .position(|b| same_contact(&b.contact, &change.contact));
            if change.expires.is_zero() {
                if let Some(at) = at {
                    let old = list.remove(at);
                    self.expiries.remove(&(old.expires_at, key.clone()));
                }
                continue;
            }
            let expires_at = now + change.expires;
            match at {
                Some(at) => {
                    let b = &mut list[at];
                    self.expiries.remove(&(b.expires_at, key.clone()));
                    b.expires_at = expires_at;
                    b.source = source;
                    b.call_id = call_id.to_string();
                    b.cseq = cseq;
                    b.user_agent = user_agent.map(str::to_string);
                    b.aor = reg.aor.to_string();
                }
                None => {
                    if list.len() >= max_bindings.max(1) {
                        // The oldest gives way (a phone re-installed,
                        // behind a new address, never un-registers).
                        let old = list.remove(0);
                        self.expiries.remove(&(old.expires_at, key.clone()));
                    }
                    list.push(Binding {
                        contact: change.contact,
                        source,
                        expires_at,
                        call_id: call_id.to_string(),
                        cseq,
                        user_agent: user_agent.map(str::to_string),
                        since: now,
                        aor: reg.aor.to_string(),
                    });
                }
            }
            self.expiries.insert((expires_at, key.clone()));
        }
        if source.transport == dialtone_sip::Transport::Ws && !list.is_empty() {
            self.by_connection
                .entry(source)
                .or_default()
                .insert(key.clone());
        }
        let live = list.clone();
        if list.is_empty() {
            self.users.remove(key);
        }
        Ok(live)
    }

    /// Drops every binding made from `source` (its connection closed);
    /// how many went.
    pub fn drop_source(&mut self, source: dialtone_sip::Peer) -> usize {
        let mut dropped = 0;
        for key in self.by_connection.remove(&source).unwrap_or_default() {
            let Some(list) = self.users.get_mut(&key) else {
                continue;
            };
            let before = list.len();
            let mut gone = Vec::new();
            list.retain(|b| {
                let goes = b.source == source;
                if goes {
                    gone.push(b.expires_at);
                }
                !goes
            });
            // An expiry another binding of the user shares stays.
            for at in gone {
                if list.iter().all(|b| b.expires_at != at) {
                    self.expiries.remove(&(at, key.clone()));
                }
            }
            dropped += before - list.len();
            if list.is_empty() {
                self.users.remove(&key);
            }
        }
        dropped
    }

    /// Drops every binding whose time is up.
    pub fn expire(&mut self, now: Instant) {
        while let Some((at, key)) = self.expiries.first().cloned() {
            if at > now {
                break;
            }
            self.expiries.pop_first();
            if let Some(list) = self.users.get_mut(&key) {
                list.retain(|b| b.expires_at > now);
                if list.is_empty() {
                    self.users.remove(&key);
                }
            }
        }
    }

    /// Bindings held, live or not yet swept.
    pub fn len(&self) -> usize {
        self.users.values().map(Vec::len).sum()
    }
}

/// RFC 3261 §19.1.4, in the parts that tell bindings apart: the scheme and
/// host compare case-insensitively, the user part and parameters exactly.
fn same_contact(a: &str, b: &str) -> bool {
    a.len() == b.len() && normalize_contact(a) == normalize_contact(b)
}

fn normalize_contact(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once(':') else {
        return s.to_string();
    };
    let (user, hostpart) = match rest.split_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let cut = hostpart.find([';', '?']).unwrap_or(hostpart.len());
    let (host, tail) = hostpart.split_at(cut);
    let mut out = scheme.to_ascii_lowercase();
    out.push(':');
    if let Some(user) = user {
        out.push_str(user);
        out.push('@');
    }
    out.push_str(&host.to_ascii_lowercase());
    out.push_str(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dialtone_sip::Transport;

    fn peer(port: u16) -> Peer {
        Peer {
            transport: Transport::Udp,
            addr: ([127, 0, 0, 1], port).into(),
        }
    }

    fn reg(source: Peer, call_id: &str, cseq: u32) -> Registration<'_> {
        Registration {
            source,
            call_id,
            cseq,
            user_agent: None,
            aor: "sip:alice@support.acme.test",
        }
    }

    fn key() -> UserKey {
        UserKey {
            account: "acc".into(),
            application: "support".into(),
            user: "alice".into(),
        }
    }

    fn change(contact: &str, secs: u64) -> ContactChange {
        ContactChange {
            contact: contact.into(),
            expires: Duration::from_secs(secs),
        }
    }

    #[test]
    fn a_closed_websocket_takes_its_bindings_and_no_others() {
        let mut r = Registrar::default();
        let t0 = Instant::now();
        let ws = Peer {
            transport: Transport::Ws,
            addr: ([127, 0, 0, 1], 40000).into(),
        };
        let bob = UserKey {
            user: "bob".into(),
            ..key()
        };
        let browser = "sip:x@b.invalid;transport=ws";
        r.apply(
            t0,
            &key(),
            Some(vec![change(browser, 60)]),
            &reg(ws, "w1", 1),
            10,
        )
        .unwrap();
        r.apply(
            t0,
            &key(),
            Some(vec![change("sip:alice@10.0.0.1", 60)]),
            &reg(peer(1), "u1", 1),
            10,
        )
        .unwrap();
        r.apply(
            t0,
            &bob,
            Some(vec![change("sip:y@b.invalid;transport=ws", 60)]),
            &reg(ws, "w2", 1),
            10,
        )
        .unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r.drop_source(ws), 2);
        assert_eq!(r.bindings(&key(), t0).len(), 1);
        assert!(r.bindings(&bob, t0).is_empty());
        // Their expiries went with them: only alice's UDP phone expires.
        assert_eq!(r.expiries.len(), 1);
        // A second close of the same connection finds nothing.
        assert_eq!(r.drop_source(ws), 0);
    }

    #[test]
    fn bindings_are_added_refreshed_expired_and_removed() {
        let mut r = Registrar::default();
        let t0 = Instant::now();
        let k = key();
        let a = "sip:alice@10.0.0.1:5060";
        let b = "sip:alice@10.0.0.2:5060";
        let out = r
            .apply(
                t0,
                &k,
                Some(vec![change(a, 60)]),
                &reg(peer(1), "c1", 1),
                10,
            )
            .unwrap();
        assert_eq!(out.len(), 1);
        let out = r
            .apply(
                t0,
                &k,
                Some(vec![change(b, 120)]),
                &reg(peer(2), "c2", 1),
                10,
            )
            .unwrap();
        assert_eq!(out.len(), 2);
        // A refresh of a with a higher CSeq moves its expiry and source.
        let t1 = t0 + Duration::from_secs(30);
        r.apply(
            t1,
            &k,
            Some(vec![change("SIP:alice@10.0.0.1:5060", 60)]),
            &reg(peer(3), "c1", 2),
            10,
        )
        .unwrap();
        let list = r.bindings(&k, t1);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].source, peer(3));
        // An older CSeq of the same Call-ID is refused; the same one (a
        // retransmission) is applied again.
        assert_eq!(
            r.apply(
                t1,
                &k,
                Some(vec![change(a, 60)]),
                &reg(peer(3), "c1", 1),
                10
            ),
            Err(BindingError::OutOfOrder)
        );
        assert!(r
            .apply(
                t1,
                &k,
                Some(vec![change(a, 60)]),
                &reg(peer(3), "c1", 2),
                10
            )
            .is_ok());
        // b expires at t0+120; a (refreshed at t1 for 60 s) at t0+90.
        assert_eq!(r.bindings(&k, t0 + Duration::from_secs(100)).len(), 1);
        r.expire(t0 + Duration::from_secs(130));
        assert!(r.bindings(&k, t0 + Duration::from_secs(130)).is_empty());
        assert_eq!(r.len(), 0);
        // Expires 0 removes one; the wildcard removes all.
        r.apply(
            t1,
            &k,
            Some(vec![change(a, 60), change(b, 60)]),
            &reg(peer(1), "c3", 1),
            10,
        )
        .unwrap();
        let out = r
            .apply(t1, &k, Some(vec![change(a, 0)]), &reg(peer(1), "c3", 2), 10)
            .unwrap();
        assert_eq!(out.len(), 1);
        assert!(r
            .apply(t1, &k, None, &reg(peer(1), "c3", 3), 10)
            .unwrap()
            .is_empty());
        assert_eq!(r.len(), 0);
        assert!(r.users_of("acc", None, t1).is_empty());
    }

    #[test]
    fn the_oldest_gives_way_past_the_limit() {
        let mut r = Registrar::default();
        let t0 = Instant::now();
        let k = key();
        for i in 0..4 {
            let c = format!("sip:alice@10.0.0.{i}");
            r.apply(
                t0,
                &k,
                Some(vec![change(&c, 60)]),
                &reg(peer(1), &format!("c{i}"), 1),
                3,
            )
            .unwrap();
        }
        let list = r.bindings(&k, t0);
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].contact, "sip:alice@10.0.0.1");
    }

    #[test]
    fn contacts_compare_as_uris() {
        assert!(same_contact("sip:a@Host:5060", "sip:a@host:5060"));
        assert!(same_contact("SIP:a@host", "sip:a@host"));
        assert!(!same_contact("sip:A@host", "sip:a@host"));
        assert!(!same_contact(
            "sip:a@host;transport=tcp",
            "sip:a@host;transport=udp"
        ));
    }
}
