//! `dialtone test`: run scenarios offline against specs of simulated calls
//! on a virtual clock (see `docs/testing.md`).
//!
//! `dialtone test X.js --spec S.json` runs one pair; `dialtone test X.js`
//! finds `X.spec.json` or `X.spec.js` next to it; `dialtone test DIR` runs
//! every `X.js` in DIR that has such a spec. Exit 0 when everything passes,
//! 1 when something fails, 2 when a file cannot be used (unreadable, an
//! invalid spec, a spec with no expectations, a scenario without a spec).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dialtone_sim::{junit, Named, Report, SimError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// PASS/FAIL per expectation, the timeline on failure.
    Text,
    /// One JSON object per scenario (an object with `results` for several).
    Json,
    /// JUnit XML, one test case per scenario.
    Junit,
}

/// One scenario and its spec.
struct Pair {
    scenario: PathBuf,
    spec: PathBuf,
}

/// The spec next to `scenario`: `X.spec.json`, else `X.spec.js`.
fn spec_of(scenario: &Path) -> Option<PathBuf> {
    let stem = scenario.file_stem()?.to_str()?;
    ["spec.json", "spec.js"]
        .iter()
        .map(|ext| scenario.with_file_name(format!("{stem}.{ext}")))
        .find(|p| p.is_file())
}

fn is_spec(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".spec.json") || name.ends_with(".spec.js")
}

/// What to run: each file with `spec` (one file) or its sibling spec, and
/// every specced scenario of each directory. Errors say which input is unusable.
fn pairs(paths: &[PathBuf], spec: Option<&Path>) -> Result<Vec<Pair>, String> {
    if spec.is_some() && (paths.len() != 1 || paths[0].is_dir()) {
        return Err("--spec goes with exactly one scenario file".into());
    }
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries =
                std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut found: Vec<Pair> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "js") && !is_spec(p))
                .filter_map(|scenario| spec_of(&scenario).map(|spec| Pair { scenario, spec }))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{}: no scenario with a spec (X.js next to X.spec.json or X.spec.js)",
                    path.display()
                ));
            }
            found.sort_by(|a, b| a.scenario.cmp(&b.scenario));
            out.extend(found);
        } else {
            let spec = match spec {
                Some(spec) => spec.to_path_buf(),
                None => spec_of(path).ok_or_else(|| {
                    format!(
                        "{}: no spec given (--spec) and none next to it (X.spec.json or X.spec.js)",
                        path.display()
                    )
                })?,
            };
            out.push(Pair {
                scenario: path.clone(),
                spec,
            });
        }
    }
    Ok(out)
}

pub fn main(paths: &[PathBuf], spec: Option<&Path>, format: Format) -> ExitCode {
    let pairs = match pairs(paths, spec) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut runs: Vec<(Pair, Report)> = Vec::new();
    let mut broken: Vec<(String, String)> = Vec::new();
    for pair in pairs {
        if format == Format::Text {
            println!("{} with {}", pair.scenario.display(), pair.spec.display());
        }
        match dialtone_sim::run_files(&pair.scenario, &pair.spec) {
            Ok(report) => {
                if format == Format::Text {
                    print!("{}", report.render());
                }
                runs.push((pair, report));
            }
            Err(e) => {
                if format == Format::Text {
                    println!("  error: {e}");
                }
                broken.push((pair.scenario.display().to_string(), unusable(&e)));
            }
        }
    }
    let failed = runs.iter().filter(|(_, r)| !r.passed()).count();
    match format {
        Format::Text => {
            if runs.len() + broken.len() > 1 {
                println!(
                    "{} scenarios: {} passed, {failed} failed, {} could not run",
                    runs.len() + broken.len(),
                    runs.len() - failed,
                    broken.len()
                );
            }
        }
        Format::Json => {
            let mut results: Vec<serde_json::Value> = runs
                .iter()
                .map(|(pair, report)| {
                    let mut value = report.to_json();
                    value["scenario"] = pair.scenario.display().to_string().into();
                    value["spec"] = pair.spec.display().to_string().into();
                    value
                })
                .collect();
            for (scenario, why) in &broken {
                results.push(serde_json::json!({
                    "scenario": scenario, "passed": false, "error": why,
                }));
            }
            let single = paths.len() == 1 && !paths[0].is_dir() && results.len() == 1;
            let out = if single {
                results.remove(0)
            } else {
                serde_json::json!({
                    "passed": failed == 0 && broken.is_empty(),
                    "results": results,
                })
            };
            println!("{out:#}");
        }
        Format::Junit => {
            let named: Vec<Named<'_>> = runs
                .iter()
                .map(|(pair, report)| Named {
                    scenario: pair.scenario.display().to_string(),
                    spec: pair.spec.display().to_string(),
                    report,
                })
                .collect();
            print!("{}", junit(&named, &broken));
        }
    }
    if !broken.is_empty() {
        ExitCode::from(2)
    } else if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Why a pair could not run, on one line.
fn unusable(e: &SimError) -> String {
    e.to_string().replace('\n', " ")
}
