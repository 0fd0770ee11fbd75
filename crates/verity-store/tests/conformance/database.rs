//! Connecting, migrating, pinging, pool reporting, connection errors and the job locks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use verity_store::grants::TokenKind;
use verity_store::{JobLock, PoolOptions, Store, StoreError};

use crate::harness::{Backend, NOW, TestDb, org, raw};

/// `backend()` names the backend, `ping()` answers, and migrating again changes nothing (the
/// data stays and no migration runs twice).
async fn migrate_is_idempotent(store: &Store) {
    assert!(["sqlite", "postgres"].contains(&store.backend()));
    store.ping().await.unwrap();
    org(store, "o-1", "Org").await;
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(
        store.find_organization("o-1").await.unwrap().unwrap().name,
        "Org"
    );
}

/// `pool_use()` reports the configured maximum on PostgreSQL (at least 2; SQLite has one
/// connection per process, whatever is asked) and connections once some were used; `connect()`
/// uses the default (16).
async fn pool_options_are_applied(db: &TestDb) {
    let postgres = db.store.backend() == "postgres";
    let default = db.node().await;
    assert_eq!(default.pool_use().max, if postgres { 16 } else { 1 });
    default.close().await;
    for (asked, sqlite, pg) in [(1, 1, 2), (3, 1, 3), (100, 1, 100)] {
        let store = db
            .node_with(PoolOptions {
                max_connections: asked,
                acquire_timeout: Duration::from_secs(5),
            })
            .await;
        assert_eq!(store.pool_use().max, if postgres { pg } else { sqlite });
        store.ping().await.unwrap();
        let used = store.pool_use();
        assert!(used.size >= 1 && used.size <= used.max, "{used:?}");
        assert!(used.idle <= used.size, "{used:?}");
        store.close().await;
    }
}

/// SQLite: after a checkpoint, the next write starts the write-ahead log over, however much
/// was written before (the log once grew by gigabytes under a steady load).
async fn checkpoint_starts_the_log_over(db: &TestDb) {
    let store = &db.store;
    for i in 0..300 {
        let t = crate::harness::token(&format!("at-{i}"), TokenKind::Access, "grant-1", "c-1");
        store.insert_tokens(&[t]).await.unwrap();
    }
    store.checkpoint().await.unwrap();
    let last = crate::harness::token("at-last", TokenKind::Access, "grant-1", "c-1");
    store.insert_tokens(&[last]).await.unwrap();
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).unwrap();
        let logged: i64 = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap();
        assert!(
            logged < 50,
            "{logged} frames in the log after a checkpoint and one write"
        );
    }
}

/// A row the store does not understand is reported corrupt, not read as a default (an app's
/// unknown algorithm is not taken for RS256), and a token of an unknown kind cannot be stored
/// at all (the schema's check), so it is never taken for an access token.
async fn unknown_stored_values_are_corrupt(db: &TestDb) {
    let store = &db.store;
    let t = crate::harness::token("at-odd", TokenKind::Access, "grant-1", "c-1");
    store.insert_tokens(&[t]).await.unwrap();
    crate::harness::org(store, "o-1", "Org").await;
    crate::harness::app(store, "c-1", "o-1", "App").await;
    let kind = "UPDATE tokens SET kind = 'bearer' WHERE token_hash = 'at-odd'";
    assert!(!raw(db, kind).await, "the schema refuses a token kind");
    assert!(
        raw(
            db,
            "UPDATE apps SET id_token_alg = 'HS256' WHERE client_id = 'c-1'"
        )
        .await
    );
    let app = store.find_app("c-1").await;
    assert!(matches!(app, Err(StoreError::Corrupt(_))), "{app:?}");
    assert_eq!(
        store.find_token("at-odd").await.unwrap().unwrap().kind,
        TokenKind::Access
    );
}

/// A closed store answers errors that count as "unavailable" (503), not as failed queries.
async fn closed_store_is_unavailable(db: &TestDb) {
    let store = db.node().await;
    store.ping().await.unwrap();
    store.close().await;
    let err = store.ping().await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    let err = store.find_app("c").await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    // A query that fails is not unavailability.
    assert!(!StoreError::Conflict.is_unavailable());
    assert!(!StoreError::InvalidText.is_unavailable());
}

/// `with_lock` and `try_with_lock` run the job and give back its value or its error; the lock is
/// free again afterwards either way.
async fn job_lock_runs_the_job(store: &Store) {
    let got = store
        .with_lock(JobLock::Boot, async { Ok::<_, StoreError>(7) })
        .await
        .unwrap();
    assert_eq!(got, 7);
    let err = store
        .with_lock(JobLock::Boot, async {
            Err::<(), _>(StoreError::Corrupt("job failed".into()))
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(m) if m == "job failed"));
    let err = store
        .try_with_lock(JobLock::Maintenance, async {
            Err::<(), _>(StoreError::Conflict)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict));
    let got = store
        .try_with_lock(JobLock::Maintenance, async { Ok::<_, StoreError>("ran") })
        .await
        .unwrap();
    assert_eq!(got, Some("ran"), "released after the failed job");
    let got = store
        .try_with_lock(JobLock::Boot, async { Ok::<_, StoreError>(1) })
        .await
        .unwrap();
    assert_eq!(got, Some(1), "released after the failed job");
}

on_each_backend!(migrate_is_idempotent, job_lock_runs_the_job);
on_each_backend!(db: pool_options_are_applied, closed_store_is_unavailable, checkpoint_starts_the_log_over);
on_each_backend!(db: unknown_stored_values_are_corrupt);

/// `sqlite::memory:` is a private database in memory: it migrates and works, two are apart, and
/// nothing is written to the working directory (sqlx names such a database like a file).
#[tokio::test]
async fn sqlite_in_memory_writes_no_file() {
    let before: Vec<_> = std::fs::read_dir(".")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let one = Store::connect("sqlite::memory:").await.unwrap();
    let two = Store::connect("sqlite::memory:").await.unwrap();
    for store in [&one, &two] {
        store.migrate().await.unwrap();
    }
    org(&one, "o-1", "Org").await;
    assert!(one.find_organization("o-1").await.unwrap().is_some());
    assert!(two.find_organization("o-1").await.unwrap().is_none());
    let after: Vec<_> = std::fs::read_dir(".")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(before, after, "files appeared in the working directory");
    one.close().await;
    two.close().await;
}

/// Any URL but `sqlite:` and `postgres(ql)://` is refused.
#[tokio::test]
async fn unsupported_url_is_refused() {
    for url in ["mysql://root@localhost/verity", "verity.db", ""] {
        let err = Store::connect(url).await.unwrap_err();
        assert!(matches!(err, StoreError::UnsupportedUrl), "{url}: {err:?}");
    }
}

/// A PostgreSQL server that cannot be reached: connecting succeeds (connections are made on first
/// use) and queries fail as "unavailable".
#[tokio::test]
async fn unreachable_postgres_is_unavailable() {
    let store = Store::connect_with(
        "postgres://postgres@127.0.0.1:1/verity",
        PoolOptions {
            max_connections: 2,
            acquire_timeout: Duration::from_millis(500),
        },
    )
    .await
    .unwrap();
    assert_eq!(store.backend(), "postgres");
    assert_eq!(store.pool_use().size, 0);
    let err = store.ping().await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
}

/// Several nodes booting at once on an empty PostgreSQL database: every `migrate()` succeeds
/// (they take turns under sqlx's migration lock) and the schema is there once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_on_postgres() {
    let Some(db) = TestDb::empty(Backend::Postgres).await else {
        return;
    };
    let mut nodes = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let store = db.node().await;
        nodes.spawn(async move {
            let done = store.migrate().await;
            store.close().await;
            done
        });
    }
    while let Some(done) = nodes.join_next().await {
        done.unwrap().unwrap();
    }
    org(&db.store, "o-1", "Org").await;
    assert!(db.store.find_organization("o-1").await.unwrap().is_some());
    db.finish().await;
}

/// A job lock excludes the other nodes: while one node holds it, `try_with_lock` elsewhere
/// (another pool, or the holder's own store) returns `None` without running its job, another lock
/// is free, and `with_lock` waits; after the release they run. (PostgreSQL: advisory locks;
/// SQLite: a lock file beside the database, for processes sharing it.)
async fn job_lock_excludes_other_nodes(db: &TestDb) {
    let node_a = db.store.clone();
    let node_b = db.node().await;
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn(async move {
        node_a
            .with_lock(JobLock::Maintenance, async {
                entered_tx.send(()).unwrap();
                release_rx.await.unwrap();
                Ok::<_, StoreError>("held")
            })
            .await
    });
    entered_rx.await.unwrap();

    for store in [&node_b, &db.store] {
        let got = store
            .try_with_lock(JobLock::Maintenance, async { Ok::<_, StoreError>("ran") })
            .await;
        assert_eq!(got.unwrap(), None, "ran while another node held the lock");
    }
    let other = node_b
        .try_with_lock(JobLock::Boot, async { Ok::<_, StoreError>("boot") })
        .await
        .unwrap();
    assert_eq!(other, Some("boot"), "another lock is free");

    // A waiting `with_lock` on node B has not run its job while the lock is held.
    let ran = Arc::new(AtomicBool::new(false));
    let mut waiter = tokio::spawn({
        let (node_b, ran) = (node_b.clone(), ran.clone());
        async move {
            node_b
                .with_lock(JobLock::Maintenance, async {
                    ran.store(true, Ordering::SeqCst);
                    Ok::<_, StoreError>("waited")
                })
                .await
        }
    });
    if db.store.backend() == "postgres" {
        // Seen waiting in pg_locks.
        wait_for_advisory_waiter(&db.url).await;
    } else {
        // Nothing to observe a waiting file lock by: the waiter must still be waiting a moment
        // later (a broken lock fails this; a working one never does).
        let early = tokio::time::timeout(Duration::from_millis(100), &mut waiter).await;
        assert!(early.is_err(), "with_lock did not wait: {early:?}");
    }
    assert!(!ran.load(Ordering::SeqCst));

    release_tx.send(()).unwrap();
    assert_eq!(holder.await.unwrap().unwrap(), "held");
    assert_eq!(waiter.await.unwrap().unwrap(), "waited");
    assert!(ran.load(Ordering::SeqCst));
    let got = node_b
        .try_with_lock(JobLock::Maintenance, async { Ok::<_, StoreError>(NOW) })
        .await
        .unwrap();
    assert_eq!(got, Some(NOW), "free after the release");
    node_b.close().await;
}

on_each_backend!(db: job_lock_excludes_other_nodes);

/// Polls until a session of the database at `url` waits for an advisory lock.
async fn wait_for_advisory_waiter(url: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    for _ in 0..2000 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if waiting > 0 {
            conn.close().await.unwrap();
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no session waited for the advisory lock");
}

/// A SQLite database at `url` migrated up to, not including, migration `version`.
async fn sqlite_before(url: &str, version: i64) -> sqlx::SqlitePool {
    let mut before = sqlx::migrate::Migrator::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite"),
    )
    .await
    .unwrap();
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version < version)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    let old = sqlx::SqlitePool::connect(url).await.unwrap();
    before.run(&old).await.unwrap();
    old
}

/// SQLite: a code issued before migration 20 keeps its digest as its grant's id (which its
/// tokens already carry), so a replay after the upgrade still revokes them; a code written
/// without a grant id (by a binary from before, still running) is refused as corrupt, never
/// taken as a grant of its own.
#[tokio::test]
async fn sqlite_upgrade_gives_earlier_codes_their_digest_as_grant_id() {
    use sqlx::Executor;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/old.db?mode=rwc", dir.path().display());
    let old = sqlite_before(&url, 20).await;
    // A code as a binary from before migration 20 writes it: no grant id.
    let code_row = |hash: &str| {
        format!(
            "INSERT INTO codes (code_hash, client_id, uuid, redirect_uri, scopes, auth_time, mfa,
                                created_at, expires_at)
               VALUES ('{hash}', 'c-1', 'u-1', 'https://rp.example/cb', '[]', 1, 0, 1, 9999999999)"
        )
    };
    old.execute(code_row("code-old").as_str()).await.unwrap();
    old.close().await;

    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let taken = store.take_code("code-old", NOW).await.unwrap();
    let verity_store::grants::TakeCode::Fresh(code, _) = taken else {
        panic!("the earlier code is taken once: {taken:?}");
    };
    assert_eq!(code.grant_id, "code-old");

    let behind = rusqlite::Connection::open(dir.path().join("old.db")).unwrap();
    behind.execute(&code_row("code-bare"), []).unwrap();
    drop(behind);
    let bare = store.find_unused_code("code-bare").await;
    assert!(matches!(bare, Err(StoreError::Corrupt(_))), "{bare:?}");
    store.close().await;
}

/// SQLite: a database made before migration 19 keeps its audit rows and releases through it
/// (their tables are rebuilt without `AUTOINCREMENT`), and later rows are numbered after them.
#[tokio::test]
async fn sqlite_upgrade_keeps_audit_rows_and_releases() {
    use sqlx::Executor;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/old.db?mode=rwc", dir.path().display());
    let old = sqlite_before(&url, 19).await;
    old.execute(
        "INSERT INTO audit_events (id, at, event, uuid, client_id, detail)
           VALUES (41, 100, 'token.issued', 'u-1', 'c-1', '{}');
         INSERT INTO releases (id, at, uuid, client_id, policies, handles)
           VALUES (7, 100, 'u-1', 'c-1', '[\"openid\"]', '[\"email\"]');",
    )
    .await
    .unwrap();
    old.close().await;

    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let audit = store.find_audit(Some("c-1"), None, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].at, audit[0].event.as_str()),
        (100, "token.issued")
    );
    let releases = store.find_app_releases("u-1", "c-1").await.unwrap();
    assert_eq!(releases.len(), 1);
    assert_eq!(releases[0].handles, ["email"]);
    store
        .insert_audit(&crate::harness::audit_event("later"))
        .await
        .unwrap();
    store.close().await;
    let conn = rusqlite::Connection::open(dir.path().join("old.db")).unwrap();
    let mut ids = conn
        .prepare("SELECT id FROM audit_events ORDER BY id")
        .unwrap();
    let ids: Vec<i64> = ids
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids, [41, 42]);
}
