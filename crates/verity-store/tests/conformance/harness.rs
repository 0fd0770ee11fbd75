//! Fresh databases for the conformance tests (a SQLite file in a temp dir, or a PostgreSQL
//! database of its own, dropped when the test ends however it ends), and the rows most tests
//! start from.

use std::collections::BTreeMap;

use verity_core::grant::Code;
use verity_core::values::PkceChallenge;
use verity_store::apps::{App, Organization};
use verity_store::audit::AuditEvent;
use verity_store::grants::{Token, TokenKind};
use verity_store::sessions::{Interaction, Session};
use verity_store::users::User;
use verity_store::{PoolOptions, Store};
use verity_testkit::PgTestDb;

/// The time the tests live at (Unix seconds); store methods take `now` directly.
pub const NOW: i64 = 1_700_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One test's database and a store on it.
pub struct TestDb {
    pub store: Store,
    /// What a second node would connect to.
    pub url: String,
    /// Held so that the database outlives every use of it, and goes with the test: the
    /// SQLite file's directory, or the PostgreSQL database.
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgTestDb>,
}

impl TestDb {
    /// A fresh, empty database (not migrated); `None` for PostgreSQL when no server is named.
    pub async fn empty(backend: Backend) -> Option<TestDb> {
        let (url, dir, pg) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("verity.db").display());
                (url, Some(dir), None)
            }
            Backend::Postgres => {
                let pg = PgTestDb::create("verity_store_test").await?;
                (pg.url.clone(), None, Some(pg))
            }
        };
        let store = Store::connect(&url).await.unwrap();
        Some(TestDb {
            store,
            url,
            _dir: dir,
            _pg: pg,
        })
    }

    /// A fresh database with the schema.
    pub async fn migrated(backend: Backend) -> Option<TestDb> {
        let db = TestDb::empty(backend).await?;
        db.store.migrate().await.unwrap();
        Some(db)
    }

    /// Another node: a store with a pool of its own on the same database.
    pub async fn node(&self) -> Store {
        Store::connect(&self.url).await.unwrap()
    }

    /// Another node with the given pool options.
    pub async fn node_with(&self, opts: PoolOptions) -> Store {
        Store::connect_with(&self.url, opts).await.unwrap()
    }

    /// Closes the pool after a test that passed; the database goes with `self`.
    pub async fn finish(self) {
        self.store.close().await;
    }
}

/// A user with no attributes and no second factor.
pub async fn user(store: &Store, uuid: &str, email: &str) -> User {
    let user = User {
        uuid: uuid.into(),
        email: email.into(),
        password_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        totp_secret: None,
        totp_last_step: None,
        created_at: NOW,
        email_confirmed_at: None,
    };
    store.insert_user(&user, &BTreeMap::new()).await.unwrap();
    user
}

pub async fn org(store: &Store, id: &str, name: &str) -> Organization {
    let org = Organization {
        id: id.into(),
        name: name.into(),
        created_at: NOW,
    };
    store.insert_organization(&org).await.unwrap();
    org
}

/// An app with the default settings, in an existing organization.
pub async fn app(store: &Store, client_id: &str, org_id: &str, name: &str) -> App {
    let app = App::new(client_id, org_id, name, NOW);
    store.insert_app(&app).await.unwrap();
    app
}

/// A code (not stored) with every optional field set.
pub fn code(code_hash: &str, client_id: &str, uuid: &str) -> Code {
    Code {
        code_hash: code_hash.into(),
        grant_id: format!("grant-of-{code_hash}"),
        client_id: client_id.into(),
        uuid: uuid.into(),
        redirect_uri: "https://rp.example/callback".into(),
        scopes: vec!["openid".into(), "email".into()],
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: PkceChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        auth_time: NOW - 30,
        mfa: true,
        eid: Some("eid-1".into()),
        sid: Some("sid-1".into()),
        claims: Some(assurance_request()),
        dpop_jkt: Some("jkt-0".into()),
        passkey: None,
        created_at: NOW,
        expires_at: NOW + 300,
    }
}

/// An identity-assurance request as a code and its tokens keep it (read back whole).
pub fn assurance_request() -> verity_core::assurance::ClaimsRequest {
    let raw = r#"{"userinfo":{"verified_claims":{"verification":{"trust_framework":{"value":"verity"},
        "time":{"max_age":3600}},"claims":{"group":null}}}}"#;
    verity_core::assurance::parse(raw)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// A live token (not stored) of the grant `grant_id`, expiring an hour from [`NOW`].
pub fn token(token_hash: &str, kind: TokenKind, grant_id: &str, client_id: &str) -> Token {
    Token {
        token_hash: token_hash.into(),
        kind,
        grant_id: grant_id.into(),
        client_id: client_id.into(),
        uuid: "u-1".into(),
        scopes: vec!["openid".into(), "offline_access".into()],
        auth_time: NOW - 30,
        mfa: false,
        eid: None,
        sid: Some("sid-1".into()),
        parent_hash: None,
        created_at: NOW,
        expires_at: NOW + 3600,
        used_at: None,
        revoked_at: None,
        claims: Some(assurance_request()),
        dpop_jkt: Some("jkt-1".into()),
        passkey: None,
    }
}

/// A session (not stored) of an existing user.
pub fn session(id_hash: &str, sid: &str, uuid: &str, expires_at: i64) -> Session {
    Session {
        id_hash: id_hash.into(),
        sid: sid.into(),
        uuid: uuid.into(),
        auth_time: NOW - 10,
        mfa: false,
        passkey: None,
        created_at: NOW - 10,
        expires_at,
    }
}

/// An interaction (not stored) nobody has signed in to yet.
pub fn interaction(id: &str, client_id: &str, expires_at: i64) -> Interaction {
    Interaction {
        id: id.into(),
        client_id: client_id.into(),
        request: r#"{"client_id":"c","scope":"openid"}"#.into(),
        browser_hash: "browser-hash".into(),
        csrf_token: "csrf".into(),
        uuid: None,
        signed_in_here: false,
        verification_answered: false,
        consented: false,
        created_at: NOW,
        expires_at,
    }
}

/// An audit event of account u-1 and app c-1 at `NOW`.
pub fn audit_event(name: &str) -> AuditEvent {
    AuditEvent {
        at: NOW,
        event: name.into(),
        uuid: Some("u-1".into()),
        client_id: Some("c-1".into()),
        address: None,
        request_id: Some("r-1".into()),
        detail: serde_json::json!({"grant": "authorization_code"}),
    }
}

/// The names of the (at most 10) latest audit events of an app, newest first.
pub async fn audit_names(store: &Store, client_id: &str) -> Vec<String> {
    store
        .find_audit(Some(client_id), None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

/// Runs `sql` on the test database behind the store's back; whether it succeeded.
pub async fn raw(db: &TestDb, sql: &str) -> bool {
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute(sql, []).is_ok()
    } else {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let done = sqlx::query(sql).execute(&mut conn).await.is_ok();
        conn.close().await.unwrap();
        done
    }
}
