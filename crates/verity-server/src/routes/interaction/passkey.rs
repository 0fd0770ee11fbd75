//! SPEC 13: a passkey in the sign-in journey, alone ("Sign in with a passkey", discoverable
//! credentials) or as the second factor after the password; and the page for a request that
//! demands a passkey this account does not have.
//!
//! Each form names its `purpose` (`signin` or `second_factor`). Its script first posts the form
//! to `.../passkey/options` for the ceremony's options (the challenge is kept, bound to this
//! interaction, [`verity_core::authn::CHALLENGE_TTL`] seconds, one use), runs the browser's
//! WebAuthn ceremony, and posts the answer as `credential` to `.../passkey`.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use verity_core::authn::Level;
use verity_core::authorize::Op;

use super::answers::{again_beside, next};
use super::loaded::{Posted, current_session, expired_page};
use super::{Journey, render};
use crate::audit::AuditEvent;
use crate::error::PageError;
use crate::pages::Page;
use crate::passkey::{self, Refusal};
use crate::respond::{After, redirect_to_client};
use crate::state::AppState;

/// Which passkey form was posted (its `purpose`): the sign-in page's, a passkey alone; or the
/// second step's, after the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    SignIn,
    SecondStep,
}

fn form_of(form: &verity_core::authorize::Params) -> Result<Form, PageError> {
    match form.get("purpose") {
        Some("signin") => Ok(Form::SignIn),
        Some("second_factor") => Ok(Form::SecondStep),
        _ => Err(PageError::bad_request(
            "This passkey form is not one Verity made. Go back, reload the page and try again.",
        )),
    }
}

/// POST `/oauth/interaction/{id}/passkey/options`: the WebAuthn options for the form's purpose
/// (JSON). A second factor is asked among the signed-in account's passkeys.
pub(super) async fn options(
    State(state): State<AppState>,
    Posted { headers, l, form }: Posted,
) -> Result<Response, PageError> {
    let uuid = match form_of(&form)? {
        Form::SecondStep => {
            let session = current_session(&state, &headers, &l.ix)
                .await?
                .ok_or_else(expired_page)?;
            Some(session.uuid)
        }
        Form::SignIn => None,
    };
    let options = passkey::begin_authentication(&state, &l.ix.id, uuid.as_deref()).await?;
    Ok(Json(options).into_response())
}

/// POST `/oauth/interaction/{id}/passkey`: the browser's answer. Verified, a sign-in starts a
/// session (two factors: the passkey verified its person) and a second factor completes the
/// session's; refused, the page says why beside the passkey button.
pub(super) async fn submit(
    State(state): State<AppState>,
    Posted { headers, l, form }: Posted,
) -> Result<Response, PageError> {
    let posted = form_of(&form)?;
    let credential = form.get("credential").unwrap_or_default();
    let client_id = l.app.client_id.to_string();
    let client_id = Some(client_id.as_str());
    match posted {
        Form::SecondStep => {
            let Some(session) = current_session(&state, &headers, &l.ix).await? else {
                return Ok(next(&l.ix.id));
            };
            let uuid = Some(session.uuid.as_str());
            match passkey::finish_authentication(&state, &l.ix.id, uuid, credential).await? {
                Ok(done) => {
                    state
                        .store
                        .update_session_mfa(&session.id_hash, Some(done.key))
                        .await?;
                    let detail = json!({"method": "passkey", "name": done.passkey.name});
                    state
                        .audit(AuditEvent::MfaSuccess, uuid, client_id, &headers, detail)
                        .await;
                    Ok(next(&l.ix.id))
                }
                Err(refusal) => {
                    audit_refusal(&state, &headers, client_id, uuid, refusal).await;
                    again_beside(&state, &headers, l, None, "passkey", refusal.message()).await
                }
            }
        }
        Form::SignIn => {
            match passkey::finish_authentication(&state, &l.ix.id, None, credential).await? {
                Ok(done) => {
                    let Some(user) = state.store.find_user(&done.uuid).await? else {
                        return Err(expired_page());
                    };
                    let detail = json!({"method": "passkey", "name": done.passkey.name});
                    let uuid = Some(user.uuid.as_str());
                    state
                        .audit(AuditEvent::SigninSuccess, uuid, client_id, &headers, detail)
                        .await;
                    super::signin::sign_in_with(&state, &headers, l, &user, Some(done.key)).await
                }
                Err(refusal) => {
                    audit_refusal(&state, &headers, client_id, None, refusal).await;
                    let op = Some(Op::Signin);
                    again_beside(&state, &headers, l, op, "passkey", refusal.message()).await
                }
            }
        }
    }
}

/// A refused passkey, in the audit log with its reason (a counter that went backwards is how a
/// cloned authenticator shows).
async fn audit_refusal(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    client_id: Option<&str>,
    uuid: Option<&str>,
    refusal: Refusal,
) {
    let detail = json!({"reason": refusal.reason()});
    let event = AuditEvent::PasskeyRefused;
    state.audit(event, uuid, client_id, headers, detail).await;
}

#[derive(Debug, Serialize)]
struct UnmetPage<'a> {
    #[serde(flatten)]
    journey: Journey<'a>,
    /// The demand is for a phishing-resistant sign-in (a passkey), not only a second step.
    phishing_resistant: bool,
}

impl Page for UnmetPage<'_> {
    const TEMPLATE: &'static str = "unmet.html";
}

/// The page for a demand this account cannot meet yet (no passkey, or no second factor at all).
pub(super) fn show_unmet(
    state: &AppState,
    journey: Journey<'_>,
    level: Level,
) -> Result<Response, PageError> {
    let page = UnmetPage {
        journey,
        phishing_resistant: level == Level::PhishingResistant,
    };
    render(state, &page, false, axum::http::StatusCode::OK)
}

/// POST `/oauth/interaction/{id}/unmet`: back to the app with OpenID Connect's
/// `unmet_authentication_requirements`.
pub(super) async fn unmet(
    State(state): State<AppState>,
    Posted { l, .. }: Posted,
) -> Result<Response, PageError> {
    if !state.store.take_interaction(&l.ix.id).await? {
        return Err(expired_page());
    }
    Ok(redirect_to_client(
        &l.request.redirect_uri,
        l.request.response_mode,
        &[
            ("error", "unmet_authentication_requirements"),
            (
                "error_description",
                "the app requires a sign-in method this account has not set up",
            ),
        ],
        l.request.state.as_deref(),
        &state,
        After::Post,
    ))
}
