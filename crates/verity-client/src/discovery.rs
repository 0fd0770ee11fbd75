//! OpenID Connect Discovery 1.0: the provider metadata, read leniently (ID.me's document lacks
//! some members Verity's has) and checked for what this client needs.

use serde::Deserialize;
use url::Url;

use crate::error::DiscoveryError;

/// The members of the discovery document this client uses. Unknown members are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: String,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    pub userinfo_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    pub claims_supported: Vec<String>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// OIDC Discovery: the `claims` request parameter is understood.
    #[serde(default)]
    pub claims_parameter_supported: bool,
    /// OIDC4IDA 7: `verified_claims` can be asked for ...
    #[serde(default)]
    pub verified_claims_supported: bool,
    /// ... under these trust frameworks.
    #[serde(default)]
    pub trust_frameworks_supported: Vec<String>,
    /// RFC 9126 5: where requests are pushed ...
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// ... and whether every request must be.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// RFC 9101 10.5: how request objects may be signed.
    #[serde(default)]
    pub request_object_signing_alg_values_supported: Vec<String>,
    /// RFC 9449 5.1: how DPoP proofs may be signed.
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Vec<String>,
}

/// `issuer` + `/.well-known/openid-configuration` (Discovery 4.1: a trailing `/` is removed first).
pub fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// An endpoint must be absolute `https`, or `http` on a loopback host (a local provider).
pub fn check_endpoint(
    name: &'static str,
    value: &str,
    allow_http: bool,
) -> Result<Url, DiscoveryError> {
    let bad = || DiscoveryError::InsecureEndpoint {
        name,
        value: value.to_owned(),
    };
    let url = Url::parse(value).map_err(|_| bad())?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost");
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback || allow_http => Ok(url),
        _ => Err(bad()),
    }
}

impl Metadata {
    /// Parses a discovery body (no size or network concerns here).
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// Discovery 4.3: `issuer` must equal the issuer the document was fetched for, exactly; every
    /// endpoint used must be present and safe; the provider must offer the code flow.
    pub fn check(&self, expected_issuer: &str, allow_http: bool) -> Result<(), DiscoveryError> {
        if self.issuer != expected_issuer {
            return Err(DiscoveryError::IssuerMismatch {
                expected: expected_issuer.to_owned(),
                found: self.issuer.clone(),
            });
        }
        check_endpoint("issuer", &self.issuer, allow_http)?;
        check_endpoint(
            "authorization_endpoint",
            &self.authorization_endpoint,
            allow_http,
        )?;
        check_endpoint("token_endpoint", &self.token_endpoint, allow_http)?;
        check_endpoint("jwks_uri", &self.jwks_uri, allow_http)?;
        for (name, value) in [
            ("userinfo_endpoint", &self.userinfo_endpoint),
            ("revocation_endpoint", &self.revocation_endpoint),
            ("introspection_endpoint", &self.introspection_endpoint),
            ("end_session_endpoint", &self.end_session_endpoint),
            (
                "pushed_authorization_request_endpoint",
                &self.pushed_authorization_request_endpoint,
            ),
        ] {
            if let Some(v) = value {
                check_endpoint(name, v, allow_http)?;
            }
        }
        if !self.response_types_supported.is_empty()
            && !self.response_types_supported.iter().any(|r| r == "code")
        {
            return Err(DiscoveryError::Unsupported("response_type code"));
        }
        if !self.id_token_signing_alg_values_supported.is_empty()
            && !self
                .id_token_signing_alg_values_supported
                .iter()
                .any(|a| a == "RS256" || a == "ES256")
        {
            return Err(DiscoveryError::Unsupported("RS256 or ES256 ID tokens"));
        }
        Ok(())
    }

    /// The `attributes.json` endpoint of an ID.me-compatible provider: beside `userinfo` when that
    /// is ID.me's `/api/public/v3/userinfo`; `None` for other providers (no such endpoint).
    pub fn attributes_endpoint(&self) -> Option<String> {
        let userinfo = self.userinfo_endpoint.as_deref()?;
        let base = userinfo
            .strip_suffix("/api/public/v3/userinfo")
            .or_else(|| userinfo.strip_suffix("/api/public/v3/userinfo.json"))?;
        Some(format!("{base}/api/public/v3/attributes.json"))
    }

    /// Whether PKCE S256 is announced. ID.me accepts PKCE without announcing it, so the client
    /// always sends it; this is for reports.
    pub fn announces_pkce_s256(&self) -> bool {
        self.code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_https_or_loopback() {
        assert!(check_endpoint("x", "https://api.id.me/oauth/token", false).is_ok());
        assert!(check_endpoint("x", "http://127.0.0.1:8080/oauth/token", false).is_ok());
        assert!(check_endpoint("x", "http://localhost:8080/x", false).is_ok());
        assert!(check_endpoint("x", "http://example.com/x", false).is_err());
        assert!(check_endpoint("x", "/oauth/token", false).is_err());
        assert!(check_endpoint("x", "javascript:alert(1)", false).is_err());
    }

    #[test]
    fn attributes_endpoint_sits_beside_userinfo() {
        let m: Metadata = serde_json::from_value(serde_json::json!({
            "issuer": "https://api.idmelabs.com/oidc",
            "authorization_endpoint": "https://api.idmelabs.com/oauth/authorize",
            "token_endpoint": "https://api.idmelabs.com/oauth/token",
            "userinfo_endpoint": "https://api.idmelabs.com/api/public/v3/userinfo",
            "jwks_uri": "https://api.idmelabs.com/oidc/.well-known/jwks",
        }))
        .unwrap();
        assert_eq!(
            m.attributes_endpoint().as_deref(),
            Some("https://api.idmelabs.com/api/public/v3/attributes.json")
        );
        assert!(m.check("https://api.idmelabs.com/oidc", false).is_ok());
        let mut keycloak = m.clone();
        keycloak.userinfo_endpoint =
            Some("https://kc.example/realms/r/protocol/openid-connect/userinfo".into());
        assert_eq!(keycloak.attributes_endpoint(), None);
        assert!(matches!(
            m.check("https://api.idmelabs.com/oidc/", false),
            Err(DiscoveryError::IssuerMismatch { .. })
        ));
    }
}
