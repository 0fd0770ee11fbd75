//! Authorization codes and the tokens issued from them.

use verity_store::Store;
use verity_store::audit::AuditEvent;
use verity_store::grants::{Code, CodePresentation, Issued, TakeCode, Token, TokenKind};
use verity_store::lifecycle::Rotate;

use verity_store::users::VerificationRecord;

use crate::harness::{NOW, audit_event, audit_names, code, token, user};

/// A code is taken once: `Fresh` with every field as stored, then `Replayed` (and marked as
/// replayed) on every later presentation; an unknown code is `Unknown` and never marked.
async fn take_code_once(store: &Store) {
    let full = code("code-1", "c-1", "u-1");
    let bare = Code {
        nonce: None,
        code_challenge: None,
        mfa: false,
        eid: None,
        sid: None,
        scopes: vec![],
        ..code("code-2", "c-1", "u-1")
    };
    store.insert_code(&full).await.unwrap();
    store.insert_code(&bare).await.unwrap();

    assert!(!store.find_code_replayed("code-1").await.unwrap());
    assert_eq!(
        store.take_code("code-1", NOW + 1).await.unwrap(),
        TakeCode::Fresh(full.clone())
    );
    assert!(!store.find_code_replayed("code-1").await.unwrap());
    assert_eq!(
        store.take_code("code-1", NOW + 2).await.unwrap(),
        TakeCode::Replayed(full.clone())
    );
    assert!(store.find_code_replayed("code-1").await.unwrap());
    assert_eq!(
        store.take_code("code-1", NOW + 3).await.unwrap(),
        TakeCode::Replayed(full)
    );

    // Expiry is the caller's decision: a code past its expiry is still taken once.
    assert_eq!(
        store.take_code("code-2", NOW + 10_000).await.unwrap(),
        TakeCode::Fresh(bare.clone())
    );
    assert_eq!(
        store.take_code("code-2", NOW + 10_001).await.unwrap(),
        TakeCode::Replayed(bare)
    );

    assert_eq!(
        store.take_code("code-none", NOW).await.unwrap(),
        TakeCode::Unknown
    );
    assert!(!store.find_code_replayed("code-none").await.unwrap());
}

/// Tokens come back field for field (kind, JSON scopes, NULLs, i64 times); the tokens of one
/// issuance are stored all or none.
async fn tokens_round_trip(store: &Store) {
    let access = token("at-1", TokenKind::Access, "grant-1", "c-1");
    let refresh = Token {
        mfa: true,
        eid: Some("eid-1".into()),
        sid: None,
        parent_hash: Some("rt-0".into()),
        used_at: Some(NOW + 1),
        revoked_at: Some(NOW + 2),
        scopes: vec![],
        ..token("rt-1", TokenKind::Refresh, "grant-1", "c-1")
    };
    store
        .insert_tokens(&[access.clone(), refresh.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.find_token("at-1").await.unwrap(),
        Some(access.clone())
    );
    assert_eq!(store.find_token("rt-1").await.unwrap(), Some(refresh));
    assert_eq!(store.find_token("at-none").await.unwrap(), None);
    store.insert_tokens(&[]).await.unwrap();

    // One duplicate in a batch: the batch fails and its other tokens are not stored.
    let fresh = token("at-2", TokenKind::Access, "grant-2", "c-1");
    let dup = Token {
        client_id: "c-2".into(),
        ..access.clone()
    };
    store.insert_tokens(&[fresh, dup]).await.unwrap_err();
    assert_eq!(store.find_token("at-2").await.unwrap(), None);
    assert_eq!(store.find_token("at-1").await.unwrap(), Some(access));
}

/// Revoking a grant revokes each of its live tokens (saying how many), leaves an earlier
/// revocation's time alone and other grants untouched; a second revocation finds nothing to do.
async fn revoke_grant_revokes_the_family(store: &Store) {
    let earlier = Token {
        revoked_at: Some(NOW - 5),
        ..token("at-0", TokenKind::Access, "grant-1", "c-1")
    };
    store
        .insert_tokens(&[
            token("at-1", TokenKind::Access, "grant-1", "c-1"),
            token("rt-1", TokenKind::Refresh, "grant-1", "c-1"),
            earlier,
            token("at-2", TokenKind::Access, "grant-2", "c-1"),
        ])
        .await
        .unwrap();
    assert_eq!(store.count_live_tokens("grant-1", NOW).await.unwrap(), 2);

    assert_eq!(store.revoke_grant("grant-1", NOW + 7).await.unwrap(), 2);
    assert_eq!(store.revoke_grant("grant-1", NOW + 8).await.unwrap(), 0);
    assert_eq!(store.revoke_grant("grant-none", NOW).await.unwrap(), 0);
    for (hash, at) in [("at-1", NOW + 7), ("rt-1", NOW + 7), ("at-0", NOW - 5)] {
        let t = store.find_token(hash).await.unwrap().unwrap();
        assert_eq!(t.revoked_at, Some(at), "{hash}");
    }
    assert_eq!(store.count_live_tokens("grant-1", NOW).await.unwrap(), 0);
    let other = store.find_token("at-2").await.unwrap().unwrap();
    assert_eq!(other.revoked_at, None);
    assert_eq!(store.count_live_tokens("grant-2", NOW).await.unwrap(), 1);
}

/// The apps that hold tokens from a session: each once, sorted; none for another session.
async fn session_clients(store: &Store) {
    let mut tokens = vec![];
    for (hash, client, sid) in [
        ("t-1", "c-b", Some("sid-1")),
        ("t-2", "c-a", Some("sid-1")),
        ("t-3", "c-b", Some("sid-1")),
        ("t-4", "c-c", Some("sid-2")),
        ("t-5", "c-d", None),
    ] {
        tokens.push(Token {
            sid: sid.map(str::to_owned),
            ..token(hash, TokenKind::Access, hash, client)
        });
    }
    store.insert_tokens(&tokens).await.unwrap();
    assert_eq!(
        store.find_session_clients("sid-1").await.unwrap(),
        vec!["c-a".to_owned(), "c-b".to_owned()]
    );
    assert_eq!(
        store.find_session_clients("sid-2").await.unwrap(),
        vec!["c-c".to_owned()]
    );
    assert!(
        store
            .find_session_clients("sid-3")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Tokens stored with the audit row that records them (a code's redemption, a rotation): both
/// or neither.
async fn tokens_with_their_audit_row(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    for grant in ["grant-1", "grant-2"] {
        store.insert_code(&code(grant, "c-1", "u-1")).await.unwrap();
    }
    let c = code("grant-1", "c-1", "u-1");
    let issued = Issued {
        access: ("at-1", NOW + 3600),
        refresh: None,
        created_at: NOW,
    };
    assert!(
        store
            .redeem_presented("grant-1", &right(&c), &issued, &audit_event("token.issued"))
            .await
            .unwrap()
            .is_some()
    );
    let access = issued.rows(&c).remove(0);
    assert_eq!(
        store.find_token("at-1").await.unwrap(),
        Some(access.clone())
    );
    assert_eq!(
        store.find_audit(Some("c-1"), None, 10).await.unwrap(),
        vec![audit_event("token.issued")]
    );

    // A batch that fails (a duplicate token) leaves no audit row either.
    let duplicate = Issued {
        access: ("at-2", NOW + 3600),
        refresh: Some(("at-1", NOW + 3600)),
        created_at: NOW,
    };
    let again = code("grant-2", "c-1", "u-1");
    store
        .redeem_presented(
            "grant-2",
            &right(&again),
            &duplicate,
            &audit_event("token.again"),
        )
        .await
        .unwrap_err();
    assert_eq!(store.find_token("at-2").await.unwrap(), None);
    assert_eq!(
        store.find_audit(Some("c-1"), None, 10).await.unwrap().len(),
        1
    );

    // Rotation: the row is written when the token rotates, not when it is reused.
    store
        .insert_tokens(&[token("rt-1", TokenKind::Refresh, "grant-3", "c-1")])
        .await
        .unwrap();
    let rotate = |hash: &'static str| {
        let e = audit_event("token.refreshed");
        async move {
            store
                .rotate_refresh_token_with_retry(
                    hash,
                    NOW + 1,
                    None,
                    Some(&e),
                    &[Token {
                        parent_hash: Some(hash.to_owned()),
                        ..token("rt-2", TokenKind::Refresh, "grant-3", "c-1")
                    }],
                )
                .await
                .unwrap()
        }
    };
    assert!(matches!(rotate("rt-1").await, Rotate::Rotated(_)));
    assert!(matches!(rotate("rt-1").await, Rotate::Reused(_)));
    assert_eq!(
        audit_names(store, "c-1").await,
        vec!["token.refreshed", "token.issued"]
    );
}

/// Redemption consumes a code together with storing the tokens and their audit row: once. A
/// second redemption, or one of an unknown code, writes nothing; a batch that fails leaves the
/// code unconsumed. The token endpoint reads a code with its account without consuming it.
async fn redeem_code_once(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    store
        .upsert_verification(
            "u-1",
            &VerificationRecord {
                group: "identity".into(),
                verified: true,
                subgroups: vec![],
                method: "document".into(),
                decided_by: "admin@example.com".into(),
                decided_at: NOW,
            },
        )
        .await
        .unwrap();
    let c = code("code-1", "c-1", "u-1");
    store.insert_code(&c).await.unwrap();
    store
        .insert_code(&code("code-orphan", "c-1", "u-none"))
        .await
        .unwrap();

    let found = store.find_code_and_user("code-1").await.unwrap().unwrap();
    assert_eq!(found.code, c);
    assert!(!found.used);
    assert_eq!(found.user, store.find_user_data("u-1").await.unwrap());
    assert!(found.user.unwrap().is_verified("identity"));
    let orphan = store
        .find_code_and_user("code-orphan")
        .await
        .unwrap()
        .unwrap();
    assert!(orphan.user.is_none());
    assert!(
        store
            .find_code_and_user("code-none")
            .await
            .unwrap()
            .is_none()
    );

    // A failing batch (a token that exists already) rolls the consumption back.
    let existing = token("at-0", TokenKind::Access, "grant-0", "c-1");
    store
        .insert_tokens(std::slice::from_ref(&existing))
        .await
        .unwrap();
    let failing = Issued {
        access: ("at-1", NOW + 3600),
        refresh: Some(("at-0", NOW + 3600)),
        created_at: NOW + 1,
    };
    store
        .redeem_presented("code-1", &right(&c), &failing, &audit_event("x"))
        .await
        .unwrap_err();
    assert!(
        !store
            .find_code_and_user("code-1")
            .await
            .unwrap()
            .unwrap()
            .used
    );
    assert_eq!(store.find_token("at-1").await.unwrap(), None);

    let issued = Issued {
        access: ("at-1", NOW + 3600),
        refresh: Some(("rt-1", NOW + 7200)),
        created_at: NOW + 1,
    };
    assert!(
        store
            .redeem_presented("code-1", &right(&c), &issued, &audit_event("token.issued"))
            .await
            .unwrap()
            .is_some()
    );
    let rows = issued.rows(&c);
    assert_eq!(
        store.find_token("at-1").await.unwrap().as_ref(),
        Some(&rows[0])
    );
    assert_eq!(
        store.find_token("rt-1").await.unwrap().as_ref(),
        Some(&rows[1])
    );
    assert_eq!(
        store.find_audit(Some("c-1"), None, 10).await.unwrap(),
        vec![audit_event("token.issued")]
    );
    assert!(
        store
            .find_code_and_user("code-1")
            .await
            .unwrap()
            .unwrap()
            .used
    );

    // Once only: the second redemption and an unknown code write nothing.
    let again = Issued {
        access: ("at-2", NOW + 3600),
        refresh: None,
        created_at: NOW + 2,
    };
    for hash in ["code-1", "code-none"] {
        assert!(
            store
                .redeem_presented(hash, &right(&c), &again, &audit_event("again"))
                .await
                .unwrap()
                .is_none()
        );
    }
    assert_eq!(store.find_token("at-2").await.unwrap(), None);
    assert_eq!(
        store.find_audit(Some("c-1"), None, 10).await.unwrap().len(),
        1
    );
    // The consumed code is a replay for `take_code`.
    assert!(matches!(
        store.take_code("code-1", NOW + 3).await.unwrap(),
        TakeCode::Replayed(_)
    ));
}

/// The presentation that redeems `c` (at [`NOW`] + 1).
fn right(c: &Code) -> CodePresentation<'_> {
    CodePresentation {
        client_id: &c.client_id,
        redirect_uri: &c.redirect_uri,
        challenge: c.code_challenge.as_deref(),
        now: NOW + 1,
    }
}

/// A presented code is redeemed in one step only when every check holds (client, redirect URI,
/// the verifier's challenge or none, expiry, the account); any other presentation writes
/// nothing and leaves the code unused. The one that holds consumes it, stores the tokens with
/// the code's grant and the audit row with the code's account, and answers the code with the
/// account's claims data: once.
async fn redeem_presented_checks_the_presentation(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    let c = code("code-1", "c-1", "u-1");
    let plain = Code {
        code_challenge: None,
        ..code("code-2", "c-1", "u-1")
    };
    for stored in [&c, &plain, &code("code-orphan", "c-1", "u-none")] {
        store.insert_code(stored).await.unwrap();
    }
    let right = right(&c);
    let issued = Issued {
        access: ("at-1", NOW + 301),
        refresh: Some(("rt-1", NOW + 3601)),
        created_at: NOW + 1,
    };
    let audit = AuditEvent {
        uuid: None,
        ..audit_event("token.issued")
    };
    let wrong = [
        ("code-none", right),
        ("code-orphan", right),
        (
            "code-1",
            CodePresentation {
                client_id: "c-2",
                ..right
            },
        ),
        (
            "code-1",
            CodePresentation {
                redirect_uri: "https://rp.example/other",
                ..right
            },
        ),
        (
            "code-1",
            CodePresentation {
                challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cX"),
                ..right
            },
        ),
        (
            "code-1",
            CodePresentation {
                challenge: None,
                ..right
            },
        ),
        (
            "code-1",
            CodePresentation {
                now: c.expires_at,
                ..right
            },
        ),
        ("code-2", right),
        // Not storable (PostgreSQL refuses NUL in text): refused without a database error.
        (
            "code-1",
            CodePresentation {
                redirect_uri: "https://rp.example/callback\0",
                ..right
            },
        ),
        (
            "code-1",
            CodePresentation {
                client_id: "c-1\0",
                ..right
            },
        ),
    ];
    for (hash, presented) in wrong {
        let answer = store
            .redeem_presented(hash, &presented, &issued, &audit)
            .await
            .unwrap();
        assert!(answer.is_none(), "{hash} {presented:?}");
    }
    for hash in ["code-1", "code-2", "code-orphan"] {
        assert!(
            !store.find_code_and_user(hash).await.unwrap().unwrap().used,
            "{hash}"
        );
    }
    assert_eq!(store.find_token("at-1").await.unwrap(), None);
    assert!(audit_names(store, "c-1").await.is_empty());

    let (redeemed, data) = store
        .redeem_presented("code-1", &right, &issued, &audit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(redeemed, c);
    assert_eq!(Some(data), store.find_user_data("u-1").await.unwrap());
    let rows = issued.rows(&c);
    assert_eq!(rows.len(), 2);
    for t in &rows {
        assert_eq!(t.grant_id, "code-1");
        assert_eq!((t.uuid.as_str(), t.sid.as_deref()), ("u-1", Some("sid-1")));
        assert_eq!(
            store.find_token(&t.token_hash).await.unwrap().as_ref(),
            Some(t)
        );
    }
    assert_eq!(rows[1].kind, TokenKind::Refresh);
    assert_eq!(rows[1].expires_at, NOW + 3601);
    assert_eq!(
        store.find_audit(Some("c-1"), None, 10).await.unwrap(),
        vec![audit_event("token.issued")]
    );
    assert!(
        store
            .find_code_and_user("code-1")
            .await
            .unwrap()
            .unwrap()
            .used
    );

    // Once only.
    let again = Issued {
        access: ("at-2", NOW + 302),
        refresh: None,
        created_at: NOW + 2,
    };
    assert!(
        store
            .redeem_presented("code-1", &right, &again, &audit)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.find_token("at-2").await.unwrap(), None);

    // A code issued without a challenge is redeemed without a verifier, and only without one.
    let plain_right = CodePresentation {
        challenge: None,
        ..right
    };
    let (redeemed, _) = store
        .redeem_presented("code-2", &plain_right, &again, &audit)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(redeemed, plain);
    assert_eq!(
        store.find_token("at-2").await.unwrap(),
        Some(again.rows(&plain)[0].clone())
    );
}

/// A token read with its account's claims data; `None` for the data once the account is gone.
async fn token_and_user_at_once(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    let mine = token("at-1", TokenKind::Access, "grant-1", "c-1");
    let orphan = Token {
        uuid: "u-none".into(),
        ..token("at-2", TokenKind::Access, "grant-2", "c-1")
    };
    store
        .insert_tokens(&[mine.clone(), orphan.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.find_token_and_user("at-1").await.unwrap(),
        Some((mine, store.find_user_data("u-1").await.unwrap()))
    );
    assert_eq!(
        store.find_token_and_user("at-2").await.unwrap(),
        Some((orphan, None))
    );
    assert_eq!(store.find_token_and_user("at-none").await.unwrap(), None);
}

on_each_backend!(
    redeem_code_once,
    redeem_presented_checks_the_presentation,
    token_and_user_at_once,
    tokens_with_their_audit_row,
    take_code_once,
    tokens_round_trip,
    revoke_grant_revokes_the_family,
    session_clients,
);
