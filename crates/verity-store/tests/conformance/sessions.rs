//! Browser sessions, interactions in progress and remembered consent.

use verity_core::authorize::{AuthorizeRequest, Op, Prompt};
use verity_core::grant;
use verity_core::redirect::RedirectUri;
use verity_core::scope::ScopeSet;
use verity_store::Store;
use verity_store::grants::TakeCode;
use verity_store::sessions::{Interaction, Session};

use crate::harness::{NOW, app, interaction, org, session, user};

/// A session comes back field for field while live, and not at or after its expiry; passing the
/// second factor sets `mfa`; a deleted session is gone.
async fn session_lifecycle(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    let s = session("id-hash-1", "sid-1", "u-1", NOW + 3600);
    store.insert_session(&s).await.unwrap();
    assert_eq!(
        store.find_session("id-hash-1", NOW).await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(
        store.find_session("id-hash-1", NOW + 3599).await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(
        store.find_session("id-hash-1", NOW + 3600).await.unwrap(),
        None
    );
    assert_eq!(store.find_session("id-hash-2", NOW).await.unwrap(), None);

    store.update_session_mfa("id-hash-1", None).await.unwrap();
    let found = store.find_session("id-hash-1", NOW).await.unwrap().unwrap();
    assert!(found.mfa);
    assert_eq!(found.passkey, None);
    let key = verity_core::authn::KeyUse {
        hardware: true,
        with_password: true,
    };
    store
        .update_session_mfa("id-hash-1", Some(key))
        .await
        .unwrap();
    let found = store.find_session("id-hash-1", NOW).await.unwrap().unwrap();
    assert_eq!(found.passkey, Some(key));
    assert_eq!(found.sid, "sid-1");

    let with_mfa = Session {
        mfa: true,
        ..session("id-hash-2", "sid-2", "u-1", NOW + 60)
    };
    store.insert_session(&with_mfa).await.unwrap();
    assert_eq!(
        store.find_session("id-hash-2", NOW).await.unwrap(),
        Some(with_mfa.clone())
    );

    store.delete_session("id-hash-1").await.unwrap();
    assert_eq!(store.find_session("id-hash-1", NOW).await.unwrap(), None);
    store.delete_session("id-hash-1").await.unwrap();
    assert_eq!(
        store.find_session("id-hash-2", NOW).await.unwrap(),
        Some(with_mfa),
        "the other session stays"
    );
}

/// An interaction comes back field for field while live; `update_interaction` saves the progress
/// (user and flags) and nothing else; `take_interaction` ends it exactly once.
async fn interaction_lifecycle(store: &Store) {
    let i = interaction("i-1", "c-1", NOW + 600);
    store.insert_interaction(&i).await.unwrap();
    assert_eq!(
        store.find_interaction("i-1", NOW).await.unwrap(),
        Some(i.clone())
    );
    assert_eq!(
        store.find_interaction("i-1", NOW + 600).await.unwrap(),
        None
    );
    assert_eq!(store.find_interaction("i-2", NOW).await.unwrap(), None);

    let progressed = Interaction {
        uuid: Some("u-1".into()),
        signed_in_here: true,
        verification_answered: true,
        consented: true,
        // Not progress: never changed by an update.
        request: "{}".into(),
        csrf_token: "other".into(),
        expires_at: NOW + 1,
        ..i.clone()
    };
    store.update_interaction(&progressed).await.unwrap();
    assert_eq!(
        store.find_interaction("i-1", NOW).await.unwrap(),
        Some(Interaction {
            uuid: Some("u-1".into()),
            signed_in_here: true,
            verification_answered: true,
            consented: true,
            ..i.clone()
        })
    );

    // And back to false and NULL.
    store.update_interaction(&i).await.unwrap();
    assert_eq!(store.find_interaction("i-1", NOW).await.unwrap(), Some(i));

    assert!(store.take_interaction("i-1").await.unwrap());
    assert!(!store.take_interaction("i-1").await.unwrap());
    assert!(!store.take_interaction("i-none").await.unwrap());
    assert_eq!(store.find_interaction("i-1", NOW).await.unwrap(), None);
}

/// Remembered consent: recording a scope set twice keeps one (the first time); each user and app
/// has its own; the account page lists them with the app's name, by name; forgetting an app's
/// consents says how many went.
async fn consents(store: &Store) {
    org(store, "o-1", "Org").await;
    app(store, "c-b", "o-1", "Bravo").await;
    app(store, "c-a", "o-1", "Alpha").await;
    user(store, "u-1", "alice@example.com").await;
    user(store, "u-2", "bob@example.com").await;

    store
        .insert_consent("u-1", "c-b", "email openid", NOW)
        .await
        .unwrap();
    store
        .insert_consent("u-1", "c-b", "email openid", NOW + 5)
        .await
        .unwrap();
    store
        .insert_consent("u-1", "c-b", "openid", NOW + 1)
        .await
        .unwrap();
    store
        .insert_consent("u-1", "c-a", "openid profile", NOW + 2)
        .await
        .unwrap();
    store
        .insert_consent("u-2", "c-b", "openid", NOW + 3)
        .await
        .unwrap();

    let mut found = store.find_consents("u-1", "c-b").await.unwrap();
    found.sort();
    assert_eq!(found, vec!["email openid".to_owned(), "openid".to_owned()]);
    assert_eq!(
        store.find_consents("u-2", "c-b").await.unwrap(),
        vec!["openid".to_owned()]
    );
    assert!(store.find_consents("u-2", "c-a").await.unwrap().is_empty());

    let row = |c: &str, n: &str, s: &str, at: i64| (c.to_owned(), n.to_owned(), s.to_owned(), at);
    assert_eq!(
        store.find_user_consents("u-1").await.unwrap(),
        vec![
            row("c-a", "Alpha", "openid profile", NOW + 2),
            row("c-b", "Bravo", "email openid", NOW),
            row("c-b", "Bravo", "openid", NOW + 1),
        ]
    );
    assert!(store.find_user_consents("u-none").await.unwrap().is_empty());

    assert_eq!(store.delete_consents("u-1", "c-b").await.unwrap(), 2);
    assert_eq!(store.delete_consents("u-1", "c-b").await.unwrap(), 0);
    assert!(store.find_consents("u-1", "c-b").await.unwrap().is_empty());
    assert_eq!(
        store.find_consents("u-2", "c-b").await.unwrap(),
        vec!["openid".to_owned()],
        "another user's consent stays"
    );
    assert_eq!(store.find_user_consents("u-1").await.unwrap().len(), 1);
}

/// Single sign-on's one read: a live session with its account, the account's claims data and
/// the scope sets it consented to for the app asked about (not another app's, not another
/// user's); nothing for an expired or unknown session (a session's account cannot be deleted
/// from under it: the foreign key removes the session with it).
async fn signed_in_at_once(store: &Store) {
    org(store, "o-1", "Org").await;
    app(store, "c-a", "o-1", "Alpha").await;
    app(store, "c-b", "o-1", "Bravo").await;
    let alice = user(store, "u-1", "alice@example.com").await;
    user(store, "u-2", "bob@example.com").await;
    let s = session("id-hash-1", "sid-1", "u-1", NOW + 3600);
    store.insert_session(&s).await.unwrap();
    for (uuid, client, scopes) in [
        ("u-1", "c-a", "openid"),
        ("u-1", "c-a", "email openid"),
        ("u-1", "c-b", "openid profile"),
        ("u-2", "c-a", "openid phone"),
    ] {
        store
            .insert_consent(uuid, client, scopes, NOW)
            .await
            .unwrap();
    }

    let found = store
        .find_signed_in("id-hash-1", NOW, "c-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.session, s);
    assert_eq!(found.user.email, alice.email);
    assert_eq!(found.user.password_hash, alice.password_hash);
    assert_eq!(found.data.uuid, "u-1");
    assert_eq!(
        found.data,
        store.find_user_data("u-1").await.unwrap().unwrap()
    );
    let mut consents = found.consents;
    consents.sort();
    assert_eq!(consents, vec!["email openid", "openid"]);

    let other_app = store
        .find_signed_in("id-hash-1", NOW, "c-b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other_app.consents, vec!["openid profile"]);
    let none_given = store
        .find_signed_in("id-hash-1", NOW, "c-none")
        .await
        .unwrap()
        .unwrap();
    assert!(none_given.consents.is_empty());

    assert!(
        store
            .find_signed_in("id-hash-1", NOW + 3600, "c-a")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_signed_in("id-hash-none", NOW, "c-a")
            .await
            .unwrap()
            .is_none()
    );
}

/// A code issued in a session (`verity_core::grant::issue` with the session's sign-in) carries
/// the session's account, authentication time, second factor and `sid`, and comes back field
/// for field when taken.
async fn code_issued_in_a_session(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    let live = Session {
        mfa: true,
        ..session("id-hash-1", "sid-1", "u-1", NOW + 3600)
    };
    store.insert_session(&live).await.unwrap();
    let signed_in = store
        .find_signed_in("id-hash-1", NOW, "c-a")
        .await
        .unwrap()
        .unwrap();
    let request = AuthorizeRequest {
        client_id: "c-a".into(),
        response_mode: Default::default(),
        redirect_uri: RedirectUri::registered(&[CALLBACK.to_owned()], CALLBACK).unwrap(),
        scope: ScopeSet::parse("openid email").unwrap(),
        state: None,
        nonce: Some("n-1".into()),
        code_challenge: None,
        prompt: Prompt::default(),
        max_age: None,
        login_hint: None,
        op: Op::default(),
        eid: None,
        claims: None,
        dpop_jkt: None,
        acr: None,
    };
    let code = grant::issue(
        &request,
        signed_in.session.sign_in(),
        "code-1".into(),
        NOW,
        300,
    );
    assert_eq!(
        (
            code.uuid.as_str(),
            code.auth_time,
            code.mfa,
            code.sid.as_deref()
        ),
        ("u-1", live.auth_time, true, Some("sid-1"))
    );
    store.insert_code(&code).await.unwrap();
    assert_eq!(
        store.take_code("code-1", NOW + 1).await.unwrap(),
        TakeCode::Fresh(code, Some(signed_in.data))
    );
}

const CALLBACK: &str = "https://rp.example/callback";

on_each_backend!(
    code_issued_in_a_session,
    session_lifecycle,
    interaction_lifecycle,
    consents,
    signed_in_at_once
);
