//! Deleting a person's account (SPEC 14), the one way the account page, the admin API and
//! `verity admin user-delete` share: the apps that hold tokens from the person's sessions are
//! told (back-channel logout, as at `/oauth/logout`), then [`verity_store::Store::delete_user`]
//! removes every row of theirs in one transaction and pseudonymizes their audit rows.

use axum::http::HeaderMap;
use serde_json::json;

use crate::audit::AuditEvent;
use crate::state::AppState;

/// Who asked for a deletion, as the audit row says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedBy {
    /// The person, from `/account/delete`.
    Themselves,
    /// The admin API (`DELETE /users/{uuid}`).
    AdminApi,
    /// `verity admin user-delete`.
    Cli,
}

impl DeletedBy {
    fn as_str(self) -> &'static str {
        match self {
            DeletedBy::Themselves => "self",
            DeletedBy::AdminApi => "admin API",
            DeletedBy::Cli => "verity admin",
        }
    }
}

/// Deletes account `uuid`: false when there is none. Every session's apps with a
/// `backchannel_logout_uri` receive a logout token (sent in the background) and the session's
/// tokens are revoked first; then everything of the person goes at once, evidence included
/// (sealed in the database, deleted with its rows). The audit row of the deletion keeps the
/// uuid and no client address.
pub async fn delete_account(
    state: &AppState,
    uuid: &str,
    by: DeletedBy,
    headers: &HeaderMap,
) -> verity_store::Result<bool> {
    if state.store.find_user(uuid).await?.is_none() {
        return Ok(false);
    }
    for session in state.store.find_every_user_session(uuid).await? {
        crate::backchannel::notify_logout(state, &session).await;
    }
    let detail = json!({"by": by.as_str()});
    let mut record = state.audit_event(
        AuditEvent::AccountDeleted,
        Some(uuid),
        None,
        headers,
        detail,
    );
    record.address = None;
    let deleted = state.store.delete_user(uuid, &record).await?;
    if deleted {
        state.audited(&record);
    }
    Ok(deleted)
}
