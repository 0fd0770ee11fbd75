//! Single-use items and counters under concurrent callers (tokio tasks on one pool), the point of
//! running on PostgreSQL: conditional updates and locks must hold across connections.

use verity_core::verification::{CaseState, Method};
use verity_store::Store;
use verity_store::cases::Case;
use verity_store::grants::{Issue, Issued, Redeemed, TakeCode, Token, TokenKind};
use verity_store::lifecycle::Rotate;

use crate::harness::{NOW, audit_event, code, token};

/// Concurrent callers per race.
const N: usize = 16;

/// Runs `N` copies of `task` at once (each given its index) and collects their results.
async fn race<T, F, Fut>(store: &Store, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Store, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(N));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..N {
        let run = task(store.clone(), i);
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            run.await
        });
    }
    let mut out = Vec::with_capacity(N);
    while let Some(done) = tasks.join_next().await {
        out.push(done.unwrap());
    }
    out
}

/// Of `N` concurrent presentations of one code exactly one is `Fresh`; all others are `Replayed`.
async fn concurrent_take_code(store: &Store) {
    store
        .insert_code(&code("code-1", "c-1", "u-1"))
        .await
        .unwrap();
    let outcomes = race(store, |store, i| async move {
        store.take_code("code-1", NOW + i as i64).await.unwrap()
    })
    .await;
    let fresh = outcomes
        .iter()
        .filter(|o| matches!(o, TakeCode::Fresh(..)))
        .count();
    let replayed = outcomes
        .iter()
        .filter(|o| matches!(o, TakeCode::Replayed(_)))
        .count();
    assert_eq!((fresh, replayed), (1, N - 1), "{outcomes:?}");
    assert!(store.find_code_replayed("code-1").await.unwrap());
}

/// A code presented by `N` callers at once, as the token endpoint does it (`redeem_code`): the
/// one that takes it stores its tokens, each replay revokes the grant. However they interleave, the tokens are
/// stored once and none is left live (a replay either comes before the issuance, which then
/// revokes what it stores, or waits for it and revokes it).
async fn replays_race_the_issuance(store: &Store) {
    for round in 0..4 {
        let hash = format!("code-race-{round}");
        store.insert_code(&code(&hash, "c-1", "u-1")).await.unwrap();
        let issued = race(store, |store, i| {
            let hash = hash.clone();
            async move {
                let now = NOW + i as i64;
                let issue = |_, _| {
                    let tokens = vec![token(
                        &format!("at-{hash}"),
                        TokenKind::Access,
                        &hash,
                        "c-1",
                    )];
                    let audit = audit_event("token.issued");
                    (Some(Issue { tokens, audit }), ())
                };
                match store.redeem_code(&hash, now, issue).await.unwrap() {
                    Redeemed::Fresh((), stored) => stored.unwrap() != Issued::NoCode,
                    Redeemed::Replayed(_) => {
                        store.revoke_grant(&hash, now).await.unwrap();
                        false
                    }
                    Redeemed::Unknown => panic!("{hash} is stored"),
                }
            }
        })
        .await;
        assert_eq!(issued.iter().filter(|&&stored| stored).count(), 1);
        assert_eq!(
            store.count_live_tokens(&hash, NOW).await.unwrap(),
            0,
            "{hash}"
        );
    }
}

/// Of `N` concurrent rotations of one refresh token exactly one rotates and stores its successors;
/// the others see a reuse; the family never has two children.
async fn concurrent_rotate_refresh_token(store: &Store) {
    store
        .insert_tokens(&[token("rt-0", TokenKind::Refresh, "grant-1", "c-1")])
        .await
        .unwrap();
    let outcomes = race(store, |store, i| async move {
        store
            .rotate_refresh_token(
                "rt-0",
                NOW + 1,
                &[
                    Token {
                        parent_hash: Some("rt-0".to_owned()),
                        ..token(
                            &format!("rt-{}", i + 1),
                            TokenKind::Refresh,
                            "grant-1",
                            "c-1",
                        )
                    },
                    token(
                        &format!("at-{}", i + 1),
                        TokenKind::Access,
                        "grant-1",
                        "c-1",
                    ),
                ],
            )
            .await
            .unwrap()
    })
    .await;
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, Rotate::Rotated(_)))
        .count();
    let reused = outcomes
        .iter()
        .filter(|o| matches!(o, Rotate::Reused(_)))
        .count();
    assert_eq!((rotated, reused), (1, N - 1), "{outcomes:?}");

    let mut children = 0;
    for i in 1..=N {
        if let Some(child) = store.find_token(&format!("rt-{i}")).await.unwrap() {
            assert_eq!(child.parent_hash.as_deref(), Some("rt-0"));
            assert!(
                store
                    .find_token(&format!("at-{i}"))
                    .await
                    .unwrap()
                    .is_some()
            );
            children += 1;
        } else {
            assert_eq!(store.find_token(&format!("at-{i}")).await.unwrap(), None);
        }
    }
    assert_eq!(children, 1);
    assert_eq!(store.count_live_tokens("grant-1", NOW).await.unwrap(), 2);
}

/// `N` concurrent attempts on one key with a limit of `L`: exactly `L` go on to check the secret,
/// and the key ends locked.
async fn concurrent_take_attempt(store: &Store) {
    const L: i64 = 5;
    let outcomes = race(store, |store, _| async move {
        store.take_attempt("k", NOW, 900, L, 60).await.unwrap()
    })
    .await;
    let allowed = outcomes.iter().filter(|a| a.allowed).count();
    assert_eq!(allowed, L as usize, "{outcomes:?}");
    let mut counts: Vec<_> = outcomes
        .iter()
        .filter(|a| a.allowed)
        .map(|a| a.failures)
        .collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=L).collect::<Vec<_>>(),
        "each attempt counted once"
    );
    let after = store.take_attempt("k", NOW, 900, L, 60).await.unwrap();
    assert!(
        !after.allowed && after.locked_until == NOW + 60,
        "{after:?}"
    );
}

/// `N` concurrent actions on one limit's key with room for `L`: exactly `L` go through, each
/// counted once, on either backend (PostgreSQL: the advisory lock and `FOR UPDATE`).
async fn concurrent_take_limit(store: &Store) {
    const L: i64 = 5;
    let limit = verity_core::limits::Limit {
        count: L,
        window: 600,
    };
    let outcomes = race(store, |store, _| async move {
        store.take_limit("k", NOW, limit).await.unwrap()
    })
    .await;
    let allowed = outcomes.iter().filter(|t| t.allowed()).count();
    assert_eq!(allowed, L as usize, "{outcomes:?}");
    // Giving back and taking again, racing, on a full counter that the give-backs cannot empty:
    // each give-back makes room for exactly one more action.
    let full = verity_core::limits::Limit {
        count: N as i64,
        window: 600,
    };
    for _ in 0..N {
        assert!(store.take_limit("k2", NOW, full).await.unwrap().allowed());
    }
    let outcomes = race(store, |store, i| async move {
        if i % 2 == 0 {
            store.give_back_limit("k2").await.unwrap();
            None
        } else {
            Some(store.take_limit("k2", NOW, full).await.unwrap())
        }
    })
    .await;
    let taken = outcomes.iter().flatten().filter(|t| t.allowed()).count();
    let mut more = 0;
    while store.take_limit("k2", NOW, full).await.unwrap().allowed() {
        more += 1;
    }
    assert_eq!(taken + more, N / 2, "every give-back counted once");
}

/// Successful attempts racing each other: each counts, then gives its attempt back. No give-back
/// may be lost to a concurrent count (an address that only ever succeeds is never locked out).
/// Found by the load tool: on PostgreSQL a read-then-write count overwrote concurrent releases.
async fn concurrent_attempts_and_releases_balance(store: &Store) {
    const L: i64 = 1_000;
    for _ in 0..4 {
        let outcomes = race(store, |store, _| async move {
            let a = store.take_attempt("addr", NOW, 900, L, 60).await.unwrap();
            store.release_attempt("addr").await.unwrap();
            a
        })
        .await;
        assert!(outcomes.iter().all(|a| a.allowed));
    }
    let after = store.take_attempt("addr", NOW, 900, L, 60).await.unwrap();
    assert_eq!(after.failures, 1, "every release counted: {after:?}");
}

/// Concurrent acceptances of one invitation, uses of one recovery code, one assertion id and one
/// TOTP step: exactly one succeeds each time.
async fn concurrent_single_use(store: &Store) {
    crate::harness::user(store, "u-1", "alice@example.com").await;
    crate::harness::org(store, "o-1", "Acme").await;
    store
        .insert_invitation(&verity_store::console::Invitation {
            id: "inv-1".into(),
            org_id: "o-1".into(),
            email: "alice@example.com".into(),
            role: "developer".into(),
            token_hash: "tok-1".into(),
            invited_by: "u-0".into(),
            created_at: NOW,
            expires_at: NOW + 60,
            accepted_at: None,
        })
        .await
        .unwrap();
    store
        .replace_recovery_codes("u-1", &["rc-1".to_owned()])
        .await
        .unwrap();

    let wins = |v: Vec<bool>| v.into_iter().filter(|w| *w).count();
    let invitations = race(store, |store, _| async move {
        store
            .take_invitation("tok-1", "u-1", "alice@example.com", NOW)
            .await
            .unwrap()
            .is_some()
    })
    .await;
    assert_eq!(wins(invitations), 1, "invitation");
    let recovery = race(store, |store, i| async move {
        store
            .take_recovery_code("u-1", "rc-1", NOW + i as i64)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(wins(recovery), 1, "recovery code");
    let jtis = race(store, |store, _| async move {
        store.take_jti("c-1", "jti-1", NOW + 60).await.unwrap()
    })
    .await;
    assert_eq!(wins(jtis), 1, "assertion id");
    let steps = race(store, |store, _| async move {
        store.take_totp_step("u-1", 1000).await.unwrap()
    })
    .await;
    assert_eq!(wins(steps), 1, "TOTP step");
}

/// Two nodes (or reviewers) deciding one case at once: of `N` concurrent decisions exactly one
/// is recorded; of `N` concurrent claims by different reviewers exactly one holds the case.
async fn concurrent_case_decisions(store: &Store) {
    crate::harness::user(store, "u-1", "jane@example.com").await;
    let case = Case::new("case-1", "u-1", "military", Method::Document, NOW);
    store.insert_case(&case).await.unwrap();
    let claims = race(store, |store, i| async move {
        let reviewer = format!("r-{i}");
        store
            .claim_case(
                "case-1",
                &reviewer,
                NOW,
                NOW + 600,
                &crate::harness::audit_event("verification.claimed"),
            )
            .await
            .unwrap()
    })
    .await;
    assert_eq!(claims.iter().filter(|&&held| held).count(), 1);
    let decisions = race(store, |store, i| {
        let decided = Case {
            state: if i % 2 == 0 {
                CaseState::Verified
            } else {
                CaseState::Rejected
            },
            decided_by: Some(format!("r-{i}")),
            decided_at: Some(NOW + i as i64),
            ..case.clone()
        };
        async move {
            store
                .update_case(&decided, CaseState::InReview)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(decisions.iter().filter(|&&won| won).count(), 1);
}

/// Of `N` concurrent takes of one pushed request exactly one finds it.
async fn concurrent_take_pushed_request(store: &Store) {
    crate::harness::org(store, "o-1", "Org").await;
    crate::harness::app(store, "c-1", "o-1", "App").await;
    let request = verity_store::pushed::PushedRequest {
        reference_hash: "p-race".into(),
        client_id: "c-1".into(),
        params: vec![("scope".into(), "openid".into())],
        expires_at: NOW + 60,
    };
    store.push_request(&request).await.unwrap();
    let found = race(store, |s, _| async move {
        s.take_pushed_request("p-race").await.unwrap().is_some()
    })
    .await;
    assert_eq!(found.iter().filter(|&&f| f).count(), 1);
}

on_each_backend!(
    concurrent_take_code,
    concurrent_take_pushed_request,
    replays_race_the_issuance,
    concurrent_rotate_refresh_token,
    concurrent_take_attempt,
    concurrent_take_limit,
    concurrent_attempts_and_releases_balance,
    concurrent_single_use,
    concurrent_case_decisions,
);
