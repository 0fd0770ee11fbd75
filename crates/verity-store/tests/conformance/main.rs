#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The store conformance suite: every public `Store` method, on both backends, held to the same
//! assertions.
//!
//! Each behaviour is written once, as an `async fn(&Store)` (or `async fn(&TestDb)` when it needs a
//! second node on the same database), and [`on_each_backend!`] turns it into two tests:
//! `<module>::<behaviour>::sqlite` (a fresh file in a temp dir, always) and
//! `<module>::<behaviour>::postgres` (a fresh database, created and dropped by the test, when
//! `VERITY_TEST_DATABASE_URL` names a PostgreSQL server; without it the test passes at once).
//!
//! - [`harness`]: fresh databases, their clean-up, fixtures.
//! - [`database`]: connecting, migrating, pings, pools, errors, job locks.
//! - [`apps`], [`users`], [`sessions`], [`grants`], [`lifecycle`], [`keys`], [`mfa`],
//!   [`throttle`], [`limits`], [`audit`], [`console`], [`cases`], [`roles`], [`pushed`],
//!   [`email_tokens`], [`passkeys`]: one module per
//!   store module.
//! - [`nul`]: lookups of keys PostgreSQL cannot hold.
//! - [`races`]: single-use items and counters under concurrent callers.

/// Makes `<name>::sqlite` and `<name>::postgres` tests of each `async fn <name>(&Store)` listed:
/// a fresh, migrated database per test, removed afterwards (also when the test fails).
/// With `db:` before the list the functions take the [`harness::TestDb`] instead. Attributes
/// before a name (`#[ignore = "..."]`) go on both tests.
macro_rules! on_each_backend {
    (db: $($(#[$attr:meta])* $name:ident),+ $(,)?) => {
        $(on_each_backend!(@tests db, [$(#[$attr])*], $name);)+
    };
    ($($(#[$attr:meta])* $name:ident),+ $(,)?) => {
        $(on_each_backend!(@tests store, [$(#[$attr])*], $name);)+
    };
    (@tests $arg:ident, [$(#[$attr:meta])*], $name:ident) => {
        mod $name {
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                on_each_backend!(@run $arg, Sqlite, $name);
            }

            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                on_each_backend!(@run $arg, Postgres, $name);
            }
        }
    };
    (@run $arg:ident, $backend:ident, $name:ident) => {
        let db = crate::harness::TestDb::migrated(crate::harness::Backend::$backend).await;
        if let Some(db) = db {
            super::$name(on_each_backend!(@arg $arg, db)).await;
            db.finish().await;
        }
    };
    (@arg store, $db:ident) => { &$db.store };
    (@arg db, $db:ident) => { &$db };
}

mod harness;

mod apps;
mod audit;
mod cases;
mod console;
mod database;
mod email_tokens;
mod erase;
mod grants;
mod keys;
mod lifecycle;
mod limits;
mod mfa;
mod nul;
mod passkeys;
mod pushed;
mod races;
mod releases;
mod roles;
mod sessions;
mod throttle;
mod users;
