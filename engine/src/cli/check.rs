//! `dialtone check`: compile scenarios without running them, then lint the
//! ones that compile against `sdk-types/dialtone.d.ts` (unknown members,
//! argument counts, event names). Every finding prints as
//! `file:line:col: message`; any finding makes the exit code 1.

use dialtone_script::{check, lint, Scenario};
use std::path::Path;
use std::process::ExitCode;

pub fn main(files: &[impl AsRef<Path>]) -> ExitCode {
    let mut failed = false;
    for file in files {
        let file = file.as_ref();
        match std::fs::read_to_string(file) {
            Ok(source) => {
                let scenario = Scenario {
                    name: file.display().to_string(),
                    source,
                };
                failed |= !check_one(&scenario);
            }
            Err(e) => {
                println!("{}:1:1: cannot read file: {e}", file.display());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints what is wrong with one scenario; `true` when nothing is.
fn check_one(scenario: &Scenario) -> bool {
    if let Err(e) = check(scenario) {
        println!("{e}");
        return false;
    }
    match lint(scenario) {
        Ok(diagnostics) => {
            for d in &diagnostics {
                println!("{d}");
            }
            diagnostics.is_empty()
        }
        // The linter could not read what QuickJS compiled: a gap in the
        // linter, not an error in the scenario.
        Err(e) => {
            eprintln!("warning: {}: not linted: {e}", scenario.name);
            true
        }
    }
}
