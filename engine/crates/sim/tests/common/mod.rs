//! Helpers shared by the simulator's test files.
// Each test file uses a part of this.
#![allow(dead_code)]

use dialtone_script::Scenario;
use dialtone_sim::Spec;

/// A scenario from source text, named `inline.js` in reports.
pub fn inline(source: &str) -> Scenario {
    Scenario {
        name: "inline.js".into(),
        source: source.into(),
    }
}

/// A spec that must parse.
pub fn spec(json: &str) -> Spec {
    Spec::from_json(json).expect("valid spec")
}
