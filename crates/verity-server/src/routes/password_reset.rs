//! A forgotten password (issue 23): `/account/password/forgot` mails a single-use link
//! (`verity_core::email_link`, 30 minutes) to the sign-in email, answering the same page whether
//! or not the address has an account; `/account/password/reset?token=...` takes a new password,
//! and the second factor when one is enrolled (a reset never bypasses it), then ends every
//! session and token of the person. Both forms are anonymous: their CSRF token is bound to a
//! browser cookie (`session::anonymous_csrf`).

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::json;
use verity_core::account::{self, normalize_email, valid_email};
use verity_core::authorize::Params;
use verity_core::email_link::{self, Purpose};
use verity_core::limits::Kind;
use verity_store::email_tokens::EmailToken;
use verity_store::users::User;

use crate::audit::AuditEvent;
use crate::auth::password;
use crate::auth::second_factor::{self, Outcome};
use crate::error::PageError;
use crate::extract::{BodyKind, body_params, client_address, query_params, set_cookie};
use crate::pages::Page;
use crate::respond::with_cookie;
use crate::session::{SESSION_COOKIE, anonymous_csrf, check_anonymous_csrf};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/password/forgot", get(show_forgot).post(forgot))
        .route("/account/password/reset", get(show_reset).post(reset))
}

/// Which page of the reset the person is on.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
enum Step {
    /// The address form.
    Forgot,
    /// "If an account exists for that address, we sent a link."
    Sent,
    /// The new password (and the second factor) form.
    Choose,
    /// The password was changed.
    Done,
    /// The link is unknown, used, or run out.
    Expired,
}

#[derive(Debug, Serialize)]
struct ResetPage<'a> {
    step: Step,
    csrf_token: &'a str,
    /// The address typed (kept beside its error).
    email: &'a str,
    /// The link's token, carried by the new-password form.
    token: &'a str,
    /// A second factor is enrolled: the form asks for its code.
    totp: bool,
    /// A problem per field (`email`, `password`, `password_confirm`, `code`), shown beside it.
    fields: BTreeMap<&'static str, String>,
}

impl Page for ResetPage<'_> {
    const TEMPLATE: &'static str = "password_reset.html";
}

impl<'a> ResetPage<'a> {
    fn new(step: Step, csrf_token: &'a str) -> Self {
        ResetPage {
            step,
            csrf_token,
            email: "",
            token: "",
            totp: false,
            fields: BTreeMap::new(),
        }
    }
}

/// `page` with `status`, and the form cookie when a new one was made.
fn answer(
    state: &AppState,
    status: StatusCode,
    page: &ResetPage<'_>,
    cookie: Option<&str>,
) -> Result<Response, PageError> {
    let resp = (status, state.pages.show(state.sandbox(), page)?).into_response();
    Ok(match cookie {
        Some(c) => with_cookie(resp, c),
        None => resp,
    })
}

/// The page of a link that does not work: 410, and the way to ask for a new one.
fn expired(state: &AppState) -> Result<Response, PageError> {
    answer(
        state,
        StatusCode::GONE,
        &ResetPage::new(Step::Expired, ""),
        None,
    )
}

/// An anonymous form post: the headers and fields, after the CSRF check.
struct AnonymousForm {
    headers: HeaderMap,
    form: Params,
}

impl FromRequest<AppState> for AnonymousForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| PageError::bad_request("The form is too large."))?;
        let form = body_params(BodyKind::Form, &body).map_err(PageError::bad_request)?;
        check_anonymous_csrf(state, &headers, form.get("csrf_token").unwrap_or_default())?;
        Ok(AnonymousForm { headers, form })
    }
}

/// GET /account/password/forgot: the address form.
async fn show_forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (csrf, cookie) = anonymous_csrf(&state, &headers);
    let page = ResetPage::new(Step::Forgot, &csrf);
    answer(&state, StatusCode::OK, &page, cookie.as_deref())
}

/// POST /account/password/forgot (issue 23 part 3; SPEC 12 "codes and mail go through the
/// outbox"): the same page for a known and an unknown address (and the same limits, counted for
/// both), a link mailed only to a known one. No password is hashed here.
async fn forgot(State(state): State<AppState>, p: AnonymousForm) -> Result<Response, PageError> {
    let email = normalize_email(p.form.get("email").unwrap_or_default());
    let csrf = p.form.get("csrf_token").unwrap_or_default();
    let mut page = ResetPage::new(Step::Forgot, csrf);
    if !valid_email(&email) {
        page.email = &email;
        let problem = "Enter the email address you sign in with, like name@example.com.";
        page.fields.insert("email", problem.into());
        return answer(&state, StatusCode::BAD_REQUEST, &page, None);
    }
    // Per client address, then per target address, whether or not it has an account: the
    // refusal tells nothing about accounts.
    let from = client_address(&p.headers);
    for (kind, subject) in [
        (Kind::EmailCodeAddress, from),
        (Kind::EmailCode, email.as_str()),
    ] {
        let taken = crate::limits::take(&state, kind, subject, &p.headers, None, None);
        if let Err(refused) = taken.await? {
            let what = match kind {
                Kind::EmailCode => "Many emails were asked for this address lately.",
                _ => "Many emails were asked for from this network lately.",
            };
            let wait = verity_core::throttle::wait_text(refused.retry_after);
            page.email = &email;
            let message = format!("{what} Try again in {wait}. Nothing was sent.");
            page.fields.insert("email", message);
            let shown = answer(&state, StatusCode::BAD_REQUEST, &page, None)?;
            return Ok(refused.answer(shown));
        }
    }
    if let Some(user) = state.store.find_user_by_email(&email).await? {
        crate::email_links::send(&state, Purpose::Reset, &user, &p.headers).await?;
    }
    answer(
        &state,
        StatusCode::OK,
        &ResetPage::new(Step::Sent, ""),
        None,
    )
}

/// The link named by `token` and its account, when it can still reset a password now.
async fn usable_link(
    state: &AppState,
    token: &str,
) -> Result<Option<(EmailToken, User)>, PageError> {
    let Some(hash) = email_link::presented_hash(token) else {
        return Ok(None);
    };
    let Some(link) = state.store.find_email_token(&hash).await? else {
        return Ok(None);
    };
    let usable = email_link::usable(
        link.purpose,
        Purpose::Reset,
        link.expires_at,
        link.used_at,
        state.now(),
    );
    if usable.is_err() {
        return Ok(None);
    }
    let user = state.store.find_user(&link.uuid).await?;
    Ok(user.map(|u| (link, u)))
}

/// GET /account/password/reset?token=...: the new-password form, or the page of a link that
/// does not work (410).
async fn show_reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = query_params(query.as_deref());
    let token = params.get("token").unwrap_or_default();
    let Some((_, user)) = usable_link(&state, token).await? else {
        return expired(&state);
    };
    let (csrf, cookie) = anonymous_csrf(&state, &headers);
    let page = ResetPage {
        token,
        totp: user.totp_secret.is_some(),
        ..ResetPage::new(Step::Choose, &csrf)
    };
    answer(&state, StatusCode::OK, &page, cookie.as_deref())
}

/// POST /account/password/reset (issue 23 parts 3 and 4): the new password's problems are said
/// beside their fields and nothing changes (the link still works); with a second factor
/// enrolled, its code (TOTP or a recovery code, with its lockout) is required. Then, at once:
/// the link is used, the password replaced, every session, token and pending sign-in of the
/// person ended; the person is told by mail.
async fn reset(State(state): State<AppState>, p: AnonymousForm) -> Result<Response, PageError> {
    let field = |name| p.form.get(name).unwrap_or_default();
    let token = field("token");
    let Some((link, user)) = usable_link(&state, token).await? else {
        return expired(&state);
    };
    let (new, confirm) = (field("password"), field("password_confirm"));
    let mut page = ResetPage {
        token,
        totp: user.totp_secret.is_some(),
        ..ResetPage::new(Step::Choose, field("csrf_token"))
    };
    page.fields = account::new_password_problems(new, confirm)
        .into_iter()
        .map(|(f, text)| (f.name(), text.to_owned()))
        .collect();
    if !page.fields.is_empty() {
        return answer(&state, StatusCode::BAD_REQUEST, &page, None);
    }
    if user.totp_secret.is_some() {
        let code = field("code").trim();
        let said = if code.is_empty() {
            Some("Enter the code from your authenticator app, or one of your recovery codes.")
        } else {
            match second_factor::check(&state, &user, code, client_address(&p.headers)).await? {
                Outcome::Accepted { .. } => None,
                Outcome::Locked(_) => Some("Too many wrong codes. Try again later."),
                other => Some(other.refusal().unwrap_or("That code is not valid.")),
            }
        };
        if let Some(said) = said {
            let message = format!("{said} Your password was not changed.");
            page.fields.insert("code", message);
            return answer(&state, StatusCode::BAD_REQUEST, &page, None);
        }
    }
    let hash = password::hash(&state, new.to_owned()).await?;
    let taken = state
        .store
        .take_reset_token(&link.token_hash, state.now(), &hash)
        .await?;
    if taken.is_none() {
        // Used in another tab meanwhile, or run out while the person typed.
        return expired(&state);
    }
    let detail = json!({"second_factor": user.totp_secret.is_some()});
    let event = AuditEvent::PasswordReset;
    state
        .audit(event, Some(&user.uuid), None, &p.headers, detail)
        .await;
    crate::email_links::password_was_reset(&state, &user).await;
    // This browser's session (if any) ended with the others: its cookie goes too.
    let ended = set_cookie(SESSION_COOKIE, "", 0, state.secure_cookies);
    let page = ResetPage::new(Step::Done, "");
    answer(&state, StatusCode::OK, &page, Some(&ended))
}
