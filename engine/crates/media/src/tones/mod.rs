//! Tones: VoxEngine's tone scripts (the ToneScript notation of SIP phones),
//! a sample-accurate generator for them, and national progress tones.

pub mod generator;
pub mod progress;
pub mod script;

pub use generator::ToneGenerator;
pub use progress::progress_tone;
pub use script::{ToneError, ToneScript};

/// The tone clock: tones are generated at 8 kHz, the G.711 rate.
pub(crate) const RATE: u32 = 8000;
