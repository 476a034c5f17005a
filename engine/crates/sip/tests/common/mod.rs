//! Test harness: two `UaCore`s wired through an in-memory network with optional
//! loss, duplication, delay and reordering, all in virtual time.

#![allow(dead_code)]

pub mod raw;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dialtone_sip::{
    Body, LegId, Peer, SipMessage, Transport, UaCommand, UaConfig, UaCore, UaEvent, UaOutput,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const A: usize = 0;
pub const B: usize = 1;

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

pub fn ua(port: u16) -> UaCore {
    UaCore::new(UaConfig::new(addr(port), "dialtone-test"))
}

pub fn sdp(tag: &str) -> Body {
    Body {
        content_type: "application/sdp".into(),
        data: format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns={tag}\r\n").into_bytes(),
    }
}

#[derive(Clone, Copy, Debug)]
pub struct NetConfig {
    pub loss: f64,
    pub duplicate: f64,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl NetConfig {
    pub fn clean() -> Self {
        NetConfig {
            loss: 0.0,
            duplicate: 0.0,
            min_delay: ms(10),
            max_delay: ms(10),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Sent {
    pub at: Duration,
    pub from: usize,
    pub to: usize,
    pub first_line: String,
    pub dropped: bool,
    pub data: Vec<u8>,
}

impl Sent {
    pub fn msg(&self) -> SipMessage {
        SipMessage::parse(&self.data).expect("our own output parses")
    }

    pub fn is(&self, first_line_prefix: &str) -> bool {
        self.first_line.starts_with(first_line_prefix)
    }
}

struct Packet {
    at: Instant,
    seq: u64,
    to: usize,
    from: Peer,
    data: Vec<u8>,
}

pub struct Side {
    pub ua: UaCore,
    pub addr: SocketAddr,
    pub events: Vec<(Duration, UaEvent)>,
}

pub type DropFilter = Box<dyn FnMut(usize, &[u8]) -> bool>;

pub struct Harness {
    pub start: Instant,
    pub now: Instant,
    pub sides: [Side; 2],
    pub net: NetConfig,
    pub transport: Transport,
    pub log: Vec<Sent>,
    /// Extra, deterministic drops: `(sender, bytes) -> drop?`.
    pub drop_filter: Option<DropFilter>,
    rng: StdRng,
    in_flight: Vec<Packet>,
    seq: u64,
}

impl Harness {
    pub fn new(transport: Transport, net: NetConfig, seed: u64) -> Harness {
        let start = Instant::now();
        Harness {
            start,
            now: start,
            sides: [
                Side {
                    ua: ua(5060),
                    addr: addr(5060),
                    events: Vec::new(),
                },
                Side {
                    ua: ua(5070),
                    addr: addr(5070),
                    events: Vec::new(),
                },
            ],
            net,
            transport,
            log: Vec::new(),
            drop_filter: None,
            rng: StdRng::seed_from_u64(seed),
            in_flight: Vec::new(),
            seq: 0,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    pub fn peer_of(&self, side: usize) -> Peer {
        Peer {
            transport: self.transport,
            addr: self.sides[side].addr,
        }
    }

    pub fn command(&mut self, side: usize, cmd: UaCommand) {
        let now = self.now;
        self.sides[side].ua.handle_command(now, cmd);
        self.pump();
    }

    /// Dials from A to B and returns A's leg id.
    pub fn dial(&mut self, body: Option<Body>) -> LegId {
        let leg = self.sides[A].ua.new_leg_id();
        let target = self.peer_of(B);
        self.command(
            A,
            UaCommand::Dial {
                leg,
                target,
                request_uri: format!("sip:bob@{}", self.sides[B].addr),
                from_uri: format!("sip:alice@{}", self.sides[A].addr),
                from_display: Some("Alice".into()),
                to_uri: format!("sip:bob@{}", self.sides[B].addr),
                body,
                headers: vec![("X-Test".into(), "1".into())],
                auth: None,
                max_forwards: 70,
            },
        );
        leg
    }

    fn pump(&mut self) {
        for side in [A, B] {
            while let Some(out) = self.sides[side].ua.poll_output() {
                match out {
                    UaOutput::Event(e) => {
                        let at = self.elapsed();
                        self.sides[side].events.push((at, e));
                    }
                    UaOutput::Transmit { to, data } => self.send(side, to, data),
                }
            }
        }
    }

    fn send(&mut self, from: usize, to: Peer, data: Vec<u8>) {
        let Some(dest) = self.sides.iter().position(|s| s.addr == to.addr) else {
            panic!("transmit to unknown address {}", to.addr);
        };
        assert_eq!(to.transport, self.transport, "transport switched mid-call");
        let first_line = String::from_utf8_lossy(&data)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let reliable = self.transport == Transport::Tcp;
        let mut dropped = !reliable && self.rng.gen_bool(self.net.loss);
        if let Some(filter) = self.drop_filter.as_mut() {
            dropped |= filter(from, &data);
        }
        self.log.push(Sent {
            at: self.now - self.start,
            from,
            to: dest,
            first_line,
            dropped,
            data: data.clone(),
        });
        if dropped {
            return;
        }
        let copies = if !reliable && self.rng.gen_bool(self.net.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = if reliable || self.net.max_delay <= self.net.min_delay {
                self.net.min_delay
            } else {
                self.rng.gen_range(self.net.min_delay..=self.net.max_delay)
            };
            self.seq += 1;
            self.in_flight.push(Packet {
                at: self.now + delay,
                seq: self.seq,
                to: dest,
                from: Peer {
                    transport: self.transport,
                    addr: self.sides[from].addr,
                },
                data: data.clone(),
            });
        }
    }

    fn next_time(&self) -> Option<Instant> {
        let packets = self.in_flight.iter().map(|p| p.at).min();
        let timers = self.sides.iter().filter_map(|s| s.ua.poll_timeout()).min();
        [packets, timers].into_iter().flatten().min()
    }

    /// Advances to the next packet or timer. Returns false when nothing is pending
    /// before `limit`.
    pub fn step_until(&mut self, limit: Instant) -> bool {
        let Some(next) = self.next_time() else {
            return false;
        };
        if next > limit {
            return false;
        }
        self.now = self.now.max(next);
        loop {
            let now = self.now;
            let due = self
                .in_flight
                .iter()
                .enumerate()
                .filter(|(_, p)| p.at <= now)
                .min_by_key(|(_, p)| (p.at, p.seq))
                .map(|(i, _)| i);
            let Some(i) = due else { break };
            let p = self.in_flight.swap_remove(i);
            self.sides[p.to].ua.handle_input(now, p.from, &p.data);
            self.pump();
        }
        for side in [A, B] {
            let now = self.now;
            self.sides[side].ua.handle_timeout(now);
        }
        self.pump();
        true
    }

    /// Runs until `pred` holds or `limit` of virtual time has passed from now.
    pub fn run_until(&mut self, limit: Duration, mut pred: impl FnMut(&Harness) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            if pred(self) {
                return true;
            }
            if !self.step_until(end) {
                self.now = self.now.max(end);
                return pred(self);
            }
        }
    }

    /// Runs everything due within `d`, then sets the clock to now + `d`.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.step_until(end) {}
        self.now = end;
    }

    /// Runs until both sides have nothing left to do.
    pub fn run_to_idle(&mut self, limit: Duration) {
        let end = self.now + limit;
        while self.step_until(end) {}
    }

    pub fn events(&self, side: usize) -> impl Iterator<Item = &UaEvent> {
        self.sides[side].events.iter().map(|(_, e)| e)
    }

    pub fn count(&self, side: usize, pred: impl Fn(&UaEvent) -> bool) -> usize {
        self.events(side).filter(|e| pred(e)).count()
    }

    pub fn has(&self, side: usize, pred: impl Fn(&UaEvent) -> bool) -> bool {
        self.count(side, pred) > 0
    }

    pub fn incoming_leg(&self, side: usize) -> Option<LegId> {
        self.events(side).find_map(|e| match e {
            UaEvent::Incoming { leg, .. } => Some(*leg),
            _ => None,
        })
    }

    pub fn sent(&self, from: usize, prefix: &str) -> Vec<&Sent> {
        self.log
            .iter()
            .filter(|s| s.from == from && s.is(prefix))
            .collect()
    }

    pub fn assert_idle(&self) {
        for (i, side) in self.sides.iter().enumerate() {
            assert_eq!(side.ua.leg_count(), 0, "side {i} still has legs");
            assert_eq!(
                side.ua.transaction_count(),
                0,
                "side {i} still has transactions"
            );
        }
    }
}

pub fn is_terminated(e: &UaEvent) -> bool {
    matches!(e, UaEvent::Terminated { .. })
}

pub fn is_answered(e: &UaEvent) -> bool {
    matches!(e, UaEvent::Answered { .. })
}

pub fn is_acked(e: &UaEvent) -> bool {
    matches!(e, UaEvent::Acked { .. })
}

pub fn is_failed(e: &UaEvent, code: u16) -> bool {
    matches!(e, UaEvent::Failed { code: c, .. } if *c == code)
}
