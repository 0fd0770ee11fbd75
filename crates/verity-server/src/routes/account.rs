//! The account page (`/account`): second-factor enrolment and removal, recovery codes, and the
//! remembered consents a person can withdraw.
//!
//! Signing in to the account page reuses the whole sign-in journey (password, second factor,
//! throttling): the page is a built-in first-party public app of Verity itself, `verity-account`,
//! which goes through `/oauth/authorize` with PKCE and needs no consent screen.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Serialize;
use serde_json::json;
use verity_core::grant::{self, TokenRequest};
use verity_core::secret::{constant_time_eq, is_token_shaped, random_bytes, token_hash};
use verity_core::totp;
use verity_core::values::ClientId;
use verity_store::grants::TakeCode;
use verity_store::sessions::Session;
use verity_store::users::User;

use crate::audit::AuditEvent;
use crate::auth::second_factor::{self, Outcome};
use crate::error::PageError;
use crate::extract::{cookie, query_params, set_cookie};
use crate::pages::Page;
use crate::respond::{see_other, with_cookie};
use crate::routes::account_data::{AppRow, app_rows};
use crate::session::{
    ACCOUNT_CLIENT_ID, LOGIN_COOKIE, SignedInForm, callback_uri, csrf_token, local_path, signed_in,
    start_login,
};
use crate::state::AppState;

const PENDING_TOTP_COOKIE: &str = "verity_totp_pending";

/// The account page.
#[derive(Debug, Serialize)]
struct AccountPage<'a> {
    email: &'a str,
    /// Whether the sign-in email is confirmed (else the page offers to send the link again).
    email_confirmed: bool,
    /// Whether an authenticator app is enrolled.
    totp: bool,
    /// How many passkeys the person has.
    passkeys: usize,
    /// Passkeys work on this server (its public URL names a domain).
    passkeys_available: bool,
    csrf_token: String,
    /// The apps this person used or allowed: what each received, and the withdrawal form.
    apps: Vec<AppRow>,
    notice: Option<&'a str>,
    /// What a change just done on another page did (`?changed=password`).
    done: Option<&'static str>,
}

impl Page for AccountPage<'_> {
    const TEMPLATE: &'static str = "account.html";
}

/// Enrolling an authenticator app: the QR code, the secret to type, the confirmation form.
#[derive(Debug, Serialize)]
struct TotpPage<'a> {
    /// The QR code as a `data:` URI of an SVG image.
    qr: String,
    secret: String,
    otpauth_uri: String,
    csrf_token: String,
    error: Option<&'a str>,
}

impl Page for TotpPage<'_> {
    const TEMPLATE: &'static str = "totp.html";
}

/// Fresh recovery codes, shown once.
#[derive(Debug, Serialize)]
struct RecoveryCodesPage<'a> {
    codes: &'a [String],
    /// Made because a first passkey was just added (said at the top).
    passkey_added: bool,
}

impl Page for RecoveryCodesPage<'_> {
    const TEMPLATE: &'static str = "recovery_codes.html";
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/callback", get(callback))
        .route("/account/totp", get(show_enrolment))
        .route("/account/totp/start", post(start_enrolment))
        .route("/account/totp/confirm", post(confirm_enrolment))
        .route("/account/totp/remove", post(remove_totp))
        .route("/account/recovery-codes", post(regenerate_recovery_codes))
        .route("/account/consents/revoke", post(revoke_consent))
}

/// GET /account: the page, or the sign-in journey when nobody is signed in.
async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let Some((session, user)) = signed_in(&state, &headers).await? else {
        return start_login(&state, "/account");
    };
    let done = match query_params(query.as_deref()).get("changed") {
        Some("password") => Some("Your password was changed. Every other session has ended."),
        Some("email_sent") => Some("We sent a new confirmation link to your email."),
        _ => None,
    };
    render_account(&state, &session, &user, None, done).await
}

/// The account page with `notice` said at the top (a refusal of a form posted elsewhere).
pub(crate) async fn show_with_notice(
    state: &AppState,
    session: &Session,
    user: &User,
    notice: &str,
) -> Result<Response, PageError> {
    render_account(state, session, user, Some(notice), None).await
}

async fn render_account(
    state: &AppState,
    session: &Session,
    user: &User,
    notice: Option<&str>,
    done: Option<&'static str>,
) -> Result<Response, PageError> {
    let apps = app_rows(state, &user.uuid).await?;
    let passkeys = state.store.find_passkeys(&user.uuid).await?.len();
    let page = AccountPage {
        email: &user.email,
        email_confirmed: user.email_confirmed_at.is_some(),
        totp: user.totp_secret.is_some(),
        passkeys,
        passkeys_available: crate::passkey::relying_party(state).is_some(),
        csrf_token: csrf_token(state, session),
        apps,
        notice,
        done,
    };
    Ok(state.pages.show(state.sandbox(), &page)?.into_response())
}

/// GET /account/callback: the end of the account app's sign-in. The session cookie is already
/// set by the journey; the code is consumed (checked like any client would) and discarded.
async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = query_params(query.as_deref());
    let mut parts = cookie(&headers, LOGIN_COOKIE)
        .unwrap_or_default()
        .splitn(3, '.');
    let (expected_state, verifier, next_hex) =
        (parts.next(), parts.next(), parts.next().unwrap_or_default());
    let next = (0..next_hex.len() / 2)
        .map(|i| u8::from_str_radix(next_hex.get(2 * i..2 * i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|n| local_path(n))
        .unwrap_or_else(|| "/account".to_owned());
    let (expected_state, verifier) = expected_state.zip(verifier).ok_or_else(|| {
        PageError::bad_request("This sign-in was not started here. Open your account page again.")
    })?;
    let sent_state = params.get("state").unwrap_or_default();
    if !constant_time_eq(sent_state.as_bytes(), expected_state.as_bytes()) {
        return Err(PageError::bad_request(
            "This sign-in was not started here. Open your account page again.",
        ));
    }
    if params.get("error").is_some() {
        return Err(PageError::bad_request("Sign-in was cancelled."));
    }
    let code = params
        .get("code")
        .filter(|c| is_token_shaped(c))
        .ok_or_else(|| PageError::bad_request("The sign-in did not complete."))?;
    // The account page is a public client of Verity's own: its code is redeemed by the same
    // rule as any app's, here instead of at the token endpoint.
    let now = state.now();
    let redirect_uri = callback_uri(&state.public_url);
    let account_client = ClientId::new(ACCOUNT_CLIENT_ID);
    let presented = TokenRequest {
        client_id: &account_client,
        public_client: true,
        redirect_uri: &redirect_uri,
        code_verifier: Some(verifier),
        dpop_jkt: None,
        now,
    };
    match state.store.take_code(&token_hash(code), now).await? {
        TakeCode::Fresh(c, _) if grant::redeem(&c, &presented).is_ok() => {}
        _ => {
            return Err(PageError::bad_request(
                "The sign-in did not complete. Open your account page again.",
            ));
        }
    }
    Ok(with_cookie(
        see_other(&next),
        &set_cookie(LOGIN_COOKIE, "", 0, state.secure_cookies),
    ))
}

fn pending_aad(uuid: &str) -> Vec<u8> {
    format!("totp-pending:{uuid}").into_bytes()
}

/// POST /account/totp/start: a new secret, held sealed in a short-lived cookie until confirmed.
async fn start_enrolment(
    State(state): State<AppState>,
    p: SignedInForm,
) -> Result<Response, PageError> {
    let user = p.user;
    let secret = random_bytes::<20>();
    let sealed = state
        .master_key
        .encrypt(&secret, &pending_aad(&user.uuid))
        .map_err(|e| PageError::internal("sealing a TOTP secret", e))?;
    let value = URL_SAFE_NO_PAD.encode(sealed);
    Ok(with_cookie(
        see_other("/account/totp"),
        &set_cookie(PENDING_TOTP_COOKIE, &value, 600, state.secure_cookies),
    ))
}

fn pending_secret(state: &AppState, headers: &HeaderMap, user: &User) -> Option<Vec<u8>> {
    let sealed = URL_SAFE_NO_PAD
        .decode(cookie(headers, PENDING_TOTP_COOKIE)?)
        .ok()?;
    state
        .master_key
        .decrypt(&sealed, &pending_aad(&user.uuid))
        .ok()
}

/// GET /account/totp: the QR code and the secret to type, and the confirmation form.
async fn show_enrolment(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some((session, user)) = signed_in(&state, &headers).await? else {
        return Ok(see_other("/account"));
    };
    let Some(secret) = pending_secret(&state, &headers, &user) else {
        return Ok(see_other("/account"));
    };
    enrolment_page(&state, &session, &user, &secret, None)
}

fn enrolment_page(
    state: &AppState,
    session: &Session,
    user: &User,
    secret: &[u8],
    error: Option<&str>,
) -> Result<Response, PageError> {
    let secret_b32 = totp::encode_base32(secret);
    let uri = totp::otpauth_uri("Verity", &user.email, &secret_b32);
    let qr = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| PageError::internal("QR code", e))?;
    let svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    let page = TotpPage {
        qr: format!("data:image/svg+xml;base64,{}", STANDARD.encode(svg)),
        secret: secret_b32,
        otpauth_uri: uri,
        csrf_token: csrf_token(state, session),
        error,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((status, state.pages.show(state.sandbox(), &page)?).into_response())
}

/// Fresh recovery codes: stored as digests, shown once.
pub(crate) async fn issue_recovery_codes(
    state: &AppState,
    user: &User,
) -> Result<Vec<String>, PageError> {
    let codes = totp::recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| token_hash(&totp::normalize_recovery_code(c)))
        .collect();
    state
        .store
        .replace_recovery_codes(&user.uuid, &hashes)
        .await?;
    Ok(codes)
}

fn recovery_page(state: &AppState, codes: &[String]) -> Result<Response, PageError> {
    recovery_codes_page(state, codes, false)
}

/// The page that shows fresh recovery codes, once (`passkey_added`: after a first passkey).
pub(crate) fn recovery_codes_page(
    state: &AppState,
    codes: &[String],
    passkey_added: bool,
) -> Result<Response, PageError> {
    let page = RecoveryCodesPage {
        codes,
        passkey_added,
    };
    Ok(state.pages.show(state.sandbox(), &page)?.into_response())
}

/// POST /account/totp/confirm: a code from the new secret proves the app has it.
async fn confirm_enrolment(
    State(state): State<AppState>,
    p: SignedInForm,
) -> Result<Response, PageError> {
    let (headers, session, user, form) = (p.headers, p.session, p.user, p.form);
    if user.totp_secret.is_some() {
        // Replacing an authenticator goes through removal, which needs a current code.
        return Ok(see_other("/account"));
    }
    let Some(secret) = pending_secret(&state, &headers, &user) else {
        return Ok(see_other("/account"));
    };
    let Some(step) = totp::verify(
        &secret,
        form.get("code").unwrap_or_default(),
        state.now(),
        None,
    ) else {
        return enrolment_page(
            &state,
            &session,
            &user,
            &secret,
            Some("That code is not valid. Enter the current code from your app."),
        );
    };
    let sealed = state
        .master_key
        .encrypt(&secret, user.uuid.as_bytes())
        .map_err(|e| PageError::internal("sealing a TOTP secret", e))?;
    state
        .store
        .update_user_totp(&user.uuid, Some(&sealed))
        .await?;
    state.store.take_totp_step(&user.uuid, step).await?;
    state
        .store
        .update_session_mfa(&session.id_hash, None)
        .await?;
    let codes = issue_recovery_codes(&state, &user).await?;
    state
        .audit(
            AuditEvent::MfaEnrolled,
            Some(&user.uuid),
            None,
            &headers,
            json!({"method": "totp"}),
        )
        .await;
    let resp = recovery_page(&state, &codes)?;
    Ok(with_cookie(
        resp,
        &set_cookie(PENDING_TOTP_COOKIE, "", 0, state.secure_cookies),
    ))
}

/// POST /account/totp/remove: needs a current code.
async fn remove_totp(
    State(state): State<AppState>,
    p: SignedInForm,
) -> Result<Response, PageError> {
    let refusal = "That code is not valid: the authenticator app was not removed.";
    if let Err(page) = second_factor_or(&state, &p, refusal).await? {
        return Ok(page);
    }
    state.store.update_user_totp(&p.user.uuid, None).await?;
    let (uuid, detail) = (Some(p.user.uuid.as_str()), json!({"method": "totp"}));
    let event = AuditEvent::MfaRemoved;
    state.audit(event, uuid, None, &p.headers, detail).await;
    Ok(see_other("/account"))
}

/// POST /account/recovery-codes: new codes (the old ones stop working); needs a current code.
async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    p: SignedInForm,
) -> Result<Response, PageError> {
    let refusal = "That code is not valid: no new recovery codes were made.";
    if let Err(page) = second_factor_or(&state, &p, refusal).await? {
        return Ok(page);
    }
    let codes = issue_recovery_codes(&state, &p.user).await?;
    let uuid = Some(p.user.uuid.as_str());
    let event = AuditEvent::MfaRecoveryCodes;
    state.audit(event, uuid, None, &p.headers, json!({})).await;
    recovery_page(&state, &codes)
}

/// POST /account/consents/revoke: forget what was allowed for an app and revoke its tokens.
async fn revoke_consent(
    State(state): State<AppState>,
    p: SignedInForm,
) -> Result<Response, PageError> {
    let (headers, user, form) = (p.headers, p.user, p.form);
    let client_id = form.get("client_id").unwrap_or_default().to_owned();
    // Withdrawing an app also ends what it holds: its access and refresh tokens (SPEC 14).
    let (consents, tokens) = state
        .store
        .revoke_app(&user.uuid, &client_id, state.now())
        .await?;
    if consents + tokens > 0 {
        state
            .audit(
                AuditEvent::ConsentRevoked,
                Some(&user.uuid),
                Some(&client_id),
                &headers,
                json!({}),
            )
            .await;
    }
    Ok(see_other("/account"))
}

/// The form's `code` as a current TOTP code (or an unused recovery code) of the signed-in
/// person, limited like the sign-in's second step (the same counter); else `Err` with the
/// account page (400) saying `refusal`.
async fn second_factor_or(
    state: &AppState,
    p: &SignedInForm,
    refusal: &str,
) -> Result<Result<(), Response>, PageError> {
    let code = p.form.get("code").unwrap_or_default();
    let address = crate::extract::client_address(&p.headers);
    match second_factor::check(state, &p.user, code, address).await? {
        Outcome::Accepted { .. } => Ok(Ok(())),
        outcome @ (Outcome::Locked(_) | Outcome::Rejected | Outcome::AlreadyUsed) => {
            // A replayed code is told as such (the same words as the sign-in's second step).
            let notice = match outcome {
                Outcome::AlreadyUsed => outcome.refusal().unwrap_or(refusal),
                _ => refusal,
            };
            let page = render_account(state, &p.session, &p.user, Some(notice), None).await?;
            Ok(Err((StatusCode::BAD_REQUEST, page).into_response()))
        }
    }
}
