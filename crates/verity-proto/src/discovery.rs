//! OpenID Connect Discovery 1.0, section 3: the provider metadata document.

use serde::{Deserialize, Serialize};

/// `GET /oidc/.well-known/openid-configuration` (SPEC section 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub end_session_endpoint: String,
    pub scopes_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub userinfo_signing_alg_values_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    pub claims_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub prompt_values_supported: Vec<String>,
    pub acr_values_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
    /// RFC 9126 5 (SPEC 13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// RFC 9101 10.5 / OIDC Discovery 3.
    #[serde(default)]
    pub request_object_signing_alg_values_supported: Vec<String>,
    /// RFC 9449 5.1.
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// OpenID Connect for Identity Assurance 1.0, section 8 (SPEC 13).
    #[serde(default)]
    pub verified_claims_supported: bool,
    #[serde(default)]
    pub trust_frameworks_supported: Vec<String>,
    #[serde(default)]
    pub evidence_supported: Vec<String>,
    #[serde(default)]
    pub documents_supported: Vec<String>,
    #[serde(default)]
    pub documents_check_methods_supported: Vec<String>,
    #[serde(default)]
    pub electronic_records_supported: Vec<String>,
    #[serde(default)]
    pub claims_in_verified_claims_supported: Vec<String>,
}
