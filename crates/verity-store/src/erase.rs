//! Deleting a person (SPEC 14 "Delete the account"): every row that holds their personal data
//! goes in one transaction; the audit trail keeps its rows under the uuid, without the email
//! or the client address.

use crate::Store;
use crate::audit::AuditEvent;
use crate::error::Result;
use crate::sql::{Query, insert, query, storable};

/// The tables [`Store::delete_user`] empties of a person's rows, each with the column that
/// names them (`uuid`, except where said).
pub const PERSONAL_TABLES: &[&str] = &[
    "verification_evidence", // by case_id, of the person's cases: the sealed files themselves
    "verification_cases",
    "verifications",
    "user_attributes",
    "recovery_codes",
    "passkeys",
    "passkey_challenges",
    "email_tokens", // reset and confirmation links
    "user_roles",   // with the reviewer's own admin-API token
    "memberships",
    "consents",
    "sessions",
    "interactions",
    "codes",
    "tokens",      // access and refresh tokens
    "releases",    // what each app received at each sign-in
    "invitations", // by email: invitations waiting for the address
    "rate_limits", // by key: counters named after the uuid ('...:<uuid>')
    "users",
];

/// `s` as a literal `LIKE` pattern (with `ESCAPE '\'`) matching anywhere in the text.
fn contains_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Store {
    /// Deletes person `uuid`, in ONE transaction: their rows in every table of
    /// [`PERSONAL_TABLES`] (verification_evidence (the sealed files, by case), verification_cases,
    /// verifications, user_attributes, recovery_codes, passkeys and their open challenges,
    /// email_tokens, user_roles (role tokens), memberships,
    /// consents, sessions, interactions, codes, tokens (access and refresh), releases, invitations to their
    /// email, rate_limits counters named after them, users); their audit rows are pseudonymized
    /// (the uuid stays, the client address goes, and any row whose detail names their email
    /// loses its detail); then `audit` (the deletion's own row) is written. False, with nothing
    /// written, when there is no such person.
    ///
    /// What stays: audit rows (for their retention period) under the bare uuid, and the uuid as
    /// `decided_by` on cases this person decided as a reviewer. The email is free to sign up
    /// again, as a new person with a new uuid.
    pub async fn delete_user(&self, uuid: &str, audit: &AuditEvent) -> Result<bool> {
        if !storable(uuid) {
            return Ok(false);
        }
        let uuid = uuid.to_owned();
        let read = query("SELECT email FROM users WHERE uuid = $1").bind(uuid.clone());
        self.write_after(Vec::new(), read, move |email: Option<String>| {
            let Some(email) = email else {
                return Ok((Vec::new(), false));
            };
            let by_uuid = |sql: &'static str| query(sql).bind(uuid.clone());
            let statements: Vec<Query<'_>> = vec![
                by_uuid(
                    "DELETE FROM verification_evidence WHERE case_id IN
                       (SELECT id FROM verification_cases WHERE uuid = $1)",
                ),
                by_uuid("DELETE FROM verification_cases WHERE uuid = $1"),
                by_uuid("DELETE FROM verifications WHERE uuid = $1"),
                by_uuid("DELETE FROM user_attributes WHERE uuid = $1"),
                by_uuid("DELETE FROM recovery_codes WHERE uuid = $1"),
                by_uuid("DELETE FROM passkeys WHERE uuid = $1"),
                by_uuid("DELETE FROM passkey_challenges WHERE uuid = $1"),
                by_uuid("DELETE FROM email_tokens WHERE uuid = $1"),
                by_uuid("DELETE FROM user_roles WHERE uuid = $1"),
                by_uuid("DELETE FROM memberships WHERE uuid = $1"),
                by_uuid("DELETE FROM consents WHERE uuid = $1"),
                by_uuid("DELETE FROM sessions WHERE uuid = $1"),
                by_uuid("DELETE FROM interactions WHERE uuid = $1"),
                by_uuid("DELETE FROM codes WHERE uuid = $1"),
                by_uuid("DELETE FROM tokens WHERE uuid = $1"),
                by_uuid("DELETE FROM releases WHERE uuid = $1"),
                query("DELETE FROM invitations WHERE lower(email) = $1").bind(email.clone()),
                query("DELETE FROM rate_limits WHERE key LIKE $1 ESCAPE '\\'").bind(format!(
                    "%:{}",
                    uuid.replace('_', "\\_").replace('%', "\\%")
                )),
                by_uuid("UPDATE audit_events SET address = NULL WHERE uuid = $1"),
                query("UPDATE audit_events SET detail = '{}' WHERE detail LIKE $1 ESCAPE '\\'")
                    .bind(contains_pattern(&email)),
                by_uuid("DELETE FROM users WHERE uuid = $1"),
                insert(audit),
            ];
            Ok((statements, true))
        })
        .await
    }
}
