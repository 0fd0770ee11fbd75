//! Errors of the token endpoint (SPEC section 4, RFC 6749 5.2), of the bearer endpoints (SPEC
//! section 7, RFC 6750 3) and of the policies endpoint, over real HTTP.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// A JSON error body `{"error", "error_description"}` with `Cache-Control: no-store`.
async fn assert_api_error(resp: reqwest::Response, status: StatusCode, code: &str, case: &str) {
    assert_eq!(resp.status(), status, "{case}");
    let h = resp.headers().clone();
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{case}"
    );
    assert_eq!(h["cache-control"], "no-store", "{case}");
    if status == StatusCode::UNAUTHORIZED {
        assert!(
            h.contains_key("www-authenticate"),
            "{case}: a 401 carries a challenge"
        );
    }
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], code, "{case}: {body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{case}: {body}"
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "{case}: only error and error_description: {body}"
    );
}

/// A form body, in order, repeats allowed.
type Form<'a> = Vec<(&'a str, String)>;
/// The same with borrowed values, for [`TestApp::post_token`].
type Fields<'a> = Vec<(&'a str, &'a str)>;

fn code_form(code: &str) -> Form<'static> {
    vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.into()),
        ("redirect_uri", CALLBACK.into()),
    ]
}

async fn post_raw(
    app: &TestApp,
    form: &[(&str, String)],
    authorization: Option<&str>,
) -> reqwest::Response {
    let mut req = app.http.post(app.url("/oauth/token")).form(form);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    req.send().await.unwrap()
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// RFC 6749 2.3.1: each part is form-urlencoded before the two are joined and base64-encoded.
fn basic_urlencoded(id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    basic(&enc(id), &enc(secret))
}

#[tokio::test]
async fn client_authentication_failures_are_401_with_a_challenge() {
    let app = spawn_app().await;
    let cb = app.authorize_as("student@sandbox.test", "openid").await;
    let form = code_form(cb.code());
    let with = |extra: &[(&'static str, &str)]| {
        let mut f = form.clone();
        f.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        f
    };
    let cases: Vec<(&str, Form<'_>, Option<String>)> = vec![
        (
            "wrong secret via Basic",
            form.clone(),
            Some(basic(CONFIDENTIAL, "wrong-secret")),
        ),
        (
            "wrong secret via post",
            with(&[("client_id", CONFIDENTIAL), ("client_secret", "wrong")]),
            None,
        ),
        (
            "unknown client via Basic",
            form.clone(),
            Some(basic("no-such-client", SECRET)),
        ),
        (
            "unknown client via post",
            with(&[("client_id", "no-such-client"), ("client_secret", SECRET)]),
            None,
        ),
        ("no authentication at all", form.clone(), None),
        (
            "a confidential client_id without its secret",
            with(&[("client_id", CONFIDENTIAL)]),
            None,
        ),
        (
            "an empty secret via Basic",
            form.clone(),
            Some(basic(CONFIDENTIAL, "")),
        ),
        (
            "Basic that is not base64",
            form.clone(),
            Some("Basic !!!not-base64!!!".into()),
        ),
        (
            "Basic without a colon",
            form.clone(),
            Some(format!("Basic {}", STANDARD.encode("sandbox-confidential"))),
        ),
        (
            "Basic with bad percent-encoding",
            form.clone(),
            Some(basic("sandbox%zzconfidential", SECRET)),
        ),
        (
            "Basic with an empty client id",
            form.clone(),
            Some(basic("", SECRET)),
        ),
        (
            "a secret for a public app",
            with(&[("client_id", PUBLIC), ("client_secret", SECRET)]),
            None,
        ),
        (
            "private_key_jwt, not enabled for the app",
            with(&[
                ("client_id", CONFIDENTIAL),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"),
            ]),
            None,
        ),
    ];
    for (case, form, auth) in cases {
        let resp = post_raw(&app, &form, auth.as_deref()).await;
        assert_api_error(resp, StatusCode::UNAUTHORIZED, "invalid_client", case).await;
    }
    let resp = post_raw(&app, &form, Some(&basic(CONFIDENTIAL, "wrong"))).await;
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Basic "), "{challenge}");

    // Two methods at once is a malformed request, not a failed authentication.
    let resp = post_raw(
        &app,
        &with(&[("client_secret", SECRET)]),
        Some(&basic(CONFIDENTIAL, SECRET)),
    )
    .await;
    assert_api_error(
        resp,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Basic and client_secret",
    )
    .await;
    let resp = post_raw(
        &app,
        &with(&[("client_id", "other-client")]),
        Some(&basic(CONFIDENTIAL, SECRET)),
    )
    .await;
    assert_api_error(
        resp,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Basic and a different client_id",
    )
    .await;

    // None of the failures consumed the code: the right credentials still redeem it.
    let resp = post_raw(&app, &form, Some(&basic(CONFIDENTIAL, SECRET))).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_token_requests_are_400_with_rfc6749_codes() {
    let app = spawn_app().await;
    let auth = Some((CONFIDENTIAL, SECRET));
    let cases: Vec<(&str, Fields<'_>, &str)> = vec![
        (
            "missing grant_type",
            vec![("code", "0123456789abcdef0123456789abcdef")],
            "invalid_request",
        ),
        (
            "unsupported grant_type",
            vec![
                ("grant_type", "password"),
                ("username", "u"),
                ("password", "p"),
            ],
            "unsupported_grant_type",
        ),
        (
            "implicit-style grant_type",
            vec![("grant_type", "client_credentials")],
            "unsupported_grant_type",
        ),
        (
            "missing code",
            vec![
                ("grant_type", "authorization_code"),
                ("redirect_uri", CALLBACK),
            ],
            "invalid_request",
        ),
        (
            "missing redirect_uri",
            vec![
                ("grant_type", "authorization_code"),
                ("code", "0123456789abcdef0123456789abcdef"),
            ],
            "invalid_request",
        ),
        (
            "garbage code",
            vec![
                ("grant_type", "authorization_code"),
                ("code", "not a code at all"),
                ("redirect_uri", CALLBACK),
            ],
            "invalid_grant",
        ),
        (
            "unknown well-shaped code",
            vec![
                ("grant_type", "authorization_code"),
                ("code", "0123456789abcdef0123456789abcdef"),
                ("redirect_uri", CALLBACK),
            ],
            "invalid_grant",
        ),
        (
            "repeated code",
            vec![
                ("grant_type", "authorization_code"),
                ("code", "0123456789abcdef0123456789abcdef"),
                ("code", "fedcba9876543210fedcba9876543210"),
                ("redirect_uri", CALLBACK),
            ],
            "invalid_request",
        ),
        (
            "repeated grant_type",
            vec![
                ("grant_type", "authorization_code"),
                ("grant_type", "authorization_code"),
                ("code", "0123456789abcdef0123456789abcdef"),
                ("redirect_uri", CALLBACK),
            ],
            "invalid_request",
        ),
        (
            "repeated client_id",
            vec![
                ("grant_type", "authorization_code"),
                ("client_id", CONFIDENTIAL),
                ("client_id", CONFIDENTIAL),
            ],
            "invalid_request",
        ),
    ];
    for (case, form, code) in cases {
        let resp = app.post_token(&form, auth).await;
        assert_api_error(resp, StatusCode::BAD_REQUEST, code, case).await;
    }

    let long = "x".repeat(verity_core::authorize::MAX_PARAM_LEN + 1);
    let resp = app
        .post_token(
            &[("grant_type", "authorization_code"), ("code", &long)],
            auth,
        )
        .await;
    assert_api_error(
        resp,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "a parameter over 4096 bytes",
    )
    .await;

    for ct in [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/xml",
    ] {
        let resp = app
            .http
            .post(app.url("/oauth/token"))
            .basic_auth(CONFIDENTIAL, Some(SECRET))
            .header("content-type", ct)
            .body("grant_type=authorization_code&code=x&redirect_uri=y")
            .send()
            .await
            .unwrap();
        assert_api_error(resp, StatusCode::BAD_REQUEST, "invalid_request", ct).await;
    }
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth(CONFIDENTIAL, Some(SECRET))
        .body("grant_type=authorization_code")
        .send()
        .await
        .unwrap();
    assert_api_error(
        resp,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "no content type",
    )
    .await;
}

#[tokio::test]
async fn a_code_issued_to_another_client_is_invalid_grant() {
    let app = spawn_app().await;
    app.create_app("second-confidential", |_| {}).await;
    let cb = app.authorize_as("student@sandbox.test", "openid").await;
    let resp = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", cb.code()),
                ("redirect_uri", CALLBACK),
            ],
            Some(("second-confidential", SECRET)),
        )
        .await;
    assert_api_error(
        resp,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "another client",
    )
    .await;

    // The second app's own code works with the same credentials.
    let url = app.authorize_url(&[
        ("client_id", "second-confidential"),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid"),
    ]);
    let (cb, _) = app
        .journey(
            &new_browser(),
            &url,
            &Journey::persona("student@sandbox.test"),
        )
        .await;
    let resp = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", cb.code()),
                ("redirect_uri", CALLBACK),
            ],
            Some(("second-confidential", SECRET)),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_different_redirect_uri_is_invalid_grant_even_when_registered() {
    let app = spawn_app().await;
    let with_nul = format!("{CALLBACK}\0");
    for redirect_uri in ["http://localhost:8090/callback", with_nul.as_str()] {
        let cb = app.authorize_as("student@sandbox.test", "openid").await;
        let resp = app
            .post_token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", cb.code()),
                    ("redirect_uri", redirect_uri),
                ],
                Some((CONFIDENTIAL, SECRET)),
            )
            .await;
        assert_api_error(
            resp,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri differs",
        )
        .await;
        // The refused presentation consumed the code.
        let again = app.redeem(cb.code()).await;
        assert_api_error(
            again,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "then right",
        )
        .await;
    }
}

#[tokio::test]
async fn a_code_verifier_for_a_code_without_challenge_is_invalid_grant() {
    let app = spawn_app().await;
    let cb = app.authorize_as("student@sandbox.test", "openid").await;
    let verifier = verity_core::secret::new_token().repeat(2);
    let resp = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", cb.code()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", &verifier),
            ],
            Some((CONFIDENTIAL, SECRET)),
        )
        .await;
    assert_api_error(
        resp,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "PKCE downgrade",
    )
    .await;
}

#[tokio::test]
async fn client_secret_post_authenticates() {
    let app = spawn_app().await;
    let cb = app.authorize_as("student@sandbox.test", "openid").await;
    let resp = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", cb.code()),
                ("redirect_uri", CALLBACK),
                ("client_id", CONFIDENTIAL),
                ("client_secret", SECRET),
            ],
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let tokens: Value = resp.json().await.unwrap();
    assert_eq!(tokens["token_type"], "bearer");
    assert!(tokens["id_token"].is_string());
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded_before_base64() {
    let app = spawn_app().await;
    let client = "urn:verity:client%42";
    let odd_secret = "p@ss:w+rd/%&=ü";
    app.create_app(client, |_| {}).await;
    app.store
        .insert_app_secret(
            "odd-secret",
            client,
            &verity_core::secret::token_hash(odd_secret),
            0,
        )
        .await
        .unwrap();
    let authorize = app.authorize_url(&[
        ("client_id", client),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid"),
    ]);
    let new_code = || async {
        let (cb, _) = app
            .journey(
                &new_browser(),
                &authorize,
                &Journey::persona("student@sandbox.test"),
            )
            .await;
        cb.code().to_owned()
    };

    // Sent raw, the id's ':' splits in the wrong place: no such client.
    let code = new_code().await;
    let resp = post_raw(&app, &code_form(&code), Some(&basic(client, SECRET))).await;
    assert_api_error(
        resp,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "not urlencoded",
    )
    .await;
    let resp = post_raw(
        &app,
        &code_form(&code),
        Some(&basic_urlencoded(client, SECRET)),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK, "urlencoded id");
    let tokens: Value = resp.json().await.unwrap();
    let id = verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.issuer,
        client,
    );
    assert_eq!(id["aud"], client);

    let code = new_code().await;
    let resp = post_raw(
        &app,
        &code_form(&code),
        Some(&basic_urlencoded(client, odd_secret)),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK, "urlencoded id and secret");

    // The same client authenticates with client_secret_post, where the form encoding is the
    // body's own.
    let code = new_code().await;
    let mut form = code_form(&code);
    form.push(("client_id", client.into()));
    form.push(("client_secret", odd_secret.into()));
    let resp = post_raw(&app, &form, None).await;
    assert_eq!(resp.status(), StatusCode::OK, "client_secret_post");
}

#[tokio::test]
async fn bearer_endpoints_refuse_missing_invalid_and_misplaced_tokens() {
    let app = spawn_app().await;
    let tokens = app
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    for path in [
        "/api/public/v3/userinfo",
        "/api/public/v3/userinfo.json",
        "/api/public/v3/attributes.json",
    ] {
        let resp = app.http.get(app.url(path)).send().await.unwrap();
        let challenge = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.starts_with("Bearer"), "{path}: {challenge}");
        // RFC 6750 3.1: no error code when the request had no token at all.
        assert!(!challenge.contains("error="), "{path}: {challenge}");
        assert_api_error(resp, StatusCode::UNAUTHORIZED, "invalid_token", path).await;

        for (case, token) in [
            ("garbage", "not-a-token"),
            ("unknown", "0123456789abcdef0123456789abcdef"),
            ("a refresh token", refresh),
        ] {
            let resp = app.get_bearer(path, token).await;
            let challenge = resp.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                challenge.starts_with("Bearer") && challenge.contains(r#"error="invalid_token""#),
                "{path} {case}: {challenge}"
            );
            assert_api_error(resp, StatusCode::UNAUTHORIZED, "invalid_token", case).await;
        }

        let resp = app
            .http
            .get(app.url(&format!("{path}?access_token={access}")))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_api_error(
            resp,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "header and query",
        )
        .await;

        let resp = app
            .http
            .get(app.url(&format!("{path}?access_token={access}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}?access_token=");
        let resp = app.get_bearer(path, access).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path} with the header");
    }
}

#[tokio::test]
async fn policies_lists_the_apps_policies_for_the_right_secret_only() {
    let app = spawn_app().await;
    let resp = app
        .http
        .get(app.url("/api/public/v3/policies"))
        .query(&[("client_id", CONFIDENTIAL), ("client_secret", SECRET)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let list: Vec<Value> = resp.json().await.unwrap();
    let sandbox = app.store.find_app(CONFIDENTIAL).await.unwrap().unwrap();
    let handles: Vec<&str> = list.iter().map(|p| p["handle"].as_str().unwrap()).collect();
    assert_eq!(handles, sandbox.policies);
    // ID.me's demo client asks for `policies.json`: the same answer.
    let json_form: Vec<Value> = app
        .http
        .get(app.url("/api/public/v3/policies.json"))
        .query(&[("client_id", CONFIDENTIAL), ("client_secret", SECRET)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json_form, list);
    for p in &list {
        let mut keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["active", "groups", "handle", "name"], "{p}");
        assert!(p["name"].as_str().is_some_and(|n| !n.is_empty()), "{p}");
        assert_eq!(p["active"], true, "{p}");
        for g in p["groups"].as_array().unwrap() {
            assert!(g["name"].is_string() && g["handle"].is_string(), "{g}");
            assert!(g["subgroups"].is_array(), "{g}");
        }
    }
    let military = list.iter().find(|p| p["handle"] == "military").unwrap();
    assert_eq!(military["groups"][0]["handle"], "military");
    assert!(
        military["groups"][0]["subgroups"]
            .as_array()
            .unwrap()
            .contains(&Value::from("Veteran"))
    );
    let openid = list.iter().find(|p| p["handle"] == "openid").unwrap();
    assert_eq!(openid["groups"], serde_json::json!([]));

    // A reduced app lists only its own.
    app.create_app("reduced-app", |a| {
        a.policies = vec!["openid".into(), "student".into()];
    })
    .await;
    let list: Vec<Value> = app
        .http
        .get(app.url("/api/public/v3/policies"))
        .query(&[("client_id", "reduced-app"), ("client_secret", SECRET)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let handles: Vec<&str> = list.iter().map(|p| p["handle"].as_str().unwrap()).collect();
    assert_eq!(handles, ["openid", "student"]);

    for (case, query) in [
        (
            "wrong secret",
            vec![("client_id", CONFIDENTIAL), ("client_secret", "wrong")],
        ),
        ("no secret", vec![("client_id", CONFIDENTIAL)]),
        (
            "unknown client",
            vec![("client_id", "no-such-app"), ("client_secret", SECRET)],
        ),
        ("nothing", vec![]),
    ] {
        let resp = app
            .http
            .get(app.url("/api/public/v3/policies"))
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_api_error(resp, StatusCode::UNAUTHORIZED, "invalid_client", case).await;
    }
}
