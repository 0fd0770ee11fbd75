//! The core flow end to end, per persona and per app profile (SPEC sections 3-9).

use reqwest::StatusCode;
use serde_json::{Value, json};
use verity_core::clock::Clock;
use verity_core::identity::Family;
use verity_core::keys::Alg;

use crate::helpers::*;

fn attribute<'a>(attrs: &'a Value, handle: &str) -> &'a Value {
    attrs["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["handle"] == handle)
        .map(|a| &a["value"])
        .unwrap_or_else(|| panic!("attribute {handle} missing in {attrs}"))
}

#[tokio::test]
async fn veteran_signs_in_with_mfa_consents_and_gets_verified_military() {
    let app = spawn_app().await;
    let params = app.confidential_request("openid military");
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (cb, trace) = app
        .journey(
            &new_browser(),
            &app.authorize_url(&pairs),
            &Journey::persona("veteran@sandbox.test"),
        )
        .await;
    assert_eq!(trace.pages, ["signin", "mfa", "consent"]);
    assert_eq!(
        cb.status,
        StatusCode::FOUND,
        "the interaction page redirects to the app"
    );
    assert!(cb.location.starts_with(CALLBACK));
    assert_eq!(cb.get("state"), Some("state-123"));
    assert_eq!(cb.get("iss"), Some(app.issuer.as_str()));
    let code = cb.code();
    assert!(verity_core::secret::is_token_shaped(code));

    let tokens = app.exchange(code).await;
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 300);
    assert_eq!(tokens["refresh_expires_in"], 604800);
    assert_eq!(tokens["scope"], "openid military");
    let access = tokens["access_token"].as_str().unwrap();
    assert!(verity_core::secret::is_token_shaped(access));
    assert!(verity_core::secret::is_token_shaped(
        tokens["refresh_token"].as_str().unwrap()
    ));

    let jwks = app.jwks().await;
    let id = verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &jwks,
        &app.issuer,
        CONFIDENTIAL,
    );
    let uuid = verity_server::sandbox::persona_uuid("veteran@sandbox.test");
    assert_eq!(id["sub"], uuid.as_str());
    assert_eq!(id["uuid"], uuid.as_str());
    assert_eq!(id["nonce"], "nonce-456");
    assert_eq!(id["at_hash"], verity_core::keys::at_hash(access).as_str());
    assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(id["acr"], "http://idmanagement.gov/ns/assurance/aal/2");
    assert_eq!(id["military_branch"], "Navy");
    assert_eq!(id["fname"], "Jordan");
    assert_eq!(id["iat"], app.clock.now());
    assert_eq!(id["exp"], app.clock.now() + 300);
    assert!(id["auth_time"].as_i64().unwrap() <= app.clock.now());
    assert!(verity_core::secret::is_token_shaped(
        id["jti"].as_str().unwrap()
    ));

    // idme profile: the body is a JSON string holding the signed JWT.
    let resp = app.get_bearer("/api/public/v3/userinfo", access).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    let jwt = body.as_str().expect("a JSON string");
    let info = verify_jwt(jwt, &jwks, &app.issuer, CONFIDENTIAL);
    assert_eq!(info["sub"], uuid.as_str());
    assert_eq!(
        info["exp"].as_i64().unwrap() - info["iat"].as_i64().unwrap(),
        18000
    );
    assert_eq!(info["military_service_component"], "Active Duty");

    let attrs: Value = app
        .get_bearer("/api/public/v3/attributes.json", access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        attrs["status"],
        json!([{"group": "military", "subgroups": ["Veteran"], "verified": true}])
    );
    assert_eq!(attribute(&attrs, "military_branch"), "Navy");
    assert_eq!(attribute(&attrs, "zip"), "23511");
}

#[tokio::test]
async fn every_persona_completes_the_flow_and_tokens_verify() {
    let app = spawn_app().await;
    let jwks = app.jwks().await;
    let scope =
        format!("openid profile email military student teacher responder {IDENTITY_POLICY}");
    for email in [
        "veteran@sandbox.test",
        "student@sandbox.test",
        "unverified@sandbox.test",
        "international@sandbox.test",
        "hyphen@sandbox.test",
        "multi@sandbox.test",
    ] {
        let params = app.confidential_request(&scope);
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut journey = Journey::persona(email);
        journey.verification = "skip";
        let (cb, _) = app
            .journey(&new_browser(), &app.authorize_url(&pairs), &journey)
            .await;
        let tokens = app.exchange(cb.code()).await;
        let id = verify_jwt(
            tokens["id_token"].as_str().unwrap(),
            &jwks,
            &app.issuer,
            CONFIDENTIAL,
        );
        assert_eq!(id["email"], email);
        let body: Value = app
            .get_bearer(
                "/api/public/v3/userinfo",
                tokens["access_token"].as_str().unwrap(),
            )
            .await
            .json()
            .await
            .unwrap();
        let info = verify_jwt(body.as_str().unwrap(), &jwks, &app.issuer, CONFIDENTIAL);
        assert_eq!(info["sub"], id["sub"]);
    }
}

#[tokio::test]
async fn international_zip_is_null_and_hyphenated_names_stay_intact() {
    let app = spawn_app().await;
    let tokens = app
        .tokens_for(
            "international@sandbox.test",
            &format!("openid {IDENTITY_POLICY}"),
        )
        .await;
    let attrs: Value = app
        .get_bearer(
            "/api/public/v3/attributes.json",
            tokens["access_token"].as_str().unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    for handle in ["zip", "street", "city", "state"] {
        assert_eq!(attribute(&attrs, handle), &Value::Null, "{handle}");
    }
    assert_eq!(attribute(&attrs, "country"), "FR");
    assert_eq!(attribute(&attrs, "fname"), "Amélie");
    assert_eq!(
        attrs["status"],
        json!([{"group": "identity", "subgroups": [], "verified": true}])
    );

    let tokens = app
        .tokens_for("hyphen@sandbox.test", "openid profile")
        .await;
    let id = verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.issuer,
        CONFIDENTIAL,
    );
    assert_eq!(id["fname"], "Mary-Jane");
    assert_eq!(id["lname"], "O'Connor-Smith");
}

#[tokio::test]
async fn single_sign_on_skips_every_page_once_consent_is_remembered() {
    let app = spawn_app().await;
    let browser = new_browser();
    let params = app.confidential_request("openid military");
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = app.authorize_url(&pairs);
    let (first, _) = app
        .journey(&browser, &url, &Journey::persona("veteran@sandbox.test"))
        .await;
    assert!(first.get("code").is_some());
    let resp = browser.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let cb = query_pairs(resp.headers()["location"].to_str().unwrap());
    assert!(cb.iter().any(|(k, _)| k == "code"));
    // prompt=none works too; prompt=consent asks again.
    let mut none = pairs.clone();
    none.push(("prompt", "none"));
    let resp = browser.get(app.authorize_url(&none)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .contains("code=")
    );
    let mut consent = pairs.clone();
    consent.push(("prompt", "consent"));
    let (_, trace) = app
        .journey(
            &browser,
            &app.authorize_url(&consent),
            &Journey::persona("veteran@sandbox.test"),
        )
        .await;
    assert_eq!(trace.pages, ["consent"]);
    // Four codes were issued. The request that asked for consent again stored a code with its
    // read of the session, and deleted it when it showed the page instead.
    let codes = app
        .query_i64(
            "SELECT COUNT(*) FROM codes WHERE client_id = $1",
            CONFIDENTIAL,
        )
        .await;
    assert_eq!(codes, 4);
}

#[tokio::test]
async fn public_app_uses_pkce_and_the_verifier_is_checked() {
    let app = spawn_app().await;
    let verifier = "a".repeat(20) + &verity_core::secret::new_token();
    let challenge = verity_core::pkce::s256(&verifier);
    let url = app.authorize_url(&[
        ("client_id", PUBLIC),
        ("redirect_uri", "http://localhost:8090/callback"),
        ("response_type", "code"),
        ("scope", "openid profile"),
        ("state", "s"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let (cb, _) = app
        .journey(
            &new_browser(),
            &url,
            &Journey::persona("student@sandbox.test"),
        )
        .await;
    let form = |v: &'static str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", cb.code().to_owned()),
            ("redirect_uri", "http://localhost:8090/callback".to_owned()),
            ("client_id", PUBLIC.to_owned()),
            ("code_verifier", v.to_owned()),
        ]
    };
    let refused = |form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let resp = app
                .http
                .post(app.url("/oauth/token"))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["error"], "invalid_grant");
        }
    };
    refused(form("wrong-verifier-wrong-verifier-wrong-verifier-1234")).await;
    // The failed attempt consumed the code: the right verifier is too late for it.
    let mut late = form("");
    late[4].1 = verifier.clone();
    refused(late).await;

    // A new flow, then the right verifier.
    let (cb, _) = app
        .journey(
            &new_browser(),
            &url,
            &Journey::persona("student@sandbox.test"),
        )
        .await;
    let mut good = form("");
    good[1].1 = cb.code().to_owned();
    good[4].1 = verifier.clone();
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .json(
            &good
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "JSON bodies are accepted");
    let tokens: Value = resp.json().await.unwrap();
    assert!(tokens["id_token"].is_string());
}

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_its_tokens() {
    let app = spawn_app().await;
    let cb = app
        .authorize_as("student@sandbox.test", "openid student")
        .await;
    let tokens = app.exchange(cb.code()).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        app.get_bearer("/api/public/v3/attributes.json", access)
            .await
            .status(),
        StatusCode::OK
    );
    let again = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", cb.code()),
                ("redirect_uri", CALLBACK),
            ],
            Some((CONFIDENTIAL, SECRET)),
        )
        .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        again.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let resp = app
        .get_bearer("/api/public/v3/attributes.json", access)
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
}

#[tokio::test]
async fn codes_expire_after_five_minutes() {
    let app = spawn_app().await;
    let cb = app.authorize_as("student@sandbox.test", "openid").await;
    app.clock.advance(300);
    let resp = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", cb.code()),
                ("redirect_uri", CALLBACK),
            ],
            Some((CONFIDENTIAL, SECRET)),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn access_tokens_expire() {
    let app = spawn_app().await;
    let tokens = app
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    app.clock.advance(301);
    let resp = app
        .get_bearer(
            "/api/public/v3/userinfo",
            tokens["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn oidc_profile_app_gets_plain_json_or_signed_jwt_and_es256() {
    let app = spawn_app().await;
    app.create_app("oidc-plain", |a| a.profile = Family::Oidc)
        .await;
    app.create_app("oidc-signed", |a| {
        a.profile = Family::Oidc;
        a.id_token_alg = Alg::ES256;
        a.userinfo_signed_response_alg = Some(Alg::ES256);
    })
    .await;
    let jwks = app.jwks().await;
    for client in ["oidc-plain", "oidc-signed"] {
        let url = app.authorize_url(&[
            ("client_id", client),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "openid profile email"),
        ]);
        let (cb, _) = app
            .journey(
                &new_browser(),
                &url,
                &Journey::persona("hyphen@sandbox.test"),
            )
            .await;
        let resp = app
            .post_token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", cb.code()),
                    ("redirect_uri", CALLBACK),
                ],
                Some((client, SECRET)),
            )
            .await;
        let tokens: Value = resp.json().await.unwrap();
        let id_token = tokens["id_token"].as_str().unwrap();
        let expected_alg = if client == "oidc-signed" {
            jsonwebtoken::Algorithm::ES256
        } else {
            jsonwebtoken::Algorithm::RS256
        };
        assert_eq!(
            jsonwebtoken::decode_header(id_token).unwrap().alg,
            expected_alg
        );
        let id = verify_jwt(id_token, &jwks, &app.issuer, client);
        assert_eq!(id["given_name"], "Mary-Jane");
        assert_eq!(id["family_name"], "O'Connor-Smith");
        assert!(id.get("fname").is_none());
        let resp = app
            .get_bearer(
                "/api/public/v3/userinfo.json",
                tokens["access_token"].as_str().unwrap(),
            )
            .await;
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        if client == "oidc-plain" {
            assert!(ct.starts_with("application/json"));
            let info: Value = resp.json().await.unwrap();
            assert_eq!(info["sub"], id["sub"]);
            assert_eq!(info["given_name"], "Mary-Jane");
        } else {
            assert_eq!(ct, "application/jwt");
            let info = verify_jwt(&resp.text().await.unwrap(), &jwks, &app.issuer, client);
            assert_eq!(info["sub"], id["sub"]);
        }
    }
}

#[tokio::test]
async fn signing_keys_and_data_survive_a_restart() {
    let app = spawn_app().await;
    let before = app.jwks().await;
    let again = app.restart().await;
    assert_eq!(
        again.jwks().await,
        before,
        "keys are reused, not regenerated"
    );
    // The sandbox seed is idempotent: the personas still sign in.
    let cb = again.authorize_as("student@sandbox.test", "openid").await;
    assert!(cb.get("code").is_some());
}

/// The hidden fields of a form-post page, by name.
fn posted_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|part| {
            let attr = |name: &str| {
                part.split(&format!("{name}=\""))
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .unwrap_or_default()
                    .replace("&#x2f;", "/")
                    .replace("&amp;", "&")
                    .replace("&quot;", "\"")
            };
            (attr("name"), attr("value"))
        })
        .collect()
}

/// OAuth 2.0 Form Post Response Mode: with `response_mode=form_post` the answer (a code, or an
/// error) comes as a page whose form the browser posts to the redirect URI, submitted by the
/// one script the page's CSP allows by its hash; other modes are refused through the query.
#[tokio::test]
async fn form_post_answers_with_a_page_that_posts_to_the_app() {
    use base64::Engine;
    let app = spawn_app().await;
    let browser = new_browser();
    let params = app.confidential_request("openid military");
    let mut pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (first, _) = app
        .journey(
            &browser,
            &app.authorize_url(&pairs),
            &Journey::persona("veteran@sandbox.test"),
        )
        .await;
    assert!(first.get("code").is_some());

    pairs.push(("response_mode", "form_post"));
    let resp = browser.get(app.authorize_url(&pairs)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    // As a browser reads it (the page escapes `/` in attributes).
    let html = resp.text().await.unwrap().replace("&#x2f;", "/");
    assert!(
        html.contains(&format!("<form method=\"post\" action=\"{CALLBACK}\">")),
        "{html}"
    );
    let fields = posted_fields(&html);
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["code", "state", "iss"], "{html}");
    assert_eq!(fields[2].1, app.issuer);
    // The CSP allows exactly the page's script.
    let script = html
        .split("<script>")
        .nth(1)
        .unwrap()
        .split("</script>")
        .next()
        .unwrap();
    let hash = base64::engine::general_purpose::STANDARD
        .encode(verity_core::secret::sha256(script.as_bytes()));
    assert!(
        csp.contains(&format!("script-src 'sha256-{hash}'")),
        "{csp}"
    );
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    // The code it posts is a good one.
    let tokens = app.exchange(&fields[0].1).await;
    assert!(tokens["access_token"].is_string());

    // An error goes the same way.
    let mut bad = pairs.clone();
    bad.retain(|(k, _)| *k != "scope");
    bad.push(("scope", "openid nonsense"));
    let html = browser
        .get(app.authorize_url(&bad))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let fields = posted_fields(&html);
    assert_eq!(
        fields[0],
        ("error".to_owned(), "invalid_scope".to_owned()),
        "{html}"
    );

    // A mode Verity does not answer in: refused, through the query.
    let mut fragment = pairs.clone();
    fragment.retain(|(k, _)| *k != "response_mode");
    fragment.push(("response_mode", "fragment"));
    let resp = browser
        .get(app.authorize_url(&fragment))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(CALLBACK) && location.contains("error=invalid_request"),
        "{location}"
    );
}
