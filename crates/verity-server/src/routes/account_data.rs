//! The person's own data (SPEC 14): the apps they use and what each received (shown on
//! `/account`), their activity (`/account/activity`) and the download of everything
//! (`/account/data`). The pages and the download read the same store queries.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};
use verity_store::StoreError;
use verity_store::releases::Activity;

use crate::error::PageError;
use crate::extract::query_params;
use crate::pages::{Moment, Page};
use crate::respond::see_other;
use crate::session::{ACCOUNT_CLIENT_ID, signed_in, start_login};
use crate::state::AppState;

/// Activity lines per page.
const PAGE_SIZE: i64 = 50;

/// At most this many lines of activity go into the download.
const DOWNLOAD_ACTIVITY: i64 = 10_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/activity", get(activity))
        .route("/account/data", get(download))
}

/// An app the person used or allowed, with what it received at the last sign-in.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AppSummary {
    pub client_id: String,
    pub name: String,
    pub first_sign_in: Option<i64>,
    pub last_sign_in: Option<i64>,
    /// Policy handles granted (at the last sign-in, else remembered by consent).
    pub policies: Vec<String>,
    /// Attribute handles released at the last sign-in.
    pub handles: Vec<String>,
}

/// The apps a person used (the most recent first), then those allowed but never signed in to;
/// Verity's own account page is not one of them.
pub(crate) async fn apps_used(state: &AppState, uuid: &str) -> Result<Vec<AppSummary>, StoreError> {
    let mut apps: Vec<AppSummary> = state
        .store
        .find_app_uses(uuid)
        .await?
        .into_iter()
        .filter(|u| u.last.client_id != ACCOUNT_CLIENT_ID)
        .map(|u| AppSummary {
            client_id: u.last.client_id,
            name: u.name,
            first_sign_in: Some(u.first_at),
            last_sign_in: Some(u.last.at),
            policies: u.last.policies,
            handles: u.last.handles,
        })
        .collect();
    for (client_id, name, scopes, _) in state.store.find_user_consents(uuid).await? {
        if client_id == ACCOUNT_CLIENT_ID || apps.iter().any(|a| a.client_id == client_id) {
            continue;
        }
        let policies = state
            .policies_for(scopes.split(' '))
            .iter()
            .map(|p| p.handle.clone())
            .collect();
        apps.push(AppSummary {
            client_id,
            name,
            first_sign_in: None,
            last_sign_in: None,
            policies,
            handles: Vec::new(),
        });
    }
    Ok(apps)
}

/// What `/account` shows of one app.
#[derive(Debug, Serialize)]
pub(crate) struct AppRow {
    client_id: String,
    name: String,
    first: Option<Moment>,
    last: Option<Moment>,
    /// Policy names.
    policies: Vec<String>,
    handles: Vec<String>,
}

/// The "Apps you use" rows of `/account`.
pub(crate) async fn app_rows(state: &AppState, uuid: &str) -> Result<Vec<AppRow>, StoreError> {
    Ok(apps_used(state, uuid)
        .await?
        .into_iter()
        .map(|a| AppRow {
            first: a.first_sign_in.map(Moment::at),
            last: a.last_sign_in.map(Moment::at),
            policies: a
                .policies
                .iter()
                .map(|h| {
                    state
                        .policy(h)
                        .map_or_else(|| h.clone(), |p| p.name.clone())
                })
                .collect(),
            client_id: a.client_id,
            name: a.name,
            handles: a.handles,
        })
        .collect())
}

/// The apps' names one request has looked up, so that a page of activity (or a download of
/// thousands of lines) asks the store once per app, not once per line.
#[derive(Default)]
struct AppNames(BTreeMap<String, String>);

/// How the activity page and the download name the app of a line: the developer console or
/// Verity's own account page by those names, else the app's name, else its client id.
async fn app_name(
    state: &AppState,
    names: &mut AppNames,
    a: &Activity,
) -> Result<Option<String>, StoreError> {
    let Some(client_id) = a.client_id.as_deref() else {
        return Ok(None);
    };
    if client_id == ACCOUNT_CLIENT_ID
        && a.detail.get("via").and_then(Value::as_str) == Some("console")
    {
        return Ok(Some("Developer console".to_owned()));
    }
    if client_id == ACCOUNT_CLIENT_ID {
        return Ok(Some("Your account".to_owned()));
    }
    if let Some(name) = names.0.get(client_id) {
        return Ok(Some(name.clone()));
    }
    let name = state
        .store
        .find_app(client_id)
        .await?
        .map_or_else(|| client_id.to_owned(), |a| a.name);
    names.0.insert(client_id.to_owned(), name.clone());
    Ok(Some(name))
}

/// An activity line in words.
fn what(a: &Activity) -> String {
    let detail_str = |k: &str| a.detail.get(k).and_then(Value::as_str).unwrap_or_default();
    let group = detail_str("group");
    match a.event.as_str() {
        "signin.success" if detail_str("method") == "passkey" => {
            "Signed in with a passkey".to_owned()
        }
        "signin.success" => "Signed in with your password".to_owned(),
        "signin.failure" => "A sign-in failed: wrong password".to_owned(),
        "signin.locked" => "Sign-in locked after too many attempts".to_owned(),
        "signup" => "Account created".to_owned(),
        "mfa.success" if detail_str("method") == "passkey" => {
            "Second step with a passkey".to_owned()
        }
        "mfa.success" => "Second step with an authenticator (TOTP) code".to_owned(),
        "mfa.failure" => "A second step failed: wrong code".to_owned(),
        "mfa.locked" => "Second step locked after too many attempts".to_owned(),
        "mfa.recovery_code_used" => "Second step with a recovery code".to_owned(),
        "mfa.enrolled" => "Authenticator app set up".to_owned(),
        "mfa.removed" => "Authenticator app removed".to_owned(),
        "mfa.recovery_codes" => "New recovery codes made".to_owned(),
        "password.changed" => "Password changed".to_owned(),
        "passkey.added" => format!("Passkey added: {}", detail_str("name")),
        "passkey.removed" => format!("Passkey removed: {}", detail_str("name")),
        "passkey.refused" => "A passkey was refused".to_owned(),
        "admin.second_factors.removed" => {
            "Your second steps were removed by the operator, at your request".to_owned()
        }
        "password.reset_requested" => "A password reset link was emailed".to_owned(),
        "password.reset" => "Password reset with an emailed link; every session ended".to_owned(),
        "email.confirmed" => "Sign-in email confirmed".to_owned(),
        "consent.granted" => "Allowed an app".to_owned(),
        "consent.revoked" => "Withdrew an app".to_owned(),
        "logout" => "Signed out".to_owned(),
        "release" => {
            let handles: Vec<&str> = a
                .detail
                .as_array()
                .map(|hs| hs.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if handles.is_empty() {
                "Signed in to an app; no attributes released".to_owned()
            } else {
                format!("Released to an app: {}", handles.join(", "))
            }
        }
        "verification.started" => format!("Verification of {group} started"),
        "verification.submitted" => format!("Documents for {group} sent"),
        "verification.approved" => format!("Verified: {group}"),
        "verification.rejected" => format!("Verification of {group} not accepted"),
        "verification.expired" => format!("Verification of {group} ended"),
        "verification.revoked" => format!("Verification of {group} revoked"),
        "verification.withdrawn" => format!("Verification of {group} withdrawn"),
        "verification.evidence_viewed" => "A reviewer opened one of your documents".to_owned(),
        "verification.evidence_purged" => "Your documents were deleted".to_owned(),
        other => other.to_owned(),
    }
}

/// The sign-in method an activity line records, if it is a sign-in step.
fn method(event: &str) -> Option<&'static str> {
    match event {
        "signin.success" => Some("password"),
        "mfa.success" => Some("totp"),
        "mfa.recovery_code_used" => Some("recovery_code"),
        _ => None,
    }
}

#[derive(Debug, Serialize)]
struct ActivityRow {
    when: Moment,
    what: String,
    app: Option<String>,
    address: Option<String>,
}

#[derive(Debug, Serialize)]
struct ActivityPage {
    rows: Vec<ActivityRow>,
    page: i64,
    newer: Option<i64>,
    older: Option<i64>,
}

impl Page for ActivityPage {
    const TEMPLATE: &'static str = "account_activity.html";
}

/// GET /account/activity?page=N: the person's activity, newest first, 50 lines a page.
async fn activity(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let Some((_session, user)) = signed_in(&state, &headers).await? else {
        return start_login(&state, "/account/activity");
    };
    let params = query_params(query.as_deref());
    let page = params
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    // One more than a page tells whether there is an older page.
    let mut lines = state
        .store
        .find_activity(&user.uuid, (page - 1) * PAGE_SIZE, PAGE_SIZE + 1)
        .await?;
    let more = lines.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    lines.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let mut rows = Vec::with_capacity(lines.len());
    let mut names = AppNames::default();
    for a in &lines {
        rows.push(ActivityRow {
            when: Moment::at(a.at),
            what: what(a),
            app: app_name(&state, &mut names, a).await?,
            address: a.address.clone(),
        });
    }
    let page = ActivityPage {
        rows,
        page,
        newer: (page > 1).then_some(page - 1),
        older: more.then_some(page + 1),
    };
    Ok(state.pages.show(state.sandbox(), &page)?.into_response())
}

/// GET /account/data: everything Verity holds about the person, as one JSON document (SPEC 14).
/// Never a secret, hash, token or code; evidence files are listed, not included.
async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some((session, user)) = signed_in(&state, &headers).await? else {
        return Ok(see_other("/account"));
    };
    let uuid = user.uuid.as_str();
    let now = state.now();
    let data = state.store.find_user_data(uuid).await?;
    let attributes: BTreeMap<String, Value> = data.map(|d| d.attributes).unwrap_or_default();

    let cases = state.store.find_user_cases(uuid).await?;
    let mut evidence: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for c in &cases {
        for e in state.store.find_case_evidence(&c.id).await? {
            evidence.entry(c.grp.clone()).or_default().push(json!({
                "id": e.id,
                "type": e.kind,
                "content_type": e.content_type,
                "size": e.size,
                "uploaded_at": e.created_at,
                "purged_at": e.purged_at,
            }));
        }
    }
    let mut verifications: Vec<Value> = Vec::new();
    for v in state.store.find_verifications(uuid).await? {
        verifications.push(json!({
            "group": v.group,
            "subgroups": v.subgroups,
            "method": v.method,
            "state": if v.verified { "verified" } else { "not_verified" },
            "decided_at": v.decided_at,
            "evidence": evidence.remove(&v.group).unwrap_or_default(),
        }));
    }
    for c in &cases {
        if let Some(files) = evidence.remove(&c.grp) {
            verifications.push(json!({
                "group": c.grp,
                "subgroups": c.subgroups,
                "method": c.method,
                "state": c.state,
                "decided_at": c.decided_at,
                "evidence": files,
            }));
        }
    }

    let mut apps = Vec::new();
    for a in apps_used(&state, uuid).await? {
        let releases: Vec<Value> = state
            .store
            .find_app_releases(uuid, &a.client_id)
            .await?
            .into_iter()
            .map(|r| json!({"time": r.at, "policies": r.policies, "handles": r.handles}))
            .collect();
        apps.push(json!({
            "client_id": a.client_id,
            "name": a.name,
            "policies": a.policies,
            "first_sign_in": a.first_sign_in,
            "last_sign_in": a.last_sign_in,
            "releases": releases,
        }));
    }

    let mut sign_ins = Vec::new();
    let mut names = AppNames::default();
    for a in state
        .store
        .find_activity(uuid, 0, DOWNLOAD_ACTIVITY)
        .await?
    {
        if let Some(m) = method(&a.event) {
            sign_ins.push(json!({
                "time": a.at,
                "app": app_name(&state, &mut names, &a).await?,
                "client_id": a.client_id,
                "method": m,
                "address": a.address,
            }));
        }
    }

    let sessions: Vec<Value> = state
        .store
        .find_user_sessions(uuid, now)
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "signed_in_at": s.auth_time,
                "created_at": s.created_at,
                "expires_at": s.expires_at,
                "second_factor": s.mfa,
                "current": s.id_hash == session.id_hash,
            })
        })
        .collect();

    let mut factors = vec![json!({"kind": "password", "name": "Password"})];
    if user.totp_secret.is_some() {
        factors.push(json!({"kind": "totp", "name": "Authenticator app"}));
    }
    for p in state.store.find_passkeys(&user.uuid).await? {
        factors.push(json!({
            "kind": "passkey",
            "name": p.name,
            "added_at": p.created_at,
            "last_used_at": p.last_used_at,
        }));
    }

    let document = json!({
        "uuid": uuid,
        "email": user.email,
        // When the sign-in email was confirmed (Unix time), or null.
        "email_confirmed_at": user.email_confirmed_at,
        "attributes": attributes,
        "verifications": verifications,
        "apps": apps,
        "sign_ins": sign_ins,
        "sessions": sessions,
        "factors": factors,
    });
    let body = serde_json::to_vec_pretty(&document)
        .map_err(|e| PageError::internal("writing the data download", e))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"verity-data.json\""),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response())
}
