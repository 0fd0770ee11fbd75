//! The pages of SPEC section 10: `/` (the home page, greeting the person once signed in),
//! `/login`, `/callback`, `/profile` (the form, and its save), `/logout` (sign-out, then the
//! provider's RP-initiated logout).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::Environment;
use serde_json::json;
use verity_client::assurance::CivilDate;
use verity_client::{AuditLog, CallbackQuery, ClaimsRequest, Client, Clock, PendingAuthorization};

use crate::assurance::{self, Moment};
use crate::db::{Db, SavedProfile, VerificationRow};
use crate::profile::{self, ShownField, Submitted};
use crate::settings::RpSettings;

const COOKIE: &str = "verity_rp";
/// A sign-in left half-way is forgotten after this long.
const PENDING_TTL: i64 = 900;
const MAX_PENDING: usize = 10_000;
/// How long a sign-in to the app lasts.
const SESSION_TTL: i64 = 8 * 3600;

struct SignedIn {
    uuid: String,
    csrf: String,
    /// The ID token of this sign-in, sent back as `id_token_hint` at sign-out.
    id_token: String,
    at: i64,
}

#[derive(Default)]
struct Sessions {
    pending: HashMap<String, (PendingAuthorization, i64)>,
    signed_in: HashMap<String, SignedIn>,
}

/// What the handlers share.
#[derive(Clone)]
pub struct RpState {
    client: Client,
    db: Db,
    /// Requested at every sign-in (`VERITY_RP_SCOPES`).
    scopes: Arc<Vec<String>>,
    /// The `verified_claims` asked at every sign-in, when `VERITY_RP_VERIFIED_CLAIMS` is set;
    /// kept to check the answers against.
    claims_request: Option<Arc<ClaimsRequest>>,
    pages: Arc<Environment<'static>>,
    /// Sign-ins in progress and signed-in browsers, by cookie; in memory only (see the crate docs).
    sessions: Arc<Mutex<Sessions>>,
    clock: Arc<dyn Clock>,
    /// The cookie is `Secure` when the app is served over https (its redirect URI says so).
    secure_cookie: bool,
    /// Where the provider sends the browser after sign-out (registered with the app there).
    post_logout_redirect_uri: Arc<str>,
    /// How the pages name the provider.
    provider_name: Arc<str>,
}

impl RpState {
    /// The state of one app: its provider client, database, settings and clock; the pages are
    /// compiled here, once.
    pub fn new(
        client: Client,
        db: Db,
        settings: &RpSettings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.add_template("base.html", include_str!("templates/base.html"))?;
        env.add_template("macros.html", include_str!("templates/macros.html"))?;
        env.add_template("index.html", include_str!("templates/index.html"))?;
        env.add_template("profile.html", include_str!("templates/profile.html"))?;
        env.add_template("error.html", include_str!("templates/error.html"))?;
        Ok(RpState {
            client,
            db,
            scopes: Arc::new(settings.scopes.clone()),
            claims_request: settings
                .verified_claims
                .then(|| Arc::new(assurance::claims_request())),
            pages: Arc::new(env),
            sessions: Arc::new(Mutex::new(Sessions::default())),
            clock,
            secure_cookie: settings.redirect_uri.starts_with("https:"),
            post_logout_redirect_uri: settings.post_logout_redirect_uri.as_str().into(),
            provider_name: settings.provider_name.as_str().into(),
        })
    }

    fn render(&self, name: &str, status: StatusCode, ctx: serde_json::Value) -> Response {
        let mut ctx = ctx;
        ctx["issuer"] = self.client.metadata().issuer.clone().into();
        ctx["provider"] = self.provider_name.as_ref().into();
        match self.pages.get_template(name).and_then(|t| t.render(&ctx)) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, template = name, "rendering");
                (StatusCode::INTERNAL_SERVER_ERROR, "server error").into_response()
            }
        }
    }

    fn error_page(&self, status: StatusCode, title: &str, message: &str) -> Response {
        self.render(
            "error.html",
            status,
            json!({"title": title, "message": message}),
        )
    }

    /// An error page for a sign-in that did not happen: it says so, and offers to start again.
    fn sign_in_failed(&self, status: StatusCode, title: &str, message: &str) -> Response {
        self.render(
            "error.html",
            status,
            json!({"title": title, "message": message, "signed_out": true}),
        )
    }

    /// A 500 page: the cause is in the log, not on the page.
    fn server_error(&self, title: &str) -> Response {
        self.error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            title,
            "Please try again.",
        )
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        // A panic while holding the lock cannot leave the maps half-updated in a harmful way.
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cookie(&self, value: &str) -> HeaderValue {
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("verity_rp=; Path=/"))
    }

    /// The cookie that makes the browser forget the session.
    fn expired_cookie(&self) -> HeaderValue {
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("verity_rp=; Path=/; Max-Age=0"))
    }
}

/// The whole route table of SPEC 10.
pub fn router(state: RpState) -> axum::Router {
    axum::Router::new()
        .route("/", get(index))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/profile", get(profile).post(save_profile))
        .route("/logout", post(logout))
        .route("/static/rp.css", get(stylesheet))
        .route("/static/local-time.js", get(local_time))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// The same habits as the provider: no framing, a strict CSP, no referrer (the callback URL
/// carries a code), no caching of pages with personal data.
/// Also one access-log line per request: method, path and status, never the query string (the
/// callback's carries a code).
async fn security_headers(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let mut resp = next.run(req).await;
    tracing::info!(%method, %path, status = resp.status().as_u16(), "request");
    let h = resp.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; \
             base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The app's session cookie, if the browser sent one.
fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// The script that says each `<time data-style>` in the reader's time zone and language (the
/// pages work without it: the server writes UTC words). The provider's pages use the same
/// script; it has one copy, the provider's.
async fn local_time() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../verity-server/src/static/local-time.js"),
    )
        .into_response()
}

/// The pages' stylesheet (the CSP allows styles from this origin only).
async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("static/rp.css"),
    )
        .into_response()
}

/// SPEC 10 `/`: before sign-in, what the app does and a "Verify your identity" button leading
/// to `/login`; after, a greeting by name (or email) and the way to the profile.
async fn index(State(state): State<RpState>, headers: HeaderMap) -> Response {
    let Some((uuid, csrf)) = signed_in(&state, &headers) else {
        return state.render("index.html", StatusCode::OK, json!({}));
    };
    let (row, saved) = match load_profile(&state, &uuid).await {
        Ok(Some(found)) => found,
        Ok(None) => return state.render("index.html", StatusCode::OK, json!({})),
        Err(resp) => return resp,
    };
    let shown = profile::show(&row.identity, &saved.fields);
    state.render(
        "index.html",
        StatusCode::OK,
        json!({"csrf": csrf, "name": profile::greeting_name(&shown),
               "verified_on": Moment::day(row.updated_at)}),
    )
}

/// OIDC Core 3.1.2.1 and RFC 7636 (PKCE); SPEC 10 `/login`: the redirect to the provider, with
/// `state`, `nonce` and the PKCE S256 verifier kept server-side. When the provider offers
/// pushed authorization requests (RFC 9126) the request goes over the back channel first and the
/// browser carries only `client_id` and `request_uri` (`Client::begin`); else the query URL.
async fn login(State(state): State<RpState>) -> Response {
    let mut request = state
        .client
        .authorization_request()
        .scopes(state.scopes.iter());
    if let Some(claims) = &state.claims_request {
        request = request.claims(ClaimsRequest::clone(claims));
    }
    let built = state.client.begin(request).await;
    let (url, pending) = match built {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "building the authorization request");
            return state.server_error("Cannot start");
        }
    };
    let Ok(sid) = verity_client::random_token(32) else {
        return state.server_error("Cannot start");
    };
    let now = state.clock.now();
    {
        let mut s = state.sessions();
        s.pending.retain(|_, (_, at)| now - *at < PENDING_TTL);
        if s.pending.len() >= MAX_PENDING {
            return state.error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy",
                "Please try again later.",
            );
        }
        s.pending.insert(sid.clone(), (pending, now));
    }
    let mut resp = Redirect::to(url.as_str()).into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, state.cookie(&sid));
    resp
}

/// OIDC Core 3.1.2.5-3.1.3.7 and 5.3; SPEC 10 `/callback`: callback, code exchange, ID token,
/// userinfo and attributes (and, when asked, the `verified_claims` that answer the request), then
/// storage. Any failure: an error page, only the raw audit record stored, not signed in; an
/// unreadable or unasked `verified_claims` is left out without failing the sign-in.
async fn callback(
    State(state): State<RpState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = CallbackQuery::parse(query.as_deref().unwrap_or_default());
    let pending = session_id(&headers).and_then(|sid| state.sessions().pending.remove(&sid));
    let Some((pending, _)) = pending else {
        return state.sign_in_failed(
            StatusCode::BAD_REQUEST,
            "No sign-in in progress",
            "This browser did not start a sign-in here, or it took too long.",
        );
    };
    let mut audit = AuditLog::default();
    let now = state.clock.now();
    let verified = match state.client.complete(&query, &pending, &mut audit).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "sign-in refused");
            if let Err(db) = state.db.insert_raw_responses(None, &audit.responses).await {
                tracing::error!(error = %db, "storing the raw audit record");
            }
            let provider = &state.provider_name;
            let (message, detail) = match &e {
                verity_client::Error::Callback(verity_client::CallbackError::Provider {
                    error,
                    ..
                }) if error == "access_denied" => (
                    format!("You declined to share your information with this app at {provider}."),
                    None,
                ),
                other => (
                    format!(
                        "The answer from {provider} did not pass this app's checks, so it did not \
                         sign you in. Please try again; if it happens again, tell the app's developer."
                    ),
                    Some(other.to_string()),
                ),
            };
            return state.render(
                "error.html",
                StatusCode::BAD_REQUEST,
                json!({"title": "Sign-in failed", "message": message, "detail": detail,
                       "signed_out": true}),
            );
        }
    };
    let verified_claims = match &state.claims_request {
        Some(request) => match request.answers(&verified, now) {
            Ok(answers) => {
                for refused in &answers.refused {
                    tracing::warn!(mismatch = %refused.mismatch, source = ?refused.source,
                        "verified_claims not asked for, left out");
                }
                answers.kept
            }
            // The raw body is kept; the sign-in goes on without the details.
            Err(e) => {
                tracing::warn!(error = %e, "verified_claims unreadable, left out");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    let issuer = state.client.metadata().issuer.clone();
    if let Err(e) = state
        .db
        .record_verification(
            &issuer,
            &verified.identity,
            &verified_claims,
            &audit.responses,
            now,
        )
        .await
    {
        tracing::error!(error = %e, "storing the verification");
        return state.server_error("Sign-in failed");
    }
    let (Ok(sid), Ok(csrf)) = (
        verity_client::random_token(32),
        verity_client::random_token(32),
    ) else {
        return state.server_error("Sign-in failed");
    };
    {
        let mut s = state.sessions();
        s.signed_in.retain(|_, v| now - v.at < SESSION_TTL);
        s.signed_in.insert(
            sid.clone(),
            SignedIn {
                uuid: verified.identity.subject.clone(),
                csrf,
                id_token: verified.id_token.raw.clone(),
                at: now,
            },
        );
    }
    let mut resp = Redirect::to("/profile").into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, state.cookie(&sid));
    resp
}

/// The signed-in person's `uuid` and CSRF token, while the session lasts.
fn signed_in(state: &RpState, headers: &HeaderMap) -> Option<(String, String)> {
    let sid = session_id(headers)?;
    let now = state.clock.now();
    state
        .sessions()
        .signed_in
        .get(&sid)
        .filter(|s| now - s.at < SESSION_TTL)
        .map(|s| (s.uuid.clone(), s.csrf.clone()))
}

/// The person's stored verification and what they saved beside it (empty if nothing yet);
/// `None` if they were never verified here.
async fn load_profile(
    state: &RpState,
    uuid: &str,
) -> Result<Option<(VerificationRow, SavedProfile)>, Response> {
    let row = match state.db.find_verification(uuid).await {
        Ok(Some(row)) => row,
        Ok(None) => return Ok(None),
        Err(e) => {
            tracing::error!(error = %e, "reading the verification");
            return Err(state.server_error("Your profile could not be read"));
        }
    };
    match state.db.find_saved_profile(uuid).await {
        Ok(saved) => Ok(Some((row, saved.unwrap_or_default()))),
        Err(e) => {
            tracing::error!(error = %e, "reading the saved profile");
            Err(state.server_error("Your profile could not be read"))
        }
    }
}

/// What the profile page says above and around the form.
enum Notice {
    None,
    /// The save just succeeded (the redirect after it says `?saved`).
    Saved,
    /// The save was refused: the errors are beside their fields.
    Refused,
}

/// The profile page: the verification, the form with `fields`, and `notice`.
fn profile_page(
    state: &RpState,
    row: &VerificationRow,
    saved: &SavedProfile,
    fields: &[ShownField],
    csrf: &str,
    notice: Notice,
) -> Response {
    let today = CivilDate::of_unix(state.clock.now());
    let status = match notice {
        Notice::Refused => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    state.render(
        "profile.html",
        status,
        json!({"page": "profile", "uuid": row.uuid, "updated_at": Moment::day(row.updated_at),
               "groups": row.identity.groups, "fields": fields, "csrf": csrf,
               "max_len": profile::MAX_LEN,
               "saved_at": (saved.saved_at > 0).then(|| Moment::day(saved.saved_at)),
               "saved": matches!(notice, Notice::Saved) && saved.saved_at > 0,
               "refused": matches!(notice, Notice::Refused),
               "assurance_asked": state.claims_request.is_some(),
               "assurance": assurance::describe(&row.verified_claims, today)}),
    )
}

/// SPEC 10 `/profile`: the form pre-filled from what the person saved, else from the stored,
/// verified attributes, read by handle; each field says which of the two it shows. After a save
/// (`?saved`), a status message says so.
async fn profile(
    State(state): State<RpState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some((uuid, csrf)) = signed_in(&state, &headers) else {
        return Redirect::to("/").into_response();
    };
    let (row, saved) = match load_profile(&state, &uuid).await {
        Ok(Some(found)) => found,
        Ok(None) => return Redirect::to("/").into_response(),
        Err(resp) => return resp,
    };
    let just_saved = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .any(|(k, _)| k == "saved");
    let fields = profile::show(&row.identity, &saved.fields);
    let notice = if just_saved {
        Notice::Saved
    } else {
        Notice::None
    };
    profile_page(&state, &row, &saved, &fields, &csrf, notice)
}

/// SPEC 10 `/profile` (POST): what the person typed is checked (one line, at most
/// [`profile::MAX_LEN`] characters a field) and stored beside the verified values, with a
/// `profile_saved` activity; then a redirect (303) to the profile, which says it was saved. A
/// refused form comes back with what was typed and each error beside its field. The form must
/// carry the session's CSRF token.
async fn save_profile(
    State(state): State<RpState>,
    headers: HeaderMap,
    Form(mut form): Form<HashMap<String, String>>,
) -> Response {
    let Some((uuid, csrf)) = signed_in(&state, &headers) else {
        return Redirect::to("/").into_response();
    };
    if form.remove("csrf_token").as_deref() != Some(csrf.as_str()) {
        return state.render(
            "error.html",
            StatusCode::FORBIDDEN,
            json!({"title": "Not saved",
                   "message": "This form is out of date (it was opened before your latest sign-in). Your details were not saved: open your profile again and make your changes there.",
                   "back": {"href": "/profile", "label": "Open your profile"}}),
        );
    }
    let (row, saved) = match load_profile(&state, &uuid).await {
        Ok(Some(found)) => found,
        Ok(None) => return Redirect::to("/").into_response(),
        Err(resp) => return resp,
    };
    match profile::submit(&row.identity, &saved.fields, &form) {
        Submitted::Save { fields, changed } => {
            let now = state.clock.now();
            if let Err(e) = state.db.save_profile(&uuid, &fields, &changed, now).await {
                tracing::error!(error = %e, "saving the profile");
                return state.server_error("Your details were not saved");
            }
            Redirect::to("/profile?saved").into_response()
        }
        Submitted::Refused { errors, typed } => {
            let fields = profile::show_refused(&row.identity, &saved.fields, &typed, &errors);
            profile_page(&state, &row, &saved, &fields, &csrf, Notice::Refused)
        }
    }
}

/// OIDC RP-Initiated Logout 1.0 section 2; SPEC 10 `/logout` (POST, with the session's CSRF
/// token): the app's session ends here first, then the browser goes to the provider's
/// `end_session_endpoint` with the ID token as `id_token_hint`, to come back to the home page
/// (`post_logout_redirect_uri`, registered with the app at the provider). A provider without
/// that endpoint: straight back home.
async fn logout(
    State(state): State<RpState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let sent = form.get("csrf_token").map(String::as_str);
    let ended = session_id(&headers).and_then(|sid| {
        let mut s = state.sessions();
        if Some(s.signed_in.get(&sid)?.csrf.as_str()) != sent {
            return Some(Err(()));
        }
        s.signed_in.remove(&sid).map(Ok)
    });
    let session = match ended {
        Some(Ok(session)) => session,
        Some(Err(())) => {
            return state.error_page(
                StatusCode::FORBIDDEN,
                "Still signed in",
                "This page was out of date, so you were not signed out. Go back and press Sign out again.",
            );
        }
        None => return see_other_forgetting_session(&state, "/"),
    };
    if let Err(e) = state
        .db
        .insert_activity(&session.uuid, "signed_out", None, state.clock.now())
        .await
    {
        tracing::error!(error = %e, "recording activity");
    }
    let target = match state.client.logout_url(
        Some(&session.id_token),
        Some(&state.post_logout_redirect_uri),
        None,
    ) {
        Ok(url) => String::from(url),
        Err(e) => {
            tracing::info!(error = %e, "no RP-initiated logout at the provider; signed out here only");
            "/".to_owned()
        }
    };
    see_other_forgetting_session(&state, &target)
}

/// A 303 to `target` that also makes the browser forget the session cookie.
fn see_other_forgetting_session(state: &RpState, target: &str) -> Response {
    let mut resp = Redirect::to(target).into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, state.expired_cookie());
    resp
}

/// Any other path: a page, not an empty answer.
async fn not_found(State(state): State<RpState>) -> Response {
    state.error_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.",
    )
}
