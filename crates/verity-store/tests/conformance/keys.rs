//! Signing keys and the lifetime of what they sign.

use verity_store::apps::App;
use verity_store::keys::StoredKey;
use verity_store::{Store, StoreError};

use crate::harness::{NOW, org};

fn key(kid: &str, activates_at: i64, retires_at: Option<i64>) -> StoredKey {
    StoredKey {
        kid: kid.into(),
        alg: "RS256".into(),
        // A sealed key is arbitrary bytes: NULs, high bytes, every value.
        private_key: (0..=255u8).chain([0, 0, 255]).collect(),
        created_at: activates_at - 1,
        activates_at,
        retires_at,
    }
}

/// Keys come back byte for byte, oldest activation first, until their retirement (a key retiring
/// at `now` is gone); a second key with the same kid is a `Conflict`.
async fn signing_keys_round_trip(store: &Store) {
    let old = key("kid-old", NOW - 100, Some(NOW + 50));
    let current = StoredKey {
        alg: "ES256".into(),
        private_key: vec![0],
        ..key("kid-current", NOW, None)
    };
    let next = key("kid-next", NOW + 100, None);
    for k in [&next, &old, &current] {
        store.insert_signing_key(k).await.unwrap();
    }
    let all = store.find_signing_keys(NOW).await.unwrap();
    assert_eq!(all, vec![old.clone(), current.clone(), next.clone()]);
    assert_eq!(all[0].private_key, old.private_key);
    assert_eq!(
        store.find_signing_keys(NOW + 49).await.unwrap().len(),
        3,
        "not retired yet"
    );
    assert_eq!(
        store.find_signing_keys(NOW + 50).await.unwrap(),
        vec![current, next.clone()]
    );

    let err = store
        .insert_signing_key(&key("kid-next", NOW, None))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    let kept = store.find_signing_keys(NOW).await.unwrap();
    assert_eq!(kept.last(), Some(&next));
}

/// Retiring a key sets when it leaves the JWKS; a later retirement never postpones an earlier one,
/// an earlier one brings it forward; an unknown kid changes nothing.
async fn signing_key_retirement(store: &Store) {
    store
        .insert_signing_key(&key("kid-1", NOW - 10, None))
        .await
        .unwrap();
    store
        .insert_signing_key(&key("kid-2", NOW, None))
        .await
        .unwrap();
    let retires = |keys: Vec<StoredKey>| -> Vec<(String, Option<i64>)> {
        keys.into_iter().map(|k| (k.kid, k.retires_at)).collect()
    };

    store
        .update_signing_key_retirement("kid-1", NOW + 100)
        .await
        .unwrap();
    assert_eq!(
        retires(store.find_signing_keys(NOW).await.unwrap()),
        vec![("kid-1".into(), Some(NOW + 100)), ("kid-2".into(), None)]
    );
    store
        .update_signing_key_retirement("kid-1", NOW + 500)
        .await
        .unwrap();
    assert_eq!(
        retires(store.find_signing_keys(NOW).await.unwrap())[0],
        ("kid-1".into(), Some(NOW + 100)),
        "never postponed"
    );
    store
        .update_signing_key_retirement("kid-1", NOW + 20)
        .await
        .unwrap();
    assert_eq!(
        retires(store.find_signing_keys(NOW).await.unwrap())[0],
        ("kid-1".into(), Some(NOW + 20)),
        "brought forward"
    );
    assert_eq!(
        retires(store.find_signing_keys(NOW + 20).await.unwrap()),
        vec![("kid-2".into(), None)]
    );
    store
        .update_signing_key_retirement("kid-none", NOW)
        .await
        .unwrap();
    assert_eq!(store.find_signing_keys(NOW + 20).await.unwrap().len(), 1);
}

/// The longest lifetime of anything signed: the largest access or userinfo lifetime of any app,
/// or 18,000 seconds (the default userinfo lifetime) with no app at all.
async fn longest_signed_lifetime(store: &Store) {
    assert_eq!(store.find_longest_signed_lifetime().await.unwrap(), 18_000);
    org(store, "o-1", "Org").await;
    let with = |client_id: &str, access_ttl: i64, userinfo_ttl: i64| App {
        access_ttl,
        userinfo_ttl,
        ..App::new(client_id, "o-1", client_id, NOW)
    };
    store.insert_app(&with("c-1", 300, 600)).await.unwrap();
    assert_eq!(store.find_longest_signed_lifetime().await.unwrap(), 600);
    store.insert_app(&with("c-2", 900, 60)).await.unwrap();
    assert_eq!(store.find_longest_signed_lifetime().await.unwrap(), 900);
    store
        .insert_app(&with("c-3", 40_000, 40_001))
        .await
        .unwrap();
    assert_eq!(store.find_longest_signed_lifetime().await.unwrap(), 40_001);
    assert!(store.delete_app("c-3", NOW).await.unwrap());
    assert_eq!(store.find_longest_signed_lifetime().await.unwrap(), 900);
}

on_each_backend!(
    signing_keys_round_trip,
    signing_key_retirement,
    longest_signed_lifetime,
);
