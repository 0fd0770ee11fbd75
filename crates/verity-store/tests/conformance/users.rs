//! Accounts, attributes and verifications.

use std::collections::BTreeMap;

use serde_json::json;
use verity_store::users::{User, VerificationRecord};
use verity_store::{Store, StoreError};

use crate::harness::{NOW, user};

/// Every byte value, so that a blob column cannot pass by treating bytes as text.
fn all_bytes() -> Vec<u8> {
    (0..=255u8).rev().chain(0..=255u8).collect()
}

fn verification(group: &str, verified: bool, subgroups: &[&str], at: i64) -> VerificationRecord {
    VerificationRecord {
        group: group.into(),
        verified,
        subgroups: subgroups.iter().map(|s| (*s).to_owned()).collect(),
        method: "document".into(),
        decided_by: "admin@example.com".into(),
        decided_at: at,
    }
}

/// A user comes back field for field (email lower-cased, the TOTP blob byte for byte), found by
/// uuid or by email in any case and with surrounding spaces; attributes of every JSON type
/// (`null` kept) and verifications make up the user data.
async fn user_round_trip(store: &Store) {
    let stored = User {
        uuid: "u-1".into(),
        email: "Alice.Smith@Example.COM".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        totp_secret: Some(all_bytes()),
        totp_last_step: Some(56_666_666),
        created_at: NOW,
        email_confirmed_at: Some(NOW + 1),
    };
    let attributes: BTreeMap<String, serde_json::Value> = [
        ("given_name", json!("Alice")),
        ("middle_name", json!(null)),
        ("age", json!(42)),
        ("ratio", json!(0.5)),
        ("veteran", json!(true)),
        ("aliases", json!(["Al", "Ally"])),
        ("address", json!({"street": "1 Main St", "zip": "02134"})),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    store.insert_user(&stored, &attributes).await.unwrap();

    for found in [
        store.find_user("u-1").await.unwrap().unwrap(),
        store
            .find_user_by_email("alice.smith@example.com")
            .await
            .unwrap()
            .unwrap(),
        store
            .find_user_by_email("  ALICE.SMITH@example.com\t")
            .await
            .unwrap()
            .unwrap(),
    ] {
        assert_eq!(found.uuid, "u-1");
        assert_eq!(found.email, "alice.smith@example.com");
        assert_eq!(found.password_hash, stored.password_hash);
        assert_eq!(found.totp_secret.as_deref(), Some(&all_bytes()[..]));
        assert_eq!(found.totp_last_step, Some(56_666_666));
        assert_eq!(found.created_at, NOW);
        assert_eq!(found.email_confirmed_at, Some(NOW + 1));
    }

    // A user without a second factor: NULLs come back as None.
    let plain = user(store, "u-2", "bob@example.com").await;
    let found = store.find_user("u-2").await.unwrap().unwrap();
    assert_eq!(found.totp_secret, None);
    assert_eq!(found.totp_last_step, None);
    assert_eq!(found.email_confirmed_at, None);
    assert_eq!(found.password_hash, plain.password_hash);

    store
        .upsert_verification("u-1", &verification("identity", true, &[], NOW))
        .await
        .unwrap();
    let data = store.find_user_data("u-1").await.unwrap().unwrap();
    assert_eq!(data.uuid, "u-1");
    assert_eq!(data.email, "alice.smith@example.com");
    assert_eq!(data.attributes, attributes);
    assert_eq!(data.verifications.len(), 1);
    assert_eq!(data.verifications[0].group, "identity");
    assert!(data.verifications[0].verified);
    assert!(data.is_verified("identity"));

    let data = store.find_user_data("u-2").await.unwrap().unwrap();
    assert!(data.attributes.is_empty() && data.verifications.is_empty());

    assert!(store.find_user("u-3").await.unwrap().is_none());
    assert!(
        store
            .find_user_by_email("carol@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.find_user_data("u-3").await.unwrap().is_none());
}

/// A second account with the same uuid, or the same email in another case, is a `Conflict`; the
/// refused account leaves nothing behind (its attributes neither).
async fn duplicate_users_conflict(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    let attributes: BTreeMap<String, serde_json::Value> =
        [("given_name".to_owned(), json!("Mallory"))].into();
    for (uuid, email) in [("u-1", "other@example.com"), ("u-2", "ALICE@example.com")] {
        let dup = User {
            uuid: uuid.into(),
            email: email.into(),
            password_hash: "x".into(),
            totp_secret: None,
            totp_last_step: None,
            created_at: NOW,
            email_confirmed_at: None,
        };
        let err = store.insert_user(&dup, &attributes).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict), "{uuid}: {err:?}");
    }
    assert!(store.find_user("u-2").await.unwrap().is_none());
    let data = store.find_user_data("u-1").await.unwrap().unwrap();
    assert_eq!(data.email, "alice@example.com");
    assert!(data.attributes.is_empty());
}

/// The verifications in u-1's claims data: (group, verified, subgroups).
async fn claimed_groups(store: &Store) -> Vec<(String, bool, Vec<String>)> {
    let data = store.find_user_data("u-1").await.unwrap().unwrap();
    data.verifications
        .into_iter()
        .map(|v| (v.group, v.verified, v.subgroups))
        .collect()
}

/// Verifications come back ordered by group with their provenance; a second decision on a group
/// replaces the first; other users' are separate.
async fn verifications_upsert(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    user(store, "u-2", "bob@example.com").await;
    let military = verification("military", false, &[], NOW);
    let identity = verification("identity", true, &["ial2", "aal2"], NOW + 1);
    store.upsert_verification("u-1", &military).await.unwrap();
    store.upsert_verification("u-1", &identity).await.unwrap();
    assert_eq!(
        store.find_verifications("u-1").await.unwrap(),
        vec![identity.clone(), military]
    );
    // The claims data carries the same verifications, in the same order, a `false` kept.
    assert_eq!(
        claimed_groups(store).await,
        vec![
            ("identity".into(), true, vec!["ial2".into(), "aal2".into()]),
            ("military".into(), false, vec![]),
        ]
    );

    let decided = VerificationRecord {
        verified: true,
        subgroups: vec!["veteran".into()],
        method: "dd214".into(),
        decided_by: "reviewer@example.com".into(),
        decided_at: NOW + 2,
        ..verification("military", false, &[], 0)
    };
    store.upsert_verification("u-1", &decided).await.unwrap();
    assert_eq!(
        store.find_verifications("u-1").await.unwrap(),
        vec![identity, decided]
    );
    assert!(store.find_verifications("u-2").await.unwrap().is_empty());
    assert!(store.find_verifications("u-none").await.unwrap().is_empty());

    assert_eq!(
        claimed_groups(store).await,
        vec![
            ("identity".into(), true, vec!["ial2".into(), "aal2".into()]),
            ("military".into(), true, vec!["veteran".into()]),
        ]
    );
}

/// Emails by account id, for pages that name people: unknown ids are left out, NUL-bearing ids
/// find nothing, no ids find nothing.
async fn emails_by_uuid(store: &Store) {
    user(store, "u-1", "Bob@Example.com").await;
    user(store, "u-2", "alice@example.com").await;
    let found = store
        .find_user_emails(&["u-1", "u-2", "u-none", "u-\0"])
        .await
        .unwrap();
    let pairs: Vec<(&str, &str)> = found
        .iter()
        .map(|e| (e.uuid.as_str(), e.email.as_str()))
        .collect();
    assert_eq!(
        pairs,
        vec![("u-2", "alice@example.com"), ("u-1", "bob@example.com")]
    );
    assert!(store.find_user_emails(&[]).await.unwrap().is_empty());
    assert!(store.find_user_emails(&["\0"]).await.unwrap().is_empty());
}

/// A password change replaces the hash of that account only; an unknown account changes nothing.
async fn password_updates(store: &Store) {
    user(store, "u-1", "a@example.com").await;
    user(store, "u-2", "b@example.com").await;
    assert!(store.update_user_password("u-1", "new-hash").await.unwrap());
    assert!(!store.update_user_password("u-9", "x").await.unwrap());
    let hash = |uuid: &'static str| async move {
        store.find_user(uuid).await.unwrap().unwrap().password_hash
    };
    assert_eq!(hash("u-1").await, "new-hash");
    assert_ne!(hash("u-2").await, "new-hash");
}

on_each_backend!(
    password_updates,
    emails_by_uuid,
    user_round_trip,
    duplicate_users_conflict,
    verifications_upsert
);
