//! N pairs of str0m `Rtc`s in one process over 127.0.0.1, all driven from
//! this one thread: one non-blocking UDP socket per Rtc, one mio poll loop
//! that sleeps until a socket is readable, an Rtc timeout is due or the next
//! 20 ms media tick. Each pair negotiates by SDP offer/answer (host
//! candidates only), connects ICE + DTLS-SRTP, and sends one PCMU audio
//! stream each way: 160 bytes every 20 ms.

#[path = "../common.rs"]
mod common;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

use common::Cycle;

const FRAME: Duration = Duration::from_millis(20);
const PAYLOAD: [u8; 160] = [0xff; 160];

struct Peer {
    rtc: Rtc,
    sock: UdpSocket,
    local: SocketAddr,
    mid: Option<Mid>,
    pt: Option<Pt>,
    start: Instant,
    connected_at: Option<Instant>,
    next_timeout: Instant,
    rtp_time: u64,
    tx: u64,
    rx: u64,
    dead: bool,
}

impl Peer {
    fn new(start: Instant) -> Peer {
        let sock = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let local = sock.local_addr().unwrap();
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_pcmu(true, false)
            .build(start);
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        Peer {
            rtc,
            sock,
            local,
            mid: None,
            pt: None,
            start,
            connected_at: None,
            next_timeout: start,
            rtp_time: 0,
            tx: 0,
            rx: 0,
            dead: false,
        }
    }

    /// Everything str0m has to say: datagrams go out at once, events are
    /// counted, and the next timeout is kept.
    fn drain(&mut self, now: Instant) {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.next_timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    let _ = self.sock.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(e)) => match e {
                    Event::Connected => {
                        self.connected_at.get_or_insert(now);
                    }
                    Event::MediaAdded(m) => self.mid = Some(m.mid),
                    Event::MediaData(_) => self.rx += 1,
                    _ => {}
                },
                Err(e) => {
                    eprintln!("rtc failed: {e}");
                    self.dead = true;
                    self.next_timeout = now + Duration::from_secs(3600);
                    return;
                }
            }
        }
    }

    fn receive(&mut self, buf: &mut [u8]) {
        loop {
            match self.sock.recv_from(buf) {
                Ok((n, from)) => {
                    let now = Instant::now();
                    if self.dead {
                        continue;
                    }
                    if let Ok(r) = Receive::new(Protocol::Udp, from, self.local, &buf[..n]) {
                        let _ = self.rtc.handle_input(Input::Receive(now, r));
                        self.drain(now);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => return,
            }
        }
    }

    fn send_frame(&mut self, now: Instant) {
        if self.connected_at.is_none() || self.dead {
            return;
        }
        let Some(mid) = self.mid else { return };
        if self.pt.is_none() {
            let Some(w) = self.rtc.writer(mid) else {
                return;
            };
            self.pt = w
                .payload_params()
                .find(|p| p.spec().codec == Codec::PCMU)
                .map(|p| p.pt());
        }
        let Some(pt) = self.pt else { return };
        let Some(w) = self.rtc.writer(mid) else {
            return;
        };
        let time = MediaTime::new(self.rtp_time, Frequency::EIGHT_KHZ);
        if w.write(pt, now, time, &PAYLOAD[..]).is_ok() {
            self.tx += 1;
        }
        self.rtp_time += 160;
        self.drain(now);
    }
}

struct Bench {
    poll: Poll,
    events: Events,
    peers: Vec<Peer>,
    next_frame: Instant,
    buf: Vec<u8>,
}

impl Bench {
    /// Creates `pairs` pairs and negotiates each: offer from the first
    /// Rtc, answer from the second.
    fn open(&mut self, pairs: usize) {
        for _ in 0..pairs {
            let start = Instant::now();
            let mut a = Peer::new(start);
            let mut b = Peer::new(start);
            let mut api = a.rtc.sdp_api();
            let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
            let (offer, pending) = api.apply().unwrap();
            a.mid = Some(mid);
            let answer = b.rtc.sdp_api().accept_offer(offer).unwrap();
            a.rtc.sdp_api().accept_answer(pending, answer).unwrap();
            for mut p in [a, b] {
                let token = Token(self.peers.len());
                self.poll
                    .registry()
                    .register(&mut p.sock, token, Interest::READABLE)
                    .unwrap();
                p.drain(Instant::now());
                self.peers.push(p);
            }
        }
    }

    /// Drives every Rtc until `deadline`, or until `stop` says so.
    fn run(&mut self, deadline: Instant, mut stop: impl FnMut(&[Peer]) -> bool) {
        loop {
            let now = Instant::now();
            if now >= deadline || stop(&self.peers) {
                return;
            }
            while now >= self.next_frame {
                for p in self.peers.iter_mut() {
                    p.send_frame(now);
                }
                self.next_frame += FRAME;
            }
            let mut wake = self.next_frame.min(deadline);
            for p in self.peers.iter_mut() {
                if !p.dead && p.next_timeout <= now {
                    let _ = p.rtc.handle_input(Input::Timeout(now));
                    p.drain(now);
                }
                wake = wake.min(p.next_timeout);
            }
            let wait = wake.saturating_duration_since(Instant::now());
            self.poll.poll(&mut self.events, Some(wait)).unwrap();
            for ev in self.events.iter() {
                if let Some(p) = self.peers.get_mut(ev.token().0) {
                    p.receive(&mut self.buf);
                }
            }
        }
    }

    /// Drops every Rtc and socket, and the vector that held them (a `Peer`
    /// is about 12 KiB inline, so a kept capacity would look like a leak).
    fn close(&mut self) {
        for mut p in std::mem::take(&mut self.peers) {
            p.rtc.disconnect();
            let _ = self.poll.registry().deregister(&mut p.sock);
        }
    }
}

fn main() {
    let args = common::args();
    eprintln!("size_of::<Peer>() = {} bytes", std::mem::size_of::<Peer>());
    let rss_start = common::rss_kib();
    let threads_start = common::threads();
    let mut bench = Bench {
        poll: Poll::new().unwrap(),
        events: Events::with_capacity(1024),
        peers: Vec::new(),
        next_frame: Instant::now(),
        buf: vec![0u8; 2000],
    };
    for cycle in 1..=args.cycles {
        let mut c = Cycle {
            cycle,
            pairs: args.pairs,
            connections: 2 * args.pairs,
            rss_before_kib: common::rss_kib(),
            heap_before_kib: common::heap_kib(),
            threads_before: common::threads(),
            ..Default::default()
        };
        bench.next_frame = Instant::now();
        bench.open(args.pairs);
        let limit = Instant::now() + Duration::from_secs(60);
        bench.run(limit, |ps| {
            ps.iter().all(|p| p.connected_at.is_some() || p.dead)
        });
        c.connected = bench
            .peers
            .iter()
            .filter(|p| p.connected_at.is_some())
            .count();
        c.connect_ms = bench
            .peers
            .iter()
            .filter_map(|p| p.connected_at.map(|t| (t - p.start).as_secs_f64() * 1000.0))
            .collect();
        bench.run(Instant::now() + args.warmup, |_| false);
        c.rss_connected_kib = common::rss_kib();
        c.heap_connected_kib = common::heap_kib();
        c.threads_connected = common::threads();
        if cycle == 1 {
            let rx0: u64 = bench.peers.iter().map(|p| p.rx).sum();
            let tx0: u64 = bench.peers.iter().map(|p| p.tx).sum();
            let t0 = Instant::now();
            let cpu0 = common::cpu_ticks();
            bench.run(t0 + args.steady, |_| false);
            c.steady_ticks = Some(common::cpu_ticks() - cpu0);
            c.steady_secs = t0.elapsed().as_secs_f64();
            c.rx_packets = Some(bench.peers.iter().map(|p| p.rx).sum::<u64>() - rx0);
            c.tx_packets = Some(bench.peers.iter().map(|p| p.tx).sum::<u64>() - tx0);
        }
        bench.close();
        std::thread::sleep(args.settle);
        c.rss_after_close_kib = common::rss_kib();
        c.heap_after_close_kib = common::heap_kib();
        c.threads_after_close = common::threads();
        c.print("str0m", "0.24.1", rss_start, threads_start);
    }
}
