//! `AppEvents` and `CallEvents`: the event names (VoxEngine's string values)
//! and the event objects handed to listeners.

use dialtone_core::messages::{CallEvent, IncomingCall};
use dialtone_core::CallId;
use rquickjs::{Class, Ctx, Function, Object, Value};

use crate::call::Call;
use crate::headers;

/// Event names the host dispatches.
pub(crate) mod names {
    pub(crate) const STARTED: &str = "Application.Started";
    pub(crate) const CALL_ALERTING: &str = "Application.CallAlerting";
    pub(crate) const TERMINATING: &str = "Application.Terminating";
    pub(crate) const TERMINATED: &str = "Application.Terminated";

    pub(crate) const AUDIO_STARTED: &str = "Call.AudioStarted";
    pub(crate) const CONNECTED: &str = "Call.Connected";
    pub(crate) const DISCONNECTED: &str = "Call.Disconnected";
    pub(crate) const FAILED: &str = "Call.Failed";
    pub(crate) const FIRST_AUDIO_PACKET_RECEIVED: &str = "Call.FirstAudioPacketReceived";
    pub(crate) const RINGING: &str = "Call.Ringing";
    pub(crate) const RTP_RESUMED: &str = "Call.RtpResumed";
    pub(crate) const RTP_STOPPED: &str = "Call.RtpStopped";
    pub(crate) const STATE_CHANGED: &str = "Call.StateChanged";
    pub(crate) const PLAYBACK_READY: &str = "Call.PlaybackReady";
    pub(crate) const PLAYBACK_STARTED: &str = "Call.PlaybackStarted";
    pub(crate) const PLAYBACK_FINISHED: &str = "Call.PlaybackFinished";
    pub(crate) const TONE_RECEIVED: &str = "Call.ToneReceived";
    pub(crate) const RECORD_STARTED: &str = "Call.RecordStarted";
    pub(crate) const RECORD_STOPPED: &str = "Call.RecordStopped";
    pub(crate) const RECORD_ERROR: &str = "Call.RecordError";
    pub(crate) const ON_HOLD: &str = "Call.OnHold";
    pub(crate) const OFF_HOLD: &str = "Call.OffHold";
    pub(crate) const INFO_RECEIVED: &str = "Call.InfoReceived";
    pub(crate) const MESSAGE_RECEIVED: &str = "Call.MessageReceived";
    pub(crate) const REINVITE_RECEIVED: &str = "Call.ReInviteReceived";
    pub(crate) const REINVITE_ACCEPTED: &str = "Call.ReInviteAccepted";
    pub(crate) const STATISTICS: &str = "Call.Statistics";
    pub(crate) const REINVITE_REJECTED: &str = "Call.ReInviteRejected";
    pub(crate) const BLIND_TRANSFER_REQUESTED: &str = "Call.BlindTransferRequested";
    pub(crate) const TRANSFER_COMPLETE: &str = "Call.TransferComplete";
    pub(crate) const TRANSFER_FAILED: &str = "Call.TransferFailed";
}

const APP_EVENTS: &[(&str, &str)] = &[
    ("CallAlerting", names::CALL_ALERTING),
    ("HttpRequest", crate::access::HTTP_REQUEST),
    ("Started", names::STARTED),
    ("Terminating", names::TERMINATING),
    ("Terminated", names::TERMINATED),
];

/// Every CallEvents constant VoxEngine documents, emitted or not yet, so
/// scripts written for VoxEngine load unchanged.
const CALL_EVENTS: &[(&str, &str)] = &[
    ("AudioIdentificationError", "Call.AudioIdentificationError"),
    (
        "AudioIdentificationResult",
        "Call.AudioIdentificationResult",
    ),
    (
        "AudioIdentificationStarted",
        "Call.AudioIdentificationStarted",
    ),
    (
        "AudioIdentificationStopped",
        "Call.AudioIdentificationStopped",
    ),
    ("AudioQualityDetected", "Call.AudioQualityDetected"),
    ("AudioStarted", names::AUDIO_STARTED),
    ("BlindTransferRequested", names::BLIND_TRANSFER_REQUESTED),
    ("Connected", names::CONNECTED),
    ("Disconnected", names::DISCONNECTED),
    ("Failed", names::FAILED),
    (
        "FirstAudioPacketReceived",
        names::FIRST_AUDIO_PACKET_RECEIVED,
    ),
    ("FirstVideoPacket", "Call.FirstVideoPacket"),
    ("FirstVideoPacketReceived", "Call.FirstVideoPacketReceived"),
    ("Forwarding", "Call.Forwarding"),
    ("InfoReceived", names::INFO_RECEIVED),
    ("MessageReceived", names::MESSAGE_RECEIVED),
    ("MicStatusChange", "Call.MicStatusChange"),
    ("OffHold", names::OFF_HOLD),
    ("OnHold", names::ON_HOLD),
    ("PlaybackFinished", names::PLAYBACK_FINISHED),
    ("PlaybackReady", names::PLAYBACK_READY),
    ("PlaybackStarted", names::PLAYBACK_STARTED),
    ("PushSent", "Call.PushSent"),
    ("ReInviteAccepted", names::REINVITE_ACCEPTED),
    ("ReInviteReceived", names::REINVITE_RECEIVED),
    ("ReInviteRejected", names::REINVITE_REJECTED),
    ("RecordError", names::RECORD_ERROR),
    ("RecordStarted", names::RECORD_STARTED),
    ("RecordStopped", names::RECORD_STOPPED),
    ("Ringing", names::RINGING),
    ("RtpResumed", names::RTP_RESUMED),
    ("RtpStopped", names::RTP_STOPPED),
    ("StateChanged", names::STATE_CHANGED),
    ("Statistics", names::STATISTICS),
    ("ToneDetected", "Call.ToneDetected"),
    ("ToneReceived", names::TONE_RECEIVED),
    ("TransferComplete", names::TRANSFER_COMPLETE),
    ("TransferFailed", names::TRANSFER_FAILED),
    ("VideoTrackCreated", "Call.Video.TrackCreated"),
];

pub(crate) fn install<'js>(ctx: &Ctx<'js>, globals: &Object<'js>) -> rquickjs::Result<()> {
    let freeze: Function = globals.get::<_, Object>("Object")?.get("freeze")?;
    for (global, table) in [
        ("AppEvents", APP_EVENTS),
        ("CallEvents", CALL_EVENTS),
        ("PlayerEvents", crate::player::PLAYER_EVENTS),
        (
            "SequencePlayerEvents",
            crate::player::SEQUENCE_PLAYER_EVENTS,
        ),
        ("RecorderEvents", crate::recorder::RECORDER_EVENTS),
        ("ConferenceEvents", crate::conference::CONFERENCE_EVENTS),
        ("ACDEvents", crate::acd::ACD_EVENTS),
    ] {
        let object = Object::new(ctx.clone())?;
        for (key, value) in table {
            object.set(*key, *value)?;
        }
        freeze.call::<_, ()>((object.clone(),))?;
        globals.set(global, object)?;
    }
    Ok(())
}

pub(crate) fn call_event_name(event: &CallEvent) -> &'static str {
    match event {
        CallEvent::Ringing { .. } => names::RINGING,
        CallEvent::AudioStarted { .. } => names::AUDIO_STARTED,
        CallEvent::Connected { .. } => names::CONNECTED,
        CallEvent::Failed { .. } => names::FAILED,
        CallEvent::Disconnected { .. } => names::DISCONNECTED,
        CallEvent::StateChanged { .. } => names::STATE_CHANGED,
        CallEvent::FirstAudioPacketReceived => names::FIRST_AUDIO_PACKET_RECEIVED,
        CallEvent::RtpStopped => names::RTP_STOPPED,
        CallEvent::RtpResumed => names::RTP_RESUMED,
        CallEvent::PlaybackReady => names::PLAYBACK_READY,
        CallEvent::PlaybackStarted { .. } => names::PLAYBACK_STARTED,
        CallEvent::PlaybackFinished { .. } => names::PLAYBACK_FINISHED,
        CallEvent::ToneReceived { .. } => names::TONE_RECEIVED,
        CallEvent::RecordStarted { .. } => names::RECORD_STARTED,
        CallEvent::RecordStopped { .. } => names::RECORD_STOPPED,
        CallEvent::RecordError { .. } => names::RECORD_ERROR,
        CallEvent::OnHold => names::ON_HOLD,
        CallEvent::OffHold => names::OFF_HOLD,
        CallEvent::InfoReceived { .. } => names::INFO_RECEIVED,
        CallEvent::MessageReceived { .. } => names::MESSAGE_RECEIVED,
        CallEvent::ReInviteReceived { .. } => names::REINVITE_RECEIVED,
        CallEvent::ReInviteAccepted { .. } => names::REINVITE_ACCEPTED,
        CallEvent::Statistics(_) => names::STATISTICS,
        CallEvent::ReInviteRejected { .. } => names::REINVITE_REJECTED,
        CallEvent::BlindTransferRequested { .. } => names::BLIND_TRANSFER_REQUESTED,
        CallEvent::TransferComplete { .. } => names::TRANSFER_COMPLETE,
        CallEvent::TransferFailed { .. } => names::TRANSFER_FAILED,
    }
}

/// `{name, call, id, ...}` with the fields VoxEngine gives each event.
pub(crate) fn call_event_object<'js>(
    ctx: &Ctx<'js>,
    call: &Class<'js, Call<'js>>,
    id: CallId,
    event: &CallEvent,
) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    object.set("name", call_event_name(event))?;
    object.set("call", call.clone())?;
    object.set("id", id.to_string())?;
    match event {
        CallEvent::Ringing { headers: h }
        | CallEvent::AudioStarted { headers: h }
        | CallEvent::Connected { headers: h } => {
            object.set("headers", headers::to_js(ctx, h)?)?;
        }
        CallEvent::Failed {
            code,
            reason,
            headers: h,
        } => {
            object.set("code", *code)?;
            object.set("reason", reason.as_str())?;
            object.set("headers", headers::to_js(ctx, h)?)?;
        }
        CallEvent::Disconnected {
            code,
            reason,
            duration,
            headers: h,
        } => {
            object.set("internalCode", *code)?;
            object.set("code", *code)?;
            object.set("reason", reason.as_str())?;
            object.set("duration", duration.as_secs())?;
            object.set("headers", headers::to_js(ctx, h)?)?;
        }
        CallEvent::StateChanged { old, new } => {
            object.set("oldState", old.as_str())?;
            object.set("newState", new.as_str())?;
        }
        CallEvent::PlaybackStarted { duration } => {
            object.set("duration", duration.as_secs_f64())?;
        }
        CallEvent::PlaybackFinished { error: Some(error) } | CallEvent::RecordError { error } => {
            object.set("error", error.as_str())?;
        }
        CallEvent::ToneReceived { tone } => object.set("tone", tone.as_str())?,
        CallEvent::RecordStarted { url } => object.set("url", url.as_str())?,
        CallEvent::RecordStopped { url, duration } => {
            object.set("url", url.as_str())?;
            object.set("duration", duration.as_secs_f64())?;
        }
        CallEvent::InfoReceived {
            mime_type,
            body,
            headers: h,
        }
        | CallEvent::ReInviteReceived {
            mime_type,
            body,
            headers: h,
        }
        | CallEvent::ReInviteAccepted {
            mime_type,
            body,
            headers: h,
        } => {
            object.set("mimeType", mime_type.as_str())?;
            object.set("body", body.as_str())?;
            object.set("headers", headers::to_js(ctx, h)?)?;
        }
        CallEvent::MessageReceived { text, headers: h } => {
            object.set("text", text.as_str())?;
            object.set("headers", headers::to_js(ctx, h)?)?;
        }
        CallEvent::ReInviteRejected { code, headers: h } => {
            object.set("code", *code)?;
            object.set("headers", headers::to_js(ctx, h)?)?;
        }
        CallEvent::BlindTransferRequested {
            transfer_to,
            refer_to,
            headers: h,
        } => {
            object.set("transferTo", transfer_to.as_str())?;
            object.set("referTo", refer_to.as_str())?;
            object.set("headers", headers::to_js(ctx, h)?)?;
        }
        CallEvent::TransferComplete { headers: h } => {
            object.set("role", "transferor")?;
            object.set("headers", headers::to_js(ctx, h)?)?;
        }
        CallEvent::TransferFailed {
            code,
            reason,
            headers: h,
        } => {
            object.set("code", *code)?;
            object.set("reason", reason.as_str())?;
            object.set("role", "transferor")?;
            object.set("headers", headers::to_js(ctx, h)?)?;
        }
        CallEvent::Statistics(s) => {
            let or_null = |v: Option<f64>| match v {
                Some(v) => Value::new_float(ctx.clone(), v),
                None => Value::new_null(ctx.clone()),
            };
            object.set("packetsSent", s.packets_sent as f64)?;
            object.set("packetsReceived", s.packets_received as f64)?;
            object.set("packetsLost", s.packets_lost as f64)?;
            object.set("lossRate", f64::from(s.loss_ppm) / 10_000.0)?;
            object.set("jitter", f64::from(s.jitter_us) / 1000.0)?;
            object.set("rtt", or_null(s.rtt_us.map(|v| f64::from(v) / 1000.0)))?;
            object.set(
                "remoteLossRate",
                or_null(s.remote_loss_ppm.map(|v| f64::from(v) / 10_000.0)),
            )?;
            object.set(
                "remoteJitter",
                or_null(s.remote_jitter_us.map(|v| f64::from(v) / 1000.0)),
            )?;
        }
        CallEvent::FirstAudioPacketReceived
        | CallEvent::OnHold
        | CallEvent::OffHold
        | CallEvent::RtpStopped
        | CallEvent::RtpResumed
        | CallEvent::PlaybackReady
        | CallEvent::PlaybackFinished { error: None } => {}
    }
    Ok(object)
}

/// The session-log text of a call event: name, call id, key fields.
pub(crate) fn describe_call_event(call: CallId, event: &CallEvent) -> String {
    let name = call_event_name(event);
    match event {
        CallEvent::Failed { code, reason, .. } => {
            format!("{name} call={call} code={code} reason={reason:?}")
        }
        CallEvent::Disconnected {
            code,
            reason,
            duration,
            ..
        } => format!(
            "{name} call={call} code={code} reason={reason:?} duration={}s",
            duration.as_secs()
        ),
        CallEvent::StateChanged { old, new } => {
            format!("{name} call={call} {} -> {}", old.as_str(), new.as_str())
        }
        CallEvent::PlaybackStarted { duration } => {
            format!("{name} call={call} duration={:.3}s", duration.as_secs_f64())
        }
        CallEvent::PlaybackFinished { error: Some(error) } | CallEvent::RecordError { error } => {
            format!("{name} call={call} error={error:?}")
        }
        CallEvent::ToneReceived { tone } => format!("{name} call={call} tone={tone}"),
        CallEvent::InfoReceived {
            mime_type, body, ..
        } => format!(
            "{name} call={call} mimeType={mime_type} bytes={}",
            body.len()
        ),
        CallEvent::MessageReceived { text, .. } => {
            format!("{name} call={call} bytes={}", text.len())
        }
        CallEvent::ReInviteRejected { code, .. } => format!("{name} call={call} code={code}"),
        CallEvent::BlindTransferRequested { refer_to, .. } => {
            format!("{name} call={call} referTo={refer_to}")
        }
        CallEvent::TransferFailed { code, reason, .. } => {
            format!("{name} call={call} code={code} reason={reason:?}")
        }
        CallEvent::RecordStarted { url } => format!("{name} call={call} url={url}"),
        CallEvent::RecordStopped { url, duration } => format!(
            "{name} call={call} url={url} duration={:.3}s",
            duration.as_secs_f64()
        ),
        _ => format!("{name} call={call}"),
    }
}

pub(crate) fn alerting_object<'js>(
    ctx: &Ctx<'js>,
    call: &Class<'js, Call<'js>>,
    incoming: &IncomingCall,
) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    object.set("name", names::CALL_ALERTING)?;
    object.set("call", call.clone())?;
    object.set("callerid", incoming.callerid.as_str())?;
    object.set("destination", incoming.destination.as_str())?;
    object.set("displayName", incoming.display_name.as_str())?;
    object.set("fromURI", incoming.from_uri.as_str())?;
    object.set("toURI", incoming.to_uri.as_str())?;
    object.set("headers", headers::to_js(ctx, &incoming.headers)?)?;
    Ok(object)
}

pub(crate) fn describe_alerting(incoming: &IncomingCall) -> String {
    format!(
        "{} call={} from={} to={}",
        names::CALL_ALERTING,
        incoming.call,
        incoming.callerid,
        incoming.destination
    )
}

/// `{name}` plus extra fields, for the application events.
pub(crate) fn app_event_object<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    object.set("name", name)?;
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_call_event_has_a_constant() {
        assert_eq!(CALL_EVENTS.len(), 39);
        let mut keys: Vec<_> = CALL_EVENTS.iter().map(|(k, _)| *k).collect();
        keys.dedup();
        assert_eq!(keys.len(), CALL_EVENTS.len());
        assert!(CALL_EVENTS.iter().all(|(_, v)| v.starts_with("Call.")));
    }
}
