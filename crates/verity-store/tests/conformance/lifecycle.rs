//! Refresh rotation, revocation, assertion replay and the purge.

use verity_core::grant::Code;
use verity_store::Store;
use verity_store::grants::{TakeCode, Token, TokenKind};
use verity_store::lifecycle::{Purged, Rotate};

use crate::harness::{NOW, code, interaction, session, token, user};

/// The successors of a refresh token: a new refresh token pointing at it, and an access token.
fn successors(old: &Token, suffix: &str) -> Vec<Token> {
    vec![
        Token {
            parent_hash: Some(old.token_hash.clone()),
            ..token(
                &format!("rt-{suffix}"),
                TokenKind::Refresh,
                &old.grant_id,
                &old.client_id,
            )
        },
        token(
            &format!("at-{suffix}"),
            TokenKind::Access,
            &old.grant_id,
            &old.client_id,
        ),
    ]
}

/// A live refresh token rotates once (the old row comes back marked used, its successors are
/// stored); presented again it is `Reused`, and the successors given with it are not stored; once
/// the family is revoked its live successor is `Reused` too; access tokens and unknown hashes are
/// `Unknown`, and nothing given with them is stored.
async fn refresh_rotation(store: &Store) {
    store
        .insert_tokens(&[
            token("at-1", TokenKind::Access, "grant-1", "c-1"),
            token("rt-1", TokenKind::Refresh, "grant-1", "c-1"),
        ])
        .await
        .unwrap();

    let read = store.find_token("rt-1").await.unwrap().unwrap();
    let rotated = store
        .rotate_refresh_token("rt-1", NOW + 10, &successors(&read, "2"))
        .await
        .unwrap();
    let expected_old = Token {
        used_at: Some(NOW + 10),
        ..token("rt-1", TokenKind::Refresh, "grant-1", "c-1")
    };
    assert_eq!(rotated, Rotate::Rotated(expected_old.clone()));
    let new = store.find_token("rt-2").await.unwrap().unwrap();
    assert_eq!(new.parent_hash.as_deref(), Some("rt-1"));
    assert_eq!(new.used_at, None);
    assert!(store.find_token("at-2").await.unwrap().is_some());
    assert_eq!(store.count_live_tokens("grant-1", NOW).await.unwrap(), 3);

    let again = store
        .rotate_refresh_token("rt-1", NOW + 20, &successors(&read, "3"))
        .await
        .unwrap();
    assert_eq!(again, Rotate::Reused(expected_old));
    assert_eq!(
        store.find_token("rt-3").await.unwrap(),
        None,
        "no successors for a reuse"
    );
    assert_eq!(store.find_token("at-3").await.unwrap(), None);

    // The caller answers a reuse by revoking the family; the successor is then reused too.
    // Four: the used token is revoked too.
    assert_eq!(store.revoke_grant("grant-1", NOW + 20).await.unwrap(), 4);
    let revoked = store
        .rotate_refresh_token("rt-2", NOW + 30, &successors(&new, "4"))
        .await
        .unwrap();
    match revoked {
        Rotate::Reused(t) => {
            assert_eq!(t.token_hash, "rt-2");
            assert_eq!(t.revoked_at, Some(NOW + 20));
            assert_eq!(t.used_at, None);
        }
        other => panic!("a revoked refresh token rotated: {other:?}"),
    }

    for hash in ["at-1", "rt-none"] {
        let got = store
            .rotate_refresh_token(hash, NOW + 40, &successors(&read, "5"))
            .await
            .unwrap();
        assert_eq!(got, Rotate::Unknown, "{hash}");
    }
    for hash in ["rt-4", "at-4", "rt-5", "at-5"] {
        assert_eq!(store.find_token(hash).await.unwrap(), None, "{hash} stored");
    }
    assert_eq!(store.count_live_tokens("grant-1", NOW).await.unwrap(), 0);
}

/// RFC 7009: only the token's own client may revoke it; an access token is revoked alone, a
/// refresh token takes its whole grant; revoking twice or revoking the unknown changes nothing.
async fn revoke_token(store: &Store) {
    store
        .insert_tokens(&[
            token("at-1", TokenKind::Access, "grant-1", "c-1"),
            token("rt-1", TokenKind::Refresh, "grant-1", "c-1"),
            token("at-2", TokenKind::Access, "grant-2", "c-1"),
            token("rt-2", TokenKind::Refresh, "grant-2", "c-1"),
        ])
        .await
        .unwrap();

    assert!(!store.revoke_token("at-1", "c-other", NOW).await.unwrap());
    assert_eq!(
        store.find_token("at-1").await.unwrap().unwrap().revoked_at,
        None
    );

    assert!(store.revoke_token("at-1", "c-1", NOW + 1).await.unwrap());
    assert!(!store.revoke_token("at-1", "c-1", NOW + 2).await.unwrap());
    assert_eq!(
        store.find_token("at-1").await.unwrap().unwrap().revoked_at,
        Some(NOW + 1)
    );
    assert_eq!(
        store.find_token("rt-1").await.unwrap().unwrap().revoked_at,
        None,
        "an access token goes alone"
    );

    assert!(!store.revoke_token("rt-2", "c-other", NOW).await.unwrap());
    assert!(store.revoke_token("rt-2", "c-1", NOW + 3).await.unwrap());
    assert!(!store.revoke_token("rt-2", "c-1", NOW + 4).await.unwrap());
    for hash in ["at-2", "rt-2"] {
        let t = store.find_token(hash).await.unwrap().unwrap();
        assert_eq!(
            t.revoked_at,
            Some(NOW + 3),
            "{hash}: the refresh token's grant"
        );
    }
    assert_eq!(store.count_live_tokens("grant-1", NOW).await.unwrap(), 1);
    assert!(!store.revoke_token("t-none", "c-1", NOW).await.unwrap());
}

/// Logout revokes every live token of the session (saying how many) and no other.
async fn revoke_session_tokens(store: &Store) {
    let of = |hash: &str, sid: Option<&str>| Token {
        sid: sid.map(str::to_owned),
        ..token(hash, TokenKind::Access, hash, "c-1")
    };
    store
        .insert_tokens(&[
            of("t-1", Some("sid-1")),
            of("t-2", Some("sid-1")),
            Token {
                revoked_at: Some(NOW - 1),
                ..of("t-3", Some("sid-1"))
            },
            of("t-4", Some("sid-2")),
            of("t-5", None),
        ])
        .await
        .unwrap();
    assert_eq!(store.revoke_session_tokens("sid-1", NOW).await.unwrap(), 2);
    assert_eq!(store.revoke_session_tokens("sid-1", NOW).await.unwrap(), 0);
    for (hash, revoked) in [
        ("t-1", Some(NOW)),
        ("t-2", Some(NOW)),
        ("t-3", Some(NOW - 1)),
        ("t-4", None),
        ("t-5", None),
    ] {
        let t = store.find_token(hash).await.unwrap().unwrap();
        assert_eq!(t.revoked_at, revoked, "{hash}");
    }
}

/// Live tokens of a grant: neither used, nor revoked, nor expired (at its expiry it is dead).
async fn count_live_tokens(store: &Store) {
    store
        .insert_tokens(&[
            token("t-live", TokenKind::Access, "grant-1", "c-1"),
            Token {
                used_at: Some(NOW),
                ..token("t-used", TokenKind::Refresh, "grant-1", "c-1")
            },
            Token {
                revoked_at: Some(NOW),
                ..token("t-revoked", TokenKind::Access, "grant-1", "c-1")
            },
            Token {
                expires_at: NOW + 10,
                ..token("t-short", TokenKind::Access, "grant-1", "c-1")
            },
            token("t-other", TokenKind::Access, "grant-2", "c-1"),
        ])
        .await
        .unwrap();
    assert_eq!(store.count_live_tokens("grant-1", NOW).await.unwrap(), 2);
    assert_eq!(
        store.count_live_tokens("grant-1", NOW + 9).await.unwrap(),
        2
    );
    assert_eq!(
        store.count_live_tokens("grant-1", NOW + 10).await.unwrap(),
        1
    );
    assert_eq!(store.count_live_tokens("grant-none", NOW).await.unwrap(), 0);
}

/// RFC 7523: an assertion id is taken once per client; another client may use the same id.
async fn take_jti_once(store: &Store) {
    assert!(store.take_jti("c-1", "jti-1", NOW + 60).await.unwrap());
    assert!(!store.take_jti("c-1", "jti-1", NOW + 60).await.unwrap());
    assert!(!store.take_jti("c-1", "jti-1", NOW + 999).await.unwrap());
    assert!(store.take_jti("c-2", "jti-1", NOW + 60).await.unwrap());
    assert!(store.take_jti("c-1", "jti-2", NOW + 60).await.unwrap());
}

/// The purge removes exactly what expired: codes and tokens only past the grace (the boundary
/// stays), sessions, interactions and assertion ids at once, throttle counters whose window and
/// lock are both over, limit counters whose window ended; it counts what went, and a second purge
/// finds nothing.
async fn purge_expired(store: &Store) {
    const GRACE: i64 = 3600;
    user(store, "u-1", "alice@example.com").await;
    let cutoff = NOW - GRACE;

    for (hash, expires) in [
        ("code-old", cutoff - 1),
        ("code-edge", cutoff),
        ("code-new", NOW - 1),
    ] {
        store
            .insert_code(&Code {
                expires_at: expires,
                ..code(hash, "c-1", "u-1")
            })
            .await
            .unwrap();
    }
    let expiring = |hash: &str, expires_at: i64| Token {
        expires_at,
        ..token(hash, TokenKind::Refresh, "grant-1", "c-1")
    };
    store
        .insert_tokens(&[
            expiring("t-old", cutoff - 1),
            expiring("t-edge", cutoff),
            expiring("t-new", NOW - 1),
        ])
        .await
        .unwrap();
    for (id, expires) in [("s-old", NOW - 1), ("s-edge", NOW), ("s-new", NOW + 1)] {
        store
            .insert_session(&session(id, id, "u-1", expires))
            .await
            .unwrap();
        store
            .insert_interaction(&interaction(id, "c-1", expires))
            .await
            .unwrap();
    }
    for (jti, expires) in [("j-old", NOW - 1), ("j-edge", NOW)] {
        assert!(store.take_jti("c-1", jti, expires).await.unwrap());
    }
    // Throttle counters: a window that started before the cutoff, with no lock, a lock over, or a
    // lock still running; and a window still open.
    let window = 2 * GRACE;
    for (key, start, lock_until) in [
        ("k-old", cutoff - 10, None),
        ("k-lock-over", cutoff - 10, Some(NOW - 1)),
        ("k-locked", cutoff - 10, Some(NOW + 60)),
        ("k-recent", cutoff + 10, None),
    ] {
        store.take_attempt(key, start, window, 1, 60).await.unwrap();
        if let Some(until) = lock_until {
            // Past the limit of 1: locked for 60 seconds, until `until`.
            let locked = store
                .take_attempt(key, until - 60, window, 1, 60)
                .await
                .unwrap();
            assert_eq!(locked.locked_until, until);
        }
    }

    // Limit counters: a window over (ended at NOW), and one still open.
    let limit = verity_core::limits::Limit {
        count: 5,
        window: 600,
    };
    store.take_limit("l-over", NOW - 600, limit).await.unwrap();
    store.take_limit("l-open", NOW - 599, limit).await.unwrap();

    let purged = store.purge_expired(NOW, GRACE).await.unwrap();
    assert_eq!(
        purged,
        Purged {
            codes: 1,
            tokens: 1,
            sessions: 1,
            interactions: 1,
            jtis: 1,
            auth_failures: 2,
            rate_limits: 1,
            pushed_requests: 0,
            passkey_challenges: 0,
            email_tokens: 0,
        }
    );
    assert_eq!(purged.total(), 8);
    assert_eq!(
        store.purge_expired(NOW, GRACE).await.unwrap(),
        Purged::default()
    );
    assert_eq!(Purged::default().total(), 0);

    // What stayed is still there (looked up as of long ago, so expiry does not hide it).
    assert_eq!(
        store.take_code("code-old", NOW).await.unwrap(),
        TakeCode::Unknown
    );
    for hash in ["code-edge", "code-new"] {
        assert!(matches!(
            store.take_code(hash, NOW).await.unwrap(),
            TakeCode::Fresh(..)
        ));
    }
    assert_eq!(store.find_token("t-old").await.unwrap(), None);
    assert!(store.find_token("t-edge").await.unwrap().is_some());
    assert!(store.find_token("t-new").await.unwrap().is_some());
    assert_eq!(store.find_session("s-old", 0).await.unwrap(), None);
    assert!(store.find_session("s-edge", 0).await.unwrap().is_some());
    assert!(store.find_session("s-new", 0).await.unwrap().is_some());
    assert_eq!(store.find_interaction("s-old", 0).await.unwrap(), None);
    assert!(store.find_interaction("s-edge", 0).await.unwrap().is_some());
    assert!(store.find_interaction("s-new", 0).await.unwrap().is_some());
    assert!(
        store.take_jti("c-1", "j-old", NOW + 60).await.unwrap(),
        "purged"
    );
    assert!(
        !store.take_jti("c-1", "j-edge", NOW + 60).await.unwrap(),
        "kept"
    );
    // A purged counter starts over; a kept one goes on counting (within its window, `now` = NOW).
    for (key, kept) in [
        ("k-old", false),
        ("k-lock-over", false),
        ("k-locked", true),
        ("k-recent", true),
    ] {
        let a = store
            .take_attempt(key, NOW, 10 * GRACE, 100, 60)
            .await
            .unwrap();
        assert_eq!(a.failures > 1 || !a.allowed, kept, "{key}: {a:?}");
    }
    // The open counter kept its count: four more fill it (as of its own window).
    for _ in 0..4 {
        assert!(
            store
                .take_limit("l-open", NOW, limit)
                .await
                .unwrap()
                .allowed()
        );
    }
    assert!(
        !store
            .take_limit("l-open", NOW, limit)
            .await
            .unwrap()
            .allowed()
    );
}

/// The sealed answer kept with a rotation is found again only while the successor is unused,
/// the family live and the window open; using the successor erases it.
async fn refresh_retry_answer(store: &Store) {
    store
        .insert_tokens(&[token("rt-1", TokenKind::Refresh, "grant-1", "c-1")])
        .await
        .unwrap();
    let sealed: &[u8] = b"\x00sealed answer\xff";
    let rotated = store
        .rotate_refresh_token_with_retry(
            "rt-1",
            NOW,
            Some((sealed, NOW + 60)),
            None,
            &successors(&token("rt-1", TokenKind::Refresh, "grant-1", "c-1"), "2"),
        )
        .await
        .unwrap();
    assert!(matches!(rotated, Rotate::Rotated(_)));
    assert_eq!(
        store
            .find_refresh_retry("rt-1", NOW + 1)
            .await
            .unwrap()
            .as_deref(),
        Some(sealed)
    );
    assert_eq!(
        store.find_refresh_retry("rt-1", NOW + 60).await.unwrap(),
        None,
        "window over"
    );
    assert_eq!(
        store.find_refresh_retry("rt-2", NOW + 1).await.unwrap(),
        None,
        "not rotated"
    );
    // Using the successor erases the parent's answer.
    store
        .rotate_refresh_token_with_retry(
            "rt-2",
            NOW + 2,
            Some((sealed, NOW + 62)),
            None,
            &successors(&store.find_token("rt-2").await.unwrap().unwrap(), "3"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.find_refresh_retry("rt-1", NOW + 3).await.unwrap(),
        None
    );
    assert!(
        store
            .find_refresh_retry("rt-2", NOW + 3)
            .await
            .unwrap()
            .is_some()
    );
    // A revoked family gives nothing again.
    store.revoke_grant("grant-1", NOW + 4).await.unwrap();
    assert_eq!(
        store.find_refresh_retry("rt-2", NOW + 5).await.unwrap(),
        None
    );
}

on_each_backend!(
    refresh_rotation,
    refresh_retry_answer,
    revoke_token,
    revoke_session_tokens,
    count_live_tokens,
    take_jti_once,
    purge_expired,
);
