//! Mailed links: a reset link works once, before it runs out, and ends everything the old
//! password opened; a confirmation link confirms the address once; a new reset link replaces the
//! earlier ones; of two racing uses exactly one succeeds.

use verity_core::email_link::Purpose;
use verity_store::Store;
use verity_store::email_tokens::EmailToken;
use verity_store::grants::TokenKind;

use crate::harness::{NOW, app, org, session, token, user};

fn link(hash: &str, purpose: Purpose, uuid: &str, expires_at: i64) -> EmailToken {
    EmailToken {
        token_hash: hash.into(),
        purpose,
        uuid: uuid.into(),
        email: format!("{uuid}@example.com"),
        created_at: NOW,
        expires_at,
        used_at: None,
    }
}

async fn a_reset_link_works_once_and_ends_every_session_and_token(store: &Store) {
    user(store, "u-1", "u-1@example.com").await;
    user(store, "u-2", "u-2@example.com").await;
    org(store, "org-1", "Org").await;
    app(store, "c-1", "org-1", "App").await;
    for (id, uuid) in [("s-1", "u-1"), ("s-2", "u-1"), ("s-3", "u-2")] {
        let s = session(id, &format!("sid-{id}"), uuid, NOW + 600);
        store.insert_session(&s).await.unwrap();
    }
    let refresh = token("rt-1", TokenKind::Refresh, "g-1", "c-1");
    let mut theirs = token("rt-2", TokenKind::Refresh, "g-2", "c-1");
    theirs.uuid = "u-2".into();
    store.insert_tokens(&[refresh, theirs]).await.unwrap();

    let reset = link("h-reset", Purpose::Reset, "u-1", NOW + 1800);
    store.insert_email_token(&reset).await.unwrap();
    let found = store.find_email_token("h-reset").await.unwrap().unwrap();
    assert_eq!(found, reset);
    // A confirmation is not a reset link.
    let confirm = link("h-confirm", Purpose::Confirm, "u-1", NOW + 86_400);
    store.insert_email_token(&confirm).await.unwrap();
    assert_eq!(
        store
            .take_reset_token("h-confirm", NOW, "new")
            .await
            .unwrap(),
        None
    );

    let taken = store.take_reset_token("h-reset", NOW + 10, "new-hash");
    assert_eq!(taken.await.unwrap().as_deref(), Some("u-1"));
    let u = store.find_user("u-1").await.unwrap().unwrap();
    assert_eq!(u.password_hash, "new-hash");
    assert_eq!(
        u.email_confirmed_at,
        Some(NOW + 10),
        "the link reached the address"
    );
    assert!(store.find_session("s-1", NOW).await.unwrap().is_none());
    assert!(store.find_session("s-2", NOW).await.unwrap().is_none());
    assert!(
        store.find_session("s-3", NOW).await.unwrap().is_some(),
        "someone else's"
    );
    let rt = store.find_token("rt-1").await.unwrap().unwrap();
    assert_eq!(rt.revoked_at, Some(NOW + 10));
    let other = store.find_token("rt-2").await.unwrap().unwrap();
    assert_eq!(other.revoked_at, None);
    let used = store.find_email_token("h-reset").await.unwrap().unwrap();
    assert_eq!(used.used_at, Some(NOW + 10));

    // Used: never again, and nothing changes.
    let again = store.take_reset_token("h-reset", NOW + 20, "other-hash");
    assert_eq!(again.await.unwrap(), None);
    let u = store.find_user("u-1").await.unwrap().unwrap();
    assert_eq!(u.password_hash, "new-hash");
    assert_eq!(
        store.take_reset_token("unknown", NOW, "x").await.unwrap(),
        None
    );
}

async fn a_late_or_replaced_reset_link_is_refused(store: &Store) {
    user(store, "u-1", "u-1@example.com").await;
    let late = link("h-late", Purpose::Reset, "u-1", NOW + 1800);
    store.insert_email_token(&late).await.unwrap();
    let at_expiry = store.take_reset_token("h-late", NOW + 1800, "x");
    assert_eq!(at_expiry.await.unwrap(), None, "it stops at expires_at");

    let first = link("h-first", Purpose::Reset, "u-1", NOW + 1800);
    store.insert_email_token(&first).await.unwrap();
    let newer = EmailToken {
        created_at: NOW + 5,
        ..link("h-newer", Purpose::Reset, "u-1", NOW + 1805)
    };
    store.insert_email_token(&newer).await.unwrap();
    let replaced = store.find_email_token("h-first").await.unwrap().unwrap();
    assert_eq!(replaced.used_at, Some(NOW + 5));
    assert_eq!(
        store
            .take_reset_token("h-first", NOW + 6, "x")
            .await
            .unwrap(),
        None
    );
    let taken = store
        .take_reset_token("h-newer", NOW + 6, "x")
        .await
        .unwrap();
    assert_eq!(taken.as_deref(), Some("u-1"));
    let u = store.find_user("u-1").await.unwrap().unwrap();
    assert_eq!(u.password_hash, "x");
}

async fn a_confirmation_link_confirms_once(store: &Store) {
    user(store, "u-1", "u-1@example.com").await;
    assert_eq!(
        store
            .find_user("u-1")
            .await
            .unwrap()
            .unwrap()
            .email_confirmed_at,
        None
    );
    let data = store.find_user_data("u-1").await.unwrap().unwrap();
    assert!(!data.email_confirmed);
    for h in ["h-1", "h-2"] {
        let c = link(h, Purpose::Confirm, "u-1", NOW + 86_400);
        store.insert_email_token(&c).await.unwrap();
    }
    assert_eq!(
        store.take_reset_token("h-1", NOW, "x").await.unwrap(),
        None,
        "a confirmation link resets nothing"
    );
    let taken = store.take_confirm_token("h-1", NOW + 1).await.unwrap();
    assert_eq!(taken.as_deref(), Some("u-1"));
    assert_eq!(
        store.take_confirm_token("h-1", NOW + 2).await.unwrap(),
        None
    );
    // A second link still works (the person may open an older mail) but keeps the first time.
    let taken = store.take_confirm_token("h-2", NOW + 3).await.unwrap();
    assert_eq!(taken.as_deref(), Some("u-1"));
    let u = store.find_user("u-1").await.unwrap().unwrap();
    assert_eq!(u.email_confirmed_at, Some(NOW + 1));
    let data = store.find_user_data("u-1").await.unwrap().unwrap();
    assert!(data.email_confirmed);
    // Confirming directly (an operator's account) keeps the first time too.
    assert!(!store.update_email_confirmed("u-1", NOW + 9).await.unwrap());
    user(store, "u-2", "u-2@example.com").await;
    assert!(store.update_email_confirmed("u-2", NOW + 9).await.unwrap());
}

async fn racing_uses_of_one_link_succeed_once(store: &Store) {
    user(store, "u-1", "u-1@example.com").await;
    let reset = link("h-race", Purpose::Reset, "u-1", NOW + 1800);
    store.insert_email_token(&reset).await.unwrap();
    let tries = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .take_reset_token("h-race", NOW + 1, &format!("hash-{i}"))
                .await
                .unwrap()
        })
    });
    let mut won = 0;
    for t in tries.collect::<Vec<_>>() {
        if t.await.unwrap().is_some() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
}

on_each_backend!(
    a_reset_link_works_once_and_ends_every_session_and_token,
    a_late_or_replaced_reset_link_is_refused,
    a_confirmation_link_confirms_once,
    racing_uses_of_one_link_succeed_once,
);
