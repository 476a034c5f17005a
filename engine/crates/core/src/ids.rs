//! Process-wide identifiers shared by the signalling, media and script layers.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_CALL: AtomicU64 = AtomicU64::new(1);

/// One call leg (and, in the media graph, the media unit of that leg).
/// Allocated by whoever creates the leg: the call layer for inbound INVITEs,
/// the script host for `VoxEngine.callSIP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

impl CallId {
    pub fn next() -> CallId {
        CallId(NEXT_CALL.fetch_add(1, Ordering::Relaxed))
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A media unit in the media graph. Calls use their `CallId` value; players,
/// recorders and conferences (later) take ids from the same counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitId(pub u64);

impl From<CallId> for UnitId {
    fn from(c: CallId) -> UnitId {
        UnitId(c.0)
    }
}

/// One scenario session (one QuickJS runtime).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub uuid::Uuid);

impl SessionId {
    pub fn new() -> SessionId {
        SessionId(uuid::Uuid::now_v7())
    }
    /// Stable small number used to pin a session to a worker thread.
    pub fn shard(&self, n: usize) -> usize {
        let v = self.0.as_u128();
        ((v ^ (v >> 64)) as u64 % n.max(1) as u64) as usize
    }
}

impl Default for SessionId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::str::FromStr for SessionId {
    type Err = uuid::Error;

    /// Parses the hyphenated form [`Display`](fmt::Display) writes.
    fn from_str(s: &str) -> Result<SessionId, uuid::Error> {
        uuid::Uuid::try_parse(s).map(SessionId)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
