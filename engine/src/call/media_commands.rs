//! The call core's media commands carried out on the media engine.

use dialtone_calls::MediaCommand;
use dialtone_core::UnitId;
use dialtone_media::MediaEngine;

fn unit(u: UnitId) -> dialtone_media::UnitId {
    dialtone_media::UnitId(u.0)
}

/// Applies `cmd`; an error names the unit it failed for, to be handed back
/// to the core.
pub fn apply(media: &MediaEngine, cmd: MediaCommand) -> Result<(), (UnitId, String)> {
    match cmd {
        MediaCommand::SetRemote { unit: u, params } => media.set_remote(unit(u), params),
        MediaCommand::Release(u) => media.release(unit(u)),
        MediaCommand::Connect { from, to } => media.connect(unit(from), unit(to)),
        MediaCommand::Disconnect { from, to } => media.disconnect(unit(from), unit(to)),
        MediaCommand::AddPlayer {
            unit: u,
            shard,
            media: m,
            looped,
        } => media
            .add_player(unit(u), shard, m, looped)
            .map_err(|e| (u, e.to_string()))?,
        MediaCommand::PausePlayer { unit: u, paused } => media.pause_player(unit(u), paused),
        MediaCommand::AddMarker { unit: u, offset_ms } => media.add_marker(unit(u), offset_ms),
        MediaCommand::AddRecorder {
            unit: u,
            shard,
            spec,
        } => media
            .add_recorder(unit(u), shard, spec)
            .map_err(|e| (u, e.to_string()))?,
        MediaCommand::MuteRecorder { unit: u, muted } => media.mute_recorder(unit(u), muted),
        MediaCommand::MuteEndpoint { unit: u, muted } => media.mute_endpoint(unit(u), muted),
        MediaCommand::ToneDetection { unit: u, enabled } => {
            media.set_tone_detection(unit(u), enabled)
        }
        MediaCommand::SendDigits { unit: u, digits } => {
            if let Err(e) = media.send_digits(unit(u), &digits) {
                // Nothing was queued; the script is not told (as VoxEngine).
                tracing::warn!(call = u.0, error = %e, "sendDigits failed");
            }
        }
        MediaCommand::Statistics { unit: u, interval } => media.set_statistics(unit(u), interval),
        MediaCommand::AddLink {
            a,
            a_shard,
            b,
            b_shard,
        } => media
            .add_link(unit(a), a_shard, unit(b), b_shard)
            .map_err(|e| (a, e.to_string()))?,
        MediaCommand::AddMixer { unit: u, shard } => media
            .add_mixer(unit(u), shard)
            .map_err(|e| (u, e.to_string()))?,
        MediaCommand::SetMember { mixer, spec } => media.set_member(
            unit(mixer),
            dialtone_media::mixer::MemberSpec {
                unit: unit(spec.unit),
                send: spec.send,
                forward: spec.forward,
                deaf_to: spec.deaf_to.into_iter().map(unit).collect(),
            },
        ),
        MediaCommand::RemoveMember { mixer, unit: u } => media.remove_member(unit(mixer), unit(u)),
    }
    Ok(())
}
