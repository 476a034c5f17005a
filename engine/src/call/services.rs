//! The engine's answers to the call core's synchronous questions: routing
//! from the prepared snapshot, RTP ports from the media engine, history's
//! congestion, overload control's verdict, the wall clock, the egress policy for `callSIP`.

use std::net::SocketAddr;
use std::sync::Arc;

use dialtone_calls::{InboundInfo, Overload, Route, Services};
use dialtone_core::UnitId;
use dialtone_egress::EgressPolicy;
use dialtone_media::MediaEngine;

use crate::history::HistorySink;
use crate::overload::LoadWatch;
use crate::recording_usage::RecordingUsage;
use crate::routing::InboundRouter;

pub struct EngineServices {
    pub router: Arc<dyn InboundRouter>,
    pub media: MediaEngine,
    pub history: Arc<dyn HistorySink>,
    /// The same policy `Net` and audio downloads keep to.
    pub egress: Arc<EgressPolicy>,
    /// Overload control's verdict (crate::overload).
    pub load: Arc<LoadWatch>,
    /// Recording bytes per account (`dialtone serve`).
    pub recording_usage: Option<Arc<RecordingUsage>>,
}

impl Services for EngineServices {
    fn route(&self, info: &InboundInfo<'_>) -> Route {
        self.router.route(info)
    }

    fn route_conference(&self, owner: Option<&dialtone_calls::RouteOwner>, name: &str) -> Route {
        self.router.route_conference(owner, name)
    }

    fn trunks(
        &self,
        owner: Option<&dialtone_calls::RouteOwner>,
        number: &str,
    ) -> Vec<dialtone_calls::TrunkRoute> {
        self.router.trunks(owner, number)
    }

    fn route_user(&self, user: &dialtone_calls::UserAuth, info: &InboundInfo<'_>) -> Route {
        self.router.route_user(user, info)
    }

    fn user(&self, domain: &str, name: &str) -> Option<std::sync::Arc<dialtone_calls::UserAuth>> {
        self.router.user(domain, name)
    }

    fn bind_rtp(&mut self, unit: UnitId, shard: usize) -> Result<u16, String> {
        self.media
            .allocate(dialtone_media::UnitId(unit.0), shard)
            .map(|addr| addr.port())
            .map_err(|e| e.to_string())
    }

    fn webrtc_answer(
        &mut self,
        unit: UnitId,
        local: SocketAddr,
        offer: &str,
    ) -> Result<String, String> {
        self.media
            .webrtc_answer(dialtone_media::UnitId(unit.0), local, offer)
            .map_err(|e| e.to_string())
    }

    fn webrtc_offer(
        &mut self,
        unit: UnitId,
        local: SocketAddr,
        sends: bool,
        receives: bool,
    ) -> Result<String, String> {
        self.media
            .webrtc_offer(dialtone_media::UnitId(unit.0), local, sends, receives)
            .map_err(|e| e.to_string())
    }

    fn webrtc_release(&mut self, unit: UnitId) {
        self.media.webrtc_release(dialtone_media::UnitId(unit.0));
    }

    fn webrtc_accept_answer(&mut self, unit: UnitId, answer: &str) -> Result<(), String> {
        self.media
            .webrtc_accept_answer(dialtone_media::UnitId(unit.0), answer)
            .map_err(|e| e.to_string())
    }

    fn congested(&self, account: Option<&str>) -> bool {
        self.history.congested(account)
    }

    fn overload(&self) -> Option<Overload> {
        self.load.overload()
    }

    fn setup_share(&self) -> u64 {
        self.load.setup_share()
    }

    fn wall_ms(&self) -> i64 {
        dialtone_store::now_ms()
    }

    fn egress(&self, peer: SocketAddr) -> Result<(), String> {
        self.egress.check(peer).map_err(|denied| denied.reason())
    }

    fn recording_budget(
        &self,
        account: &str,
    ) -> Result<Option<dialtone_media::RecordingBudget>, String> {
        match &self.recording_usage {
            Some(usage) => usage.budget(account).map(Some),
            None => Ok(None),
        }
    }
}
