//! The admin API's bodies and answers (SPEC 11 and 12), typed. The handlers parse and answer
//! these types, and the OpenAPI document's schemas are derived from them (`ToSchema`), so a
//! field cannot change in one place only. Enumerations the core defines (a case's state, a
//! reject reason, ...) are documented with the values serde writes for them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};
use verity_core::identity::Family;
use verity_core::keys::Alg;
use verity_core::review::Role;
use verity_core::values::ClientId;
use verity_core::verification::{CaseState, Method, RejectReason};
use verity_store::apps::App;
use verity_store::audit::AuditEvent;
use verity_store::cases::{Case, Evidence};
use verity_store::console::SecretInfo;

/// `POST /organizations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationRequest {
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationResponse {
    pub id: String,
    pub name: String,
}

/// An app as the admin API and the console show it: every setting, never a secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppResponse {
    #[schema(value_type = String)]
    pub client_id: ClientId,
    pub organization_id: String,
    pub name: String,
    pub logo_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub policies: Vec<String>,
    #[schema(schema_with = family)]
    pub profile: Family,
    pub public: bool,
    pub refresh_tokens: bool,
    #[schema(schema_with = alg)]
    pub id_token_alg: Alg,
    #[schema(schema_with = nullable_alg)]
    pub userinfo_signed_response_alg: Option<Alg>,
    pub code_ttl: i64,
    pub access_ttl: i64,
    pub refresh_ttl: i64,
    pub userinfo_ttl: i64,
    /// The registered JWK Set (`private_key_jwt`).
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Value>,
    pub jwks_uri: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Web origins allowed CORS besides those of the redirect URIs.
    pub allowed_origins: Vec<String>,
    /// RFC 9126: authorization requests only through PAR.
    pub require_pushed_authorization_requests: bool,
    /// RFC 9101: authorization requests only as signed request objects.
    pub require_signed_request_object: bool,
    /// RFC 9449: tokens bound to a DPoP key.
    pub dpop_bound_access_tokens: bool,
    /// Every sign-in must be phishing resistant (a passkey), whatever `acr_values` says.
    pub require_phishing_resistant: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&App> for AppResponse {
    fn from(app: &App) -> Self {
        AppResponse {
            client_id: app.client_id.clone(),
            organization_id: app.org_id.clone(),
            name: app.name.clone(),
            logo_url: app.logo_url.clone(),
            redirect_uris: app.redirect_uris.clone(),
            post_logout_redirect_uris: app.post_logout_redirect_uris.clone(),
            policies: app.policies.clone(),
            profile: app.profile,
            public: app.public,
            refresh_tokens: app.refresh_tokens,
            id_token_alg: app.id_token_alg,
            userinfo_signed_response_alg: app.userinfo_signed_response_alg,
            code_ttl: app.code_ttl,
            access_ttl: app.access_ttl,
            refresh_ttl: app.refresh_ttl,
            userinfo_ttl: app.userinfo_ttl,
            // Stored as checked JSON text; unreadable would show as null, as it always has.
            jwks: app
                .jwks
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok()),
            jwks_uri: app.jwks_uri.clone(),
            backchannel_logout_uri: app.backchannel_logout_uri.clone(),
            allowed_origins: app.allowed_origins.clone(),
            require_pushed_authorization_requests: app.require_pushed_authorization_requests,
            require_signed_request_object: app.require_signed_request_object,
            dpop_bound_access_tokens: app.dpop_bound_access_tokens,
            require_phishing_resistant: app.require_phishing_resistant,
            created_at: app.created_at,
            updated_at: app.updated_at,
        }
    }
}

/// One of an app's client secrets: its id and times, never the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretSummary {
    pub id: String,
    pub created_at: i64,
    /// When it last authenticated its app, to the hour.
    pub last_used_at: Option<i64>,
}

impl From<&SecretInfo> for SecretSummary {
    fn from(s: &SecretInfo) -> Self {
        SecretSummary {
            id: s.id.clone(),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
        }
    }
}

/// An app with the list of its secrets, as `GET` and `PATCH /apps/{client_id}` answer it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppDetailsResponse {
    #[serde(flatten)]
    pub app: AppResponse,
    pub secrets: Vec<SecretSummary>,
}

impl AppDetailsResponse {
    pub fn new(app: &App, secrets: &[SecretInfo]) -> Self {
        AppDetailsResponse {
            app: app.into(),
            secrets: secrets.iter().map(SecretSummary::from).collect(),
        }
    }
}

/// A newly registered app: its details and, for a confidential app, its first secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewAppResponse {
    #[serde(flatten)]
    pub app: AppDetailsResponse,
    /// Shown this once; absent for a public app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// `POST /apps/{client_id}/secrets`: the new secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewSecretResponse {
    pub id: String,
    pub client_secret: String,
}

/// `POST /users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    pub email: String,
    pub password: String,
    /// Catalog attributes by handle, typed (`null` leaves one empty).
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub uuid: String,
}

/// `GET /users/{uuid}`: the account, its attributes and verifications (SPEC 14).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDetailsResponse {
    pub uuid: String,
    pub email: String,
    /// Catalog attributes by handle, typed (`null` when left empty).
    pub attributes: BTreeMap<String, Value>,
    pub verifications: Vec<UserVerification>,
}

/// One recorded verification of an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserVerification {
    /// A group handle, or `identity`.
    pub group: String,
    pub verified: bool,
    pub subgroups: Vec<String>,
    /// How it was decided: `email_domain`, `document`, `sandbox`, `operator`.
    pub method: String,
    /// When it was decided (Unix seconds).
    pub decided_at: i64,
}

/// `PUT /users/{uuid}/verifications/{group}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationRequest {
    pub verified: bool,
    #[serde(default)]
    pub subgroups: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationResponse {
    pub uuid: String,
    pub group: String,
    pub verified: bool,
    pub subgroups: Vec<String>,
}

/// A verification case as the admin API answers it (no code digest).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseResponse {
    pub id: String,
    /// The account's uuid.
    pub uuid: String,
    /// A group handle, or `identity`.
    pub group: String,
    #[schema(schema_with = case_method)]
    pub method: Method,
    #[schema(schema_with = case_state)]
    pub state: CaseState,
    /// `email_domain`: the address the code went to.
    pub address: Option<String>,
    /// `document`: the kind of document the person said they uploaded.
    pub document_type: Option<String>,
    pub subgroups: Vec<String>,
    /// `identity`: what the reviewer read from the document.
    pub attributes: BTreeMap<String, String>,
    #[schema(schema_with = nullable_reject_reason)]
    pub reason: Option<RejectReason>,
    pub claimed_by: Option<String>,
    pub claimed_until: Option<i64>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<&Case> for CaseResponse {
    fn from(c: &Case) -> Self {
        CaseResponse {
            id: c.id.clone(),
            uuid: c.uuid.clone(),
            group: c.grp.clone(),
            method: c.method,
            state: c.state,
            address: c.address.clone(),
            document_type: c.document_type.clone(),
            subgroups: c.subgroups.clone(),
            attributes: c.attributes.clone(),
            reason: c.reason,
            claimed_by: c.claimed_by.clone(),
            claimed_until: c.claimed_until,
            decided_by: c.decided_by.clone(),
            decided_at: c.decided_at,
            expires_at: c.expires_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// One file of a case's evidence: what it is, never its content.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceSummary {
    pub id: String,
    /// `document` or `selfie`.
    pub kind: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: i64,
    pub purged_at: Option<i64>,
}

impl From<&Evidence> for EvidenceSummary {
    fn from(e: &Evidence) -> Self {
        EvidenceSummary {
            id: e.id.clone(),
            kind: e.kind.clone(),
            content_type: e.content_type.clone(),
            size: e.size,
            created_at: e.created_at,
            purged_at: e.purged_at,
        }
    }
}

/// An audit event that names a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub at: i64,
    pub event: String,
    pub detail: Value,
}

impl From<AuditEvent> for HistoryEntry {
    fn from(e: AuditEvent) -> Self {
        HistoryEntry {
            at: e.at,
            event: e.event,
            detail: e.detail,
        }
    }
}

/// `GET /verification-cases/{id}`: the case, its evidence list and its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetailsResponse {
    #[serde(flatten)]
    pub case: CaseResponse,
    pub evidence: Vec<EvidenceSummary>,
    pub history: Vec<HistoryEntry>,
}

/// `POST /users/{uuid}/verifications/{group}/revoke`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// Why, in 1 to 500 characters (kept in the case's history).
    pub reason: String,
}

/// The deployment roles an account holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct RolesResponse {
    pub uuid: String,
    #[schema(schema_with = roles)]
    pub roles: Vec<Role>,
}

/// `POST /keys/rotate`: the new keys' ids (`kid` the first of them).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyRotationResponse {
    pub kid: Option<String>,
    pub kids: Vec<String>,
}

/// Every error of the admin API, as [`crate::error::ApiError`] answers it (RFC 6749 5.2's
/// `verity_proto::error::ErrorResponse`, always with a description here). Documentation only.
#[derive(Debug, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// An error code: `invalid_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `server_error`.
    pub error: String,
    /// What was wrong, for a person (one message per problem).
    pub error_description: String,
}

/// A string schema allowing exactly `values`, spelled as serde writes them.
fn one_of<T: Serialize>(values: &[T], nullable: bool) -> Object {
    let mut spelled: Vec<Value> = values
        .iter()
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect();
    let kind = if nullable {
        spelled.push(Value::Null);
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(kind)
        .enum_values(Some(spelled))
        .build()
}

pub(crate) fn family() -> Object {
    one_of(&[Family::Idme, Family::Oidc], false)
}

pub(crate) fn alg() -> Object {
    one_of(&[Alg::RS256, Alg::ES256], false)
}

pub(crate) fn nullable_alg() -> Object {
    one_of(&[Alg::RS256, Alg::ES256], true)
}

fn case_method() -> Object {
    use Method::*;
    one_of(&[EmailDomain, Document, Sandbox, Operator], false)
}

fn case_state() -> Object {
    use CaseState::*;
    let all = [
        PendingCode,
        InReview,
        Verified,
        Rejected,
        Expired,
        Revoked,
        Withdrawn,
    ];
    one_of(&all, false)
}

pub(crate) fn reject_reason() -> Object {
    one_of(&RejectReason::ALL, false)
}

fn nullable_reject_reason() -> Object {
    one_of(&RejectReason::ALL, true)
}

pub(crate) fn decision() -> Object {
    one_of(&["approve", "reject"], false)
}

fn roles() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::Array::new(one_of(&Role::ALL, false))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The typed answers write the JSON the admin API has always sent: the same names, `null`
    /// for an unset value, and `client_secret` absent (not null) for a public app.
    #[test]
    fn answers_keep_their_wire_format() {
        let mut app = App::new("c1", "o1", "Portal", 10);
        app.redirect_uris = vec!["https://a.test/cb".into()];
        app.jwks = Some(r#"{"keys":[]}"#.into());
        let secrets = [SecretInfo {
            id: "s1".into(),
            created_at: 11,
            last_used_at: None,
        }];
        let details = json!({
            "client_id": "c1", "organization_id": "o1", "name": "Portal", "logo_url": null,
            "redirect_uris": ["https://a.test/cb"], "post_logout_redirect_uris": [], "policies": [],
            "profile": "idme", "public": false, "refresh_tokens": true, "id_token_alg": "RS256",
            "userinfo_signed_response_alg": null, "code_ttl": app.code_ttl,
            "access_ttl": app.access_ttl, "refresh_ttl": app.refresh_ttl,
            "userinfo_ttl": app.userinfo_ttl, "jwks": {"keys": []}, "jwks_uri": null,
            "backchannel_logout_uri": null, "allowed_origins": [],
            "require_pushed_authorization_requests": false,
            "require_signed_request_object": false, "dpop_bound_access_tokens": false,
            "require_phishing_resistant": false,
            "created_at": 10, "updated_at": 10,
            "secrets": [{"id": "s1", "created_at": 11, "last_used_at": null}]
        });
        let public = NewAppResponse {
            app: AppDetailsResponse::new(&app, &secrets),
            client_secret: None,
        };
        assert_eq!(json!(public), details);
        let confidential = NewAppResponse {
            client_secret: Some("shh".into()),
            ..public
        };
        let mut with_secret = details.clone();
        with_secret["client_secret"] = json!("shh");
        assert_eq!(json!(confidential), with_secret);

        let case = Case::new("k1", "u1", "military", Method::Document, 5);
        assert_eq!(
            json!(CaseResponse::from(&case)),
            json!({
                "id": "k1", "uuid": "u1", "group": "military", "method": "document",
                "state": "in_review", "address": null, "document_type": null, "subgroups": [],
                "attributes": {}, "reason": null, "claimed_by": null, "claimed_until": null,
                "decided_by": null, "decided_at": null, "expires_at": case.expires_at,
                "created_at": 5, "updated_at": 5
            })
        );
    }
}
