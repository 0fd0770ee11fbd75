//! Pushed authorization requests (RFC 9126): kept by digest, taken once, gone with their app,
//! purged when expired.

use verity_store::Store;
use verity_store::pushed::PushedRequest;

use crate::harness::{NOW, app, org};

fn pushed(hash: &str, expires_at: i64) -> PushedRequest {
    PushedRequest {
        reference_hash: hash.into(),
        client_id: "c-1".into(),
        params: vec![
            ("response_type".into(), "code".into()),
            ("scope".into(), "openid military".into()),
            ("state".into(), "s é \"quoted\"".into()),
        ],
        expires_at,
    }
}

async fn with_app(store: &Store) {
    org(store, "o-1", "Org").await;
    app(store, "c-1", "o-1", "App").await;
}

/// A pushed request is answered as pushed, once; then it is unknown. An expired one is answered
/// with its expiry (the caller refuses it), and a key with a NUL finds nothing.
async fn taken_once_as_pushed(store: &Store) {
    with_app(store).await;
    store.push_request(&pushed("p-1", NOW + 60)).await.unwrap();
    store.push_request(&pushed("p-old", NOW - 1)).await.unwrap();
    assert_eq!(
        store.take_pushed_request("p-1").await.unwrap(),
        Some(pushed("p-1", NOW + 60))
    );
    assert_eq!(store.take_pushed_request("p-1").await.unwrap(), None);
    assert_eq!(
        store
            .take_pushed_request("p-old")
            .await
            .unwrap()
            .map(|p| p.expires_at),
        Some(NOW - 1)
    );
    assert_eq!(store.take_pushed_request("nope").await.unwrap(), None);
    assert_eq!(store.take_pushed_request("p\0").await.unwrap(), None);
}

/// Deleting the app deletes its pushed requests; the purge removes expired ones only.
async fn gone_with_the_app_and_purged_when_expired(store: &Store) {
    with_app(store).await;
    store
        .push_request(&pushed("p-app", NOW + 60))
        .await
        .unwrap();
    assert!(store.delete_app("c-1", NOW).await.unwrap());
    assert_eq!(store.take_pushed_request("p-app").await.unwrap(), None);

    app(store, "c-1", "o-1", "App again").await;
    store.push_request(&pushed("p-old", NOW - 1)).await.unwrap();
    store.push_request(&pushed("p-live", NOW)).await.unwrap();
    let purged = store.purge_expired(NOW, 0).await.unwrap();
    assert_eq!(purged.pushed_requests, 1);
    assert_eq!(store.take_pushed_request("p-old").await.unwrap(), None);
    assert!(store.take_pushed_request("p-live").await.unwrap().is_some());
}

on_each_backend!(
    taken_once_as_pushed,
    gone_with_the_app_and_purged_when_expired
);
