//! Discovery, JWKS, health (SPEC section 2).

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn discovery_document_names_every_endpoint() {
    let app = spawn_app().await;
    let resp = app
        .http
        .get(app.url("/oidc/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let d: Value = resp.json().await.unwrap();
    assert_eq!(d["issuer"], app.issuer.as_str());
    for (field, path) in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("userinfo_endpoint", "/api/public/v3/userinfo"),
        ("jwks_uri", "/oidc/.well-known/jwks"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("introspection_endpoint", "/oauth/introspect"),
        ("end_session_endpoint", "/oauth/logout"),
    ] {
        assert_eq!(d[field], app.url(path).as_str(), "{field}");
    }
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    let scopes: Vec<&str> = d["scopes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for s in [
        "openid",
        "profile",
        "email",
        "offline_access",
        "military",
        IDENTITY_POLICY,
    ] {
        assert!(scopes.contains(&s), "{s}");
    }
}

#[tokio::test]
async fn jwks_publishes_rs256_and_es256_with_thumbprint_kids() {
    let app = spawn_app().await;
    let resp = app
        .http
        .get(app.url("/oidc/.well-known/jwks"))
        .send()
        .await
        .unwrap();
    let cc = resp.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(cc.starts_with("public, max-age="), "{cc}");
    let jwks: Value = resp.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert!(algs.contains(&"RS256") && algs.contains(&"ES256"));
    for k in keys {
        assert_eq!(k["use"], "sig");
        // RFC 7638 thumbprints are 43 base64url characters (SHA-256).
        assert_eq!(k["kid"].as_str().unwrap().len(), 43);
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "no private parts"
        );
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    app.store.close().await;
    assert_eq!(
        app.http
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_paths_answer_json_404() {
    let app = spawn_app().await;
    let resp = app.http.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "not_found");
}

/// A browser app reads discovery and the JWKS from any origin (CORS, no credentials), preflight
/// included; the token endpoint and the admin API do not answer CORS for an unknown origin.
#[tokio::test]
async fn browser_apps_read_discovery_and_keys_from_any_origin() {
    let app = spawn_app().await;
    let origin = "https://spa.example";
    for path in [
        "/oidc/.well-known/openid-configuration",
        "/oidc/.well-known/jwks",
    ] {
        let resp = app
            .http
            .get(app.url(path))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["access-control-allow-origin"], "*", "{path}");
        assert!(
            !resp
                .headers()
                .contains_key("access-control-allow-credentials")
        );
        let preflight = app
            .http
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap();
        assert!(
            preflight.status().is_success(),
            "{path}: {}",
            preflight.status()
        );
        assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
        let methods = preflight.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap();
        assert!(methods.contains("GET"), "{methods}");
    }
    // The token endpoint answers CORS per app (tests in `cors`); these never do.
    for path in ["/oauth/introspect", "/api/admin/v1/openapi.json"] {
        let resp = app
            .http
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert!(
            !resp.headers().contains_key("access-control-allow-origin"),
            "{path}"
        );
    }
}
