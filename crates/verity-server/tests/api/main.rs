//! Integration tests of the provider over real HTTP: each test starts its own server on port 0
//! with a fresh SQLite file and a manual clock (see `helpers`).

mod helpers;

mod discovery;
mod flow;
mod openidconnect_rp;
