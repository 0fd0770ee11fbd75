//! Confirming the sign-in email (issue 23 part 2): the link mailed at sign-up (or asked again
//! from `/account`) opens `/account/email/confirm?token=...`, which confirms the address once
//! (24 hours, `verity_core::email_link`). A confirmed email is released as `emails_confirmed`
//! (OIDC `email_verified`) and is required before a group is verified by email domain.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;
use verity_core::email_link::{self, Purpose, Unusable};
use verity_core::limits::Kind;

use crate::audit::AuditEvent;
use crate::error::PageError;
use crate::extract::{client_address, query_params};
use crate::pages::Page;
use crate::respond::see_other;
use crate::session::SignedInForm;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/email/confirm", get(confirm))
        .route("/account/email/resend", post(resend))
}

/// What following a confirmation link did.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    /// The address is confirmed now.
    Confirmed,
    /// The link was used already and the address is confirmed: nothing to do.
    Already,
    /// The link is unknown or run out (or used, and the address is still not confirmed).
    Expired,
}

#[derive(Debug, Serialize)]
struct ConfirmPage<'a> {
    outcome: Outcome,
    email: Option<&'a str>,
}

impl Page for ConfirmPage<'_> {
    const TEMPLATE: &'static str = "email_confirm.html";
}

/// GET /account/email/confirm?token=...: confirms the address of the link once. A link used
/// before answers as confirmed when the address is (a second click, a mail scanner that
/// followed it first); an unknown or late one says how to get a new link (410).
async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = query_params(query.as_deref());
    let token = params.get("token").unwrap_or_default();
    let link = match email_link::presented_hash(token) {
        Some(hash) => state.store.find_email_token(&hash).await?,
        None => None,
    };
    let now = state.now();
    let page = |outcome, email| {
        let status = match outcome {
            Outcome::Expired => StatusCode::GONE,
            _ => StatusCode::OK,
        };
        let page = ConfirmPage { outcome, email };
        Ok::<_, PageError>((status, state.pages.show(state.sandbox(), &page)?).into_response())
    };
    let Some(link) = link else {
        return page(Outcome::Expired, None);
    };
    let user = state.store.find_user(&link.uuid).await?;
    let confirmed = user
        .as_ref()
        .is_some_and(|u| u.email_confirmed_at.is_some());
    let usable = email_link::usable(
        link.purpose,
        Purpose::Confirm,
        link.expires_at,
        link.used_at,
        now,
    );
    match usable {
        Ok(()) => {}
        Err(Unusable::Used) if confirmed => return page(Outcome::Already, Some(&link.email)),
        Err(_) => return page(Outcome::Expired, None),
    }
    let Some(uuid) = state
        .store
        .take_confirm_token(&link.token_hash, now)
        .await?
    else {
        // Taken by another click meanwhile: the address is confirmed by it.
        return page(Outcome::Already, Some(&link.email));
    };
    let detail = json!({});
    state
        .audit(
            AuditEvent::EmailConfirmed,
            Some(&uuid),
            None,
            &headers,
            detail,
        )
        .await;
    page(Outcome::Confirmed, Some(&link.email))
}

/// POST /account/email/resend: mails a new confirmation link to the signed-in person's address,
/// under the mail limits (per client address, then per target address: 429 on the account page
/// when over them).
async fn resend(State(state): State<AppState>, p: SignedInForm) -> Result<Response, PageError> {
    if p.user.email_confirmed_at.is_some() {
        return Ok(see_other("/account"));
    }
    let from = client_address(&p.headers);
    let uuid = Some(p.user.uuid.as_str());
    for (kind, subject) in [
        (Kind::EmailCodeAddress, from),
        (Kind::EmailCode, p.user.email.as_str()),
    ] {
        let taken = crate::limits::take(&state, kind, subject, &p.headers, uuid, None);
        if let Err(refused) = taken.await? {
            let shown = crate::routes::account::show_with_notice(
                &state,
                &p.session,
                &p.user,
                &refused.message(),
            )
            .await?;
            return Ok(refused.answer(shown));
        }
    }
    crate::email_links::send(&state, Purpose::Confirm, &p.user, &p.headers).await?;
    Ok(see_other("/account?changed=email_sent"))
}
