//! The person's session with Verity itself: the cookies (`verity_session`, `verity_browser`),
//! starting a session at sign-in, finding who is signed in, the session-bound CSRF token of
//! Verity's own pages (and the cookie-bound one of its anonymous forms: [`anonymous_csrf`]),
//! and the built-in first-party account client through which the account page and the console
//! send a person to sign in.
//!
//! Sessions are server-side rows; the cookie holds only a random id, stored as a digest. Every
//! sign-in gets a new id (no fixation).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use axum::response::Response;
use verity_core::authorize::Params;
use verity_core::pkce;
use verity_core::secret::{
    constant_time_eq, hex, is_token_shaped, new_ordered_id, new_token, token_hash,
};
use verity_store::sessions::Session;
use verity_store::users::User;

use crate::error::PageError;
use crate::extract::{BodyKind, body_params, cookie, set_cookie};
use crate::respond::{see_other, with_cookie};
use crate::state::AppState;

/// The browser's session id.
pub const SESSION_COOKIE: &str = "verity_session";
/// A random id of the browser, to which each interaction is bound (by digest).
pub const BROWSER_COOKIE: &str = "verity_browser";
/// The browser cookie lives as long as browsers allow (400 days).
pub const BROWSER_COOKIE_AGE: i64 = 400 * 24 * 3600;

/// The built-in first-party app behind the account page and the console.
pub const ACCOUNT_CLIENT_ID: &str = "verity-account";
/// The account client's pending sign-in: `state.verifier.hex(next)`.
pub(crate) const LOGIN_COOKIE: &str = "verity_account_login";

/// The session cookie's value, when it has the shape of one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE).filter(|c| is_token_shaped(c))
}

/// The browser cookie's value, when it has the shape of one.
pub fn browser_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, BROWSER_COOKIE).filter(|b| is_token_shaped(b))
}

/// Starts a session for `user` in this browser, ending the one it had: the `Set-Cookie` value
/// of the new session.
pub async fn start(
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
) -> verity_store::Result<String> {
    start_with(state, headers, user, None).await
}

/// [`start`] for a sign-in by `passkey` alone (then two factors are shown: the passkey verified
/// its person).
pub async fn start_with(
    state: &AppState,
    headers: &HeaderMap,
    user: &User,
    passkey: Option<verity_core::authn::KeyUse>,
) -> verity_store::Result<String> {
    let now = state.now();
    if let Some(old) = session_cookie(headers) {
        state.store.delete_session(&token_hash(old)).await?;
    }
    let sid = new_token();
    state
        .store
        .insert_session(&Session {
            id_hash: token_hash(&sid),
            // Public and carried by every token of the session: ordered, not random (the
            // `tokens_sid` index, BENCHMARKS.md "Growth").
            sid: new_ordered_id(now),
            uuid: user.uuid.clone(),
            auth_time: now,
            mfa: passkey.is_some(),
            passkey,
            created_at: now,
            expires_at: now + state.settings.session_ttl,
        })
        .await?;
    Ok(set_cookie(
        SESSION_COOKIE,
        &sid,
        state.settings.session_ttl,
        state.secure_cookies,
    ))
}

/// The signed-in session and its user, if any.
pub async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(Session, User)>, PageError> {
    let Some(raw) = session_cookie(headers) else {
        return Ok(None);
    };
    let Some(session) = state
        .store
        .find_session(&token_hash(raw), state.now())
        .await?
    else {
        return Ok(None);
    };
    let Some(user) = state.store.find_user(&session.uuid).await? else {
        return Ok(None);
    };
    // A session that has not passed an enrolled second factor is not signed in here: the sign-in
    // journey asks for the code first (otherwise a password alone could reach the account page
    // and the console, and replace the second factor). A passkey is a second factor too.
    if !session.mfa
        && (user.totp_secret.is_some() || !state.store.find_passkeys(&user.uuid).await?.is_empty())
    {
        return Ok(None);
    }
    Ok(Some((session, user)))
}

/// A CSRF token bound to the session, derived so it needs no storage.
pub fn csrf_token(state: &AppState, session: &Session) -> String {
    csrf_for(state, &session.id_hash)
}

/// The CSRF token of the session whose id has the digest `id_hash`.
pub fn csrf_for(state: &AppState, id_hash: &str) -> String {
    hex(&state.master_key.derive("account-csrf", id_hash.as_bytes()))
}

/// The form's CSRF token `sent` against the session whose id has the digest `id_hash` (none: no
/// session, nothing matches), compared in constant time: 403 `form_expired` when they differ.
/// Shared by the account page's and the console's forms.
pub fn check_csrf(state: &AppState, id_hash: Option<&str>, sent: &str) -> Result<(), PageError> {
    let expected = id_hash.map(|h| csrf_for(state, h));
    if expected.is_some_and(|e| constant_time_eq(sent.as_bytes(), e.as_bytes())) {
        Ok(())
    } else {
        Err(PageError::form_expired(
            "This form is no longer valid. Reload the page and try again.",
        ))
    }
}

/// The cookie that binds the anonymous forms (forgot password, reset) to this browser: a
/// random value; the form carries an HMAC of it under the master key (a double-submit token
/// that an attacker's page can neither read nor forge).
pub const FORM_COOKIE: &str = "verity_form";
/// The form cookie lives an hour: a reset link runs out sooner.
const FORM_COOKIE_AGE: i64 = 3600;

/// The CSRF token of an anonymous form for this browser, and the `Set-Cookie` value when the
/// browser has no form cookie yet (a new one).
pub fn anonymous_csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
    match cookie(headers, FORM_COOKIE).filter(|c| is_token_shaped(c)) {
        Some(value) => (anonymous_token(state, value), None),
        None => {
            let value = new_token();
            let set = set_cookie(FORM_COOKIE, &value, FORM_COOKIE_AGE, state.secure_cookies);
            (anonymous_token(state, &value), Some(set))
        }
    }
}

fn anonymous_token(state: &AppState, cookie_value: &str) -> String {
    hex(&state
        .master_key
        .derive("anonymous-form-csrf", cookie_value.as_bytes()))
}

/// An anonymous form's CSRF token `sent` against this browser's form cookie, compared in
/// constant time: 403 `form_expired` when there is no cookie or they differ.
pub fn check_anonymous_csrf(
    state: &AppState,
    headers: &HeaderMap,
    sent: &str,
) -> Result<(), PageError> {
    let expected = cookie(headers, FORM_COOKIE)
        .filter(|c| is_token_shaped(c))
        .map(|c| anonymous_token(state, c));
    if expected.is_some_and(|e| constant_time_eq(sent.as_bytes(), e.as_bytes())) {
        Ok(())
    } else {
        Err(PageError::form_expired(
            "This form is no longer valid. Reload the page and try again.",
        ))
    }
}

/// A form post from the signed-in person on Verity's own pages: the request's headers, the
/// session and its account, and the form's fields, after the CSRF check.
pub struct SignedInForm {
    pub headers: HeaderMap,
    pub session: Session,
    pub user: User,
    pub form: Params,
}

impl FromRequest<AppState> for SignedInForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| PageError::bad_request("The form is too large."))?;
        let form = body_params(BodyKind::Form, &body).map_err(PageError::bad_request)?;
        let Some((session, user)) = signed_in(state, &headers).await? else {
            return Err(PageError::signed_out(
                "Your session has ended. Open your account page again.",
            ));
        };
        let sent = form.get("csrf_token").unwrap_or_default();
        check_csrf(state, Some(&session.id_hash), sent)?;
        Ok(SignedInForm {
            headers,
            session,
            user,
            form,
        })
    }
}

/// The redirect URI of the account client at this deployment's public URL.
pub fn callback_uri(public_url: &str) -> String {
    format!("{public_url}/account/callback")
}

/// Whether `next` is a local path (the only destination after signing in: no open redirect).
pub(crate) fn local_path(next: &str) -> bool {
    next.starts_with('/') && !next.starts_with("//") && !next.contains('\\')
}

/// What the sign-in pages call the first-party account client while a sign-in started by
/// [`start_login`] (its cookie, matched by the request's `state`) goes back to the developer
/// console: "the developer console", rather than the client's own name (the account page).
pub fn first_party_name(
    headers: &HeaderMap,
    client_id: &str,
    request_state: Option<&str>,
) -> Option<&'static str> {
    if client_id != ACCOUNT_CLIENT_ID {
        return None;
    }
    let mut parts = cookie(headers, LOGIN_COOKIE)?.splitn(3, '.');
    let (login_state, _verifier, next_hex) = (parts.next()?, parts.next()?, parts.next()?);
    if request_state != Some(login_state) {
        return None;
    }
    // `/developer`, or a path under it (`/developer/...`, `/developer?...`), in hex.
    let console = hex(b"/developer");
    let rest = next_hex.strip_prefix(console.as_str())?;
    (rest.is_empty() || rest.starts_with("2f") || rest.starts_with("3f"))
        .then_some("the developer console")
}

/// Sends the browser through the sign-in journey of the first-party account client (PKCE,
/// no consent screen), then back to `next` (a local path).
pub fn start_login(state: &AppState, next: &str) -> Result<Response, PageError> {
    let login_state = new_token();
    let verifier = format!("{}{}", new_token(), new_token());
    let mut url = url::Url::parse(&format!("{}/oauth/authorize", state.public_url))
        .map_err(|e| PageError::internal("account login URL", e))?;
    url.query_pairs_mut()
        .append_pair("client_id", ACCOUNT_CLIENT_ID)
        .append_pair("redirect_uri", &callback_uri(&state.public_url))
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("state", &login_state)
        .append_pair("code_challenge", &pkce::s256(&verifier))
        .append_pair("code_challenge_method", "S256");
    let next = if local_path(next) { next } else { "/account" };
    let value = format!("{login_state}.{verifier}.{}", hex(next.as_bytes()));
    Ok(with_cookie(
        see_other(url.as_str()),
        &set_cookie(LOGIN_COOKIE, &value, 600, state.secure_cookies),
    ))
}
