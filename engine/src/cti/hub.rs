//! Desktop events of each account, numbered: every CTI connection of the
//! account sees them in one order, and one that reconnects asks for what
//! it missed by the last number it saw. The last [`KEEP`] events of each
//! account are kept for that.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::broadcast;

/// Events kept per account for reconnecting desktops.
pub const KEEP: usize = 1000;
/// Events a slow desktop may fall behind by before it is told to resume.
const LAG: usize = 1024;

/// One desktop event.
#[derive(Debug)]
pub struct CtiEvent {
    pub seq: u64,
    /// The agent the event is about (`None`: the whole account's).
    pub agent: Option<String>,
    /// That agent's queues: supervisors of them see the event.
    pub queues: Vec<String>,
    /// When it happened: milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The event as sent, without its `seq`.
    pub body: Value,
}

struct AccountLog {
    seq: u64,
    recent: VecDeque<Arc<CtiEvent>>,
    tx: broadcast::Sender<Arc<CtiEvent>>,
}

/// Every account's event log. Cheap to clone.
#[derive(Clone, Default)]
pub struct CtiHub(Arc<Mutex<HashMap<String, AccountLog>>>);

impl CtiHub {
    fn with_log<T>(&self, account: &str, f: impl FnOnce(&mut AccountLog) -> T) -> T {
        let mut accounts = self.0.lock();
        let log = accounts
            .entry(account.to_string())
            .or_insert_with(|| AccountLog {
                seq: 0,
                recent: VecDeque::new(),
                tx: broadcast::channel(LAG).0,
            });
        f(log)
    }

    /// Numbers an event and hands it to the account's desktops.
    pub fn publish(&self, account: &str, agent: Option<String>, queues: Vec<String>, body: Value) {
        self.with_log(account, |log| {
            log.seq += 1;
            let event = Arc::new(CtiEvent {
                seq: log.seq,
                at_ms: dialtone_store::now_ms(),
                agent,
                queues,
                body,
            });
            if log.recent.len() == KEEP {
                log.recent.pop_front();
            }
            log.recent.push_back(event.clone());
            // Nobody listening is fine.
            let _ = log.tx.send(event);
        });
    }

    /// A receiver of the account's events from now on, and the kept events
    /// after `after` (all kept ones for `None`: none). `complete` is false
    /// when some after `after` are no longer kept.
    pub fn subscribe(
        &self,
        account: &str,
        after: Option<u64>,
    ) -> (broadcast::Receiver<Arc<CtiEvent>>, Vec<Arc<CtiEvent>>, bool) {
        self.with_log(account, |log| {
            let rx = log.tx.subscribe();
            let Some(after) = after else {
                return (rx, Vec::new(), true);
            };
            let missed: Vec<Arc<CtiEvent>> = log
                .recent
                .iter()
                .filter(|e| e.seq > after)
                .cloned()
                .collect();
            let oldest_kept = log.recent.front().map_or(log.seq + 1, |e| e.seq);
            let complete = after + 1 >= oldest_kept || after >= log.seq;
            (rx, missed, complete)
        })
    }

    /// The account's last event number.
    pub fn last_seq(&self, account: &str) -> u64 {
        self.with_log(account, |log| log.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_numbered_per_account_and_replayed_after_a_number() {
        let hub = CtiHub::default();
        for i in 0..5 {
            hub.publish("a", Some("ann".into()), vec![], json!({"n": i}));
        }
        hub.publish("b", None, vec![], json!({"n": 0}));
        let (_, missed, complete) = hub.subscribe("a", Some(3));
        assert!(complete);
        assert_eq!(missed.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5]);
        assert_eq!(hub.last_seq("b"), 1);
        for i in 0..KEEP as u64 {
            hub.publish("a", None, vec![], json!({"n": i}));
        }
        let (_, missed, complete) = hub.subscribe("a", Some(2));
        assert!(!complete, "events 3..=5 are no longer kept");
        assert_eq!(missed.len(), KEEP);
    }
}
