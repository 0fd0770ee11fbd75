//! Passkeys: registered once across accounts, listed per person, their use recorded only over
//! the credential it was checked against, removed by their holder only; ceremonies kept per
//! binding and purpose, taken once, purged when expired, and gone with the account.

use verity_store::Store;
use verity_store::StoreError;
use verity_store::passkeys::{Challenge, StoredPasskey};

use crate::harness::{NOW, user};

fn passkey(id: &str, uuid: &str, created_at: i64) -> StoredPasskey {
    StoredPasskey {
        credential_id: id.into(),
        uuid: uuid.into(),
        name: format!("Key {id}"),
        credential: format!("{{\"counter\":1,\"id\":\"{id}\"}}"),
        hardware: id.ends_with('h'),
        created_at,
        last_used_at: None,
    }
}

fn challenge(binding: &str, purpose: &str, state: &str, expires_at: i64) -> Challenge {
    Challenge {
        binding: binding.into(),
        purpose: purpose.into(),
        uuid: Some("u-1".into()),
        state: state.into(),
        expires_at,
    }
}

async fn registered_listed_used_and_removed(store: &Store) {
    user(store, "u-1", "one@example.com").await;
    user(store, "u-2", "two@example.com").await;
    store
        .insert_passkey(&passkey("k-2h", "u-1", NOW))
        .await
        .unwrap();
    store
        .insert_passkey(&passkey("k-1", "u-1", NOW - 5))
        .await
        .unwrap();
    // The same credential cannot be registered twice, to this account or another.
    let again = store.insert_passkey(&passkey("k-1", "u-2", NOW)).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");

    let mine = store.find_passkeys("u-1").await.unwrap();
    let ids: Vec<&str> = mine.iter().map(|p| p.credential_id.as_str()).collect();
    assert_eq!(ids, ["k-1", "k-2h"]);
    assert!(mine[1].hardware && !mine[0].hardware);
    assert!(store.find_passkeys("u-2").await.unwrap().is_empty());
    assert_eq!(
        store.find_passkey("k-2h").await.unwrap(),
        Some(passkey("k-2h", "u-1", NOW))
    );
    assert_eq!(store.find_passkey("k-\0").await.unwrap(), None);

    // A use is recorded over the credential it was checked against, not over a newer one.
    let old = passkey("k-1", "u-1", NOW - 5).credential;
    assert!(
        store
            .record_passkey_use("k-1", &old, "{\"counter\":2}", NOW + 1)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_passkey_use("k-1", &old, "{\"counter\":3}", NOW + 2)
            .await
            .unwrap()
    );
    let used = store.find_passkey("k-1").await.unwrap().unwrap();
    assert_eq!(used.credential, "{\"counter\":2}");
    assert_eq!(used.last_used_at, Some(NOW + 1));

    // Only its holder removes it.
    assert!(!store.delete_passkey("u-2", "k-1").await.unwrap());
    assert!(store.delete_passkey("u-1", "k-1").await.unwrap());
    assert!(!store.delete_passkey("u-1", "k-1").await.unwrap());
    assert_eq!(store.find_passkeys("u-1").await.unwrap().len(), 1);
}

async fn ceremonies_are_taken_once_and_replaced_by_newer(store: &Store) {
    let first = challenge("ix-1", "signin", "{\"a\":1}", NOW + 300);
    store.put_passkey_challenge(&first).await.unwrap();
    // A newer ceremony for the same binding and purpose replaces the older.
    let newer = challenge("ix-1", "signin", "{\"a\":2}", NOW + 400);
    store.put_passkey_challenge(&newer).await.unwrap();
    let other = challenge("ix-1", "second_factor", "{\"b\":1}", NOW + 300);
    store.put_passkey_challenge(&other).await.unwrap();
    assert_eq!(
        store
            .take_passkey_challenge("ix-1", "signin")
            .await
            .unwrap(),
        Some(newer)
    );
    assert_eq!(
        store
            .take_passkey_challenge("ix-1", "signin")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_passkey_challenge("ix-1", "second_factor")
            .await
            .unwrap(),
        Some(other)
    );
    assert_eq!(
        store
            .take_passkey_challenge("ix-\0", "signin")
            .await
            .unwrap(),
        None
    );

    let stale = challenge("ix-2", "signin", "{}", NOW - 1);
    store.put_passkey_challenge(&stale).await.unwrap();
    let purged = store.purge_expired(NOW, 0).await.unwrap();
    assert_eq!(purged.passkey_challenges, 1);
    assert_eq!(
        store
            .take_passkey_challenge("ix-2", "signin")
            .await
            .unwrap(),
        None
    );
}

on_each_backend!(
    registered_listed_used_and_removed,
    ceremonies_are_taken_once_and_replaced_by_newer
);
