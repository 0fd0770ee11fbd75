//! The `verified_claims` answer (OIDC4IDA 5): typed where an app reads it, every other member
//! kept as it came (`other`), so an answer serializes back to what the provider sent.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::time::{CivilDate, parse_rfc3339};

/// One `verified_claims` object: claims and how they were verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifiedClaims {
    pub verification: Verification,
    /// The verified claims by name, as sent: `given_name`, `birthdate`, `address` (an object),
    /// or Verity's `group` and `subgroups`.
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// Members this library does not know.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl VerifiedClaims {
    /// A claim as text, when it is a string.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// `verification`: the rules followed, when, and on what evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// The rules followed (`nist_800_63A`, Verity's `verity` for groups, `eidas`, ...).
    pub trust_framework: String,
    /// The level reached under those rules (`ial2`; for Verity's groups, the method).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assurance_level: Option<String>,
    /// When the verification was done, RFC 3339: see [`Verification::time_unix`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The provider's reference for the verification (Verity: the case id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_process: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// `assurance_process` and any member this library does not know.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Verification {
    /// `time` in Unix seconds; `None` when absent or not RFC 3339.
    pub fn time_unix(&self) -> Option<i64> {
        self.time.as_deref().and_then(parse_rfc3339)
    }
}

/// One piece of evidence. Its `type` says which members follow: `document` ([`DocumentDetails`]),
/// `electronic_record` ([`Record`]), `vouch` and `electronic_signature` (kept in `other`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(rename = "type")]
    pub kind: String,
    /// The checks done on the evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_details: Vec<CheckDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_details: Option<DocumentDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
    /// `attestation`, `attachments`, `derived_claims`, a signature's members, ...
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Evidence {
    /// The check of `check_method` (`vri`, `pvr`, `token`, ...), if it was done.
    pub fn check(&self, check_method: &str) -> Option<&CheckDetails> {
        self.check_details
            .iter()
            .find(|c| c.check_method == check_method)
    }
}

/// One check done on a piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckDetails {
    /// What was checked and how (OIDC4IDA predefined values: `vri` a document's images were
    /// inspected, `pvr` the person was compared with its portrait, `token` a code was returned,
    /// `data` a record was read, ...).
    pub check_method: String,
    /// Who did the check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// The checker's reference for the check (the specification's `check_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_id: Option<String>,
    /// The checker's reference for the check, under the name of earlier drafts (Verity's case id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txn: Option<String>,
    /// When, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl CheckDetails {
    /// `time` in Unix seconds; `None` when absent or not RFC 3339.
    pub fn time_unix(&self) -> Option<i64> {
        self.time.as_deref().and_then(parse_rfc3339)
    }
}

/// `document_details`: the document shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentDetails {
    /// `passport`, `driving_permit`, `idcard`, or a provider's own handle (Verity: `dd214`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The document's number; Verity sends only its last four characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// `YYYY-MM-DD`: see [`DocumentDetails::issued_on`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_issuance: Option<String>,
    /// `YYYY-MM-DD`: see [`DocumentDetails::expires_on`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_expiry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Issuer>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl DocumentDetails {
    pub fn issued_on(&self) -> Option<CivilDate> {
        self.date_of_issuance.as_deref().and_then(CivilDate::parse)
    }

    pub fn expires_on(&self) -> Option<CivilDate> {
        self.date_of_expiry.as_deref().and_then(CivilDate::parse)
    }
}

/// Who issued a document, or the source of a record: a name and where it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Issuer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// ISO 3166 alpha-2 or alpha-3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// A state or province within the country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
    /// The address members (`formatted`, `street_address`, `locality`, ...).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `record`: an electronic record read (Verity: the email domain a code was sent to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `population_register`, `bank_account`, Verity's `email_domain`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Who holds the record (Verity: `name` is the email domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Issuer>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_expiry: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}
