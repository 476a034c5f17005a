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
    /// Run a scenario offline against a spec of simulated calls, on a
    /// virtual clock (exit 0 only when every expectation passes).
    Test {
        /// The scenario file.
        scenario: PathBuf,
        /// The spec of what the world does and what is expected: JSON, or a
        /// `.js` file whose last statement is the spec object.
        #[arg(long)]
        spec: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => dialtone::cli::run::main(*args),
        Command::Serve(args) => dialtone::cli::serve::main(*args),
        Command::Check { files } => dialtone::cli::check::main(&files),
        Command::Test { scenario, spec } => dialtone::cli::test::main(&scenario, &spec),
    }
}
