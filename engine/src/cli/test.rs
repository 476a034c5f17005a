//! `dialtone test`: run a scenario offline against a spec of simulated calls
//! on a virtual clock (see `docs/testing.md`).

use std::path::Path;
use std::process::ExitCode;

/// Prints PASS/FAIL per expectation; exit 0 only when all pass, 1 when some
/// fail, 2 when the files cannot be used.
pub fn main(scenario: &Path, spec: &Path) -> ExitCode {
    println!("{} with {}", scenario.display(), spec.display());
    match dialtone_sim::run_files(scenario, spec) {
        Ok(report) => {
            print!("{}", report.render());
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            println!("error: {e}");
            ExitCode::from(2)
        }
    }
}
