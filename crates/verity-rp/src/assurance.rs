//! Identity assurance in the reference app: what it asks for when `VERITY_RP_VERIFIED_CLAIMS` is
//! set, and the `verified_claims` it kept, told in words for the profile page ("Given name:
//! verified from a driver's license issued by Virginia (number ending 5678, expires 12 April
//! 2031), on 6 December 2026").

use serde::Serialize;
use serde_json::Value;
use verity_client::assurance::{
    CivilDate, ClaimsRequest, Evidence, VerifiedClaims, VerifiedClaimsRequest,
};

/// NIST SP 800-63A: the trust framework of identity verification.
const NIST: &str = "nist_800_63A";
/// Verity's own trust framework, for group membership.
const VERITY: &str = "verity";

/// What the app asks of userinfo: the identity's name and birth date under NIST SP 800-63A, and
/// group membership under Verity's rules. One element per trust framework, so the provider
/// answers each on its own.
pub fn claims_request() -> ClaimsRequest {
    ClaimsRequest::new()
        .userinfo(
            VerifiedClaimsRequest::new()
                .trust_framework(NIST)
                .claim("given_name")
                .claim("family_name")
                .claim("birthdate")
                .purpose("To fill in your profile with verified details"),
        )
        .userinfo(
            VerifiedClaimsRequest::new()
                .trust_framework(VERITY)
                .claim("group")
                .claim("subgroups")
                .purpose("To confirm the groups you belong to"),
        )
}

/// One heading of "How this was verified": the identity, or group membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    pub heading: &'static str,
    /// The standard and checks, when every row shares them (said once, not on each row).
    pub standard: String,
    pub rows: Vec<Row>,
}

/// One attribute or group and how it was verified, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// "Given name", "Military (Veteran)".
    pub label: String,
    /// The verified value ("Jordan"); empty for a group.
    pub value: String,
    /// "verified from a DD-214 on 6 December 2026".
    pub how: String,
    /// "NIST SP 800-63A, level IAL2. Checks: a reviewer inspected images of the document.";
    /// empty when the section says it for every row.
    pub standard: String,
}

/// The kept answers as the profile page shows them; `today` says whether a document has expired.
pub fn describe(answers: &[VerifiedClaims], today: CivilDate) -> Vec<Section> {
    let mut identity = Vec::new();
    let mut groups = Vec::new();
    for answer in answers {
        let how = how_verified(answer, today);
        let standard = standard(answer);
        if answer.verification.trust_framework == VERITY {
            groups.push(Row {
                label: group_label(answer),
                value: String::new(),
                how,
                standard,
            });
            continue;
        }
        let mut claims: Vec<_> = answer.claims.iter().collect();
        claims.sort_by_key(|(name, _)| claim_rank(name));
        for (name, value) in claims {
            identity.push(Row {
                label: claim_label(name),
                value: claim_value(name, value),
                how: how.clone(),
                standard: standard.clone(),
            });
        }
    }
    [("Identity", identity), ("Group membership", groups)]
        .into_iter()
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(heading, mut rows)| {
            let shared = rows.windows(2).all(|w| w[0].standard == w[1].standard);
            let standard = if shared && rows.len() > 1 {
                let standard = rows[0].standard.clone();
                rows.iter_mut().for_each(|r| r.standard.clear());
                standard
            } else {
                String::new()
            };
            Section {
                heading,
                standard,
                rows,
            }
        })
        .collect()
}

/// Names first, then the birth date and the address, then anything else (by name).
fn claim_rank(name: &str) -> (usize, &str) {
    const ORDER: [&str; 6] = [
        "given_name",
        "middle_name",
        "family_name",
        "birthdate",
        "place_of_birth",
        "address",
    ];
    (
        ORDER.iter().position(|n| *n == name).unwrap_or(ORDER.len()),
        name,
    )
}

/// "6 December 2026".
pub fn date_words(date: CivilDate) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = usize::try_from(date.month)
        .ok()
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("?");
    format!("{} {month} {}", date.day, date.year)
}

/// "6 December 2026" for a Unix time.
pub fn unix_date_words(unix: i64) -> String {
    date_words(CivilDate::of_unix(unix))
}

/// A moment as a page shows it: `<time datetime="{{ m.datetime }}">{{ m.words }}</time>`, the
/// day in words for the reader and the exact UTC moment (ISO 8601) for machines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moment {
    /// "2026-12-06T08:22:38Z".
    pub datetime: String,
    /// "6 December 2026".
    pub words: String,
}

impl Moment {
    /// The UTC day of `unix` in words; `/static/local-time.js` says it again in the reader's
    /// time zone and language when the browser runs scripts.
    pub fn day(unix: i64) -> Self {
        let date = CivilDate::of_unix(unix);
        let second = unix.rem_euclid(86_400);
        Moment {
            datetime: format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                date.year,
                date.month,
                date.day,
                second / 3600,
                second % 3600 / 60,
                second % 60
            ),
            words: date_words(date),
        }
    }
}

/// The sentence after the attribute: the evidence, then the date of the verification.
fn how_verified(answer: &VerifiedClaims, today: CivilDate) -> String {
    let v = &answer.verification;
    let date = v.time_unix().map(unix_date_words);
    let evidence: Vec<String> = v
        .evidence
        .iter()
        .map(|e| evidence_words(e, today))
        .collect();
    let mut how = if evidence.is_empty() {
        match v.assurance_level.as_deref() {
            Some("operator") => "confirmed by the provider's staff".to_owned(),
            Some("sandbox") => "asserted by the sandbox (test data, no evidence)".to_owned(),
            _ => "verified by the provider (no evidence shared)".to_owned(),
        }
    } else {
        evidence.join(" and ")
    };
    if let Some(date) = date {
        // "(number ending 5678, ...), on 6 December" reads better with the comma.
        let comma = if !evidence.is_empty() && how.ends_with(')') {
            ","
        } else {
            ""
        };
        how = format!("{how}{comma} on {date}");
    }
    how
}

/// One piece of evidence in words.
fn evidence_words(e: &Evidence, today: CivilDate) -> String {
    match e.kind.as_str() {
        "document" => {
            let Some(doc) = &e.document_details else {
                return "verified from a document".to_owned();
            };
            let name = document_name(&doc.kind);
            let mut out = format!("verified from {} {name}", article(&name));
            if let Some(issuer) = doc.issuer.as_ref().and_then(|i| {
                i.name
                    .clone()
                    .or_else(|| i.jurisdiction.clone())
                    .or_else(|| i.country.clone())
            }) {
                out.push_str(&format!(" issued by {issuer}"));
            }
            let mut details = Vec::new();
            if let Some(number) = doc.document_number.as_deref().filter(|n| !n.is_empty()) {
                // Whatever the provider sent, the page shows no more than the last four.
                let chars: Vec<char> = number.chars().collect();
                let last4: String = chars[chars.len().saturating_sub(4)..].iter().collect();
                details.push(format!("number ending {last4}"));
            }
            if let Some(issued) = doc.issued_on() {
                details.push(format!("issued {}", date_words(issued)));
            }
            if let Some(expiry) = doc.expires_on() {
                let verb = if expiry < today { "expired" } else { "expires" };
                details.push(format!("{verb} {}", date_words(expiry)));
            }
            if !details.is_empty() {
                out.push_str(&format!(" ({})", details.join(", ")));
            }
            out
        }
        "electronic_record" => {
            let record = e.record.as_ref();
            let source = record
                .and_then(|r| r.source.as_ref())
                .and_then(|s| s.name.clone());
            match (record.map(|r| r.kind.as_str()), source) {
                (Some("email_domain"), Some(domain)) => format!("confirmed by email at {domain}"),
                (Some("email_domain"), None) => "confirmed by email".to_owned(),
                (kind, source) => {
                    let kind = kind.map(words).unwrap_or_else(|| "electronic".into());
                    let from = source.map(|s| format!(" held by {s}")).unwrap_or_default();
                    format!("verified from {} {kind} record{from}", article(&kind))
                }
            }
        }
        "vouch" => match e
            .other
            .get("attestation")
            .and_then(|a| a.pointer("/voucher/name"))
            .and_then(Value::as_str)
        {
            Some(name) => format!("vouched for by {name}"),
            None => "vouched for by someone who knows you".to_owned(),
        },
        "electronic_signature" => "verified by an electronic signature".to_owned(),
        other => format!("verified from evidence of type {}", words(other)),
    }
}

/// The standard followed and the checks done, for the row's detail line.
fn standard(answer: &VerifiedClaims) -> String {
    let v = &answer.verification;
    let framework = match v.trust_framework.as_str() {
        NIST => "NIST SP 800-63A".to_owned(),
        VERITY => "Verity's group verification".to_owned(),
        other => other.to_owned(),
    };
    let mut out = match v.assurance_level.as_deref() {
        Some(level) if v.trust_framework == VERITY => {
            format!("{framework} ({})", method_words(level))
        }
        Some(level) => format!("{framework}, level {}", level.to_uppercase()),
        None => framework,
    };
    let checks: Vec<&str> = v
        .evidence
        .iter()
        .flat_map(|e| &e.check_details)
        .filter_map(|c| check_words(&c.check_method))
        .collect();
    if !checks.is_empty() {
        out.push_str(". Checks: ");
        out.push_str(&checks.join("; "));
    }
    out.push('.');
    out
}

fn method_words(method: &str) -> String {
    match method {
        "document" => "a reviewed document".into(),
        "email_domain" => "a code sent to a work or school address".into(),
        "operator" => "confirmed by staff".into(),
        "sandbox" => "sandbox test data".into(),
        other => words(other),
    }
}

/// OIDC4IDA's predefined check methods, in words.
fn check_words(method: &str) -> Option<&'static str> {
    Some(match method {
        "vri" => "a reviewer inspected images of the document",
        "pvr" => "a reviewer compared a selfie with the document's photo",
        "vpip" => "the document was inspected in person",
        "vpiruv" => "the document was inspected in person, under ultraviolet light",
        "vdig" => "the document's chip was read",
        "vcrypt" => "the document's digital signature was checked",
        "pvp" => "the person was compared with the document's photo in person",
        "bvr" => "a biometric match was made remotely",
        "bvp" => "a biometric match was made in person",
        "data" => "the record was read at its source",
        "token" => "a code sent there was entered",
        "kbv" => "questions only the person could answer were answered",
        "auth" => "the person signed in to the record's holder",
        _ => return None,
    })
}

/// A document type as people say it. Verity's own handles first, then the specification's.
fn document_name(kind: &str) -> String {
    match kind {
        "driving_permit" => "driver's license".into(),
        "passport" => "passport".into(),
        "idcard" => "state ID card".into(),
        "residence_permit" => "residence permit".into(),
        "dd214" => "DD-214".into(),
        "military_id" => "military ID".into(),
        "va_card" => "VA ID card".into(),
        "student_id" => "student ID".into(),
        "enrollment_letter" => "enrollment letter".into(),
        "transcript" => "transcript".into(),
        "employee_id" => "employee ID".into(),
        "license" => "professional license".into(),
        "employment_letter" => "employment letter".into(),
        "other" | "" => "document".into(),
        other => words(other),
    }
}

/// "Military (Veteran)".
fn group_label(answer: &VerifiedClaims) -> String {
    let group = answer
        .text("group")
        .map(words)
        .unwrap_or_else(|| "A group".into());
    let subgroups: Vec<&str> = answer
        .claims
        .get("subgroups")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let group = capitalized(&group);
    if subgroups.is_empty() {
        group
    } else {
        format!("{group} ({})", subgroups.join(", "))
    }
}

fn claim_label(name: &str) -> String {
    match name {
        "given_name" => "Given name".into(),
        "middle_name" => "Middle name".into(),
        "family_name" => "Family name".into(),
        "birthdate" => "Date of birth".into(),
        "address" => "Address".into(),
        "place_of_birth" => "Place of birth".into(),
        "nationalities" => "Nationalities".into(),
        other => capitalized(&words(other)),
    }
}

/// A claim's value as text: dates in words, an address on one line.
fn claim_value(name: &str, value: &Value) -> String {
    match value {
        Value::String(s) if name == "birthdate" => CivilDate::parse(s)
            .map(date_words)
            .unwrap_or_else(|| s.clone()),
        Value::String(s) => s.clone(),
        Value::Object(m) => {
            let parts = [
                "formatted",
                "street_address",
                "locality",
                "region",
                "postal_code",
                "country",
            ];
            if let Some(f) = m.get("formatted").and_then(Value::as_str) {
                return f.to_owned();
            }
            parts
                .iter()
                .filter_map(|k| m.get(*k).and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(", ")
        }
        Value::Array(a) => a
            .iter()
            .map(|v| claim_value("", v))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `email_domain` -> "email domain".
fn words(handle: &str) -> String {
    handle.replace('_', " ")
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn article(noun: &str) -> &'static str {
    match noun.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use verity_client::assurance::parse_rfc3339;

    use super::*;

    fn veteran() -> Vec<VerifiedClaims> {
        serde_json::from_value(json!([
            {"verification": {
                "trust_framework": "nist_800_63A", "assurance_level": "ial2",
                "time": "2026-12-06T01:57:03Z", "verification_process": "c1",
                "evidence": [{"type": "document",
                    "check_details": [
                        {"check_method": "vri", "organization": "verity", "txn": "c1", "time": "2026-12-06T01:57:03Z"},
                        {"check_method": "pvr", "organization": "verity", "txn": "c1", "time": "2026-12-06T01:57:03Z"}],
                    "document_details": {"type": "driving_permit", "document_number": "5678",
                        "date_of_expiry": "2031-04-12", "issuer": {"name": "Virginia"}}}]},
             "claims": {"given_name": "Jordan", "family_name": "Rivera", "birthdate": "1978-04-12"}},
            {"verification": {
                "trust_framework": "verity", "assurance_level": "document",
                "time": "2026-12-06T01:57:03Z",
                "evidence": [{"type": "document", "check_details": [{"check_method": "vri"}],
                    "document_details": {"type": "dd214"}}]},
             "claims": {"group": "military", "subgroups": ["Veteran"]}},
            {"verification": {
                "trust_framework": "verity", "assurance_level": "email_domain",
                "time": "2026-12-07T10:00:00Z",
                "evidence": [{"type": "electronic_record",
                    "check_details": [{"check_method": "token", "time": "2026-12-07T10:00:00Z"}],
                    "record": {"type": "email_domain", "source": {"name": "va.gov"}}}]},
             "claims": {"group": "government"}},
            {"verification": {"trust_framework": "verity", "assurance_level": "sandbox",
                              "time": "2026-12-06T01:57:03Z"},
             "claims": {"group": "student"}}
        ]))
        .unwrap()
    }

    #[test]
    fn the_veteran_reads_in_words() {
        let today = CivilDate::of_unix(parse_rfc3339("2027-01-01T00:00:00Z").unwrap());
        let sections = describe(&veteran(), today);
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].heading, "Identity");
        let labels: Vec<_> = sections[0].rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["Given name", "Family name", "Date of birth"]);
        let given = &sections[0].rows[0];
        assert_eq!(given.value, "Jordan");
        assert_eq!(
            given.how,
            "verified from a driver's license issued by Virginia (number ending 5678, expires 12 April 2031), on 6 December 2026"
        );
        assert_eq!(
            sections[0].standard,
            "NIST SP 800-63A, level IAL2. Checks: a reviewer inspected images of the document; a reviewer compared a selfie with the document's photo."
        );
        assert_eq!(given.standard, "", "said once for the section");
        assert_eq!(
            sections[1].rows[0].standard,
            "Verity's group verification (a reviewed document). Checks: a reviewer inspected images of the document."
        );
        let birth = sections[0]
            .rows
            .iter()
            .find(|r| r.label == "Date of birth")
            .unwrap();
        assert_eq!(birth.value, "12 April 1978");
        let groups: Vec<_> = sections[1]
            .rows
            .iter()
            .map(|r| (r.label.as_str(), r.how.as_str()))
            .collect();
        assert_eq!(
            groups,
            [
                (
                    "Military (Veteran)",
                    "verified from a DD-214 on 6 December 2026"
                ),
                (
                    "Government",
                    "confirmed by email at va.gov on 7 December 2026"
                ),
                (
                    "Student",
                    "asserted by the sandbox (test data, no evidence) on 6 December 2026"
                ),
            ]
        );
        // No Unix timestamps anywhere.
        let text = serde_json::to_string(&sections).unwrap();
        assert!(!text.contains("1796"), "{text}");

        let later = CivilDate::parse("2031-04-13").unwrap();
        assert!(
            describe(&veteran(), later)[0].rows[0]
                .how
                .contains("expired 12 April 2031")
        );
    }

    #[test]
    fn a_moment_reads_as_a_day_in_words_with_its_exact_time_for_machines() {
        // 2026-12-06T08:22:38Z.
        let m = Moment::day(1_796_545_358);
        assert_eq!(m.words, "6 December 2026");
        assert_eq!(m.datetime, "2026-12-06T08:22:38Z");
        assert_eq!(Moment::day(0).datetime, "1970-01-01T00:00:00Z");
    }

    #[test]
    fn a_full_document_number_shows_only_its_last_four() {
        let mut answers = veteran();
        if let Some(doc) = answers[0].verification.evidence[0]
            .document_details
            .as_mut()
        {
            doc.document_number = Some("I1234568".into());
        }
        let sections = describe(&answers[..1], CivilDate::parse("2027-01-01").unwrap());
        assert!(sections[0].rows[0].how.contains("number ending 4568"));
        assert!(
            !serde_json::to_string(&sections)
                .unwrap()
                .contains("I1234568")
        );
    }

    #[test]
    fn the_request_asks_one_element_per_framework() {
        let value = claims_request().to_value();
        let elements = value["userinfo"]["verified_claims"].as_array().unwrap();
        assert_eq!(elements.len(), 2);
        assert_eq!(
            elements[0]["verification"]["trust_framework"],
            json!({"value": "nist_800_63A"})
        );
        assert_eq!(
            elements[1]["claims"]["group"]["purpose"],
            "To confirm the groups you belong to"
        );
    }
}
