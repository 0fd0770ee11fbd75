//! The claim sets Verity signs: the ID token (OIDC Core 2, SPEC section 5) and the userinfo JWT
//! (SPEC section 7). Protocol claims are written last, so no attribute can shadow them.

use serde_json::{Map, Value, json};

use crate::identity::{AuthFacts, Family, Policy, UserData, claims, released};
use crate::secret::new_token;

/// Who the token is for and when it is issued.
#[derive(Debug, Clone)]
pub struct Issue<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub now: i64,
    pub ttl: i64,
}

/// Everything the ID token states about the authentication.
#[derive(Debug, Clone)]
pub struct Authentication<'a> {
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    pub at_hash: Option<String>,
    pub auth: AuthFacts,
    /// The provider session (OIDC Back-Channel Logout 2.4 `sid`).
    pub sid: Option<&'a str>,
}

/// The attribute claims of the granted policies, in one family.
pub fn attribute_claims(
    policies: &[&Policy],
    family: Family,
    user: &UserData,
    auth: AuthFacts,
) -> Map<String, Value> {
    claims(family, &released(policies, user, auth))
}

/// ID-token claims: attribute claims, then `iss`, `sub`, `aud`, `exp`, `iat`, `auth_time`,
/// `nonce`, `at_hash`, `sid`, `acr`, `amr`, `jti`, `uuid`.
pub fn id_token(
    issue: &Issue<'_>,
    user: &UserData,
    authn: &Authentication<'_>,
    attributes: Map<String, Value>,
) -> Value {
    let mut c = attributes;
    c.insert("iss".into(), json!(issue.issuer));
    c.insert("sub".into(), json!(user.uuid));
    c.insert("aud".into(), json!(issue.client_id));
    c.insert("exp".into(), json!(issue.now + issue.ttl));
    c.insert("iat".into(), json!(issue.now));
    c.insert("auth_time".into(), json!(authn.auth_time));
    if let Some(n) = authn.nonce {
        c.insert("nonce".into(), json!(n));
    }
    if let Some(h) = &authn.at_hash {
        c.insert("at_hash".into(), json!(h));
    }
    if let Some(sid) = authn.sid {
        c.insert("sid".into(), json!(sid));
    }
    c.insert("acr".into(), json!(authn.auth.acr()));
    c.insert("amr".into(), json!(authn.auth.amr()));
    c.insert("jti".into(), json!(new_token()));
    c.insert("uuid".into(), json!(user.uuid));
    Value::Object(c)
}

/// Userinfo claims as a plain object (OIDC Core 5.3.2): `sub` and the attribute claims.
pub fn userinfo_object(user: &UserData, attributes: Map<String, Value>) -> Value {
    let mut c = attributes;
    c.insert("sub".into(), json!(user.uuid));
    Value::Object(c)
}

/// Userinfo claims for the signed form: the object plus `iss`, `aud`, `iat`, `exp`.
pub fn userinfo_jwt(issue: &Issue<'_>, user: &UserData, attributes: Map<String, Value>) -> Value {
    let mut v = userinfo_object(user, attributes);
    if let Value::Object(c) = &mut v {
        c.insert("iss".into(), json!(issue.issuer));
        c.insert("aud".into(), json!(issue.client_id));
        c.insert("iat".into(), json!(issue.now));
        c.insert("exp".into(), json!(issue.now + issue.ttl));
    }
    v
}
