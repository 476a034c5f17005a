//! Call history: sessions, calls and session logs.
//!
//! Writes never happen on the call path. SIP and media tasks hand records to
//! a [`HistoryWriter`] without waiting; one background task batches them and
//! writes each batch in a single transaction, every `max_batch` rows or
//! `max_delay` after the first queued row, with each session and call
//! written once per batch (its last state).
//!
//! Records of work already admitted are not dropped: past `queue_bytes` of
//! backlog the writer reports itself congested so callers refuse new
//! sessions, while records keep queueing; refusals are charged to the
//! accounts that hold the backlog ([`HistoryWriter::congested_for`]). Only
//! past [`HARD_LIMIT_FACTOR`] times `queue_bytes` (a database that is gone)
//! are records dropped, so memory stays bounded.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use crate::{new_id, Store, StoreError};

/// One script session. Recorded when it starts and again when it ends; the
/// later record replaces the earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub account: String,
    pub application: Option<String>,
    pub rule: Option<String>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    /// One of [`SESSION_STATUSES`].
    pub status: String,
    /// The script error that ended the session, if any; for an
    /// interrupted session, [`SESSION_INTERRUPTED_REASON`].
    pub error: Option<String>,
}

/// A session that has not ended yet.
pub const STATUS_RUNNING: &str = "running";
/// A session that ended normally.
pub const STATUS_ENDED: &str = "ended";
/// A session that a script error ended.
pub const STATUS_FAILED: &str = "failed";
/// A session that was still running when its server stopped without
/// ending it (a crash, `kill -9`), closed at the next start
/// ([`Store::close_interrupted`]).
pub const STATUS_INTERRUPTED: &str = "interrupted";
/// Every session status, as stored and filtered on.
pub const SESSION_STATUSES: [&str; 4] = [
    STATUS_RUNNING,
    STATUS_ENDED,
    STATUS_FAILED,
    STATUS_INTERRUPTED,
];
/// The `error` of an interrupted session.
pub const SESSION_INTERRUPTED_REASON: &str =
    "the server stopped before the session ended (crash or kill)";
/// The `disconnect_reason` of a call closed with an interrupted session.
pub const CALL_INTERRUPTED_REASON: &str =
    "the server stopped before the call ended (crash or kill)";

/// What [`Store::close_interrupted`] closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Interrupted {
    pub sessions: u64,
    pub calls: u64,
}

/// One call leg of a session. Like sessions, a later record with the same
/// id replaces the earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    pub id: String,
    pub account: String,
    pub session: String,
    /// "inbound" or "outbound".
    pub direction: String,
    pub from: String,
    pub to: String,
    pub started_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub disconnect_code: Option<i64>,
    pub disconnect_reason: Option<String>,
    /// Recording ids or paths made on this call.
    pub recordings: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct HistoryConfig {
    /// Write as soon as this many items are queued.
    pub max_batch: usize,
    /// Write at most this long after the first item of a batch arrived.
    pub max_delay: Duration,
    /// Bytes of backlog past which the writer is congested; records are
    /// dropped ([`HistoryError::Full`]) only past [`HARD_LIMIT_FACTOR`]
    /// times this.
    pub queue_bytes: usize,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            max_batch: 2_000,
            max_delay: Duration::from_millis(500),
            queue_bytes: 64 * 1024 * 1024,
        }
    }
}

use crate::history_backlog::Backlog;
pub use crate::history_backlog::HARD_LIMIT_FACTOR;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// The writer is far behind; the record was dropped rather than grow
    /// memory without bound.
    #[error("history queue is full; record dropped")]
    Full,
    #[error("history writer has stopped")]
    Closed,
}

enum Item {
    Session(SessionRecord),
    Call(CallRecord),
    Log {
        account: String,
        session: String,
        lines: Vec<String>,
    },
    Flush(oneshot::Sender<()>),
}

/// An item with what it weighs in the backlog, and whose it is.
struct Queued {
    item: Item,
    account: String,
    bytes: usize,
}

impl Item {
    /// The account it belongs to and about how many bytes it holds.
    fn weight(&self) -> (String, usize) {
        const ROW: usize = 64;
        match self {
            Item::Session(s) => (
                s.account.clone(),
                ROW + s.id.len() + s.status.len() + s.error.as_ref().map_or(0, |e| e.len()),
            ),
            Item::Call(c) => (
                c.account.clone(),
                ROW + c.id.len() + c.from.len() + c.to.len() + c.session.len(),
            ),
            Item::Log { account, lines, .. } => (
                account.clone(),
                lines.iter().map(|l| ROW / 4 + l.len()).sum(),
            ),
            Item::Flush(_) => (String::new(), 0),
        }
    }
}

/// Cheap, cloneable handle feeding the history writer task.
#[derive(Debug, Clone)]
pub struct HistoryWriter {
    tx: mpsc::UnboundedSender<Queued>,
    /// What is sent and not yet taken by the writer task.
    backlog: std::sync::Arc<Backlog>,
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Item::Session(_) => "Session",
            Item::Call(_) => "Call",
            Item::Log { .. } => "Log",
            Item::Flush(_) => "Flush",
        })
    }
}

impl HistoryWriter {
    /// Start the writer task on the current tokio runtime. It runs until
    /// every handle is dropped, then writes what is queued and ends.
    pub fn spawn(store: Store, config: HistoryConfig) -> (HistoryWriter, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let backlog = std::sync::Arc::new(Backlog::new(config.queue_bytes));
        let task = tokio::spawn(run(store, config, rx, backlog.clone()));
        (HistoryWriter { tx, backlog }, task)
    }

    fn send(&self, item: Item) -> Result<(), HistoryError> {
        let (account, bytes) = item.weight();
        if !self.backlog.has_room(bytes) {
            return Err(HistoryError::Full);
        }
        self.backlog.add(&account, bytes);
        let queued = Queued {
            item,
            account,
            bytes,
        };
        self.tx.send(queued).map_err(|e| {
            self.backlog.remove(&e.0.account, e.0.bytes);
            HistoryError::Closed
        })
    }

    /// True when more than `queue_bytes` wait to be written.
    pub fn congested(&self) -> bool {
        self.backlog.congested()
    }

    /// Whether new sessions of `account` should be refused until the writer
    /// catches up: the account holds more than a quarter of `queue_bytes` of
    /// the backlog, or the backlog is past `queue_bytes` and the account holds
    /// at least its fair share of it. Other accounts go on.
    pub fn congested_for(&self, account: Option<&str>) -> bool {
        self.backlog.congested_for(account)
    }

    /// Items waiting to be written.
    pub fn backlog(&self) -> usize {
        self.backlog.items()
    }

    /// Bytes waiting to be written.
    pub fn backlog_bytes(&self) -> usize {
        self.backlog.bytes()
    }

    pub fn record_session(&self, record: SessionRecord) -> Result<(), HistoryError> {
        self.send(Item::Session(record))
    }

    pub fn record_call(&self, record: CallRecord) -> Result<(), HistoryError> {
        self.send(Item::Call(record))
    }

    pub fn append_log(
        &self,
        account: &str,
        session: &str,
        lines: Vec<String>,
    ) -> Result<(), HistoryError> {
        if lines.is_empty() {
            return Ok(());
        }
        self.send(Item::Log {
            account: account.to_owned(),
            session: session.to_owned(),
            lines,
        })
    }

    /// Wait until everything queued before this call is written. Not for
    /// the call path: it waits on the database.
    pub async fn flush(&self) -> Result<(), HistoryError> {
        let (ack, done) = oneshot::channel();
        self.backlog.add("", 0);
        let flush = Queued {
            item: Item::Flush(ack),
            account: String::new(),
            bytes: 0,
        };
        self.tx.send(flush).map_err(|_| {
            self.backlog.remove("", 0);
            HistoryError::Closed
        })?;
        done.await.map_err(|_| HistoryError::Closed)
    }
}

async fn run(
    store: Store,
    config: HistoryConfig,
    mut rx: mpsc::UnboundedReceiver<Queued>,
    backlog: std::sync::Arc<Backlog>,
) {
    // Taking an item off the queue frees its share of the backlog.
    let take = |q: Queued| {
        backlog.remove(&q.account, q.bytes);
        q.item
    };
    let max_batch = config.max_batch.max(1);
    let mut batch: Vec<Item> = Vec::with_capacity(max_batch);
    let mut deadline: Option<Instant> = None;
    loop {
        let item = match deadline {
            Some(at) => tokio::select! {
                item = rx.recv() => item,
                _ = sleep_until(at) => {
                    write_batch(&store, &mut batch).await;
                    deadline = None;
                    continue;
                }
            },
            None => rx.recv().await,
        };
        let Some(item) = item else {
            write_batch(&store, &mut batch).await;
            return;
        };
        let mut flush = match take(item) {
            Item::Flush(ack) => Some(ack),
            item => {
                if batch.is_empty() {
                    deadline = Some(Instant::now() + config.max_delay);
                }
                batch.push(item);
                None
            }
        };
        // Take what is already queued in the same go: under load batches
        // fill at once and each costs one transaction.
        while flush.is_none() && batch.len() < max_batch {
            match rx.try_recv().map(take) {
                Ok(Item::Flush(ack)) => flush = Some(ack),
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        if batch.len() >= max_batch || flush.is_some() {
            write_batch(&store, &mut batch).await;
            deadline = None;
        }
        if let Some(ack) = flush {
            // The flusher may have given up waiting; nothing to do then.
            let _ = ack.send(());
        }
    }
}

async fn write_batch(store: &Store, batch: &mut Vec<Item>) {
    if batch.is_empty() {
        return;
    }
    let items = std::mem::take(batch);
    let count = items.len();
    // A failed batch is logged and dropped: history must not grow without
    // bound in memory while the database is away.
    if let Err(e) = write_items(store, items).await {
        tracing::error!(error = %e, rows = count, "history batch not written");
    }
}

/// Log lines per INSERT statement (4 parameters each, far below every
/// backend's parameter limit).
const LOG_ROWS_PER_INSERT: usize = 100;

/// A batch with each session and call once (its last state) and the log
/// lines in order: a session that starts and ends within one batch is one
/// row write, not two.
#[derive(Default)]
struct Coalesced {
    sessions: Vec<SessionRecord>,
    session_at: HashMap<String, usize>,
    calls: Vec<CallRecord>,
    call_at: HashMap<String, usize>,
    logs: Vec<(String, String, String)>,
}

impl Coalesced {
    fn new(items: Vec<Item>) -> Coalesced {
        let mut c = Coalesced::default();
        for item in items {
            match item {
                Item::Session(s) => match c.session_at.get(&s.id) {
                    Some(&i) => c.sessions[i] = s,
                    None => {
                        c.session_at.insert(s.id.clone(), c.sessions.len());
                        c.sessions.push(s);
                    }
                },
                Item::Call(call) => match c.call_at.get(&call.id) {
                    Some(&i) => c.calls[i] = call,
                    None => {
                        c.call_at.insert(call.id.clone(), c.calls.len());
                        c.calls.push(call);
                    }
                },
                Item::Log {
                    account,
                    session,
                    lines,
                } => c.logs.extend(
                    lines
                        .into_iter()
                        .map(|line| (account.clone(), session.clone(), line)),
                ),
                Item::Flush(_) => {}
            }
        }
        c
    }
}

async fn write_items(store: &Store, items: Vec<Item>) -> Result<(), StoreError> {
    let batch = Coalesced::new(items);
    let mut tx = store.pool.begin().await?;
    for s in &batch.sessions {
        upsert_session(&mut tx, s).await?;
    }
    for c in &batch.calls {
        upsert_call(&mut tx, c).await?;
    }
    for rows in batch.logs.chunks(LOG_ROWS_PER_INSERT) {
        insert_log_lines(&mut tx, rows).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_log_lines(
    tx: &mut Transaction<'_, Any>,
    rows: &[(String, String, String)],
) -> Result<(), StoreError> {
    let mut sql =
        String::from("INSERT INTO session_logs (id, account_id, session_id, line) VALUES ");
    for i in 0..rows.len() {
        if i > 0 {
            sql.push_str(", ");
        }
        let p = i * 4;
        sql.push_str(&format!("(${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4));
    }
    // Only placeholders are formatted in; every value is bound.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (account, session, line) in rows {
        query = query.bind(new_id()).bind(account).bind(session).bind(line);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

async fn upsert_session(
    tx: &mut Transaction<'_, Any>,
    s: &SessionRecord,
) -> Result<(), StoreError> {
    // The account check in the update keeps a record carrying a reused id
    // from rewriting another account's session.
    sqlx::query(
        "INSERT INTO sessions
         (id, account_id, application_id, rule_id, started_at, ended_at, status, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET
           application_id = excluded.application_id, rule_id = excluded.rule_id,
           started_at = excluded.started_at, ended_at = excluded.ended_at,
           status = excluded.status, error = excluded.error
         WHERE sessions.account_id = excluded.account_id",
    )
    .bind(&s.id)
    .bind(&s.account)
    .bind(s.application.clone())
    .bind(s.rule.clone())
    .bind(s.started_at)
    .bind(s.ended_at)
    .bind(&s.status)
    .bind(s.error.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_call(tx: &mut Transaction<'_, Any>, c: &CallRecord) -> Result<(), StoreError> {
    let recordings = serde_json::to_string(&c.recordings).map_err(|e| StoreError::Invalid {
        field: "recordings",
        reason: e.to_string(),
    })?;
    sqlx::query(
        "INSERT INTO calls
         (id, account_id, session_id, direction, from_number, to_number, started_at,
          answered_at, ended_at, duration_ms, disconnect_code, disconnect_reason, recordings)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (id) DO UPDATE SET
           direction = excluded.direction, from_number = excluded.from_number,
           to_number = excluded.to_number, started_at = excluded.started_at,
           answered_at = excluded.answered_at, ended_at = excluded.ended_at,
           duration_ms = excluded.duration_ms, disconnect_code = excluded.disconnect_code,
           disconnect_reason = excluded.disconnect_reason, recordings = excluded.recordings
         WHERE calls.account_id = excluded.account_id",
    )
    .bind(&c.id)
    .bind(&c.account)
    .bind(&c.session)
    .bind(&c.direction)
    .bind(&c.from)
    .bind(&c.to)
    .bind(c.started_at)
    .bind(c.answered_at)
    .bind(c.ended_at)
    .bind(c.duration_ms)
    .bind(c.disconnect_code)
    .bind(c.disconnect_reason.clone())
    .bind(recordings)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Which sessions to list. Every field narrows; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// Sessions started at or after this time (ms).
    pub from_time: Option<i64>,
    /// Sessions started before this time (ms).
    pub to_time: Option<i64>,
    /// A call of the session was from or to exactly this number.
    pub number: Option<String>,
    pub application: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// Sessions per page, clamped to 1..=[`Page::MAX_LIMIT`]; 0 means 50.
    pub limit: u32,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Page {
    pub const MAX_LIMIT: u32 = 500;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub session: SessionRecord,
    pub calls: Vec<CallRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// Newest first.
    pub entries: Vec<HistoryEntry>,
    /// Pass back in [`Page::cursor`] for older entries; `None` on the last page.
    pub next_cursor: Option<String>,
}

fn bad_cursor() -> StoreError {
    StoreError::Invalid {
        field: "cursor",
        reason: "not a cursor returned by this store".to_owned(),
    }
}

/// Cursor = "<started_at>:<session id>" of the last entry shown: the page
/// order is (started_at, id) descending, so it pins the position exactly.
fn parse_cursor(cursor: &str) -> Result<(i64, String), StoreError> {
    let (time, id) = cursor.split_once(':').ok_or_else(bad_cursor)?;
    let time = time.parse::<i64>().map_err(|_| bad_cursor())?;
    if id.is_empty() {
        return Err(bad_cursor());
    }
    Ok((time, id.to_owned()))
}

fn session_from_row(row: &AnyRow) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: row.try_get("id")?,
        account: row.try_get("account_id")?,
        application: row.try_get("application_id")?,
        rule: row.try_get("rule_id")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        status: row.try_get("status")?,
        error: row.try_get("error")?,
    })
}

fn call_from_row(row: &AnyRow) -> Result<CallRecord, StoreError> {
    let recordings: String = row.try_get("recordings")?;
    Ok(CallRecord {
        id: row.try_get("id")?,
        account: row.try_get("account_id")?,
        session: row.try_get("session_id")?,
        direction: row.try_get("direction")?,
        from: row.try_get("from_number")?,
        to: row.try_get("to_number")?,
        started_at: row.try_get("started_at")?,
        answered_at: row.try_get("answered_at")?,
        ended_at: row.try_get("ended_at")?,
        duration_ms: row.try_get("duration_ms")?,
        disconnect_code: row.try_get("disconnect_code")?,
        disconnect_reason: row.try_get("disconnect_reason")?,
        recordings: serde_json::from_str(&recordings).map_err(|e| StoreError::Corrupt {
            what: "call recordings",
            reason: e.to_string(),
        })?,
    })
}

impl Store {
    /// Close what a server that stopped without ending its sessions (a
    /// crash, `kill -9`, a power loss) left open: every session still
    /// `running` becomes [`STATUS_INTERRUPTED`] with
    /// [`SESSION_INTERRUPTED_REASON`], and every call without an end gets
    /// one, with [`CALL_INTERRUPTED_REASON`] and no disconnect code or
    /// duration (when the call really ended is not known). Both end at `at`,
    /// the time of the restart. One statement per table, in one
    /// transaction.
    ///
    /// Call it at start, before taking calls: it closes every running
    /// session in the database, so with several servers on one database it
    /// also closes the others' live sessions, until their own records
    /// (which replace the whole row) end them for real.
    pub async fn close_interrupted(&self, at: i64) -> Result<Interrupted, StoreError> {
        // The conditions are literals, as in the partial indexes
        // `sessions_running` and `calls_open` (SQLite uses a partial index
        // only for a WHERE it can match to the index's own).
        const _: () = assert!(matches!(STATUS_RUNNING.as_bytes(), b"running"));
        let mut tx = self.pool.begin().await?;
        let sessions = sqlx::query(
            "UPDATE sessions SET status = $1, ended_at = $2, error = $3 WHERE status = 'running'",
        )
        .bind(STATUS_INTERRUPTED)
        .bind(at)
        .bind(SESSION_INTERRUPTED_REASON)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let calls = sqlx::query(
            "UPDATE calls SET ended_at = $1, disconnect_reason = $2 WHERE ended_at IS NULL",
        )
        .bind(at)
        .bind(CALL_INTERRUPTED_REASON)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(Interrupted { sessions, calls })
    }

    /// One page of `account`'s sessions matching `filter`, newest first,
    /// each with its calls.
    pub async fn query_history(
        &self,
        account: &str,
        filter: &HistoryFilter,
        page: &Page,
    ) -> Result<HistoryPage, StoreError> {
        let limit = match page.limit {
            0 => 50,
            n => n.min(Page::MAX_LIMIT),
        };
        let (after_time, after_id) = match page.cursor.as_deref() {
            Some(c) => {
                let (t, id) = parse_cursor(c)?;
                (Some(t), Some(id))
            }
            None => (None, None),
        };
        // Fetch one extra row to learn whether another page exists.
        let rows = sqlx::query(
            "SELECT s.id, s.account_id, s.application_id, s.rule_id, s.started_at,
                    s.ended_at, s.status, s.error
             FROM sessions s
             WHERE s.account_id = $1
               AND ($2 IS NULL OR s.started_at >= $2)
               AND ($3 IS NULL OR s.started_at < $3)
               AND ($4 IS NULL OR s.application_id = $4)
               AND ($5 IS NULL OR s.status = $5)
               AND ($6 IS NULL OR EXISTS (
                     SELECT 1 FROM calls c
                     WHERE c.session_id = s.id AND c.account_id = s.account_id
                       AND (c.from_number = $6 OR c.to_number = $6)))
               AND ($7 IS NULL OR s.started_at < $7 OR (s.started_at = $7 AND s.id < $8))
             ORDER BY s.started_at DESC, s.id DESC
             LIMIT $9",
        )
        .bind(account)
        .bind(filter.from_time)
        .bind(filter.to_time)
        .bind(filter.application.clone())
        .bind(filter.status.clone())
        .bind(filter.number.clone())
        .bind(after_time)
        .bind(after_id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut sessions = rows
            .iter()
            .map(session_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let more = sessions.len() > limit as usize;
        sessions.truncate(limit as usize);
        let next_cursor = match sessions.last() {
            Some(last) if more => Some(format!("{}:{}", last.started_at, last.id)),
            _ => None,
        };
        let mut entries = Vec::with_capacity(sessions.len());
        for session in sessions {
            let calls = self.session_calls(account, &session.id).await?;
            entries.push(HistoryEntry { session, calls });
        }
        Ok(HistoryPage {
            entries,
            next_cursor,
        })
    }

    /// One of `account`'s sessions by id.
    pub async fn get_session(
        &self,
        account: &str,
        session: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT s.id, s.account_id, s.application_id, s.rule_id, s.started_at,
                    s.ended_at, s.status, s.error
             FROM sessions s WHERE s.id = $1 AND s.account_id = $2",
        )
        .bind(session)
        .bind(account)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    pub async fn session_calls(
        &self,
        account: &str,
        session: &str,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, account_id, session_id, direction, from_number, to_number, started_at,
                    answered_at, ended_at, duration_ms, disconnect_code, disconnect_reason,
                    recordings
             FROM calls WHERE session_id = $1 AND account_id = $2
             ORDER BY started_at, id",
        )
        .bind(session)
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(call_from_row).collect()
    }

    /// The log lines of one session in the order they were appended.
    pub async fn session_log(
        &self,
        account: &str,
        session: &str,
    ) -> Result<Vec<String>, StoreError> {
        let lines = sqlx::query_scalar(
            "SELECT line FROM session_logs WHERE session_id = $1 AND account_id = $2 ORDER BY id",
        )
        .bind(session)
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        Ok(lines)
    }
}
