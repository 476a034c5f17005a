//! The QuickJS script host: one runtime per session, VoxEngine-named JS API.
//!
//! Every scenario session owns one QuickJS runtime on one of a few JS worker
//! threads. Scripts talk to the engine only through [`SessionCommand`]s sent
//! on the host's `CommandSender`, and learn about the world only through the
//! [`SessionEvent`]s the engine sends to the session. No telephony happens
//! here.
//!
//! The JS surface, with VoxEngine's names and semantics:
//! - `VoxEngine`: `addEventListener`, `removeEventListener`, `callSIP(to,
//!   parameters)` (also the positional `callSIP(to, callerid, displayName,
//!   password, authUser, extraHeaders)`), `easyProcess(call1, call2,
//!   onEstablished?, direct?)`, `sendMediaBetween`, `stopMediaBetween`,
//!   `terminate`, `customData(value?)`.
//! - `AppEvents` (`Started`, `CallAlerting`, `HttpRequest`, `Terminating`,
//!   `Terminated`) and
//!   every documented `CallEvents` constant, with VoxEngine's string values.
//! - `Call`: `answer`, `reject(code?, extraHeaders?)` (486 by default),
//!   `decline` (603), `ring`, `startEarlyMedia`, `hangup`, `id`, `callerid`,
//!   `displayName`, `number`, `incoming`, `state`, `customData`,
//!   `sendMediaTo`, `stopMediaTo`, `addEventListener`, `removeEventListener`,
//!   `toString`, and for media `startPlayback`, `stopPlayback`, `say`,
//!   `playProgressTone`, `handleTones`, `sendDigits`, `record`. Only `X-`
//!   headers are sent.
//! - `VoxEngine.createURLPlayer`, `createTTSPlayer`, `createToneScriptPlayer`
//!   return a `Player` (`sendMediaTo`, `stopMediaTo`, `pause`, `resume`,
//!   `stop`, `addMarker`, listeners); `VoxEngine.createRecorder` a `Recorder`
//!   (`stop`, `mute`, listeners). `PlayerEvents` and `RecorderEvents` hold
//!   VoxEngine's string values.
//! - `Net.httpRequestAsync(url, options)` and `Net.httpRequest(url,
//!   callback, options)`: the engine performs the request; results use
//!   VoxEngine's `HttpRequestResult` and its negative failure codes.
//! - `Logger.write`, `setTimeout`, `clearTimeout`, `setInterval`,
//!   `clearInterval`.
//!
//! Layout: one module per JS namespace (`voxengine`, `call`, `player`,
//! `recorder`, `net`, `logger`, `timers`, `events`), media units and option
//! parsing (`media`), the session's runtime and event loop (`session`), the
//! worker threads (`host`), memory and CPU limits (`limits`), scenario
//! bytecode (`bytecode`), and the static checks of `dialtone check` against
//! `sdk-types/dialtone.d.ts` (`lint`).
//!
//! [`SessionCommand`]: dialtone_core::messages::SessionCommand
//! [`SessionEvent`]: dialtone_core::messages::SessionEvent

mod access;
mod acd;
mod bytecode;
mod call;
mod call_dialog;
mod conference;
mod data;
mod events;
mod globals;
mod headers;
mod host;
mod lazy;
mod limits;
pub mod lint;
mod listeners;
mod log_budget;
mod logger;
mod media;
mod modules;
mod net;
mod player;
mod pstn;
mod quickjs;
mod recorder;
mod registry;
mod session;
mod storage;
mod timers;
mod users;
mod voices;
mod voxengine;

use std::time::Duration;

pub use bytecode::{check, CompileError};
pub use data::evaluate_to_json;
pub use host::{run_session_local, ScriptHost, SessionSpec};
pub use lint::{lint, Diagnostic, LintError};

/// Limits and sizing of the script host.
#[derive(Debug, Clone)]
pub struct ScriptConfig {
    /// Number of JS worker threads; sessions are pinned to one by their id.
    pub workers: usize,
    /// Heap limit of one session's runtime, in bytes.
    pub memory_limit: usize,
    /// Longest a single callback (event handler, timer, promise jobs) may run.
    pub cpu_budget: Duration,
    /// A session with no live calls ends after this long.
    pub idle_timeout: Duration,
    /// The TTS engine's voices, which `Language` and `VoiceList` map onto.
    pub voices: std::sync::Arc<dialtone_core::voices::VoiceCatalogue>,
}

impl Default for ScriptConfig {
    fn default() -> Self {
        ScriptConfig {
            workers: 2,
            memory_limit: 16 * 1024 * 1024,
            cpu_budget: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(60),
            voices: Default::default(),
        }
    }
}

pub use dialtone_core::Scenario;
