//! The engine's answers to the call core's synchronous questions: routing
//! from the prepared snapshot, RTP ports from the media engine, history's
//! congestion, the wall clock.

use std::sync::Arc;

use dialtone_calls::{InboundInfo, Route, Services};
use dialtone_core::UnitId;
use dialtone_media::MediaEngine;

use crate::history::HistorySink;
use crate::routing::InboundRouter;

pub struct EngineServices {
    pub router: Arc<dyn InboundRouter>,
    pub media: MediaEngine,
    pub history: Arc<dyn HistorySink>,
}

impl Services for EngineServices {
    fn route(&self, info: &InboundInfo<'_>) -> Route {
        self.router.route(info)
    }

    fn bind_rtp(&mut self, unit: UnitId, shard: usize) -> Result<u16, String> {
        self.media
            .allocate(dialtone_media::UnitId(unit.0), shard)
            .map(|addr| addr.port())
            .map_err(|e| e.to_string())
    }

    fn congested(&self, account: Option<&str>) -> bool {
        self.history.congested(account)
    }

    fn wall_ms(&self) -> i64 {
        dialtone_store::now_ms()
    }
}
