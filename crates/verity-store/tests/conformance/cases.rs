//! Verification cases and their evidence.

use verity_core::verification::{CaseState, Method, RejectReason};
use verity_store::audit::AuditEvent;
use verity_store::cases::{Case, Evidence};
use verity_store::users::VerificationRecord;
use verity_store::{Store, StoreError};

use crate::harness::{NOW, TestDb, raw, user};

/// A case with every optional field set.
fn full_case(id: &str, uuid: &str) -> Case {
    Case {
        address: Some("jane@va.gov".into()),
        code_hash: Some("code-hash".into()),
        code_expires_at: Some(NOW + 900),
        code_tries: 2,
        code_sent_at: Some(NOW),
        document_type: Some("dd214".into()),
        subgroups: vec!["Veteran".into()],
        attributes: [("fname".to_owned(), "Jane".to_owned())].into(),
        reason: Some(RejectReason::Mismatch),
        claimed_by: Some("u-reviewer".into()),
        claimed_until: Some(NOW + 600),
        decided_by: Some("u-reviewer".into()),
        decided_at: Some(NOW + 5),
        expires_at: Some(NOW + 1000),
        ..Case::new(id, uuid, "government", Method::EmailDomain, NOW)
    }
}

/// Cases come back field for field (states and methods by name, JSON subgroups and
/// attributes, NULLs); an account's cases newest first; its open case per group.
async fn cases_round_trip(store: &Store) {
    user(store, "u-1", "jane@example.com").await;
    let full = full_case("case-1", "u-1");
    store.insert_case(&full).await.unwrap();
    let bare = Case::new("case-2", "u-1", "military", Method::Document, NOW + 1);
    store.insert_case(&bare).await.unwrap();
    assert_eq!(bare.state, CaseState::InReview);

    assert_eq!(store.find_case("case-1").await.unwrap(), Some(full.clone()));
    assert_eq!(store.find_case("case-2").await.unwrap(), Some(bare.clone()));
    assert_eq!(store.find_case("case-none").await.unwrap(), None);
    assert_eq!(
        store.find_user_cases("u-1").await.unwrap(),
        [bare.clone(), full.clone()]
    );
    assert_eq!(
        store.find_open_case("u-1", "government").await.unwrap(),
        Some(full)
    );
    assert_eq!(
        store.find_open_case("u-1", "military").await.unwrap(),
        Some(bare)
    );
    assert_eq!(store.find_open_case("u-1", "student").await.unwrap(), None);
}

/// At most one open case per account and group, and one address per group at a time; a case
/// once decided leaves room for the next.
async fn one_open_case_per_group(store: &Store) {
    user(store, "u-1", "jane@example.com").await;
    user(store, "u-2", "john@example.com").await;
    let first = full_case("case-1", "u-1");
    store.insert_case(&first).await.unwrap();
    let again = Case::new("case-2", "u-1", "government", Method::Document, NOW);
    assert!(matches!(
        store.insert_case(&again).await,
        Err(StoreError::Conflict)
    ));
    // The same address for another account, same group: refused; another group: fine.
    let other = Case {
        address: Some("jane@va.gov".into()),
        ..Case::new("case-3", "u-2", "government", Method::EmailDomain, NOW)
    };
    assert!(matches!(
        store.insert_case(&other).await,
        Err(StoreError::Conflict)
    ));
    let elsewhere = Case {
        grp: "student".into(),
        ..other.clone()
    };
    store.insert_case(&elsewhere).await.unwrap();

    let rejected = Case {
        state: CaseState::Withdrawn,
        updated_at: NOW + 1,
        ..first.clone()
    };
    assert!(
        store
            .update_case(&rejected, CaseState::PendingCode)
            .await
            .unwrap()
    );
    store.insert_case(&again).await.unwrap();
    let other = Case {
        id: "case-4".into(),
        ..other
    };
    store.insert_case(&other).await.unwrap();
}

/// A change is written only while the case is in the state it was read in: a replayed
/// decision writes nothing, and the account, group, method and creation never change.
async fn decisions_are_recorded_once(store: &Store) {
    user(store, "u-1", "jane@example.com").await;
    let case = Case::new("case-1", "u-1", "military", Method::Document, NOW);
    store.insert_case(&case).await.unwrap();
    let approved = Case {
        state: CaseState::Verified,
        subgroups: vec!["Veteran".into()],
        decided_by: Some("u-reviewer".into()),
        decided_at: Some(NOW + 10),
        updated_at: NOW + 10,
        ..case.clone()
    };
    assert!(
        store
            .update_case(&approved, CaseState::InReview)
            .await
            .unwrap()
    );
    let rejected = Case {
        state: CaseState::Rejected,
        reason: Some(RejectReason::Unreadable),
        ..approved.clone()
    };
    assert!(
        !store
            .update_case(&rejected, CaseState::InReview)
            .await
            .unwrap()
    );
    assert_eq!(
        store.find_case("case-1").await.unwrap(),
        Some(approved.clone())
    );

    let moved = Case {
        uuid: "u-other".into(),
        grp: "student".into(),
        method: Method::Operator,
        created_at: 0,
        state: CaseState::Revoked,
        ..approved.clone()
    };
    assert!(
        store
            .update_case(&moved, CaseState::Verified)
            .await
            .unwrap()
    );
    let stored = store.find_case("case-1").await.unwrap().unwrap();
    assert_eq!(stored.state, CaseState::Revoked);
    assert_eq!(
        (
            stored.uuid.as_str(),
            stored.grp.as_str(),
            stored.method,
            stored.created_at
        ),
        ("u-1", "military", Method::Document, NOW)
    );
    let unknown = Case {
        id: "case-none".into(),
        ..approved
    };
    assert!(
        !store
            .update_case(&unknown, CaseState::Verified)
            .await
            .unwrap()
    );
}

/// A decision writes the case, the account's verification and the audit row together, once:
/// a replayed decision writes none of them.
async fn a_decision_is_recorded_with_its_outcome(store: &Store) {
    user(store, "u-1", "jane@example.com").await;
    let case = Case::new("case-1", "u-1", "military", Method::Document, NOW);
    store.insert_case(&case).await.unwrap();
    let approved = Case {
        state: CaseState::Verified,
        subgroups: vec!["Veteran".into()],
        decided_by: Some("r-1".into()),
        decided_at: Some(NOW + 10),
        updated_at: NOW + 10,
        ..case.clone()
    };
    let outcome = VerificationRecord {
        group: "military".into(),
        verified: true,
        subgroups: vec!["Veteran".into()],
        method: "document".into(),
        decided_by: "r-1".into(),
        decided_at: NOW + 10,
    };
    let audit = crate::harness::audit_event("verification.approved");
    // What a reviewer read from an identity document becomes the account's attribute.
    let read = [("fname".to_owned(), "Janet".to_owned())].into();
    assert!(
        store
            .decide_case(
                &approved,
                CaseState::InReview,
                Some(&outcome),
                &read,
                &audit
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.find_case("case-1").await.unwrap(),
        Some(approved.clone())
    );
    let data = store.find_user_data("u-1").await.unwrap().unwrap();
    assert!(data.is_verified("military"));
    assert_eq!(data.attributes["fname"], serde_json::json!("Janet"));
    assert_eq!(
        store.find_verified_case("u-1", "military").await.unwrap(),
        Some(approved.clone())
    );
    assert_eq!(
        crate::harness::audit_names(store, "c-1").await,
        ["verification.approved"]
    );

    // Replayed (as a rejection): nothing is written.
    let rejected = Case {
        state: CaseState::Rejected,
        reason: Some(RejectReason::Mismatch),
        ..approved.clone()
    };
    let not_verified = VerificationRecord {
        verified: false,
        ..outcome.clone()
    };
    let again = crate::harness::audit_event("verification.rejected");
    assert!(
        !store
            .decide_case(
                &rejected,
                CaseState::InReview,
                Some(&not_verified),
                &Default::default(),
                &again
            )
            .await
            .unwrap()
    );
    assert_eq!(store.find_case("case-1").await.unwrap(), Some(approved));
    assert!(
        store
            .find_user_data("u-1")
            .await
            .unwrap()
            .unwrap()
            .is_verified("military")
    );
    assert_eq!(crate::harness::audit_names(store, "c-1").await.len(), 1);
    assert_eq!(
        store.find_verified_case("u-1", "student").await.unwrap(),
        None
    );
}

/// A case in review is held by one reviewer until their claim runs out; the queue lists cases
/// in review, oldest first.
async fn claims_and_the_queue(store: &Store) {
    user(store, "u-1", "jane@example.com").await;
    user(store, "u-2", "john@example.com").await;
    let older = Case::new("case-b", "u-1", "military", Method::Document, NOW);
    let newer = Case::new("case-a", "u-2", "military", Method::Document, NOW + 5);
    let code = Case::new("case-c", "u-1", "government", Method::EmailDomain, NOW - 5);
    for c in [&newer, &older, &code] {
        store.insert_case(c).await.unwrap();
    }
    let queue = store.find_cases_in(CaseState::InReview).await.unwrap();
    let ids: Vec<&str> = queue.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["case-b", "case-a"]);

    assert!(
        store
            .claim_case(
                "case-b",
                "r-1",
                NOW,
                NOW + 600,
                &crate::harness::audit_event("verification.claimed")
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_case(
                "case-b",
                "r-2",
                NOW + 1,
                NOW + 601,
                &crate::harness::audit_event("verification.claimed")
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_case(
                "case-b",
                "r-1",
                NOW + 2,
                NOW + 602,
                &crate::harness::audit_event("verification.claimed")
            )
            .await
            .unwrap()
    );
    // Once the claim runs out, another reviewer may take the case.
    assert!(
        store
            .claim_case(
                "case-b",
                "r-2",
                NOW + 602,
                NOW + 1200,
                &crate::harness::audit_event("verification.claimed")
            )
            .await
            .unwrap()
    );
    let held = store.find_case("case-b").await.unwrap().unwrap();
    assert_eq!(
        (held.claimed_by.as_deref(), held.claimed_until),
        (Some("r-2"), Some(NOW + 1200))
    );
    // Only cases in review are claimed.
    assert!(
        !store
            .claim_case(
                "case-c",
                "r-1",
                NOW,
                NOW + 600,
                &crate::harness::audit_event("verification.claimed")
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_case(
                "case-none",
                "r-1",
                NOW,
                NOW + 600,
                &crate::harness::audit_event("verification.claimed")
            )
            .await
            .unwrap()
    );
    // Four eyes: nobody claims their own case, even a free one.
    assert!(
        !store
            .claim_case(
                "case-a",
                "u-2",
                NOW,
                NOW + 600,
                &crate::harness::audit_event("verification.claimed")
            )
            .await
            .unwrap()
    );
    // Each claim that took the case is audited; refused claims are not.
    assert_eq!(crate::harness::audit_names(store, "c-1").await.len(), 3);
    // Only the holder lets a case go.
    assert!(
        !store
            .release_case("case-b", "r-1", NOW + 603)
            .await
            .unwrap()
    );
    assert!(
        store
            .release_case("case-b", "r-2", NOW + 603)
            .await
            .unwrap()
    );
    let free = store.find_case("case-b").await.unwrap().unwrap();
    assert_eq!((free.claimed_by, free.claimed_until), (None, None));
}

/// Evidence is listed without its content, read with it, and purged (the row stays): on
/// withdrawal, or once its case was decided before the retention period's start.
async fn evidence_is_sealed_and_purged(store: &Store) {
    user(store, "u-1", "jane@example.com").await;
    let decided = Case {
        state: CaseState::Verified,
        decided_at: Some(NOW),
        ..Case::new("case-1", "u-1", "military", Method::Document, NOW - 10)
    };
    let open = Case::new("case-2", "u-1", "identity", Method::Document, NOW);
    for c in [&decided, &open] {
        store.insert_case(c).await.unwrap();
    }
    let file = |id: &str, case_id: &str, kind: &str| Evidence {
        id: id.into(),
        case_id: case_id.into(),
        kind: kind.into(),
        content_type: "image/png".into(),
        size: 4,
        key_id: "k-1".into(),
        sealed: Some(vec![0, 1, 2, 255]),
        created_at: NOW,
        purged_at: None,
    };
    let files = [
        file("ev-1", "case-1", "document"),
        file("ev-2", "case-2", "document"),
        file("ev-3", "case-2", "selfie"),
    ];
    for f in &files {
        store.insert_evidence(f).await.unwrap();
    }
    assert_eq!(
        store.find_evidence("ev-1").await.unwrap(),
        Some(files[0].clone())
    );
    let listed = store.find_case_evidence("case-2").await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|e| e.sealed.is_none()), "{listed:?}");
    assert_eq!(listed[1].kind, "selfie");

    // Decided before the cutoff: listed for the purge; the open case's files stay.
    let due = store.find_cases_to_purge(NOW + 1).await.unwrap();
    let [due] = &due[..] else { panic!("{due:?}") };
    let (due_case, due_owner) = (&due.id, &due.uuid);
    let purged_event = |case: &str| AuditEvent {
        at: NOW + 100,
        event: "verification.evidence_purged".into(),
        uuid: Some(due_owner.clone()),
        client_id: None,
        address: None,
        request_id: None,
        detail: serde_json::json!({"case": case}),
    };
    assert!(
        store
            .purge_case_evidence(due_case, NOW + 100, &purged_event(due_case))
            .await
            .unwrap()
    );
    // Nothing left to purge: no second audit row.
    assert!(
        !store
            .purge_case_evidence(due_case, NOW + 101, &purged_event(due_case))
            .await
            .unwrap()
    );
    assert_eq!(store.find_cases_to_purge(NOW + 1).await.unwrap(), []);
    let trail = store.find_audit(None, Some(due_owner), 10).await.unwrap();
    assert_eq!(
        trail
            .iter()
            .filter(|e| e.event == "verification.evidence_purged")
            .count(),
        1
    );
    let purged = store.find_evidence("ev-1").await.unwrap().unwrap();
    assert_eq!((purged.sealed, purged.purged_at), (None, Some(NOW + 100)));
    assert!(
        store
            .find_evidence("ev-2")
            .await
            .unwrap()
            .unwrap()
            .sealed
            .is_some()
    );

    assert!(
        store
            .purge_case_evidence("case-2", NOW + 200, &purged_event("case-2"))
            .await
            .unwrap()
    );
    assert!(
        store
            .find_evidence("ev-3")
            .await
            .unwrap()
            .unwrap()
            .sealed
            .is_none()
    );
}

/// A verification recorded by an operator or the sandbox is recorded with its decided case, in
/// one transaction: a replaced verification keeps the earlier case as history.
async fn recorded_verifications_have_cases(store: &Store) {
    user(store, "u-1", "jane@example.com").await;
    let record = |verified, method: &str, at| VerificationRecord {
        group: "military".into(),
        verified,
        subgroups: vec!["Veteran".into()],
        method: method.into(),
        decided_by: "ops@example.com".into(),
        decided_at: at,
    };
    store
        .upsert_verification("u-1", &record(true, "sandbox", NOW))
        .await
        .unwrap();
    store
        .upsert_verification("u-1", &record(false, "admin", NOW + 1))
        .await
        .unwrap();
    let cases = store.find_user_cases("u-1").await.unwrap();
    let seen: Vec<_> = cases
        .iter()
        .map(|c| {
            (
                c.method,
                c.state,
                c.decided_by.as_deref(),
                c.decided_at,
                c.created_at,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                Method::Operator,
                CaseState::Revoked,
                Some("ops@example.com"),
                Some(NOW + 1),
                NOW + 1
            ),
            (
                Method::Sandbox,
                CaseState::Verified,
                Some("ops@example.com"),
                Some(NOW),
                NOW
            ),
        ]
    );
    assert_eq!(cases[1].subgroups, ["Veteran"]);
    // An unknown account: neither is written.
    let err = store
        .upsert_verification("u-none", &record(true, "admin", NOW))
        .await;
    assert!(err.is_err());
    assert_eq!(store.find_user_cases("u-none").await.unwrap(), []);
}

/// Migration 0008 makes every verification recorded before it a decided case: the sandbox's
/// of method `sandbox`, any other an operator's; a verification recorded as not verified a
/// revoked case. (Its data step, run again here on a database that has verifications.)
async fn recorded_verifications_become_cases(db: &TestDb) {
    let store = &db.store;
    user(store, "u-1", "jane@example.com").await;
    for (grp, verified, method) in [("military", true, "sandbox"), ("student", false, "admin")] {
        let record = VerificationRecord {
            group: grp.into(),
            verified,
            subgroups: vec!["Veteran".into()],
            method: method.into(),
            decided_by: "ops@example.com".into(),
            decided_at: NOW,
        };
        store.upsert_verification("u-1", &record).await.unwrap();
    }
    let migration = if db.url.starts_with("sqlite://") {
        include_str!("../../migrations/sqlite/0008_verification_cases.sql")
    } else {
        include_str!("../../migrations/postgres/0008_verification_cases.sql")
    };
    let data_step = &migration[migration.rfind("INSERT INTO verification_cases").unwrap()..];
    // Recorded now, each verification has its case already: start from none, as before 0008.
    assert_eq!(store.find_user_cases("u-1").await.unwrap().len(), 2);
    assert!(raw(db, "DELETE FROM verification_cases").await);
    assert!(raw(db, data_step).await);
    let mut cases = store.find_user_cases("u-1").await.unwrap();
    cases.sort_by(|a, b| a.grp.cmp(&b.grp));
    let seen: Vec<_> = cases
        .iter()
        .map(|c| {
            (
                c.grp.as_str(),
                c.method,
                c.state,
                c.decided_at,
                c.subgroups.len(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "military",
                Method::Sandbox,
                CaseState::Verified,
                Some(NOW),
                1
            ),
            (
                "student",
                Method::Operator,
                CaseState::Revoked,
                Some(NOW),
                1
            ),
        ]
    );
    assert_eq!(cases[0].id.len(), 32);
    assert_ne!(cases[0].id, cases[1].id);
}

on_each_backend!(db: recorded_verifications_become_cases);

/// A submission stores its case, files and audit row together, or nothing (a second open case
/// for the group is refused whole).
async fn a_submission_is_stored_whole(store: &Store) {
    user(store, "u-1", "jane@example.com").await;
    let file = |id: &str, case_id: &str| Evidence {
        id: id.into(),
        case_id: case_id.into(),
        kind: "document".into(),
        content_type: "application/pdf".into(),
        size: 3,
        key_id: "k-1".into(),
        sealed: Some(vec![1, 2, 3]),
        created_at: NOW,
        purged_at: None,
    };
    let case = Case::new("case-1", "u-1", "military", Method::Document, NOW);
    let audit = crate::harness::audit_event("verification.submitted");
    store
        .insert_case_with_evidence(
            &case,
            &[file("ev-1", "case-1"), file("ev-2", "case-1")],
            &audit,
        )
        .await
        .unwrap();
    assert_eq!(store.find_case_evidence("case-1").await.unwrap().len(), 2);
    assert_eq!(
        crate::harness::audit_names(store, "c-1").await,
        ["verification.submitted"]
    );

    let again = Case::new("case-2", "u-1", "military", Method::Document, NOW);
    let err = store
        .insert_case_with_evidence(&again, &[file("ev-3", "case-2")], &audit)
        .await;
    assert!(matches!(err, Err(StoreError::Conflict)), "{err:?}");
    assert_eq!(store.find_case("case-2").await.unwrap(), None);
    assert_eq!(store.find_evidence("ev-3").await.unwrap(), None);
    assert_eq!(crate::harness::audit_names(store, "c-1").await.len(), 1);
}

on_each_backend!(a_submission_is_stored_whole);

on_each_backend!(
    recorded_verifications_have_cases,
    a_decision_is_recorded_with_its_outcome,
    cases_round_trip,
    one_open_case_per_group,
    decisions_are_recorded_once,
    claims_and_the_queue,
    evidence_is_sealed_and_purged,
);
