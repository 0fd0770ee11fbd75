//! The `claims` request parameter (OIDC Core 5.5) with OIDC4IDA `verified_claims` elements, and
//! the check that an answer answers an element.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::response::VerifiedClaims;
use super::time::parse_rfc3339;

/// How far in the future a verification `time` may be (clock skew) before it is refused.
const FUTURE_SKEW: i64 = 300;
/// OIDC4IDA 6.2: a purpose is 3 to 300 characters.
const PURPOSE_CHARS: std::ops::RangeInclusive<usize> = 3..=300;

/// The `claims` authorization parameter: `verified_claims` asked of the ID token and of userinfo.
/// Pass it to [`crate::AuthorizationRequest::claims`]; it serializes to the parameter's JSON.
///
/// ```
/// use verity_client::assurance::{ClaimsRequest, VerifiedClaimsRequest};
///
/// let request = ClaimsRequest::new().userinfo(
///     VerifiedClaimsRequest::new()
///         .trust_framework("nist_800_63A")
///         .max_age(365 * 24 * 3600)
///         .claim("given_name")
///         .essential_claim("family_name"),
/// );
/// assert_eq!(
///     request.to_value(),
///     serde_json::json!({"userinfo": {"verified_claims": {
///         "verification": {"trust_framework": {"value": "nist_800_63A"},
///                          "time": {"max_age": 31536000}},
///         "claims": {"given_name": null, "family_name": {"essential": true}}}}})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimsRequest {
    id_token: Vec<VerifiedClaimsRequest>,
    userinfo: Vec<VerifiedClaimsRequest>,
}

impl ClaimsRequest {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for `verified_claims` in userinfo; each call adds one element (several are sent as an
    /// array, and the provider answers each it can).
    pub fn userinfo(mut self, element: VerifiedClaimsRequest) -> Self {
        self.userinfo.push(element);
        self
    }

    /// Asks for `verified_claims` in the ID token; each call adds one element.
    pub fn id_token(mut self, element: VerifiedClaimsRequest) -> Self {
        self.id_token.push(element);
        self
    }

    /// The elements asked of userinfo.
    pub fn userinfo_elements(&self) -> &[VerifiedClaimsRequest] {
        &self.userinfo
    }

    /// The elements asked of the ID token.
    pub fn id_token_elements(&self) -> &[VerifiedClaimsRequest] {
        &self.id_token
    }

    pub fn is_empty(&self) -> bool {
        self.id_token.is_empty() && self.userinfo.is_empty()
    }

    /// The parameter's JSON: `{"userinfo": {"verified_claims": ...}, "id_token": {...}}`, one
    /// element as an object, several as an array.
    pub fn to_value(&self) -> Value {
        let mut out = Map::new();
        for (member, elements) in [("id_token", &self.id_token), ("userinfo", &self.userinfo)] {
            let value = match elements.as_slice() {
                [] => continue,
                [one] => one.to_value(),
                many => Value::Array(many.iter().map(VerifiedClaimsRequest::to_value).collect()),
            };
            out.insert(member.into(), json!({ "verified_claims": value }));
        }
        Value::Object(out)
    }

    /// What the specification forbids and the builder cannot prevent by its types: a purpose
    /// shorter than 3 or longer than 300 characters.
    pub(crate) fn check(&self) -> Result<(), String> {
        for e in self.id_token.iter().chain(&self.userinfo) {
            if let Some(p) = &e.purpose
                && !PURPOSE_CHARS.contains(&p.chars().count())
            {
                return Err(format!(
                    "a purpose must be 3 to 300 characters, not {}",
                    p.chars().count()
                ));
            }
        }
        Ok(())
    }
}

impl Serialize for ClaimsRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

/// One `verified_claims` request element (OIDC4IDA 6): which trust frameworks and assurance
/// levels are acceptable, how recent the verification must be, and which claims are wanted.
/// Nothing named means any framework, any level, any age, and every claim verified.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifiedClaimsRequest {
    /// Acceptable trust frameworks; empty: any.
    trust_framework: Vec<String>,
    /// Acceptable assurance levels; empty: any.
    assurance_level: Vec<String>,
    /// The oldest verification accepted, in seconds.
    max_age: Option<u64>,
    /// The claims wanted and whether each is essential; empty: every claim verified.
    claims: Vec<(String, bool)>,
    /// Why the app asks, shown to the person (OIDC4IDA 6.2), carried by each named claim.
    purpose: Option<String>,
    /// Further members of `verification` (`evidence`, `verification_process`, ...), as JSON.
    verification: Map<String, Value>,
}

/// Why an answer does not answer a request element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Mismatch {
    #[error("trust framework {found:?} was not asked for")]
    TrustFramework { found: String },
    #[error("assurance level {found:?} was not asked for")]
    AssuranceLevel { found: Option<String> },
    #[error("the verification has no time, and a maximum age was asked")]
    NoTime,
    #[error("the verification time {0:?} is not an RFC 3339 date-time")]
    UnreadableTime(String),
    #[error("the verification is {age} seconds old, more than the {max_age} asked")]
    TooOld { age: i64, max_age: u64 },
    #[error("the verification time is in the future")]
    InTheFuture,
    #[error("claim {0:?} was not asked for")]
    UnrequestedClaim(String),
    #[error("the answer carries no claim")]
    NoClaims,
    #[error("no verified_claims were asked of this source")]
    NotAsked,
}

impl VerifiedClaimsRequest {
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts this trust framework (`nist_800_63A`, `verity`, ...), besides any already named.
    pub fn trust_framework(mut self, framework: impl Into<String>) -> Self {
        push_unique(&mut self.trust_framework, framework.into());
        self
    }

    /// Accepts these trust frameworks.
    pub fn trust_frameworks<I, S>(self, frameworks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        frameworks
            .into_iter()
            .fold(self, |req, f| req.trust_framework(f))
    }

    /// Accepts this assurance level (`ial2`, ...), besides any already named.
    pub fn assurance_level(mut self, level: impl Into<String>) -> Self {
        push_unique(&mut self.assurance_level, level.into());
        self
    }

    /// Accepts these assurance levels.
    pub fn assurance_levels<I, S>(self, levels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        levels
            .into_iter()
            .fold(self, |req, l| req.assurance_level(l))
    }

    /// Only verifications done at most `seconds` ago (`verification.time.max_age`).
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }

    /// Asks for this claim (`given_name`, `birthdate`, Verity's `group`, ...).
    pub fn claim(self, name: impl Into<String>) -> Self {
        self.claim_as(name.into(), false)
    }

    /// Asks for this claim as essential (OIDC Core 5.5.1): the person is told the app needs it.
    pub fn essential_claim(self, name: impl Into<String>) -> Self {
        self.claim_as(name.into(), true)
    }

    fn claim_as(mut self, name: String, essential: bool) -> Self {
        match self.claims.iter_mut().find(|(n, _)| *n == name) {
            Some((_, e)) => *e |= essential,
            None => self.claims.push((name, essential)),
        }
        self
    }

    /// Why the app asks (3 to 300 characters, shown to the person). The specification carries a
    /// purpose on each requested claim, so it is sent with every claim this element names; an
    /// element asking for every claim (none named) has nowhere to carry it.
    pub fn purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = Some(purpose.into());
        self
    }

    /// Any other member of `verification` (`evidence`, `verification_process`, ...), sent as
    /// given. `trust_framework`, `assurance_level` and `time` belong to their own methods and
    /// are ignored here.
    pub fn verification_member(mut self, name: impl Into<String>, value: Value) -> Self {
        let name = name.into();
        if !matches!(
            name.as_str(),
            "trust_framework" | "assurance_level" | "time"
        ) {
            self.verification.insert(name, value);
        }
        self
    }

    /// The acceptable trust frameworks; empty: any.
    pub fn trust_frameworks_accepted(&self) -> &[String] {
        &self.trust_framework
    }

    /// The acceptable assurance levels; empty: any.
    pub fn assurance_levels_accepted(&self) -> &[String] {
        &self.assurance_level
    }

    /// The claims asked for by name; empty: every claim verified.
    pub fn claim_names(&self) -> impl Iterator<Item = &str> {
        self.claims.iter().map(|(n, _)| n.as_str())
    }

    /// The element's JSON (OIDC4IDA 6). `time` is always asked for (`null` without a maximum
    /// age), so that the answer says when the verification was done.
    pub fn to_value(&self) -> Value {
        let mut verification = self.verification.clone();
        verification.insert("trust_framework".into(), constraint(&self.trust_framework));
        if !self.assurance_level.is_empty() {
            verification.insert("assurance_level".into(), constraint(&self.assurance_level));
        }
        verification.insert(
            "time".into(),
            match self.max_age {
                Some(seconds) => json!({ "max_age": seconds }),
                None => Value::Null,
            },
        );
        let claims = if self.claims.is_empty() {
            Value::Null
        } else {
            let mut m = Map::new();
            for (name, essential) in &self.claims {
                let mut ask = Map::new();
                if *essential {
                    ask.insert("essential".into(), Value::Bool(true));
                }
                if let Some(p) = &self.purpose {
                    ask.insert("purpose".into(), Value::String(p.clone()));
                }
                m.insert(
                    name.clone(),
                    if ask.is_empty() {
                        Value::Null
                    } else {
                        Value::Object(ask)
                    },
                );
            }
            Value::Object(m)
        };
        json!({ "verification": verification, "claims": claims })
    }

    /// Whether `answer` answers this element, at `now` (Unix seconds): its trust framework and
    /// assurance level are among those asked, it is no older than `max_age`, and it carries
    /// claims, only ones asked for. The first failed rule is returned.
    pub fn answered_by(&self, answer: &VerifiedClaims, now: i64) -> Result<(), Mismatch> {
        let v = &answer.verification;
        if !self.trust_framework.is_empty() && !self.trust_framework.contains(&v.trust_framework) {
            return Err(Mismatch::TrustFramework {
                found: v.trust_framework.clone(),
            });
        }
        if !self.assurance_level.is_empty()
            && !v
                .assurance_level
                .as_ref()
                .is_some_and(|l| self.assurance_level.contains(l))
        {
            return Err(Mismatch::AssuranceLevel {
                found: v.assurance_level.clone(),
            });
        }
        if let Some(max_age) = self.max_age {
            let time = v.time.as_deref().ok_or(Mismatch::NoTime)?;
            let at = parse_rfc3339(time).ok_or_else(|| Mismatch::UnreadableTime(time.into()))?;
            let age = now.saturating_sub(at);
            if age < -FUTURE_SKEW {
                return Err(Mismatch::InTheFuture);
            }
            if age > 0 && age.unsigned_abs() > max_age {
                return Err(Mismatch::TooOld { age, max_age });
            }
        }
        if answer.claims.is_empty() {
            return Err(Mismatch::NoClaims);
        }
        if !self.claims.is_empty()
            && let Some(extra) = answer
                .claims
                .keys()
                .find(|k| !self.claims.iter().any(|(n, _)| n == *k))
        {
            return Err(Mismatch::UnrequestedClaim(extra.clone()));
        }
        Ok(())
    }
}

/// A constrainable element (OIDC4IDA 6.4.1): `null` (any), `{"value"}` or `{"values"}`.
fn constraint(accepted: &[String]) -> Value {
    match accepted {
        [] => Value::Null,
        [one] => json!({ "value": one }),
        many => json!({ "values": many }),
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}
