//! Types shared by every Dialtone crate: ids and the messages between a scenario
//! session and the engine.

pub mod ids;
pub mod messages;

pub use ids::{CallId, SessionId, UnitId};
