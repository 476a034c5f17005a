//! Media units as scripts pass them around (calls, players, recorders), and
//! the option objects of the playback, TTS and recording functions.
//!
//! Every unit has at most one audio input. Calls and recorders take input;
//! calls and players give it. A recorder is never a source, a player never a
//! sink.

use dialtone_core::messages::{PlayerSource, RecordFormat};
use dialtone_core::{CallId, UnitId};
use rquickjs::{Class, Ctx, Exception, Object, Value};

use crate::call::Call;
use crate::player::Player;
use crate::recorder::Recorder;

/// Longest digit string `sendDigits` accepts in one call.
pub(crate) const MAX_DIGITS: usize = 256;
/// Longest URL, tone script or country code a script may pass.
pub(crate) const MAX_SOURCE_TEXT: usize = 8 * 1024;
/// Longest TTS text the host forwards; the engine itself refuses anything
/// over VoxEngine's 1,500 characters with a `PlaybackFinished` error.
pub(crate) const MAX_TTS_TEXT: usize = 64 * 1024;

/// A fresh id for a player or recorder, from the counter calls use.
pub(crate) fn new_unit() -> UnitId {
    UnitId(CallId::next().0)
}

enum Kind {
    Call,
    Player,
    Recorder,
}

fn classify(value: &Value<'_>) -> Option<(Kind, UnitId)> {
    if let Ok(call) = Class::<Call>::from_value(value) {
        return Some((Kind::Call, UnitId::from(call.borrow().call_id())));
    }
    if let Ok(player) = Class::<Player>::from_value(value) {
        return Some((Kind::Player, player.borrow().unit()));
    }
    if let Ok(recorder) = Class::<Recorder>::from_value(value) {
        return Some((Kind::Recorder, recorder.borrow().unit()));
    }
    None
}

/// The unit a `sendMediaTo`/`stopMediaTo` target names: a Call or a Recorder.
pub(crate) fn media_sink<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    value: &Value<'js>,
) -> rquickjs::Result<UnitId> {
    match classify(value) {
        Some((Kind::Call | Kind::Recorder, unit)) => Ok(unit),
        Some((Kind::Player, _)) => Err(Exception::throw_type(
            ctx,
            &format!("{what}: a Player has no audio input; send it to a Call or a Recorder"),
        )),
        None => Err(Exception::throw_type(
            ctx,
            &format!(
                "{what}: expected a media unit (a Call or a Recorder), not {}",
                value.type_name()
            ),
        )),
    }
}

/// The unit of a Call, where only calls are allowed (`sendMediaBetween`).
pub(crate) fn call_unit<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    value: &Value<'js>,
) -> rquickjs::Result<UnitId> {
    match classify(value) {
        Some((Kind::Call, unit)) => Ok(unit),
        _ => Err(Exception::throw_type(
            ctx,
            &format!("{what}: expected a Call, not {}", describe(value)),
        )),
    }
}

fn describe(value: &Value<'_>) -> &'static str {
    match classify(value) {
        Some((Kind::Player, _)) => "a Player",
        Some((Kind::Recorder, _)) => "a Recorder",
        Some((Kind::Call, _)) => "a Call",
        None => value.type_name(),
    }
}

/// A string argument, bounded in length.
pub(crate) fn text_arg<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    field: &str,
    value: &Value<'js>,
    max: usize,
) -> rquickjs::Result<String> {
    let Some(s) = value.as_string() else {
        return Err(Exception::throw_type(
            ctx,
            &format!(
                "{what}: {field} must be a string, not {}",
                value.type_name()
            ),
        ));
    };
    let text = s.to_string()?;
    if text.len() > max {
        return Err(Exception::throw_range(
            ctx,
            &format!("{what}: {field} is longer than {max} bytes"),
        ));
    }
    Ok(text)
}

pub(crate) fn is_set(value: &Value<'_>) -> bool {
    !value.is_undefined() && !value.is_null()
}

fn field<'js>(object: &Object<'js>, key: &str) -> rquickjs::Result<Option<Value<'js>>> {
    let value: Value = object.get(key)?;
    Ok(is_set(&value).then_some(value))
}

/// `loop` from either an options object (`{loop: true}`) or VoxEngine's
/// older positional boolean.
pub(crate) fn loop_option(value: Option<&Value<'_>>) -> rquickjs::Result<bool> {
    let Some(value) = value.filter(|v| is_set(v)) else {
        return Ok(false);
    };
    if let Some(object) = value.as_object() {
        return Ok(field(object, "loop")?.is_some_and(|v| truthy(&v)));
    }
    Ok(truthy(value))
}

pub(crate) fn truthy(value: &Value<'_>) -> bool {
    if let Some(b) = value.as_bool() {
        return b;
    }
    if let Some(n) = value.as_number() {
        return n != 0.0 && !n.is_nan();
    }
    if let Some(s) = value.as_string() {
        return s.to_string().is_ok_and(|s| !s.is_empty());
    }
    is_set(value)
}

/// `say`/`createTTSPlayer` options: a voice name string (VoxEngine's older
/// `language` argument) or `{voice | language, rate | ttsOptions.rate,
/// engine}`. Unknown fields are ignored.
pub(crate) fn tts_source<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    text: &Value<'js>,
    options: Option<&Value<'js>>,
) -> rquickjs::Result<PlayerSource> {
    let text = text_arg(ctx, what, "the text", text, MAX_TTS_TEXT)?;
    let mut voice = None;
    let mut rate = None;
    let mut engine = None;
    match options.filter(|v| is_set(v)) {
        None => {}
        Some(v) if v.is_string() => voice = Some(text_arg(ctx, what, "the voice", v, 256)?),
        Some(v) => {
            let Some(o) = v.as_object() else {
                return Err(Exception::throw_type(
                    ctx,
                    &format!(
                        "{what}: options must be an object or a voice name, not {}",
                        v.type_name()
                    ),
                ));
            };
            if let Some(v) = field(o, "voice")?.or(field(o, "language")?) {
                voice = Some(voice_name(ctx, what, &v)?);
            }
            let tts_rate = match field(o, "ttsOptions")? {
                Some(t) => match t.as_object() {
                    Some(t) => field(t, "rate")?,
                    None => None,
                },
                None => None,
            };
            if let Some(r) = field(o, "rate")?.or(tts_rate) {
                rate = Some(speech_rate(ctx, what, &r)?);
            }
            if let Some(e) = field(o, "engine")? {
                engine = Some(text_arg(ctx, what, "engine", &e, 256)?);
            }
        }
    }
    // `Language` and `VoiceList` voices map onto the engine's by language.
    let voice = match voice {
        Some(v) => {
            let core = crate::registry::registry(ctx)?.core.clone();
            let resolved = core.voices.resolve(&v);
            if let Some(note) = resolved.note {
                core.note(&format!("{what}: {note}"));
            }
            resolved.voice
        }
        None => None,
    };
    Ok(PlayerSource::Tts {
        text,
        voice,
        rate,
        engine,
    })
}

/// A voice given as a string, or as an object with a `name` (VoxEngine's
/// `VoiceList` entries are objects in newer versions).
fn voice_name<'js>(ctx: &Ctx<'js>, what: &str, value: &Value<'js>) -> rquickjs::Result<String> {
    if let Some(o) = value.as_object().filter(|_| !value.is_string()) {
        if let Some(name) = field(o, "name")? {
            return text_arg(ctx, what, "voice.name", &name, 256);
        }
    }
    text_arg(ctx, what, "the voice", value, 256)
}

/// A speaking rate: a number (1.0 is normal), a numeric string, or one of
/// SSML's named rates.
fn speech_rate<'js>(ctx: &Ctx<'js>, what: &str, value: &Value<'js>) -> rquickjs::Result<f32> {
    let rate = if let Some(n) = value.as_number() {
        Some(n)
    } else if let Some(s) = value.as_string() {
        let s = s.to_string()?;
        match s.trim() {
            "x-slow" => Some(0.5),
            "slow" => Some(0.75),
            "medium" | "default" => Some(1.0),
            "fast" => Some(1.25),
            "x-fast" => Some(1.5),
            other => other.trim_end_matches('%').parse::<f64>().ok().map(|n| {
                if other.ends_with('%') {
                    n / 100.0
                } else {
                    n
                }
            }),
        }
    } else {
        None
    };
    match rate {
        Some(r) if r.is_finite() && r > 0.0 && r <= 10.0 => Ok(r as f32),
        _ => Err(Exception::throw_range(
            ctx,
            &format!("{what}: the rate must be a number between 0 and 10 or x-slow..x-fast"),
        )),
    }
}

/// Options of `call.record` and `VoxEngine.createRecorder`.
pub(crate) struct RecordOptions {
    pub(crate) stereo: bool,
    pub(crate) format: RecordFormat,
}

pub(crate) fn record_options<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    options: Option<&Value<'js>>,
) -> rquickjs::Result<RecordOptions> {
    let mut out = RecordOptions {
        stereo: false,
        format: RecordFormat::Wav,
    };
    let Some(value) = options.filter(|v| is_set(v)) else {
        return Ok(out);
    };
    let Some(o) = value.as_object() else {
        return Err(Exception::throw_type(
            ctx,
            &format!(
                "{what}: options must be an object, not {}",
                value.type_name()
            ),
        ));
    };
    out.stereo = field(o, "stereo")?.is_some_and(|v| truthy(&v));
    if let Some(format) = field(o, "format")? {
        let format = text_arg(ctx, what, "format", &format, 16)?;
        out.format = match format.to_ascii_lowercase().as_str() {
            "wav" => RecordFormat::Wav,
            "mp3" => RecordFormat::Mp3,
            _ => {
                return Err(Exception::throw_range(
                    ctx,
                    &format!("{what}: format must be \"wav\" or \"mp3\", not {format:?}"),
                ))
            }
        };
    }
    Ok(out)
}

/// Checks a `sendDigits` string: `0-9 * # A-D`, and `p` for a pause.
pub(crate) fn digits<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    value: &Value<'js>,
) -> rquickjs::Result<String> {
    let text = if let Some(n) = value.as_int() {
        n.to_string()
    } else {
        text_arg(ctx, what, "digits", value, MAX_DIGITS)?
    };
    if text.is_empty() {
        return Err(Exception::throw_range(
            ctx,
            &format!("{what}: no digits to send"),
        ));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !matches!(c, '0'..='9' | '*' | '#' | 'A'..='D' | 'p'))
    {
        return Err(Exception::throw_range(
            ctx,
            &format!("{what}: {bad:?} is not a DTMF digit (0-9, *, #, A-D, or p for a pause)"),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_come_from_the_call_counter() {
        let a = new_unit();
        let b = CallId::next();
        assert!(b.0 > a.0);
    }
}
