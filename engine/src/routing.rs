//! Which scenario an inbound INVITE starts.

use dialtone_core::Scenario;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

pub use dialtone_calls::{InboundInfo, Route, RouteOwner, UserAuth};

/// Which scenario an INVITE starts: a rule table (`dialtone serve`) or one
/// file (`dialtone run`). Called on the signalling task; must not block.
pub trait InboundRouter: Send + Sync {
    fn route(&self, info: &InboundInfo<'_>) -> Route;
    /// Where `VoxEngine.callConference(name)` from a session of `owner`
    /// goes (`None`: `dialtone run`, no accounts).
    fn route_conference(&self, owner: Option<&RouteOwner>, name: &str) -> Route;
    /// Whether the engine takes REGISTER (there are users to register).
    fn registrar(&self) -> bool {
        false
    }
    /// The trunks that register with their provider, at start.
    fn trunk_registrations(&self) -> Vec<dialtone_calls::TrunkRegistrationConfig> {
        Vec::new()
    }
    /// The trunks a `callPSTN` of `owner`'s session to `number` tries.
    fn trunks(
        &self,
        _owner: Option<&RouteOwner>,
        _number: &str,
    ) -> Vec<dialtone_calls::TrunkRoute> {
        Vec::new()
    }
    /// Where an authenticated call from `user` goes.
    fn route_user(&self, _user: &UserAuth, _info: &InboundInfo<'_>) -> Route {
        Route::Reject {
            code: 404,
            reason: "Not Found".into(),
        }
    }
    /// The user `name` of the application whose SIP domain is `domain`.
    fn user(&self, _domain: &str, _name: &str) -> Option<Arc<UserAuth>> {
        None
    }
}

/// `dialtone run`: every INVITE runs one scenario file. The file is read again
/// when it changes on disk, so editing it takes effect on the next call.
pub struct SingleScenario {
    path: PathBuf,
    custom_data: String,
    cache: parking_lot::Mutex<Option<(SystemTime, Arc<Scenario>)>>,
}

impl SingleScenario {
    pub fn new(path: PathBuf, custom_data: String) -> SingleScenario {
        SingleScenario {
            path,
            custom_data,
            cache: parking_lot::Mutex::new(None),
        }
    }

    pub fn load(&self) -> std::io::Result<Arc<Scenario>> {
        let mtime = std::fs::metadata(&self.path)?.modified()?;
        let mut cache = self.cache.lock();
        if let Some((t, s)) = cache.as_ref() {
            if *t == mtime {
                return Ok(s.clone());
            }
        }
        let source = std::fs::read_to_string(&self.path)?;
        let scenario = Arc::new(Scenario {
            name: self.path.display().to_string(),
            source,
        });
        *cache = Some((mtime, scenario.clone()));
        Ok(scenario)
    }
}

impl InboundRouter for SingleScenario {
    /// The one scenario runs conference sessions too; its `CallAlerting`
    /// tells them apart by `destination` (the conference id).
    fn route_conference(&self, _owner: Option<&RouteOwner>, _name: &str) -> Route {
        self.route_any()
    }

    fn route(&self, _info: &InboundInfo<'_>) -> Route {
        self.route_any()
    }
}

impl SingleScenario {
    fn route_any(&self) -> Route {
        match self.load() {
            Ok(scenario) => Route::Session {
                scenario,
                custom_data: self.custom_data.clone(),
                owner: None,
            },
            Err(e) => {
                tracing::error!(path = %self.path.display(), error = %e, "cannot read scenario");
                Route::Reject {
                    code: 500,
                    reason: "Scenario Unavailable".into(),
                }
            }
        }
    }
}
