//! The transactions a `UaCore` runs, indexed for matching (RFC 3261 §17.1.3,
//! §17.2.3).

use std::collections::HashMap;
use std::time::Instant;

use super::types::{LegId, Peer};
use crate::transaction::{
    ClientInviteTx, ClientKey, ClientNonInviteTx, ServerInviteTx, ServerKey, ServerNonInviteTx,
    TxStep,
};

pub(crate) type TxId = u64;

// The names are the RFC's four transaction kinds.
#[allow(clippy::enum_variant_names)]
#[derive(Debug)]
pub(crate) enum Tx {
    ClientInvite(ClientInviteTx),
    ClientNonInvite(ClientNonInviteTx),
    ServerInvite(ServerInviteTx),
    ServerNonInvite(ServerNonInviteTx),
}

impl Tx {
    pub fn next_timeout(&self) -> Option<Instant> {
        match self {
            Tx::ClientInvite(t) => t.next_timeout(),
            Tx::ClientNonInvite(t) => t.next_timeout(),
            Tx::ServerInvite(t) => t.next_timeout(),
            Tx::ServerNonInvite(t) => t.next_timeout(),
        }
    }

    pub fn on_timeout(&mut self, now: Instant) -> TxStep {
        match self {
            Tx::ClientInvite(t) => t.on_timeout(now),
            Tx::ClientNonInvite(t) => t.on_timeout(now),
            Tx::ServerInvite(t) => t.on_timeout(now),
            Tx::ServerNonInvite(t) => t.on_timeout(now),
        }
    }

    pub fn is_terminated(&self) -> bool {
        match self {
            Tx::ClientInvite(t) => t.is_terminated(),
            Tx::ClientNonInvite(t) => t.is_terminated(),
            Tx::ServerInvite(t) => t.is_terminated(),
            Tx::ServerNonInvite(t) => t.is_terminated(),
        }
    }

    pub fn has_final(&self) -> bool {
        match self {
            Tx::ClientInvite(t) => t.has_final(),
            Tx::ClientNonInvite(t) => t.has_final(),
            Tx::ServerInvite(t) => t.has_final(),
            Tx::ServerNonInvite(t) => t.has_final(),
        }
    }

    pub fn is_client(&self) -> bool {
        matches!(self, Tx::ClientInvite(_) | Tx::ClientNonInvite(_))
    }

    pub fn on_retransmission(&mut self) -> TxStep {
        match self {
            Tx::ServerInvite(t) => t.on_retransmission(),
            Tx::ServerNonInvite(t) => t.on_retransmission(),
            _ => TxStep::default(),
        }
    }

    pub fn send_response(&mut self, now: Instant, code: u16, bytes: Vec<u8>) -> TxStep {
        match self {
            Tx::ServerInvite(t) => t.send_response(now, code, bytes),
            Tx::ServerNonInvite(t) => t.send_response(now, code, bytes),
            _ => TxStep::default(),
        }
    }

    pub fn terminate(&mut self) {
        match self {
            Tx::ClientInvite(t) => t.terminate(),
            Tx::ClientNonInvite(t) => t.terminate(),
            Tx::ServerInvite(t) => t.terminate(),
            Tx::ServerNonInvite(_) => {}
        }
    }
}

/// Who hears about a transaction's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    Nobody,
    /// The leg's INVITE or re-INVITE (client or server).
    Invite(LegId),
    /// Our re-INVITE on an established leg.
    ReInvite(LegId),
    /// Our session refresh (UPDATE, RFC 4028).
    Refresh(LegId),
    /// Our REFER.
    Refer(LegId),
    Bye(LegId),
    Cancel(LegId),
    /// Our REGISTER (a trunk's registration).
    Register(super::RegistrationId),
}

#[derive(Debug)]
pub(crate) enum TxKey {
    Server(ServerKey),
    Client(ClientKey),
}

#[derive(Debug)]
pub(crate) struct TxEntry {
    pub tx: Tx,
    pub peer: Peer,
    /// Where ACKs for a 2xx go, when the dialog route differs from `peer`.
    pub ack_peer: Option<Peer>,
    pub owner: Owner,
    key: TxKey,
    /// Earliest wake-up queued for this transaction.
    pub scheduled: Option<Instant>,
}

#[derive(Debug, Default)]
pub(crate) struct TxTable {
    entries: HashMap<TxId, TxEntry>,
    server: HashMap<ServerKey, TxId>,
    client: HashMap<ClientKey, TxId>,
    /// Server transactions open per source address.
    servers_by_ip: HashMap<std::net::IpAddr, usize>,
    next_id: TxId,
}

impl TxTable {
    pub fn insert(&mut self, tx: Tx, peer: Peer, owner: Owner, key: TxKey) -> TxId {
        self.next_id += 1;
        let id = self.next_id;
        match &key {
            TxKey::Server(k) => {
                *self.servers_by_ip.entry(peer.addr.ip()).or_default() += 1;
                self.server.insert(k.clone(), id)
            }
            TxKey::Client(k) => self.client.insert(k.clone(), id),
        };
        self.entries.insert(
            id,
            TxEntry {
                tx,
                peer,
                ack_peer: None,
                owner,
                key,
                scheduled: None,
            },
        );
        id
    }

    pub fn find_server(&self, key: &ServerKey) -> Option<TxId> {
        self.server.get(key).copied()
    }

    pub fn find_client(&self, key: &ClientKey) -> Option<TxId> {
        self.client.get(key).copied()
    }

    pub fn get(&self, id: TxId) -> Option<&TxEntry> {
        self.entries.get(&id)
    }

    pub fn get_mut(&mut self, id: TxId) -> Option<&mut TxEntry> {
        self.entries.get_mut(&id)
    }

    pub fn remove(&mut self, id: TxId) {
        let Some(entry) = self.entries.remove(&id) else {
            return;
        };
        // A newer transaction may have taken the key (a peer reusing a branch).
        match entry.key {
            TxKey::Server(k) => {
                if self.server.get(&k) == Some(&id) {
                    self.server.remove(&k);
                }
                let ip = entry.peer.addr.ip();
                if let Some(n) = self.servers_by_ip.get_mut(&ip) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.servers_by_ip.remove(&ip);
                    }
                }
            }
            TxKey::Client(k) => {
                if self.client.get(&k) == Some(&id) {
                    self.client.remove(&k);
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Server transactions open from `ip`.
    pub fn servers_from(&self, ip: std::net::IpAddr) -> usize {
        self.servers_by_ip.get(&ip).copied().unwrap_or(0)
    }

    /// Client transactions still waiting on `peer`, for a transport failure.
    pub fn pending_clients_to(&self, peer: Peer) -> Vec<TxId> {
        self.entries
            .iter()
            .filter(|(_, e)| e.peer == peer && e.tx.is_client() && !e.tx.has_final())
            .map(|(id, _)| *id)
            .collect()
    }
}
