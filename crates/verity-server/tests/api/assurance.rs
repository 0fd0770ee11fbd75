//! SPEC 13 identity assurance over HTTP: the `claims` parameter of an `oidc`-profile app asks for
//! `verified_claims`, answered in the ID token and in userinfo from the verification cases,
//! bounded by the granted policies and `max_age`; malformed requests are `invalid_request`; and
//! every answer validates against the OpenID Foundation's schema (`fixtures/ida`).

use reqwest::StatusCode;
use serde_json::{Value, json};
use verity_core::clock::Clock;
use verity_core::identity::Family;
use verity_core::verification::{CaseState, IDENTITY, Method};
use verity_store::cases::Case;

use crate::helpers::*;

const TOKEN: &str = "test-admin-token-assurance-0123456789";
const SCHEMA_BASE: &str = "https://bitbucket.org/openid/ekyc-ida/raw/master/schema/";

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ida")
}

/// The specification's schema of claims that carry `verified_claims`, with the schemas it
/// refers to registered under their `$id` (no network).
fn schema() -> jsonschema::Validator {
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(fixtures().join(name)).unwrap()).unwrap()
    };
    let mut registry = jsonschema::Registry::new();
    for name in [
        "claims_schema.json",
        "verified_claims.json",
        "verified_claims_request.json",
    ] {
        registry = registry
            .add(format!("{SCHEMA_BASE}{name}"), read(name))
            .unwrap();
    }
    let registry = registry.prepare().unwrap();
    jsonschema::options()
        .with_registry(&registry)
        .build(&read("verified_claims.json"))
        .unwrap()
}

/// Asserts that `claims` (an ID token's or a userinfo answer) is valid under the schema.
fn assert_valid(claims: &Value) {
    let errors: Vec<String> = schema()
        .iter_errors(claims)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?} in {claims}");
}

/// An `oidc`-profile app with the identity policy and `military` (or the given policies).
async fn oidc_app(app: &TestApp, client_id: &str, policies: &[&str]) {
    let policies: Vec<String> = policies.iter().map(|p| (*p).to_owned()).collect();
    app.create_app(client_id, |a| {
        a.profile = Family::Oidc;
        a.policies = policies;
    })
    .await;
}

/// `email` authorizes `client_id` for `scope` with `claims`; the token answer and what the
/// person was shown on the consent page.
async fn sign_in(
    app: &TestApp,
    client_id: &str,
    email: &str,
    scope: &str,
    claims: &Value,
) -> (Value, Option<String>) {
    let claims = claims.to_string();
    let url = app.authorize_url(&[
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", scope),
        ("nonce", "n-1"),
        ("claims", &claims),
    ]);
    let (cb, trace) = app
        .journey(&new_browser(), &url, &Journey::persona(email))
        .await;
    let resp = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", cb.code()),
                ("redirect_uri", CALLBACK),
            ],
            Some((client_id, SECRET)),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    (resp.json().await.unwrap(), trace.consent)
}

async fn userinfo(app: &TestApp, tokens: &Value) -> Value {
    let resp = app
        .get_bearer(
            "/api/public/v3/userinfo",
            tokens["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

fn id_token(app: &TestApp, tokens: &Value, jwks: &Value, client_id: &str) -> Value {
    verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        jwks,
        &app.issuer,
        client_id,
    )
}

fn ask(claims: Value, verification: Value) -> Value {
    json!({"verification": verification, "claims": claims})
}

/// An identity case a reviewer approves through the admin API, with what they read from a
/// passport: the answer carries that case, its document (number as its last four characters)
/// and the claims it verified; the ID token answers the group's case; both validate.
#[tokio::test]
async fn verified_claims_answer_from_the_approving_case() {
    let app =
        spawn_with(|s| s.admin_token = Some(verity_server::settings::Secret(TOKEN.into()))).await;
    oidc_app(&app, "ida", &["openid", IDENTITY_POLICY, "military"]).await;
    let email = "veteran@sandbox.test";
    let person = app
        .store
        .find_user_by_email(email)
        .await
        .unwrap()
        .unwrap()
        .uuid;

    // A newer identity case, decided on a passport.
    app.clock.advance(3600);
    let case = Case {
        state: CaseState::InReview,
        document_type: Some("passport".into()),
        ..Case::new(
            "case-passport",
            &person,
            IDENTITY,
            Method::Document,
            app.clock.now(),
        )
    };
    app.store.insert_case(&case).await.unwrap();
    let read = json!({
        "fname": "Jordan", "lname": "Rivera", "birth_date": "1978-04-12",
        "document_issuer": "United States", "document_number": "X98765432",
        "document_issued": "2023-02-01", "document_expires": "2033-01-31"
    });
    let resp = app
        .http
        .post(app.url("/api/admin/v1/verification-cases/case-passport/decision"))
        .bearer_auth(TOKEN)
        .json(&json!({"decision": "approve", "attributes": read}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
    let decided = app.clock.now();

    let claims = json!({
        "userinfo": {"verified_claims": ask(
            json!({"given_name": null, "family_name": {"essential": true}, "birthdate": {"purpose": "To check your age"}}),
            json!({"trust_framework": {"value": "nist_800_63A"}})
        )},
        "id_token": {"verified_claims": ask(
            json!({"group": null, "subgroups": null}),
            json!({"trust_framework": {"value": "verity"}})
        )}
    });
    let scope = format!("openid {IDENTITY_POLICY} military");
    let (tokens, consent) = sign_in(&app, "ida", email, &scope, &claims).await;
    let consent = consent.expect("the consent page was shown");
    assert!(consent.contains("how you were verified"), "{consent}");

    let info = userinfo(&app, &tokens).await;
    assert_valid(&info);
    let vc = &info["verified_claims"];
    assert_eq!(
        vc["claims"],
        json!({"given_name": "Jordan", "family_name": "Rivera", "birthdate": "1978-04-12"})
    );
    let v = &vc["verification"];
    assert_eq!(v["trust_framework"], "nist_800_63A");
    assert_eq!(v["assurance_level"], "ial2");
    assert_eq!(v["verification_process"], "case-passport");
    assert_eq!(v["time"], verity_core::clock::rfc3339(decided));
    let doc = &v["evidence"][0]["document_details"];
    assert_eq!(
        *doc,
        json!({"type": "passport", "document_number": "5432", "date_of_issuance": "2023-02-01",
               "date_of_expiry": "2033-01-31", "issuer": {"name": "United States"}})
    );
    assert!(!info.to_string().contains("X98765432"));

    let jwks = app.jwks().await;
    let id = id_token(&app, &tokens, &jwks, "ida");
    assert_valid(&id);
    let group = &id["verified_claims"];
    assert_eq!(
        group["claims"],
        json!({"group": "military", "subgroups": ["Veteran"]})
    );
    assert_eq!(group["verification"]["trust_framework"], "verity");
    assert_eq!(group["verification"]["assurance_level"], "document");
    assert_eq!(
        group["verification"]["evidence"][0]["document_details"]["type"],
        "dd214"
    );
    assert!(
        id.get("given_name").is_some(),
        "ordinary claims are still released"
    );

    // A refreshed ID token still answers the request.
    let rt = tokens["refresh_token"].as_str().expect("a refresh token");
    let resp = app
        .post_token(
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
            Some(("ida", SECRET)),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let again = id_token(&app, &resp.json().await.unwrap(), &jwks, "ida");
    assert_eq!(again["verified_claims"], id["verified_claims"]);
}

/// `max_age` older than the case leaves it out; an app without the identity policy gets nothing
/// verified about identity, and one without any verification policy nothing at all; an `idme`
/// app's `claims` is ignored; every answer validates.
#[tokio::test]
async fn answers_are_bounded_by_age_policies_and_profile() {
    let app = spawn_app().await;
    oidc_app(
        &app,
        "ida",
        &["openid", IDENTITY_POLICY, "military", "profile"],
    )
    .await;
    oidc_app(&app, "plain", &["openid", "profile", "email"]).await;
    app.create_app("idme", |a| a.profile = Family::Idme).await;
    let email = "veteran@sandbox.test";
    let every = json!({"userinfo": {"verified_claims": [
        ask(Value::Null, json!({"trust_framework": null, "time": {"max_age": 86_400}})),
    ]}});
    let scope = format!("openid {IDENTITY_POLICY} military");

    // Seeded today: within a day, both cases answer (an array of two).
    let (tokens, _) = sign_in(&app, "ida", email, &scope, &every).await;
    let info = userinfo(&app, &tokens).await;
    assert_valid(&info);
    let both = info["verified_claims"].as_array().expect("two cases");
    let frameworks: Vec<&str> = both
        .iter()
        .map(|c| c["verification"]["trust_framework"].as_str().unwrap())
        .collect();
    assert_eq!(frameworks.len(), 2);
    assert!(frameworks.contains(&"nist_800_63A") && frameworks.contains(&"verity"));
    let identity = both
        .iter()
        .find(|c| c["verification"]["trust_framework"] == "nist_800_63A")
        .unwrap();
    assert_eq!(identity["claims"]["address"]["locality"], "Norfolk");
    assert_eq!(
        identity["verification"]["evidence"][0]["document_details"]["document_number"],
        "5678"
    );

    // Two days later, max_age of a day leaves both out (and the member is absent).
    app.clock.advance(2 * 86_400);
    let (tokens, _) = sign_in(&app, "ida", email, &scope, &every).await;
    let info = userinfo(&app, &tokens).await;
    assert!(info.get("verified_claims").is_none(), "{info}");
    assert_eq!(info["given_name"], "Jordan");

    // Only `military` granted: the group's case, nothing about identity.
    let identity_ask = json!({"userinfo": {"verified_claims": ask(json!({"given_name": null}), json!({"trust_framework": null}))}});
    let (tokens, _) = sign_in(&app, "ida", email, "openid military", &identity_ask).await;
    assert!(
        userinfo(&app, &tokens)
            .await
            .get("verified_claims")
            .is_none()
    );

    // An app without any verification policy: nothing verified.
    let all = json!({"userinfo": {"verified_claims": ask(Value::Null, json!({"trust_framework": null}))}});
    let (tokens, _) = sign_in(&app, "plain", email, "openid profile", &all).await;
    let info = userinfo(&app, &tokens).await;
    assert!(info.get("verified_claims").is_none());
    assert_valid(&info);

    // The `idme` profile ignores `claims`, even malformed.
    let (tokens, _) = sign_in(
        &app,
        "idme",
        email,
        "openid military",
        &json!("not an object"),
    )
    .await;
    let resp = app
        .get_bearer(
            "/api/public/v3/userinfo",
            tokens["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(!resp.text().await.unwrap().contains("verified_claims"));
}

/// OIDC Core 5.5 / 3.1.2.6: a malformed `claims` value is `invalid_request` at the app's
/// redirect URI, with the request's `state`, before anyone signs in.
#[tokio::test]
async fn malformed_claims_are_invalid_request() {
    let app = spawn_app().await;
    oidc_app(&app, "ida", &["openid", IDENTITY_POLICY]).await;
    for bad in [
        "{",
        "[]",
        r#"{"userinfo": 5}"#,
        r#"{"userinfo": {"verified_claims": {"claims": {"given_name": null}}}}"#,
        r#"{"id_token": {"verified_claims": {"verification": {"trust_framework": null}, "claims": {}}}}"#,
        r#"{"userinfo": {"verified_claims": {"verification": {"trust_framework": null, "time": {"max_age": "1d"}}, "claims": null}}}"#,
    ] {
        let url = app.authorize_url(&[
            ("client_id", "ida"),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s-1"),
            ("claims", bad),
        ]);
        let resp = new_browser().get(&url).send().await.unwrap();
        assert!(resp.status().is_redirection(), "{bad}");
        let to = location(&resp).unwrap();
        assert!(to.starts_with(CALLBACK), "{to}");
        let params = query_pairs(&to);
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("error"), Some("invalid_request"), "{bad}");
        assert_eq!(get("state"), Some("s-1"));
    }
}

/// Every example request of the specification validates against its request schema, and the
/// provider accepts each one as a `claims` parameter (they are all well-formed).
#[tokio::test]
async fn the_specifications_example_requests_are_accepted() {
    let app = spawn_app().await;
    oidc_app(&app, "ida", &["openid", IDENTITY_POLICY]).await;
    let read = |p: &std::path::Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let mut registry = jsonschema::Registry::new();
    for name in [
        "claims_schema.json",
        "verified_claims.json",
        "verified_claims_request.json",
    ] {
        registry = registry
            .add(format!("{SCHEMA_BASE}{name}"), read(&fixtures().join(name)))
            .unwrap();
    }
    let registry = registry.prepare().unwrap();
    let request_schema = jsonschema::options()
        .with_registry(&registry)
        .build(&read(&fixtures().join("verified_claims_request.json")))
        .unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(fixtures().join("examples/request")).unwrap() {
        let path = entry.unwrap().path();
        let example = read(&path);
        assert!(request_schema.is_valid(&example), "{}", path.display());
        let raw = example.to_string();
        let url = app.authorize_url(&[
            ("client_id", "ida"),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "openid"),
            ("claims", &raw),
        ]);
        let resp = new_browser().get(&url).send().await.unwrap();
        // The sign-in page (or its redirect), never an error back to the app.
        let to = location(&resp).unwrap_or_default();
        assert!(!to.contains("error="), "{}: {to}", path.display());
        seen += 1;
    }
    assert!(seen >= 20);
}

/// A group confirmed by a code sent to a `.gov` address answers as an electronic record that
/// names the domain, never the address; the answer validates.
#[tokio::test]
async fn an_email_confirmed_group_names_its_domain() {
    let app = spawn_app().await;
    oidc_app(&app, "ida", &["openid", "government"]).await;
    let email = "unverified@sandbox.test";
    crate::verification::verify_by_email(&app, email, "government", "casey.morgan@va.gov").await;
    let ask_group = json!({"userinfo": {"verified_claims": ask(json!({"group": null}), json!({"trust_framework": {"value": "verity"}}))}});
    let (tokens, _) = sign_in(&app, "ida", email, "openid government", &ask_group).await;
    let info = userinfo(&app, &tokens).await;
    assert_valid(&info);
    let v = &info["verified_claims"]["verification"];
    assert_eq!(v["assurance_level"], "email_domain");
    assert_eq!(
        v["evidence"][0]["record"],
        json!({"type": "email_domain", "source": {"name": "va.gov"}})
    );
    assert_eq!(
        info["verified_claims"]["claims"],
        json!({"group": "government"})
    );
    assert!(!info.to_string().contains("casey.morgan"));
}
