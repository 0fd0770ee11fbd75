//! OpenID Connect for Identity Assurance 1.0 (OIDC4IDA): asking *how* a person was verified,
//! reading the `verified_claims` answer, and checking that it answers what was asked.
//!
//! - [`request`]: [`ClaimsRequest`] (the `claims` parameter of OIDC Core 5.5) holding
//!   [`VerifiedClaimsRequest`] elements, and [`VerifiedClaimsRequest::answered_by`].
//! - [`response`]: [`VerifiedClaims`] and its parts, typed where an app reads them and keeping
//!   every other member, so an answer serializes back to what was sent.
//! - [`time`]: RFC 3339 date-times and calendar dates, as the answers carry them.
//!
//! The usual path: put a [`ClaimsRequest`] on the authorization request, then after
//! [`crate::Client::complete`] call [`ClaimsRequest::answers`], which reads `verified_claims`
//! from userinfo and the ID token and keeps the answers that match an element asked of them.
//! What the provider may leave out (an essential claim, a whole element) is its choice under
//! OIDC Core 5.5.1; what it must not do (another trust framework, an older verification than
//! `max_age`, claims not asked for) is refused here.

pub mod request;
pub mod response;
pub mod time;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

pub use request::{ClaimsRequest, Mismatch, VerifiedClaimsRequest};
pub use response::{
    CheckDetails, DocumentDetails, Evidence, Issuer, Record, Verification, VerifiedClaims,
};
pub use time::{CivilDate, parse_rfc3339};

use crate::verified::Verified;

/// The `verified_claims` member is not the specification's shape.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssuranceError {
    #[error("verified_claims is malformed")]
    Malformed(#[source] serde_json::Error),
}

/// Reads `verified_claims` out of an ID token's or userinfo's claims: one object or an array of
/// them. Absent (or `null`): no answers.
pub fn read_verified_claims(
    claims: &Map<String, Value>,
) -> Result<Vec<VerifiedClaims>, AssuranceError> {
    match claims.get("verified_claims") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(VerifiedClaims::deserialize_value)
            .collect(),
        Some(v) => Ok(vec![VerifiedClaims::deserialize_value(v)?]),
    }
}

impl VerifiedClaims {
    fn deserialize_value(v: &Value) -> Result<Self, AssuranceError> {
        serde::Deserialize::deserialize(v).map_err(AssuranceError::Malformed)
    }
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    IdToken,
    UserInfo,
}

/// An answer that matched no element asked of its source, and why it did not match the closest
/// one (the first element of the same trust framework, else the first element).
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub source: Source,
    pub answer: VerifiedClaims,
    pub mismatch: Mismatch,
}

/// The answers kept, and those refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers {
    pub kept: Vec<VerifiedClaims>,
    pub refused: Vec<Refused>,
}

/// Splits `answers` into those that answer at least one of `elements` at `now`, and the others.
/// With no elements nothing was asked, and every answer is refused as [`Mismatch::NotAsked`].
pub fn keep_answered(
    elements: &[VerifiedClaimsRequest],
    answers: Vec<VerifiedClaims>,
    source: Source,
    now: i64,
) -> Answers {
    let mut out = Answers::default();
    for answer in answers {
        let results: Vec<_> = elements
            .iter()
            .map(|e| (e, e.answered_by(&answer, now)))
            .collect();
        if results.iter().any(|(_, r)| r.is_ok()) {
            out.kept.push(answer);
            continue;
        }
        let closest = results
            .iter()
            .find(|(e, _)| {
                e.trust_frameworks_accepted()
                    .contains(&answer.verification.trust_framework)
            })
            .or(results.first());
        let mismatch = match closest {
            Some((_, Err(m))) => m.clone(),
            _ => Mismatch::NotAsked,
        };
        out.refused.push(Refused {
            source,
            answer,
            mismatch,
        });
    }
    out
}

impl ClaimsRequest {
    /// The `verified_claims` of a completed sign-in that answer this request at `now`: those of
    /// userinfo checked against the elements asked of userinfo, then those of the ID token
    /// against the ID token's (an ID-token answer equal to a kept userinfo one is not repeated).
    pub fn answers(&self, verified: &Verified, now: i64) -> Result<Answers, AssuranceError> {
        let mut out = keep_answered(
            self.userinfo_elements(),
            read_verified_claims(&verified.userinfo.claims)?,
            Source::UserInfo,
            now,
        );
        let from_token = keep_answered(
            self.id_token_elements(),
            read_verified_claims(&verified.id_token.claims)?,
            Source::IdToken,
            now,
        );
        for answer in from_token.kept {
            if !out.kept.contains(&answer) {
                out.kept.push(answer);
            }
        }
        out.refused.extend(from_token.refused);
        Ok(out)
    }
}
