//! Desktop events of each account, numbered: every CTI connection of the
//! account sees them in one order, and one that reconnects asks for what
//! it missed by the last number it saw. The last [`KEEP`] events of each
//! account are kept for that.
//!
//! Each connection subscribes with what it may see; publishing hands an
//! event only to the connections that see it (a check per connection, not
//! a wake-up per connection: a burst of one agent's events wakes that
//! agent's desktop, its supervisors' and the integrations, not all 200).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::mpsc;

/// Events kept per account for reconnecting desktops.
pub const KEEP: usize = 4096;
/// Events a slow desktop may fall behind by before it is told to resume.
const LAG: usize = 4096;

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

/// What a connection may see.
#[derive(Debug, Clone)]
pub enum Viewer {
    /// The whole account (an integration's API key).
    Everything,
    /// An agent its own events; a supervisor also those of its queues'
    /// agents.
    Agent {
        id: String,
        supervisor: bool,
        queues: Vec<String>,
    },
}

impl Viewer {
    pub fn sees(&self, event: &CtiEvent) -> bool {
        match self {
            Viewer::Everything => true,
            Viewer::Agent {
                id,
                supervisor,
                queues,
            } => {
                event.agent.as_deref() == Some(id.as_str())
                    || (*supervisor && event.queues.iter().any(|q| queues.contains(q)))
            }
        }
    }
}

struct Subscriber {
    viewer: Viewer,
    tx: mpsc::Sender<Arc<CtiEvent>>,
}

struct AccountLog {
    seq: u64,
    recent: VecDeque<Arc<CtiEvent>>,
    subscribers: Vec<Subscriber>,
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
                subscribers: Vec::new(),
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
            // A connection that is gone, or LAG events behind, is dropped:
            // its receiver ends, and it tells its desktop to resume.
            log.subscribers.retain(|s| {
                if s.tx.is_closed() {
                    return false;
                }
                !s.viewer.sees(&event) || s.tx.try_send(event.clone()).is_ok()
            });
        });
    }

    /// A receiver of the account's events that `viewer` sees from now on
    /// (it ends when the connection falls [`LAG`] events behind), and the
    /// kept events after `after` (all kept ones for `None`: none), unfiltered.
    /// `complete` is false when some after `after` are no longer kept.
    pub fn subscribe(
        &self,
        account: &str,
        after: Option<u64>,
        viewer: Viewer,
    ) -> (mpsc::Receiver<Arc<CtiEvent>>, Vec<Arc<CtiEvent>>, bool) {
        self.with_log(account, |log| {
            let (tx, rx) = mpsc::channel(LAG);
            log.subscribers.push(Subscriber { viewer, tx });
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

    /// The accounts with a desktop connected.
    pub fn watched_accounts(&self) -> Vec<String> {
        let mut accounts = self.0.lock();
        accounts
            .iter_mut()
            .filter_map(|(account, log)| {
                log.subscribers.retain(|s| !s.tx.is_closed());
                (!log.subscribers.is_empty()).then(|| account.clone())
            })
            .collect()
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
        let (_, missed, complete) = hub.subscribe("a", Some(3), Viewer::Everything);
        assert!(complete);
        assert_eq!(missed.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5]);
        assert_eq!(hub.last_seq("b"), 1);
        for i in 0..KEEP as u64 {
            hub.publish("a", None, vec![], json!({"n": i}));
        }
        let (_, missed, complete) = hub.subscribe("a", Some(2), Viewer::Everything);
        assert!(!complete, "events 3..=5 are no longer kept");
        assert_eq!(missed.len(), KEEP);
    }

    #[tokio::test]
    async fn each_connection_gets_what_it_sees_and_a_slow_one_is_cut_off() {
        let hub = CtiHub::default();
        let agent = |id: &str, supervisor: bool| Viewer::Agent {
            id: id.into(),
            supervisor,
            queues: vec!["sales".into()],
        };
        let (mut ann, _, _) = hub.subscribe("a", None, agent("ann", false));
        let (mut sup, _, _) = hub.subscribe("a", None, agent("sup", true));
        let (mut all, _, _) = hub.subscribe("a", None, Viewer::Everything);
        hub.publish(
            "a",
            Some("bob".into()),
            vec!["sales".into()],
            json!({"n": 1}),
        );
        hub.publish(
            "a",
            Some("ann".into()),
            vec!["sales".into()],
            json!({"n": 2}),
        );
        hub.publish(
            "a",
            Some("cy".into()),
            vec!["support".into()],
            json!({"n": 3}),
        );
        assert_eq!(ann.recv().await.map(|e| e.seq), Some(2));
        assert!(ann.try_recv().is_err());
        assert_eq!(sup.recv().await.map(|e| e.seq), Some(1));
        assert_eq!(sup.recv().await.map(|e| e.seq), Some(2));
        assert!(sup.try_recv().is_err());
        for seq in 1..=3 {
            assert_eq!(all.recv().await.map(|e| e.seq), Some(seq));
        }
        // ann reads nothing while LAG + 1 of its events go out: cut off.
        for _ in 0..=LAG {
            hub.publish("a", Some("ann".into()), vec![], json!({}));
        }
        let mut got = 0;
        while ann.recv().await.is_some() {
            got += 1;
        }
        assert_eq!(got, LAG, "what was queued is read, then the end");
    }
}
