//! Registering and editing apps in the console, their secrets (shown once) and their audit log.
//! Apps registered per account are limited (`VERITY_LIMIT_APPS`): over the limit the form comes
//! back, the input kept, with when to try again (429).

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::{Value, json};
use verity_core::limits::Kind;
use verity_store::apps::App;

use super::{ConsoleForm, Done, Manager, Member, OrgRef, field, render};
use crate::admin::{self, AdminError, AppInput, app_json};
use crate::audit::Change;
use crate::error::PageError;
use crate::limits;
use crate::pages::{Moment, Page};
use crate::state::AppState;

/// The app form, to register an app (`new`) or edit one.
#[derive(Debug, Serialize)]
struct AppFormPage<'a> {
    org: OrgRef<'a>,
    /// The app's settings as the admin API shows them, or the person's input being corrected.
    app: Value,
    csrf_token: &'a str,
    new: bool,
    /// The problems with the last submission.
    problems: Vec<String>,
    all_policies: Vec<PolicyChoice<'a>>,
    secrets: Vec<SecretRow<'a>>,
    manages: bool,
    /// What the last change did (see [`Done`]).
    notice: Option<&'static str>,
}

impl Page for AppFormPage<'_> {
    const TEMPLATE: &'static str = "console_app_form.html";
}

impl<'a> AppFormPage<'a> {
    fn new(state: &'a AppState, member: &'a Member, app: Value, new: bool) -> Self {
        AppFormPage {
            org: member.org(),
            app,
            csrf_token: &member.person.csrf,
            new,
            problems: Vec::new(),
            all_policies: state
                .policies
                .iter()
                .map(|p| PolicyChoice {
                    handle: &p.handle,
                    name: &p.name,
                })
                .collect(),
            secrets: Vec::new(),
            manages: false,
            notice: None,
        }
    }
}

/// A policy the form offers.
#[derive(Debug, Serialize)]
struct PolicyChoice<'a> {
    handle: &'a str,
    name: &'a str,
}

#[derive(Debug, Serialize)]
struct SecretRow<'a> {
    id: &'a str,
    created: Moment,
    /// The day only: it is recorded at most once an hour.
    last_used: Option<Moment>,
}

/// The credentials of an app, with a new secret shown once.
#[derive(Debug, Serialize)]
struct CredentialsPage<'a> {
    org: OrgRef<'a>,
    csrf_token: &'a str,
    app: Value,
    /// None for a public app (it has no secret).
    client_secret: Option<&'a str>,
    /// The app was just registered (else a secret was added).
    created: bool,
}

impl Page for CredentialsPage<'_> {
    const TEMPLATE: &'static str = "console_credentials.html";
}

#[derive(Debug, Serialize)]
struct AuditPage<'a> {
    org: OrgRef<'a>,
    csrf_token: &'a str,
    app: Value,
    events: Vec<AuditRow>,
}

impl Page for AuditPage<'_> {
    const TEMPLATE: &'static str = "console_audit.html";
}

#[derive(Debug, Serialize)]
struct AuditRow {
    at: Moment,
    event: String,
    /// Who: the account's id, and its email when the account still exists.
    uuid: Option<String>,
    email: Option<String>,
    address: Option<String>,
    request_id: Option<String>,
    /// The event's details, `name: value; ...` (empty when it has none).
    detail: String,
}

/// GET /developer/orgs/{id}/apps/new.
pub(super) async fn new_app_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    member: Member,
) -> Result<Response, PageError> {
    let defaults = app_json(&App::new("", &id, "", 0));
    let page = AppFormPage::new(&state, &member, defaults, true);
    render(&state, StatusCode::OK, &page)
}

/// The app form's fields as an [`AppInput`] (unchecked boxes are `false`, empty fields `null`).
fn app_input(pairs: &[(String, String)], creating: bool) -> AppInput {
    let text = |n: &str| {
        field(pairs, n)
            .map(str::trim)
            .unwrap_or_default()
            .to_owned()
    };
    let optional = |n: &str| Some(Some(text(n)).filter(|v| !v.is_empty()));
    let lines = |n: &str| -> Vec<String> {
        text(n)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let number = |n: &str| text(n).parse::<i64>().ok();
    let checked = |n: &str| {
        pairs
            .iter()
            .any(|(k, v)| k == n && (v == "on" || v == "true"))
    };
    let jwks = match text("jwks") {
        t if t.is_empty() => Some(None),
        t => Some(Some(
            serde_json::from_str::<Value>(&t).unwrap_or(Value::String(t)),
        )),
    };
    AppInput {
        name: Some(text("name")),
        logo_url: optional("logo_url"),
        redirect_uris: Some(lines("redirect_uris")),
        post_logout_redirect_uris: Some(lines("post_logout_redirect_uris")),
        policies: Some(policies(pairs).map(str::to_owned).collect()),
        profile: Some(text("profile")),
        // Public or confidential is chosen when the app is created.
        public: creating.then(|| checked("public")),
        refresh_tokens: Some(checked("refresh_tokens")),
        id_token_alg: Some(text("id_token_alg")),
        userinfo_signed_response_alg: optional("userinfo_signed_response_alg"),
        code_ttl: number("code_ttl"),
        access_ttl: number("access_ttl"),
        refresh_ttl: number("refresh_ttl"),
        userinfo_ttl: number("userinfo_ttl"),
        jwks,
        jwks_uri: optional("jwks_uri"),
        backchannel_logout_uri: optional("backchannel_logout_uri"),
        allowed_origins: Some(lines("allowed_origins")),
        require_pushed_authorization_requests: Some(checked(
            "require_pushed_authorization_requests",
        )),
        require_signed_request_object: Some(checked("require_signed_request_object")),
        dpop_bound_access_tokens: Some(checked("dpop_bound_access_tokens")),
        require_phishing_resistant: Some(checked("require_phishing_resistant")),
    }
}

/// The policies ticked on the form.
fn policies(pairs: &[(String, String)]) -> impl Iterator<Item = &str> {
    pairs
        .iter()
        .filter(|(k, _)| k == "policies")
        .map(|(_, v)| v.as_str())
}

/// The app form again with the problems listed and the person's input kept.
fn form_again(
    state: &AppState,
    member: &Member,
    app: Value,
    new: bool,
    e: AdminError,
) -> Result<Response, PageError> {
    let problems: Vec<String> = match e {
        AdminError::Invalid(list) => list,
        other => return Err(other.into()),
    };
    let page = AppFormPage {
        problems,
        ..AppFormPage::new(state, member, app, new)
    };
    render(state, StatusCode::BAD_REQUEST, &page)
}

/// `base` with the posted fields written over it, as the form shows them again.
fn echo(pairs: &[(String, String)], base: Value) -> Value {
    let mut v = base;
    for (k, val) in pairs {
        match k.as_str() {
            "policies" | "csrf_token" => {}
            "redirect_uris" | "post_logout_redirect_uris" | "allowed_origins" => {
                v[k] = Value::Array(
                    val.lines()
                        .map(|l| Value::String(l.trim().to_owned()))
                        .filter(|l| l != "")
                        .collect(),
                );
            }
            _ => v[k] = Value::String(val.clone()),
        }
    }
    v["policies"] = policies(pairs).map(Value::from).collect();
    v
}

/// POST /developer/orgs/{id}/apps: registers an app and shows its first secret once.
pub(super) async fn create_app(
    State(state): State<AppState>,
    Path(id): Path<String>,
    member: Member,
    form: ConsoleForm,
) -> Result<Response, PageError> {
    let input = || echo(&form.pairs, app_json(&App::new("", &id, "", 0)));
    let uuid = member.person.user.uuid.as_str();
    let taken = limits::take(&state, Kind::App, uuid, &member.headers, Some(uuid), None);
    if let Err(refused) = taken.await? {
        let page = AppFormPage {
            problems: vec![refused.message()],
            ..AppFormPage::new(&state, &member, input(), true)
        };
        let resp = render(&state, StatusCode::OK, &page)?;
        return Ok(refused.answer(resp));
    }
    let (app, secret) = match admin::create_app(&state, &id, app_input(&form.pairs, true)).await {
        Ok(created) => created,
        Err(e) => {
            limits::give_back(&state, Kind::App, uuid).await?;
            return form_again(&state, &member, input(), true, e);
        }
    };
    let change = Change::AppCreated;
    member
        .audit(&state, change, Some(&app.client_id), json!({}))
        .await;
    let page = CredentialsPage {
        org: member.org(),
        csrf_token: &member.person.csrf,
        app: app_json(&app),
        client_secret: secret.as_deref(),
        created: true,
    };
    render(&state, StatusCode::OK, &page)
}

/// GET /developer/apps/{client_id}: the app's settings and secrets.
pub(super) async fn app_page(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    member: Member,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let secrets = state.store.find_app_secrets(&client_id).await?;
    let page = AppFormPage {
        secrets: secrets
            .iter()
            .map(|s| SecretRow {
                id: &s.id,
                created: Moment::at(s.created_at),
                last_used: s.last_used_at.map(Moment::day),
            })
            .collect(),
        manages: member.manages(),
        notice: Done::said(query.as_deref()),
        ..AppFormPage::new(&state, &member, app_json(member.app()?), false)
    };
    render(&state, StatusCode::OK, &page)
}

/// POST /developer/apps/{client_id}: new settings; the audit row names those that changed.
pub(super) async fn update_app(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    member: Member,
    form: ConsoleForm,
) -> Result<Response, PageError> {
    let app = member.app()?;
    let updated = match admin::update_app(&state, &client_id, app_input(&form.pairs, false)).await {
        Ok(updated) => updated,
        Err(e) => {
            let input = echo(&form.pairs, app_json(app));
            return form_again(&state, &member, input, false, e);
        }
    };
    // Who changed what: the names of the settings that differ.
    let (before, after) = (app_json(app), app_json(&updated));
    let changed: Vec<&String> = after
        .as_object()
        .map(|a| {
            a.keys()
                .filter(|k| *k != "updated_at" && before.get(k.as_str()) != a.get(k.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let detail = json!({"fields": changed});
    member
        .audit(&state, Change::AppUpdated, Some(&client_id), detail)
        .await;
    Ok(Done::Saved.after(&format!("/developer/apps/{client_id}")))
}

/// POST /developer/apps/{client_id}/secrets: a new secret, shown once (the old ones stay valid
/// until deleted: rotation without downtime).
pub(super) async fn add_secret(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    member: Member,
    _form: ConsoleForm,
) -> Result<Response, PageError> {
    let app = member.app()?;
    let (id, secret) = admin::add_secret(&state, &client_id).await?;
    let detail = json!({"secret_id": id});
    member
        .audit(&state, Change::SecretCreated, Some(&client_id), detail)
        .await;
    let page = CredentialsPage {
        org: member.org(),
        csrf_token: &member.person.csrf,
        app: app_json(app),
        client_secret: Some(&secret),
        created: false,
    };
    render(&state, StatusCode::OK, &page)
}

/// POST /developer/apps/{client_id}/secrets/{id}/delete (owners and admins).
pub(super) async fn delete_secret(
    State(state): State<AppState>,
    Path((client_id, id)): Path<(String, String)>,
    Manager(member): Manager,
    _form: ConsoleForm,
) -> Result<Response, PageError> {
    admin::delete_secret(&state, &client_id, &id).await?;
    let detail = json!({"secret_id": id});
    member
        .audit(&state, Change::SecretDeleted, Some(&client_id), detail)
        .await;
    Ok(Done::SecretDeleted.after(&format!("/developer/apps/{client_id}")))
}

/// POST /developer/apps/{client_id}/delete (owners and admins).
pub(super) async fn delete_app(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    Manager(member): Manager,
    _form: ConsoleForm,
) -> Result<Response, PageError> {
    admin::delete_app(&state, &client_id).await?;
    member
        .audit(&state, Change::AppDeleted, Some(&client_id), json!({}))
        .await;
    Ok(Done::AppDeleted.after(&format!("/developer/orgs/{}", member.membership.org_id)))
}

/// GET /developer/apps/{client_id}/audit: the app's last 200 audit rows.
pub(super) async fn audit_page(
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    member: Member,
) -> Result<Response, PageError> {
    let rows = state.store.find_audit(Some(&client_id), None, 200).await?;
    // Who acted, by email: one lookup for the accounts the rows name.
    let mut uuids: Vec<&str> = rows.iter().filter_map(|e| e.uuid.as_deref()).collect();
    uuids.sort_unstable();
    uuids.dedup();
    let emails: HashMap<String, String> = state
        .store
        .find_user_emails(&uuids)
        .await?
        .into_iter()
        .map(|u| (u.uuid, u.email))
        .collect();
    let events = rows
        .into_iter()
        .map(|e| AuditRow {
            at: Moment::at(e.at),
            event: e.event,
            email: e.uuid.as_ref().and_then(|u| emails.get(u)).cloned(),
            uuid: e.uuid,
            address: e.address,
            request_id: e.request_id,
            detail: detail_words(&e.detail),
        })
        .collect();
    let page = AuditPage {
        org: member.org(),
        csrf_token: &member.person.csrf,
        app: app_json(member.app()?),
        events,
    };
    render(&state, StatusCode::OK, &page)
}

/// An audit row's details as a person reads them: `fields: name, profile; secret_id: 1f2e...`
/// rather than JSON.
fn detail_words(detail: &Value) -> String {
    let word = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match detail {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::Array(items) => {
                    let items: Vec<String> = items.iter().map(word).collect();
                    format!("{k}: {}", items.join(", "))
                }
                other => format!("{k}: {}", word(other)),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Value::Null => String::new(),
        other => word(other),
    }
}
