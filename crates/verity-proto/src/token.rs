//! RFC 6749 section 5.1 / OIDC Core 3.1.3.3: the token endpoint's success body (SPEC section 4).

use serde::{Deserialize, Serialize};

/// `POST /oauth/token`, success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `bearer`, lower case as ID.me sends it.
    pub token_type: String,
    pub expires_in: i64,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}
