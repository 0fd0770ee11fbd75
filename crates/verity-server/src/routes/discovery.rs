//! OIDC Discovery 1.0 section 4 and RFC 7517 JWKS (SPEC section 2). Both are public documents:
//! a browser app (oidc-client-ts and the like) reads them from any origin, without credentials
//! (CORS, as Keycloak, node-oidc-provider and Hydra answer them). The headers are written by
//! the handlers: tower-http's `CorsLayer` on these routes cost `jwks` about a sixth of its
//! throughput (a layer per route, and a `Vary` header on every answer), and `*` needs neither.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use verity_core::assurance;
use verity_proto::discovery::ProviderMetadata;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/oidc/.well-known/openid-configuration",
            get(openid_configuration).options(preflight),
        )
        .route("/oidc/.well-known/jwks", get(jwks).options(preflight))
}

/// A CORS preflight (Fetch standard, "CORS-preflight fetch"): any origin may `GET`.
async fn preflight() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET"),
            (header::ACCESS_CONTROL_MAX_AGE, "86400"),
        ],
    )
}

/// OIDC Discovery 4.2: the provider metadata.
async fn openid_configuration(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        state.discovery_json.clone(),
    )
}

/// RFC 7517 5 / SPEC 2: the published keys. The max-age is far below the one-hour publication
/// delay of a new key, so a cached copy always holds the key that signs.
async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        state.jwks_json(),
    )
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The metadata document for an issuer and the policies on offer.
pub fn metadata(public_url: &str, policy_handles: &[String]) -> ProviderMetadata {
    let mut scopes = strings(&["openid", "profile", "email", "offline_access"]);
    for h in policy_handles {
        if !scopes.contains(h) {
            scopes.push(h.clone());
        }
    }
    let auth_methods = strings(&[
        "client_secret_post",
        "client_secret_basic",
        "private_key_jwt",
        "none",
    ]);
    ProviderMetadata {
        issuer: format!("{public_url}/oidc"),
        authorization_endpoint: format!("{public_url}/oauth/authorize"),
        token_endpoint: format!("{public_url}/oauth/token"),
        userinfo_endpoint: format!("{public_url}/api/public/v3/userinfo"),
        jwks_uri: format!("{public_url}/oidc/.well-known/jwks"),
        revocation_endpoint: format!("{public_url}/oauth/revoke"),
        introspection_endpoint: format!("{public_url}/oauth/introspect"),
        end_session_endpoint: format!("{public_url}/oauth/logout"),
        scopes_supported: scopes,
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query", "form_post"]),
        grant_types_supported: strings(&["authorization_code", "refresh_token"]),
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: strings(&["RS256", "ES256"]),
        userinfo_signing_alg_values_supported: strings(&["RS256", "ES256"]),
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        token_endpoint_auth_signing_alg_values_supported: strings(&["RS256", "ES256"]),
        revocation_endpoint_auth_methods_supported: auth_methods.clone(),
        introspection_endpoint_auth_methods_supported: auth_methods,
        code_challenge_methods_supported: strings(&["S256"]),
        claims_supported: verity_core::identity::claims_supported(),
        claims_parameter_supported: true,
        request_parameter_supported: true,
        request_uri_parameter_supported: false,
        prompt_values_supported: strings(&["none", "login", "consent"]),
        acr_values_supported: strings(&verity_core::authn::ACR_VALUES),
        authorization_response_iss_parameter_supported: true,
        pushed_authorization_request_endpoint: Some(format!("{public_url}/oauth/par")),
        require_pushed_authorization_requests: false,
        request_object_signing_alg_values_supported: strings(&["RS256", "ES256"]),
        dpop_signing_alg_values_supported: strings(&verity_core::dpop::ALGS),
        verified_claims_supported: true,
        trust_frameworks_supported: strings(&assurance::TRUST_FRAMEWORKS),
        evidence_supported: strings(&assurance::EVIDENCE),
        documents_supported: strings(&assurance::documents_supported()),
        documents_check_methods_supported: strings(&assurance::CHECK_METHODS),
        electronic_records_supported: strings(&assurance::ELECTRONIC_RECORDS),
        claims_in_verified_claims_supported: strings(&assurance::claims_in_verified_claims()),
    }
}
