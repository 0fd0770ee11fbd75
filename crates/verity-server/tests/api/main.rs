//! Integration tests of the provider over real HTTP: each test starts its own server on port 0
//! with a fresh database (SQLite, or PostgreSQL when `VERITY_TEST_DATABASE_URL` is set) and a
//! manual clock (see `helpers`); `nodes` runs two servers on one database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authenticator;
mod helpers;

mod account;
mod account_data;
mod account_delete;
mod account_password;
mod admin_api;
mod assurance;
mod authorize_errors;
mod connections;
mod console;
mod cors;
mod discovery;
mod dpop;
mod email_confirm;
mod flow;
mod golden;
mod lifecycle;
mod limits;
mod malformed;
mod nodes;
mod openidconnect_rp;
mod operations;
mod outbound;
mod par;
mod passkeys;
mod password_reset;
mod review;
mod token_errors;
mod verification;
