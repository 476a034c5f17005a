//! Dialtone: a self-hosted, scriptable call-control engine.
//!
//! The binary's pieces: the signalling task ([`signalling`]) owns the SIP
//! user-agent core and the call core (`dialtone-calls`) with its [`call`]
//! driver; media runs on the media workers of
//! `dialtone-media`; scenarios run on the JS workers of `dialtone-script`.
//! They talk only through messages (`dialtone_core::messages`).

pub mod access;
pub mod api;
pub mod app_storage;
pub mod call;
pub mod cli;
pub mod config;
pub mod cti;
pub mod engine;
pub mod history;
pub mod http;
pub mod http_limits;
pub mod http_tls;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod overload;
pub mod phone;
pub mod recording_usage;
pub mod routing;
pub mod serve;
pub mod signalling;
pub mod stop_signal;
