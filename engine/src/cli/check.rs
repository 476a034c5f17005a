//! `dialtone check`: compile scenarios without running them.

use dialtone_script::{check, Scenario};
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
                if let Err(e) = check(&scenario) {
                    println!("{e}");
                    failed = true;
                }
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
