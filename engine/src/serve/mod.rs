//! `dialtone serve`: the engine with persistent accounts, claims,
//! applications, scenarios and rules, a REST API to manage them, and INVITEs
//! routed to the account that claims them, then by its rules.

pub mod config;
pub mod router;

use crate::api::{self, ApiState};
use crate::call::control::SessionControl;
use crate::engine::Engine;
use crate::history::{HistorySink, SessionLogLayer, SessionLogTarget, StoreSink};
use crate::logging;
use crate::recording_usage::RecordingUsage;
use config::{Overrides, ServeConfig};
use dialtone_store::{HistoryConfig, HistoryWriter, Store};
use router::StoreRouter;
use std::process::ExitCode;
use std::sync::Arc;

/// Exit code for anything wrong with the configuration.
const EXIT_CONFIG: u8 = 2;

pub fn main(overrides: Overrides) -> ExitCode {
    let cfg = match ServeConfig::load(&overrides, |k| std::env::var(k).ok()) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("dialtone: invalid configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let (log_layer, log_target) = SessionLogLayer::new();
    logging::init_with(cfg.log_format, Some(log_layer));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dialtone: cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(run(cfg, log_target))
}

async fn run(cfg: ServeConfig, log_target: SessionLogTarget) -> ExitCode {
    let stop = crate::stop_signal::StopSignal::install();
    if let Err(e) = std::fs::create_dir_all(&cfg.engine.data_dir) {
        eprintln!(
            "dialtone: invalid configuration: cannot create data directory {}: {e}",
            cfg.engine.data_dir.display()
        );
        return ExitCode::from(EXIT_CONFIG);
    }
    // `cfg.database` prints with its password masked; the store's errors
    // carry none.
    let store = match Store::open(cfg.database.expose()).await {
        Ok(s) => s.with_quotas(cfg.quotas),
        Err(e) => {
            eprintln!("dialtone: cannot open database {}: {e}", cfg.database);
            return ExitCode::from(1);
        }
    };
    // Before anything can start a session: what a crash left running ends now.
    match store.close_interrupted(dialtone_store::now_ms()).await {
        Ok(closed) if closed.sessions > 0 || closed.calls > 0 => tracing::warn!(
            sessions = closed.sessions,
            calls = closed.calls,
            "closed sessions and calls the last run left open (it stopped without ending them: \
             crash or kill); their history says interrupted"
        ),
        Ok(_) => {}
        Err(e) => {
            eprintln!("dialtone: cannot close the sessions a previous run left open: {e}");
            return ExitCode::from(1);
        }
    }
    // An `ApiKey` never shows in `Debug`.
    let admin_key = std::env::var("DIALTONE_ADMIN_KEY")
        .ok()
        .filter(|k| !k.is_empty())
        .map(dialtone_store::ApiKey);
    let admin = match store
        .bootstrap_admin(admin_key.as_ref().map(|k| k.as_str()))
        .await
    {
        Ok(a) => a,
        Err(e @ dialtone_store::StoreError::Invalid { .. }) => {
            eprintln!("dialtone: invalid configuration: DIALTONE_ADMIN_KEY: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
        Err(e) => {
            eprintln!("dialtone: cannot set up the admin account: {e}");
            return ExitCode::from(1);
        }
    };
    let router = Arc::new(StoreRouter::with_reserved_domains(
        store.clone(),
        cfg.reserved_domains.clone(),
    ));
    if let Err(e) = router.reload().await {
        eprintln!("dialtone: cannot load routing rules: {e}");
        return ExitCode::from(1);
    }
    warn_about_claims(&store, &router).await;
    let (writer, _writer_task) = HistoryWriter::spawn(store.clone(), HistoryConfig::default());
    let store_sink = Arc::new(StoreSink::new(writer.clone()));
    let sink: Arc<dyn HistorySink> = store_sink.clone();
    // Only `main` sets it, once; a second set could not happen.
    let _ = log_target.set(sink.clone());
    let api_store = store.clone();
    let api_router = router.clone();
    let recordings_dir = cfg.engine.data_dir.join("recordings");
    // What the recordings already on disk hold counts against each
    // account's quota from the start.
    let recording_usage = Arc::new(RecordingUsage::new(cfg.recording_quota));
    match recording_usage
        .count_existing(&recordings_dir, &store)
        .await
    {
        Ok(counted) => tracing::info!(
            files = counted.files,
            bytes = counted.bytes,
            unowned_bytes = counted.unowned,
            "recordings on disk counted against their accounts' quotas"
        ),
        Err(e) => {
            eprintln!("dialtone: cannot count the recordings on disk: {e}");
            return ExitCode::from(1);
        }
    }
    let mut engine_cfg = cfg.engine.clone();
    engine_cfg.recording_usage = Some(recording_usage.clone());
    let cc_store = store.clone();
    let routes = move |sessions: &SessionControl| {
        // Every account's agents and queues reach the call core at start.
        let (cc_store, cc_sessions) = (cc_store.clone(), sessions.clone());
        crate::cti::queue_stats::spawn(sessions.clone());
        tokio::spawn(async move {
            if let Err(e) = api::contact_centre::sync_all(&cc_store, &cc_sessions).await {
                tracing::error!(error = %e, "cannot load agents and queues");
            }
        });
        api::routes(ApiState {
            store: api_store,
            router: api_router,
            sessions: sessions.clone(),
            history: store_sink,
            recordings_dir,
            recording_usage,
        })
    };
    let rtp = cfg.engine.rtp_ports.0.clone();
    let engine = match Engine::start_with_http(
        engine_cfg,
        router,
        routes,
        sink,
        Arc::new(crate::app_storage::StoreAppStorage(store.clone())),
    )
    .await
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("dialtone: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(key) = &admin.generated_key {
        // The store keeps only a hash: this is the one time the key is shown.
        println!(
            "dialtone: admin API key (shown once, keep it): {}",
            key.as_str()
        );
    }
    println!(
        "dialtone: listening sip={} (udp+tcp) http={} rtp={}-{} database={}",
        engine.sip_addr,
        engine.http_addr,
        rtp.start(),
        rtp.end(),
        cfg.database
    );
    stop.wait().await;
    eprintln!(
        "dialtone: stopping; live sessions get up to {:?} to finish",
        cfg.shutdown_timeout
    );
    engine.shutdown(cfg.shutdown_timeout).await;
    // Records of sessions that just ended may still be queued. The logging
    // layer keeps a writer handle for good, so the task never ends by itself.
    if tokio::time::timeout(cfg.shutdown_timeout, writer.flush())
        .await
        .is_err()
    {
        eprintln!("dialtone: history not fully written before shutdown");
    }
    store.close().await;
    eprintln!("dialtone: stopped");
    ExitCode::SUCCESS
}

/// Warn, on the engine log, about what routes no call although it looks as
/// if it should: accounts with rules but no claims (every account upgraded
/// from a version without claims) and claims of reserved domains.
async fn warn_about_claims(store: &Store, router: &StoreRouter) {
    match store.accounts_with_rules_but_no_claims().await {
        Ok(accounts) => {
            for account in accounts {
                tracing::warn!(
                    account = %account.id,
                    name = %account.name,
                    "account has routing rules but claims no number, pattern or domain: \
                     no INVITE reaches its rules until it claims what it receives (POST /v1/claims)"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot list accounts without claims"),
    }
    match store.all_claims().await {
        Ok(claims) => {
            for claim in claims {
                if claim.kind == dialtone_store::ClaimKind::Domain
                    && router.is_reserved(&claim.value)
                {
                    tracing::warn!(
                        account = %claim.account,
                        claim = %claim.id,
                        domain = %claim.value,
                        "claim of a reserved domain is ignored; delete it (DELETE /v1/claims/{{id}})"
                    );
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot list claims"),
    }
}
