//! Verification cases and their evidence (SPEC 12). What a case may become is
//! `verity_core::verification`'s; here a case is written, read, and changed only if it is still
//! in the state it was read in, so that of two decisions taken at once exactly one is recorded.

use std::collections::BTreeMap;

use verity_core::secret::new_token;
use verity_core::verification::{CaseState, Method, RejectReason};

use crate::Store;
use crate::audit::AuditEvent;
use crate::error::{Result, StoreError, conflict_or};
use crate::lite::Begin;
use crate::sql::{insert, query, stored, to_json, update};
use crate::users::{VerificationRecord, verification_upsert};

/// A verification case: one account, one group (or `identity`), one method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: String,
    pub uuid: String,
    /// The group handle, or `identity`.
    pub grp: String,
    pub method: Method,
    pub state: CaseState,
    /// `email_domain`: the address the code goes to (normalized).
    pub address: Option<String>,
    /// `email_domain`: the SHA-256 of the code sent last.
    pub code_hash: Option<String>,
    pub code_expires_at: Option<i64>,
    /// Wrong codes entered so far.
    pub code_tries: i64,
    pub code_sent_at: Option<i64>,
    /// `document`: the kind of document the person said they uploaded.
    pub document_type: Option<String>,
    pub subgroups: Vec<String>,
    /// `identity`: what the reviewer read from the document.
    pub attributes: BTreeMap<String, String>,
    pub reason: Option<RejectReason>,
    /// The reviewer holding the case, until `claimed_until`.
    pub claimed_by: Option<String>,
    pub claimed_until: Option<i64>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    /// The end of the verification's lifetime, when it has one.
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Case {
    /// A new case in the state its method starts it in.
    pub fn new(id: &str, uuid: &str, grp: &str, method: Method, now: i64) -> Self {
        Case {
            id: id.to_owned(),
            uuid: uuid.to_owned(),
            grp: grp.to_owned(),
            method,
            state: verity_core::verification::initial_state(method),
            address: None,
            code_hash: None,
            code_expires_at: None,
            code_tries: 0,
            code_sent_at: None,
            document_type: None,
            subgroups: Vec::new(),
            attributes: BTreeMap::new(),
            reason: None,
            claimed_by: None,
            claimed_until: None,
            decided_by: None,
            decided_at: None,
            expires_at: None,
            created_at: now,
            updated_at: now,
        }
    }
}

stored!(Case => "verification_cases" {
    id, uuid, grp, method [text], state [text], address, code_hash, code_expires_at, code_tries,
    code_sent_at, document_type, subgroups [json], attributes [json], reason [text], claimed_by,
    claimed_until, decided_by, decided_at, expires_at, created_at, updated_at,
});

/// A file of a document case. `sealed` is the encrypted content (`None` once purged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub id: String,
    pub case_id: String,
    /// `document` or `selfie`.
    pub kind: String,
    /// Sniffed from the content.
    pub content_type: String,
    pub size: i64,
    /// Names the key it is sealed under (the key ring's).
    pub key_id: String,
    pub sealed: Option<Vec<u8>>,
    pub created_at: i64,
    pub purged_at: Option<i64>,
}

stored!(Evidence => "verification_evidence" {
    id, case_id, kind, content_type, size, key_id, sealed, created_at, purged_at,
});

/// What a change never writes: a case's account, group, method and creation.
const UNCHANGED: &[&str] = &["uuid", "grp", "method", "created_at"];

/// How many open cases, and a page of them, a queue read answers at most.
pub const QUEUE_PAGE: i64 = 100;

impl Store {
    /// Stores a new case. [`crate::StoreError::Conflict`] when the account already has an open
    /// case for the group, or the address verifies another account for it.
    pub async fn insert_case(&self, c: &Case) -> Result<()> {
        self.exec(insert(c)).await.map_err(conflict_or)?;
        Ok(())
    }

    pub async fn find_case(&self, id: &str) -> Result<Option<Case>> {
        let q = query("SELECT * FROM verification_cases WHERE id = $1");
        self.fetch_opt_by(q, id).await
    }

    /// An account's cases, newest first.
    pub async fn find_user_cases(&self, uuid: &str) -> Result<Vec<Case>> {
        let q =
            query("SELECT * FROM verification_cases WHERE uuid = $1 ORDER BY created_at DESC, id");
        self.fetch_all(q.bind(uuid)).await
    }

    /// The account's open case for a group, if any (at most one: the schema's unique index).
    pub async fn find_open_case(&self, uuid: &str, grp: &str) -> Result<Option<Case>> {
        let q = query(
            "SELECT * FROM verification_cases WHERE uuid = $1 AND grp = $2
               AND state IN ('pending_code', 'in_review')",
        );
        self.fetch_opt(q.bind(uuid).bind(grp)).await
    }

    /// Writes `c` (every column but its account, group, method and creation) if the case is
    /// still in state `was`; whether it was written. `false`: another change came first (a
    /// second decision, a concurrent expiry), and nothing was written.
    pub async fn update_case(&self, c: &Case, was: CaseState) -> Result<bool> {
        let q = update(c, "id", UNCHANGED);
        let was = state_name(was);
        Ok(self.exec(q.push(" AND state = ").push_bind(was)).await? == 1)
    }

    /// Records (or replaces) the verification of one group, an operator's assertion or the
    /// sandbox's (by `v.method`), together with the decided case that is its record (SPEC 12:
    /// method `sandbox` or `operator`, state `verified`, or `revoked` for a recorded "not
    /// verified").
    pub async fn upsert_verification(&self, uuid: &str, v: &VerificationRecord) -> Result<()> {
        let method = if v.method == "sandbox" {
            Method::Sandbox
        } else {
            Method::Operator
        };
        let case = Case {
            state: if v.verified {
                CaseState::Verified
            } else {
                CaseState::Revoked
            },
            subgroups: v.subgroups.clone(),
            decided_by: Some(v.decided_by.clone()),
            decided_at: Some(v.decided_at),
            ..Case::new(&new_token(), uuid, &v.group, method, v.decided_at)
        };
        self.record_decided_case(&case, v).await
    }

    /// Stores a case already decided (`c`, new) with the account's verification of its group
    /// (`v`), in one transaction: an assertion's record, or a seeded persona's case.
    pub async fn record_decided_case(&self, c: &Case, v: &VerificationRecord) -> Result<()> {
        let q = verification_upsert(&c.uuid, v);
        let recorded = self.write(Begin::Write, vec![insert(c), q]).await;
        recorded.map_err(|e| match conflict_or(e) {
            StoreError::Conflict => StoreError::Corrupt("verification conflict".into()),
            other => other,
        })?;
        Ok(())
    }

    /// Deletes every verification of account `uuid` with all its cases and their files, in one
    /// transaction: `verity sandbox reset` clears a sandbox persona this way before recording
    /// its seeded verifications again.
    pub async fn delete_user_verifications(&self, uuid: &str) -> Result<()> {
        let files = query(
            "DELETE FROM verification_evidence
             WHERE case_id IN (SELECT id FROM verification_cases WHERE uuid = $1)",
        );
        let cases = query("DELETE FROM verification_cases WHERE uuid = $1");
        let outcomes = query("DELETE FROM verifications WHERE uuid = $1");
        let writes = vec![files.bind(uuid), cases.bind(uuid), outcomes.bind(uuid)];
        self.write(Begin::Write, writes).await?;
        Ok(())
    }

    /// Records a decision on a case (an approval, a rejection, a revocation, an expiry): `c` is
    /// written if the case is still in state `was`, and with it, in the same transaction,
    /// `outcome` (the account's verification of the group, which claims are built from) and
    /// `audit`. Whether it was written; `false`: another decision came first, and nothing was.
    pub async fn decide_case(
        &self,
        c: &Case,
        was: CaseState,
        outcome: Option<&VerificationRecord>,
        attributes: &BTreeMap<String, String>,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let changed = update(c, "id", UNCHANGED)
            .push(" AND state = ")
            .push_bind(state_name(was))
            .push(" RETURNING id");
        self.write_after(Vec::new(), changed, |found: Option<String>| {
            if found.is_none() {
                return Ok((Vec::new(), false));
            }
            let mut writes = vec![insert(audit)];
            writes.extend(outcome.map(|v| verification_upsert(&c.uuid, v)));
            for (handle, value) in attributes {
                let upsert = query(
                    "INSERT INTO user_attributes (uuid, handle, value) VALUES ($1, $2, $3)
                     ON CONFLICT (uuid, handle) DO UPDATE SET value = excluded.value",
                );
                let value = to_json(&serde_json::Value::String(value.clone()));
                writes.push(upsert.bind(&c.uuid).bind(handle).bind(value));
            }
            Ok((writes, true))
        })
        .await
    }

    /// Cases in `state`, oldest first (at most [`QUEUE_PAGE`]).
    pub async fn find_cases_in(&self, state: CaseState) -> Result<Vec<Case>> {
        let q = query(
            "SELECT * FROM verification_cases WHERE state = $1 ORDER BY created_at, id LIMIT $2",
        );
        self.fetch_all(q.bind(state_name(state)).bind(QUEUE_PAGE))
            .await
    }

    /// How many files each case in review holds (cases without files are absent), for the
    /// reviewers' queue, in one query.
    pub async fn count_evidence_in_review(&self) -> Result<BTreeMap<String, i64>> {
        let q = query(
            "SELECT e.case_id, COUNT(*) AS files FROM verification_evidence e
             JOIN verification_cases c ON c.id = e.case_id
             WHERE c.state = 'in_review' GROUP BY e.case_id",
        );
        let counts: Vec<FileCount> = self.fetch_all(q).await?;
        Ok(counts.into_iter().map(|c| (c.case_id, c.files)).collect())
    }

    /// Verified cases whose lifetime ended by `now` (at most [`QUEUE_PAGE`], the oldest end
    /// first), for the maintenance task to expire.
    pub async fn find_cases_ending(&self, now: i64) -> Result<Vec<Case>> {
        let q = query(
            "SELECT * FROM verification_cases WHERE state = 'verified' AND expires_at <= $1
             ORDER BY expires_at, id LIMIT $2",
        );
        self.fetch_all(q.bind(now).bind(QUEUE_PAGE)).await
    }

    /// The account's latest verified case for a group, if it has one.
    pub async fn find_verified_case(&self, uuid: &str, grp: &str) -> Result<Option<Case>> {
        let q = query(
            "SELECT * FROM verification_cases WHERE uuid = $1 AND grp = $2 AND state = 'verified'
             ORDER BY decided_at DESC, id LIMIT 1",
        );
        self.fetch_opt(q.bind(uuid).bind(grp)).await
    }

    /// Gives case `id`, in review, to `reviewer` until `until`, unless another reviewer holds
    /// it at `now` (or it is the reviewer's own), with the audit row of the claim; whether they
    /// hold it now.
    pub async fn claim_case(
        &self,
        id: &str,
        reviewer: &str,
        now: i64,
        until: i64,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let q = query(
            "UPDATE verification_cases SET claimed_by = $1, claimed_until = $2, updated_at = $3
             WHERE id = $4 AND state = 'in_review' AND uuid <> $1
               AND (claimed_by IS NULL OR claimed_by = $1 OR claimed_until <= $3)
             RETURNING id",
        );
        let claimed = q.bind(reviewer).bind(until).bind(now).bind(id);
        self.write_after(Vec::new(), claimed, |found: Option<String>| {
            Ok(match found {
                Some(_) => (vec![insert(audit)], true),
                None => (Vec::new(), false),
            })
        })
        .await
    }

    /// `reviewer` lets case `id` go back to the queue; whether they held it.
    pub async fn release_case(&self, id: &str, reviewer: &str, now: i64) -> Result<bool> {
        let q = query(
            "UPDATE verification_cases SET claimed_by = NULL, claimed_until = NULL, updated_at = $1
             WHERE id = $2 AND state = 'in_review' AND claimed_by = $3",
        );
        Ok(self.exec(q.bind(now).bind(id).bind(reviewer)).await? == 1)
    }

    /// Stores a new case with its files and the audit row of its submission, all or none.
    /// [`crate::StoreError::Conflict`] as [`Store::insert_case`].
    pub async fn insert_case_with_evidence(
        &self,
        c: &Case,
        files: &[Evidence],
        audit: &AuditEvent,
    ) -> Result<()> {
        let mut writes = vec![insert(c)];
        writes.extend(files.iter().map(insert));
        writes.push(insert(audit));
        self.write(Begin::Write, writes)
            .await
            .map_err(conflict_or)?;
        Ok(())
    }

    pub async fn insert_evidence(&self, e: &Evidence) -> Result<()> {
        self.exec(insert(e)).await?;
        Ok(())
    }

    /// A case's files, without their content (`sealed` is `None` in every row answered).
    pub async fn find_case_evidence(&self, case_id: &str) -> Result<Vec<Evidence>> {
        let q = query(
            "SELECT id, case_id, kind, content_type, size, key_id, NULL AS sealed, created_at,
                    purged_at
             FROM verification_evidence WHERE case_id = $1 ORDER BY created_at, id",
        );
        self.fetch_all(q.bind(case_id)).await
    }

    /// One file with its sealed content (`None` in `sealed` once purged).
    pub async fn find_evidence(&self, id: &str) -> Result<Option<Evidence>> {
        let q = query("SELECT * FROM verification_evidence WHERE id = $1");
        self.fetch_opt_by(q, id).await
    }

    /// Deletes the content of case `id`'s files, with the audit row that says so; whether it
    /// held any (nothing is written otherwise).
    pub async fn purge_case_evidence(
        &self,
        case_id: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let held = query(
            "SELECT id FROM verification_evidence WHERE case_id = $1 AND purged_at IS NULL LIMIT 1",
        );
        let purge = query(
            "UPDATE verification_evidence SET sealed = NULL, purged_at = $1
             WHERE case_id = $2 AND purged_at IS NULL",
        );
        let purge = purge.bind(now).bind(case_id);
        self.write_after(Vec::new(), held.bind(case_id), |found: Option<String>| {
            Ok(match found {
                Some(_) => (vec![purge, insert(audit)], true),
                None => (Vec::new(), false),
            })
        })
        .await
    }

    /// Cases decided before `cutoff` (the retention period's start) that still hold files (at
    /// most [`QUEUE_PAGE`]).
    pub async fn find_cases_to_purge(&self, cutoff: i64) -> Result<Vec<Case>> {
        let q = query(
            "SELECT c.* FROM verification_cases c
             WHERE c.decided_at < $1 AND EXISTS (SELECT 1 FROM verification_evidence e
                   WHERE e.case_id = c.id AND e.purged_at IS NULL)
             ORDER BY c.decided_at, c.id LIMIT $2",
        );
        self.fetch_all(q.bind(cutoff).bind(QUEUE_PAGE)).await
    }
}

/// A case's number of files.
struct FileCount {
    case_id: String,
    files: i64,
}

stored!(FileCount { case_id, files });

/// A state's stored name.
fn state_name(state: CaseState) -> String {
    crate::sql::to_text(&state).unwrap_or_default()
}

impl Store {
    /// Files (with content) sealed under another key than `key_id`, `limit` at a time after
    /// `after` (by id): what a master-key rotation re-encrypts.
    pub async fn find_evidence_sealed_elsewhere(
        &self,
        key_id: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<Evidence>> {
        let q = query(
            "SELECT * FROM verification_evidence
             WHERE key_id <> $1 AND sealed IS NOT NULL AND id > $2 ORDER BY id LIMIT $3",
        );
        self.fetch_all(q.bind(key_id).bind(after).bind(limit)).await
    }

    /// Replaces a file's sealed content and key, if it is still sealed under `was_key` and not
    /// purged; whether it was.
    pub async fn update_evidence_sealed(
        &self,
        id: &str,
        was_key: &str,
        key_id: &str,
        sealed: &[u8],
    ) -> Result<bool> {
        let q = query(
            "UPDATE verification_evidence SET sealed = $1, key_id = $2
             WHERE id = $3 AND key_id = $4 AND sealed IS NOT NULL",
        );
        Ok(self
            .exec(q.bind(sealed).bind(key_id).bind(id).bind(was_key))
            .await?
            == 1)
    }
}
