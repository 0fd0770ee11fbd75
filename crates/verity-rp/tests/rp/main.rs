#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The reference RP against the real provider (both started in-process per test) and against a
//! hostile provider: stored rows, the pre-filled profile form, and refusals that store nothing
//! but the raw audit record.

mod assurance;
mod helpers;
mod hostile;
mod personas;
mod profile;
