//! Closing at start what a crashed server left open, on both backends.
//!
//! A test binary of its own: `close_interrupted` closes every running
//! session in the database, which would race the other history tests that
//! share the PostgreSQL test database (test binaries run one at a time).

mod common;

use dialtone_store::{
    CallRecord, HistoryConfig, HistoryWriter, SessionRecord, Store, CALL_INTERRUPTED_REASON,
    SESSION_INTERRUPTED_REASON, STATUS_ENDED, STATUS_FAILED, STATUS_INTERRUPTED, STATUS_RUNNING,
};

on_both_backends!(running_sessions_and_open_calls_are_closed_once);

fn uid(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}-{nanos:x}-{}", N.fetch_add(1, Ordering::Relaxed))
}

fn session(account: &str, status: &str, ended_at: Option<i64>) -> SessionRecord {
    SessionRecord {
        id: uid("s"),
        account: account.to_owned(),
        application: Some("app".to_owned()),
        rule: None,
        started_at: 1_000,
        ended_at,
        status: status.to_owned(),
        error: (status == STATUS_FAILED).then(|| "boom".to_owned()),
    }
}

fn call(session: &SessionRecord, answered: bool, ended_at: Option<i64>) -> CallRecord {
    CallRecord {
        id: uid("c"),
        account: session.account.clone(),
        session: session.id.clone(),
        direction: "inbound".to_owned(),
        from: "alice".to_owned(),
        to: "1000".to_owned(),
        started_at: 1_000,
        answered_at: answered.then_some(1_100),
        ended_at,
        duration_ms: ended_at.map(|e| e - 1_100),
        disconnect_code: ended_at.map(|_| 200),
        disconnect_reason: ended_at.map(|_| "OK".to_owned()),
        recordings: Vec::new(),
    }
}

async fn write(store: &Store, sessions: &[&SessionRecord], calls: &[&CallRecord]) {
    let (writer, _task) = HistoryWriter::spawn(store.clone(), HistoryConfig::default());
    for s in sessions {
        writer.record_session((*s).clone()).unwrap();
    }
    for c in calls {
        writer.record_call((*c).clone()).unwrap();
    }
    writer.flush().await.unwrap();
}

async fn running_sessions_and_open_calls_are_closed_once(store: &Store) {
    let (acct, _) = store.create_account(&uid("crash")).await.unwrap();
    let running = session(&acct.id, STATUS_RUNNING, None);
    let answered = call(&running, true, None);
    let ringing = call(&running, false, None);
    let finished = call(&running, true, Some(2_000));
    let ended = session(&acct.id, STATUS_ENDED, Some(3_000));
    let ended_call = call(&ended, true, Some(3_000));
    let failed = session(&acct.id, STATUS_FAILED, Some(3_000));
    // A call whose session ended, but whose own end was still queued.
    let late = call(&failed, true, None);
    write(
        store,
        &[&running, &ended, &failed],
        &[&answered, &ringing, &finished, &ended_call, &late],
    )
    .await;

    let closed = store.close_interrupted(9_000).await.unwrap();
    // Other tests' rows may be closed too on a shared database: at least ours.
    assert!(closed.sessions >= 1 && closed.calls >= 3, "{closed:?}");

    let s = store
        .get_session(&acct.id, &running.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.status, STATUS_INTERRUPTED);
    assert_eq!(s.ended_at, Some(9_000));
    assert_eq!(s.error.as_deref(), Some(SESSION_INTERRUPTED_REASON));
    let calls = store.session_calls(&acct.id, &running.id).await.unwrap();
    assert_eq!(calls.len(), 3);
    for c in &calls {
        if c.id == finished.id {
            assert_eq!(c, &finished, "a call that ended is left alone");
            continue;
        }
        assert_eq!(c.ended_at, Some(9_000), "{c:?}");
        assert_eq!(
            c.disconnect_reason.as_deref(),
            Some(CALL_INTERRUPTED_REASON)
        );
        assert_eq!(c.disconnect_code, None);
        assert_eq!(
            c.duration_ms, None,
            "not known: the call may have ended any time"
        );
        let answered_at = if c.id == answered.id {
            Some(1_100)
        } else {
            None
        };
        assert_eq!(c.answered_at, answered_at);
    }

    // Sessions that ended keep their status and times.
    let e = store
        .get_session(&acct.id, &ended.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e, ended);
    let f = store
        .get_session(&acct.id, &failed.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f, failed);
    assert_eq!(
        store.session_calls(&acct.id, &ended.id).await.unwrap(),
        vec![ended_call.clone()]
    );
    let l = &store.session_calls(&acct.id, &failed.id).await.unwrap()[0];
    assert_eq!(l.ended_at, Some(9_000));

    // Nothing of ours is left open, so a second start closes none of it.
    let again = store.close_interrupted(10_000).await.unwrap();
    let s = store
        .get_session(&acct.id, &running.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.ended_at, Some(9_000), "{again:?}");

    // A record arriving later (another server sharing the database whose
    // session was in fact alive) replaces the whole row, as every record does.
    let mut revived = running.clone();
    revived.status = STATUS_ENDED.to_owned();
    revived.ended_at = Some(11_000);
    write(store, &[&revived], &[]).await;
    let s = store
        .get_session(&acct.id, &running.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s, revived);
}
