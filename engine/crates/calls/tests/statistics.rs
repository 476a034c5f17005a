//! `CallEvents.Statistics`: measured only while asked for, from the moment
//! the call's RTP is up, and reported as the call's event.

mod harness;

use dialtone_calls::MediaCommand;
use dialtone_core::messages::SessionCommand;
use dialtone_media::rtcp::CallStats;
use dialtone_media::MediaEvent;
use harness::*;

fn statistics_cmds(out: &[dialtone_calls::Output]) -> Vec<bool> {
    media_cmds(out)
        .iter()
        .filter_map(|c| match c {
            MediaCommand::Statistics { interval, .. } => Some(interval.is_some()),
            _ => None,
        })
        .collect()
}

#[test]
fn statistics_start_with_the_media_and_come_back_as_the_calls_event() {
    let mut h = Harness::new(None);
    let inbound = h.invite();
    // Asked for before the answer: nothing to measure yet.
    let out = h.cmd(
        inbound.session,
        SessionCommand::CallStatistics {
            call: inbound.call,
            enable: true,
        },
    );
    assert!(statistics_cmds(&out).is_empty());
    let out = h.cmd(
        inbound.session,
        SessionCommand::Answer {
            call: inbound.call,
            headers: Vec::new(),
        },
    );
    assert_eq!(statistics_cmds(&out), [true]);
    let out = h.media(MediaEvent::Statistics {
        unit: media_unit(inbound.call),
        stats: CallStats {
            packets_received: 250,
            ..CallStats::default()
        },
    });
    assert_eq!(call_events(&out, inbound.call), ["Statistics 250"]);
    // No listener any more: measuring stops.
    let out = h.cmd(
        inbound.session,
        SessionCommand::CallStatistics {
            call: inbound.call,
            enable: false,
        },
    );
    assert_eq!(statistics_cmds(&out), [false]);
    // Another session cannot switch it on.
    let other = h.connected();
    let out = h.cmd(
        other.session,
        SessionCommand::CallStatistics {
            call: inbound.call,
            enable: true,
        },
    );
    assert!(statistics_cmds(&out).is_empty());
}
