//! RTP port allocation over the configured range.
//!
//! Only even ports are handed out, each with its odd neighbour inside the range
//! left free for RTCP (RFC 3550 §11), which is not bound yet. Allocation walks
//! the range round-robin so a just-released port is reused last: late packets
//! of an ended call then rarely land on a new one.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};

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
    cursor: usize,
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
        let count = ((u32::from(max) - first - 1) / 2 + 1) as usize;
        let first = first as u16;
        Ok(PortPool {
            ip,
            first,
            in_use: vec![false; count],
            used: 0,
            cursor: 0,
        })
    }

    /// Number of RTP ports the range holds.
    pub fn capacity(&self) -> usize {
        self.in_use.len()
    }

    pub fn in_use(&self) -> usize {
        self.used
    }

    /// Binds a non-blocking UDP socket on the next free even port. Ports the
    /// OS reports busy (another process, or a released socket a worker has not
    /// closed yet) are skipped.
    pub fn allocate(&mut self) -> Result<(UdpSocket, SocketAddr), MediaError> {
        let n = self.in_use.len();
        for _ in 0..n {
            let i = self.cursor;
            self.cursor = (self.cursor + 1) % n;
            if self.in_use[i] {
                continue;
            }
            let port = self.first + 2 * i as u16;
            let addr = SocketAddr::new(self.ip, port);
            match bind(addr) {
                Ok(sock) => {
                    self.in_use[i] = true;
                    self.used += 1;
                    return Ok((sock, addr));
                }
                Err(e) if busy(&e) => {
                    tracing::debug!(%addr, "RTP port busy, skipping");
                }
                Err(e) => return Err(MediaError::Bind(addr, e)),
            }
        }
        Err(MediaError::PortsExhausted)
    }

    /// Marks `port` free again. Unknown or odd ports are ignored.
    pub fn release(&mut self, port: u16) {
        if port < self.first || !(port - self.first).is_multiple_of(2) {
            return;
        }
        let i = usize::from((port - self.first) / 2);
        if let Some(slot) = self.in_use.get_mut(i) {
            if *slot {
                *slot = false;
                self.used -= 1;
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
        assert_eq!(p.in_use(), 0);
    }
}
