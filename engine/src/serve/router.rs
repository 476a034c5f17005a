//! Routing INVITEs: first to the account whose claim matches the
//! Request-URI, then by that account's rules only.
//!
//! The SIP task asks for a route synchronously, so everything it needs — the
//! compiled claims, each account's compiled rules and the scenario each rule
//! runs — is loaded ahead of time into one immutable snapshot. The API calls
//! [`StoreRouter::reload`] after every change to claims, applications,
//! scenarios or rules, which builds a new snapshot and swaps it in.

use crate::routing::{InboundInfo, InboundRouter, Route, RouteOwner, UserAuth};
use dialtone_routing::{host_of_uri, Claim, ClaimError, ClaimKind, ClaimSet, RuleError, RuleSet};
use dialtone_script::Scenario;
use dialtone_store::{Store, StoreError};
use parking_lot::RwLock;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored rules do not compile: {0}")]
    Rules(#[from] RuleError),
    #[error("stored claims do not compile: {0}")]
    Claims(#[from] ClaimError),
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
    /// Who owns an INVITE (reserved domains left out).
    pub claims: ClaimSet,
    /// Each account's rules, by account id: an INVITE only meets the rules
    /// of the account that claims it.
    pub rules: HashMap<String, RuleSet>,
    /// By rule id.
    pub targets: HashMap<String, Target>,
    /// Application id by (account, application name).
    pub applications: HashMap<(String, String), String>,
    /// The latest version of each scenario by (application id, scenario name),
    /// named `application/scenario`.
    pub scenarios: HashMap<(String, String), Arc<Scenario>>,
    /// Rule id by (application id, rule name).
    pub rule_names: HashMap<(String, String), String>,
    /// The SIP domains of each (account, application name).
    pub user_domains: HashMap<(String, String), Vec<String>>,
    /// Each application's own rules, by (account, application name): what
    /// a call from one of its users meets.
    pub app_rules: HashMap<(String, String), RuleSet>,
    /// Each account's trunks, for `callPSTN`.
    pub trunks: HashMap<String, Vec<dialtone_calls::TrunkConfig>>,
    /// The trunks that register with their provider.
    pub registering: Vec<dialtone_calls::TrunkRegistrationConfig>,
}

impl Snapshot {
    /// `account`'s rules (an empty set for an account without any).
    pub fn rules_of(&self, account: &str) -> &RuleSet {
        static EMPTY: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();
        self.rules
            .get(account)
            .unwrap_or_else(|| EMPTY.get_or_init(RuleSet::default))
    }
}

pub struct StoreRouter {
    store: Store,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Serialises reloads so an older snapshot never replaces a newer one.
    reloading: tokio::sync::Mutex<()>,
    /// Users by (SIP domain, name): `alice@support.acme.example` for user
    /// `alice` of application `support` of the account that claims
    /// `acme.example`. Kept apart from the snapshot so that a user's change
    /// is one insert, not a rebuild of everything (10,000 users are 10,000
    /// PUTs).
    users: RwLock<HashMap<(String, String), Arc<UserAuth>>>,
    /// Domains the server itself is addressed by (`reserved_domains`): no
    /// account can claim them, and a claim of one made before it was
    /// reserved is ignored.
    reserved_domains: HashSet<String>,
}

impl StoreRouter {
    pub fn new(store: Store) -> StoreRouter {
        StoreRouter::with_reserved_domains(store, Vec::new())
    }

    /// `reserved` must be normalized domains (lower case, no trailing dot).
    pub fn with_reserved_domains(store: Store, reserved: Vec<String>) -> StoreRouter {
        StoreRouter {
            store,
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            reloading: tokio::sync::Mutex::new(()),
            users: RwLock::new(HashMap::new()),
            reserved_domains: reserved.into_iter().collect(),
        }
    }

    /// Hands the trunks that register, as of the current snapshot, to
    /// `sink`, under the snapshot's lock: two changes hand theirs over in
    /// the order their snapshots were made.
    pub fn sync_registrations(
        &self,
        sink: impl FnOnce(Vec<dialtone_calls::TrunkRegistrationConfig>),
    ) {
        let snapshot = self.snapshot.read();
        sink(snapshot.registering.clone());
    }

    /// Whether `domain` (normalized) is one of the server's own.
    pub fn is_reserved(&self, domain: &str) -> bool {
        self.reserved_domains.contains(domain)
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().clone()
    }

    /// A user was created or changed: it is reachable under its
    /// application's domains at once.
    pub async fn put_user(&self, app_name: &str, user: &dialtone_store::StoredUser) {
        // After any reload in progress, which may have read the users
        // before this one was stored.
        let _guard = self.reloading.lock().await;
        let domains = self
            .snapshot()
            .user_domains
            .get(&(user.account.clone(), app_name.to_string()))
            .cloned()
            .unwrap_or_default();
        let auth = user_auth(app_name, user.clone());
        let mut users = self.users.write();
        for domain in domains {
            users.insert((domain, user.name.clone()), auth.clone());
        }
    }

    /// A user was deleted.
    pub async fn remove_user(&self, account: &str, app_name: &str, name: &str) {
        let _guard = self.reloading.lock().await;
        self.users
            .write()
            .retain(|(_, n), u| !(n == name && u.account == account && u.application == app_name));
    }

    /// Rebuild the snapshot from the store.
    pub async fn reload(&self) -> Result<(), RouterError> {
        let _guard = self.reloading.lock().await;
        let stored = self.store.all_rules().await?;
        let claims: Vec<Claim> = self
            .store
            .all_claims()
            .await?
            .iter()
            .map(|c| c.to_routing())
            .filter(|c| !(c.kind == ClaimKind::Domain && self.is_reserved(&c.value)))
            .collect();
        let apps = self.store.all_applications().await?;
        let (users, user_domains) = users_by_domain(&claims, &apps, self.store.all_users().await?);
        *self.users.write() = users;
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
        let mut rules: HashMap<String, Vec<dialtone_routing::Rule>> = HashMap::new();
        let mut app_rules: HashMap<(String, String), Vec<dialtone_routing::Rule>> = HashMap::new();
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
            app_rules
                .entry((s.account.clone(), targets[&s.rule.id].application.clone()))
                .or_default()
                .push(s.rule.clone());
            rules.entry(s.account).or_default().push(s.rule);
        }
        let rules = rules
            .into_iter()
            .map(|(account, rules)| Ok((account, RuleSet::compile(rules)?)))
            .collect::<Result<HashMap<_, _>, RuleError>>()?;
        let mut trunks: HashMap<String, Vec<dialtone_calls::TrunkConfig>> = HashMap::new();
        let mut registering = Vec::new();
        for t in self.store.all_trunks().await? {
            registering.extend(registration_config(&t));
            trunks
                .entry(t.account.clone())
                .or_default()
                .push(trunk_config(t));
        }
        let app_rules = app_rules
            .into_iter()
            .map(|(key, rules)| Ok((key, RuleSet::compile(rules)?)))
            .collect::<Result<HashMap<_, _>, RuleError>>()?;
        let snapshot = Snapshot {
            claims: ClaimSet::compile(claims)?,
            rules,
            targets,
            applications,
            scenarios,
            rule_names,
            user_domains,
            app_rules,
            trunks,
            registering,
        };
        *self.snapshot.write() = Arc::new(snapshot);
        Ok(())
    }
}

/// What a stored trunk that registers keeps registered.
fn registration_config(
    t: &dialtone_store::StoredTrunk,
) -> Option<dialtone_calls::TrunkRegistrationConfig> {
    let expires = t.register_expires?;
    let user = t.username.clone()?;
    Some(dialtone_calls::TrunkRegistrationConfig {
        account: t.account.clone(),
        trunk: t.name.clone(),
        host: t.host.clone(),
        port: t.port,
        tcp: t.transport == "tcp",
        auth: t
            .password
            .clone()
            .map(|p| dialtone_sip::auth::Credentials::new(user.clone(), p)),
        user,
        expires,
    })
}

/// A stored trunk as routing uses it.
fn trunk_config(t: dialtone_store::StoredTrunk) -> dialtone_calls::TrunkConfig {
    let auth = match (t.username, t.password) {
        (Some(u), Some(p)) => Some((u, p)),
        _ => None,
    };
    dialtone_calls::TrunkConfig {
        name: t.name,
        host: t.host,
        port: t.port,
        tcp: t.transport == "tcp",
        auth,
        prefixes: t.prefixes,
        priority: t.priority,
        strip: usize::try_from(t.strip).unwrap_or(0),
        add_prefix: t.add_prefix,
        caller_id: t.caller_id,
    }
}

/// A stored user as the registrar authenticates it.
fn user_auth(app_name: &str, user: dialtone_store::StoredUser) -> Arc<UserAuth> {
    Arc::new(UserAuth {
        account: user.account,
        application: app_name.to_string(),
        name: user.name,
        display_name: user.display_name,
        realm: user.realm,
        ha1_md5: user.ha1_md5,
        ha1_sha256: user.ha1_sha256,
    })
}

type UserIndex = (
    HashMap<(String, String), Arc<UserAuth>>,
    HashMap<(String, String), Vec<String>>,
);

/// Each user under every SIP domain of its application: the application's
/// name (when it is a DNS label) under each domain its account claims.
fn users_by_domain(
    claims: &[Claim],
    apps: &[dialtone_store::Application],
    users: Vec<dialtone_store::StoredUser>,
) -> UserIndex {
    let mut domains: HashMap<&str, Vec<&str>> = HashMap::new();
    for claim in claims.iter().filter(|c| c.kind == ClaimKind::Domain) {
        domains
            .entry(&claim.account)
            .or_default()
            .push(&claim.value);
    }
    let mut app_domains: HashMap<String, (String, Vec<String>)> = HashMap::new();
    let mut by_name = HashMap::new();
    for app in apps {
        let label = app.name.to_ascii_lowercase();
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        let list: Vec<String> = if ok {
            domains
                .get(app.account.as_str())
                .map(|ds| ds.iter().map(|d| format!("{label}.{d}")).collect())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        by_name.insert((app.account.clone(), app.name.clone()), list.clone());
        app_domains.insert(app.id.clone(), (app.name.clone(), list));
    }
    let mut index = HashMap::new();
    for user in users {
        let Some((app_name, list)) = app_domains.get(&user.application) else {
            continue;
        };
        let name = user.name.clone();
        let auth = user_auth(app_name, user);
        for domain in list {
            index.insert((domain.clone(), name.clone()), auth.clone());
        }
    }
    (index, by_name)
}

/// The host an INVITE was addressed to (its Request-URI's), for domain claims.
fn request_host(info: &InboundInfo<'_>) -> Option<String> {
    host_of_uri(info.request_uri)
}

impl InboundRouter for StoreRouter {
    fn registrar(&self) -> bool {
        true
    }

    fn trunk_registrations(&self) -> Vec<dialtone_calls::TrunkRegistrationConfig> {
        self.snapshot().registering.clone()
    }

    fn trunks(&self, owner: Option<&RouteOwner>, number: &str) -> Vec<dialtone_calls::TrunkRoute> {
        let Some(owner) = owner else {
            return Vec::new();
        };
        self.snapshot()
            .trunks
            .get(&owner.account)
            .map(|trunks| dialtone_calls::select_trunks(trunks, number))
            .unwrap_or_default()
    }

    /// The user's application's rules, whatever number is dialled: no claim
    /// is needed for a user's own calls.
    fn route_user(&self, user: &UserAuth, info: &InboundInfo<'_>) -> Route {
        let snapshot = self.snapshot();
        let rule = snapshot
            .app_rules
            .get(&(user.account.clone(), user.application.clone()))
            .and_then(|rules| rules.match_invite(info.destination, info.from_user, info.headers));
        match rule {
            Some(rule) => self.route_to_rule(&snapshot, &rule.id),
            None => Route::Reject {
                code: 404,
                reason: "Not Found".into(),
            },
        }
    }

    fn user(&self, domain: &str, name: &str) -> Option<Arc<UserAuth>> {
        self.users
            .read()
            .get(&(domain.to_string(), name.to_string()))
            .cloned()
    }

    /// The calling session's account's rules, with the conference id as the
    /// number; a session of no account reaches no conference.
    fn route_conference(&self, owner: Option<&RouteOwner>, name: &str) -> Route {
        let snapshot = self.snapshot();
        let not_found = Route::Reject {
            code: 404,
            reason: "Not Found".into(),
        };
        let Some(owner) = owner else {
            return not_found;
        };
        let Some(rule) = snapshot
            .rules_of(&owner.account)
            .match_invite(name, "", &[])
        else {
            return not_found;
        };
        self.route_to_rule(&snapshot, &rule.id)
    }

    fn route(&self, info: &InboundInfo<'_>) -> Route {
        let snapshot = self.snapshot();
        let not_found = || Route::Reject {
            code: 404,
            reason: "Not Found".into(),
        };
        let host = request_host(info);
        let Some(owner) = snapshot.claims.owner(info.destination, host.as_deref()) else {
            return not_found();
        };
        let Some(rule) = snapshot.rules_of(&owner.account).match_invite(
            info.destination,
            info.from_user,
            info.headers,
        ) else {
            return not_found();
        };
        self.route_to_rule(&snapshot, &rule.id)
    }
}

impl StoreRouter {
    fn route_to_rule(&self, snapshot: &Snapshot, rule_id: &str) -> Route {
        match snapshot.targets.get(rule_id) {
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
                    rule: Some(rule_id.to_string()),
                }),
            },
            other => {
                tracing::error!(
                    rule = %rule_id,
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
