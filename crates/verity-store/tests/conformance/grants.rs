//! Authorization codes and the tokens issued from them.

use verity_core::grant::Code;
use verity_store::Store;
use verity_store::grants::{Issue, Issued, Redeemed, TakeCode, Token, TokenKind};
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
        TakeCode::Fresh(full.clone(), None)
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
        TakeCode::Fresh(bare.clone(), None)
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

/// `redeem_code` runs its decision once, on the code as stored and its account's data, and stores
/// what the decision asks (tokens with their audit row) or nothing; either way the code is
/// consumed, and every later presentation is a replay.
async fn redeem_code_decides_once(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    let stored = code("code-1", "c-1", "u-1");
    store.insert_code(&stored).await.unwrap();
    store
        .insert_code(&code("code-2", "c-1", "u-1"))
        .await
        .unwrap();
    let data = store.find_user_data("u-1").await.unwrap();

    let access = token("at-1", TokenKind::Access, "code-1", "c-1");
    let mut seen = None;
    let redeemed = store
        .redeem_code("code-1", NOW + 1, |code, user| {
            seen = Some((code, user));
            let issue = Issue {
                tokens: vec![access.clone()],
                audit: audit_event("token.issued"),
            };
            (Some(issue), "answer")
        })
        .await
        .unwrap();
    assert_eq!(redeemed, Redeemed::Fresh("answer", Some(Issued::Live)));
    assert_eq!(seen, Some((stored.clone(), data)));
    assert_eq!(store.find_token("at-1").await.unwrap(), Some(access));
    assert_eq!(
        store.find_audit(Some("c-1"), None, 10).await.unwrap(),
        vec![audit_event("token.issued")]
    );
    let again = store
        .redeem_code("code-1", NOW + 2, |_, _| -> (Option<Issue>, ()) {
            panic!("a replay is never decided")
        })
        .await
        .unwrap();
    assert_eq!(again, Redeemed::Replayed(Box::new(stored)));
    assert!(store.find_code_replayed("code-1").await.unwrap());

    // Refused: nothing stored, the code consumed all the same.
    let refused = store
        .redeem_code("code-2", NOW + 1, |_, _| (None, "refused"))
        .await
        .unwrap();
    assert_eq!(refused, Redeemed::Fresh("refused", None));
    assert_eq!(store.count_live_tokens("code-2", NOW).await.unwrap(), 0);
    assert!(matches!(
        store.take_code("code-2", NOW + 2).await.unwrap(),
        TakeCode::Replayed(_)
    ));
    assert_eq!(
        store.find_audit(Some("c-1"), None, 10).await.unwrap().len(),
        1
    );
    assert_eq!(
        store
            .redeem_code("code-none", NOW, |_, _| (None, ()))
            .await
            .unwrap(),
        Redeemed::Unknown
    );
}

/// Tokens stored with the audit row that records them (a code's redemption, a rotation): both
/// or neither.
async fn tokens_with_their_audit_row(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    for grant in ["grant-1", "grant-2"] {
        store.insert_code(&code(grant, "c-1", "u-1")).await.unwrap();
    }
    for grant in ["grant-1", "grant-2"] {
        assert!(matches!(
            store.take_code(grant, NOW).await.unwrap(),
            TakeCode::Fresh(..)
        ));
    }
    let access = token("at-1", TokenKind::Access, "grant-1", "c-1");
    let issued = std::slice::from_ref(&access);
    let audit = audit_event("token.issued");
    assert_eq!(
        store
            .insert_issuance("grant-1", issued, &audit, NOW)
            .await
            .unwrap(),
        Issued::Live
    );
    assert_eq!(
        store.find_token("at-1").await.unwrap(),
        Some(access.clone())
    );
    assert_eq!(
        store.find_audit(Some("c-1"), None, 10).await.unwrap(),
        vec![audit_event("token.issued")]
    );

    // A batch that fails (a duplicate token) leaves no audit row either.
    let duplicate = [
        token("at-2", TokenKind::Access, "grant-2", "c-1"),
        token("at-1", TokenKind::Refresh, "grant-2", "c-1"),
    ];
    store
        .insert_issuance("grant-2", &duplicate, &audit_event("token.again"), NOW)
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

/// A code is taken with its account's claims data (`None` once the account is gone), and the
/// tokens it was redeemed for are stored with their audit row, all or none. After a replay in
/// between (the code presented again after it was taken) they are stored revoked; for an
/// unknown code nothing is stored.
async fn take_then_issue(store: &Store) {
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
    for stored in [
        &c,
        &code("code-2", "c-1", "u-1"),
        &code("code-orphan", "c-1", "u-none"),
    ] {
        store.insert_code(stored).await.unwrap();
    }
    assert_eq!(
        store.find_unused_code("code-1").await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(store.find_unused_code("code-none").await.unwrap(), None);

    let TakeCode::Fresh(taken, data) = store.take_code("code-1", NOW + 1).await.unwrap() else {
        panic!("code-1 is fresh");
    };
    assert_eq!(taken, c);
    assert_eq!(data, store.find_user_data("u-1").await.unwrap());
    assert!(data.unwrap().is_verified("identity"));
    assert_eq!(store.find_unused_code("code-1").await.unwrap(), None);
    assert_eq!(
        store.take_code("code-orphan", NOW + 1).await.unwrap(),
        TakeCode::Fresh(code("code-orphan", "c-1", "u-none"), None)
    );

    let rows = [
        token("at-1", TokenKind::Access, "code-1", "c-1"),
        token("rt-1", TokenKind::Refresh, "code-1", "c-1"),
    ];
    let audit = audit_event("token.issued");
    assert_eq!(
        store
            .insert_issuance("code-1", &rows, &audit, NOW + 1)
            .await
            .unwrap(),
        Issued::Live
    );
    for t in &rows {
        assert_eq!(
            store.find_token(&t.token_hash).await.unwrap().as_ref(),
            Some(t)
        );
    }
    assert_eq!(audit_names(store, "c-1").await, ["token.issued"]);

    // code-2 is taken, then presented again before its tokens are stored: they are stored
    // revoked, with their audit row.
    assert!(matches!(
        store.take_code("code-2", NOW + 1).await.unwrap(),
        TakeCode::Fresh(..)
    ));
    assert!(matches!(
        store.take_code("code-2", NOW + 2).await.unwrap(),
        TakeCode::Replayed(_)
    ));
    let late = [token("at-2", TokenKind::Access, "code-2", "c-1")];
    assert_eq!(
        store
            .insert_issuance("code-2", &late, &audit_event("late"), NOW + 3)
            .await
            .unwrap(),
        Issued::Revoked
    );
    let stored = store.find_token("at-2").await.unwrap().unwrap();
    assert_eq!(stored.revoked_at, Some(NOW + 3));
    assert_eq!(store.count_live_tokens("code-2", NOW).await.unwrap(), 0);
    // An unknown code, or one that cannot be stored, issues nothing.
    let stray = [token("at-3", TokenKind::Access, "code-none", "c-1")];
    for hash in ["code-none", "code-1\0"] {
        assert_eq!(
            store
                .insert_issuance(hash, &stray, &audit_event("stray"), NOW)
                .await
                .unwrap(),
            Issued::NoCode
        );
    }
    assert_eq!(store.find_token("at-3").await.unwrap(), None);
    assert_eq!(audit_names(store, "c-1").await, ["late", "token.issued"]);
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
    take_then_issue,
    redeem_code_decides_once,
    token_and_user_at_once,
    tokens_with_their_audit_row,
    take_code_once,
    tokens_round_trip,
    revoke_grant_revokes_the_family,
    session_clients,
);
