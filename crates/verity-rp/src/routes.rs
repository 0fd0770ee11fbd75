//! The pages of SPEC section 10.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::Environment;
use serde::Deserialize;
use serde_json::json;
use verity_client::assurance::CivilDate;
use verity_client::{AuditLog, CallbackQuery, ClaimsRequest, Client, Clock, PendingAuthorization};

use crate::assurance;
use crate::db::Db;
use crate::settings::RpSettings;

const COOKIE: &str = "verity_rp";
/// A sign-in left half-way is forgotten after this long.
const PENDING_TTL: i64 = 900;
const MAX_PENDING: usize = 10_000;
/// How long a sign-in to the app lasts.
const SESSION_TTL: i64 = 8 * 3600;

/// The profile form: handle and label. Read by handle, never by position.
const FIELDS: &[(&str, &str)] = &[
    ("fname", "First name"),
    ("mname", "Middle name"),
    ("lname", "Last name"),
    ("email", "Email"),
    ("birth_date", "Birth date"),
    ("phone", "Phone"),
    ("street", "Street"),
    ("city", "City"),
    ("state", "State"),
    ("zip", "Zip code"),
    ("country", "Country"),
];

struct SignedIn {
    uuid: String,
    csrf: String,
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
        })
    }

    fn render(&self, name: &str, status: StatusCode, ctx: serde_json::Value) -> Response {
        let mut ctx = ctx;
        ctx["issuer"] = self.client.metadata().issuer.clone().into();
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
}

/// The whole route table of SPEC 10.
pub fn router(state: RpState) -> axum::Router {
    axum::Router::new()
        .route("/", get(index))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .route("/profile", get(profile).post(save_profile))
        .route("/static/rp.css", get(stylesheet))
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
            "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'",
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

/// The pages' stylesheet (the CSP allows styles from this origin only).
async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("static/rp.css"),
    )
        .into_response()
}

/// SPEC 10 `/`: a "Verify your identity" button leading to `/login`.
async fn index(State(state): State<RpState>) -> Response {
    state.render("index.html", StatusCode::OK, json!({}))
}

/// OIDC Core 3.1.2.1 and RFC 7636 (PKCE); SPEC 10 `/login`: the redirect to the provider, with
/// `state`, `nonce` and the PKCE S256 verifier kept server-side.
async fn login(State(state): State<RpState>) -> Response {
    let mut request = state
        .client
        .authorization_request()
        .scopes(state.scopes.iter());
    if let Some(claims) = &state.claims_request {
        request = request.claims(ClaimsRequest::clone(claims));
    }
    let built = request.build();
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
        return state.error_page(
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
            let message = match &e {
                verity_client::Error::Callback(verity_client::CallbackError::Provider {
                    error,
                    ..
                }) if error == "access_denied" => {
                    "You declined to share your information.".to_owned()
                }
                other => format!("The provider's answer was refused: {other}."),
            };
            return state.error_page(StatusCode::BAD_REQUEST, "Sign-in failed", &message);
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

/// SPEC 10 `/profile`: the form pre-filled from the stored, verified attributes, read by handle.
async fn profile(State(state): State<RpState>, headers: HeaderMap) -> Response {
    let Some((uuid, csrf)) = signed_in(&state, &headers) else {
        return Redirect::to("/").into_response();
    };
    let row = match state.db.find_verification(&uuid).await {
        Ok(Some(row)) => row,
        Ok(None) => return Redirect::to("/").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading the verification");
            return state.server_error("Error");
        }
    };
    let fields: Vec<_> = FIELDS
        .iter()
        .map(|(handle, label)| {
            json!({"handle": handle, "label": label,
                   "value": row.identity.text(handle).unwrap_or_default()})
        })
        .collect();
    let today = CivilDate::of_unix(state.clock.now());
    state.render(
        "profile.html",
        StatusCode::OK,
        json!({"uuid": row.uuid, "updated_at": assurance::unix_date_words(row.updated_at),
               "groups": row.identity.groups, "fields": fields, "csrf": csrf,
               "assurance_asked": state.claims_request.is_some(),
               "assurance": assurance::describe(&row.verified_claims, today)}),
    )
}

#[derive(Deserialize)]
struct ProfileForm {
    csrf_token: String,
}

/// SPEC 10 `/profile` (POST): records a `profile_saved` activity; the form must carry the
/// session's CSRF token.
async fn save_profile(
    State(state): State<RpState>,
    headers: HeaderMap,
    Form(form): Form<ProfileForm>,
) -> Response {
    let Some((uuid, csrf)) = signed_in(&state, &headers) else {
        return Redirect::to("/").into_response();
    };
    if form.csrf_token != csrf {
        return state.error_page(StatusCode::FORBIDDEN, "Refused", "The form is out of date.");
    }
    if let Err(e) = state
        .db
        .insert_activity(&uuid, "profile_saved", None, state.clock.now())
        .await
    {
        tracing::error!(error = %e, "recording activity");
    }
    Redirect::to("/profile").into_response()
}
