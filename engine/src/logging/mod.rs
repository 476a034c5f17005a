//! Process logging. Session lines (`Logger.write`, session events, script
//! errors: target `dialtone::session`) go to stdout, one line each with the
//! session id; engine diagnostics go to stderr. `RUST_LOG` tunes the latter.

mod session_line;

use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

pub const SESSION_TARGET: &str = "dialtone::session";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

pub fn init(format: LogFormat) {
    init_with(format, None);
}

/// Like [`init`], with `extra` also seeing every record (`dialtone serve`
/// stores session lines with it).
pub fn init_with(format: LogFormat, extra: Option<crate::history::SessionLogLayer>) {
    let is_session = |m: &tracing::Metadata<'_>| m.target() == SESSION_TARGET;
    let engine_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let registry = tracing_subscriber::registry().with(extra);
    match format {
        LogFormat::Text => {
            let session = tracing_subscriber::fmt::layer()
                .with_writer(std::io::stdout)
                .event_format(session_line::SessionLine)
                .with_filter(filter_fn(is_session));
            let engine = tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .with_filter(filter_fn(move |m| !is_session(m)))
                .with_filter(engine_filter);
            let _ = registry.with(session).with(engine).try_init();
        }
        LogFormat::Json => {
            let session = tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_writer(std::io::stdout)
                .with_filter(filter_fn(is_session));
            let engine = tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_writer(std::io::stderr)
                .with_filter(filter_fn(move |m| !is_session(m)))
                .with_filter(engine_filter);
            let _ = registry.with(session).with(engine).try_init();
        }
    }
}
