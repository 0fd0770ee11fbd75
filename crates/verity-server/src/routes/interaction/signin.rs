//! SPEC 3: the sign-in form (`email`, `password`) and the sign-up form (`email`, `password`,
//! `password_confirm`). Failures are limited per account and per client address; an unknown
//! email is answered, counted and timed exactly like a wrong password. Sign-ups are limited per
//! client address (`VERITY_LIMIT_SIGNUP`), taken before the account is looked up or its
//! password hashed, so a flood of them neither hashes nor waits for the hashing slots that
//! sign-ins use.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::json;
use verity_core::account::{normalize_email, signup_problems};
use verity_core::authorize::Op;
use verity_core::limits::Kind;
use verity_core::secret::new_token;
use verity_store::users::User;

use super::answers::{again_fields, limited, next, too_many};
use super::loaded::{Loaded, Posted, expired_page};
use super::{Journey, render};
use crate::audit::AuditEvent;
use crate::auth::password;
use crate::auth::throttle::Attempt;
use crate::error::PageError;
use crate::extract::client_address;
use crate::pages::Page;
use crate::respond::with_cookie;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct SigninPage<'a> {
    #[serde(flatten)]
    journey: Journey<'a>,
    email: &'a str,
    /// "Sign in with a passkey" is offered (the public URL names a domain).
    passkeys: bool,
}

impl Page for SigninPage<'_> {
    const TEMPLATE: &'static str = "signin.html";
}

#[derive(Debug, Serialize)]
struct SignupPage<'a> {
    #[serde(flatten)]
    journey: Journey<'a>,
    email: &'a str,
}

impl Page for SignupPage<'_> {
    const TEMPLATE: &'static str = "signup.html";
}

/// The sign-in page (401 when it repeats a failed attempt).
pub(super) fn show(
    state: &AppState,
    journey: Journey<'_>,
    email: &str,
    error: bool,
) -> Result<Response, PageError> {
    let passkeys = crate::passkey::relying_party(state).is_some();
    let page = SigninPage {
        journey,
        email,
        passkeys,
    };
    render(state, &page, error, StatusCode::UNAUTHORIZED)
}

/// The sign-up page (400 when it repeats a refused form).
pub(super) fn show_signup(
    state: &AppState,
    journey: Journey<'_>,
    email: &str,
    error: bool,
) -> Result<Response, PageError> {
    let page = SignupPage { journey, email };
    render(state, &page, error, StatusCode::BAD_REQUEST)
}

/// The email typed, to show again; one past the bound is not echoed back.
fn kept(email: &str) -> &str {
    if email.len() > verity_core::account::EMAIL_MAX_BYTES {
        ""
    } else {
        email
    }
}

/// POST `/oauth/interaction/{id}/signin`.
pub(super) async fn signin(
    State(state): State<AppState>,
    Posted { headers, l, form }: Posted,
) -> Result<Response, PageError> {
    let email = form.get("email").unwrap_or_default().trim().to_owned();
    let password = form.get("password").unwrap_or_default().to_owned();
    let mut missing = Vec::new();
    if email.is_empty() || email.len() > verity_core::account::EMAIL_MAX_BYTES {
        missing.push(("email", "Enter your email address."));
    }
    if password.is_empty() || password.len() > verity_core::account::PASSWORD_MAX_BYTES {
        missing.push(("password", "Enter your password."));
    }
    if !missing.is_empty() {
        return again_fields(&state, &headers, l, Op::Signin, kept(&email), &missing).await;
    }
    let key = verity_core::throttle::account_key(&email);
    let client_id = Some(l.app.client_id.as_str());
    let attempt = match Attempt::begin(&state, key, client_address(&headers)).await? {
        Ok(attempt) => attempt,
        Err(wait) => {
            let event = AuditEvent::SigninLocked;
            state
                .audit(event, None, client_id, &headers, json!({}))
                .await;
            return too_many(&state, &headers, l, Some(Op::Signin), Some(&email), wait).await;
        }
    };
    let user = state.store.find_user_by_email(&email).await?;
    // Unknown emails pay a full hash too, and get the same answer as a wrong password.
    if !password::verify(&state, user.as_ref(), password).await? {
        // No user id on failures: the app's audit page must not tell which emails have accounts.
        let event = AuditEvent::SigninFailure;
        state
            .audit(event, None, client_id, &headers, json!({}))
            .await;
        let wrong = [("password", "The email or password is incorrect.")];
        return again_fields(&state, &headers, l, Op::Signin, &email, &wrong).await;
    }
    let Some(user) = user else {
        return Err(expired_page());
    };
    attempt.succeeded(&state).await?;
    let uuid = Some(user.uuid.as_str());
    let event = AuditEvent::SigninSuccess;
    // A sign-in to the developer console goes through the account client: said so, for the
    // person's activity (SPEC 14).
    let via =
        crate::session::first_party_name(&headers, &l.app.client_id, l.request.state.as_deref());
    let detail = if via.is_some() {
        json!({"via": "console"})
    } else {
        json!({})
    };
    state.audit(event, uuid, client_id, &headers, detail).await;
    sign_in(&state, &headers, l, &user).await
}

/// POST `/oauth/interaction/{id}/signup`.
pub(super) async fn signup(
    State(state): State<AppState>,
    Posted { headers, l, form }: Posted,
) -> Result<Response, PageError> {
    let email = normalize_email(form.get("email").unwrap_or_default());
    let password = form.get("password").unwrap_or_default().to_owned();
    let confirm = form.get("password_confirm").unwrap_or_default();
    let problems: Vec<(&'static str, &str)> = signup_problems(&email, &password, confirm)
        .into_iter()
        .map(|(field, text)| (field.name(), text))
        .collect();
    if !problems.is_empty() {
        return again_fields(&state, &headers, l, Op::Signup, kept(&email), &problems).await;
    }
    let client_id = Some(l.app.client_id.as_str());
    let address = client_address(&headers);
    let taken = crate::limits::take(&state, Kind::Signup, address, &headers, None, client_id);
    if let Err(refused) = taken.await? {
        return limited(&state, &headers, l, Op::Signup, &email, refused).await;
    }
    let exists = [(
        "email",
        "An account with this email already exists: sign in instead.",
    )];
    if state.store.find_user_by_email(&email).await?.is_some() {
        return again_fields(&state, &headers, l, Op::Signup, &email, &exists).await;
    }
    let user = User {
        uuid: new_token(),
        email,
        password_hash: password::hash(&state, password).await?,
        totp_secret: None,
        totp_last_step: None,
        created_at: state.now(),
        // Confirmed by the link mailed below.
        email_confirmed_at: None,
    };
    match state.store.insert_user(&user, &Default::default()).await {
        Ok(()) => {}
        Err(verity_store::StoreError::Conflict) => {
            return again_fields(&state, &headers, l, Op::Signup, &user.email, &exists).await;
        }
        Err(e) => return Err(e.into()),
    }
    let (uuid, client_id) = (Some(user.uuid.as_str()), Some(l.app.client_id.as_str()));
    let event = AuditEvent::Signup;
    state
        .audit(event, uuid, client_id, &headers, json!({}))
        .await;
    // The person goes on at once; the mailed link confirms the address whenever they open it.
    let confirm = verity_core::email_link::Purpose::Confirm;
    if let Err(e) = crate::email_links::send(&state, confirm, &user, &headers).await {
        tracing::error!(error = %e, "mailing the confirmation link of a new account");
    }
    sign_in(&state, &headers, l, &user).await
}

/// Starts a session for `user` in this browser and records that they signed in here.
async fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    l: Loaded,
    user: &User,
) -> Result<Response, PageError> {
    sign_in_with(state, headers, l, user, None).await
}

/// [`sign_in`], by a password or (`passkey`) by a passkey alone.
pub(super) async fn sign_in_with(
    state: &AppState,
    headers: &HeaderMap,
    mut l: Loaded,
    user: &User,
    passkey: Option<verity_core::authn::KeyUse>,
) -> Result<Response, PageError> {
    let cookie = crate::session::start_with(state, headers, user, passkey).await?;
    l.ix.uuid = Some(user.uuid.clone());
    l.ix.signed_in_here = true;
    state.store.update_interaction(&l.ix).await?;
    Ok(with_cookie(next(&l.ix.id), &cookie))
}
