//! The wire parsers never panic on arbitrary input.

use proptest::prelude::*;
use verity_client::CallbackQuery;
use verity_client::assurance::{
    CivilDate, VerifiedClaimsRequest, parse_rfc3339, read_verified_claims,
};
use verity_client::discovery::Metadata;
use verity_client::identity::parse_attributes;
use verity_client::jose::{Jws, parse_jwks};
use verity_client::userinfo::parse_userinfo_body;

proptest! {
    #[test]
    fn jws_parser_never_panics(s in ".{0,400}") {
        let _ = Jws::parse(&s);
    }

    #[test]
    fn jws_like_input_never_panics(a in "[A-Za-z0-9_-]{0,80}", b in "[A-Za-z0-9_-]{0,80}", c in "[A-Za-z0-9_=-]{0,80}") {
        if let Ok(jws) = Jws::parse(&format!("{a}.{b}.{c}")) {
            let _ = jws.alg();
            let _ = jws.verify(&[]);
        }
    }

    #[test]
    fn jwks_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_jwks(&bytes);
    }

    #[test]
    fn userinfo_parser_never_panics(ct in proptest::option::of(".{0,40}"), bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_userinfo_body(ct.as_deref(), &bytes);
    }

    #[test]
    fn attributes_and_discovery_parsers_never_panic(s in ".{0,400}") {
        let _ = parse_attributes(s.as_bytes());
        let _ = Metadata::parse(s.as_bytes());
    }

    #[test]
    fn callback_parser_never_panics(s in ".{0,300}") {
        let q = CallbackQuery::parse(&s);
        let pending = verity_client::PendingAuthorization {
            state: "s".into(), nonce: "n".into(), code_verifier: "v".into(),
            max_age: None, redirect_uri: "http://127.0.0.1/cb".into(), acr_values: vec![],
        };
        let _ = q.code_for(&pending, "https://op");
    }

    #[test]
    fn json_shaped_input_never_panics(v in json_value()) {
        let text = v.to_string();
        let _ = parse_jwks(text.as_bytes());
        let _ = parse_attributes(text.as_bytes());
        let _ = parse_userinfo_body(Some("application/json"), text.as_bytes());
    }

    #[test]
    fn date_parsers_never_panic(s in ".{0,40}", t in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,4})?)?([Zz]|[+-][0-9]{2}:[0-9]{2})?") {
        let _ = parse_rfc3339(&s);
        let _ = CivilDate::parse(&s);
        // A UTC date-time that reads gives back its own calendar date (a leap second aside).
        if let (Some(unix), true) = (parse_rfc3339(&t), t.ends_with(['Z', 'z']) && !t.contains(":60")) {
            prop_assert_eq!(CivilDate::of_unix(unix).to_string(), &t[..10]);
        }
    }

    #[test]
    fn verified_claims_reader_never_panics(v in json_value(), now in any::<i64>()) {
        let claims = serde_json::Map::from_iter([("verified_claims".to_owned(), v)]);
        if let Ok(answers) = read_verified_claims(&claims) {
            let request = VerifiedClaimsRequest::new().trust_framework("verity").max_age(u64::MAX).claim("group");
            for a in &answers {
                let _ = request.answered_by(a, now);
            }
        }
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[a-z_]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("keys".to_owned()),
                    Just("attributes".to_owned()),
                    Just("status".to_owned()),
                    Just("handle".to_owned()),
                    Just("value".to_owned()),
                    Just("kty".to_owned()),
                    Just("n".to_owned()),
                    Just("e".to_owned()),
                    Just("crv".to_owned()),
                    Just("verification".to_owned()),
                    Just("trust_framework".to_owned()),
                    Just("claims".to_owned()),
                    Just("evidence".to_owned()),
                    Just("time".to_owned()),
                    "[a-z]{1,5}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
