//! TOTP enrolment, its replay guard, and recovery codes.

use verity_store::Store;

use crate::harness::user;

/// The sealed TOTP secret is stored byte for byte and each new secret resets the replay guard;
/// a step is accepted only if newer than the last one, per user; removing the secret clears it.
async fn totp_steps_only_move_forward(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    user(store, "u-2", "bob@example.com").await;
    let sealed: Vec<u8> = [0u8, 255, 0, 1, 128].repeat(10);
    store.update_user_totp("u-1", Some(&sealed)).await.unwrap();
    let found = store.find_user("u-1").await.unwrap().unwrap();
    assert_eq!(found.totp_secret.as_deref(), Some(&sealed[..]));
    assert_eq!(found.totp_last_step, None);

    assert!(store.take_totp_step("u-1", 100).await.unwrap());
    assert!(!store.take_totp_step("u-1", 100).await.unwrap(), "replayed");
    assert!(!store.take_totp_step("u-1", 99).await.unwrap(), "older");
    assert!(store.take_totp_step("u-1", 101).await.unwrap());
    assert!(store.take_totp_step("u-2", 100).await.unwrap(), "per user");
    assert!(!store.take_totp_step("u-none", 1).await.unwrap());
    assert_eq!(
        store
            .find_user("u-1")
            .await
            .unwrap()
            .unwrap()
            .totp_last_step,
        Some(101)
    );

    // A new secret: the guard starts over.
    store
        .update_user_totp("u-1", Some(b"\x01\x02"))
        .await
        .unwrap();
    let found = store.find_user("u-1").await.unwrap().unwrap();
    assert_eq!(found.totp_secret.as_deref(), Some(&b"\x01\x02"[..]));
    assert_eq!(found.totp_last_step, None);
    assert!(store.take_totp_step("u-1", 50).await.unwrap());

    store.update_user_totp("u-1", None).await.unwrap();
    let found = store.find_user("u-1").await.unwrap().unwrap();
    assert_eq!(found.totp_secret, None);
    assert_eq!(found.totp_last_step, None);
    assert_eq!(
        store
            .find_user("u-2")
            .await
            .unwrap()
            .unwrap()
            .totp_last_step,
        Some(100)
    );
}

/// Recovery codes are single use and per user; replacing them voids the old set; a new TOTP
/// secret keeps them and removing the second factor deletes them.
async fn recovery_codes_single_use(store: &Store) {
    user(store, "u-1", "alice@example.com").await;
    user(store, "u-2", "bob@example.com").await;
    let codes = |names: &[&str]| -> Vec<String> { names.iter().map(|s| (*s).to_owned()).collect() };
    store
        .replace_recovery_codes("u-1", &codes(&["rc-a", "rc-b", "rc-c"]))
        .await
        .unwrap();
    assert!(store.take_recovery_code("u-1", "rc-a", 1).await.unwrap());
    assert!(!store.take_recovery_code("u-1", "rc-a", 2).await.unwrap());
    assert!(
        !store.take_recovery_code("u-2", "rc-b", 2).await.unwrap(),
        "another user's"
    );
    assert!(!store.take_recovery_code("u-1", "rc-none", 2).await.unwrap());

    store
        .replace_recovery_codes("u-1", &codes(&["rc-d"]))
        .await
        .unwrap();
    assert!(
        !store.take_recovery_code("u-1", "rc-b", 3).await.unwrap(),
        "replaced"
    );
    store
        .replace_recovery_codes("u-2", &codes(&["rc-b"]))
        .await
        .unwrap();

    store
        .update_user_totp("u-1", Some(b"secret"))
        .await
        .unwrap();
    assert!(
        store.take_recovery_code("u-1", "rc-d", 4).await.unwrap(),
        "kept"
    );

    store
        .replace_recovery_codes("u-1", &codes(&["rc-e"]))
        .await
        .unwrap();
    store.update_user_totp("u-1", None).await.unwrap();
    assert!(
        !store.take_recovery_code("u-1", "rc-e", 5).await.unwrap(),
        "deleted"
    );
    assert!(store.take_recovery_code("u-2", "rc-b", 5).await.unwrap());

    store.replace_recovery_codes("u-1", &[]).await.unwrap();
    assert!(!store.take_recovery_code("u-1", "rc-d", 6).await.unwrap());
}

on_each_backend!(totp_steps_only_move_forward, recovery_codes_single_use);
