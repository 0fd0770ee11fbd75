#![allow(clippy::unwrap_used, clippy::expect_used)]
//! verity-client against the real provider (started in-process per test) and against a hostile
//! provider that answers with a token wrong in exactly one way.

mod assurance;
mod fapi;
mod flow;
mod helpers;
mod hostile;
mod props;
