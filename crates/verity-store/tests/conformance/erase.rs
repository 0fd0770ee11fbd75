//! Deleting a person: no row of theirs is left in any table holding personal data, someone
//! else's rows stay, and the audit trail keeps the uuid without the email or the address.

use std::collections::BTreeMap;

use verity_core::review::Role;
use verity_core::verification::Method;
use verity_store::audit::AuditEvent;
use verity_store::cases::{Case, Evidence};
use verity_store::grants::TokenKind;
use verity_store::users::{User, VerificationRecord};

use crate::harness::{
    NOW, TestDb, app, audit_event, code, interaction, org, raw, session, token, user,
};

/// The tables that hold a person's data, each with the condition that finds the rows of person
/// `$1` (the test's own list, held against the store's).
const PERSONAL: &[(&str, &str)] = &[
    ("users", "uuid = $1"),
    ("user_attributes", "uuid = $1"),
    ("verifications", "uuid = $1"),
    ("verification_cases", "uuid = $1"),
    (
        "verification_evidence",
        "case_id IN ('case-1-u-1', 'case-2-u-1')",
    ),
    ("recovery_codes", "uuid = $1"),
    ("passkeys", "uuid = $1"),
    ("passkey_challenges", "uuid = $1"),
    ("email_tokens", "uuid = $1"),
    ("user_roles", "uuid = $1"),
    ("memberships", "uuid = $1"),
    ("consents", "uuid = $1"),
    ("sessions", "uuid = $1"),
    ("interactions", "uuid = $1"),
    ("codes", "uuid = $1"),
    ("tokens", "uuid = $1"),
    ("releases", "uuid = $1"),
    ("invitations", "email = 'jane@example.com'"),
    ("rate_limits", "key LIKE '%' || $1"),
    (
        "audit_events",
        "uuid = $1 AND (address IS NOT NULL OR detail LIKE '%jane@example.com%')",
    ),
];

/// How many rows `sql` (one `$1`, bound to `arg`) counts.
async fn count(db: &TestDb, sql: &str, arg: &str) -> i64 {
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).unwrap();
        let sql = sql.replace("$1", "?1");
        let mut stmt = conn.prepare(&sql).unwrap();
        if sql.contains("?1") {
            stmt.query_row([arg], |r| r.get(0)).unwrap()
        } else {
            stmt.query_row([], |r| r.get(0)).unwrap()
        }
    } else {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let q = sqlx::query_scalar::<_, i64>(sql);
        let q = if sql.contains("$1") { q.bind(arg) } else { q };
        let n = q.fetch_one(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        n
    }
}

/// Rows of `uuid` left in each personal table (by name), the empty ones left out.
async fn rows_of(db: &TestDb, uuid: &str) -> BTreeMap<&'static str, i64> {
    let mut left = BTreeMap::new();
    for (table, condition) in PERSONAL {
        let condition = condition
            .replace("u-1", uuid)
            .replace("jane@", &format!("{uuid}@"));
        let n = count(
            db,
            &format!("SELECT COUNT(*) FROM {table} WHERE {condition}"),
            uuid,
        )
        .await;
        if n > 0 {
            left.insert(*table, n);
        }
    }
    left
}

/// Gives person `uuid` (email `<uuid>@example.com`) a row in every personal table.
async fn everything_of(db: &TestDb, uuid: &str) {
    let store = &db.store;
    let email = format!("{uuid}@example.com");
    let person = User {
        uuid: uuid.into(),
        email: email.clone(),
        password_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
        totp_secret: None,
        totp_last_step: None,
        created_at: NOW,
        email_confirmed_at: None,
    };
    let attrs = BTreeMap::from([("fname".to_owned(), serde_json::json!("Jane"))]);
    store.insert_user(&person, &attrs).await.unwrap();
    let verification = VerificationRecord {
        group: "student".into(),
        verified: true,
        subgroups: vec![],
        method: "sandbox".into(),
        decided_by: "sandbox".into(),
        decided_at: NOW,
    };
    store
        .upsert_verification(uuid, &verification)
        .await
        .unwrap();
    let case_id = format!("case-2-{uuid}");
    let case = Case::new(&case_id, uuid, "military", Method::Document, NOW);
    store.insert_case(&case).await.unwrap();
    let evidence = Evidence {
        id: format!("ev-{uuid}"),
        case_id: case_id.clone(),
        kind: "document".into(),
        content_type: "image/png".into(),
        size: 4,
        key_id: "k-1".into(),
        sealed: Some(vec![0, 1, 2, 255]),
        created_at: NOW,
        purged_at: None,
    };
    store.insert_evidence(&evidence).await.unwrap();
    store
        .replace_recovery_codes(uuid, &[format!("rc-{uuid}")])
        .await
        .unwrap();
    let key = verity_store::passkeys::StoredPasskey {
        credential_id: format!("cred-{uuid}"),
        uuid: uuid.into(),
        name: "Laptop".into(),
        credential: "{}".into(),
        hardware: true,
        created_at: NOW,
        last_used_at: None,
    };
    store.insert_passkey(&key).await.unwrap();
    let ceremony = verity_store::passkeys::Challenge {
        binding: format!("sess-{uuid}"),
        purpose: "register".into(),
        uuid: Some(uuid.into()),
        state: "{}".into(),
        expires_at: NOW + 300,
    };
    store.put_passkey_challenge(&ceremony).await.unwrap();
    let link = verity_store::email_tokens::EmailToken {
        token_hash: format!("link-{uuid}"),
        purpose: verity_core::email_link::Purpose::Reset,
        uuid: uuid.into(),
        email: email.clone(),
        created_at: NOW,
        expires_at: NOW + 1800,
        used_at: None,
    };
    store.insert_email_token(&link).await.unwrap();
    let granted = AuditEvent {
        uuid: Some(uuid.into()),
        ..audit_event("admin.role.granted")
    };
    store
        .grant_role(uuid, Role::Reviewer, "admin API", NOW, &granted)
        .await
        .unwrap();
    store
        .upsert_membership("org-1", uuid, "developer", NOW)
        .await
        .unwrap();
    store
        .insert_consent(uuid, "c-1", "openid", NOW)
        .await
        .unwrap();
    let s = session(
        &format!("sess-{uuid}"),
        &format!("sid-{uuid}"),
        uuid,
        NOW + 600,
    );
    store.insert_session(&s).await.unwrap();
    let mut i = interaction(&format!("int-{uuid}"), "c-1", NOW + 600);
    i.uuid = Some(uuid.into());
    store.insert_interaction(&i).await.unwrap();
    let release = verity_store::releases::Release {
        at: NOW,
        uuid: uuid.into(),
        client_id: "c-1".into(),
        policies: vec!["military".into()],
        handles: vec!["fname".into()],
    };
    store
        .insert_code_with_release(&code(&format!("code-{uuid}"), "c-1", uuid), &release)
        .await
        .unwrap();
    let mut access = token(&format!("at-{uuid}"), TokenKind::Access, "g", "c-1");
    let mut refresh = token(&format!("rt-{uuid}"), TokenKind::Refresh, "g", "c-1");
    access.uuid = uuid.into();
    refresh.uuid = uuid.into();
    store.insert_tokens(&[access, refresh]).await.unwrap();
    assert!(
        raw(
            db,
            &format!(
                "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by,
                   created_at, expires_at) VALUES ('inv-{uuid}', 'org-1', '{email}', 'developer',
                   'inv-hash-{uuid}', 'u-owner', {NOW}, {})",
                NOW + 600
            )
        )
        .await
    );
    assert!(
        raw(
            db,
            &format!(
                "INSERT INTO rate_limits (key, hits, window_start, window_end)
                 VALUES ('apps:account:{uuid}', 1, {NOW}, {})",
                NOW + 600
            )
        )
        .await
    );
    let signed_in = AuditEvent {
        uuid: Some(uuid.into()),
        address: Some("203.0.113.9".into()),
        detail: serde_json::json!({"invited": email}),
        ..audit_event("signin.success")
    };
    store.insert_audit(&signed_in).await.unwrap();
}

/// After `delete_user` no row of the person is left in any table that holds personal data; the
/// other person keeps every row; the audit trail keeps the uuid (pseudonymized), and the
/// deletion's own row; a second deletion finds nobody.
async fn a_deleted_person_leaves_no_row(db: &TestDb) {
    let store = &db.store;
    user(store, "u-owner", "owner@example.com").await;
    org(store, "org-1", "Org").await;
    app(store, "c-1", "org-1", "App").await;
    everything_of(db, "u-1").await;
    everything_of(db, "u-2").await;
    let full = rows_of(db, "u-1").await;
    assert_eq!(
        full.len(),
        PERSONAL.len(),
        "every table holds a row: {full:?}"
    );
    assert_eq!(rows_of(db, "u-2").await, full);

    let deleted = AuditEvent {
        uuid: Some("u-1".into()),
        address: None,
        ..audit_event("account.deleted")
    };
    assert!(store.delete_user("u-1", &deleted).await.unwrap());
    assert_eq!(rows_of(db, "u-1").await, BTreeMap::new());
    assert_eq!(rows_of(db, "u-2").await, full, "someone else's rows stay");
    // The listed tables are the store's own.
    let mut ours: Vec<&str> = PERSONAL.iter().map(|(t, _)| *t).collect();
    let mut theirs = verity_store::erase::PERSONAL_TABLES.to_vec();
    theirs.push("audit_events");
    ours.sort_unstable();
    theirs.sort_unstable();
    assert_eq!(ours, theirs);

    let kept = store.find_audit(None, Some("u-1"), 10).await.unwrap();
    let names: Vec<&str> = kept.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        ["account.deleted", "signin.success", "admin.role.granted"]
    );
    assert!(kept.iter().all(|e| e.address.is_none()), "{kept:?}");
    assert!(store.find_user("u-1").await.unwrap().is_none());
    assert!(
        store
            .find_user_by_email("u-1@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store.delete_user("u-1", &deleted).await.unwrap(),
        "nobody left to delete"
    );
    assert_eq!(
        store.find_audit(None, Some("u-1"), 10).await.unwrap().len(),
        3
    );
}

on_each_backend!(db: a_deleted_person_leaves_no_row);
