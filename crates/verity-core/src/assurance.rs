//! OpenID Connect for Identity Assurance 1.0 (SPEC 13, `docs/identity-assurance.md`): which
//! `verified_claims` an app asked for through the `claims` parameter (OIDC Core 5.5), and the
//! answer built from the person's verification cases, bounded by the policies they granted.
//!
//! [`parse`] keeps of a `claims` request only what Verity answers (the `verified_claims` of
//! `id_token` and `userinfo`) as a [`ClaimsRequest`] that travels with the code and the tokens;
//! [`answer`] turns it and the cases into the `verified_claims` member.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::clock::rfc3339;
use crate::identity::{self, Family, IDENTITY, OidcClaim, Policy, UserData};
use crate::verification::{CaseState, Method, is_current};

/// The trust framework of identity verification (NIST SP 800-63A).
pub const NIST: &str = "nist_800_63A";
/// Verity's own trust framework, for group verification.
pub const VERITY: &str = "verity";
/// Request elements taken in one `verified_claims` request.
const MAX_ELEMENTS: usize = 8;

/// What an app asked of identity assurance, in the ID token and in userinfo.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimsRequest {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token: Vec<VerifiedRequest>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub userinfo: Vec<VerifiedRequest>,
}

impl ClaimsRequest {
    pub fn is_empty(&self) -> bool {
        self.id_token.is_empty() && self.userinfo.is_empty()
    }
}

/// One element of a `verified_claims` request: the constraints on `verification`, and the
/// claims wanted (`None`: every claim the case verified).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedRequest {
    /// Accepted trust frameworks (`None`: any).
    #[serde(default)]
    pub trust_framework: Option<Vec<String>>,
    /// Accepted assurance levels (`None`: any).
    #[serde(default)]
    pub assurance_level: Option<Vec<String>>,
    /// The oldest decision accepted, in seconds before now.
    #[serde(default)]
    pub max_age: Option<i64>,
    #[serde(default)]
    pub claims: Option<Vec<String>>,
}

/// OIDC Core 5.5: the `claims` parameter's identity-assurance requests, checked. `Ok(None)`
/// when it asks for no `verified_claims`; `Err` (`invalid_request`) says what is wrong.
pub fn parse(raw: &str) -> Result<Option<ClaimsRequest>, String> {
    let value: Value =
        serde_json::from_str(raw).map_err(|_| "claims is not valid JSON".to_owned())?;
    let Value::Object(top) = value else {
        return Err("claims must be a JSON object".into());
    };
    let mut out = ClaimsRequest::default();
    for (member, slot) in [
        ("id_token", &mut out.id_token),
        ("userinfo", &mut out.userinfo),
    ] {
        match top.get(member) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                if let Some(v) = m.get("verified_claims") {
                    *slot =
                        elements(v).map_err(|e| format!("claims.{member}.verified_claims: {e}"))?;
                }
            }
            Some(_) => return Err(format!("claims.{member} must be an object")),
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

fn elements(v: &Value) -> Result<Vec<VerifiedRequest>, String> {
    let list: Vec<&Value> = match v {
        Value::Object(_) => vec![v],
        Value::Array(a) if !a.is_empty() && a.len() <= MAX_ELEMENTS => a.iter().collect(),
        Value::Array(_) => {
            return Err(format!("an array of 1 to {MAX_ELEMENTS} requests is taken"));
        }
        _ => return Err("must be an object or an array of objects".into()),
    };
    list.into_iter().map(element).collect()
}

fn element(v: &Value) -> Result<VerifiedRequest, String> {
    let Value::Object(m) = v else {
        return Err("each request must be an object".into());
    };
    if let Some(k) = m.keys().find(|k| *k != "verification" && *k != "claims") {
        return Err(format!(
            "{k:?} is not a member of a request (verification, claims)"
        ));
    }
    let Some(Value::Object(verification)) = m.get("verification") else {
        return Err("verification is required and must be an object".into());
    };
    let Some(framework) = verification.get("trust_framework") else {
        return Err("verification.trust_framework is required".into());
    };
    let trust_framework = constraint(framework).map_err(|e| format!("trust_framework {e}"))?;
    let assurance_level = match verification.get("assurance_level") {
        None => None,
        Some(v) => constraint(v).map_err(|e| format!("assurance_level {e}"))?,
    };
    let max_age = match verification.get("time") {
        None | Some(Value::Null) => None,
        Some(Value::Object(t)) => match t.get("max_age") {
            None => None,
            Some(Value::Number(n)) => Some(
                n.as_i64()
                    .filter(|a| *a >= 0)
                    .ok_or("verification.time.max_age must be a non-negative integer")?,
            ),
            Some(_) => {
                return Err("verification.time.max_age must be a non-negative integer".into());
            }
        },
        Some(_) => return Err("verification.time must be an object".into()),
    };
    let claims = match m.get("claims") {
        None => return Err("claims is required".into()),
        Some(Value::Null) => None,
        Some(Value::Object(c)) if c.is_empty() => {
            return Err("claims must name at least one claim".into());
        }
        Some(Value::Object(c)) => {
            for (name, ask) in c {
                individual(ask).map_err(|e| format!("claims.{name}: {e}"))?;
            }
            Some(c.keys().cloned().collect())
        }
        Some(_) => return Err("claims must be an object or null".into()),
    };
    Ok(VerifiedRequest {
        trust_framework,
        assurance_level,
        max_age,
        claims,
    })
}

/// A constrainable element (OIDC4IDA 6.4.1): `null`, `{"value"}`, `{"values"}`, `{"essential"}`.
fn constraint(v: &Value) -> Result<Option<Vec<String>>, &'static str> {
    let m = match v {
        Value::Null => return Ok(None),
        Value::Object(m) => m,
        _ => return Err("must be null or an object"),
    };
    if m.get("essential").is_some_and(|e| !e.is_boolean()) {
        return Err("essential must be true or false");
    }
    purpose(m)?;
    match (m.get("value"), m.get("values")) {
        (Some(_), Some(_)) => Err("takes value or values, not both"),
        (Some(Value::String(s)), None) => Ok(Some(vec![s.clone()])),
        (Some(_), None) => Err("value must be a string"),
        (None, Some(Value::Array(a))) if !a.is_empty() => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or("values must be strings")
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        (None, Some(_)) => Err("values must be a non-empty array of strings"),
        (None, None) => Ok(None),
    }
}

/// One requested claim: `null` or `{"essential", "purpose", ...}` (OIDC Core 5.5.1).
fn individual(v: &Value) -> Result<(), &'static str> {
    match v {
        Value::Null => Ok(()),
        Value::Object(m) => {
            if m.get("essential").is_some_and(|e| !e.is_boolean()) {
                return Err("essential must be true or false");
            }
            purpose(m)
        }
        _ => Err("must be null or an object"),
    }
}

/// OIDC4IDA 6.2: a `purpose` is a string of 3 to 300 characters.
fn purpose(m: &Map<String, Value>) -> Result<(), &'static str> {
    match m.get("purpose") {
        None => Ok(()),
        Some(Value::String(s)) if (3..=300).contains(&s.chars().count()) => Ok(()),
        Some(_) => Err("purpose must be a string of 3 to 300 characters"),
    }
}

/// What [`answer`] reads of a verification case.
#[derive(Debug, Clone, Copy)]
pub struct CaseFacts<'a> {
    pub id: &'a str,
    pub group: &'a str,
    pub method: Method,
    pub state: CaseState,
    pub decided_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub document_type: Option<&'a str>,
    pub subgroups: &'a [String],
    /// What a reviewer read from an identity document (SPEC 8 handles and the document's own).
    pub attributes: &'a BTreeMap<String, String>,
    /// `email_domain`: the address the code went to.
    pub address: Option<&'a str>,
}

/// The `verified_claims` member that answers `requests` from the person's `cases`, for the
/// granted `policies`: one object per current case a request matches and that verified a
/// requested claim the policies release; an array when there are several; `None` when none.
pub fn answer(
    requests: &[VerifiedRequest],
    policies: &[&Policy],
    user: &UserData,
    cases: &[CaseFacts<'_>],
    now: i64,
) -> Option<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut used: Vec<&str> = Vec::new();
    for case in current(cases, policies, now) {
        for req in requests {
            if used.contains(&case.id) {
                break;
            }
            let framework = if case.group == IDENTITY { NIST } else { VERITY };
            let level = assurance_level(&case);
            let decided = case.decided_at.unwrap_or(0);
            if !allows(&req.trust_framework, framework)
                || !allows(&req.assurance_level, level)
                || req.max_age.is_some_and(|age| now - decided > age)
            {
                continue;
            }
            let mut claims = verified(&case, policies, user);
            if let Some(asked) = &req.claims {
                claims.retain(|k, _| asked.contains(k));
            }
            if claims.is_empty() {
                continue;
            }
            let mut verification = json!({
                "trust_framework": framework,
                "assurance_level": level,
                "time": rfc3339(decided),
                "verification_process": case.id,
            });
            if let Some(evidence) = evidence(&case, decided) {
                verification["evidence"] = json!([evidence]);
            }
            out.push(json!({"verification": verification, "claims": claims}));
            used.push(case.id);
        }
    }
    match out.len() {
        0 => None,
        1 => out.pop(),
        _ => Some(Value::Array(out)),
    }
}

/// The latest current case of each group the granted policies cover.
fn current<'a>(cases: &[CaseFacts<'a>], policies: &[&Policy], now: i64) -> Vec<CaseFacts<'a>> {
    let mut out: Vec<CaseFacts<'a>> = Vec::new();
    for c in cases {
        let covered = policies.iter().any(|p| p.needs.group() == Some(c.group));
        if !covered || !is_current(c.state, c.expires_at, now) {
            continue;
        }
        match out.iter_mut().find(|o| o.group == c.group) {
            Some(o) if o.decided_at < c.decided_at => *o = *c,
            Some(_) => {}
            None => out.push(*c),
        }
    }
    out
}

fn allows(constraint: &Option<Vec<String>>, value: &str) -> bool {
    constraint
        .as_ref()
        .is_none_or(|c| c.iter().any(|v| v == value))
}

/// `ial2` for identity; for a group, the method that verified it.
fn assurance_level(case: &CaseFacts<'_>) -> &'static str {
    if case.group == IDENTITY {
        return "ial2";
    }
    match case.method {
        Method::Document => "document",
        Method::EmailDomain => "email_domain",
        Method::Operator => "operator",
        Method::Sandbox => "sandbox",
    }
}

/// The SPEC 8 attributes an identity document verifies; their OIDC claims (`given_name`, ...,
/// `address`) are the catalog's ([`crate::identity::ATTRIBUTES`]).
const VERIFIED_HANDLES: [&str; 9] = [
    "fname",
    "mname",
    "lname",
    "birth_date",
    "street",
    "city",
    "state",
    "zip",
    "country",
];

/// The claims a case verified that the granted policies release: for identity, the names,
/// birth date and address read from the document (an operator's or the sandbox's case: the
/// account's attributes); for a group, `group` and `subgroups`.
fn verified(case: &CaseFacts<'_>, policies: &[&Policy], user: &UserData) -> Map<String, Value> {
    let mut out = Map::new();
    if case.group != IDENTITY {
        out.insert("group".into(), json!(case.group));
        if !case.subgroups.is_empty() {
            out.insert("subgroups".into(), json!(case.subgroups));
        }
        return out;
    }
    let released = |h: &str| policies.iter().any(|p| p.releases.iter().any(|r| r == h));
    let read = |h: &str| -> Option<String> {
        match case.method {
            Method::Document => case.attributes.get(h).cloned(),
            _ => user
                .attributes
                .get(h)
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
        .filter(|v| !v.is_empty() && released(h))
    };
    let pairs: Vec<(String, Value)> = VERIFIED_HANDLES
        .iter()
        .filter_map(|h| read(h).map(|v| ((*h).to_owned(), Value::String(v))))
        .collect();
    identity::claims(Family::Oidc, &pairs)
}

/// The document types on the wire: OIDC4IDA's predefined names where one fits, else Verity's.
pub fn document_type(handle: &str) -> &str {
    match handle {
        "drivers_license" => "driving_permit",
        "state_id" => "idcard",
        other => other,
    }
}

/// The evidence of a case: the document a reviewer inspected, the email domain confirmed by a
/// code, nothing for an assertion. A document number leaves Verity as its last four characters.
fn evidence(case: &CaseFacts<'_>, decided: i64) -> Option<Value> {
    let check = |method: &str| json!({"check_method": method, "organization": VERITY, "check_id": format!("{}-{method}", case.id), "time": rfc3339(decided)});
    match case.method {
        Method::Document => {
            let mut details = Map::new();
            details.insert(
                "type".into(),
                json!(document_type(case.document_type.unwrap_or("other"))),
            );
            let attr = |k: &str| case.attributes.get(k).filter(|v| !v.is_empty());
            if let Some(n) = attr("document_number") {
                let chars: Vec<char> = n.chars().collect();
                let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
                details.insert("document_number".into(), json!(tail));
            }
            if let Some(d) = attr("document_issued") {
                details.insert("date_of_issuance".into(), json!(d));
            }
            if let Some(d) = attr("document_expires") {
                details.insert("date_of_expiry".into(), json!(d));
            }
            if let Some(i) = attr("document_issuer") {
                details.insert("issuer".into(), json!({"name": i}));
            }
            let mut checks = vec![check("vri")];
            if case.group == IDENTITY {
                checks.push(check("pvr"));
            }
            Some(json!({"type": "document", "check_details": checks, "document_details": details}))
        }
        Method::EmailDomain => {
            let domain = case
                .address
                .and_then(|a| a.rsplit_once('@'))
                .map(|(_, d)| d)?;
            Some(json!({
                "type": "electronic_record",
                "check_details": [{"check_method": "token", "time": rfc3339(decided)}],
                "record": {"type": "email_domain", "source": {"name": domain}},
            }))
        }
        Method::Operator | Method::Sandbox => None,
    }
}

/// Discovery metadata of SPEC 13 (OIDC4IDA 8): the trust frameworks of answers.
pub const TRUST_FRAMEWORKS: [&str; 2] = [NIST, VERITY];
/// The evidence types answers hold.
pub const EVIDENCE: [&str; 2] = ["document", "electronic_record"];
/// How documents are checked: a reviewer inspects the document's image (`vri`) and, for
/// identity, compares the selfie with its portrait (`pvr`).
pub const CHECK_METHODS: [&str; 2] = ["vri", "pvr"];
/// The electronic records answers hold.
pub const ELECTRONIC_RECORDS: [&str; 1] = ["email_domain"];

/// The document types answers may name, as on the wire.
pub fn documents_supported() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for g in crate::identity::GROUPS {
        for (handle, _) in crate::evidence::document_types(g.handle) {
            let t = document_type(handle);
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    // A case whose document type is unknown is answered as `other`.
    if !out.contains(&"other") {
        out.push("other");
    }
    out
}

/// The claims a `verified_claims` answer may hold.
pub fn claims_in_verified_claims() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for h in VERIFIED_HANDLES {
        let claim = match identity::attribute(h).map(|a| a.oidc) {
            Some(OidcClaim::Claim(name)) => name,
            Some(OidcClaim::Address(_)) => "address",
            None => continue,
        };
        if !out.contains(&claim) {
            out.push(claim);
        }
    }
    out.extend(["group", "subgroups"]);
    out
}

#[cfg(test)]
mod tests;
