//! The batching history writer and history queries on both backends.

mod common;

use std::time::Duration;

use dialtone_store::{
    CallRecord, HistoryConfig, HistoryFilter, HistoryWriter, Page, SessionRecord, Store,
};

on_both_backends!(
    writer_batches_and_flush_makes_rows_visible,
    writer_flushes_on_its_own_after_the_delay,
    later_records_replace_earlier_ones,
    query_filters_and_pages,
    history_is_per_account,
);

fn session(id: &str, account: &str, started_at: i64, status: &str) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        account: account.to_owned(),
        application: None,
        rule: None,
        started_at,
        ended_at: None,
        status: status.to_owned(),
        error: None,
    }
}

fn call(id: &str, session: &SessionRecord, from: &str, to: &str) -> CallRecord {
    CallRecord {
        id: id.to_owned(),
        account: session.account.clone(),
        session: session.id.clone(),
        direction: "inbound".to_owned(),
        from: from.to_owned(),
        to: to.to_owned(),
        started_at: session.started_at,
        answered_at: None,
        ended_at: None,
        duration_ms: None,
        disconnect_code: None,
        disconnect_reason: None,
        recordings: Vec::new(),
    }
}

/// Ids unique across runs, since PostgreSQL tests share one database.
fn uid(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}-{nanos:x}-{}", N.fetch_add(1, Ordering::Relaxed))
}

fn writer(store: &Store, max_batch: usize, max_delay: Duration) -> HistoryWriter {
    let config = HistoryConfig {
        max_batch,
        max_delay,
        queue_bytes: 1024 * 1024,
    };
    HistoryWriter::spawn(store.clone(), config).0
}

async fn all(store: &Store, account: &str) -> Vec<String> {
    store
        .query_history(account, &HistoryFilter::default(), &Page::default())
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.session.id)
        .collect()
}

async fn writer_batches_and_flush_makes_rows_visible(store: &Store) {
    let (acct, _) = store.create_account("h").await.unwrap();
    // A delay far beyond the test: only flush() or a full batch can write.
    let history = writer(store, 1000, Duration::from_secs(3600));
    let mut s = session(&uid("s"), &acct.id, 1_000, "ended");
    s.error = Some("TypeError: x is undefined".to_owned());
    s.ended_at = Some(5_000);
    history.record_session(s.clone()).unwrap();
    let mut c = call(&uid("c"), &s, "+15550001", "100");
    c.answered_at = Some(1_500);
    c.ended_at = Some(5_000);
    c.duration_ms = Some(3_500);
    c.disconnect_code = Some(200);
    c.disconnect_reason = Some("BYE".to_owned());
    c.recordings = vec!["rec-1.wav".to_owned(), "rec-2.wav".to_owned()];
    history.record_call(c.clone()).unwrap();
    history
        .append_log(&acct.id, &s.id, vec!["one".to_owned(), "two".to_owned()])
        .unwrap();
    history
        .append_log(&acct.id, &s.id, vec!["three".to_owned()])
        .unwrap();
    assert!(
        all(store, &acct.id).await.is_empty(),
        "written before flush"
    );

    history.flush().await.unwrap();
    let page = store
        .query_history(&acct.id, &HistoryFilter::default(), &Page::default())
        .await
        .unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].session, s);
    assert_eq!(page.entries[0].calls, vec![c]);
    assert_eq!(page.next_cursor, None);
    assert_eq!(
        store.get_session(&acct.id, &s.id).await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(
        store.get_session("someone-else", &s.id).await.unwrap(),
        None
    );
    assert_eq!(
        store.session_log(&acct.id, &s.id).await.unwrap(),
        ["one", "two", "three"]
    );

    // A full batch writes without flush(): wait for it with a deadline.
    let small = writer(store, 2, Duration::from_secs(3600));
    let s2 = session(&uid("s"), &acct.id, 2_000, "ended");
    small.record_session(s2.clone()).unwrap();
    small.record_call(call(&uid("c"), &s2, "a", "b")).unwrap();
    wait_for(store, &acct.id, 2).await;
}

async fn wait_for(store: &Store, account: &str, sessions: usize) {
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if all(store, account).await.len() >= sessions {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(seen.is_ok(), "history rows never became visible");
}

async fn writer_flushes_on_its_own_after_the_delay(store: &Store) {
    let (acct, _) = store.create_account("h").await.unwrap();
    let history = writer(store, 1000, Duration::from_millis(50));
    history
        .record_session(session(&uid("s"), &acct.id, 1, "running"))
        .unwrap();
    wait_for(store, &acct.id, 1).await;

    // Dropping the last handle writes what is queued and ends the task.
    let (history, task) = HistoryWriter::spawn(
        store.clone(),
        HistoryConfig {
            max_batch: 1000,
            max_delay: Duration::from_secs(3600),
            queue_bytes: 64 * 1024,
        },
    );
    history
        .record_session(session(&uid("s"), &acct.id, 2, "running"))
        .unwrap();
    drop(history);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("writer ended")
        .expect("writer did not panic");
    assert_eq!(all(store, &acct.id).await.len(), 2);
}

async fn later_records_replace_earlier_ones(store: &Store) {
    let (acct, _) = store.create_account("h").await.unwrap();
    let history = writer(store, 1000, Duration::from_secs(3600));
    let mut s = session(&uid("s"), &acct.id, 10, "running");
    let mut c = call(&uid("c"), &s, "alice", "bob");
    history.record_session(s.clone()).unwrap();
    history.record_call(c.clone()).unwrap();
    history.flush().await.unwrap();

    s.status = "failed".to_owned();
    s.ended_at = Some(99);
    s.error = Some("boom".to_owned());
    c.ended_at = Some(99);
    c.disconnect_code = Some(486);
    c.disconnect_reason = Some("Busy Here".to_owned());
    history.record_session(s.clone()).unwrap();
    history.record_call(c.clone()).unwrap();
    history.flush().await.unwrap();

    let page = store
        .query_history(&acct.id, &HistoryFilter::default(), &Page::default())
        .await
        .unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].session, s);
    assert_eq!(page.entries[0].calls, vec![c]);
}

async fn query_filters_and_pages(store: &Store) {
    let (acct, _) = store.create_account("h").await.unwrap();
    let app = store.put_application(&acct.id, "app").await.unwrap();
    let history = writer(store, 3, Duration::from_secs(3600));
    let mut ids = Vec::new();
    for i in 0..7i64 {
        let mut s = session(&uid("s"), &acct.id, 1_000 + i * 10, "ended");
        if i % 2 == 0 {
            s.application = Some(app.id.clone());
        }
        if i == 3 {
            s.status = "failed".to_owned();
        }
        history.record_session(s.clone()).unwrap();
        history
            .record_call(call(&uid("c"), &s, &format!("+1555000{i}"), "100"))
            .unwrap();
        ids.push(s.id);
    }
    // Two sessions with the same start time: the id breaks the tie.
    let twin = session(&uid("s"), &acct.id, 1_060, "ended");
    history.record_session(twin.clone()).unwrap();
    history.flush().await.unwrap();

    let query = |filter: HistoryFilter| {
        let acct = acct.id.clone();
        async move {
            store
                .query_history(&acct, &filter, &Page::default())
                .await
                .unwrap()
                .entries
                .into_iter()
                .map(|e| e.session.id)
                .collect::<Vec<_>>()
        }
    };
    let newest_first: Vec<_> = {
        let mut v = ids.clone();
        v.push(twin.id.clone());
        v.sort_by_key(|id| {
            let i = ids.iter().position(|x| x == id).map_or(6, |p| p as i64);
            (std::cmp::Reverse(i), std::cmp::Reverse(id.clone()))
        });
        v
    };
    assert_eq!(query(HistoryFilter::default()).await, newest_first);

    let window = query(HistoryFilter {
        from_time: Some(1_020),
        to_time: Some(1_050),
        ..Default::default()
    })
    .await;
    assert_eq!(window, [ids[4].clone(), ids[3].clone(), ids[2].clone()]);
    let by_number = query(HistoryFilter {
        number: Some("+15550005".to_owned()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_number, [ids[5].clone()]);
    let by_to = query(HistoryFilter {
        number: Some("100".to_owned()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_to.len(), 7);
    let by_app = query(HistoryFilter {
        application: Some(app.id.clone()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        by_app,
        [
            ids[6].clone(),
            ids[4].clone(),
            ids[2].clone(),
            ids[0].clone()
        ]
    );
    let failed = query(HistoryFilter {
        status: Some("failed".to_owned()),
        ..Default::default()
    })
    .await;
    assert_eq!(failed, [ids[3].clone()]);

    // Pages of 3 walk the whole list exactly once.
    let mut walked = Vec::new();
    let mut page = Page {
        limit: 3,
        cursor: None,
    };
    loop {
        let got = store
            .query_history(&acct.id, &HistoryFilter::default(), &page)
            .await
            .unwrap();
        assert!(got.entries.len() <= 3);
        walked.extend(got.entries.into_iter().map(|e| e.session.id));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(walked, newest_first);

    let bad = Page {
        limit: 3,
        cursor: Some("garbage".to_owned()),
    };
    assert!(store
        .query_history(&acct.id, &HistoryFilter::default(), &bad)
        .await
        .is_err());
}

async fn history_is_per_account(store: &Store) {
    let (a, _) = store.create_account("a").await.unwrap();
    let (b, _) = store.create_account("b").await.unwrap();
    let history = writer(store, 1000, Duration::from_secs(3600));
    let s = session(&uid("s"), &a.id, 5, "ended");
    history.record_session(s.clone()).unwrap();
    history.record_call(call(&uid("c"), &s, "x", "y")).unwrap();
    history
        .append_log(&a.id, &s.id, vec!["secret".to_owned()])
        .unwrap();
    history.flush().await.unwrap();

    assert!(all(store, &b.id).await.is_empty());
    assert!(store.session_log(&b.id, &s.id).await.unwrap().is_empty());
    assert!(store.session_calls(&b.id, &s.id).await.unwrap().is_empty());

    // A record for the same session id under B must not rewrite A's row.
    let mut hijack = s.clone();
    hijack.account = b.id.clone();
    hijack.status = "hijacked".to_owned();
    history.record_session(hijack).unwrap();
    history.flush().await.unwrap();
    let page = store
        .query_history(&a.id, &HistoryFilter::default(), &Page::default())
        .await
        .unwrap();
    assert_eq!(page.entries[0].session.status, "ended");
    assert!(all(store, &b.id).await.is_empty());
}

/// A backlog past `queue_bytes` reports congestion (so callers refuse new
/// work) without dropping anything; only past the hard limit are records
/// dropped, and a flush brings the backlog back to zero.
#[tokio::test(flavor = "current_thread")]
async fn a_backlog_congests_before_anything_is_dropped() {
    let (store, _dir) = common::sqlite().await;
    let (acct, _) = store.create_account("h").await.unwrap();
    let mut sent = Vec::new();
    let one = {
        // What one session record weighs: measured on a writer of its own.
        let (probe, _task) = HistoryWriter::spawn(store.clone(), HistoryConfig::default());
        // Ids of one length, so every record weighs the same.
        let s = session("bk-probe", &acct.id, 0, "running");
        probe.record_session(s.clone()).unwrap();
        sent.push(s.id);
        let bytes = probe.backlog_bytes();
        probe.flush().await.unwrap();
        bytes
    };
    let (history, _task) = HistoryWriter::spawn(
        store.clone(),
        HistoryConfig {
            max_batch: 1000,
            max_delay: Duration::from_millis(10),
            queue_bytes: 2 * one,
        },
    );
    // On this single-threaded runtime the writer task cannot run until we
    // await, so everything sent here stays queued.
    let hard = 2 * dialtone_store::HARD_LIMIT_FACTOR;
    for i in 0..hard {
        assert_eq!(history.congested(), i >= 2, "after {i} records");
        let s = session(&format!("bk-{i:05}"), &acct.id, i as i64, "running");
        history.record_session(s.clone()).unwrap();
        sent.push(s.id);
    }
    assert_eq!(history.backlog(), hard);
    assert_eq!(history.backlog_bytes(), hard * one);
    let over = session(&uid("s"), &acct.id, 0, "running");
    assert_eq!(
        history.record_session(over),
        Err(dialtone_store::HistoryError::Full)
    );
    history.flush().await.unwrap();
    assert!(!history.congested());
    assert_eq!(history.backlog(), 0);
    assert_eq!(history.backlog_bytes(), 0);
    let mut stored = all(&store, &acct.id).await;
    stored.sort();
    sent.sort();
    assert_eq!(stored, sent);
    store.close().await;
}

/// An account that floods the log holds the backlog and is refused; an
/// account that does not is still admitted.
#[tokio::test(flavor = "current_thread")]
async fn congestion_is_charged_to_the_account_that_causes_it() {
    let (store, _dir) = common::sqlite().await;
    let (noisy, _) = store.create_account("noisy").await.unwrap();
    let (quiet, _) = store.create_account("quiet").await.unwrap();
    let (history, _task) = HistoryWriter::spawn(
        store.clone(),
        HistoryConfig {
            max_batch: 1000,
            max_delay: Duration::from_millis(10),
            queue_bytes: 64 * 1024,
        },
    );
    history
        .record_session(session(&uid("s"), &quiet.id, 0, "running"))
        .unwrap();
    let line = "x".repeat(1000);
    for _ in 0..100 {
        history
            .append_log(&noisy.id, "sess", vec![line.clone()])
            .unwrap();
    }
    assert!(history.congested());
    assert!(history.congested_for(Some(&noisy.id)));
    assert!(!history.congested_for(Some(&quiet.id)));
    history.flush().await.unwrap();
    assert!(!history.congested_for(Some(&noisy.id)));
    store.close().await;
}
