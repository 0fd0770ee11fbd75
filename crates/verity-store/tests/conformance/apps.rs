//! Organizations, apps and app secrets.

use verity_core::identity::Family;
use verity_core::keys::Alg;
use verity_store::apps::{App, Organization};
use verity_store::console::SecretInfo;
use verity_store::{Store, StoreError};

use crate::harness::{NOW, app, org};

/// An app whose every field differs from `App::new`'s defaults.
fn full_app(client_id: &str, org_id: &str) -> App {
    App {
        client_id: client_id.into(),
        org_id: org_id.into(),
        name: "Full app ✓".into(),
        logo_url: Some("https://rp.example/logo.png".into()),
        redirect_uris: vec![
            "https://rp.example/cb".into(),
            "http://127.0.0.1:8090/callback?x=1".into(),
        ],
        post_logout_redirect_uris: vec!["https://rp.example/bye".into()],
        policies: vec!["http://idmanagement.gov/ns/assurance/ial/2/aal/2".into()],
        profile: Family::Oidc,
        public: true,
        refresh_tokens: false,
        id_token_alg: Alg::ES256,
        userinfo_signed_response_alg: Some(Alg::RS256),
        code_ttl: 60,
        access_ttl: 900,
        refresh_ttl: 86_400,
        userinfo_ttl: 120,
        jwks: Some(r#"{"keys":[]}"#.into()),
        jwks_uri: Some("https://rp.example/jwks".into()),
        backchannel_logout_uri: Some("https://rp.example/logout".into()),
        allowed_origins: vec!["https://admin.rp.example".into()],
        require_pushed_authorization_requests: true,
        require_signed_request_object: true,
        dpop_bound_access_tokens: true,
        require_phishing_resistant: true,
        created_at: NOW - 5,
        updated_at: NOW - 1,
    }
}

/// Organizations and apps come back field for field (booleans, NULLs, JSON lists, i64 times);
/// unknown ids find nothing.
async fn app_round_trip(store: &Store) {
    let o = org(store, "o-1", "Org One").await;
    assert_eq!(store.find_organization("o-1").await.unwrap(), Some(o));
    assert_eq!(store.find_organization("o-2").await.unwrap(), None);

    let full = full_app("c-full", "o-1");
    store.insert_app(&full).await.unwrap();
    assert_eq!(store.find_app("c-full").await.unwrap(), Some(full));

    // The defaults: NULLs, empty lists, true/false the other way round.
    let plain = app(store, "c-plain", "o-1", "Plain").await;
    let found = store.find_app("c-plain").await.unwrap().unwrap();
    assert_eq!(found, plain);
    assert!(!found.public && found.refresh_tokens);
    assert_eq!(found.logo_url, None);
    assert!(found.redirect_uris.is_empty());

    assert_eq!(store.find_app("c-none").await.unwrap(), None);
    assert_eq!(store.find_app("").await.unwrap(), None);
}

/// `update_app` replaces every setting, but never the client id, organization or creation time;
/// updating an unknown app changes nothing.
async fn update_app_replaces_settings(store: &Store) {
    org(store, "o-1", "Org One").await;
    org(store, "o-2", "Org Two").await;
    let before = app(store, "c-1", "o-1", "Before").await;
    let mut after = full_app("c-1", "o-2");
    after.created_at = NOW + 100;
    after.updated_at = NOW + 200;
    store.update_app(&after).await.unwrap();
    let found = store.find_app("c-1").await.unwrap().unwrap();
    assert_eq!(
        found,
        App {
            org_id: before.org_id,
            created_at: before.created_at,
            ..after.clone()
        }
    );

    // And back: Some to NULL, true to false, lists emptied.
    let mut back = App::new("c-1", "o-1", "Back", NOW);
    back.updated_at = NOW + 300;
    store.update_app(&back).await.unwrap();
    assert_eq!(store.find_app("c-1").await.unwrap().unwrap(), back);

    store.update_app(&full_app("c-none", "o-1")).await.unwrap();
    assert_eq!(store.find_app("c-none").await.unwrap(), None);
}

/// A second organization, app or secret with the same id is a `Conflict`, and the first stays.
async fn duplicate_ids_conflict(store: &Store) {
    org(store, "o-1", "Org One").await;
    let dup = Organization {
        id: "o-1".into(),
        name: "Other".into(),
        created_at: NOW,
    };
    let err = store.insert_organization(&dup).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    assert_eq!(
        store.find_organization("o-1").await.unwrap().unwrap().name,
        "Org One"
    );

    app(store, "c-1", "o-1", "First").await;
    let err = store
        .insert_app(&App::new("c-1", "o-1", "Second", NOW))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    assert_eq!(store.find_app("c-1").await.unwrap().unwrap().name, "First");

    store
        .insert_app_secret("s-1", "c-1", "hash-1", NOW)
        .await
        .unwrap();
    let err = store
        .insert_app_secret("s-1", "c-1", "hash-2", NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    assert_eq!(hashes(store, "c-1").await, vec!["hash-1".to_owned()]);
}

/// The digests of an app's secrets, oldest first.
async fn hashes(store: &Store, client_id: &str) -> Vec<String> {
    let digests = store.find_app_secret_digests(client_id).await.unwrap();
    digests.into_iter().map(|d| d.secret_hash).collect()
}

/// A secret's last use is written at most once in `every` seconds.
async fn a_secrets_last_use_is_recorded_hourly(store: &Store) {
    org(store, "o-1", "Org One").await;
    app(store, "c-1", "o-1", "One").await;
    store
        .insert_app_secret("s-1", "c-1", "hash-1", NOW)
        .await
        .unwrap();
    let last_use = || async { store.find_app_secret_digests("c-1").await.unwrap()[0].last_used_at };
    assert_eq!(last_use().await, None);
    store
        .touch_app_secret("c-1", "s-1", NOW + 10, 3600)
        .await
        .unwrap();
    assert_eq!(last_use().await, Some(NOW + 10), "the cache was dropped");
    store
        .touch_app_secret("c-1", "s-1", NOW + 3000, 3600)
        .await
        .unwrap();
    assert_eq!(last_use().await, Some(NOW + 10));
    store
        .touch_app_secret("c-1", "s-1", NOW + 3610, 3600)
        .await
        .unwrap();
    assert_eq!(last_use().await, Some(NOW + 3610));
    assert_eq!(
        store.find_app_secrets("c-1").await.unwrap()[0].last_used_at,
        Some(NOW + 3610)
    );
}

/// Secrets: every digest of an app, oldest first; their ids and ages for the console; deleting one
/// (only through its own app) leaves the others.
async fn app_secrets(store: &Store) {
    org(store, "o-1", "Org One").await;
    app(store, "c-1", "o-1", "One").await;
    app(store, "c-2", "o-1", "Two").await;
    store
        .insert_app_secret("s-new", "c-1", "hash-new", NOW + 10)
        .await
        .unwrap();
    store
        .insert_app_secret("s-old", "c-1", "hash-old", NOW)
        .await
        .unwrap();
    store
        .insert_app_secret("s-other", "c-2", "hash-other", NOW)
        .await
        .unwrap();

    assert_eq!(
        hashes(store, "c-1").await,
        vec!["hash-old".to_owned(), "hash-new".to_owned()]
    );
    assert_eq!(
        store.find_app_secrets("c-1").await.unwrap(),
        vec![
            SecretInfo {
                id: "s-old".into(),
                created_at: NOW,
                last_used_at: None,
            },
            SecretInfo {
                id: "s-new".into(),
                created_at: NOW + 10,
                last_used_at: None,
            },
        ]
    );
    assert!(hashes(store, "c-none").await.is_empty());
    assert!(store.find_app_secrets("c-none").await.unwrap().is_empty());

    assert!(!store.delete_app_secret("c-2", "s-old").await.unwrap());
    assert!(store.delete_app_secret("c-1", "s-old").await.unwrap());
    assert!(!store.delete_app_secret("c-1", "s-old").await.unwrap());
    assert_eq!(hashes(store, "c-1").await, vec!["hash-new".to_owned()]);
    assert_eq!(hashes(store, "c-2").await, vec!["hash-other".to_owned()]);
}

/// Apps and secrets are kept in memory after a read (`AppCache`); a change made through the
/// store is seen by the next read at once, whatever was read before it.
async fn changes_are_read_back_at_once(store: &Store) {
    org(store, "o-1", "Org One").await;
    app(store, "c-1", "o-1", "Before").await;
    assert_eq!(store.find_app("c-1").await.unwrap().unwrap().name, "Before");
    assert!(hashes(store, "c-1").await.is_empty());

    let mut renamed = store.find_app("c-1").await.unwrap().unwrap();
    renamed.name = "After".into();
    store.update_app(&renamed).await.unwrap();
    assert_eq!(store.find_app("c-1").await.unwrap().unwrap().name, "After");

    store
        .insert_app_secret("s-1", "c-1", "hash-1", NOW)
        .await
        .unwrap();
    assert_eq!(hashes(store, "c-1").await, vec!["hash-1".to_owned()]);
    assert!(store.delete_app_secret("c-1", "s-1").await.unwrap());
    assert!(hashes(store, "c-1").await.is_empty());

    assert!(store.delete_app("c-1", NOW).await.unwrap());
    assert_eq!(store.find_app("c-1").await.unwrap(), None);
}

on_each_backend!(
    a_secrets_last_use_is_recorded_hourly,
    changes_are_read_back_at_once,
    app_round_trip,
    update_app_replaces_settings,
    duplicate_ids_conflict,
    app_secrets,
);
