//! When the kernel received the last datagram read from a socket.
//!
//! Media workers drain their sockets once per 20 ms tick, so the time a
//! packet is read says little of when it arrived; interarrival jitter needs
//! the kernel's receive time. `SIOCGSTAMPNS` returns it for the datagram
//! read last (the first call turns time-stamping on for the socket).

use std::net::UdpSocket;
use std::time::SystemTime;

/// The kernel's receive time of the last datagram read from `socket`.
#[cfg(target_os = "linux")]
pub fn last_arrival(socket: &UdpSocket) -> Option<SystemTime> {
    use std::os::fd::AsRawFd;
    use std::time::Duration;
    /// `SIOCGSTAMPNS_OLD`, the 64-bit-`time_t` form on 64-bit Linux.
    const SIOCGSTAMPNS: libc::c_ulong = 0x8907;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: the fd is open for the socket's lifetime; `ts` is a valid,
    // writable timespec the ioctl fills in.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), SIOCGSTAMPNS as _, &mut ts) };
    if rc != 0 || ts.tv_sec <= 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u32::try_from(ts.tv_nsec).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

#[cfg(not(target_os = "linux"))]
pub fn last_arrival(_socket: &UdpSocket) -> Option<SystemTime> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_stamps_a_received_datagram() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        // The first call turns stamping on; the datagram after it is stamped.
        let _ = last_arrival(&b);
        let before = SystemTime::now();
        a.send_to(b"x", b.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 8];
        b.recv_from(&mut buf).unwrap();
        let at = last_arrival(&b).expect("a stamp");
        let after = SystemTime::now();
        assert!(
            at >= before - std::time::Duration::from_millis(5) && at <= after,
            "{at:?}"
        );
    }
}
