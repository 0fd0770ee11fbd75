//! Deployment-wide roles: granted once, taken back once, each change with its audit row.

use verity_core::review::Role;
use verity_store::Store;

use crate::harness::{NOW, audit_event, audit_names, user};

async fn roles_are_granted_and_taken_back_once(store: &Store) {
    user(store, "u-1", "reviewer@example.com").await;
    user(store, "u-2", "person@example.com").await;
    assert_eq!(store.find_roles("u-1").await.unwrap(), []);
    assert!(!store.has_role("u-1", Role::Reviewer).await.unwrap());

    let granted = audit_event("admin.role.granted");
    assert!(
        store
            .grant_role("u-1", Role::Reviewer, "admin API", NOW, &granted)
            .await
            .unwrap()
    );
    // Granted again: nothing changes, nothing more is audited.
    assert!(
        !store
            .grant_role("u-1", Role::Reviewer, "verity admin", NOW + 1, &granted)
            .await
            .unwrap()
    );
    assert_eq!(store.find_roles("u-1").await.unwrap(), [Role::Reviewer]);
    assert!(store.has_role("u-1", Role::Reviewer).await.unwrap());
    assert!(!store.has_role("u-2", Role::Reviewer).await.unwrap());
    assert!(!store.has_role("u-\0", Role::Reviewer).await.unwrap());
    assert_eq!(audit_names(store, "c-1").await, ["admin.role.granted"]);

    // The holder's own token: found while the role is held, replaced, gone with the role.
    assert!(
        !store
            .set_role_token("u-2", Role::Reviewer, Some("h-2"), NOW)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_role_token("u-1", Role::Reviewer, Some("h-1"), NOW)
            .await
            .unwrap()
    );
    assert_eq!(
        store.find_role_by_token("h-1").await.unwrap(),
        Some(("u-1".to_owned(), Role::Reviewer))
    );
    assert_eq!(
        store
            .find_role_token_created("u-1", Role::Reviewer)
            .await
            .unwrap(),
        Some(NOW)
    );
    assert!(
        store
            .set_role_token("u-1", Role::Reviewer, Some("h-3"), NOW + 1)
            .await
            .unwrap()
    );
    assert_eq!(store.find_role_by_token("h-1").await.unwrap(), None);
    assert_eq!(store.find_role_by_token("h-\0").await.unwrap(), None);

    let revoked = verity_store::audit::AuditEvent {
        at: NOW + 1,
        ..audit_event("admin.role.revoked")
    };
    assert!(
        store
            .revoke_role("u-1", Role::Reviewer, &revoked)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_role("u-1", Role::Reviewer, &revoked)
            .await
            .unwrap()
    );
    assert!(!store.has_role("u-1", Role::Reviewer).await.unwrap());
    assert_eq!(store.find_role_by_token("h-3").await.unwrap(), None);
    assert_eq!(
        store
            .find_role_token_created("u-1", Role::Reviewer)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        audit_names(store, "c-1").await,
        ["admin.role.revoked", "admin.role.granted"]
    );
}

on_each_backend!(roles_are_granted_and_taken_back_once);
