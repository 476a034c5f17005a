//! Where a scenario may connect: one [`EgressPolicy`] for `Net` requests,
//! playback and TTS downloads and `callSIP`.
//!
//! Scenarios come from tenants, and an address a scenario picks is a
//! request Dialtone makes from inside the operator's network. So this host
//! (loopback, Dialtone's own listeners), the networks it sits on (private,
//! carrier-grade NAT, unique local), link-local (cloud metadata at
//! 169.254.169.254) and addresses that are nobody's host on the Internet
//! are denied, each also in its IPv6 forms (mapped, NAT64, 6to4), unless the
//! operator allows a network or an `address:port`.
//!
//! The policy decides for an address and port, after name resolution; it
//! does no I/O except asking the kernel whether an address is one of this
//! host's when the port is one of Dialtone's. The `http` feature adds HTTP
//! clients that consult it for every address they connect to and every
//! redirect they follow.

#[cfg(feature = "http")]
pub mod http;
mod net;
mod policy;
mod ranges;

pub use net::{canonical, IpNet};
pub use policy::{parse_allow_list, Allow, Denied, EgressPolicy, OwnListeners, Why};
pub use ranges::{special, Kind, Range};
