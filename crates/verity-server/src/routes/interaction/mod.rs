//! The sign-in journey of one authorization request (SPEC section 3): sign in or sign up, the
//! second factor, verification, consent, then the code. `verity_core::interaction::next_step`
//! decides which page comes next; this module gathers the facts it needs, renders the step, and
//! each child module handles the answer to one step:
//!
//! - [`signin`]: the sign-in and sign-up forms.
//! - [`mfa`]: the second factor (a TOTP or recovery code).
//! - [`passkey`]: a passkey, alone (passwordless) or as the second factor; and the page for a
//!   demand this account cannot meet.
//! - [`verify`]: the verification page.
//! - [`consent`]: consent, and cancelling the journey.
//! - [`code`]: issuing the authorization code at the end.
//!
//! Beside them, what every step shares: [`loaded`] (the interaction a request names, checked
//! against the browser, and the session that may continue it) and [`answers`] (the step again
//! with a message, on to the next step, or back to the app).
//!
//! An interaction is bound to the browser that started it (the `verity_browser` cookie, compared
//! by digest) and every form carries the interaction's CSRF token. Each POST answers `303 See
//! Other` to the interaction page, which then shows the next step or redirects to the app.

mod answers;
mod code;
mod consent;
mod loaded;
mod mfa;
mod passkey;
mod signin;
mod verify;
mod verify_group;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use verity_core::authn::Demand;
use verity_core::authorize::{AuthorizeRequest, Op};
use verity_core::identity::{self, Needs, UserData};
use verity_core::interaction::{Facts, SessionFacts, Step, next_step};
use verity_core::secret::{new_token, token_hash};
use verity_store::apps::App;
use verity_store::sessions::Interaction;

use crate::error::PageError;
use crate::extract::{query_params, set_cookie};
use crate::pages::Page;
use crate::respond::{After, redirect_to_client, with_cookie};
use crate::session::{ACCOUNT_CLIENT_ID, BROWSER_COOKIE, BROWSER_COOKIE_AGE, browser_cookie};
use crate::state::AppState;
use loaded::{Loaded, expired_page, load, read_signed_in};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/interaction/{id}", get(show))
        .route("/oauth/interaction/{id}/signin", post(signin::signin))
        .route("/oauth/interaction/{id}/signup", post(signin::signup))
        .route("/oauth/interaction/{id}/mfa", post(mfa::submit))
        .route(
            "/oauth/interaction/{id}/passkey/options",
            post(passkey::options),
        )
        .route("/oauth/interaction/{id}/passkey", post(passkey::submit))
        .route("/oauth/interaction/{id}/unmet", post(passkey::unmet))
        .route("/oauth/interaction/{id}/verify", post(verify::submit))
        .route(
            "/oauth/interaction/{id}/verify/{group}",
            get(verify_group::show).post(verify_group::submit),
        )
        .route(
            "/oauth/interaction/{id}/verify/{group}/upload",
            post(verify_group::upload).layer(axum::extract::DefaultBodyLimit::max(
                crate::routes::group_methods::UPLOAD_LIMIT,
            )),
        )
        .route("/oauth/interaction/{id}/consent", post(consent::submit))
        .route("/oauth/interaction/{id}/cancel", post(consent::cancel))
}

/// Called by the authorization endpoint with a validated request.
pub async fn start(
    state: &AppState,
    headers: &HeaderMap,
    app: &App,
    request: AuthorizeRequest,
) -> Result<Response, PageError> {
    let now = state.now();
    let existing = browser_cookie(headers).map(str::to_owned);
    let browser = existing.clone().unwrap_or_else(new_token);
    let ix = Interaction {
        id: new_token(),
        client_id: app.client_id.clone(),
        request: serde_json::to_string(&request)
            .map_err(|e| PageError::internal("serializing a request", e))?,
        browser_hash: token_hash(&browser),
        csrf_token: new_token(),
        uuid: None,
        signed_in_here: false,
        verification_answered: false,
        consented: false,
        created_at: now,
        expires_at: now + state.settings.interaction_ttl,
    };
    // Stored only if a page is shown: a live session with remembered consent goes straight to
    // the code (single sign-on) without writing an interaction it would delete at once.
    let entry = Entry {
        fresh: true,
        ..Entry::default()
    };
    let mut resp = advance(state, headers, ix, app, &request, entry).await?;
    if existing.is_none() {
        let cookie = set_cookie(
            BROWSER_COOKIE,
            &browser,
            BROWSER_COOKIE_AGE,
            state.secure_cookies,
        );
        resp = with_cookie(resp, &cookie);
    }
    Ok(resp)
}

/// GET: show the current step (or finish).
async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let Loaded { ix, app, request } = load(&state, &headers, &id, None).await?;
    let op = match query_params(query.as_deref()).get("op") {
        Some("signup") => Some(Op::Signup),
        Some("signin") => Some(Op::Signin),
        _ => None,
    };
    let entry = Entry {
        op,
        ..Entry::default()
    };
    advance(&state, &headers, ix, &app, &request, entry).await
}

/// How this request reached the journey.
#[derive(Debug, Clone, Copy)]
struct Entry<'e> {
    /// The form the person chose (sign in or sign up), when a sign-in page is due.
    op: Option<Op>,
    /// A message about the last answer (a wrong password ...): the step is shown again with it.
    error: Option<&'e str>,
    /// The email the person typed, shown again (else the request's `login_hint`).
    email: Option<&'e str>,
    /// Problems with the form's fields, each shown beside its field: `(field name, message)`.
    fields: &'e [(&'static str, &'e str)],
    /// Redirects to the app answer a POST with 303 and a GET with 302.
    after: After,
    /// The authorization endpoint's first step: the interaction is not stored yet; it is stored
    /// before a page is shown.
    fresh: bool,
}

impl Default for Entry<'_> {
    fn default() -> Self {
        Entry {
            op: None,
            error: None,
            email: None,
            fields: &[],
            after: After::Get,
            fresh: false,
        }
    }
}

/// What every page of the journey shows: the app, the forms' target and CSRF token, and the
/// error of the last answer.
#[derive(Debug, Serialize)]
struct Journey<'a> {
    interaction_id: &'a str,
    csrf_token: &'a str,
    app_name: &'a str,
    logo_url: Option<&'a str>,
    error: Option<&'a str>,
    /// Field name to its problem (`fields.email` in a template).
    fields: std::collections::BTreeMap<&'static str, &'a str>,
}

/// A page of the journey, answered 200, or `error_status` when it repeats a step with an error.
fn render<P: Page>(
    state: &AppState,
    page: &P,
    error: bool,
    error_status: StatusCode,
) -> Result<Response, PageError> {
    let status = if error { error_status } else { StatusCode::OK };
    Ok((status, state.pages.show(state.sandbox(), page)?).into_response())
}

/// Decides the next step and renders it, or issues the code.
async fn advance(
    state: &AppState,
    headers: &HeaderMap,
    ix: Interaction,
    app: &App,
    req: &AuthorizeRequest,
    entry: Entry<'_>,
) -> Result<Response, PageError> {
    let now = state.now();
    let signed_in = read_signed_in(state, headers, &ix, app).await?;
    let (session, user, data, consents, has_passkey) = match signed_in {
        Some(s) => (
            Some(s.session),
            Some(s.user),
            Some(s.data),
            s.consents,
            s.has_passkey,
        ),
        None => (None, None, None, Vec::new(), false),
    };
    let policies = state.policies_for(req.scope.iter());
    let empty = UserData::default();
    let user_data = data.as_ref().unwrap_or(&empty);
    // Verity's own account page is first party: it asks for nothing beyond the sign-in.
    let first_party = app.client_id == ACCOUNT_CLIENT_ID;
    let consent_remembered = match &session {
        Some(_) if first_party => true,
        Some(_) => req.scope.covered_by_any(&consents),
        None => false,
    };
    let facts = Facts {
        request: req,
        now,
        session: session.as_ref().map(|s| SessionFacts {
            auth_time: s.auth_time,
            mfa: s.mfa,
            passkey: s.passkey,
        }),
        signed_in_here: ix.signed_in_here,
        user_has_totp: user.as_ref().is_some_and(|u| u.totp_secret.is_some()),
        user_has_passkey: has_passkey,
        demand: Demand {
            acr: req.acr,
            app_phishing_resistant: app.require_phishing_resistant,
        },
        needs_aal2: policies.iter().any(|p| p.needs == Needs::Identity),
        missing_verifications: if session.is_some() {
            identity::missing_verifications(&policies, user_data)
        } else {
            vec![]
        },
        verification_answered: ix.verification_answered,
        consent_remembered,
        consented_here: ix.consented,
    };
    let step = match (next_step(&facts), entry.op) {
        (Step::SignIn | Step::SignUp, Some(Op::Signup)) => Step::SignUp,
        (Step::SignIn | Step::SignUp, Some(Op::Signin)) => Step::SignIn,
        (s, _) => s,
    };
    if entry.fresh && !matches!(step, Step::Fail(_) | Step::Issue) {
        state.store.insert_interaction(&ix).await?;
    }
    let journey = Journey {
        interaction_id: &ix.id,
        csrf_token: &ix.csrf_token,
        app_name: crate::session::first_party_name(headers, &app.client_id, req.state.as_deref())
            .unwrap_or(&app.name),
        logo_url: app.logo_url.as_deref(),
        error: entry.error,
        fields: entry.fields.iter().copied().collect(),
    };
    let error = entry.error.is_some() || !entry.fields.is_empty();
    let login_hint = entry
        .email
        .or(req.login_hint.as_deref())
        .unwrap_or_default();
    match step {
        Step::SignIn => signin::show(state, journey, login_hint, error),
        Step::SignUp => signin::show_signup(state, journey, login_hint, error),
        Step::Mfa(factors) => mfa::show(state, journey, factors, error),
        Step::Unmet(level) => passkey::show_unmet(state, journey, level),
        Step::Verify(groups) => {
            let second_factor_missing = facts.needs_aal2 && !facts.session.is_some_and(|s| s.mfa);
            verify::show(state, journey, &groups, second_factor_missing, error)
        }
        Step::Consent => {
            let auth = facts.session.map(|s| s.auth()).unwrap_or_default();
            let email = user.as_ref().map_or("", |u| u.email.as_str());
            let asked = consent::Asked {
                policies: &policies,
                verification_details: req.claims.is_some(),
            };
            consent::show(state, journey, asked, user_data, auth, email, error)
        }
        Step::Fail(code) => {
            if !entry.fresh {
                state.store.take_interaction(&ix.id).await?;
            }
            Ok(redirect_to_client(
                &req.redirect_uri,
                req.response_mode,
                &[
                    ("error", code.as_str()),
                    (
                        "error_description",
                        "the user must interact with the provider",
                    ),
                ],
                req.state.as_deref(),
                state,
                entry.after,
            ))
        }
        Step::Issue => {
            let (Some(session), Some(_)) = (session, user) else {
                return Err(expired_page());
            };
            code::issue(state, &ix, app, req, &session, entry).await
        }
    }
}
