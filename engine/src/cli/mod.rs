//! Subcommands of the `dialtone` binary.

pub mod check;
pub mod run;
pub mod serve;
pub mod test;
