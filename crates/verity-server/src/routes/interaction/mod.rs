//! The sign-in journey of one authorization request (SPEC section 3): sign in or sign up, the
//! second factor, verification, consent, then the code. `verity_core::interaction::next_step`
//! decides which page comes next; this module gathers the facts it needs, renders the step, and
//! each child module handles the answer to one step:
//!
//! - [`signin`]: the sign-in and sign-up forms.
//! - [`mfa`]: the second factor.
//! - [`verify`]: the verification page.
//! - [`consent`]: consent, and cancelling the journey.
//! - [`code`]: issuing the authorization code at the end.
//!
//! An interaction is bound to the browser that started it (the `verity_browser` cookie, compared
//! by digest) and every form carries the interaction's CSRF token. Each POST answers `303 See
//! Other` to the interaction page, which then shows the next step or redirects to the app.

mod code;
mod consent;
mod mfa;
mod signin;
mod verify;
mod verify_group;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use verity_core::authorize::{AuthorizeRequest, Op, Params};
use verity_core::identity::{self, Needs, UserData};
use verity_core::interaction::{Facts, SessionFacts, Step, next_step};
use verity_core::secret::{constant_time_eq, new_token, token_hash};
use verity_store::apps::App;
use verity_store::sessions::{Interaction, Session, SignedIn};

use crate::error::PageError;
use crate::extract::{BodyKind, body_params, query_params, set_cookie};
use crate::pages::Page;
use crate::respond::{After, redirect_to_client, see_other, with_cookie};
use crate::session::{
    ACCOUNT_CLIENT_ID, BROWSER_COOKIE, BROWSER_COOKIE_AGE, browser_cookie, session_cookie,
};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/interaction/{id}", get(show))
        .route("/oauth/interaction/{id}/signin", post(signin::signin))
        .route("/oauth/interaction/{id}/signup", post(signin::signup))
        .route("/oauth/interaction/{id}/mfa", post(mfa::submit))
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

fn expired_page() -> PageError {
    PageError::bad_request(
        "This sign-in request has expired, was already completed, or was started in another browser. \
         Return to the app and start again.",
    )
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

/// The interaction, its app and request, checked against the browser (and, for a POST, the
/// form's CSRF token).
struct Loaded {
    ix: Interaction,
    app: App,
    request: AuthorizeRequest,
}

async fn load(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    csrf: Option<&str>,
) -> Result<Loaded, PageError> {
    if !verity_core::secret::is_token_shaped(id) {
        return Err(expired_page());
    }
    let ix = state
        .store
        .find_interaction(id, state.now())
        .await?
        .ok_or_else(expired_page)?;
    let browser_ok = browser_cookie(headers)
        .is_some_and(|b| constant_time_eq(token_hash(b).as_bytes(), ix.browser_hash.as_bytes()));
    if !browser_ok {
        return Err(expired_page());
    }
    if let Some(sent) = csrf
        && !constant_time_eq(sent.as_bytes(), ix.csrf_token.as_bytes())
    {
        return Err(PageError::form_expired(
            "This form is no longer valid (its security token does not match). Go back, reload the page and try again.",
        ));
    }
    let app = state
        .store
        .find_app(&ix.client_id)
        .await?
        .ok_or_else(expired_page)?;
    let request: AuthorizeRequest = serde_json::from_str(&ix.request)
        .map_err(|e| PageError::internal("reading an interaction", e))?;
    Ok(Loaded { ix, app, request })
}

/// A form post to an interaction: the request's headers, the interaction (checked against the
/// browser and the form's CSRF token) and the form's fields.
struct Posted {
    headers: HeaderMap,
    l: Loaded,
    form: Params,
}

impl FromRequest<AppState> for Posted {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        // The interaction's id, also under a route with more parameters (`.../verify/{group}`).
        let Path(path) = Path::<std::collections::HashMap<String, String>>::from_request_parts(
            &mut parts, state,
        )
        .await
        .map_err(|_| expired_page())?;
        let id = path.get("id").cloned().unwrap_or_default();
        let headers = parts.headers.clone();
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| PageError::too_large("The form is too large."))?;
        let form = body_params(BodyKind::Form, &body).map_err(PageError::bad_request)?;
        let csrf = form.get("csrf_token").unwrap_or_default();
        let l = load(state, &headers, &id, Some(csrf)).await?;
        Ok(Posted { headers, l, form })
    }
}

/// The live session in this browser, if it belongs to the interaction's user (when one is set).
async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
    ix: &Interaction,
) -> Result<Option<Session>, PageError> {
    let Some(raw) = session_cookie(headers) else {
        return Ok(None);
    };
    let session = state
        .store
        .find_session(&token_hash(raw), state.now())
        .await?;
    Ok(session.filter(|s| fits(ix, &s.uuid)))
}

/// Whether a session of account `uuid` may continue the interaction: it is the account that
/// signed in here, or none did yet.
fn fits(ix: &Interaction, uuid: &str) -> bool {
    ix.uuid.as_deref().is_none_or(|u| u == uuid)
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

/// The session in this browser with its account and consents, if it may continue `ix`.
async fn read_signed_in(
    state: &AppState,
    headers: &HeaderMap,
    ix: &Interaction,
    app: &App,
) -> Result<Option<SignedIn>, PageError> {
    let Some(raw) = session_cookie(headers) else {
        return Ok(None);
    };
    let found = state
        .store
        .find_signed_in(&token_hash(raw), state.now(), &app.client_id)
        .await?;
    Ok(found.filter(|s| fits(ix, &s.session.uuid)))
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
    let (session, user, data, consents) = match signed_in {
        Some(s) => (Some(s.session), Some(s.user), Some(s.data), s.consents),
        None => (None, None, None, Vec::new()),
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
        }),
        signed_in_here: ix.signed_in_here,
        user_has_totp: user.as_ref().is_some_and(|u| u.totp_secret.is_some()),
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
        Step::Mfa => mfa::show(state, journey, error),
        Step::Verify(groups) => {
            let second_factor_missing = facts.needs_aal2 && !facts.session.is_some_and(|s| s.mfa);
            verify::show(state, journey, &groups, second_factor_missing, error)
        }
        Step::Consent => {
            let mfa = facts.session.is_some_and(|s| s.mfa);
            let email = user.as_ref().map_or("", |u| u.email.as_str());
            let asked = consent::Asked {
                policies: &policies,
                verification_details: req.claims.is_some(),
            };
            consent::show(state, journey, asked, user_data, mfa, email, error)
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

/// Re-renders the current step with an error message (a failed password, a wrong code ...).
async fn again(
    state: &AppState,
    headers: &HeaderMap,
    l: Loaded,
    op: Option<Op>,
    error: &str,
) -> Result<Response, PageError> {
    let entry = Entry {
        op,
        error: Some(error),
        after: After::Post,
        ..Entry::default()
    };
    advance(state, headers, l.ix, &l.app, &l.request, entry).await
}

/// The sign-in or sign-up form again, with the email the person typed (never a password) and
/// each problem beside its field.
async fn again_fields(
    state: &AppState,
    headers: &HeaderMap,
    l: Loaded,
    op: Op,
    email: &str,
    fields: &[(&'static str, &str)],
) -> Result<Response, PageError> {
    let entry = Entry {
        op: Some(op),
        email: Some(email),
        fields,
        after: After::Post,
        ..Entry::default()
    };
    advance(state, headers, l.ix, &l.app, &l.request, entry).await
}

/// Over a limit (`crate::limits`): the form again with the email the person typed and when to
/// try again, answered 429 with `Retry-After`.
async fn limited(
    state: &AppState,
    headers: &HeaderMap,
    l: Loaded,
    op: Op,
    email: &str,
    refused: crate::limits::Refused,
) -> Result<Response, PageError> {
    let text = refused.message();
    let entry = Entry {
        op: Some(op),
        error: Some(&text),
        email: Some(email),
        after: After::Post,
        ..Entry::default()
    };
    let resp = advance(state, headers, l.ix, &l.app, &l.request, entry).await?;
    Ok(refused.answer(resp))
}

/// Too many failures: the step again with the waiting time, answered 429.
async fn too_many(
    state: &AppState,
    headers: &HeaderMap,
    l: Loaded,
    op: Option<Op>,
    email: Option<&str>,
    wait: i64,
) -> Result<Response, PageError> {
    let text = format!(
        "Too many failed attempts. Try again in {}.",
        verity_core::throttle::wait_text(wait)
    );
    let entry = Entry {
        op,
        error: Some(&text),
        email,
        after: After::Post,
        ..Entry::default()
    };
    let mut resp = advance(state, headers, l.ix, &l.app, &l.request, entry).await?;
    if resp.status() != StatusCode::SEE_OTHER && !resp.status().is_redirection() {
        *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        resp.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(wait.max(1)),
        );
    }
    Ok(resp)
}

/// `303 See Other` to a group's verification page (after a code was sent).
fn respond_again(id: &str, group: &str) -> Response {
    see_other(&format!("/oauth/interaction/{id}/verify/{group}"))
}

/// `303 See Other` to the interaction page, which shows what comes next.
fn next(id: &str) -> Response {
    see_other(&format!("/oauth/interaction/{id}"))
}

/// RFC 6749 4.1.2.1 `access_denied`, back to the app.
async fn deny(state: &AppState, l: Loaded) -> Result<Response, PageError> {
    if !state.store.take_interaction(&l.ix.id).await? {
        return Err(expired_page());
    }
    tracing::info!(client_id = %l.app.client_id, "the user declined");
    Ok(redirect_to_client(
        &l.request.redirect_uri,
        l.request.response_mode,
        &[
            ("error", "access_denied"),
            ("error_description", "the user declined the request"),
        ],
        l.request.state.as_deref(),
        state,
        After::Post,
    ))
}
