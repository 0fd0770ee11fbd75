//! The audit trail.

use serde_json::json;
use verity_store::Store;
use verity_store::audit::AuditEvent;

use crate::harness::{NOW, audit_names};

fn event(n: i64, client_id: Option<&str>, uuid: Option<&str>) -> AuditEvent {
    AuditEvent {
        at: NOW + n,
        event: format!("event.{n}"),
        uuid: uuid.map(str::to_owned),
        client_id: client_id.map(str::to_owned),
        address: (n % 2 == 0).then(|| format!("192.0.2.{n}")),
        request_id: (n % 2 == 1).then(|| format!("req-{n}")),
        detail: json!({"n": n, "scopes": ["openid", "email"], "note": "é ✓", "none": null}),
    }
}

/// Events come back field for field (NULLs, JSON detail), newest first, filtered by app, by user
/// or both, and no more than the limit.
async fn audit_filters_and_order(store: &Store) {
    let events = [
        event(1, Some("c-1"), Some("u-1")),
        event(2, Some("c-2"), Some("u-1")),
        event(3, Some("c-1"), None),
        event(4, None, Some("u-2")),
        event(5, Some("c-1"), Some("u-2")),
        AuditEvent {
            detail: json!(null),
            ..event(6, None, None)
        },
    ];
    for e in &events {
        store.insert_audit(e).await.unwrap();
    }
    let pick =
        |ns: &[usize]| -> Vec<AuditEvent> { ns.iter().map(|n| events[n - 1].clone()).collect() };

    assert_eq!(
        store.find_audit(None, None, 100).await.unwrap(),
        pick(&[6, 5, 4, 3, 2, 1])
    );
    assert_eq!(
        store.find_audit(Some("c-1"), None, 100).await.unwrap(),
        pick(&[5, 3, 1])
    );
    assert_eq!(
        store.find_audit(None, Some("u-1"), 100).await.unwrap(),
        pick(&[2, 1])
    );
    assert_eq!(
        store
            .find_audit(Some("c-1"), Some("u-2"), 100)
            .await
            .unwrap(),
        pick(&[5])
    );
    assert_eq!(
        store.find_audit(None, None, 2).await.unwrap(),
        pick(&[6, 5])
    );
    assert_eq!(
        store.find_audit(Some("c-1"), None, 2).await.unwrap(),
        pick(&[5, 3])
    );
    assert!(store.find_audit(None, None, 0).await.unwrap().is_empty());
    assert!(
        store
            .find_audit(Some("c-none"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .find_audit(Some("c-2"), Some("u-2"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Newest first means the last recorded, even when clocks disagree (two events in one second, or
/// an event stamped earlier than the one before it).
async fn audit_newest_is_last_recorded(store: &Store) {
    for (n, at) in [(1, NOW), (2, NOW), (3, NOW - 10)] {
        store
            .insert_audit(&AuditEvent {
                at,
                ..event(n, Some("c-1"), None)
            })
            .await
            .unwrap();
    }
    assert_eq!(
        audit_names(store, "c-1").await,
        ["event.3", "event.2", "event.1"]
    );
}

/// Rows older than the cutoff go, oldest first, a batch at a time; newer ones stay.
async fn old_audit_rows_are_purged_in_batches(store: &Store) {
    for (n, at) in [(1, NOW - 300), (2, NOW - 200), (3, NOW - 100), (4, NOW)] {
        store
            .insert_audit(&AuditEvent {
                at,
                ..event(n, Some("c-1"), None)
            })
            .await
            .unwrap();
    }
    assert_eq!(store.purge_audit(NOW - 50, 2).await.unwrap(), 2);
    assert_eq!(audit_names(store, "c-1").await, ["event.4", "event.3"]);
    assert_eq!(store.purge_audit(NOW - 50, 2).await.unwrap(), 1);
    assert_eq!(store.purge_audit(NOW - 50, 2).await.unwrap(), 0);
    assert_eq!(audit_names(store, "c-1").await, ["event.4"]);

    // Written out of time order (overlapping requests): a row older than one written before it
    // waits for that one's purge; with no newer row left, every old row goes.
    for (n, at) in [(5, NOW - 100), (6, NOW - 300)] {
        let e = AuditEvent {
            at,
            ..event(n, Some("c-1"), None)
        };
        store.insert_audit(&e).await.unwrap();
    }
    assert_eq!(store.purge_audit(NOW - 50, 10).await.unwrap(), 0);
    assert_eq!(store.purge_audit(NOW + 1, 10).await.unwrap(), 3);
    assert!(audit_names(store, "c-1").await.is_empty());
}

on_each_backend!(
    audit_filters_and_order,
    audit_newest_is_last_recorded,
    old_audit_rows_are_purged_in_batches
);
