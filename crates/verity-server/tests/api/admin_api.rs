//! The admin API of SPEC section 11 over HTTP: every route's success, validation errors, 401, 404
//! and 409; the OpenAPI document against the routes; a registered app used for a real sign-in.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const TOKEN: &str = "test-admin-token-0123456789";

async fn admin_app() -> TestApp {
    spawn_with(|s| s.admin_token = Some(verity_server::settings::Secret(TOKEN.into()))).await
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .request(method, app.url(&format!("/api/admin/v1{path}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn ok(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    call(app, method, path, body, Some(TOKEN)).await
}

fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, what: &str) {
    assert_eq!(status, expected, "{what}: {body}");
    assert!(
        body["error"].is_string() && body["error_description"].is_string(),
        "{what}: {body}"
    );
}

#[tokio::test]
async fn every_route_answers_success_validation_401_404_and_409() {
    let app = admin_app().await;
    // 401 without and with a wrong token, on every documented route.
    let doc: Value = app
        .http
        .get(app.url("/api/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            let concrete = path
                .replace("{id}", "x")
                .replace("{client_id}", "x")
                .replace("{uuid}", "x")
                .replace("{group}", "military");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (s, b) = call(&app, m.clone(), &concrete, Some(json!({})), None).await;
            assert_error(
                s,
                &b,
                StatusCode::UNAUTHORIZED,
                &format!("{method} {path} without a token"),
            );
            let (s, b) = call(&app, m, &concrete, Some(json!({})), Some("wrong-token")).await;
            assert_error(
                s,
                &b,
                StatusCode::UNAUTHORIZED,
                &format!("{method} {path} with a wrong token"),
            );
        }
    }

    // Organizations.
    let (s, org) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": "Acme Health"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{org}");
    let org_id = org["id"].as_str().unwrap().to_owned();
    assert_eq!(org["name"], "Acme Health");
    let (s, b) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": "Acme Health"})),
    )
    .await;
    assert_error(s, &b, StatusCode::CONFLICT, "duplicate organization");
    let (s, b) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": ""})),
    )
    .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "empty name");
    let (s, b) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"nom": "x"})),
    )
    .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "unknown field");
    let resp = app
        .http
        .post(app.url("/api/admin/v1/organizations"))
        .bearer_auth(TOKEN)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // Apps.
    let (s, b) = ok(&app, Method::GET, "/organizations/nope/apps", None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown organization");
    let new_app = json!({
        "name": "Acme Portal", "redirect_uris": ["https://portal.acme.test/callback", "http://127.0.0.1:8090/callback"],
        "policies": ["openid", "military"], "profile": "oidc", "public": false, "refresh_tokens": true
    });
    let (s, created) = ok(
        &app,
        Method::POST,
        &format!("/organizations/{org_id}/apps"),
        Some(new_app.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    assert!(
        verity_core::secret::is_token_shaped(&client_id),
        "client_id is 32 lowercase hex"
    );
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(created["profile"], "oidc");
    let (s, b) = ok(
        &app,
        Method::POST,
        "/organizations/nope/apps",
        Some(new_app.clone()),
    )
    .await;
    assert_error(
        s,
        &b,
        StatusCode::NOT_FOUND,
        "app in an unknown organization",
    );
    let bad = json!({"name": "Bad", "redirect_uris": ["javascript:alert(1)", "https://a.test/cb#frag", "relative/cb"], "policies": ["nope"]});
    let (s, b) = ok(
        &app,
        Method::POST,
        &format!("/organizations/{org_id}/apps"),
        Some(bad),
    )
    .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "bad redirect URIs");
    let d = b["error_description"].as_str().unwrap();
    for part in [
        "javascript:alert(1)",
        "https://a.test/cb#frag",
        "relative/cb",
        "unknown policy",
    ] {
        assert!(d.contains(part), "a message per rejected value: {d}");
    }
    let (s, list) = ok(
        &app,
        Method::GET,
        &format!("/organizations/{org_id}/apps"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(
        !list.to_string().contains(&secret),
        "no secrets in listings"
    );
    let (s, read) = ok(&app, Method::GET, &format!("/apps/{client_id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(read.get("client_secret").is_none());
    let (s, b) = ok(&app, Method::GET, "/apps/unknown", None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown app");
    let (s, patched) = ok(
        &app,
        Method::PATCH,
        &format!("/apps/{client_id}"),
        Some(json!({"name": "Acme Portal 2", "access_ttl": 600})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "Acme Portal 2");
    assert_eq!(patched["access_ttl"], 600);
    assert_eq!(
        patched["redirect_uris"], new_app["redirect_uris"],
        "absent fields keep their value"
    );
    let (s, b) = ok(
        &app,
        Method::PATCH,
        &format!("/apps/{client_id}"),
        Some(json!({"access_ttl": 5})),
    )
    .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "ttl out of range");
    let (s, b) = ok(
        &app,
        Method::PATCH,
        "/apps/unknown",
        Some(json!({"name": "x"})),
    )
    .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "patch unknown app");

    // Secrets.
    let (s, second) = ok(
        &app,
        Method::POST,
        &format!("/apps/{client_id}/secrets"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(second["id"].is_string() && second["client_secret"].is_string());
    let (s, b) = ok(
        &app,
        Method::DELETE,
        &format!("/apps/{client_id}/secrets/nope"),
        None,
    )
    .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown secret");
    let (s, b) = ok(&app, Method::POST, "/apps/unknown/secrets", None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "secret for unknown app");
    let (s, _) = ok(
        &app,
        Method::DELETE,
        &format!(
            "/apps/{client_id}/secrets/{}",
            second["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Users and verifications.
    let (s, user) = ok(&app, Method::POST, "/users", Some(json!({"email": "new.vet@example.test", "password": "long enough password", "attributes": {"fname": "Ada", "zip": null, "military_branch": "Army"}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{user}");
    let uuid = user["uuid"].as_str().unwrap().to_owned();
    let (s, b) = ok(
        &app,
        Method::POST,
        "/users",
        Some(json!({"email": "new.vet@example.test", "password": "long enough password"})),
    )
    .await;
    assert_error(s, &b, StatusCode::CONFLICT, "duplicate email");
    let (s, b) = ok(&app, Method::POST, "/users", Some(json!({"email": "x@example.test", "password": "short", "attributes": {"uuid": "x", "bogus": 1}}))).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "bad user");
    let (s, v) = ok(
        &app,
        Method::PUT,
        &format!("/users/{uuid}/verifications/military"),
        Some(json!({"verified": true, "subgroups": ["Veteran"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = ok(
        &app,
        Method::PUT,
        &format!("/users/{uuid}/verifications/identity"),
        Some(json!({"verified": true})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = ok(
        &app,
        Method::PUT,
        &format!("/users/{uuid}/verifications/military"),
        Some(json!({"verified": true, "subgroups": ["Pirate"]})),
    )
    .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "unknown subgroup");
    let (s, b) = ok(
        &app,
        Method::PUT,
        &format!("/users/{uuid}/verifications/astronaut"),
        Some(json!({"verified": true})),
    )
    .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown group");
    let (s, b) = ok(
        &app,
        Method::PUT,
        "/users/nobody/verifications/military",
        Some(json!({"verified": true})),
    )
    .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown user");

    // Keys.
    let (s, k) = ok(&app, Method::POST, "/keys/rotate", None).await;
    assert_eq!(s, StatusCode::CREATED);
    let kid = k["kid"].as_str().unwrap();
    assert!(
        app.jwks().await.to_string().contains(kid),
        "the new key is published at once"
    );

    // Delete.
    let (s, _) = ok(&app, Method::DELETE, &format!("/apps/{client_id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = ok(&app, Method::DELETE, &format!("/apps/{client_id}"), None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "deleted twice");
}

#[tokio::test]
async fn a_registered_app_signs_a_user_in_and_secret_rotation_keeps_both_valid() {
    let app = admin_app().await;
    let (_, org) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": "Rotators"})),
    )
    .await;
    let body = json!({"name": "Rotating", "redirect_uris": [CALLBACK], "policies": ["openid", "military"], "profile": "idme", "public": false, "refresh_tokens": true});
    let (_, created) = ok(
        &app,
        Method::POST,
        &format!("/organizations/{}/apps", org["id"].as_str().unwrap()),
        Some(body),
    )
    .await;
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let old_secret = created["client_secret"].as_str().unwrap().to_owned();
    // The creation answers the first secret's id (never the secret twice), unused yet.
    let old_id = created["secrets"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["secrets"][0]["last_used_at"], Value::Null);
    assert!(!created["secrets"].to_string().contains(&old_secret));
    let (_, user) = ok(&app, Method::POST, "/users", Some(json!({"email": "api.user@example.test", "password": "a fine password", "attributes": {"fname": "Api", "lname": "User"}}))).await;
    ok(
        &app,
        Method::PUT,
        &format!(
            "/users/{}/verifications/military",
            user["uuid"].as_str().unwrap()
        ),
        Some(json!({"verified": true, "subgroups": ["Retiree"]})),
    )
    .await;

    let sign_in = |secret: String| {
        let client_id = client_id.clone();
        let app = &app;
        async move {
            let url = app.authorize_url(&[
                ("client_id", &client_id),
                ("redirect_uri", CALLBACK),
                ("response_type", "code"),
                ("scope", "openid military"),
            ]);
            let mut journey = Journey::persona("api.user@example.test");
            journey.password = "a fine password".into();
            let (cb, _) = app.journey(&new_browser(), &url, &journey).await;
            app.post_token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", cb.code()),
                    ("redirect_uri", CALLBACK),
                ],
                Some((&client_id, &secret)),
            )
            .await
        }
    };
    let resp = sign_in(old_secret.clone()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let tokens: Value = resp.json().await.unwrap();
    let attrs: Value = app
        .get_bearer(
            "/api/public/v3/attributes.json",
            tokens["access_token"].as_str().unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        attrs["status"],
        json!([{"group": "military", "subgroups": ["Retiree"], "verified": true}])
    );

    let (_, second) = ok(
        &app,
        Method::POST,
        &format!("/apps/{client_id}/secrets"),
        None,
    )
    .await;
    let new_secret = second["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        sign_in(old_secret.clone()).await.status(),
        StatusCode::OK,
        "old secret valid during rotation"
    );
    assert_eq!(
        sign_in(new_secret.clone()).await.status(),
        StatusCode::OK,
        "new secret valid"
    );
    let new_id = second["id"].as_str().unwrap();
    // Both listed, with their last use (to the hour): the old one was used, so was the new one.
    let (_, read) = ok(&app, Method::GET, &format!("/apps/{client_id}"), None).await;
    let mut listed: Vec<(&str, bool)> = read["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["last_used_at"].is_i64()))
        .collect();
    listed.sort_unstable();
    let mut expected = [(old_id.as_str(), true), (new_id, true)];
    expected.sort_unstable();
    assert_eq!(listed, expected, "{read}");
    assert!(!read.to_string().contains(&old_secret) && !read.to_string().contains(&new_secret));
    ok(
        &app,
        Method::DELETE,
        &format!("/apps/{client_id}/secrets/{old_id}"),
        None,
    )
    .await;
    assert_eq!(
        sign_in(old_secret).await.status(),
        StatusCode::UNAUTHORIZED,
        "old secret gone"
    );
    assert_eq!(sign_in(new_secret).await.status(), StatusCode::OK);
    let audit = app
        .store
        .find_audit(Some(&client_id), None, 100)
        .await
        .unwrap();
    for e in [
        "admin.app.created",
        "admin.secret.created",
        "admin.secret.deleted",
        "token.issued",
    ] {
        assert!(audit.iter().any(|a| a.event == e), "{e}");
    }
}

/// The paths of SPEC sections 11 and 12 that the admin API must offer, as the document spells them
/// (and the one it adds: an operator removing a person's lost second factors, SPEC 13's recovery).
const SPEC_ROUTES: [(&str, &str); 20] = [
    ("post", "/organizations"),
    ("get", "/organizations/{id}/apps"),
    ("post", "/organizations/{id}/apps"),
    ("get", "/apps/{client_id}"),
    ("patch", "/apps/{client_id}"),
    ("delete", "/apps/{client_id}"),
    ("post", "/apps/{client_id}/secrets"),
    ("delete", "/apps/{client_id}/secrets/{id}"),
    ("post", "/users"),
    ("put", "/users/{uuid}/verifications/{group}"),
    ("post", "/users/{uuid}/verifications/{group}/revoke"),
    ("get", "/verification-cases"),
    ("get", "/verification-cases/{id}"),
    ("post", "/verification-cases/{id}/decision"),
    ("put", "/users/{uuid}/roles/{role}"),
    ("delete", "/users/{uuid}/roles/{role}"),
    ("get", "/users/{uuid}"),
    ("delete", "/users/{uuid}"),
    ("delete", "/users/{uuid}/second-factors"),
    ("post", "/keys/rotate"),
];

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

async fn openapi(app: &TestApp) -> Value {
    let resp = app
        .http
        .get(app.url("/api/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

/// `template` with its `{...}` parameters replaced by `args`, in order.
fn fill(template: &str, args: &[&str]) -> String {
    let mut args = args.iter();
    template
        .split('/')
        .map(|seg| match seg.starts_with('{') {
            true => args.next().copied().unwrap_or("x").to_owned(),
            false => seg.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether an answer says that no route serves the method and path (as opposed to a route that
/// found no such resource: that 404 names the resource).
fn no_route(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::METHOD_NOT_ALLOWED
        || (status == StatusCode::NOT_FOUND && body["error_description"] == "no such endpoint")
}

/// `schema` with its `$ref` followed into the document's components.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let target = doc.pointer(r.trim_start_matches('#'));
            resolve(
                doc,
                target.unwrap_or_else(|| panic!("{r} is not in the document")),
            )
        }
        None => schema,
    }
}

/// `schema` and the schemas it is made of (`allOf`, `oneOf`, `anyOf`), resolved.
fn parts<'a>(doc: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    let schema = resolve(doc, schema);
    let mut all = vec![schema];
    for key in ["allOf", "oneOf", "anyOf"] {
        for part in schema[key].as_array().into_iter().flatten() {
            all.extend(parts(doc, part));
        }
    }
    all
}

/// The keys of `value`, at any depth, that `schema` does not name as properties. An object
/// whose schema names no properties at all (a map, any JSON) is free-form below the top.
fn undocumented_keys(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let parts = parts(doc, schema);
    match value {
        Value::Object(map) => {
            let named = parts.iter().any(|p| p.get("properties").is_some());
            if !named {
                if at.is_empty() {
                    out.push("the answer's schema names no properties".into());
                }
                return;
            }
            for (key, v) in map {
                let at = format!("{at}.{key}");
                match parts.iter().find_map(|p| p["properties"].get(key)) {
                    Some(s) => undocumented_keys(doc, s, v, &at, out),
                    None => out.push(at),
                }
            }
        }
        Value::Array(items) => {
            let item = parts.iter().find_map(|p| p.get("items"));
            for (i, v) in items.iter().enumerate() {
                match item {
                    Some(s) => undocumented_keys(doc, s, v, &format!("{at}[{i}]"), out),
                    None => out.push(format!("{at}[{i}]: the schema is not an array")),
                }
            }
        }
        _ => {}
    }
}

/// One answer of the admin API: the operation called, its status and its JSON body (null
/// when empty).
struct Answer {
    method: Method,
    path: &'static str,
    status: StatusCode,
    body: Value,
}

/// Calls the admin API as a client would and keeps every answer, by operation.
struct Recorder<'a> {
    app: &'a TestApp,
    answers: Vec<Answer>,
}

impl Recorder<'_> {
    /// `method` on `concrete`, an instance of the documented `path`.
    async fn call_as(
        &mut self,
        token: Option<&str>,
        (method, path): (Method, &'static str),
        concrete: &str,
        body: Option<Value>,
    ) -> Value {
        let (status, body) = call(self.app, method.clone(), concrete, body, token).await;
        self.answers.push(Answer {
            method,
            path,
            status,
            body: body.clone(),
        });
        body
    }

    /// `method path` with the admin token, the path's parameters filled with `args`.
    async fn send(
        &mut self,
        method: Method,
        path: &'static str,
        args: &[&str],
        body: Option<Value>,
    ) -> Value {
        let concrete = fill(path, args);
        self.call_as(Some(TOKEN), (method, path), &concrete, body)
            .await
    }

    async fn get(&mut self, path: &'static str, args: &[&str]) -> Value {
        self.send(Method::GET, path, args, None).await
    }

    async fn post(&mut self, path: &'static str, args: &[&str], body: Value) -> Value {
        self.send(Method::POST, path, args, Some(body)).await
    }
}

/// The coverage test: the OpenAPI document against the router and the handlers.
/// Every route the router serves (each method on each documented path and on the paths above
/// them) is documented, every documented operation is served, and every answer the handlers
/// send (success and error) has a status documented for its operation and a body valid under
/// that status's schema, naming no field the schema does not.
#[tokio::test]
async fn the_openapi_document_describes_every_route_and_every_answer() {
    let app = admin_app().await;
    let doc = openapi(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["servers"][0]["url"],
        format!("{}/api/admin/v1", app.base)
    );
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in SPEC_ROUTES {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} is documented"
        );
    }

    // The router against the document: each method, on each documented path and each path
    // above one, is served exactly when it is documented.
    let mut probed: Vec<String> = paths.keys().cloned().collect();
    for path in paths.keys() {
        let segments: Vec<&str> = path.split('/').collect();
        for end in 2..segments.len() {
            probed.push(segments[..end].join("/"));
        }
    }
    probed.sort();
    probed.dedup();
    for path in &probed {
        for method in METHODS {
            let name = method.as_str().to_lowercase();
            let documented = paths.get(path).is_some_and(|p| p.get(&name).is_some());
            let concrete = fill(path, &[]);
            let (s, b) = call(
                &app,
                method.clone(),
                &concrete,
                Some(json!({})),
                Some(TOKEN),
            )
            .await;
            assert_eq!(
                !no_route(s, &b),
                documented,
                "{method} {path}: served ({s} {b}) exactly when documented"
            );
        }
    }

    // Every operation, successful and refused, as a client meets it.
    let mut r = Recorder {
        app: &app,
        answers: Vec::new(),
    };
    for (path, methods) in paths {
        let path: &'static str = SPEC_ROUTES
            .iter()
            .find(|(_, p)| p == path)
            .map(|(_, p)| *p)
            .unwrap_or_else(|| panic!("{path} is in SPEC_ROUTES"));
        for method in methods.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let concrete = fill(path, &[]);
            r.call_as(None, (m, path), &concrete, Some(json!({}))).await;
        }
    }
    let org = r
        .post("/organizations", &[], json!({"name": "Covered"}))
        .await;
    let org = org["id"].as_str().unwrap();
    r.post("/organizations", &[], json!({"name": "Covered"}))
        .await;
    r.post("/organizations", &[], json!({"nom": "x"})).await;
    let huge = json!({"name": "x".repeat(100 * 1024)});
    r.post("/organizations", &[], huge).await;
    let apps = "/organizations/{id}/apps";
    let input = json!({
        "name": "Covered", "logo_url": "https://covered.test/logo.png",
        "redirect_uris": ["https://covered.test/cb"], "post_logout_redirect_uris": ["https://covered.test/bye"],
        "policies": ["openid", "military"], "profile": "oidc", "public": false, "refresh_tokens": true,
        "id_token_alg": "ES256", "userinfo_signed_response_alg": "RS256", "code_ttl": 60,
        "access_ttl": 600, "refresh_ttl": 86400, "userinfo_ttl": 600, "jwks": {"keys": []},
        "jwks_uri": null, "backchannel_logout_uri": "https://covered.test/logout"
    });
    let created = r.post(apps, &[org], input).await;
    let client_id = created["client_id"].as_str().unwrap();
    let public =
        json!({"name": "Public", "redirect_uris": ["https://covered.test/cb"], "public": true});
    let public = r.post(apps, &[org], public).await;
    assert!(public.get("client_secret").is_none(), "{public}");
    r.post(apps, &["nope"], json!({"name": "x"})).await;
    r.get(apps, &[org]).await;
    r.get(apps, &["nope"]).await;
    let one_app = "/apps/{client_id}";
    r.get(one_app, &[client_id]).await;
    r.get(one_app, &["nope"]).await;
    r.send(
        Method::PATCH,
        one_app,
        &[client_id],
        Some(json!({"access_ttl": 900})),
    )
    .await;
    r.send(
        Method::PATCH,
        one_app,
        &[client_id],
        Some(json!({"access_ttl": 1})),
    )
    .await;
    let secrets = "/apps/{client_id}/secrets";
    let added = r.send(Method::POST, secrets, &[client_id], None).await;
    r.send(Method::POST, secrets, &["nope"], None).await;
    let secret = [client_id, added["id"].as_str().unwrap()];
    let one_secret = "/apps/{client_id}/secrets/{id}";
    r.send(Method::DELETE, one_secret, &secret, None).await;
    r.send(Method::DELETE, one_secret, &secret, None).await;

    let user = json!({"email": "covered@example.test", "password": "long enough password",
                      "attributes": {"fname": "Ada"}});
    let user = r.post("/users", &[], user).await;
    let uuid = user["uuid"].as_str().unwrap();
    r.post("/users", &[], json!({"email": "covered@example.test"}))
        .await;
    let verify = "/users/{uuid}/verifications/{group}";
    let veteran = json!({"verified": true, "subgroups": ["Veteran"]});
    r.send(Method::PUT, verify, &[uuid, "military"], Some(veteran))
        .await;
    let astronaut = json!({"verified": true});
    r.send(Method::PUT, verify, &[uuid, "astronaut"], Some(astronaut))
        .await;
    let revoke = "/users/{uuid}/verifications/{group}/revoke";
    let reason = json!({"reason": "entered by mistake"});
    let revoked = r.post(revoke, &[uuid, "military"], reason.clone()).await;
    let revoked = revoked["id"].as_str().unwrap();
    r.post(revoke, &[uuid, "military"], reason).await;
    r.post(revoke, &[uuid, "military"], json!({"reason": ""}))
        .await;

    let queue = (Method::GET, "/verification-cases");
    r.get(queue.1, &[]).await;
    let revoked_ones = "/verification-cases?state=revoked";
    r.call_as(Some(TOKEN), queue.clone(), revoked_ones, None)
        .await;
    let lost = "/verification-cases?state=lost";
    r.call_as(Some(TOKEN), queue, lost, None).await;
    let one_case = "/verification-cases/{id}";
    let details = r.get(one_case, &[revoked]).await;
    assert!(
        !details["history"].as_array().unwrap().is_empty(),
        "{details}"
    );
    r.get(one_case, &["nope"]).await;
    let in_review = verity_store::cases::Case::new(
        "covered-case",
        uuid,
        "military",
        verity_core::verification::Method::Document,
        verity_core::clock::Clock::now(&*app.clock),
    );
    app.store.insert_case(&in_review).await.unwrap();
    let decide = "/verification-cases/{id}/decision";
    let approve = json!({"decision": "approve", "subgroups": ["Veteran"]});
    r.post(decide, &["covered-case"], approve.clone()).await;
    r.post(decide, &["covered-case"], approve.clone()).await;
    r.post(decide, &["nope"], approve).await;
    r.post(decide, &["covered-case"], json!({"decision": "reject"}))
        .await;

    let role = "/users/{uuid}/roles/{role}";
    r.send(Method::PUT, role, &[uuid, "reviewer"], None).await;
    r.send(Method::PUT, role, &[uuid, "janitor"], None).await;
    r.send(Method::DELETE, role, &[uuid, "reviewer"], None)
        .await;
    // SPEC 14: one person, read and deleted (then gone).
    let one_user = "/users/{uuid}";
    let read = r.get(one_user, &[uuid]).await;
    assert_eq!(read["email"], "covered@example.test", "{read}");
    assert_eq!(read["attributes"]["fname"], "Ada", "{read}");
    r.get(one_user, &["nope"]).await;
    let factors = "/users/{uuid}/second-factors";
    r.send(Method::DELETE, factors, &[uuid], None).await;
    r.send(Method::DELETE, factors, &["nope"], None).await;
    r.send(Method::DELETE, one_user, &[uuid], None).await;
    r.send(Method::DELETE, one_user, &[uuid], None).await;
    r.get(one_user, &[uuid]).await;
    r.send(Method::POST, "/keys/rotate", &[], None).await;
    r.send(Method::DELETE, one_app, &[client_id], None).await;
    r.send(Method::DELETE, one_app, &[client_id], None).await;
    let seen = r.answers;

    // Each operation was met with a success, and each answer is the documented one.
    for (path, methods) in paths {
        for method in methods.as_object().unwrap().keys() {
            assert!(
                seen.iter().any(|s| s.path == path.as_str()
                    && s.method.as_str().eq_ignore_ascii_case(method)
                    && s.status.is_success()),
                "{method} {path} was called successfully by this test"
            );
        }
    }
    let mut problems = Vec::new();
    for answer in &seen {
        let what = format!("{} {} -> {}", answer.method, answer.path, answer.status);
        let op = &doc["paths"][answer.path][answer.method.as_str().to_lowercase()];
        let documented = &op["responses"][answer.status.as_str()];
        let schema = &documented["content"]["application/json"]["schema"];
        if !documented.is_object() {
            problems.push(format!("{what} is not documented ({})", answer.body));
        } else if answer.body.is_null() {
            if documented.get("content").is_some() {
                problems.push(format!("{what} has no body, but is documented with one"));
            }
        } else if !schema.is_object() {
            problems.push(format!("{what} has no documented schema ({})", answer.body));
        } else {
            let mut root = schema.clone();
            root["components"] = doc["components"].clone();
            let validator = jsonschema::validator_for(&root).unwrap();
            for e in validator.iter_errors(&answer.body) {
                problems.push(format!("{what}: {e} at {}", e.instance_path()));
            }
            let mut extra = Vec::new();
            undocumented_keys(&doc, schema, &answer.body, "", &mut extra);
            if !extra.is_empty() {
                problems.push(format!("{what}: undocumented {extra:?} in {}", answer.body));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn the_admin_api_is_disabled_without_a_token() {
    let app = spawn_app().await;
    let (s, b) = call(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": "x"})),
        Some("anything"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let resp = app
        .http
        .get(app.url("/api/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "nor its document");
}

#[tokio::test]
async fn outside_the_sandbox_urls_verity_calls_must_be_public_https() {
    let app = spawn_with(|s| {
        s.admin_token = Some(verity_server::settings::Secret(TOKEN.into()));
        s.environment = verity_server::Environment::Production;
    })
    .await;
    let (_, org) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": "Prod"})),
    )
    .await;
    let path = format!("/organizations/{}/apps", org["id"].as_str().unwrap());
    for bad in [
        "http://127.0.0.1:9200/jwks",
        "https://10.1.2.3/jwks",
        "https://localhost/jwks",
        "https://[::1]/jwks",
        "https://169.254.169.254/latest",
    ] {
        for field in ["jwks_uri", "backchannel_logout_uri"] {
            let body = json!({"name": "A", "redirect_uris": ["https://a.example/cb"], field: bad});
            let (s, b) = ok(&app, Method::POST, &path, Some(body)).await;
            assert_error(s, &b, StatusCode::BAD_REQUEST, &format!("{field} {bad}"));
        }
    }
    let body = json!({"name": "A", "redirect_uris": ["https://a.example/cb"], "jwks_uri": "https://keys.example.com/jwks"});
    let (s, b) = ok(&app, Method::POST, &path, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // Names with control characters (mail header injection) are refused.
    let (s, b) = ok(
        &app,
        Method::POST,
        "/organizations",
        Some(json!({"name": "x\r\nBcc: all@example.test"})),
    )
    .await;
    assert_error(
        s,
        &b,
        StatusCode::BAD_REQUEST,
        "control characters in a name",
    );
}

/// SPEC 12's admin routes for cases: the queue, a case with its history, a decision recorded
/// once (with the account's verification, which the claims then carry), a refused decision, a
/// revocation; each error as the RFC-style JSON body.
#[tokio::test]
async fn verification_cases_are_decided_and_revoked() {
    use verity_core::clock::Clock;
    use verity_core::verification::{self, CaseState};
    use verity_store::cases::Case;

    let app = admin_app().await;
    let (s, user) = ok(
        &app,
        Method::POST,
        "/users",
        Some(json!({"email": "case.vet@example.test", "password": "long enough password"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{user}");
    let uuid = user["uuid"].as_str().unwrap().to_owned();
    let now = app.clock.now();
    let case = Case {
        document_type: Some("dd214".into()),
        ..Case::new(
            "case-1",
            &uuid,
            "military",
            verification::Method::Document,
            now,
        )
    };
    app.store.insert_case(&case).await.unwrap();
    let other = Case::new(
        "case-2",
        &uuid,
        "student",
        verification::Method::Document,
        now + 1,
    );
    app.store.insert_case(&other).await.unwrap();

    let (s, queue) = ok(&app, Method::GET, "/verification-cases", None).await;
    assert_eq!(s, StatusCode::OK, "{queue}");
    let ids: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["case-1", "case-2"]);
    assert_eq!(queue[0]["state"], "in_review");
    assert_eq!(queue[0]["method"], "document");
    let (s, b) = ok(&app, Method::GET, "/verification-cases?state=lost", None).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "unknown state");

    // Refused decisions change nothing.
    for (body, expected) in [
        (json!({"decision": "maybe"}), StatusCode::BAD_REQUEST),
        (json!({"decision": "reject"}), StatusCode::BAD_REQUEST),
        (
            json!({"decision": "approve", "subgroups": ["Pirate"]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"decision": "approve", "reason": "mismatch"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"decision": "reject", "reason": "bored"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, b) = ok(
            &app,
            Method::POST,
            "/verification-cases/case-1/decision",
            Some(body.clone()),
        )
        .await;
        assert_error(s, &b, expected, &body.to_string());
    }
    let (s, b) = ok(
        &app,
        Method::POST,
        "/verification-cases/case-none/decision",
        Some(json!({"decision": "approve"})),
    )
    .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown case");

    let (s, approved) = ok(
        &app,
        Method::POST,
        "/verification-cases/case-1/decision",
        Some(json!({"decision": "approve", "subgroups": ["Veteran"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{approved}");
    assert_eq!(approved["state"], "verified");
    assert_eq!(approved["subgroups"], json!(["Veteran"]));
    assert_eq!(approved["decided_by"], "admin API");
    let data = app.store.find_user_data(&uuid).await.unwrap().unwrap();
    assert!(data.is_verified("military"));
    // Once: a second decision, either way, is a conflict.
    let (s, b) = ok(
        &app,
        Method::POST,
        "/verification-cases/case-1/decision",
        Some(json!({"decision": "reject", "reason": "mismatch"})),
    )
    .await;
    assert_error(s, &b, StatusCode::CONFLICT, "replayed decision");

    let (s, rejected) = ok(
        &app,
        Method::POST,
        "/verification-cases/case-2/decision",
        Some(json!({"decision": "reject", "reason": "unreadable"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{rejected}");
    assert_eq!(
        (rejected["state"].as_str(), rejected["reason"].as_str()),
        (Some("rejected"), Some("unreadable"))
    );
    assert!(
        !app.store
            .find_user_data(&uuid)
            .await
            .unwrap()
            .unwrap()
            .is_verified("student")
    );
    assert_eq!(
        app.store.find_case("case-2").await.unwrap().unwrap().state,
        CaseState::Rejected
    );
    // Each decision is mailed to the person's sign-in address, the rejection with its reason.
    let outbox = app.data_dir.path().join("outbox");
    let mails: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|m| m.contains("To: case.vet@example.test\r\n"))
        .collect();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(
        mails
            .iter()
            .any(|m| m.contains("Subject: Your Military verification is approved"))
    );
    assert!(mails.iter().any(
        |m| m.contains("Subject: Your Student verification was not accepted")
            && m.contains("The documents could not be read.")
    ));

    let (s, read) = ok(&app, Method::GET, "/verification-cases/case-1", None).await;
    assert_eq!(s, StatusCode::OK, "{read}");
    assert_eq!(read["document_type"], "dd214");
    assert_eq!(read["evidence"], json!([]));
    let events: Vec<&str> = read["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["verification.approved"]);
    let (s, b) = ok(&app, Method::GET, "/verification-cases/case-none", None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "unknown case");

    // Revocation: the verification is taken back, and there is nothing left to revoke.
    let revoke = format!("/users/{uuid}/verifications/military/revoke");
    let (s, b) = ok(&app, Method::POST, &revoke, Some(json!({"reason": ""}))).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "empty reason");
    let (s, revoked) = ok(
        &app,
        Method::POST,
        &revoke,
        Some(json!({"reason": "discharge papers withdrawn"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{revoked}");
    assert_eq!(
        (revoked["id"].as_str(), revoked["state"].as_str()),
        (Some("case-1"), Some("revoked"))
    );
    assert!(
        !app.store
            .find_user_data(&uuid)
            .await
            .unwrap()
            .unwrap()
            .is_verified("military")
    );
    let (s, b) = ok(
        &app,
        Method::POST,
        &revoke,
        Some(json!({"reason": "again"})),
    )
    .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "nothing to revoke");
    let (s, _) = call(&app, Method::GET, "/verification-cases", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
