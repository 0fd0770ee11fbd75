//! RFC 9126 pushed authorization requests and RFC 9101 request objects, exchanged by hand as the
//! RFCs show them (the `openidconnect` crate speaks neither). Request objects are signed with
//! `jsonwebtoken`, an implementation independent of Verity's.

use reqwest::StatusCode;
use serde_json::{Value, json};
use verity_core::clock::Clock;
use verity_core::keys::{Alg, SigningKey};
use verity_core::pkce::s256;

use crate::helpers::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// A request object signed by `jsonwebtoken` with the app's ES256 key (PKCS#8 DER).
fn sign(der: &[u8], kid: &str, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    header.typ = Some("oauth-authz-req+jwt".to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_ec_der(der),
    )
    .unwrap()
}

fn public_set(key: &SigningKey) -> String {
    json!({"keys": [serde_json::to_value(key.jwk()).unwrap()]}).to_string()
}

/// The parameters of a code request with PKCE, as pushed or put in an object.
fn request_params(client_id: &str, state: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", client_id.into()),
        ("response_type", "code".into()),
        ("redirect_uri", CALLBACK.into()),
        ("scope", "openid".into()),
        ("state", state.into()),
        ("nonce", format!("nonce-{state}")),
        ("code_challenge", s256(VERIFIER)),
        ("code_challenge_method", "S256".into()),
    ]
}

fn object_claims(app: &TestApp, client_id: &str, state: &str, jti: &str) -> Value {
    let now = app.clock.now();
    let mut claims = json!({
        "iss": client_id, "aud": app.issuer, "iat": now, "nbf": now, "exp": now + 300,
        "jti": jti,
    });
    for (k, v) in request_params(client_id, state) {
        claims[k] = json!(v);
    }
    claims
}

async fn push(app: &TestApp, client_id: &str, form: &[(&str, String)]) -> reqwest::Response {
    app.http
        .post(app.url("/oauth/par"))
        .basic_auth(client_id, Some(SECRET))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Pushes `form` and answers the `request_uri`, checking the RFC 9126 2.2 answer.
async fn pushed_uri(app: &TestApp, client_id: &str, form: &[(&str, String)]) -> String {
    let resp = push(app, client_id, form).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 60);
    let uri = body["request_uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with(REQUEST_URI_PREFIX), "{uri}");
    uri
}

/// Signs in through `url` and redeems the code with PKCE; answers the callback and the tokens.
async fn complete(app: &TestApp, client_id: &str, url: &str) -> (Callback, Value) {
    let (cb, _) = app
        .journey(
            &new_browser(),
            url,
            &Journey::persona("veteran@sandbox.test"),
        )
        .await;
    let resp = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", cb.code()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", VERIFIER),
            ],
            Some((client_id, SECRET)),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    (cb, resp.json().await.unwrap())
}

async fn error_page(app: &TestApp, url: &str, code: &str, case: &str) {
    let resp = app.http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{case}");
    let html = resp.text().await.unwrap();
    assert!(html.contains(code), "{case}: {html}");
}

fn redirected_error(resp: &reqwest::Response, code: &str, case: &str) {
    assert_eq!(resp.status(), StatusCode::FOUND, "{case}");
    let loc = location(resp).unwrap();
    assert!(loc.starts_with(CALLBACK), "{case}: {loc}");
    let params = query_pairs(&loc);
    assert!(
        params.contains(&("error".into(), code.into())),
        "{case}: {loc}"
    );
}

/// An app that must push: its plain requests are refused, a pushed one completes the code flow
/// with the pushed state, nonce and PKCE challenge, and its request_uri works once.
#[tokio::test]
async fn a_pushed_request_is_the_authorization_request_once() {
    let app = spawn_app().await;
    app.create_app("par-app", |a| {
        a.require_pushed_authorization_requests = true
    })
    .await;
    let discovery = app.discovery().await;
    assert_eq!(
        discovery["pushed_authorization_request_endpoint"],
        app.url("/oauth/par")
    );
    assert_eq!(discovery["request_parameter_supported"], true);
    assert_eq!(
        discovery["request_object_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );

    let plain = request_params("par-app", "plain");
    let resp = app
        .http
        .get(app.authorize_url(&as_pairs(&plain)))
        .send()
        .await
        .unwrap();
    redirected_error(
        &resp,
        "invalid_request",
        "a plain request of an app that must push",
    );

    let uri = pushed_uri(&app, "par-app", &request_params("par-app", "pushed")).await;
    let url = app.authorize_url(&[("client_id", "par-app"), ("request_uri", &uri)]);
    let (cb, tokens) = complete(&app, "par-app", &url).await;
    assert_eq!(cb.get("state"), Some("pushed"));
    let claims = verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.issuer,
        "par-app",
    );
    assert_eq!(claims["nonce"], "nonce-pushed");

    error_page(
        &app,
        &url,
        "invalid_request_uri",
        "the request_uri used again",
    )
    .await;
}

/// What the pushed authorization request endpoint refuses, as JSON (never a redirect), and
/// request_uris that are late, another app's, or not Verity's.
#[tokio::test]
async fn pushed_requests_are_checked_when_pushed_and_when_used() {
    let app = spawn_app().await;
    app.create_app("par-a", |_| {}).await;
    app.create_app("par-b", |_| {}).await;
    let good = request_params("par-a", "s");

    let resp = app
        .http
        .post(app.url("/oauth/par"))
        .basic_auth("par-a", Some("wrong secret"))
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );

    let with = |name: &'static str, value: &str| {
        let mut form: Vec<(&str, String)> =
            good.iter().filter(|(k, _)| *k != name).cloned().collect();
        form.push((name, value.to_owned()));
        form
    };
    for (case, form, code) in [
        (
            "a request_uri pushed",
            with("request_uri", "urn:ietf:params:oauth:request_uri:x"),
            "invalid_request",
        ),
        (
            "an unregistered redirect_uri",
            with("redirect_uri", "https://attacker.example/cb"),
            "invalid_request",
        ),
        (
            "another app's client_id",
            with("client_id", "par-b"),
            "invalid_request",
        ),
        (
            "a policy the app lacks",
            with("scope", "openid nope"),
            "invalid_scope",
        ),
        (
            "no response_type",
            with("response_type", ""),
            "invalid_request",
        ),
        (
            "a request object that is not signed",
            with("request", "eyJhbGciOiJub25lIn0.e30."),
            "invalid_request_object",
        ),
    ] {
        let resp = push(&app, "par-a", &form).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{case}");
        assert!(resp.headers().get("location").is_none(), "{case}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], code, "{case}: {body}");
    }

    // Late: a request_uri lives 60 seconds.
    let uri = pushed_uri(&app, "par-a", &good).await;
    app.clock.advance(61);
    let url = app.authorize_url(&[("client_id", "par-a"), ("request_uri", &uri)]);
    error_page(&app, &url, "invalid_request_uri", "an expired request_uri").await;

    // Another app's: refused, and not usable afterwards by its own app either (taken once).
    let uri = pushed_uri(&app, "par-a", &good).await;
    let url = app.authorize_url(&[("client_id", "par-b"), ("request_uri", &uri)]);
    error_page(
        &app,
        &url,
        "invalid_request_uri",
        "another app's request_uri",
    )
    .await;

    let url = app.authorize_url(&[
        ("client_id", "par-a"),
        (
            "request_uri",
            &format!("{REQUEST_URI_PREFIX}0123456789abcdef0123456789abcdef"),
        ),
    ]);
    error_page(
        &app,
        &url,
        "invalid_request_uri",
        "a request_uri never issued",
    )
    .await;
}

/// Request objects by value (RFC 9101): the object is the request (the outer state is ignored),
/// used once; unsigned, foreign, late or missing objects are refused with invalid_request_object
/// or invalid_request.
#[tokio::test]
async fn signed_request_objects_by_value_and_pushed() {
    let app = spawn_app().await;
    let (key, der) = SigningKey::generate(Alg::ES256).unwrap();
    let keys = public_set(&key);
    app.create_app("jar-app", move |a| {
        a.jwks = Some(keys);
        a.require_signed_request_object = true;
    })
    .await;
    let object = sign(
        &der,
        key.kid(),
        &object_claims(&app, "jar-app", "inside", "jti-1"),
    );
    let outer = |object: &str| {
        app.authorize_url(&[
            ("client_id", "jar-app"),
            ("request", object),
            ("redirect_uri", CALLBACK),
            ("state", "outside"),
        ])
    };
    let (cb, _) = complete(&app, "jar-app", &outer(&object)).await;
    assert_eq!(
        cb.get("state"),
        Some("inside"),
        "only the object's parameters count"
    );

    let replay = app.http.get(outer(&object)).send().await.unwrap();
    redirected_error(&replay, "invalid_request_object", "the object used again");

    let plain = request_params("jar-app", "plain");
    let resp = app
        .http
        .get(app.authorize_url(&as_pairs(&plain)))
        .send()
        .await
        .unwrap();
    redirected_error(
        &resp,
        "invalid_request",
        "no object for an app that requires one",
    );

    let (stranger, stranger_der) = SigningKey::generate(Alg::ES256).unwrap();
    let late = {
        let mut c = object_claims(&app, "jar-app", "late", "jti-late");
        c["exp"] = json!(app.clock.now() - 120);
        c
    };
    let wrong_aud = {
        let mut c = object_claims(&app, "jar-app", "aud", "jti-aud");
        c["aud"] = json!("https://elsewhere.example");
        c
    };
    let unsigned = format!(
        "eyJhbGciOiJub25lIn0.{}.",
        base64_url(
            object_claims(&app, "jar-app", "none", "jti-none")
                .to_string()
                .as_bytes()
        )
    );
    for (case, object) in [
        (
            "signed by a key the app never registered",
            sign(
                &stranger_der,
                stranger.kid(),
                &object_claims(&app, "jar-app", "x", "jti-x"),
            ),
        ),
        ("expired", sign(&der, key.kid(), &late)),
        ("for another audience", sign(&der, key.kid(), &wrong_aud)),
        ("alg none", unsigned),
        ("not a JWT", "garbage".to_owned()),
    ] {
        let resp = app.http.get(outer(&object)).send().await.unwrap();
        redirected_error(&resp, "invalid_request_object", case);
    }
    // Without an outer redirect_uri there is nowhere trusted to send the error: a page.
    let bare = app.authorize_url(&[("client_id", "jar-app"), ("request", "garbage")]);
    error_page(
        &app,
        &bare,
        "invalid_request_object",
        "no outer redirect_uri",
    )
    .await;

    // Pushed as an object: accepted once at /oauth/par; a plain push is refused.
    let pushed = sign(
        &der,
        key.kid(),
        &object_claims(&app, "jar-app", "pushed", "jti-2"),
    );
    let uri = pushed_uri(&app, "jar-app", &[("request", pushed.clone())]).await;
    let url = app.authorize_url(&[("client_id", "jar-app"), ("request_uri", &uri)]);
    let (cb, _) = complete(&app, "jar-app", &url).await;
    assert_eq!(cb.get("state"), Some("pushed"));
    let again = push(&app, "jar-app", &[("request", pushed)]).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        again.json::<Value>().await.unwrap()["error"],
        "invalid_request_object"
    );
    let plain_push = push(&app, "jar-app", &request_params("jar-app", "p")).await;
    assert_eq!(plain_push.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        plain_push.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

/// RFC 9126 2: every client authentication of the token endpoint pushes: client_secret_post, a
/// public app's `none` (its PKCE is in the pushed request), and private_key_jwt (whose assertion,
/// audience the issuer, is single use like any other).
#[tokio::test]
async fn every_client_authentication_pushes() {
    let app = spawn_app().await;
    app.create_app("par-post", |_| {}).await;
    app.create_app("par-public", |a| a.public = true).await;
    let (key, _) = SigningKey::generate(Alg::ES256).unwrap();
    let keys = public_set(&key);
    app.create_app("par-jwt", move |a| a.jwks = Some(keys))
        .await;

    let post = |client: &str| {
        let mut form = request_params(client, "post");
        form.push(("client_secret", SECRET.into()));
        form
    };
    let public = |client: &str| request_params(client, "public");
    let now = app.clock.now();
    let assertion = key
        .sign_jwt(
            "JWT",
            &json!({"iss": "par-jwt", "sub": "par-jwt", "aud": app.issuer, "iat": now,
                    "exp": now + 60, "jti": "assertion-1"}),
        )
        .unwrap();
    let jwt = |client: &str| {
        let mut form = request_params(client, "jwt");
        form.push((
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
        ));
        form.push(("client_assertion", assertion.clone()));
        form
    };
    for (client, form) in [
        ("par-post", post("par-post")),
        ("par-public", public("par-public")),
        ("par-jwt", jwt("par-jwt")),
    ] {
        let resp = app
            .http
            .post(app.url("/oauth/par"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED, "{client}");
        let uri: Value = resp.json().await.unwrap();
        let url = app.authorize_url(&[
            ("client_id", client),
            ("request_uri", uri["request_uri"].as_str().unwrap()),
        ]);
        let (cb, _) = app
            .journey(
                &new_browser(),
                &url,
                &Journey::persona("veteran@sandbox.test"),
            )
            .await;
        assert!(!cb.code().is_empty(), "{client}");
    }
    // The assertion was used: pushing with it again is refused as a replay.
    let resp = app
        .http
        .post(app.url("/oauth/par"))
        .form(&jwt("par-jwt"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
}

/// Request objects verified with keys fetched from the app's `jwks_uri`: the served key works,
/// and after the app rotates its key, an object signed with the new one is verified once the
/// keys are fetched again (at most once a minute).
#[tokio::test]
async fn request_objects_are_verified_with_the_keys_at_the_jwks_uri() {
    use std::sync::{Arc, Mutex};
    let app = spawn_app().await;
    let (first, first_der) = SigningKey::generate(Alg::ES256).unwrap();
    let (second, second_der) = SigningKey::generate(Alg::ES256).unwrap();
    let served = Arc::new(Mutex::new(json!({"keys": [first.jwk()]})));
    let doc = served.clone();
    let router = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc.lock().unwrap().clone()) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_uri = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    app.create_app("jar-uri", |a| {
        a.jwks_uri = Some(jwks_uri);
        a.require_signed_request_object = true;
    })
    .await;
    let by_value = |object: &str| {
        app.authorize_url(&[
            ("client_id", "jar-uri"),
            ("request", object),
            ("redirect_uri", CALLBACK),
        ])
    };
    let object = sign(
        &first_der,
        first.kid(),
        &object_claims(&app, "jar-uri", "one", "u-1"),
    );
    let (cb, _) = complete(&app, "jar-uri", &by_value(&object)).await;
    assert_eq!(cb.get("state"), Some("one"));

    *served.lock().unwrap() = json!({"keys": [second.jwk()]});
    app.clock.advance(61);
    let object = sign(
        &second_der,
        second.kid(),
        &object_claims(&app, "jar-uri", "two", "u-2"),
    );
    let (cb, _) = complete(&app, "jar-uri", &by_value(&object)).await;
    assert_eq!(
        cb.get("state"),
        Some("two"),
        "the rotated key, fetched again"
    );

    let (stranger, stranger_der) = SigningKey::generate(Alg::ES256).unwrap();
    let object = sign(
        &stranger_der,
        stranger.kid(),
        &object_claims(&app, "jar-uri", "x", "u-3"),
    );
    let resp = app.http.get(by_value(&object)).send().await.unwrap();
    redirected_error(
        &resp,
        "invalid_request_object",
        "a key the jwks_uri does not serve",
    );
}
