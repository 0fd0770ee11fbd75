//! Integration tests of the provider over real HTTP: each test starts its own server on port 0
//! with a fresh SQLite file and a manual clock (see `helpers`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod account;
mod admin_api;
mod authorize_errors;
mod console;
mod discovery;
mod flow;
mod golden;
mod lifecycle;
mod malformed;
mod openidconnect_rp;
mod token_errors;
