//! The `dialtone` binary: command-line parsing and process set-up only.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "dialtone",
    version,
    about = "Scriptable call-control engine: SIP, RTP and JavaScript scenarios"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario: every inbound INVITE starts a new session of it.
    Run(Box<dialtone::cli::run::RunArgs>),
    /// Run the server: REST API for accounts, applications, scenarios and
    /// rules; inbound INVITEs are routed by the stored rules.
    Serve(Box<dialtone::cli::serve::ServeArgs>),
    /// Check a scenario for syntax errors (`file:line:col: message`, exit 1).
    Check {
        /// Scenario files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run scenarios offline against specs of simulated calls, on a virtual
    /// clock: exit 0 when every expectation passes, 1 when one fails, 2 when
    /// a file cannot be used.
    Test {
        /// Scenario files (each with `--spec`, or `X.spec.json` / `X.spec.js`
        /// next to it) or directories (every `X.js` that has such a spec).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The spec of what the world does and what is expected (JSON, or a
        /// `.js` file whose last statement is the spec object); only with one
        /// scenario file.
        #[arg(long)]
        spec: Option<PathBuf>,
        /// Output: text, json, or junit (JUnit XML for CI).
        #[arg(long, value_enum, default_value = "text")]
        format: dialtone::cli::test::Format,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => dialtone::cli::run::main(*args),
        Command::Serve(args) => dialtone::cli::serve::main(*args),
        Command::Check { files } => dialtone::cli::check::main(&files),
        Command::Test {
            paths,
            spec,
            format,
        } => dialtone::cli::test::main(&paths, spec.as_deref(), format),
    }
}
