//! The operations of SPEC section 11, shared by the admin API, the developer console and the
//! `verity admin` command: one place validates and performs each of them.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use verity_core::account;
use verity_core::identity::{self, COMPUTED};
use verity_core::secret::{new_token, token_hash};
use verity_store::apps::{App, Organization};
use verity_store::console::SecretInfo;
use verity_store::users::{User, VerificationRecord};

pub use crate::error::AdminError;
use crate::routes::admin_api::wire::{self, AppDetailsResponse, AppResponse, NewAppResponse};
use crate::state::AppState;

/// `Some(None)` for an explicit `null`, `None` for an absent field (PATCH semantics).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The fields of an app an integrator sets (SPEC 11): the admin API's request body. Absent
/// fields keep their value; `null` clears the nullable ones.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppInput {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub logo_url: Option<Option<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub policies: Option<Vec<String>>,
    #[schema(schema_with = wire::family)]
    pub profile: Option<String>,
    pub public: Option<bool>,
    pub refresh_tokens: Option<bool>,
    #[schema(schema_with = wire::alg)]
    pub id_token_alg: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = wire::nullable_alg)]
    pub userinfo_signed_response_alg: Option<Option<String>>,
    pub code_ttl: Option<i64>,
    pub access_ttl: Option<i64>,
    pub refresh_ttl: Option<i64>,
    pub userinfo_ttl: Option<i64>,
    /// A JWK Set (`private_key_jwt`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Option<Value>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub jwks_uri: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub backchannel_logout_uri: Option<Option<String>>,
    /// Web origins of a browser app, besides those of its redirect URIs, that may read the token,
    /// userinfo and revocation endpoints' answers (CORS): `https://spa.example.com`.
    pub allowed_origins: Option<Vec<String>>,
    /// RFC 9126: authorization requests only through `/oauth/par`.
    pub require_pushed_authorization_requests: Option<bool>,
    /// RFC 9101: authorization requests only as request objects signed with the app's keys
    /// (`jwks` or `jwks_uri`).
    pub require_signed_request_object: Option<bool>,
    /// RFC 9449: access tokens, and a public app's refresh tokens, bound to a DPoP key.
    pub dpop_bound_access_tokens: Option<bool>,
    /// Every sign-in must be phishing resistant (a passkey as the second factor, or alone),
    /// whatever the request's `acr_values` say.
    pub require_phishing_resistant: Option<bool>,
}

/// A newly registered app as `verity admin` prints it (the admin API's [`NewAppResponse`]):
/// its details and, for a confidential app, its first secret (shown this once).
pub fn new_app_json(app: &App, secret: Option<String>, secrets: &[SecretInfo]) -> Value {
    json!(NewAppResponse {
        app: AppDetailsResponse::new(app, secrets),
        client_secret: secret,
    })
}

/// App `client_id` with the list of its secrets (ids and times; never a secret).
pub async fn read_app(state: &AppState, client_id: &str) -> Result<AppDetailsResponse, AdminError> {
    let app = find_app(state, client_id).await?;
    let secrets = state.store.find_app_secrets(client_id).await?;
    Ok(AppDetailsResponse::new(&app, &secrets))
}

/// [`read_app`] as `verity admin` prints it.
pub async fn app_details(state: &AppState, client_id: &str) -> Result<Value, AdminError> {
    Ok(json!(read_app(state, client_id).await?))
}

/// An app as the API and console show it: every setting, never a secret ([`AppResponse`]).
pub fn app_json(app: &App) -> Value {
    json!(AppResponse::from(app))
}

/// Applies `input` to `app`, collecting every problem (`verity_core::registration`'s rules).
fn apply(state: &AppState, app: &mut App, input: AppInput) -> Result<(), AdminError> {
    use verity_core::registration as rule;
    let sandbox = state.sandbox();
    let mut problems = rule::Problems::new();
    if let Some(name) = input.name {
        let name = name.trim().to_owned();
        rule::check_name(&name, &mut problems);
        app.name = name;
    }
    if let Some(logo) = input.logo_url {
        if let Some(l) = &logo {
            rule::check_url("logo_url", l, sandbox, &mut problems);
        }
        app.logo_url = logo;
    }
    if let Some(uris) = input.redirect_uris {
        rule::check_redirect_uris(&uris, sandbox, &mut problems);
        app.redirect_uris = uris;
    }
    if let Some(uris) = input.post_logout_redirect_uris {
        rule::check_uris("post-logout redirect URI", &uris, sandbox, &mut problems);
        app.post_logout_redirect_uris = uris;
    }
    if let Some(policies) = input.policies {
        for p in &policies {
            if p != "openid" && state.policy(p).is_none() {
                problems.push(format!("unknown policy {p:?}"));
            }
        }
        app.policies = rule::unique(policies);
    }
    if let Some(family) = input
        .profile
        .and_then(|raw| rule::profile(&raw, &mut problems))
    {
        app.profile = family;
    }
    if let Some(public) = input.public {
        app.public = public;
    }
    if let Some(r) = input.refresh_tokens {
        app.refresh_tokens = r;
    }
    if let Some(alg) = input
        .id_token_alg
        .and_then(|raw| rule::id_token_alg(&raw, &mut problems))
    {
        app.id_token_alg = alg;
    }
    if let Some(alg) = input
        .userinfo_signed_response_alg
        .and_then(|raw| rule::userinfo_alg(raw.as_deref(), &mut problems))
    {
        app.userinfo_signed_response_alg = alg;
    }
    let ttls = [
        (
            "code_ttl",
            input.code_ttl,
            rule::CODE_TTL,
            &mut app.code_ttl,
        ),
        (
            "access_ttl",
            input.access_ttl,
            rule::ACCESS_TTL,
            &mut app.access_ttl,
        ),
        (
            "refresh_ttl",
            input.refresh_ttl,
            rule::REFRESH_TTL,
            &mut app.refresh_ttl,
        ),
        (
            "userinfo_ttl",
            input.userinfo_ttl,
            rule::USERINFO_TTL,
            &mut app.userinfo_ttl,
        ),
    ];
    for (what, value, bounds, field) in ttls {
        rule::check_ttl(what, value, bounds, &mut problems);
        *field = value.unwrap_or(*field);
    }
    if let Some(jwks) = input.jwks {
        if let Some(set) = &jwks {
            rule::check_jwks(set, &mut problems);
        }
        app.jwks = jwks.map(|j| j.to_string());
    }
    // The URLs Verity itself calls: given (`Some`), each is checked, or removed (`Some(None)`).
    let server_urls = [
        ("jwks_uri", input.jwks_uri, &mut app.jwks_uri),
        (
            "backchannel_logout_uri",
            input.backchannel_logout_uri,
            &mut app.backchannel_logout_uri,
        ),
    ];
    for (what, given, field) in server_urls {
        let Some(uri) = given else { continue };
        if let Some(u) = &uri {
            let allow = &state.settings.outbound_allow;
            rule::check_server_url(what, u, sandbox, allow, &mut problems);
        }
        *field = uri;
    }
    if let Some(origins) = input.allowed_origins {
        app.allowed_origins =
            verity_core::origin::allowed_origins(&origins, sandbox, &mut problems);
    }
    let flags = [
        (
            input.require_pushed_authorization_requests,
            &mut app.require_pushed_authorization_requests,
        ),
        (
            input.require_signed_request_object,
            &mut app.require_signed_request_object,
        ),
        (
            input.dpop_bound_access_tokens,
            &mut app.dpop_bound_access_tokens,
        ),
        (
            input.require_phishing_resistant,
            &mut app.require_phishing_resistant,
        ),
    ];
    for (value, field) in flags {
        *field = value.unwrap_or(*field);
    }
    if app.require_signed_request_object && app.jwks.is_none() && app.jwks_uri.is_none() {
        problems.push(
            "require_signed_request_object needs the app's public keys (jwks or jwks_uri)"
                .to_owned(),
        );
    }
    if app.redirect_uris.is_empty() {
        problems.push("redirect_uris needs at least one URI".to_owned());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        problems.dedup();
        Err(AdminError::Invalid(problems))
    }
}

pub use verity_core::keys::MAX_SIGNED_TTL;

/// A new client secret: 256 random bits, shown once, stored as a digest.
fn new_secret() -> String {
    format!("{}{}", new_token(), new_token())
}

pub async fn create_organization(
    state: &AppState,
    name: &str,
    owner: Option<&str>,
) -> Result<Organization, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AdminError::Invalid(vec![
            "name must have 1 to 100 characters and no control characters".into(),
        ]));
    }
    if state.store.find_organization_by_name(name).await?.is_some() {
        return Err(AdminError::Conflict(format!(
            "an organization named {name:?} exists"
        )));
    }
    let org = Organization {
        id: new_token(),
        name: name.to_owned(),
        created_at: state.now(),
    };
    match owner {
        Some(uuid) => {
            state
                .store
                .insert_organization_with_owner(&org, uuid)
                .await?
        }
        None => state.store.insert_organization(&org).await?,
    }
    Ok(org)
}

/// Creates an app; returns it with its first secret (none for a public app).
pub async fn create_app(
    state: &AppState,
    org_id: &str,
    input: AppInput,
) -> Result<(App, Option<String>), AdminError> {
    if state.store.find_organization(org_id).await?.is_none() {
        return Err(AdminError::NotFound("organization"));
    }
    let mut app = App::new(&new_token(), org_id, "", state.now());
    if input.name.is_none() {
        return Err(AdminError::Invalid(vec!["name is required".into()]));
    }
    apply(state, &mut app, input)?;
    state.store.insert_app(&app).await?;
    let secret = if app.public {
        None
    } else {
        let secret = new_secret();
        state
            .store
            .insert_app_secret(
                &new_token(),
                &app.client_id,
                &token_hash(&secret),
                state.now(),
            )
            .await?;
        Some(secret)
    };
    Ok((app, secret))
}

pub async fn find_app(state: &AppState, client_id: &str) -> Result<App, AdminError> {
    if client_id.len() > 256 {
        return Err(AdminError::NotFound("app"));
    }
    state
        .store
        .find_app(client_id)
        .await?
        .ok_or(AdminError::NotFound("app"))
}

pub async fn update_app(
    state: &AppState,
    client_id: &str,
    input: AppInput,
) -> Result<App, AdminError> {
    let mut app = find_app(state, client_id).await?;
    apply(state, &mut app, input)?;
    app.updated_at = state.now();
    state.store.update_app(&app).await?;
    Ok(app)
}

pub async fn delete_app(state: &AppState, client_id: &str) -> Result<(), AdminError> {
    find_app(state, client_id).await?;
    state.store.delete_app(client_id, state.now()).await?;
    Ok(())
}

/// Adds a secret (rotation: the old ones stay valid until deleted). Returns (id, secret).
pub async fn add_secret(state: &AppState, client_id: &str) -> Result<(String, String), AdminError> {
    let app = find_app(state, client_id).await?;
    if app.public {
        return Err(AdminError::Invalid(vec![
            "a public app has no client secret".into(),
        ]));
    }
    let (id, secret) = (new_token(), new_secret());
    state
        .store
        .insert_app_secret(&id, client_id, &token_hash(&secret), state.now())
        .await?;
    Ok((id, secret))
}

pub async fn delete_secret(state: &AppState, client_id: &str, id: &str) -> Result<(), AdminError> {
    find_app(state, client_id).await?;
    if state.store.delete_app_secret(client_id, id).await? {
        Ok(())
    } else {
        Err(AdminError::NotFound("secret"))
    }
}

/// Creates an account with attributes (catalog handles, typed values; computed ones refused).
pub async fn create_user(
    state: &AppState,
    email: &str,
    password: &str,
    attributes: BTreeMap<String, Value>,
) -> Result<String, AdminError> {
    let email = account::normalize_email(email);
    let mut problems = Vec::new();
    if !account::valid_email(&email) {
        problems.push("email must be an email address".to_owned());
    }
    if !account::acceptable_password(password) {
        problems.push("password must have at least 8 characters".to_owned());
    }
    for handle in attributes.keys() {
        if identity::attribute(handle).is_none() || COMPUTED.contains(&handle.as_str()) {
            problems.push(format!("{handle:?} is not an attribute that can be set"));
        }
    }
    if !problems.is_empty() {
        return Err(AdminError::Invalid(problems));
    }
    if state.store.find_user_by_email(&email).await?.is_some() {
        return Err(AdminError::Conflict(format!(
            "an account for {email} exists"
        )));
    }
    let hash = crate::auth::password::hash(state, password.to_owned())
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let user = User {
        uuid: new_token(),
        email,
        password_hash: hash,
        totp_secret: None,
        totp_last_step: None,
        created_at: state.now(),
        // SPEC 12: an account created by an operator has a confirmed sign-in email.
        email_confirmed_at: Some(state.now()),
    };
    state.store.insert_user(&user, &attributes).await?;
    Ok(user.uuid)
}

/// Records a verification decided by an administrator (`group` a group handle or `identity`).
pub async fn set_verification(
    state: &AppState,
    uuid: &str,
    group: &str,
    verified: bool,
    subgroups: Vec<String>,
    decided_by: &str,
) -> Result<(), AdminError> {
    let Some(def) = identity::group(group) else {
        return Err(AdminError::NotFound("group"));
    };
    let bad: Vec<String> = subgroups
        .iter()
        .filter(|s| !def.subgroups.contains(&s.as_str()))
        .map(|s| format!("{s:?} is not a subgroup of {group}"))
        .collect();
    if !bad.is_empty() {
        return Err(AdminError::Invalid(bad));
    }
    if uuid.len() > 64 || state.store.find_user(uuid).await?.is_none() {
        return Err(AdminError::NotFound("user"));
    }
    let record = VerificationRecord {
        group: group.to_owned(),
        verified,
        subgroups,
        method: "admin".into(),
        decided_by: decided_by.to_owned(),
        decided_at: state.now(),
    };
    state.store.upsert_verification(uuid, &record).await?;
    Ok(())
}

/// Removes every second factor of account `uuid` (authenticator app, recovery codes, passkeys)
/// and ends its sessions: the operator's way back for a person who lost them all, once the
/// operator has checked who is asking. Audited as `admin.second_factors.removed` with who did it
/// (`by`: `admin_api` or `cli`). False when there is no such account.
pub async fn remove_second_factors(
    state: &AppState,
    uuid: &str,
    by: &'static str,
    headers: &axum::http::HeaderMap,
) -> verity_store::Result<bool> {
    if state.store.find_user(uuid).await?.is_none() {
        return Ok(false);
    }
    let audit = state.audit_event(
        crate::audit::AuditEvent::SecondFactorsRemoved,
        Some(uuid),
        None,
        headers,
        json!({"by": by}),
    );
    state.store.remove_second_factors(uuid, &audit).await?;
    Ok(true)
}
