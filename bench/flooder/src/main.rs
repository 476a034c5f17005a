//! UDP flood sender for `bench/flood.py`.
//!
//! ```text
//! dialtone-flooder --target 127.0.0.1:5060 --mode junk|options|invite \
//!     [--seconds 20] [--rate 0] [--threads 1] [--user 9999]
//! ```
//!
//! Sends from one plain `std::net::UdpSocket` per thread, in a tight loop
//! (`--rate 0`, the default) or paced to `--rate` datagrams/s in all. Every
//! OPTIONS and INVITE has its own Call-ID, branch and From tag (a counter
//! written into the datagram in place), so none of them is a retransmission.
//! Junk cycles through random bytes, truncated and mangled requests, a
//! request without Via and stray responses. Replies are never read. At the
//! end one JSON line goes to stdout: datagrams and bytes sent, send errors
//! (ENOBUFS, EAGAIN…), seconds, datagrams/s.

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Junk,
    Options,
    Invite,
}

struct Args {
    target: SocketAddr,
    mode: Mode,
    seconds: f64,
    rate: u64,
    threads: usize,
    user: String,
}

fn usage() -> ! {
    eprintln!(
        "usage: dialtone-flooder --target IP:PORT --mode junk|options|invite \
         [--seconds S] [--rate PPS (0: as fast as possible)] [--threads N] [--user USER]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut target = None;
    let mut mode = None;
    let mut seconds = 20.0;
    let mut rate = 0;
    let mut threads = 1;
    let mut user = "9999".to_string();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--target" => target = value.parse().ok(),
            "--mode" => {
                mode = match value.as_str() {
                    "junk" => Some(Mode::Junk),
                    "options" => Some(Mode::Options),
                    "invite" => Some(Mode::Invite),
                    _ => usage(),
                }
            }
            "--seconds" => seconds = value.parse().unwrap_or_else(|_| usage()),
            "--rate" => rate = value.parse().unwrap_or_else(|_| usage()),
            "--threads" => threads = value.parse().unwrap_or_else(|_| usage()),
            "--user" => user = value,
            _ => usage(),
        }
    }
    Args {
        target: target.unwrap_or_else(|| usage()),
        mode: mode.unwrap_or_else(|| usage()),
        seconds,
        rate,
        threads: threads.max(1),
        user,
    }
}

/// Where the per-datagram counter goes: 16 hex digits, overwritten in place.
const MARK: &str = "@@@@@@@@@@@@@@@@";

/// A datagram with the offsets of its counter marks.
struct Template {
    bytes: Vec<u8>,
    marks: Vec<usize>,
}

impl Template {
    fn new(text: String) -> Template {
        let marks = text.match_indices(MARK).map(|(i, _)| i).collect();
        Template {
            bytes: text.into_bytes(),
            marks,
        }
    }

    fn stamp(&mut self, n: u64) -> &[u8] {
        let mut hex = [0u8; 16];
        for (i, h) in hex.iter_mut().enumerate() {
            let nibble = ((n >> ((15 - i) * 4)) & 0xf) as u8;
            *h = if nibble < 10 {
                b'0' + nibble
            } else {
                b'a' + nibble - 10
            };
        }
        for &at in &self.marks {
            self.bytes[at..at + 16].copy_from_slice(&hex);
        }
        &self.bytes
    }
}

fn request(method: &str, user: &str, target: SocketAddr, local: SocketAddr, sdp: bool) -> String {
    let body = if sdp {
        format!(
            "v=0\r\no=flood 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
             m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
            ip = local.ip()
        )
    } else {
        String::new()
    };
    let ctype = if sdp {
        "Content-Type: application/sdp\r\n"
    } else {
        ""
    };
    format!(
        "{method} sip:{user}@{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};rport;branch=z9hG4bK{MARK}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:flood@{local}>;tag={MARK}\r\n\
         To: <sip:{user}@{target}>\r\n\
         Call-ID: {MARK}@flood\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:flood@{local}>\r\n\
         User-Agent: dialtone-flooder\r\n\
         {ctype}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Junk datagrams, in turn: random bytes of random length, an INVITE cut
/// short, an INVITE with a random byte run over its headers, a request
/// without Via, a response to nothing, a lying Content-Length.
struct Junk {
    rng: u64,
    invite: Template,
    no_via: Template,
    response: Template,
    lying_length: Template,
    scratch: Vec<u8>,
}

impl Junk {
    fn new(user: &str, target: SocketAddr, local: SocketAddr, seed: u64) -> Junk {
        let invite = request("INVITE", user, target, local, true);
        let no_via: String = invite
            .split("\r\n")
            .filter(|l| !l.starts_with("Via:"))
            .collect::<Vec<_>>()
            .join("\r\n");
        let response = format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP {target};branch=z9hG4bK{MARK}\r\n\
             From: <sip:flood@{local}>;tag={MARK}\r\nTo: <sip:{user}@{target}>;tag=x\r\n\
             Call-ID: {MARK}@flood\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        );
        let lying_length = request("OPTIONS", user, target, local, false)
            .replace("Content-Length: 0", "Content-Length: 99999");
        Junk {
            rng: seed | 1,
            invite: Template::new(invite),
            no_via: Template::new(no_via),
            response: Template::new(response),
            lying_length: Template::new(lying_length),
            scratch: Vec::with_capacity(1500),
        }
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn next(&mut self, n: u64) -> &[u8] {
        let r = self.next_rand();
        self.scratch.clear();
        match n % 6 {
            0 => {
                let len = 1 + (r % 1400) as usize;
                while self.scratch.len() < len {
                    let word = self.next_rand().to_le_bytes();
                    self.scratch.extend_from_slice(&word);
                }
                self.scratch.truncate(len);
            }
            1 => {
                let full = self.invite.stamp(n);
                let cut = (r as usize) % full.len();
                self.scratch.extend_from_slice(&full[..cut]);
            }
            2 => {
                let full = self.invite.stamp(n).to_vec();
                self.scratch.extend_from_slice(&full);
                let at = (r as usize) % self.scratch.len();
                let run = (((r >> 32) % 64) as usize).min(self.scratch.len() - at);
                for i in 0..run {
                    self.scratch[at + i] = (self.next_rand() & 0xff) as u8;
                }
            }
            3 => self.scratch.extend_from_slice(self.no_via.stamp(n)),
            4 => self.scratch.extend_from_slice(self.response.stamp(n)),
            _ => self.scratch.extend_from_slice(self.lying_length.stamp(n)),
        }
        &self.scratch
    }
}

#[derive(Default)]
struct Tally {
    sent: u64,
    bytes: u64,
    errors: u64,
}

fn run_thread(args: &Args, index: usize, stop: &AtomicBool, start: Instant) -> Tally {
    let bind: SocketAddr = if args.target.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    let sock = UdpSocket::bind(bind).expect("bind");
    sock.connect(args.target).expect("connect");
    let local = sock.local_addr().expect("local address");
    let mut options = Template::new(request("OPTIONS", &args.user, args.target, local, false));
    let mut invite = Template::new(request("INVITE", &args.user, args.target, local, true));
    let mut junk = Junk::new(&args.user, args.target, local, 0x9e37_79b9_7f4a_7c15 ^ index as u64);
    // Counters of different threads never collide.
    let mut n = (index as u64) << 48;
    let per_thread_rate = args.rate as f64 / args.threads as f64;
    let mut tally = Tally::default();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    loop {
        if tally.sent % 256 == 0 {
            let now = Instant::now();
            if now >= deadline || stop.load(Ordering::Relaxed) {
                break;
            }
            if per_thread_rate > 0.0 {
                let due = start + Duration::from_secs_f64(tally.sent as f64 / per_thread_rate);
                if due > now {
                    std::thread::sleep(due - now);
                }
            }
        }
        n += 1;
        let datagram: &[u8] = match args.mode {
            Mode::Options => options.stamp(n),
            Mode::Invite => invite.stamp(n),
            Mode::Junk => junk.next(n),
        };
        // send() on a connected socket: a refused port (ICMP) shows up as an error.
        match sock.send(datagram) {
            Ok(len) => {
                tally.sent += 1;
                tally.bytes += len as u64;
            }
            Err(_) => {
                tally.errors += 1;
                // Count the attempt so the time check above still runs.
                if tally.errors % 256 == 0 && Instant::now() >= deadline {
                    break;
                }
            }
        }
    }
    tally
}

fn main() {
    let args = Arc::new(parse_args());
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..args.threads)
        .map(|i| {
            let args = Arc::clone(&args);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || run_thread(&args, i, &stop, start))
        })
        .collect();
    let mut total = Tally::default();
    for h in handles {
        let t = h.join().expect("sender thread");
        total.sent += t.sent;
        total.bytes += t.bytes;
        total.errors += t.errors;
    }
    let seconds = start.elapsed().as_secs_f64();
    let mode = format!("{:?}", args.mode).to_lowercase();
    let line = format!(
        "{{\"mode\":\"{mode}\",\"threads\":{},\"sent\":{},\"bytes\":{},\"errors\":{},\"seconds\":{:.3},\"pps\":{:.0}}}",
        args.threads,
        total.sent,
        total.bytes,
        total.errors,
        seconds,
        total.sent as f64 / seconds.max(1e-9)
    );
    let _ = writeln!(std::io::stdout(), "{line}");
}
