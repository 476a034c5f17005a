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
    /// Check a scenario for syntax errors (`file:line:col: message`, exit 1).
    Check {
        /// Scenario files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => dialtone::cli::run::main(*args),
        Command::Check { files } => dialtone::cli::check::main(&files),
    }
}
