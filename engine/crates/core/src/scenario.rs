//! A scenario: the JavaScript a session runs.

/// One scenario: a JavaScript source file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// File name, used in error messages and stack traces.
    pub name: String,
    pub source: String,
}
