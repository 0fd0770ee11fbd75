//! Organizations' members and invitations, and app management.

use verity_store::apps::Organization;
use verity_store::console::{Invitation, Membership};
use verity_store::grants::{Token, TokenKind};
use verity_store::{Store, StoreError};

use crate::harness::{NOW, app, org, token, user};

fn organization(id: &str, name: &str) -> Organization {
    Organization {
        id: id.into(),
        name: name.into(),
        created_at: NOW,
    }
}

fn member(org_id: &str, org_name: &str, uuid: &str, email: &str, role: &str) -> Membership {
    Membership {
        org_id: org_id.into(),
        org_name: org_name.into(),
        uuid: uuid.into(),
        email: email.into(),
        role: role.into(),
    }
}

fn invitation(id: &str, email: &str, role: &str, token_hash: &str, at: i64) -> Invitation {
    Invitation {
        id: id.into(),
        org_id: "o-1".into(),
        email: email.into(),
        role: role.into(),
        token_hash: token_hash.into(),
        invited_by: "u-1".into(),
        created_at: at,
        expires_at: at + 3600,
        accepted_at: None,
    }
}

/// An organization is created with its first owner in one step: found by id and by name, the
/// owner a member; a duplicate id is a `Conflict` that adds no member, and an unknown owner
/// leaves no organization behind.
async fn organization_with_owner(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    user(store, "u-2", "bob@example.com").await;
    let acme = organization("o-1", "Acme");
    store
        .insert_organization_with_owner(&acme, "u-1")
        .await
        .unwrap();
    assert_eq!(
        store.find_organization("o-1").await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(
        store.find_organization_by_name("Acme").await.unwrap(),
        Some(acme)
    );
    assert_eq!(store.find_organization_by_name("acme").await.unwrap(), None);
    assert_eq!(
        store.find_membership("o-1", "u-1").await.unwrap(),
        Some(member("o-1", "Acme", "u-1", "alice@example.com", "owner"))
    );

    let err = store
        .insert_organization_with_owner(&organization("o-1", "Other"), "u-2")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    assert_eq!(store.find_membership("o-1", "u-2").await.unwrap(), None);
    assert_eq!(
        store.find_organization_by_name("Other").await.unwrap(),
        None
    );

    store
        .insert_organization_with_owner(&organization("o-2", "Ghost"), "u-none")
        .await
        .unwrap_err();
    assert_eq!(store.find_organization("o-2").await.unwrap(), None);
}

/// Members: added with a role, the role changed in place, listed per user (by organization name)
/// and per organization (by email), removed once; roles outside owner/admin/developer are refused.
async fn memberships(store: &Store) {
    user(store, "u-1", "carol@example.com").await;
    user(store, "u-2", "alice@example.com").await;
    org(store, "o-1", "Zeta").await;
    org(store, "o-2", "Alpha").await;

    store
        .upsert_membership("o-1", "u-1", "owner", NOW)
        .await
        .unwrap();
    store
        .upsert_membership("o-1", "u-2", "developer", NOW)
        .await
        .unwrap();
    store
        .upsert_membership("o-2", "u-1", "developer", NOW)
        .await
        .unwrap();
    store
        .upsert_membership("o-2", "u-1", "admin", NOW + 1)
        .await
        .unwrap();

    assert_eq!(
        store.find_membership("o-2", "u-1").await.unwrap(),
        Some(member("o-2", "Alpha", "u-1", "carol@example.com", "admin"))
    );
    assert_eq!(store.find_membership("o-2", "u-2").await.unwrap(), None);
    assert_eq!(
        store.find_user_memberships("u-1").await.unwrap(),
        vec![
            member("o-2", "Alpha", "u-1", "carol@example.com", "admin"),
            member("o-1", "Zeta", "u-1", "carol@example.com", "owner"),
        ]
    );
    assert_eq!(
        store.find_org_members("o-1").await.unwrap(),
        vec![
            member("o-1", "Zeta", "u-2", "alice@example.com", "developer"),
            member("o-1", "Zeta", "u-1", "carol@example.com", "owner"),
        ]
    );
    assert!(
        store
            .find_user_memberships("u-none")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.find_org_members("o-none").await.unwrap().is_empty());

    store
        .upsert_membership("o-1", "u-2", "superuser", NOW)
        .await
        .unwrap_err();
    assert_eq!(
        store
            .find_membership("o-1", "u-2")
            .await
            .unwrap()
            .unwrap()
            .role,
        "developer"
    );

    assert!(store.delete_membership("o-1", "u-2").await.unwrap());
    assert!(!store.delete_membership("o-1", "u-2").await.unwrap());
    assert_eq!(store.find_org_members("o-1").await.unwrap().len(), 1);
}

/// Invitations: stored with the email lower-cased, listed while pending (oldest first); a token
/// or id used twice is a `Conflict`; accepted once, only by the invited email (in any case) and
/// only before expiry, making the account a member with the invited role (or changing its role).
async fn invitations_accepted_once(store: &Store) {
    user(store, "u-1", "owner@example.com").await;
    user(store, "u-2", "dev@example.com").await;
    user(store, "u-3", "other@example.com").await;
    store
        .insert_organization_with_owner(&organization("o-1", "Acme"), "u-1")
        .await
        .unwrap();

    let later = invitation("inv-2", "other@example.com", "admin", "tok-2", NOW + 5);
    let first = invitation("inv-1", "Dev@Example.COM", "developer", "tok-1", NOW);
    let to_owner = invitation("inv-3", "owner@example.com", "admin", "tok-3", NOW + 6);
    for i in [&later, &first, &to_owner] {
        store.insert_invitation(i).await.unwrap();
    }
    let lowered = Invitation {
        email: "dev@example.com".into(),
        ..first.clone()
    };
    assert_eq!(
        store.find_org_invitations("o-1").await.unwrap(),
        vec![lowered.clone(), later.clone(), to_owner.clone()]
    );
    assert!(
        store
            .find_org_invitations("o-none")
            .await
            .unwrap()
            .is_empty()
    );

    for dup in [
        invitation("inv-1", "x@example.com", "developer", "tok-new", NOW),
        invitation("inv-new", "x@example.com", "developer", "tok-1", NOW),
    ] {
        let err = store.insert_invitation(&dup).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict), "{dup:?}: {err:?}");
    }

    // Not for this account, not after expiry, not an unknown token.
    assert_eq!(
        store
            .take_invitation("tok-1", "u-3", "other@example.com", NOW + 1)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_invitation("tok-1", "u-2", "dev@example.com", NOW + 3600)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_invitation("tok-none", "u-2", "dev@example.com", NOW)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.find_membership("o-1", "u-2").await.unwrap(), None);

    let accepted = store
        .take_invitation("tok-1", "u-2", "DEV@example.com", NOW + 3599)
        .await
        .unwrap();
    assert_eq!(
        accepted,
        Some(Invitation {
            accepted_at: Some(NOW + 3599),
            ..lowered
        })
    );
    assert_eq!(
        store
            .take_invitation("tok-1", "u-2", "dev@example.com", NOW + 3599)
            .await
            .unwrap(),
        None,
        "accepted once"
    );
    assert_eq!(
        store.find_membership("o-1", "u-2").await.unwrap(),
        Some(member("o-1", "Acme", "u-2", "dev@example.com", "developer"))
    );
    assert_eq!(
        store.find_org_invitations("o-1").await.unwrap(),
        vec![later, to_owner],
        "accepted invitations are no longer pending"
    );

    // An invitation to an existing member changes the role.
    assert!(
        store
            .take_invitation("tok-3", "u-1", "owner@example.com", NOW + 10)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .find_membership("o-1", "u-1")
            .await
            .unwrap()
            .unwrap()
            .role,
        "admin"
    );
}

/// An organization's apps, by name then client id; deleting an app takes its secrets and consents
/// with it and revokes its live tokens (an earlier revocation keeps its time), leaving other apps
/// alone; a second delete finds nothing.
async fn delete_app_cascades(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    org(store, "o-1", "Acme").await;
    org(store, "o-2", "Other").await;
    app(store, "c-3", "o-1", "Bravo").await;
    app(store, "c-2", "o-1", "Alpha").await;
    let keep = app(store, "c-1", "o-1", "Alpha").await;
    let elsewhere = app(store, "c-9", "o-2", "Aardvark").await;
    let names = |apps: Vec<verity_store::apps::App>| -> Vec<String> {
        apps.into_iter().map(|a| a.client_id.into()).collect()
    };
    assert_eq!(
        names(store.find_org_apps("o-1").await.unwrap()),
        ["c-1", "c-2", "c-3"]
    );
    assert_eq!(store.find_org_apps("o-2").await.unwrap(), vec![elsewhere]);
    assert!(store.find_org_apps("o-none").await.unwrap().is_empty());

    for client in ["c-2", "c-1"] {
        store
            .insert_app_secret(&format!("s-{client}"), client, "hash", NOW)
            .await
            .unwrap();
        store
            .insert_consent("u-1", client, "openid", NOW)
            .await
            .unwrap();
    }
    store
        .insert_tokens(&[
            token("at-2", TokenKind::Access, "grant-2", "c-2"),
            token("rt-2", TokenKind::Refresh, "grant-2", "c-2"),
            Token {
                revoked_at: Some(NOW - 1),
                ..token("at-2-old", TokenKind::Access, "grant-2", "c-2")
            },
            token("at-1", TokenKind::Access, "grant-1", "c-1"),
        ])
        .await
        .unwrap();

    assert!(store.delete_app("c-2", NOW + 5).await.unwrap());
    assert!(!store.delete_app("c-2", NOW + 6).await.unwrap());
    assert_eq!(store.find_app("c-2").await.unwrap(), None);
    assert_eq!(
        names(store.find_org_apps("o-1").await.unwrap()),
        ["c-1", "c-3"]
    );
    assert!(store.find_app_secrets("c-2").await.unwrap().is_empty());
    assert!(
        store
            .find_app_secret_digests("c-2")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.find_consents("u-1", "c-2").await.unwrap().is_empty());
    for (hash, revoked) in [
        ("at-2", Some(NOW + 5)),
        ("rt-2", Some(NOW + 5)),
        ("at-2-old", Some(NOW - 1)),
        ("at-1", None),
    ] {
        let t = store.find_token(hash).await.unwrap().unwrap();
        assert_eq!(t.revoked_at, revoked, "{hash}");
    }

    // The other app is whole.
    assert_eq!(store.find_app("c-1").await.unwrap(), Some(keep));
    assert_eq!(store.find_app_secrets("c-1").await.unwrap().len(), 1);
    assert_eq!(
        store.find_consents("u-1", "c-1").await.unwrap(),
        vec!["openid".to_owned()]
    );
    let listed: Vec<_> = store
        .find_user_consents("u-1")
        .await
        .unwrap()
        .into_iter()
        .map(|(client, ..)| client)
        .collect();
    assert_eq!(listed, ["c-1"]);
}

on_each_backend!(
    organization_with_owner,
    memberships,
    invitations_accepted_once,
    delete_app_cascades,
);
