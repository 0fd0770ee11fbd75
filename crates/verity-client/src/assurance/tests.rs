//! The types against the specification's own examples and JSON schemas (`fixtures/ida`, copied
//! unchanged from the OpenID Foundation), and the checks of an answer against its request.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;
use crate::authorize::AuthorizationRequest;

const SCHEMA_BASE: &str = "https://bitbucket.org/openid/ekyc-ida/raw/master/schema/";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ida")
}

fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The JSON files of `fixtures/ida/examples/{kind}`, sorted by name.
fn examples(kind: &str) -> Vec<(String, Value)> {
    let dir = fixtures().join("examples").join(kind);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                read_json(&p),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() > 10, "examples of {kind} are missing");
    out
}

/// A validator for one of the three schemas, the others registered under their `$id` so the
/// cross-file references resolve without a network.
fn validator(schema: &str) -> jsonschema::Validator {
    let mut registry = jsonschema::Registry::new();
    for name in [
        "claims_schema.json",
        "verified_claims.json",
        "verified_claims_request.json",
    ] {
        let doc = read_json(&fixtures().join(name));
        assert_eq!(doc["$id"], format!("{SCHEMA_BASE}{name}"));
        registry = registry.add(format!("{SCHEMA_BASE}{name}"), doc).unwrap();
    }
    let registry = registry.prepare().unwrap();
    jsonschema::options()
        .with_registry(&registry)
        .build(&read_json(&fixtures().join(schema)))
        .unwrap()
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn every_example_answer_reads_and_serializes_back_unchanged() {
    let mut answers = 0;
    for (name, example) in examples("response") {
        let claims = example.as_object().unwrap();
        let read = read_verified_claims(claims).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let back = match &claims.get("verified_claims") {
            None => {
                assert!(read.is_empty(), "{name}");
                continue;
            }
            Some(Value::Array(_)) => serde_json::to_value(&read).unwrap(),
            Some(_) => {
                assert_eq!(read.len(), 1, "{name}");
                serde_json::to_value(&read[0]).unwrap()
            }
        };
        assert_eq!(
            &back, &claims["verified_claims"],
            "{name}: fields lost or changed"
        );
        answers += read.len();
    }
    assert!(answers >= 25, "only {answers} answers read");
}

#[test]
fn the_typed_members_hold_what_the_examples_say() {
    let example = read_json(&fixtures().join("examples/response/document_800_63A.json"));
    let read = read_verified_claims(example.as_object().unwrap()).unwrap();
    let v = &read[0].verification;
    assert_eq!(v.trust_framework, "nist_800_63A");
    assert_eq!(v.assurance_level.as_deref(), Some("ial2"));
    assert_eq!(v.time_unix(), parse_rfc3339("2021-06-06T05:32:00Z"));
    assert!(v.other.contains_key("assurance_process"));
    let evidence = &v.evidence[0];
    assert_eq!(evidence.kind, "document");
    assert_eq!(
        evidence.check("vpiruv").unwrap().organization.as_deref(),
        Some("doc_checker")
    );
    assert_eq!(
        evidence.check("pvp").unwrap().check_id.as_deref(),
        Some("v-93jfk284ugjfj2093")
    );
    let doc = evidence.document_details.as_ref().unwrap();
    assert_eq!(doc.kind, "driving_permit");
    assert_eq!(doc.document_number.as_deref(), Some("I1234568"));
    assert_eq!(
        doc.issued_on().map(|d| d.to_string()).as_deref(),
        Some("2019-09-05")
    );
    assert_eq!(doc.expires_on().map(|d| d.year), Some(2024));
    let issuer = doc.issuer.as_ref().unwrap();
    assert_eq!(issuer.name.as_deref(), Some("CA DMV"));
    assert_eq!(issuer.country_code.as_deref(), Some("USA"));
    assert_eq!(issuer.jurisdiction.as_deref(), Some("CA"));
    assert_eq!(read[0].text("given_name"), Some("Inga"));

    let example = read_json(&fixtures().join("examples/response/electronic_record.json"));
    let read = read_verified_claims(example.as_object().unwrap()).unwrap();
    let record = read[0].verification.evidence[0].record.as_ref().unwrap();
    assert_eq!(record.kind, "population_register");
    assert_eq!(
        record.source.as_ref().unwrap().name.as_deref(),
        Some("Skatteverket")
    );
    assert!(
        read[0].verification.evidence[0]
            .other
            .contains_key("derived_claims")
    );
}

/// Verity's answer for the sandbox veteran, as docs/identity-assurance.md describes it.
fn veteran_answer() -> Value {
    json!([
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
            "time": "2026-12-06T01:57:03Z", "verification_process": "c2",
            "evidence": [{"type": "document",
                "check_details": [{"check_method": "vri", "organization": "verity", "txn": "c2", "time": "2026-12-06T01:57:03Z"}],
                "document_details": {"type": "dd214"}}]},
         "claims": {"group": "military", "subgroups": ["Veteran"]}},
        {"verification": {
            "trust_framework": "verity", "assurance_level": "email_domain",
            "time": "2026-12-06T01:57:03Z", "verification_process": "c3",
            "evidence": [{"type": "electronic_record",
                "check_details": [{"check_method": "token", "time": "2026-12-06T01:57:03Z"}],
                "record": {"type": "email_domain", "source": {"name": "va.gov"}}}]},
         "claims": {"group": "government"}}
    ])
}

fn decided() -> i64 {
    parse_rfc3339("2026-12-06T01:57:03Z").unwrap()
}

#[test]
fn verity_answers_validate_against_the_schema_and_read() {
    let answer = json!({"sub": "s", "verified_claims": veteran_answer()});
    let schema = validator("verified_claims.json");
    assert_eq!(errors(&schema, &answer), Vec::<String>::new());
    let read = read_verified_claims(answer.as_object().unwrap()).unwrap();
    assert_eq!(read.len(), 3);
    assert_eq!(serde_json::to_value(&read).unwrap(), veteran_answer());
    assert_eq!(
        read[0].verification.evidence[0]
            .check("vri")
            .unwrap()
            .txn
            .as_deref(),
        Some("c1")
    );
    // Malformed: a claims set that is not an object.
    let bad = json!({"verified_claims": {"verification": {"trust_framework": "x"}, "claims": 3}});
    assert!(matches!(
        read_verified_claims(bad.as_object().unwrap()),
        Err(AssuranceError::Malformed(_))
    ));
    let none = json!({"verified_claims": null});
    assert!(
        read_verified_claims(none.as_object().unwrap())
            .unwrap()
            .is_empty()
    );
}

/// What the reference app asks for: identity and group membership, one element each.
fn reference_app_request() -> ClaimsRequest {
    ClaimsRequest::new()
        .userinfo(
            VerifiedClaimsRequest::new()
                .trust_framework("nist_800_63A")
                .assurance_level("ial2")
                .claim("given_name")
                .claim("family_name")
                .claim("birthdate"),
        )
        .userinfo(
            VerifiedClaimsRequest::new()
                .trust_framework("verity")
                .claim("group")
                .claim("subgroups"),
        )
}

#[test]
fn built_requests_validate_against_the_request_schema() {
    let schema = validator("verified_claims_request.json");
    let requests = [
        ClaimsRequest::new().userinfo(VerifiedClaimsRequest::new()),
        ClaimsRequest::new().id_token(
            VerifiedClaimsRequest::new()
                .trust_frameworks(["nist_800_63A", "eidas"])
                .assurance_levels(["ial2", "high"])
                .max_age(63_113_852)
                .claim("given_name")
                .essential_claim("family_name")
                .purpose("To open your account")
                .verification_member("verification_process", Value::Null)
                .verification_member(
                    "evidence",
                    json!([{"type": {"value": "document"}, "document_details": {"type": null}}]),
                ),
        ),
        reference_app_request(),
        reference_app_request().id_token(VerifiedClaimsRequest::new().trust_framework("verity")),
    ];
    for request in &requests {
        let value = request.to_value();
        assert_eq!(errors(&schema, &value), Vec::<String>::new(), "{value}");
        // Serialize gives the same JSON.
        assert_eq!(serde_json::to_value(request).unwrap(), value);
    }
    // The schema is not a rubber stamp: an empty claims object and a missing trust framework fail.
    for bad in [
        json!({"userinfo": {"verified_claims": {"verification": {"trust_framework": null}, "claims": {}}}}),
        json!({"userinfo": {"verified_claims": {"verification": {}, "claims": null}}}),
    ] {
        assert!(!errors(&schema, &bad).is_empty(), "{bad}");
    }
    // The specification's own example requests pass the same validator.
    for (name, example) in examples("request") {
        assert_eq!(errors(&schema, &example), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn the_builder_writes_the_wire_form() {
    assert_eq!(
        reference_app_request().to_value(),
        json!({"userinfo": {"verified_claims": [
            {"verification": {"trust_framework": {"value": "nist_800_63A"},
                              "assurance_level": {"value": "ial2"}, "time": null},
             "claims": {"given_name": null, "family_name": null, "birthdate": null}},
            {"verification": {"trust_framework": {"value": "verity"}, "time": null},
             "claims": {"group": null, "subgroups": null}}
        ]}})
    );
    let one = ClaimsRequest::new().id_token(
        VerifiedClaimsRequest::new()
            .trust_frameworks(["a", "b", "a"])
            .max_age(60)
            .claim("given_name")
            .essential_claim("given_name")
            .purpose("To check your age")
            // Owned by typed methods: ignored.
            .verification_member("trust_framework", json!({"value": "evil"})),
    );
    assert_eq!(
        one.to_value(),
        json!({"id_token": {"verified_claims": {
            "verification": {"trust_framework": {"values": ["a", "b"]}, "time": {"max_age": 60}},
            "claims": {"given_name": {"essential": true, "purpose": "To check your age"}}}}})
    );
    assert!(ClaimsRequest::new().is_empty());
    assert_eq!(ClaimsRequest::new().to_value(), json!({}));
}

#[test]
fn the_authorization_url_carries_the_claims_parameter() {
    let (url, _) = AuthorizationRequest::new("https://op.test/authorize", "app", "https://rp/cb")
        .claims(reference_app_request())
        .param("claims", "{\"evil\":1}")
        .build()
        .unwrap();
    let sent: Vec<_> = url
        .query_pairs()
        .filter(|(k, _)| k == "claims")
        .map(|(_, v)| serde_json::from_str::<Value>(&v).unwrap())
        .collect();
    assert_eq!(sent, [reference_app_request().to_value()]);

    let (url, _) = AuthorizationRequest::new("https://op.test/authorize", "app", "https://rp/cb")
        .claims(ClaimsRequest::new())
        .build()
        .unwrap();
    assert!(
        !url.query_pairs().any(|(k, _)| k == "claims"),
        "nothing asked, nothing sent"
    );

    for purpose in ["no", &"x".repeat(301)] {
        let built = AuthorizationRequest::new("https://op.test/authorize", "app", "https://rp/cb")
            .claims(
                ClaimsRequest::new().userinfo(
                    VerifiedClaimsRequest::new()
                        .claim("given_name")
                        .purpose(purpose),
                ),
            )
            .build();
        assert!(matches!(built, Err(crate::Error::Config(_))), "{purpose}");
    }
}

#[test]
fn an_answer_must_match_framework_level_age_and_claims() {
    let answers: Vec<VerifiedClaims> = serde_json::from_value(veteran_answer()).unwrap();
    let (identity, military) = (&answers[0], &answers[1]);
    let now = decided() + 3600;
    let request = reference_app_request();
    let [ask_identity, ask_group] = request.userinfo_elements() else {
        panic!("two elements")
    };
    assert_eq!(ask_identity.answered_by(identity, now), Ok(()));
    assert_eq!(ask_group.answered_by(military, now), Ok(()));
    assert_eq!(
        ask_identity.answered_by(military, now),
        Err(Mismatch::TrustFramework {
            found: "verity".into()
        })
    );
    // Any framework, any claim: everything matches.
    assert_eq!(
        VerifiedClaimsRequest::new().answered_by(military, now),
        Ok(())
    );

    let level = VerifiedClaimsRequest::new().assurance_levels(["ial3"]);
    assert_eq!(
        level.answered_by(identity, now),
        Err(Mismatch::AssuranceLevel {
            found: Some("ial2".into())
        })
    );

    let recent = VerifiedClaimsRequest::new().max_age(3600);
    assert_eq!(recent.answered_by(identity, now), Ok(()));
    assert_eq!(
        recent.answered_by(identity, now + 1),
        Err(Mismatch::TooOld {
            age: 3601,
            max_age: 3600
        })
    );
    assert_eq!(
        recent.answered_by(identity, decided() - 300),
        Ok(()),
        "within skew"
    );
    assert_eq!(
        recent.answered_by(identity, decided() - 301),
        Err(Mismatch::InTheFuture)
    );
    let mut no_time = identity.clone();
    no_time.verification.time = None;
    assert_eq!(recent.answered_by(&no_time, now), Err(Mismatch::NoTime));
    assert_eq!(
        VerifiedClaimsRequest::new().answered_by(&no_time, now),
        Ok(())
    );
    no_time.verification.time = Some("yesterday".into());
    assert_eq!(
        recent.answered_by(&no_time, now),
        Err(Mismatch::UnreadableTime("yesterday".into()))
    );

    let names_only = VerifiedClaimsRequest::new().claim("given_name");
    assert_eq!(
        names_only.answered_by(identity, now),
        Err(Mismatch::UnrequestedClaim("birthdate".into()))
    );
    let mut empty = identity.clone();
    empty.claims.clear();
    assert_eq!(
        VerifiedClaimsRequest::new().answered_by(&empty, now),
        Err(Mismatch::NoClaims)
    );
}

#[test]
fn keep_answered_keeps_matches_and_says_why_the_rest_went() {
    let answers: Vec<VerifiedClaims> = serde_json::from_value(veteran_answer()).unwrap();
    let now = decided() + 60;
    let request = ClaimsRequest::new()
        .userinfo(
            VerifiedClaimsRequest::new()
                .trust_framework("nist_800_63A")
                .max_age(30),
        )
        .userinfo(
            VerifiedClaimsRequest::new()
                .trust_framework("verity")
                .assurance_level("document")
                .claim("group")
                .claim("subgroups"),
        );
    let out = keep_answered(
        request.userinfo_elements(),
        answers.clone(),
        Source::UserInfo,
        now,
    );
    assert_eq!(out.kept, [answers[1].clone()]);
    let why: Vec<_> = out.refused.iter().map(|r| r.mismatch.clone()).collect();
    assert_eq!(
        why,
        [
            Mismatch::TooOld {
                age: 60,
                max_age: 30
            },
            Mismatch::AssuranceLevel {
                found: Some("email_domain".into())
            }
        ]
    );
    let unasked = keep_answered(&[], answers.clone(), Source::IdToken, now);
    assert!(unasked.kept.is_empty());
    assert!(
        unasked
            .refused
            .iter()
            .all(|r| r.mismatch == Mismatch::NotAsked)
    );
}
