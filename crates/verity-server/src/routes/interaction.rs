//! The sign-in journey of one authorization request (SPEC section 3): sign in or sign up, the
//! second factor, verification, consent, then the code. `verity_core::interaction::next_step`
//! decides which page comes next; this module renders it and records each answer.
//!
//! An interaction is bound to the browser that started it (the `verity_browser` cookie, compared
//! by digest) and every form carries the interaction's CSRF token. Each POST answers `303 See
//! Other` to the interaction page, which then shows the next step or redirects to the app.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use verity_core::authorize::{AuthorizeRequest, Op};
use verity_core::identity::{self, AuthFacts, Needs, UserData};
use verity_core::interaction::{Facts, SessionFacts, Step, next_step};
use verity_core::secret::{constant_time_eq, is_token_shaped, new_token, token_hash};
use verity_store::apps::App;
use verity_store::grants::CodeRequest;
use verity_store::sessions::{Interaction, Session};
use verity_store::users::{User, VerificationRecord};

use crate::error::PageError;
use crate::extract::{BodyKind, body_params, cookie, query_params, set_cookie};
use crate::routes::{see_other, with_cookie};
use crate::state::AppState;

pub const BROWSER_COOKIE: &str = "verity_browser";
pub const SESSION_COOKIE: &str = "verity_session";

/// The session cookie's value, when it has the shape of one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE).filter(|c| is_token_shaped(c))
}
const BROWSER_COOKIE_AGE: i64 = 400 * 24 * 3600;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/interaction/{id}", get(show))
        .route("/oauth/interaction/{id}/signin", post(signin))
        .route("/oauth/interaction/{id}/signup", post(signup))
        .route("/oauth/interaction/{id}/mfa", post(mfa))
        .route("/oauth/interaction/{id}/verify", post(verify))
        .route("/oauth/interaction/{id}/consent", post(consent))
        .route("/oauth/interaction/{id}/cancel", post(cancel))
}

/// `redirect_uri?code=...&state=...&iss=...` (RFC 6749 4.1.2, RFC 9207). Only ever called with a
/// URI that matched the app's registration exactly. 302 from a GET, 303 after a POST.
pub fn redirect_to_client(
    redirect_uri: &str,
    params: &[(&str, &str)],
    state: Option<&str>,
    issuer: &str,
    after_post: bool,
) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        query.append_pair(k, v);
    }
    if let Some(s) = state {
        query.append_pair("state", s);
    }
    query.append_pair("iss", issuer);
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{sep}{}", query.finish());
    let status = if after_post {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    match HeaderValue::from_str(&location) {
        Ok(v) => (
            status,
            [
                (header::LOCATION, v),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => PageError::bad_request("The redirect URI cannot be used.").into_response(),
    }
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
    let existing = cookie(headers, BROWSER_COOKIE)
        .filter(|b| is_token_shaped(b))
        .map(str::to_owned);
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
    let mut resp = advance(state, headers, ix, app, &request, None, None, false, true).await?;
    if existing.is_none() {
        resp = with_cookie(
            resp,
            &set_cookie(
                BROWSER_COOKIE,
                &browser,
                BROWSER_COOKIE_AGE,
                state.secure_cookies,
            ),
        );
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
    if !is_token_shaped(id) {
        return Err(expired_page());
    }
    let ix = state
        .store
        .find_interaction(id, state.now())
        .await?
        .ok_or_else(expired_page)?;
    let browser_ok = cookie(headers, BROWSER_COOKIE)
        .is_some_and(|b| constant_time_eq(token_hash(b).as_bytes(), ix.browser_hash.as_bytes()));
    if !browser_ok {
        return Err(expired_page());
    }
    if let Some(sent) = csrf
        && !constant_time_eq(sent.as_bytes(), ix.csrf_token.as_bytes())
    {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Form expired",
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

/// A form post to an interaction: the parsed fields, after the CSRF and browser checks.
async fn load_post(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Loaded, verity_core::authorize::Params), PageError> {
    let body = body.map_err(|_| {
        PageError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "The form is too large.",
        )
    })?;
    let form = body_params(BodyKind::Form, &body).map_err(PageError::bad_request)?;
    let csrf = form.get("csrf_token").unwrap_or_default().to_owned();
    let loaded = load(state, headers, id, Some(&csrf)).await?;
    Ok((loaded, form))
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
    advance(&state, &headers, ix, &app, &request, op, None, false, false).await
}

/// Decides the next step and renders it, or issues the code. `fresh`: the interaction is not
/// stored yet (the authorization endpoint's first step); it is stored before a page is shown.
#[allow(clippy::too_many_arguments)]
async fn advance(
    state: &AppState,
    headers: &HeaderMap,
    ix: Interaction,
    app: &App,
    req: &AuthorizeRequest,
    op: Option<Op>,
    error: Option<&str>,
    after_post: bool,
    fresh: bool,
) -> Result<Response, PageError> {
    let now = state.now();
    // The session, its account and its consents to this app, read at once. A new request
    // with a session (single sign-on) also stores the code it would issue in the same step
    // (one round trip instead of two): `speculative` is that code, deleted below unless the
    // request issues it.
    let mut speculative = None;
    let signed_in = match session_cookie(headers) {
        Some(raw) if fresh => {
            let code = new_token();
            let hash = token_hash(&code);
            let found = state
                .store
                .find_signed_in_with_code(
                    &token_hash(raw),
                    now,
                    &code_request(app, req, &hash, now),
                )
                .await?;
            if found.is_some() {
                speculative = Some(code);
            }
            found.filter(|s| fits(&ix, &s.session.uuid))
        }
        Some(raw) => state
            .store
            .find_signed_in(&token_hash(raw), now, &app.client_id)
            .await?
            .filter(|s| fits(&ix, &s.session.uuid)),
        None => None,
    };
    let (session, user, data, consents) = match signed_in {
        Some(s) => (Some(s.session), Some(s.user), Some(s.data), s.consents),
        None => (None, None, None, Vec::new()),
    };
    let policies = state.policies_for(req.scope.iter());
    let empty = UserData::default();
    let user_data = data.as_ref().unwrap_or(&empty);
    // Verity's own account page is first party: it asks for nothing beyond the sign-in.
    let first_party = app.client_id == crate::routes::account::ACCOUNT_CLIENT_ID;
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
    let step = match (next_step(&facts), op) {
        (Step::SignIn | Step::SignUp, Some(Op::Signup)) => Step::SignUp,
        (Step::SignIn | Step::SignUp, Some(Op::Signin)) => Step::SignIn,
        (s, _) => s,
    };
    if let Some(code) = speculative
        .as_deref()
        .filter(|_| !matches!(step, Step::Issue))
    {
        state.store.delete_code(&token_hash(code)).await?;
    }
    if fresh && !matches!(step, Step::Fail(_) | Step::Issue) {
        state.store.insert_interaction(&ix).await?;
    }
    let base = json!({
        "interaction_id": ix.id,
        "csrf_token": ix.csrf_token,
        "app_name": app.name,
        "logo_url": app.logo_url,
        "error": error,
    });
    let page =
        |name: &str, extra: serde_json::Value, status: StatusCode| -> Result<Response, PageError> {
            let mut ctx = base.clone();
            if let (Some(c), serde_json::Value::Object(e)) = (ctx.as_object_mut(), extra) {
                c.extend(e);
            }
            let status = if error.is_some() {
                status
            } else {
                StatusCode::OK
            };
            Ok((status, state.pages.render(name, state.sandbox(), &ctx)?).into_response())
        };
    match step {
        Step::SignIn => page(
            "signin.html",
            json!({"email": req.login_hint.as_deref().unwrap_or_default()}),
            StatusCode::UNAUTHORIZED,
        ),
        Step::SignUp => page(
            "signup.html",
            json!({"email": req.login_hint.as_deref().unwrap_or_default()}),
            StatusCode::BAD_REQUEST,
        ),
        Step::Mfa => page("mfa.html", json!({}), StatusCode::UNAUTHORIZED),
        Step::Verify(groups) => {
            let names: Vec<&str> = groups
                .iter()
                .map(|g| identity::group(g).map_or(g.as_str(), |d| d.name))
                .collect();
            page(
                "verify.html",
                json!({"groups": names}),
                StatusCode::BAD_REQUEST,
            )
        }
        Step::Consent => {
            let auth = AuthFacts {
                mfa: facts.session.is_some_and(|s| s.mfa),
            };
            let listed: Vec<serde_json::Value> = policies
                .iter()
                .filter(|p| p.handle != "openid" || policies.len() == 1)
                .map(|p| {
                    let shares: Vec<&str> = p
                        .releases
                        .iter()
                        .map(|h| identity::attribute(h).map_or(h.as_str(), |a| a.name))
                        .collect();
                    let status = p.needs.group().map(|_| {
                        if identity::satisfied(&p.needs, user_data, auth) {
                            "verified"
                        } else {
                            "not verified"
                        }
                    });
                    json!({"name": p.name, "shares": shares, "status": status})
                })
                .collect();
            let email = user.as_ref().map(|u| u.email.clone()).unwrap_or_default();
            page(
                "consent.html",
                json!({"policies": listed, "email": email}),
                StatusCode::BAD_REQUEST,
            )
        }
        Step::Fail(code) => {
            if !fresh {
                state.store.take_interaction(&ix.id).await?;
            }
            Ok(redirect_to_client(
                &req.redirect_uri,
                &[
                    ("error", code.as_str()),
                    (
                        "error_description",
                        "the user must interact with the provider",
                    ),
                ],
                req.state.as_deref(),
                &state.issuer,
                after_post,
            ))
        }
        Step::Issue => {
            let (Some(session), Some(_)) = (session, user) else {
                return Err(expired_page());
            };
            if let Some(code) = speculative {
                return Ok(code_issued(state, app, req, &code, after_post));
            }
            issue_code(state, &ix, app, req, &session, after_post, fresh).await
        }
    }
}

/// The code `code_hash` of `req`, to be issued in a session.
fn code_request<'a>(
    app: &'a App,
    req: &'a AuthorizeRequest,
    code_hash: &'a str,
    now: i64,
) -> CodeRequest<'a> {
    CodeRequest {
        code_hash,
        client_id: &app.client_id,
        redirect_uri: &req.redirect_uri,
        scopes: req.scope.as_slice(),
        nonce: req.nonce.as_deref(),
        code_challenge: req.code_challenge.as_deref(),
        eid: req.eid.as_deref(),
        created_at: now,
        expires_at: now + app.code_ttl,
    }
}

/// The redirect that gives the client its code.
fn code_issued(
    state: &AppState,
    app: &App,
    req: &AuthorizeRequest,
    code: &str,
    after_post: bool,
) -> Response {
    tracing::info!(client_id = %app.client_id, "authorization code issued");
    redirect_to_client(
        &req.redirect_uri,
        &[("code", code)],
        req.state.as_deref(),
        &state.issuer,
        after_post,
    )
}

async fn issue_code(
    state: &AppState,
    ix: &Interaction,
    app: &App,
    req: &AuthorizeRequest,
    session: &Session,
    after_post: bool,
    fresh: bool,
) -> Result<Response, PageError> {
    let now = state.now();
    // The interaction is single use: a double submit or a second tab cannot mint a second code.
    // (A fresh one was never stored: this request is its only use.)
    if !fresh && !state.store.take_interaction(&ix.id).await? {
        return Err(expired_page());
    }
    if ix.consented {
        state
            .store
            .insert_consent(&session.uuid, &app.client_id, &req.scope.canonical(), now)
            .await?;
    }
    let code = new_token();
    let hash = token_hash(&code);
    state
        .store
        .insert_code(&code_request(app, req, &hash, now).for_session(session))
        .await?;
    Ok(code_issued(state, app, req, &code, after_post))
}

/// Re-renders the current step with an error message (a failed password, a wrong code ...).
async fn again(
    state: &AppState,
    headers: &HeaderMap,
    l: Loaded,
    op: Option<Op>,
    error: &str,
) -> Result<Response, PageError> {
    advance(
        state,
        headers,
        l.ix,
        &l.app,
        &l.request,
        op,
        Some(error),
        true,
        false,
    )
    .await
}

fn next(id: &str) -> Response {
    see_other(&format!("/oauth/interaction/{id}"))
}

/// Starts a session for `user` in this browser (a new id at every sign-in: no fixation).
async fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    mut l: Loaded,
    user: &User,
) -> Result<Response, PageError> {
    let now = state.now();
    if let Some(old) = session_cookie(headers) {
        state.store.delete_session(&token_hash(old)).await?;
    }
    let sid = new_token();
    state
        .store
        .insert_session(&Session {
            id_hash: token_hash(&sid),
            sid: new_token(),
            uuid: user.uuid.clone(),
            auth_time: now,
            mfa: false,
            created_at: now,
            expires_at: now + state.settings.session_ttl,
        })
        .await?;
    l.ix.uuid = Some(user.uuid.clone());
    l.ix.signed_in_here = true;
    state.store.update_interaction(&l.ix).await?;
    let resp = next(&l.ix.id);
    Ok(with_cookie(
        resp,
        &set_cookie(
            SESSION_COOKIE,
            &sid,
            state.settings.session_ttl,
            state.secure_cookies,
        ),
    ))
}

fn busy() -> PageError {
    PageError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Busy",
        "Too many sign-ins are in progress right now. Please try again in a moment.",
    )
}

async fn verify_password(
    state: &AppState,
    user: Option<&User>,
    password: String,
) -> Result<bool, PageError> {
    let _slot = state.hashing_permit().await.ok_or_else(busy)?;
    let passwords = state.passwords.clone();
    let hash = user.map(|u| u.password_hash.clone());
    tokio::task::spawn_blocking(move || passwords.verify(hash.as_deref(), &password))
        .await
        .map_err(|e| PageError::internal("password verification task", e))
}

/// The client's address, as the request middleware recorded it.
pub(crate) fn client_address(headers: &HeaderMap) -> String {
    headers
        .get(crate::middleware::CLIENT_ADDRESS_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_owned()
}

/// Counts this attempt against the account (or second factor) `key` and the client `address`
/// before the secret is checked, so that concurrent attempts cannot slip past the limits.
/// `Some(seconds to wait)` when either is over its limit.
pub(crate) async fn begin_attempt(
    state: &AppState,
    key: &str,
    address: &str,
) -> Result<Option<i64>, PageError> {
    use verity_core::throttle::{ACCOUNT_LIMIT, ADDRESS_LIMIT, LOCK, WINDOW};
    let now = state.now();
    let own = state
        .store
        .take_attempt(key, now, WINDOW, ACCOUNT_LIMIT, LOCK)
        .await?;
    if !own.allowed {
        return Ok(Some((own.locked_until - now).max(1)));
    }
    let place = state
        .store
        .take_attempt(address, now, WINDOW, ADDRESS_LIMIT, LOCK)
        .await?;
    if !place.allowed {
        // This attempt never checked the account's secret: do not count it against the account.
        state.store.release_attempt(key).await?;
        return Ok(Some((place.locked_until - now).max(1)));
    }
    Ok(None)
}

/// A successful attempt: the account's counter starts again, the address gets its attempt back.
pub(crate) async fn end_attempt(
    state: &AppState,
    key: &str,
    address: &str,
) -> Result<(), PageError> {
    state.store.clear_failures(key).await?;
    state.store.release_attempt(address).await?;
    Ok(())
}

async fn too_many(
    state: &AppState,
    headers: &HeaderMap,
    l: Loaded,
    op: Option<Op>,
    wait: i64,
) -> Result<Response, PageError> {
    let text = format!(
        "Too many failed attempts. Try again in {}.",
        verity_core::throttle::wait_text(wait)
    );
    let mut resp = again(state, headers, l, op, &text).await?;
    if resp.status() != StatusCode::SEE_OTHER && !resp.status().is_redirection() {
        *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    }
    Ok(resp)
}

/// SPEC 3: the sign-in form (`email`, `password`). Failures are limited per account and per
/// client address; an unknown email is answered, counted and timed exactly like a wrong password.
async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (l, form) = load_post(&state, &headers, &id, body).await?;
    let email = form.get("email").unwrap_or_default().trim().to_owned();
    let password = form.get("password").unwrap_or_default().to_owned();
    if email.is_empty() || password.is_empty() || email.len() > 254 || password.len() > 1024 {
        return again(
            &state,
            &headers,
            l,
            Some(Op::Signin),
            "Enter your email and password.",
        )
        .await;
    }
    let account = verity_core::throttle::account_key(&email);
    let address = verity_core::throttle::address_key(&client_address(&headers));
    if let Some(wait) = begin_attempt(&state, &account, &address).await? {
        state
            .audit(
                "signin.locked",
                None,
                Some(&l.app.client_id),
                &headers,
                json!({}),
            )
            .await;
        return too_many(&state, &headers, l, Some(Op::Signin), wait).await;
    }
    let user = state.store.find_user_by_email(&email).await?;
    // Unknown emails pay a full hash too, and get the same answer as a wrong password.
    if !verify_password(&state, user.as_ref(), password).await? {
        // No user id on failures: the app's audit page must not tell which emails have accounts.
        state
            .audit(
                "signin.failure",
                None,
                Some(&l.app.client_id),
                &headers,
                json!({}),
            )
            .await;
        return again(
            &state,
            &headers,
            l,
            Some(Op::Signin),
            "The email or password is incorrect.",
        )
        .await;
    }
    let Some(user) = user else {
        return Err(expired_page());
    };
    end_attempt(&state, &account, &address).await?;
    state
        .audit(
            "signin.success",
            Some(&user.uuid),
            Some(&l.app.client_id),
            &headers,
            json!({}),
        )
        .await;
    sign_in(&state, &headers, l, &user).await
}

/// SPEC 3: the sign-up form (`email`, `password`, `password_confirm`).
async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (l, form) = load_post(&state, &headers, &id, body).await?;
    let email = form.get("email").unwrap_or_default().trim().to_lowercase();
    let password = form.get("password").unwrap_or_default().to_owned();
    let confirm = form.get("password_confirm").unwrap_or_default();
    let problem = if !valid_email(&email) {
        Some("Enter a valid email address.")
    } else if password.chars().count() < 8 || password.len() > 1024 {
        Some("Choose a password of at least 8 characters.")
    } else if !constant_time_eq(password.as_bytes(), confirm.as_bytes()) {
        Some("The two passwords do not match.")
    } else {
        None
    };
    if let Some(p) = problem {
        return again(&state, &headers, l, Some(Op::Signup), p).await;
    }
    if state.store.find_user_by_email(&email).await?.is_some() {
        return again(
            &state,
            &headers,
            l,
            Some(Op::Signup),
            "An account with this email already exists: sign in instead.",
        )
        .await;
    }
    let _slot = state.hashing_permit().await.ok_or_else(busy)?;
    let passwords = state.passwords.clone();
    let hash = tokio::task::spawn_blocking(move || passwords.hash(&password))
        .await
        .map_err(|e| PageError::internal("password hashing task", e))?
        .map_err(|e| PageError::internal("password hashing", e))?;
    let user = User {
        uuid: new_token(),
        email,
        password_hash: hash,
        totp_secret: None,
        totp_last_step: None,
        created_at: state.now(),
    };
    match state.store.insert_user(&user, &Default::default()).await {
        Ok(()) => {}
        Err(verity_store::StoreError::Conflict) => {
            return again(
                &state,
                &headers,
                l,
                Some(Op::Signup),
                "An account with this email already exists: sign in instead.",
            )
            .await;
        }
        Err(e) => return Err(e.into()),
    }
    state
        .audit(
            "signup",
            Some(&user.uuid),
            Some(&l.app.client_id),
            &headers,
            json!({}),
        )
        .await;
    sign_in(&state, &headers, l, &user).await
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// SPEC 3: the second factor (`code`, RFC 6238).
async fn mfa(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (l, form) = load_post(&state, &headers, &id, body).await?;
    let Some(session) = current_session(&state, &headers, &l.ix).await? else {
        return Ok(next(&l.ix.id));
    };
    let user = state
        .store
        .find_user(&session.uuid)
        .await?
        .ok_or_else(expired_page)?;
    let Some(sealed) = &user.totp_secret else {
        return Ok(next(&l.ix.id));
    };
    let secret = state
        .master_key
        .decrypt(sealed, user.uuid.as_bytes())
        .map_err(|e| PageError::internal("decrypting a TOTP secret", e))?;
    let mfa_key = verity_core::throttle::mfa_key(&user.uuid);
    let address = verity_core::throttle::address_key(&client_address(&headers));
    if let Some(wait) = begin_attempt(&state, &mfa_key, &address).await? {
        state
            .audit(
                "mfa.locked",
                Some(&user.uuid),
                Some(&l.app.client_id),
                &headers,
                json!({}),
            )
            .await;
        return too_many(&state, &headers, l, None, wait).await;
    }
    let code = form.get("code").unwrap_or_default();
    let recovery = verity_core::totp::normalize_recovery_code(code);
    let accepted = match verity_core::totp::verify(&secret, code, state.now(), user.totp_last_step)
    {
        Some(step) => state.store.take_totp_step(&user.uuid, step).await?,
        // A recovery code (10 characters once normalized) stands in for the app, once.
        None if recovery.len() == 10 => {
            let used = state
                .store
                .take_recovery_code(&user.uuid, &token_hash(&recovery), state.now())
                .await?;
            if used {
                state
                    .audit(
                        "mfa.recovery_code_used",
                        Some(&user.uuid),
                        Some(&l.app.client_id),
                        &headers,
                        json!({}),
                    )
                    .await;
            }
            used
        }
        None => false,
    };
    if !accepted {
        state
            .audit(
                "mfa.failure",
                Some(&user.uuid),
                Some(&l.app.client_id),
                &headers,
                json!({}),
            )
            .await;
        return again(
            &state,
            &headers,
            l,
            None,
            "That code is not valid. Enter the current code from your app.",
        )
        .await;
    }
    end_attempt(&state, &mfa_key, &address).await?;
    state.store.update_session_mfa(&session.id_hash).await?;
    state
        .audit(
            "mfa.success",
            Some(&user.uuid),
            Some(&l.app.client_id),
            &headers,
            json!({"method": "totp"}),
        )
        .await;
    Ok(next(&l.ix.id))
}

/// SPEC 3: the verification page (`decision` = `verify` in the sandbox, `skip`, `deny`).
async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (mut l, form) = load_post(&state, &headers, &id, body).await?;
    match form.get("decision") {
        Some("verify") if state.sandbox() => {
            let Some(session) = current_session(&state, &headers, &l.ix).await? else {
                return Ok(next(&l.ix.id));
            };
            let data = state
                .store
                .find_user_data(&session.uuid)
                .await?
                .ok_or_else(expired_page)?;
            let policies = state.policies_for(l.request.scope.iter());
            for group in identity::missing_verifications(&policies, &data) {
                let subgroups = if group == "military" {
                    vec!["Veteran".to_owned()]
                } else {
                    vec![]
                };
                let record = VerificationRecord {
                    group,
                    verified: true,
                    subgroups,
                    method: "sandbox".into(),
                    decided_by: "sandbox verification page".into(),
                    decided_at: state.now(),
                };
                state
                    .store
                    .upsert_verification(&session.uuid, &record)
                    .await?;
            }
            l.ix.verification_answered = true;
        }
        Some("skip") => {
            // Only a signed-in user's answer counts: one posted before sign-in would skip the page
            // for whoever signs in next.
            if current_session(&state, &headers, &l.ix).await?.is_none() {
                return Ok(next(&l.ix.id));
            }
            l.ix.verification_answered = true;
        }
        Some("deny") => return deny(&state, l).await,
        _ => {
            return again(
                &state,
                &headers,
                l,
                None,
                "Choose one of the options below.",
            )
            .await;
        }
    }
    state.store.update_interaction(&l.ix).await?;
    Ok(next(&l.ix.id))
}

/// SPEC 3: the consent page (`decision` = `allow` or `deny`).
async fn consent(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (mut l, form) = load_post(&state, &headers, &id, body).await?;
    match form.get("decision") {
        Some("allow") => {
            // Consent is remembered for the signed-in user, who must have been shown this page.
            let Some(session) = current_session(&state, &headers, &l.ix).await? else {
                return Ok(next(&l.ix.id));
            };
            l.ix.consented = true;
            state.store.update_interaction(&l.ix).await?;
            let scope = l.request.scope.to_scope_string();
            state
                .audit(
                    "consent.granted",
                    Some(&session.uuid),
                    Some(&l.app.client_id),
                    &headers,
                    json!({"scope": scope}),
                )
                .await;
            Ok(next(&l.ix.id))
        }
        Some("deny") => deny(&state, l).await,
        _ => again(&state, &headers, l, None, "Choose Allow or Deny.").await,
    }
}

/// The person cancelled on the sign-in page.
async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let (l, _) = load_post(&state, &headers, &id, body).await?;
    deny(&state, l).await
}

/// RFC 6749 4.1.2.1 `access_denied`, back to the app.
async fn deny(state: &AppState, l: Loaded) -> Result<Response, PageError> {
    if !state.store.take_interaction(&l.ix.id).await? {
        return Err(expired_page());
    }
    tracing::info!(client_id = %l.app.client_id, "the user declined");
    Ok(redirect_to_client(
        &l.request.redirect_uri,
        &[
            ("error", "access_denied"),
            ("error_description", "the user declined the request"),
        ],
        l.request.state.as_deref(),
        &state.issuer,
        true,
    ))
}
