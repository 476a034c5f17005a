//! Types shared by every Dialtone crate: ids, scenarios and the messages
//! between a scenario session and the engine.

pub mod acd;
pub mod ids;
pub mod messages;
mod scenario;
pub mod storage;
pub mod voices;

pub use ids::{CallId, SessionId, UnitId};
pub use scenario::Scenario;
