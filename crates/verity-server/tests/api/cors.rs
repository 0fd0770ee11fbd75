//! Browser apps (issue 28, SPEC 11): CORS on the token, userinfo and revocation endpoints for
//! the origins of an app's redirect URIs and its `allowed_origins` only; preflights answered;
//! never credentials; no CORS on introspection or the admin API; `allowed_origins` registered
//! through the admin API, checked and normalized.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// The origin of `CALLBACK`, the sandbox apps' redirect URI.
const APP_ORIGIN: &str = "http://127.0.0.1:8090";
const OTHER_ORIGIN: &str = "https://evil.example";
const PERSONA: &str = "student@sandbox.test";
const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

fn assert_readable_by(resp: &reqwest::Response, origin: &str) {
    assert_eq!(
        header(resp, "access-control-allow-origin"),
        Some(origin),
        "{:?}",
        resp.headers()
    );
    assert_eq!(header(resp, "vary"), Some("Origin"));
    assert_eq!(header(resp, "access-control-allow-credentials"), None);
}

fn assert_not_readable(resp: &reqwest::Response) {
    assert_eq!(header(resp, "access-control-allow-origin"), None);
    assert_eq!(header(resp, "access-control-allow-credentials"), None);
}

/// `POST path` with an `Origin`, a form, and Basic credentials when given.
async fn post_from(
    app: &TestApp,
    path: &str,
    origin: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url(path))
        .header("origin", origin)
        .form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    req.send().await.unwrap()
}

const CONFIDENTIAL_AUTH: Option<(&str, &str)> = Some((CONFIDENTIAL, SECRET));

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> reqwest::Response {
    app.http
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization, content-type, dpop",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn preflights_name_the_methods_and_headers_without_credentials() {
    let app = spawn_app().await;
    for (path, method) in [
        ("/oauth/token", "POST"),
        ("/oauth/revoke", "POST"),
        ("/api/public/v3/userinfo", "GET"),
        ("/api/public/v3/attributes.json", "GET"),
    ] {
        let resp = preflight(&app, path, APP_ORIGIN, method).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT, "{path}");
        assert_readable_by(&resp, APP_ORIGIN);
        let methods = header(&resp, "access-control-allow-methods").unwrap();
        assert!(methods.contains(method), "{path}: {methods}");
        let allowed = header(&resp, "access-control-allow-headers").unwrap();
        for h in ["authorization", "content-type", "dpop"] {
            assert!(allowed.contains(h), "{path}: {allowed}");
        }
    }
    // Introspection and the admin API answer no CORS, preflight or not.
    for path in ["/oauth/introspect", "/api/admin/v1/organizations"] {
        let resp = preflight(&app, path, APP_ORIGIN, "POST").await;
        assert_not_readable(&resp);
        assert_eq!(
            header(&resp, "access-control-allow-methods"),
            None,
            "{path}"
        );
    }
}

#[tokio::test]
async fn token_answers_are_readable_by_the_apps_origins_only() {
    let app = spawn_app().await;
    let cb = app.authorize_as(PERSONA, "openid").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", cb.code()),
        ("redirect_uri", CALLBACK),
    ];
    // A page on another origin: the tokens are issued, but its browser may not read them.
    let other = post_from(&app, "/oauth/token", OTHER_ORIGIN, &form, CONFIDENTIAL_AUTH).await;
    assert_eq!(other.status(), StatusCode::OK);
    assert_not_readable(&other);
    assert_eq!(header(&other, "vary"), Some("Origin"));
    // The app's own origin reads a success and an error alike.
    let cb = app.authorize_as(PERSONA, "openid").await;
    let own = post_from(
        &app,
        "/oauth/token",
        APP_ORIGIN,
        &[
            ("grant_type", "authorization_code"),
            ("code", cb.code()),
            ("redirect_uri", CALLBACK),
        ],
        CONFIDENTIAL_AUTH,
    )
    .await;
    assert_eq!(own.status(), StatusCode::OK);
    assert_readable_by(&own, APP_ORIGIN);
    let tokens: Value = own.json().await.unwrap();
    let replay = post_from(&app, "/oauth/token", APP_ORIGIN, &form, CONFIDENTIAL_AUTH).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_readable_by(&replay, APP_ORIGIN);
    // `null` (a sandboxed frame, a file) and a look-alike are never an app's origin.
    for origin in [
        "null",
        "http://127.0.0.1:8091",
        "http://127.0.0.1:8090.evil.example",
    ] {
        let resp = post_from(
            &app,
            "/oauth/revoke",
            origin,
            &[("token", "0".repeat(32).as_str())],
            CONFIDENTIAL_AUTH,
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK, "{origin}");
        assert_not_readable(&resp);
    }

    // Userinfo and attributes: the token's app decides.
    let access = tokens["access_token"].as_str().unwrap();
    for path in ["/api/public/v3/userinfo", "/api/public/v3/attributes.json"] {
        for (origin, readable) in [(APP_ORIGIN, true), (OTHER_ORIGIN, false)] {
            let resp = app
                .http
                .get(app.url(path))
                .bearer_auth(access)
                .header("origin", origin)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            if readable {
                assert_readable_by(&resp, origin);
            } else {
                assert_not_readable(&resp);
            }
        }
    }
    // An unknown token names no app, so no origin reads the refusal.
    let refused = app
        .http
        .get(app.url("/api/public/v3/userinfo"))
        .bearer_auth("0".repeat(32))
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_not_readable(&refused);

    // Revocation, then introspection, which never answers CORS.
    let revoked = post_from(
        &app,
        "/oauth/revoke",
        APP_ORIGIN,
        &[("token", access)],
        CONFIDENTIAL_AUTH,
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_readable_by(&revoked, APP_ORIGIN);
    let introspected = post_from(
        &app,
        "/oauth/introspect",
        APP_ORIGIN,
        &[("token", access)],
        CONFIDENTIAL_AUTH,
    )
    .await;
    assert_eq!(introspected.status(), StatusCode::OK);
    assert_not_readable(&introspected);
}

#[tokio::test]
async fn allowed_origins_are_registered_checked_and_honoured() {
    let app =
        spawn_with(|s| s.admin_token = Some(verity_server::settings::Secret(ADMIN_TOKEN.into())))
            .await;
    let org = app.create_app("cors-probe", |_| {}).await.org_id;
    let create = |body: Value| {
        app.http
            .post(app.url(&format!("/api/admin/v1/organizations/{org}/apps")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
    };
    let base = json!({
        "name": "Single-page app", "redirect_uris": ["https://spa.example.com/callback.html"],
        "policies": ["openid"], "profile": "oidc", "public": true,
    });
    // Refused, each with a sentence naming the origin.
    let mut bad = base.clone();
    bad["allowed_origins"] = json!(["https://spa.example.com/app", "admin.example.com"]);
    let resp = create(bad).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let error: Value = resp.json().await.unwrap();
    let text = error["error_description"].as_str().unwrap();
    assert!(
        text.contains("https://spa.example.com/app") && text.contains("\"admin.example.com\""),
        "{text}"
    );
    // Accepted in the serialized form a browser sends.
    let mut good = base.clone();
    good["allowed_origins"] = json!(["https://Admin.Example.com/", "https://admin.example.com"]);
    let resp = create(good).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(
        created["allowed_origins"],
        json!(["https://admin.example.com"])
    );
    let client_id = created["client_id"].as_str().unwrap();

    // The listed origin reads the token endpoint's answer (here a refusal), the redirect
    // URI's origin too, another not.
    for (origin, readable) in [
        ("https://admin.example.com", true),
        ("https://spa.example.com", true),
        (OTHER_ORIGIN, false),
    ] {
        let resp = post_from(
            &app,
            "/oauth/token",
            origin,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", client_id),
                ("code", "0".repeat(32).as_str()),
                ("redirect_uri", "https://spa.example.com/callback.html"),
                ("code_verifier", "x".repeat(43).as_str()),
            ],
            None,
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{origin}");
        if readable {
            assert_readable_by(&resp, origin);
        } else {
            assert_not_readable(&resp);
        }
    }
    // Cleared through PATCH: the origin no longer reads.
    let resp = app
        .http
        .patch(app.url(&format!("/api/admin/v1/apps/{client_id}")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"allowed_origins": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = post_from(
        &app,
        "/oauth/token",
        "https://admin.example.com",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", "0".repeat(32).as_str()),
        ],
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_not_readable(&resp);
}
