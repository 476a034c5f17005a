//! Trunks registering with their provider, through a real `UaCore` to a
//! scripted provider on virtual time: digest, refresh before expiry, one
//! Call-ID, back-off after failures, Retry-After and 423, loss, removal
//! and change un-registering, egress policy and DNS.

mod harness;

use std::net::SocketAddr;
use std::time::Duration;

use dialtone_calls::{
    Fact, Job, JobResult, Output, RegistrationState, TrunkRegistrationConfig,
    TrunkRegistrationStatus,
};
use dialtone_sip::auth::Credentials;
use dialtone_sip::digest_server::{self, DigestAlgorithm, DigestAuthorization};
use dialtone_sip::{Peer, SipMessage, Transport, UaConfig, UaCore, UaEvent, UaOutput};
use harness::Harness;

const PROVIDER: &str = "198.51.100.7:5060";
const PASSWORD: &str = "tr-pass-1";

/// What the scripted provider answers to the next REGISTER.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// Challenge unless credentials are right, then grant this many seconds.
    Grant(u32),
    Fail(u16, Option<u32>),
    /// 423 below this many seconds.
    AtLeast(u32),
}

#[derive(Debug, Clone)]
struct Seen {
    at: Duration,
    call_id: String,
    cseq: u32,
    expires: u32,
    authorized: bool,
}

struct World {
    h: Harness,
    ua: UaCore,
    start: std::time::Instant,
    answers: Vec<Answer>,
    seen: Vec<Seen>,
    /// Drop every `drop_every`-th datagram either way (0: none).
    drop_every: usize,
    datagrams: usize,
    facts: Vec<Fact>,
    resolve: Option<Result<SocketAddr, String>>,
}

fn trunk(name: &str, host: &str) -> TrunkRegistrationConfig {
    TrunkRegistrationConfig {
        account: "acc".into(),
        trunk: name.into(),
        host: host.into(),
        port: 5060,
        tcp: false,
        user: "4471000".into(),
        auth: Some(Credentials::new("4471000", PASSWORD)),
        expires: 600,
    }
}

impl World {
    fn new(answers: Vec<Answer>) -> World {
        let h = Harness::new(None);
        let start = h.now;
        World {
            h,
            ua: UaCore::new(UaConfig::new("127.0.0.1:5080".parse().unwrap(), "dialtone")),
            start,
            answers,
            seen: Vec::new(),
            drop_every: 0,
            datagrams: 0,
            facts: Vec::new(),
            resolve: None,
        }
    }

    fn elapsed(&self) -> Duration {
        self.h.now - self.start
    }

    fn set(&mut self, trunks: Vec<TrunkRegistrationConfig>) {
        let now = self.h.now;
        self.h.core.set_trunk_registrations(now, trunks);
        self.pump();
    }

    fn lost(&mut self) -> bool {
        self.datagrams += 1;
        self.drop_every > 0 && self.datagrams.is_multiple_of(self.drop_every)
    }

    /// Moves everything between the core, the UA and the provider until
    /// nothing moves.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(out) = self.h.core.poll_output() {
                moved = true;
                match out {
                    Output::Ua(cmd) => self.ua.handle_command(self.h.now, cmd),
                    Output::Job(Job::ResolveTrunk { id, .. }) => {
                        let result = self
                            .resolve
                            .clone()
                            .unwrap_or(Ok(PROVIDER.parse().unwrap()));
                        self.h
                            .core
                            .handle_job_result(self.h.now, JobResult::TrunkResolved { id, result });
                    }
                    Output::Fact(f) => self.facts.push(f),
                    other => panic!("unexpected output {other:?}"),
                }
            }
            while let Some(out) = self.ua.poll_output() {
                moved = true;
                match out {
                    UaOutput::Transmit { to, data } => {
                        assert_eq!(to.addr, PROVIDER.parse::<SocketAddr>().unwrap());
                        if self.lost() {
                            continue;
                        }
                        if let Some(reply) = self.provider(&data) {
                            if self.lost() {
                                continue;
                            }
                            let from = Peer {
                                transport: Transport::Udp,
                                addr: PROVIDER.parse().unwrap(),
                            };
                            self.ua.handle_input(self.h.now, from, &reply);
                        }
                    }
                    UaOutput::Event(ev) => self.h.core.handle_ua_event(self.h.now, ev),
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn provider(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        let req = SipMessage::parse(data).expect("our REGISTER parses");
        let expires: u32 = req.headers.get("Expires")?.parse().ok()?;
        let authorized = req
            .headers
            .get("Authorization")
            .and_then(|a| DigestAuthorization::parse(a).ok())
            .is_some_and(|a| {
                let ha1 = digest_server::ha1(DigestAlgorithm::Md5, "4471000", "prov", PASSWORD);
                a.verify("REGISTER", &ha1)
            });
        self.seen.push(Seen {
            at: self.elapsed(),
            call_id: req.call_id().ok()?.to_string(),
            cseq: req.cseq().ok()?.seq,
            expires,
            authorized,
        });
        let answer = if expires == 0 {
            Answer::Grant(0)
        } else if self.answers.len() > 1 && authorized_or_not_needed(&self.answers[0], authorized) {
            self.answers.remove(0)
        } else {
            self.answers[0]
        };
        let h = |name| req.headers.get(name).unwrap_or_default().to_string();
        let (status, extra) = match answer {
            Answer::Grant(_) if !authorized => {
                let nonce = format!("n{}", self.seen.len());
                let c = digest_server::challenge("prov", &nonce, DigestAlgorithm::Md5, false);
                (
                    "401 Unauthorized".to_string(),
                    format!("WWW-Authenticate: {c}\r\n"),
                )
            }
            Answer::Grant(secs) => (
                "200 OK".to_string(),
                format!("Contact: {};expires={secs}\r\n", h("Contact")),
            ),
            Answer::Fail(code, retry_after) => (
                format!("{code} Nope"),
                retry_after
                    .map(|s| format!("Retry-After: {s}\r\n"))
                    .unwrap_or_default(),
            ),
            Answer::AtLeast(min) if expires < min => (
                "423 Interval Too Brief".to_string(),
                format!("Min-Expires: {min}\r\n"),
            ),
            Answer::AtLeast(_) => (
                "200 OK".to_string(),
                format!("Contact: {};expires={expires}\r\n", h("Contact")),
            ),
        };
        Some(
            format!(
                "SIP/2.0 {status}\r\nVia: {}\r\nFrom: {}\r\nTo: {};tag=p\r\nCall-ID: {}\r\nCSeq: {}\r\n{extra}Content-Length: 0\r\n\r\n",
                h("Via"),
                h("From"),
                h("To"),
                h("Call-ID"),
                h("CSeq")
            )
            .into_bytes(),
        )
    }

    /// Runs every timer of the core and the UA up to `until` (from the
    /// start).
    fn run_until(&mut self, until: Duration) {
        let limit = self.start + until;
        for _ in 0..100_000 {
            let next = [self.ua.poll_timeout(), self.h.core.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(at) if at <= limit => {
                    self.h.now = self.h.now.max(at);
                    let now = self.h.now;
                    self.ua.handle_timeout(now);
                    self.h.core.handle_timeout(now);
                    self.pump();
                }
                _ => break,
            }
        }
        self.h.now = self.h.now.max(limit);
    }

    fn status(&self) -> Vec<TrunkRegistrationStatus> {
        self.h.core.trunk_registrations(self.h.now, Some("acc"))
    }

    /// The instants REGISTERs were answered 200 (authorized ones).
    fn granted_at(&self) -> Vec<Duration> {
        self.seen
            .iter()
            .filter(|s| s.authorized && s.expires > 0)
            .map(|s| s.at)
            .collect()
    }
}

/// Whether the provider moves on to its next scripted answer: a grant
/// only once the credentials were right.
fn authorized_or_not_needed(answer: &Answer, authorized: bool) -> bool {
    !matches!(answer, Answer::Grant(_)) || authorized
}

#[test]
fn registers_with_digest_and_refreshes_before_the_binding_runs_out() {
    let mut w = World::new(vec![Answer::Grant(120)]);
    w.set(vec![trunk("carrier", "198.51.100.7")]);
    assert_eq!(w.seen.len(), 2, "challenge, then credentials: {:?}", w.seen);
    assert!(!w.seen[0].authorized && w.seen[1].authorized);
    let [s] = &w.status()[..] else {
        panic!("{:?}", w.status())
    };
    assert_eq!(s.state, RegistrationState::Registered);
    assert_eq!(s.code, Some(200));
    assert_eq!(s.expires_in, Some(Duration::from_secs(120)));
    assert_eq!(s.next_attempt_in, Some(Duration::from_secs(96)));
    w.run_until(Duration::from_secs(600));
    let granted = w.granted_at();
    // Refreshed every 96 s of the 120 granted: at 0, 96, 192, … 576.
    assert_eq!(granted.len(), 7, "{granted:?}");
    for pair in granted.windows(2) {
        assert_eq!(pair[1] - pair[0], Duration::from_secs(96));
    }
    // One Call-ID, CSeq always rising.
    assert!(w.seen.iter().all(|s| s.call_id == w.seen[0].call_id));
    assert!(w.seen.windows(2).all(|p| p[1].cseq > p[0].cseq));
    let status = &w.status()[0];
    assert_eq!(status.state, RegistrationState::Registered);
    assert!(status.expires_in.is_some());
    assert!(w.facts.contains(&Fact::TrunkRegistrations {
        registered: 1,
        failed: 0,
        registering: 0
    }));
}

#[test]
fn failures_back_off_doubling_then_the_trunk_recovers() {
    let fail = Answer::Fail(503, None);
    let mut w = World::new(vec![fail, fail, fail, fail, Answer::Grant(3600)]);
    w.set(vec![trunk("carrier", "198.51.100.7")]);
    let s = &w.status()[0];
    assert_eq!(s.state, RegistrationState::Failed);
    assert_eq!((s.code, s.failures), (Some(503), 1));
    w.run_until(Duration::from_secs(400));
    let attempts: Vec<Duration> = w.seen.iter().map(|s| s.at).collect();
    // 503 at 0 and after ~10, ~20, ~40 s more (±20 %), then challenge and grant.
    let gaps: Vec<u64> = attempts
        .windows(2)
        .map(|p| (p[1] - p[0]).as_secs())
        .collect();
    assert!(gaps.len() >= 4, "{attempts:?}");
    for (gap, base) in gaps.iter().zip([10u64, 20, 40, 80]) {
        assert!(
            (base * 8 / 10..=base * 12 / 10).contains(gap),
            "gaps {gaps:?} do not double from 10 s"
        );
    }
    let s = &w.status()[0];
    assert_eq!(s.state, RegistrationState::Registered, "{s:?}");
    assert_eq!(s.failures, 0);
    let answered: Vec<u16> = w
        .facts
        .iter()
        .filter_map(|f| match f {
            Fact::TrunkRegisterAnswered { code } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(answered, vec![503, 503, 503, 503, 200]);
}

#[test]
fn retry_after_and_interval_too_brief_are_followed() {
    let mut w = World::new(vec![Answer::Fail(503, Some(30)), Answer::AtLeast(900)]);
    w.set(vec![trunk("carrier", "198.51.100.7")]);
    assert_eq!(w.status()[0].next_attempt_in, Some(Duration::from_secs(30)));
    w.run_until(Duration::from_secs(31));
    // At 30 s: 600 asked, 423 Min-Expires 900, asked again at once.
    let asked: Vec<(u64, u32)> = w.seen.iter().map(|s| (s.at.as_secs(), s.expires)).collect();
    assert_eq!(asked, vec![(0, 600), (30, 600), (30, 900)]);
    let s = &w.status()[0];
    assert_eq!(s.state, RegistrationState::Registered);
    assert_eq!(s.expires_in, Some(Duration::from_secs(899)));
}

#[test]
fn refused_credentials_wait_a_minute_at_least() {
    let mut w = World::new(vec![Answer::Fail(403, None)]);
    w.set(vec![trunk("carrier", "198.51.100.7")]);
    let s = &w.status()[0];
    assert_eq!((s.state, s.code), (RegistrationState::Failed, Some(403)));
    let next = s.next_attempt_in.unwrap().as_secs();
    assert!((48..=72).contains(&next), "{next}");
}

#[test]
fn a_third_of_datagrams_lost_still_keeps_the_trunk_registered() {
    let mut w = World::new(vec![Answer::Grant(300)]);
    w.drop_every = 3;
    w.set(vec![trunk("carrier", "198.51.100.7")]);
    w.run_until(Duration::from_secs(3600));
    let s = &w.status()[0];
    assert_eq!(s.state, RegistrationState::Registered, "{s:?}");
    // Refreshes (every 240 s) went through despite the loss.
    assert!(w.granted_at().len() >= 14, "{:?}", w.granted_at());
    assert!(w.h.core.pending_timers() < 10);
}

#[test]
fn removing_or_changing_a_trunk_unregisters_it() {
    let mut w = World::new(vec![Answer::Grant(600)]);
    w.set(vec![trunk("carrier", "198.51.100.7")]);
    let first_call = w.seen[0].call_id.clone();
    // The same settings again change nothing.
    w.set(vec![trunk("carrier", "198.51.100.7")]);
    assert_eq!(w.seen.len(), 2);
    // New settings: the old registration is removed, a new one made.
    let mut changed = trunk("carrier", "198.51.100.7");
    changed.expires = 900;
    w.set(vec![changed]);
    let removal = w
        .seen
        .iter()
        .find(|s| s.expires == 0)
        .expect("an un-REGISTER");
    assert_eq!(removal.call_id, first_call);
    let new: Vec<&Seen> = w.seen.iter().filter(|s| s.expires == 900).collect();
    assert!(!new.is_empty() && new.iter().all(|s| s.call_id != first_call));
    assert_eq!(w.status()[0].state, RegistrationState::Registered);
    // Removed: un-REGISTER, and the UA forgets it once answered.
    w.set(Vec::new());
    assert!(w.status().is_empty());
    assert_eq!(
        w.seen
            .iter()
            .filter(|s| s.expires == 0 && s.authorized)
            .count(),
        2
    );
    assert_eq!(w.ua.registration_count(), 0);
    let last_counts = w
        .facts
        .iter()
        .rev()
        .find(|f| matches!(f, Fact::TrunkRegistrations { .. }));
    assert_eq!(
        last_counts,
        Some(&Fact::TrunkRegistrations {
            registered: 0,
            failed: 0,
            registering: 0
        })
    );
}

#[test]
fn shutdown_unregisters_every_trunk() {
    let mut w = World::new(vec![Answer::Grant(600)]);
    w.set(vec![trunk("a", "198.51.100.7"), trunk("b", "198.51.100.7")]);
    assert_eq!(w.status().len(), 2);
    w.h.core.unregister_trunks();
    w.pump();
    assert_eq!(
        w.seen
            .iter()
            .filter(|s| s.expires == 0 && s.authorized)
            .count(),
        2
    );
    assert!(w.status().is_empty());
}

#[test]
fn host_names_resolve_and_the_egress_policy_applies() {
    let mut w = World::new(vec![Answer::Grant(600)]);
    w.set(vec![trunk("carrier", "sip.provider.test")]);
    assert_eq!(w.status()[0].state, RegistrationState::Registered);
    // A name that does not resolve: failed, nothing sent, retried later.
    let mut w = World::new(vec![Answer::Grant(600)]);
    w.resolve = Some(Err("sip.nowhere.test: no address".into()));
    w.set(vec![trunk("carrier", "sip.nowhere.test")]);
    let s = &w.status()[0];
    assert_eq!((s.state, s.code), (RegistrationState::Failed, None));
    assert!(s.reason.contains("no address"), "{}", s.reason);
    assert!(w.seen.is_empty());
    // An address the egress policy denies: never sent to.
    let mut w = World::new(vec![Answer::Grant(600)]);
    w.h.knobs()
        .egress_denied
        .push((PROVIDER.parse().unwrap(), "private address".into()));
    w.set(vec![trunk("carrier", "198.51.100.7")]);
    let s = &w.status()[0];
    assert_eq!(s.state, RegistrationState::Failed);
    assert!(s.reason.contains("egress policy"), "{}", s.reason);
    assert!(w.seen.is_empty());
    w.run_until(Duration::from_secs(60));
    assert!(w.seen.is_empty());
    assert!(w.status()[0].failures >= 2);
}

#[test]
fn other_accounts_see_nothing() {
    let mut w = World::new(vec![Answer::Grant(600)]);
    w.set(vec![trunk("carrier", "198.51.100.7")]);
    assert_eq!(w.h.core.trunk_registrations(w.h.now, Some("other")), vec![]);
    assert!(!format!("{:?}", trunk("x", "h")).contains(PASSWORD));
}

#[test]
fn a_call_the_provider_sends_to_the_registration_is_routed_by_its_did() {
    let mut w = World::new(vec![Answer::Grant(600)]);
    w.set(vec![trunk("carrier", "198.51.100.7")]);
    let to_started = |w: &mut World, source: &str| {
        let (leg, event) = w.h.invite_event(Some(harness::peer_offer()));
        let UaEvent::Incoming {
            headers,
            body,
            from_uri,
            from_user,
            from_display,
            ..
        } = event
        else {
            unreachable!()
        };
        let out = w.h.ua(UaEvent::Incoming {
            leg,
            source: Peer {
                transport: Transport::Udp,
                addr: source.parse().unwrap(),
            },
            request_uri: "sip:4471000@127.0.0.1:5080".into(),
            destination: "4471000".into(),
            from_uri,
            from_user,
            from_display,
            to_uri: "sip:%2B15557770000@provider.test".into(),
            headers,
            body,
        });
        harness::facts(&out).into_iter().find_map(|f| match f {
            Fact::CallStarted { to, .. } => Some(to),
            _ => None,
        })
    };
    assert_eq!(
        to_started(&mut w, "198.51.100.7:5060").as_deref(),
        Some("+15557770000"),
        "from the provider: the DID in To"
    );
    assert_eq!(
        to_started(&mut w, "203.0.113.9:5060").as_deref(),
        Some("4471000"),
        "from anyone else: the Request-URI as always"
    );
}
