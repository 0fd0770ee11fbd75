//! Lookups of keys with a NUL character. PostgreSQL cannot hold one in text, so no stored key has
//! one: a lookup should find nothing, on both backends alike, and never fail as a database error.

use verity_store::grants::TakeCode;
use verity_store::lifecycle::Rotate;
use verity_store::{Store, StoreError};

use crate::harness::{NOW, app, org, user};

/// Keys with a NUL, among them ones equal to stored keys up to the NUL.
const KEYS: [&str; 4] = ["\0", "c-1\0", "u-1\0", "a\0b"];

/// Stores a user, an organization and an app whose keys the lookups almost match.
async fn seed(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    org(store, "o-1", "Acme").await;
    app(store, "c-1", "o-1", "App").await;
}

/// What a lookup with a NUL key gave: `Ok(true)` when it found nothing.
type Outcome = (String, Result<bool, StoreError>);

/// The outcomes that are not in `expected`, one line each.
fn unexpected(
    outcomes: &[Outcome],
    expected: impl Fn(&Result<bool, StoreError>) -> bool,
) -> Vec<String> {
    outcomes
        .iter()
        .filter(|(_, r)| !expected(r))
        .map(|(what, r)| format!("{what}: {r:?}"))
        .collect()
}

/// The lookups whose keys come straight from requests (client ids, emails, interaction ids, ...):
/// each answers "not found" for a key with a NUL.
async fn nul_keys_find_nothing(store: &Store) {
    seed(store).await;
    let mut outcomes: Vec<Outcome> = vec![];
    for key in KEYS {
        let mut note = |what: &str, r: Result<bool, StoreError>| {
            outcomes.push((format!("{what}({key:?})"), r));
        };
        note("find_app", store.find_app(key).await.map(|f| f.is_none()));
        note(
            "find_organization",
            store.find_organization(key).await.map(|f| f.is_none()),
        );
        note(
            "find_organization_by_name",
            store
                .find_organization_by_name(key)
                .await
                .map(|f| f.is_none()),
        );
        note("find_user", store.find_user(key).await.map(|f| f.is_none()));
        note(
            "find_user_data",
            store.find_user_data(key).await.map(|f| f.is_none()),
        );
        note(
            "find_interaction",
            store.find_interaction(key, NOW).await.map(|f| f.is_none()),
        );
    }
    for email in ["alice@example.com\0", "\0alice@example.com"] {
        outcomes.push((
            format!("find_user_by_email({email:?})"),
            store.find_user_by_email(email).await.map(|f| f.is_none()),
        ));
    }
    let wrong = unexpected(&outcomes, |r| matches!(r, Ok(true)));
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Every other lookup by a text key (digests, ids the server made, and single-use takers).
async fn other_lookups(store: &Store) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = vec![];
    for key in KEYS {
        let mut note = |what: &str, r: Result<bool, StoreError>| {
            outcomes.push((format!("{what}({key:?})"), r));
        };
        note(
            "find_session",
            store.find_session(key, NOW).await.map(|f| f.is_none()),
        );
        note(
            "find_token",
            store.find_token(key).await.map(|f| f.is_none()),
        );
        note(
            "find_membership(org)",
            store.find_membership(key, "u-1").await.map(|f| f.is_none()),
        );
        note(
            "find_membership(user)",
            store.find_membership("o-1", key).await.map(|f| f.is_none()),
        );
        note(
            "find_user_memberships",
            store.find_user_memberships(key).await.map(|f| f.is_empty()),
        );
        note(
            "find_org_members",
            store.find_org_members(key).await.map(|f| f.is_empty()),
        );
        note(
            "find_org_invitations",
            store.find_org_invitations(key).await.map(|f| f.is_empty()),
        );
        note(
            "find_org_apps",
            store.find_org_apps(key).await.map(|f| f.is_empty()),
        );
        note(
            "find_app_secrets",
            store.find_app_secrets(key).await.map(|f| f.is_empty()),
        );
        note(
            "find_app_secret_digests",
            store
                .find_app_secret_digests(key)
                .await
                .map(|f| f.is_empty()),
        );
        note(
            "find_consents",
            store.find_consents("u-1", key).await.map(|f| f.is_empty()),
        );
        note(
            "find_user_consents",
            store.find_user_consents(key).await.map(|f| f.is_empty()),
        );
        note(
            "find_verifications",
            store.find_verifications(key).await.map(|f| f.is_empty()),
        );
        note(
            "find_session_clients",
            store.find_session_clients(key).await.map(|f| f.is_empty()),
        );
        note(
            "find_audit",
            store
                .find_audit(Some(key), Some(key), 10)
                .await
                .map(|f| f.is_empty()),
        );
        note(
            "find_code_replayed",
            store.find_code_replayed(key).await.map(|f| !f),
        );
        note(
            "count_live_tokens",
            store.count_live_tokens(key, NOW).await.map(|n| n == 0),
        );
        note(
            "take_code",
            store
                .take_code(key, NOW)
                .await
                .map(|f| f == TakeCode::Unknown),
        );
        note(
            "rotate_refresh_token",
            store
                .rotate_refresh_token(key, NOW, &[])
                .await
                .map(|f| f == Rotate::Unknown),
        );
        note(
            "revoke_token",
            store.revoke_token(key, "c-1", NOW).await.map(|f| !f),
        );
        note(
            "take_invitation",
            store
                .take_invitation(key, "u-1", "alice@example.com", NOW)
                .await
                .map(|f| f.is_none()),
        );
        note(
            "take_recovery_code",
            store.take_recovery_code("u-1", key, NOW).await.map(|f| !f),
        );
        note(
            "take_interaction",
            store.take_interaction(key).await.map(|f| !f),
        );
    }
    outcomes
}

/// The other lookups by a text key find nothing for a key with a NUL, and where they fail instead
/// (PostgreSQL refusing the text) the error is `InvalidText` (a bad request), never a database
/// failure.
async fn nul_keys_never_fail_as_database_errors(store: &Store) {
    seed(store).await;
    let outcomes = other_lookups(store).await;
    let wrong = unexpected(&outcomes, |r| {
        matches!(r, Ok(true) | Err(StoreError::InvalidText))
    });
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The contract in full: every lookup by a text key answers "not found" for a key with a NUL, as
/// the first group does. Fails on PostgreSQL, where these lookups answer `InvalidText` (SQLite
/// finds nothing): the store guards only the lookups of `nul_keys_find_nothing` with `storable`.
async fn nul_keys_find_nothing_in_every_lookup(store: &Store) {
    seed(store).await;
    let outcomes = other_lookups(store).await;
    let wrong = unexpected(&outcomes, |r| matches!(r, Ok(true)));
    assert!(wrong.is_empty(), "{wrong:#?}");
}

on_each_backend!(
    nul_keys_find_nothing,
    nul_keys_never_fail_as_database_errors,
    nul_keys_find_nothing_in_every_lookup,
);
