//! Routing INVITEs by the stored rules of every account.
//!
//! The SIP task asks for a route synchronously, so everything it needs — the
//! compiled rule set and the scenario each rule runs — is loaded ahead of
//! time into one immutable snapshot. The API calls [`StoreRouter::reload`]
//! after every change to applications, scenarios or rules, which builds a new
//! snapshot and swaps it in.

use crate::routing::{InboundInfo, InboundRouter, Route, RouteOwner};
use dialtone_routing::{Rule, RuleError, RuleSet};
use dialtone_script::Scenario;
use dialtone_store::{Store, StoreError};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored rules do not compile: {0}")]
    Rules(#[from] RuleError),
}

/// What a rule runs, resolved when the snapshot was built.
#[derive(Debug, Clone)]
pub struct Target {
    pub account: String,
    pub application: String,
    /// `None` when one of the rule's scenarios does not exist (any more).
    pub scenario: Option<Arc<Scenario>>,
    /// Scenario names the rule lists that have no stored source.
    pub missing: Vec<String>,
    /// The rule's `customData`, given to every session it starts.
    pub custom_data: String,
}

#[derive(Debug, Default)]
pub struct Snapshot {
    pub rules: RuleSet,
    /// By rule id.
    pub targets: HashMap<String, Target>,
    /// Application id by (account, application name).
    pub applications: HashMap<(String, String), String>,
    /// The latest version of each scenario by (application id, scenario name),
    /// named `application/scenario`.
    pub scenarios: HashMap<(String, String), Arc<Scenario>>,
    /// Rule id by (application id, rule name).
    pub rule_names: HashMap<(String, String), String>,
}

impl Snapshot {
    /// Only `account`'s rules, for dry runs that must not reveal other
    /// accounts' rules.
    pub fn for_account(&self, account: &str) -> RuleSet {
        let own: Vec<Rule> = self
            .rules
            .rules()
            .filter(|r| {
                self.targets
                    .get(&r.id)
                    .is_some_and(|t| t.account == account)
            })
            .cloned()
            .collect();
        // Every rule here compiled already, so this cannot fail; an empty set
        // is the safe answer if it somehow does.
        RuleSet::compile(own).unwrap_or_default()
    }
}

pub struct StoreRouter {
    store: Store,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Serialises reloads so an older snapshot never replaces a newer one.
    reloading: tokio::sync::Mutex<()>,
}

impl StoreRouter {
    pub fn new(store: Store) -> StoreRouter {
        StoreRouter {
            store,
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().clone()
    }

    /// Rebuild the snapshot from the store.
    pub async fn reload(&self) -> Result<(), RouterError> {
        let _guard = self.reloading.lock().await;
        let stored = self.store.all_rules().await?;
        let apps = self.store.all_applications().await?;
        let app_names: HashMap<String, String> = apps
            .iter()
            .map(|a| (a.id.clone(), a.name.clone()))
            .collect();
        let applications = apps
            .into_iter()
            .map(|a| ((a.account, a.name), a.id))
            .collect();
        let mut scenarios = HashMap::new();
        for (_, version) in self.store.all_latest_scenarios().await? {
            let app_name = app_names
                .get(&version.application)
                .map_or(version.application.as_str(), String::as_str);
            let scenario = Arc::new(Scenario {
                name: format!("{app_name}/{}", version.name),
                source: version.source,
            });
            scenarios.insert((version.application, version.name), scenario);
        }
        let mut targets = HashMap::new();
        let mut rule_names = HashMap::new();
        let mut rules = Vec::with_capacity(stored.len());
        for s in stored {
            let app_id = s.rule.application.clone();
            let app_name = app_names.get(&app_id).cloned().unwrap_or(app_id.clone());
            let mut parts = Vec::with_capacity(s.rule.scenarios.len());
            let mut missing = Vec::new();
            for name in &s.rule.scenarios {
                match scenarios.get(&(app_id.clone(), name.clone())) {
                    Some(found) => parts.push(Arc::clone(found)),
                    None => missing.push(name.clone()),
                }
            }
            // A rule's scenarios run in one session, concatenated in order;
            // a rule of one scenario shares it (and its compiled bytecode).
            let scenario = match (missing.is_empty(), parts.as_slice()) {
                (false, _) | (true, []) => None,
                (true, [one]) => Some(Arc::clone(one)),
                (true, many) => Some(Arc::new(Scenario {
                    name: format!("{app_name}/{}", s.rule.scenarios.join("+")),
                    source: many
                        .iter()
                        .map(|p| p.source.as_str())
                        .collect::<Vec<_>>()
                        .join("\n"),
                })),
            };
            rule_names.insert((app_id.clone(), s.rule.name.clone()), s.rule.id.clone());
            targets.insert(
                s.rule.id.clone(),
                Target {
                    account: s.account.clone(),
                    application: app_name,
                    scenario,
                    missing,
                    custom_data: s.custom_data,
                },
            );
            rules.push(s.rule);
        }
        let snapshot = Snapshot {
            rules: RuleSet::compile(rules)?,
            targets,
            applications,
            scenarios,
            rule_names,
        };
        *self.snapshot.write() = Arc::new(snapshot);
        Ok(())
    }
}

impl InboundRouter for StoreRouter {
    fn route(&self, info: &InboundInfo<'_>) -> Route {
        let snapshot = self.snapshot();
        let Some(rule) =
            snapshot
                .rules
                .match_invite(info.destination, info.from_user, info.headers)
        else {
            return Route::Reject {
                code: 404,
                reason: "Not Found".into(),
            };
        };
        match snapshot.targets.get(&rule.id) {
            Some(Target {
                scenario: Some(scenario),
                account,
                application,
                custom_data,
                ..
            }) => Route::Session {
                scenario: scenario.clone(),
                custom_data: custom_data.clone(),
                owner: Some(RouteOwner {
                    account: account.clone(),
                    application: application.clone(),
                    rule: Some(rule.id.clone()),
                }),
            },
            other => {
                tracing::error!(
                    rule = %rule.id,
                    missing = ?other.map(|t| &t.missing),
                    "the matching rule names scenarios that do not exist"
                );
                Route::Reject {
                    code: 500,
                    reason: "Scenario Unavailable".into(),
                }
            }
        }
    }
}
