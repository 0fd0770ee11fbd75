//! SPEC 3: the second factor (`code`: RFC 6238, or a recovery code), checked by
//! [`crate::auth::second_factor`]. A passkey as the second factor is [`super::passkey`]'s.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::json;
use verity_core::interaction::SecondFactors;

use super::answers::{again, next, too_many};
use super::loaded::{Posted, current_session, expired_page};
use super::{Journey, render};
use crate::audit::AuditEvent;
use crate::auth::second_factor::{self, Outcome};
use crate::error::PageError;
use crate::extract::client_address;
use crate::pages::Page;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct MfaPage<'a> {
    #[serde(flatten)]
    journey: Journey<'a>,
    /// A TOTP or recovery code is taken.
    totp: bool,
    /// A passkey is taken.
    passkey: bool,
    /// A recovery code is taken (in the code field).
    recovery_code: bool,
}

impl Page for MfaPage<'_> {
    const TEMPLATE: &'static str = "mfa.html";
}

/// The second-factor page (401 when it repeats a refused code).
pub(super) fn show(
    state: &AppState,
    journey: Journey<'_>,
    factors: SecondFactors,
    error: bool,
) -> Result<Response, PageError> {
    let passkey = factors.passkey && crate::passkey::relying_party(state).is_some();
    let page = MfaPage {
        journey,
        totp: factors.totp,
        passkey,
        recovery_code: factors.recovery_code,
    };
    render(state, &page, error, StatusCode::UNAUTHORIZED)
}

/// POST `/oauth/interaction/{id}/mfa`.
pub(super) async fn submit(
    State(state): State<AppState>,
    Posted { headers, l, form }: Posted,
) -> Result<Response, PageError> {
    let Some(session) = current_session(&state, &headers, &l.ix).await? else {
        return Ok(next(&l.ix.id));
    };
    let user = state
        .store
        .find_user(&session.uuid)
        .await?
        .ok_or_else(expired_page)?;
    let code = form.get("code").unwrap_or_default();
    let outcome = second_factor::check(&state, &user, code, client_address(&headers)).await?;
    let (uuid, client_id) = (Some(user.uuid.as_str()), Some(l.app.client_id.as_str()));
    match outcome {
        Outcome::Locked(wait) => {
            let event = AuditEvent::MfaLocked;
            state
                .audit(event, uuid, client_id, &headers, json!({}))
                .await;
            too_many(&state, &headers, l, None, None, wait).await
        }
        Outcome::Rejected | Outcome::AlreadyUsed => {
            let event = AuditEvent::MfaFailure;
            let detail = json!({"reason": if outcome == Outcome::AlreadyUsed { "already_used" } else { "wrong" }});
            state.audit(event, uuid, client_id, &headers, detail).await;
            let text = outcome.refusal().unwrap_or_default();
            again(&state, &headers, l, None, text).await
        }
        Outcome::Accepted { recovery_code } => {
            if recovery_code {
                let event = AuditEvent::MfaRecoveryCodeUsed;
                state
                    .audit(event, uuid, client_id, &headers, json!({}))
                    .await;
            }
            state
                .store
                .update_session_mfa(&session.id_hash, None)
                .await?;
            let detail = json!({"method": "totp"});
            state
                .audit(AuditEvent::MfaSuccess, uuid, client_id, &headers, detail)
                .await;
            Ok(next(&l.ix.id))
        }
    }
}
