//! `queueStats` events: every [`INTERVAL`], each queue of an account that
//! has desktops connected, when its figures changed since they were last
//! sent. Supervisors of the queue and integrations see them.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::call::control::SessionControl;

/// How often queues are looked at.
pub const INTERVAL: Duration = Duration::from_secs(2);

/// Runs for as long as the process does.
pub fn spawn(sessions: SessionControl) {
    tokio::spawn(async move {
        let mut sent: HashMap<(String, String), Value> = HashMap::new();
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let hub = sessions.cti().clone();
            let accounts = hub.watched_accounts();
            sent.retain(|(account, _), _| accounts.contains(account));
            for account in accounts {
                let Ok((_, queues)) = sessions.contact_centre(account.clone()).await else {
                    // The signalling task is gone: the process is stopping.
                    return;
                };
                for q in queues {
                    let mut body = super::queue_json(&q);
                    if let Some(o) = body.as_object_mut() {
                        o.insert("event".into(), json!("queueStats"));
                    }
                    let key = (account.clone(), q.name.clone());
                    if sent.get(&key) != Some(&body) {
                        sent.insert(key, body.clone());
                        hub.publish(&account, None, vec![q.name.clone()], body);
                    }
                }
            }
        }
    });
}
