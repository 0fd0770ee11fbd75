//! The counters of the limits on what one address, account or organization may create or send.

use verity_core::limits::{Limit, Taken};
use verity_store::Store;

use crate::harness::{NOW, TestDb};

const LIMIT: Limit = Limit {
    count: 3,
    window: 600,
};

/// Actions are counted per key up to the limit; the next ones are refused with the seconds until
/// the window ends (and not counted); when the window has ended counting starts over.
async fn takes_count_and_refuse_until_the_window_ends(store: &Store) {
    let take = |key: &'static str, now: i64| store.take_limit(key, now, LIMIT);
    for i in 0..LIMIT.count {
        assert_eq!(take("k", NOW + i).await.unwrap(), Taken::Allowed, "{i}");
    }
    assert_eq!(
        take("k", NOW + 100).await.unwrap(),
        Taken::Refused { retry_after: 500 }
    );
    assert_eq!(
        take("k", NOW + 599).await.unwrap(),
        Taken::Refused { retry_after: 1 },
        "refusals are not counted and do not move the window"
    );
    assert_eq!(take("other", NOW + 100).await.unwrap(), Taken::Allowed);
    assert_eq!(take("k", NOW + 600).await.unwrap(), Taken::Allowed);
    assert_eq!(take("k", NOW + 601).await.unwrap(), Taken::Allowed);
    assert_eq!(take("k", NOW + 602).await.unwrap(), Taken::Allowed);
    assert_eq!(
        take("k", NOW + 603).await.unwrap(),
        Taken::Refused { retry_after: 597 },
        "a new window, begun by its first action"
    );
}

/// An action given back may be taken again; giving back never goes below zero, and giving back
/// on an unknown key does nothing.
async fn given_back_actions_count_again(store: &Store) {
    let take = |now: i64| store.take_limit("k", now, LIMIT);
    for _ in 0..LIMIT.count {
        assert!(take(NOW).await.unwrap().allowed());
    }
    assert!(!take(NOW).await.unwrap().allowed());
    store.give_back_limit("k").await.unwrap();
    assert!(take(NOW).await.unwrap().allowed());
    assert!(!take(NOW).await.unwrap().allowed());
    for _ in 0..2 * LIMIT.count {
        store.give_back_limit("k").await.unwrap();
    }
    for _ in 0..LIMIT.count {
        assert!(take(NOW).await.unwrap().allowed());
    }
    assert!(!take(NOW).await.unwrap().allowed(), "never below zero");
    store.give_back_limit("unknown").await.unwrap();
    assert!(
        store
            .take_limit("unknown", NOW, LIMIT)
            .await
            .unwrap()
            .allowed()
    );
}

/// Two nodes on one database share each key's count.
async fn nodes_share_counts(db: &TestDb) {
    let other = db.node().await;
    for (i, node) in [&db.store, &other, &db.store].into_iter().enumerate() {
        let taken = node.take_limit("k", NOW, LIMIT).await.unwrap();
        assert_eq!(taken, Taken::Allowed, "{i}");
    }
    for node in [&other, &db.store] {
        assert!(!node.take_limit("k", NOW, LIMIT).await.unwrap().allowed());
    }
    other.close().await;
}

on_each_backend!(
    takes_count_and_refuse_until_the_window_ends,
    given_back_actions_count_again
);
on_each_backend!(db: nodes_share_counts);
