//! An account's recording quota as the call core sees it: a recording of an
//! account whose quota is spent is refused with its error event and leaves
//! no unit, file or history entry; otherwise the recorder carries the
//! account's budget; sessions of no account are never asked.

mod harness;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use dialtone_calls::{MediaCommand, Output, RouteOwner};
use dialtone_core::messages::{RecordFormat, RecorderEvent, SessionCommand, SessionEvent};
use dialtone_core::{CallId, SessionId, UnitId};
use dialtone_media::RecordingBudget;
use harness::*;

const FULL: &str = "recording quota exceeded: at most 1 MiB of recordings per account";

fn owned(h: &Harness) {
    h.knobs().owner = Some(RouteOwner {
        account: "acct-1".into(),
        application: "pbx".into(),
        rule: Some("r".into()),
    });
}

fn record(h: &mut Harness, session: SessionId, call: Option<CallId>) -> (UnitId, Vec<Output>) {
    let unit = UnitId(CallId::next().0);
    let out = h.cmd(
        session,
        SessionCommand::CreateRecorder {
            unit,
            call,
            stereo: false,
            format: RecordFormat::Wav,
        },
    );
    (unit, out)
}

#[test]
fn a_spent_quota_refuses_call_record_with_record_error() {
    let mut h = Harness::default();
    owned(&h);
    h.knobs().recording_refused = Some(FULL.into());
    let inbound = h.connected();
    let (_, out) = record(&mut h, inbound.session, Some(inbound.call));
    assert_eq!(
        call_events(&out, inbound.call),
        [format!("RecordError {FULL}")]
    );
    assert!(media_cmds(&out).is_empty(), "no recorder, no file");
    assert!(facts(&out).is_empty(), "nothing filed in history");
    assert_eq!(h.core.live_units(), 0);
    assert_eq!(h.knobs().recording_asked, ["acct-1"]);
}

#[test]
fn a_spent_quota_refuses_a_standalone_recorder_with_its_error_event() {
    let mut h = Harness::default();
    owned(&h);
    h.knobs().recording_refused = Some(FULL.into());
    // A session of the account: its inbound call's session.
    let inbound = h.connected();
    let (unit, out) = record(&mut h, inbound.session, None);
    let got: Vec<RecorderEvent> = events(&out)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Recorder { unit: u, event } if u == unit => Some(event),
            _ => None,
        })
        .collect();
    assert!(
        matches!(got.as_slice(), [RecorderEvent::Error { error }] if error == FULL),
        "{got:?}"
    );
    assert_eq!(h.core.live_units(), 0);
}

#[test]
fn a_recorder_carries_its_accounts_budget() {
    let mut h = Harness::default();
    owned(&h);
    let budget = RecordingBudget::new(Arc::new(AtomicU64::new(0)), Some(1 << 20), FULL);
    h.knobs().recording_budget = Some(budget.clone());
    let inbound = h.connected();
    let (_, out) = record(&mut h, inbound.session, Some(inbound.call));
    let MediaCommand::AddRecorder { spec, .. } = media_cmds(&out)[0] else {
        panic!("no recorder");
    };
    assert_eq!(spec.budget.as_ref(), Some(&budget));
}

#[test]
fn sessions_of_no_account_are_not_counted() {
    let mut h = Harness::default();
    h.knobs().recording_refused = Some(FULL.into());
    let session = h.session();
    let (_, out) = record(&mut h, session, None);
    let MediaCommand::AddRecorder { spec, .. } = media_cmds(&out)[0] else {
        panic!("no recorder");
    };
    assert_eq!(spec.budget, None);
    assert!(h.knobs().recording_asked.is_empty());
}
