use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::identity::{IDENTITY_POLICY, builtin_policies};

const NOW: i64 = 1_796_428_800; // 2026-12-05T00:00:00Z

fn fixture_dir(kind: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../fixtures/ida/examples/{kind}"))
}

#[test]
fn every_example_request_of_the_specification_parses() {
    let mut parsed = 0;
    for entry in std::fs::read_dir(fixture_dir("request")).expect("fixtures") {
        let path = entry.expect("entry").path();
        let raw = std::fs::read_to_string(&path).expect("read");
        let got = parse(&raw).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let request = got.unwrap_or_else(|| panic!("{}: no verified_claims", path.display()));
        let asked: Value = serde_json::from_str(&raw).expect("json");
        // Each side the example asks in is kept, with as many elements as it holds.
        for (side, kept) in [
            ("id_token", &request.id_token),
            ("userinfo", &request.userinfo),
        ] {
            let want = match asked.get(side).and_then(|s| s.get("verified_claims")) {
                None => 0,
                Some(Value::Array(a)) => a.len(),
                Some(_) => 1,
            };
            assert_eq!(kept.len(), want, "{}: {side}", path.display());
        }
        parsed += 1;
    }
    assert!(parsed >= 20, "only {parsed} examples");
}

#[test]
fn constraints_and_claims_are_read() {
    let raw = json!({"userinfo": {"verified_claims": {
        "verification": {
            "trust_framework": {"values": ["nist_800_63A", "verity"]},
            "assurance_level": {"value": "ial2"},
            "time": {"max_age": 3600}
        },
        "claims": {"given_name": null, "birthdate": {"essential": true, "purpose": "To check your age"}}
    }}, "id_token": {"email": null}});
    let r = parse(&raw.to_string()).expect("valid").expect("asks");
    assert!(r.id_token.is_empty());
    assert_eq!(
        r.userinfo,
        vec![VerifiedRequest {
            trust_framework: Some(vec![NIST.into(), VERITY.into()]),
            assurance_level: Some(vec!["ial2".into()]),
            max_age: Some(3600),
            claims: Some(vec!["birthdate".into(), "given_name".into()]),
        }]
    );
    // Ordinary claims only: nothing for identity assurance.
    assert_eq!(parse(r#"{"userinfo": {"email": null}}"#), Ok(None));
    // `claims: null` asks for everything the case verified.
    let all = parse(
        r#"{"id_token":{"verified_claims":{"verification":{"trust_framework":null},"claims":null}}}"#,
    );
    assert_eq!(all.expect("valid").expect("asks").id_token[0].claims, None);
}

#[test]
fn malformed_requests_are_refused_with_a_reason() {
    let vc = |inner: &str| format!(r#"{{"userinfo":{{"verified_claims":{inner}}}}}"#);
    let cases = [
        "not json".to_owned(),
        "[1, 2]".to_owned(),
        r#"{"userinfo": "verified_claims"}"#.to_owned(),
        vc("42"),
        vc("[]"),
        vc(r#"{"claims":{"given_name":null}}"#),
        vc(r#"{"verification":{},"claims":{"given_name":null}}"#),
        vc(r#"{"verification":{"trust_framework":null}}"#),
        vc(r#"{"verification":{"trust_framework":null},"claims":{}}"#),
        vc(r#"{"verification":{"trust_framework":7},"claims":null}"#),
        vc(r#"{"verification":{"trust_framework":{"value":1}},"claims":null}"#),
        vc(r#"{"verification":{"trust_framework":{"values":[]}},"claims":null}"#),
        vc(r#"{"verification":{"trust_framework":null,"time":{"max_age":-1}},"claims":null}"#),
        vc(r#"{"verification":{"trust_framework":null,"time":{"max_age":1.5}},"claims":null}"#),
        vc(r#"{"verification":{"trust_framework":null},"claims":{"given_name":{"purpose":"no"}}}"#),
        vc(
            r#"{"verification":{"trust_framework":null},"claims":{"given_name":{"essential":"yes"}}}"#,
        ),
        vc(r#"{"verification":{"trust_framework":null},"claims":{"given_name":5}}"#),
        vc(r#"{"verification":{"trust_framework":null},"claims":null,"extra":1}"#),
    ];
    for raw in cases {
        let err = parse(&raw).expect_err(&raw);
        assert!(!err.is_empty(), "{raw}");
    }
}

struct Fixture {
    identity_attrs: BTreeMap<String, String>,
    subgroups: Vec<String>,
    none: BTreeMap<String, String>,
}

impl Fixture {
    fn new() -> Self {
        let identity_attrs = [
            ("fname", "Jordan"),
            ("lname", "Rivera"),
            ("birth_date", "1978-04-12"),
            ("zip", "23511"),
            ("document_issuer", "Virginia"),
            ("document_number", "T12345678"),
            ("document_issued", "2023-04-12"),
            ("document_expires", "2031-04-12"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Fixture {
            identity_attrs,
            subgroups: vec!["Veteran".into()],
            none: BTreeMap::new(),
        }
    }

    fn identity(&self) -> CaseFacts<'_> {
        CaseFacts {
            id: "case-identity",
            group: IDENTITY,
            method: Method::Document,
            state: CaseState::Verified,
            decided_at: Some(NOW - 86_400),
            expires_at: None,
            document_type: Some("drivers_license"),
            subgroups: &[],
            attributes: &self.identity_attrs,
            address: None,
        }
    }

    fn military(&self) -> CaseFacts<'_> {
        CaseFacts {
            id: "case-military",
            group: "military",
            document_type: Some("dd214"),
            subgroups: &self.subgroups,
            attributes: &self.none,
            ..self.identity()
        }
    }
}

fn policies(handles: &[&str]) -> Vec<Policy> {
    builtin_policies()
        .into_iter()
        .filter(|p| handles.contains(&p.handle.as_str()))
        .collect()
}

fn ask(claims: &[&str], max_age: Option<i64>) -> VerifiedRequest {
    VerifiedRequest {
        trust_framework: None,
        assurance_level: None,
        max_age,
        claims: Some(claims.iter().map(|c| (*c).to_owned()).collect()),
    }
}

#[test]
fn an_identity_case_answers_with_its_document_and_the_claims_it_verified() {
    let f = Fixture::new();
    let granted = policies(&[IDENTITY_POLICY]);
    let granted: Vec<&Policy> = granted.iter().collect();
    let req = [ask(&["given_name", "family_name", "birthdate"], None)];
    let got = answer(&req, &granted, &UserData::default(), &[f.identity()], NOW).expect("answer");
    assert_eq!(
        got,
        json!({
            "verification": {
                "trust_framework": "nist_800_63A",
                "assurance_level": "ial2",
                "time": "2026-12-04T00:00:00Z",
                "verification_process": "case-identity",
                "evidence": [{
                    "type": "document",
                    "check_details": [
                        {"check_method": "vri", "organization": "verity", "check_id": "case-identity-vri", "time": "2026-12-04T00:00:00Z"},
                        {"check_method": "pvr", "organization": "verity", "check_id": "case-identity-pvr", "time": "2026-12-04T00:00:00Z"}
                    ],
                    "document_details": {
                        "type": "driving_permit",
                        "document_number": "5678",
                        "date_of_issuance": "2023-04-12",
                        "date_of_expiry": "2031-04-12",
                        "issuer": {"name": "Virginia"}
                    }
                }]
            },
            "claims": {"given_name": "Jordan", "family_name": "Rivera", "birthdate": "1978-04-12"}
        })
    );
}

#[test]
fn what_is_answered_is_bounded_by_policies_age_state_and_constraints() {
    let f = Fixture::new();
    let both = policies(&[IDENTITY_POLICY, "military"]);
    let both: Vec<&Policy> = both.iter().collect();
    let cases = [f.identity(), f.military()];
    let user = UserData::default();

    // A group's case: its group and subgroups, with the DD-214 as evidence.
    let group = answer(
        &[ask(&["group", "subgroups"], None)],
        &both,
        &user,
        &cases,
        NOW,
    )
    .expect("group answer");
    assert_eq!(group["verification"]["trust_framework"], "verity");
    assert_eq!(group["verification"]["assurance_level"], "document");
    assert_eq!(
        group["claims"],
        json!({"group": "military", "subgroups": ["Veteran"]})
    );
    assert_eq!(
        group["verification"]["evidence"][0]["document_details"],
        json!({"type": "dd214"})
    );

    // `claims: null` over both: two objects.
    let all = VerifiedRequest::default();
    let two = answer(std::slice::from_ref(&all), &both, &user, &cases, NOW).expect("two");
    assert_eq!(two.as_array().map(Vec::len), Some(2));

    // Older than max_age: left out.
    assert_eq!(
        answer(
            &[ask(&["given_name"], Some(3600))],
            &both,
            &user,
            &cases,
            NOW
        ),
        None
    );
    assert!(
        answer(
            &[ask(&["given_name"], Some(86_400))],
            &both,
            &user,
            &cases,
            NOW
        )
        .is_some()
    );

    // Without the identity policy nothing about identity, and nothing at all without a group's.
    let military = policies(&["military"]);
    let military: Vec<&Policy> = military.iter().collect();
    assert_eq!(
        answer(&[ask(&["given_name"], None)], &military, &user, &cases, NOW),
        None
    );
    let login = policies(&["login", "profile"]);
    let login: Vec<&Policy> = login.iter().collect();
    assert_eq!(
        answer(std::slice::from_ref(&all), &login, &user, &cases, NOW),
        None
    );

    // A framework the case is not under, or a level it does not have: left out.
    let nist_only = VerifiedRequest {
        trust_framework: Some(vec![NIST.into()]),
        ..VerifiedRequest::default()
    };
    let only = answer(&[nist_only], &both, &user, &cases, NOW).expect("identity only");
    assert_eq!(
        only["verification"]["verification_process"],
        "case-identity"
    );
    let ial3 = VerifiedRequest {
        assurance_level: Some(vec!["ial3".into()]),
        ..VerifiedRequest::default()
    };
    assert_eq!(answer(&[ial3], &both, &user, &cases, NOW), None);

    // Revoked or past its lifetime: not current.
    let revoked = CaseFacts {
        state: CaseState::Revoked,
        ..f.military()
    };
    let ended = CaseFacts {
        expires_at: Some(NOW),
        ..f.military()
    };
    for c in [revoked, ended] {
        assert_eq!(
            answer(std::slice::from_ref(&all), &military, &user, &[c], NOW),
            None
        );
    }

    // A claim the policies do not release is not verified for the app (birthdate is not in
    // `military`'s release, and identity is not granted anyway).
    let profile = policies(&["profile", "military"]);
    let profile: Vec<&Policy> = profile.iter().collect();
    assert_eq!(
        answer(&[ask(&["birthdate"], None)], &profile, &user, &cases, NOW),
        None
    );
}

#[test]
fn an_email_domain_case_names_the_domain_not_the_address() {
    let f = Fixture::new();
    let gov = policies(&["government"]);
    let gov: Vec<&Policy> = gov.iter().collect();
    let case = CaseFacts {
        id: "case-gov",
        group: "government",
        method: Method::EmailDomain,
        document_type: None,
        subgroups: &[],
        address: Some("jordan.rivera@va.gov"),
        ..f.military()
    };
    let got = answer(
        &[VerifiedRequest::default()],
        &gov,
        &UserData::default(),
        &[case],
        NOW,
    )
    .expect("answer");
    assert_eq!(got["verification"]["assurance_level"], "email_domain");
    assert_eq!(
        got["verification"]["evidence"][0]["record"],
        json!({"type": "email_domain", "source": {"name": "va.gov"}})
    );
    assert!(!got.to_string().contains("jordan.rivera"));
}

#[test]
fn an_asserted_identity_verifies_the_accounts_attributes_without_evidence() {
    let f = Fixture::new();
    let idp = policies(&[IDENTITY_POLICY]);
    let idp: Vec<&Policy> = idp.iter().collect();
    let case = CaseFacts {
        method: Method::Sandbox,
        attributes: &f.none,
        ..f.identity()
    };
    let user = UserData {
        attributes: [
            ("fname".to_owned(), json!("Amélie")),
            ("city".to_owned(), json!("Lyon")),
        ]
        .into_iter()
        .collect(),
        ..UserData::default()
    };
    let got = answer(&[VerifiedRequest::default()], &idp, &user, &[case], NOW).expect("answer");
    assert_eq!(
        got["claims"],
        json!({"given_name": "Amélie", "address": {"locality": "Lyon"}})
    );
    assert!(got["verification"].get("evidence").is_none());
}

#[test]
fn discovery_lists_what_answers_can_hold() {
    let docs = documents_supported();
    for d in [
        "driving_permit",
        "idcard",
        "passport",
        "dd214",
        "student_id",
        "other",
    ] {
        assert!(docs.contains(&d), "{d}");
    }
    assert!(!docs.contains(&"drivers_license"));
    let claims = claims_in_verified_claims();
    assert!(claims.contains(&"given_name") && claims.contains(&"group"));
}
