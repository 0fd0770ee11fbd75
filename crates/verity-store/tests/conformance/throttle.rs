//! Failed-attempt counters.

use verity_store::Store;
use verity_store::throttle::Attempts;

use crate::harness::NOW;

const WINDOW: i64 = 900;
const LIMIT: i64 = 3;
const LOCK: i64 = 60;

fn attempts(failures: i64, locked_until: i64, allowed: bool) -> Attempts {
    Attempts {
        failures,
        locked_until,
        allowed,
    }
}

/// Attempts are counted per key up to the limit; the next one locks the key (and a locked key is
/// not counted further); when the lock runs out one attempt goes through, and a failure then locks
/// for longer; a new window starts over.
async fn attempts_count_and_lock(store: &Store) {
    let take = |key: &'static str, now: i64| store.take_attempt(key, now, WINDOW, LIMIT, LOCK);
    for n in 1..=LIMIT {
        assert_eq!(take("k", NOW).await.unwrap(), attempts(n, 0, true));
    }
    assert_eq!(
        take("k", NOW + 1).await.unwrap(),
        attempts(LIMIT + 1, NOW + 1 + LOCK, false)
    );
    assert_eq!(
        take("k", NOW + 30).await.unwrap(),
        attempts(LIMIT + 1, NOW + 1 + LOCK, false),
        "not counted while locked"
    );
    assert_eq!(take("other", NOW + 30).await.unwrap(), attempts(1, 0, true));
    assert_eq!(
        take("k", NOW + 1 + LOCK).await.unwrap(),
        attempts(LIMIT + 2, 0, true),
        "one attempt when the lock runs out"
    );
    let again = take("k", NOW + 2 + LOCK).await.unwrap();
    assert_eq!(again, attempts(LIMIT + 3, NOW + 2 + LOCK + 4 * LOCK, false));
    assert_eq!(
        take("k", NOW + 2 + 5 * LOCK + WINDOW).await.unwrap(),
        attempts(1, 0, true),
        "a new window"
    );
}

/// A released attempt is given back, never below zero (an unknown key stays unknown); clearing a
/// key, even a locked one, starts it over.
async fn release_and_clear(store: &Store) {
    let take = |key: &'static str, now: i64| store.take_attempt(key, now, WINDOW, LIMIT, LOCK);
    take("k", NOW).await.unwrap();
    assert_eq!(take("k", NOW).await.unwrap().failures, 2);
    store.release_attempt("k").await.unwrap();
    assert_eq!(take("k", NOW).await.unwrap().failures, 2);
    for _ in 0..3 {
        store.release_attempt("k").await.unwrap();
    }
    assert_eq!(
        take("k", NOW).await.unwrap(),
        attempts(1, 0, true),
        "never negative"
    );

    store.release_attempt("unknown").await.unwrap();
    assert_eq!(take("unknown", NOW).await.unwrap(), attempts(1, 0, true));

    for _ in 0..LIMIT {
        take("locked", NOW).await.unwrap();
    }
    assert!(!take("locked", NOW).await.unwrap().allowed);
    store.clear_failures("locked").await.unwrap();
    assert_eq!(take("locked", NOW).await.unwrap(), attempts(1, 0, true));
    store.clear_failures("never-seen").await.unwrap();
}

on_each_backend!(attempts_count_and_lock, release_and_clear);
