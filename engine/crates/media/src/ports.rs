//! RTP port allocation over the configured range.
//!
//! Only even ports are handed out, each with its odd neighbour inside the range
//! left free for RTCP (RFC 3550 §11), which is not bound yet. A call gets a
//! random free port, so nobody can tell the next call's port from the last
//! one's and aim packets at it. A released port cools off in a queue before it
//! is free again: late packets of an ended call then rarely land on a new one.
//! It is taken from the queue, oldest first, only when no other port is free.
//!
//! Every step is O(1) but the binds: the free ports are a list a random entry
//! is swapped out of, and a port the OS reports busy goes back on it
//! afterwards, so one allocation tries each port at most once.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};

use rand::Rng;
use socket2::{Domain, Protocol, Socket, Type};

use crate::MediaError;

/// DSCP EF (46), the usual marking for voice (RFC 3246).
const TOS_EF: u32 = 0xb8;

#[derive(Debug)]
pub struct PortPool {
    ip: IpAddr,
    first: u16,
    in_use: Vec<bool>,
    used: usize,
    /// Indexes of the free ports, in no order.
    free: Vec<u16>,
    /// Indexes of recently released ports, oldest first.
    cooling: VecDeque<u16>,
    /// Released ports kept cooling at most; a quarter of the range.
    cooling_max: usize,
}

impl PortPool {
    /// A pool over the even ports `p` with `min <= p` and `p + 1 <= max`.
    pub fn new(ip: IpAddr, min: u16, max: u16) -> Result<PortPool, MediaError> {
        let first = (u32::from(min) + u32::from(min) % 2).max(2);
        if u32::from(max) <= first {
            return Err(MediaError::Config(format!(
                "RTP port range {min}-{max} holds no even/odd port pair"
            )));
        }
        // At most 32767 even ports: every index fits a u16.
        let count = ((u32::from(max) - first - 1) / 2 + 1) as u16;
        let first = first as u16;
        Ok(PortPool {
            ip,
            first,
            in_use: vec![false; usize::from(count)],
            used: 0,
            free: (0..count).collect(),
            cooling: VecDeque::new(),
            cooling_max: usize::from(count) / 4,
        })
    }

    /// Number of RTP ports the range holds.
    pub fn capacity(&self) -> usize {
        self.in_use.len()
    }

    pub fn in_use(&self) -> usize {
        self.used
    }

    /// Binds a non-blocking UDP socket on a random free even port. Ports the
    /// OS reports busy (another process, or a released socket a worker has not
    /// closed yet) are skipped and stay free for later.
    pub fn allocate(&mut self) -> Result<(UdpSocket, SocketAddr), MediaError> {
        let mut skipped = Vec::new();
        let result = loop {
            // Each pass takes one index out of `free` or `cooling`: this ends.
            let Some(i) = self.take_candidate() else {
                break Err(MediaError::PortsExhausted);
            };
            let addr = SocketAddr::new(self.ip, self.port_of(i));
            match bind(addr) {
                Ok(sock) => {
                    self.mark_used(i);
                    break Ok((sock, addr));
                }
                Err(e) if busy(&e) => {
                    tracing::debug!(%addr, "RTP port busy, skipping");
                    skipped.push(i);
                }
                Err(e) => {
                    self.free.push(i);
                    break Err(MediaError::Bind(addr, e));
                }
            }
        };
        self.free.extend(skipped);
        result
    }

    /// A random free port's index, else the port that has cooled longest.
    /// The caller binds it and marks it used, or gives it back.
    fn take_candidate(&mut self) -> Option<u16> {
        if self.free.is_empty() {
            return self.cooling.pop_front();
        }
        let pick = rand::thread_rng().gen_range(0..self.free.len());
        Some(self.free.swap_remove(pick))
    }

    fn port_of(&self, i: u16) -> u16 {
        self.first + 2 * i
    }

    fn mark_used(&mut self, i: u16) {
        if let Some(slot) = self.in_use.get_mut(usize::from(i)) {
            *slot = true;
            self.used += 1;
        }
    }

    /// Marks `port` free again (after cooling off). Unknown, odd or unused
    /// ports are ignored.
    pub fn release(&mut self, port: u16) {
        if port < self.first || !(port - self.first).is_multiple_of(2) {
            return;
        }
        let i = (port - self.first) / 2;
        let Some(slot) = self.in_use.get_mut(usize::from(i)) else {
            return;
        };
        if !*slot {
            return;
        }
        *slot = false;
        self.used -= 1;
        self.cooling.push_back(i);
        if self.cooling.len() > self.cooling_max {
            if let Some(cooled) = self.cooling.pop_front() {
                self.free.push(cooled);
            }
        }
    }
}

fn busy(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::AddrInUse | io::ErrorKind::PermissionDenied
    )
}

fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    sock.set_nonblocking(true)?;
    if addr.is_ipv4() {
        // Marking is advisory; a refusal must not fail the call.
        let _ = sock.set_tos(TOS_EF);
    }
    sock.bind(&addr.into())?;
    Ok(sock.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn range_holds_even_ports_with_room_for_rtcp() {
        assert_eq!(PortPool::new(LO, 10000, 10001).unwrap().capacity(), 1);
        assert_eq!(PortPool::new(LO, 10000, 10003).unwrap().capacity(), 2);
        assert_eq!(PortPool::new(LO, 10001, 10004).unwrap().capacity(), 1);
        assert_eq!(PortPool::new(LO, 10000, 20000).unwrap().capacity(), 5000);
        assert!(PortPool::new(LO, 10000, 10000).is_err());
        assert!(PortPool::new(LO, 10001, 10002).is_err());
        assert!(PortPool::new(LO, 20000, 10000).is_err());
        assert_eq!(PortPool::new(LO, 0, 3).unwrap().capacity(), 1);
        assert!(PortPool::new(LO, 65534, 65535).is_ok());
    }

    #[test]
    fn release_ignores_foreign_ports() {
        let mut p = PortPool::new(LO, 10000, 10003).unwrap();
        p.release(10001);
        p.release(9000);
        p.release(12000);
        p.release(10000);
        assert_eq!(p.in_use(), 0);
        assert!(
            p.cooling.is_empty(),
            "a port never handed out is not released"
        );
    }

    /// Takes a port as `allocate` does, without binding it.
    fn take(p: &mut PortPool) -> Option<u16> {
        let i = p.take_candidate()?;
        p.mark_used(i);
        Some(p.port_of(i))
    }

    #[test]
    fn ports_come_out_in_random_order_and_never_twice() {
        let mut p = PortPool::new(LO, 10000, 11999).unwrap();
        let ports: Vec<u16> = std::iter::from_fn(|| take(&mut p)).collect();
        assert_eq!(ports.len(), 1000, "every port once, then none");
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 1000, "no port twice");
        assert!(sorted
            .iter()
            .all(|&x| x % 2 == 0 && (10000..=11998).contains(&x)));
        assert_eq!(p.in_use(), 1000);
        // Random order: a next-port step (+2) is a 1-in-1000 event.
        let steps = ports.windows(2).filter(|w| w[1] == w[0] + 2).count();
        assert!(steps < 20, "{steps} sequential steps in {ports:?}");
        let first: Vec<u16> = ports[..10].to_vec();
        assert!(first.windows(2).any(|w| w[1] < w[0]), "{first:?}");
    }

    #[test]
    fn released_ports_cool_off_before_they_are_reused() {
        // Eight ports: two stay cooling.
        let mut p = PortPool::new(LO, 10000, 10015).unwrap();
        let all: Vec<u16> = std::iter::from_fn(|| take(&mut p)).collect();
        assert_eq!(all.len(), 8);
        let (a, b, c) = (all[3], all[0], all[6]);
        p.release(a);
        p.release(b);
        p.release(a);
        assert_eq!(p.in_use(), 6, "a double release counts once");
        p.release(c);
        // `a` has cooled off (two released after it); `b` and `c` have not,
        // and are handed out, oldest first, only once nothing else is free.
        assert_eq!(take(&mut p), Some(a));
        assert_eq!(take(&mut p), Some(b));
        assert_eq!(take(&mut p), Some(c));
        assert_eq!(take(&mut p), None);
        // With room to spare, a just-released port is not the next one out.
        let mut p = PortPool::new(LO, 10000, 10399).unwrap();
        for _ in 0..100 {
            let x = take(&mut p).unwrap();
            p.release(x);
            assert_ne!(take(&mut p), Some(x));
        }
    }

    #[test]
    fn allocate_binds_random_free_ports_and_skips_busy_ones() {
        // Above the kernel's ephemeral range, where nothing binds by chance.
        let (lo, hi) = (61_500u16, 61_599u16);
        let blocker = UdpSocket::bind((LO, lo + 40)).expect("the test's port is free");
        let bindable: Vec<u16> = (lo..hi)
            .step_by(2)
            .filter(|&port| UdpSocket::bind((LO, port)).is_ok())
            .collect();
        assert!(!bindable.contains(&(lo + 40)));
        let mut p = PortPool::new(LO, lo, hi).unwrap();
        let mut held = Vec::new();
        loop {
            match p.allocate() {
                Ok((sock, addr)) => {
                    assert_eq!(sock.local_addr().unwrap(), addr);
                    held.push((sock, addr.port()));
                }
                Err(MediaError::PortsExhausted) => break,
                Err(e) => panic!("{e}"),
            }
        }
        let mut got: Vec<u16> = held.iter().map(|(_, port)| *port).collect();
        let order = got.clone();
        got.sort_unstable();
        assert_eq!(
            got, bindable,
            "each bindable port once, the busy one skipped"
        );
        assert!(order.windows(2).any(|w| w[1] < w[0]), "{order:?}");
        // The busy port stayed free: it is handed out once the OS lets go.
        drop(blocker);
        let (_sock, addr) = p.allocate().unwrap();
        assert_eq!(addr.port(), lo + 40);
        assert!(matches!(p.allocate(), Err(MediaError::PortsExhausted)));
    }
}
