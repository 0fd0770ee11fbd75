//! Releases (what each app received), a person's activity and sessions, and withdrawing an app.

use verity_store::Store;
use verity_store::grants::TokenKind;
use verity_store::releases::Release;

use crate::harness::{NOW, app, audit_event, code, org, session, token, user};

fn release(at: i64, client_id: &str, handles: &[&str]) -> Release {
    Release {
        at,
        uuid: "u-1".into(),
        client_id: client_id.into(),
        policies: vec!["openid".into(), "email".into()],
        handles: handles.iter().map(|h| (*h).to_owned()).collect(),
    }
}

/// A code and its release are stored together; releases come back field for field, newest
/// first, per person and per app; the apps used come with their first sign-in and last release.
async fn releases_are_recorded_with_their_code(store: &Store) {
    user(store, "u-1", "one@example.com").await;
    user(store, "u-2", "two@example.com").await;
    org(store, "o-1", "Org").await;
    app(store, "c-1", "o-1", "App One").await;
    app(store, "c-2", "o-1", "App Two").await;
    let r1 = release(NOW, "c-1", &["uuid", "email"]);
    let r2 = release(NOW + 10, "c-2", &[]);
    let r3 = release(NOW + 20, "c-1", &["uuid", "email", "fname"]);
    let other = Release {
        uuid: "u-2".into(),
        ..release(NOW + 30, "c-1", &["uuid"])
    };
    for (n, r) in [&r1, &r2, &r3, &other].into_iter().enumerate() {
        let c = code(&format!("code-{n}"), &r.client_id, &r.uuid);
        store.insert_code_with_release(&c, r).await.unwrap();
    }
    assert!(store.find_unused_code("code-0").await.unwrap().is_some());
    assert_eq!(
        store.find_releases("u-1", None, 10).await.unwrap(),
        [r3.clone(), r2.clone(), r1.clone()]
    );
    assert_eq!(
        store.find_releases("u-1", Some(NOW + 20), 1).await.unwrap(),
        std::slice::from_ref(&r2)
    );
    assert_eq!(
        store.find_app_releases("u-1", "c-1").await.unwrap(),
        [r3.clone(), r1.clone()]
    );
    let uses = store.find_app_uses("u-1").await.unwrap();
    assert_eq!(uses.len(), 2);
    assert_eq!(uses[0].name, "App One");
    assert_eq!(uses[0].first_at, NOW);
    assert_eq!(uses[0].last, r3);
    assert_eq!(uses[1].name, "App Two");
    assert_eq!(uses[1].first_at, NOW + 10);
    assert_eq!(uses[1].last, r2);
    assert!(store.find_app_uses("u-none").await.unwrap().is_empty());
    assert!(
        store
            .find_releases("u\0", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Activity merges the person's audit events of interest with their releases, newest first,
/// paged; another person's rows and other events stay out.
async fn activity_is_audit_and_releases_newest_first(store: &Store) {
    let signin = |at: i64, uuid: &str| verity_store::audit::AuditEvent {
        at,
        uuid: Some(uuid.into()),
        ..audit_event("signin.success")
    };
    store.insert_audit(&signin(NOW, "u-1")).await.unwrap();
    store.insert_audit(&signin(NOW + 5, "u-2")).await.unwrap();
    store
        .insert_audit(&verity_store::audit::AuditEvent {
            at: NOW + 6,
            ..audit_event("token.issued")
        })
        .await
        .unwrap();
    let r = release(NOW + 10, "c-1", &["uuid"]);
    store
        .insert_code_with_release(&code("code-1", "c-1", "u-1"), &r)
        .await
        .unwrap();
    let all = store.find_activity("u-1", 0, 10).await.unwrap();
    let events: Vec<(&str, i64)> = all.iter().map(|a| (a.event.as_str(), a.at)).collect();
    assert_eq!(events, [("release", NOW + 10), ("signin.success", NOW)]);
    assert_eq!(all[0].detail, serde_json::json!(["uuid"]));
    assert_eq!(all[0].client_id.as_deref(), Some("c-1"));
    let second = store.find_activity("u-1", 1, 1).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].event, "signin.success");
    assert!(store.find_activity("u-1", 2, 10).await.unwrap().is_empty());
}

/// Withdrawing an app forgets its consents and revokes its tokens for that person only; a
/// person's live sessions are listed.
async fn withdrawing_an_app_revokes_its_tokens(store: &Store) {
    user(store, "u-1", "one@example.com").await;
    org(store, "o-1", "Org").await;
    app(store, "c-1", "o-1", "App One").await;
    app(store, "c-2", "o-1", "App Two").await;
    store
        .insert_consent("u-1", "c-1", "openid email", NOW)
        .await
        .unwrap();
    let mine = token("t-1", TokenKind::Refresh, "g-1", "c-1");
    let other_app = token("t-2", TokenKind::Refresh, "g-2", "c-2");
    store.insert_tokens(&[mine, other_app]).await.unwrap();
    assert_eq!(store.revoke_app("u-1", "c-1", NOW).await.unwrap(), (1, 1));
    assert!(
        store
            .find_token("t-1")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert!(
        store
            .find_token("t-2")
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_none()
    );
    assert_eq!(store.revoke_app("u-1", "c-1", NOW).await.unwrap(), (0, 0));

    store
        .insert_session(&session("s-1", "sid-1", "u-1", NOW + 100))
        .await
        .unwrap();
    store
        .insert_session(&session("s-2", "sid-2", "u-1", NOW - 1))
        .await
        .unwrap();
    let live = store.find_user_sessions("u-1", NOW).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].sid, "sid-1");
}

on_each_backend!(
    releases_are_recorded_with_their_code,
    activity_is_audit_and_releases_newest_first,
    withdrawing_an_app_revokes_its_tokens
);
