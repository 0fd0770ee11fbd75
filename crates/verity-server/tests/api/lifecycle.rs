//! Token lifecycle over real HTTP: refresh rotation and reuse detection, a raced refresh,
//! revocation, introspection, logout (ID.me and RP-initiated, back-channel), brute-force limits,
//! and the audit rows each of them writes.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use verity_core::clock::Clock;

use crate::helpers::*;

async fn audit_events(app: &TestApp) -> Vec<String> {
    app.store
        .find_audit(None, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let app = spawn_app().await;
    let first = app
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();

    let resp = app.refresh(&r1).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let second: Value = resp.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    let a2 = second["access_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2, "a new refresh token at every use");
    assert_eq!(second["scope"], "openid student");
    let id = verify_jwt(
        second["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.issuer,
        CONFIDENTIAL,
    );
    assert!(
        id.get("nonce").is_none(),
        "a refreshed ID token has no nonce"
    );
    assert_eq!(
        app.get_bearer("/api/public/v3/attributes.json", &a2)
            .await
            .status(),
        StatusCode::OK
    );

    // The old token again before its successor was used (the answer was lost on its way):
    // the same answer once more, no second successor.
    let resp = app.refresh(&r1).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap(), second);

    // Once the successor is used, the old refresh token again is a reuse: invalid_grant, and
    // every token of the family is revoked.
    let resp = app.refresh(&r2).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let third: Value = resp.json().await.unwrap();
    let a3 = third["access_token"].as_str().unwrap().to_owned();
    let r3 = third["refresh_token"].as_str().unwrap().to_owned();
    let resp = app.refresh(&r1).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    for access in [&a2, &a3] {
        assert_eq!(
            app.get_bearer("/api/public/v3/attributes.json", access)
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.refresh(&r3).await.status(),
        StatusCode::BAD_REQUEST,
        "the successor is revoked too"
    );

    // Past the retry window, an old token is a reuse even if its successor was never used.
    let fresh = app
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    let f1 = fresh["refresh_token"].as_str().unwrap();
    let resp = app.refresh(f1).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let f2: Value = resp.json().await.unwrap();
    app.clock.advance(61);
    assert_eq!(app.refresh(f1).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.refresh(f2["refresh_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::BAD_REQUEST,
        "the family is revoked"
    );
    let events = audit_events(&app).await;
    for e in [
        "signin.success",
        "consent.granted",
        "token.issued",
        "token.refreshed",
        "refresh.reused",
    ] {
        assert!(events.iter().any(|x| x == e), "audit {e} in {events:?}");
    }
}

#[tokio::test]
async fn a_raced_refresh_never_yields_two_valid_children() {
    let app = Arc::new(spawn_app().await);
    let tokens = app
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    let r = tokens["refresh_token"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let app = app.clone();
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            let resp = app.refresh(&r).await;
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap())
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "never a 5xx: {status} {body}"
        );
        if status == StatusCode::OK {
            winners.push(body);
        } else {
            assert_eq!(body["error"], "invalid_grant");
        }
    }
    // One rotation; the racers that lost get the same answer (one successor, never two).
    assert!(!winners.is_empty());
    assert!(
        winners.iter().all(|w| *w == winners[0]),
        "every success carries the same tokens"
    );
    let children = app
        .query_i64(
            "SELECT COUNT(*) FROM tokens WHERE parent_hash = $1 AND kind = 'refresh'",
            &verity_core::secret::token_hash(&r),
        )
        .await;
    assert_eq!(children, 1);
    // Counting live children: at most one refresh token of the family is usable.
    let mut usable = 0;
    let mut distinct = winners.clone();
    distinct.dedup();
    for w in &distinct {
        if app
            .refresh(w["refresh_token"].as_str().unwrap())
            .await
            .status()
            == StatusCode::OK
        {
            usable += 1;
        }
    }
    assert!(usable <= 1);
}

#[tokio::test]
async fn refresh_can_narrow_scope_but_not_widen_and_is_bound_to_its_client() {
    let app = spawn_app().await;
    app.create_app("other-app", |_| {}).await;
    let tokens = app
        .tokens_for("multi@sandbox.test", "openid military teacher")
        .await;
    let r = tokens["refresh_token"].as_str().unwrap();
    let resp = app
        .post_token(
            &[("grant_type", "refresh_token"), ("refresh_token", r)],
            Some(("other-app", SECRET)),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let wider = app
        .post_token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", r),
                ("scope", "openid military student"),
            ],
            Some((CONFIDENTIAL, SECRET)),
        )
        .await;
    assert_eq!(
        wider.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );
    let narrow = app
        .post_token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", r),
                ("scope", "openid teacher"),
            ],
            Some((CONFIDENTIAL, SECRET)),
        )
        .await;
    assert_eq!(narrow.status(), StatusCode::OK);
    let body: Value = narrow.json().await.unwrap();
    assert_eq!(body["scope"], "openid teacher");
    let attrs: Value = app
        .get_bearer(
            "/api/public/v3/attributes.json",
            body["access_token"].as_str().unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        attrs["status"].as_array().unwrap().len(),
        1,
        "only the teacher group now: {attrs}"
    );
    // Expired refresh tokens are refused.
    let r2 = body["refresh_token"].as_str().unwrap();
    app.clock.advance(604_800);
    assert_eq!(app.refresh(r2).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn revocation_and_introspection_are_client_authenticated_and_client_scoped() {
    let app = spawn_app().await;
    app.create_app("other-app", |_| {}).await;
    let tokens = app
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let introspect = |client: &'static str, token: String| {
        let http = app.http.clone();
        let url = app.url("/oauth/introspect");
        async move {
            http.post(url)
                .basic_auth(client, Some(SECRET))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
        }
    };
    let resp = introspect(CONFIDENTIAL, access.to_owned()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], CONFIDENTIAL);
    assert_eq!(body["scope"], "openid student");
    assert_eq!(body["token_type"], "access_token");
    assert_eq!(
        body["sub"],
        verity_server::sandbox::persona_uuid("student@sandbox.test").as_str()
    );
    let other: Value = introspect("other-app", access.to_owned())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        other,
        serde_json::json!({"active": false}),
        "another client learns nothing"
    );
    let garbage: Value = introspect(CONFIDENTIAL, "not-a-token".into())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(garbage["active"], false);
    let unauthenticated = app
        .http
        .post(app.url("/oauth/introspect"))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);

    // Another client cannot revoke it; its owner can, and revoking the refresh token revokes the grant.
    let revoke = |client: &'static str, token: String| {
        let http = app.http.clone();
        let url = app.url("/oauth/revoke");
        async move {
            http.post(url)
                .basic_auth(client, Some(SECRET))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        revoke("other-app", access.to_owned()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_bearer("/api/public/v3/userinfo", access)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        revoke(CONFIDENTIAL, refresh_token.to_owned())
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get_bearer("/api/public/v3/userinfo", access)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let body: Value = introspect(CONFIDENTIAL, refresh_token.to_owned())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["active"], false);
    assert!(
        audit_events(&app)
            .await
            .iter()
            .any(|e| e == "token.revoked")
    );
    let missing = app
        .http
        .post(app.url("/oauth/revoke"))
        .basic_auth(CONFIDENTIAL, Some(SECRET))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
}

/// A minimal relying party back-channel: forwards every logout-token body it receives.
async fn backchannel_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let router = axum::Router::new().route(
        "/backchannel",
        axum::routing::post(move |body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, rx)
}

#[tokio::test]
async fn logout_ends_the_session_redirects_only_to_registered_uris_and_notifies_the_back_channel() {
    let app = spawn_app().await;
    let (bc_url, mut received) = backchannel_receiver().await;
    app.create_app("bc-app", |a| {
        a.backchannel_logout_uri = Some(bc_url.clone());
        a.post_logout_redirect_uris = vec!["http://127.0.0.1:8090/signed-out".into()];
    })
    .await;
    let browser = new_browser();
    let url = app.authorize_url(&[
        ("client_id", "bc-app"),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s"),
    ]);
    let (cb, _) = app
        .journey(&browser, &url, &Journey::persona("student@sandbox.test"))
        .await;
    let resp = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", cb.code()),
                ("redirect_uri", CALLBACK),
            ],
            Some(("bc-app", SECRET)),
        )
        .await;
    let tokens: Value = resp.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let id = verify_jwt(&id_token, &app.jwks().await, &app.issuer, "bc-app");
    let sid = id["sid"].as_str().expect("a sid claim").to_owned();

    // An unregistered post-logout URI: a page, never a redirect.
    let resp = browser
        .get(app.url(&format!(
            "/oauth/logout?id_token_hint={id_token}&post_logout_redirect_uri=https://evil.example/&state=x"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("location").is_none());
    assert!(resp.text().await.unwrap().contains("signed out"));
    // The session is over: the next authorization shows the sign-in page again.
    let page = browser
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form_action(&page, "/signin").is_some());
    // The access token of the ended session is revoked.
    assert_eq!(
        app.get_bearer(
            "/api/public/v3/userinfo",
            tokens["access_token"].as_str().unwrap()
        )
        .await
        .status(),
        StatusCode::UNAUTHORIZED
    );
    // The back channel received a logout token for that sid.
    let body = tokio::time::timeout(std::time::Duration::from_secs(10), received.recv())
        .await
        .expect("a back-channel notice arrives")
        .unwrap();
    let bodies = [body];
    let token = form_value(&bodies[0], "logout_token");
    let claims = verify_logout_token(&token, &app).await;
    assert_eq!(claims["sid"], sid.as_str());
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none());

    // ID.me-style logout to a registered URI redirects there with the state.
    let (_, _) = app
        .journey(&browser, &url, &Journey::persona("student@sandbox.test"))
        .await;
    let resp = browser
        .get(app.url(
            "/oauth/logout?client_id=bc-app&redirect_uri=http://127.0.0.1:8090/signed-out&state=st",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(
        resp.headers()["location"],
        "http://127.0.0.1:8090/signed-out?state=st"
    );
    assert!(audit_events(&app).await.iter().any(|e| e == "logout"));
    // A forged id_token_hint is refused with a page.
    let forged = format!("{}x", &id_token[..id_token.len() - 1]);
    let resp = browser
        .get(app.url(&format!("/oauth/logout?id_token_hint={forged}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

fn form_value(body: &str, name: &str) -> String {
    url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

async fn verify_logout_token(token: &str, app: &TestApp) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(app.jwks().await).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(&header.kid.unwrap()).unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_issuer(&[&app.issuer]);
    v.set_audience(&["bc-app"]);
    v.validate_exp = false;
    v.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims
}

#[tokio::test]
async fn thirty_wrong_passwords_are_throttled_and_audited_without_revealing_accounts() {
    let app = spawn_app().await;
    let browser = new_browser();
    let params = app.confidential_request("openid");
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = browser
        .get(app.authorize_url(&pairs))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action = app.url(&form_action(&page, "/signin").unwrap());
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let attempt = |email: &'static str, password: &'static str| {
        let browser = browser.clone();
        let action = action.clone();
        let csrf = csrf.clone();
        async move {
            browser
                .post(action)
                .form(&[
                    ("email", email),
                    ("password", password),
                    ("csrf_token", &csrf),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(
            attempt("veteran@sandbox.test", "wrong-password")
                .await
                .status(),
        );
    }
    assert!(
        statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[5..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Locked: even the right password waits, and the page says so.
    let resp = attempt("veteran@sandbox.test", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Too many failed attempts")
    );
    // An unknown email is limited the same way.
    let mut unknown = Vec::new();
    for _ in 0..6 {
        unknown.push(
            attempt("nobody@sandbox.test", "wrong-password")
                .await
                .status(),
        );
    }
    assert_eq!(unknown[..5], statuses[..5]);
    assert_eq!(unknown[5], StatusCode::TOO_MANY_REQUESTS);
    // Audited: five failures counted, then the locked attempts.
    let events = audit_events(&app).await;
    assert_eq!(events.iter().filter(|e| *e == "signin.failure").count(), 10);
    assert!(events.iter().filter(|e| *e == "signin.locked").count() >= 25);
    let rows = app.store.find_audit(None, None, 1).await.unwrap();
    assert_eq!(rows[0].address.as_deref(), Some("127.0.0.1"));
    assert!(rows[0].request_id.as_deref().is_some_and(|r| r.len() == 16));
    // The lock ends (the interaction has expired meanwhile: a new one signs in).
    app.clock.advance(24 * 3600);
    let cb = app.authorize_as("veteran@sandbox.test", "openid").await;
    assert!(cb.get("code").is_some());
}

#[tokio::test]
async fn purge_removes_expired_rows_in_one_step() {
    let app = spawn_app().await;
    let tokens = app
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    let now = app.clock.now();
    let none = app.store.purge_expired(now, 0).await.unwrap();
    assert_eq!(none.tokens, 0);
    app.clock.advance(604_801 + 3600);
    let purged = app
        .store
        .purge_expired(app.clock.now(), 3600)
        .await
        .unwrap();
    assert!(
        purged.tokens >= 2 && purged.codes >= 1 && purged.sessions >= 1,
        "{purged:?}"
    );
    let resp = app
        .get_bearer(
            "/api/public/v3/userinfo",
            tokens["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_key_rotation_never_breaks_a_valid_token() {
    let app = spawn_app().await;
    let before = app
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    let old_id_token = before["id_token"].as_str().unwrap().to_owned();
    let jwks_before = app.jwks().await;

    let new_kids = verity_server::maintenance::rotate(&app.state)
        .await
        .unwrap();
    assert_eq!(new_kids.len(), 2, "one per algorithm");
    let resp = app
        .http
        .get(app.url("/oidc/.well-known/jwks"))
        .send()
        .await
        .unwrap();
    let max_age: i64 = resp.headers()["cache-control"]
        .to_str()
        .unwrap()
        .rsplit('=')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        max_age < 3600,
        "cached JWKS copies expire before a new key signs"
    );
    let jwks_during = resp.json::<Value>().await.unwrap();
    for k in kids(&jwks_before).iter().chain(new_kids.iter()) {
        assert!(kids(&jwks_during).contains(k), "{k} is published");
    }
    // During the publication delay the old key still signs.
    let during = app
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    assert!(kids(&jwks_before).contains(&kid_of(during["id_token"].as_str().unwrap())));

    // After the delay the new key signs; the token signed before still verifies.
    app.clock.advance(3601);
    verity_server::maintenance::run_once(&app.state)
        .await
        .unwrap();
    let after = app
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    assert!(new_kids.contains(&kid_of(after["id_token"].as_str().unwrap())));
    let jwks_after = app.jwks().await;
    verify_jwt(&old_id_token, &jwks_after, &app.issuer, CONFIDENTIAL);
    verify_jwt(
        after["id_token"].as_str().unwrap(),
        &jwks_after,
        &app.issuer,
        CONFIDENTIAL,
    );

    // Once everything the old keys signed has expired, they leave the JWKS: at once, before
    // maintenance reloads the keys, and after.
    app.clock.advance(86_400 + 61);
    let jwks_expired = app.jwks().await;
    verity_server::maintenance::run_once(&app.state)
        .await
        .unwrap();
    let jwks_retired = app.jwks().await;
    for jwks in [&jwks_expired, &jwks_retired] {
        assert_eq!(kids(jwks).len(), 2);
        for k in kids(&jwks_before) {
            assert!(!kids(jwks).contains(&k), "{k} retired");
        }
    }
    assert!(audit_events(&app).await.iter().any(|e| e == "key.rotated"));
}

fn assertion(
    key: &verity_core::keys::SigningKey,
    client: &str,
    aud: &str,
    now: i64,
    ttl: i64,
    jti: &str,
) -> String {
    key.sign_jwt("JWT", &serde_json::json!({"iss": client, "sub": client, "aud": aud, "iat": now, "exp": now + ttl, "jti": jti}))
        .unwrap()
}

async fn code_for(app: &TestApp, client: &str) -> String {
    let url = app.authorize_url(&[
        ("client_id", client),
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
    cb.code().to_owned()
}

async fn redeem_with_assertion(app: &TestApp, code: &str, assertion: &str) -> reqwest::Response {
    app.post_token(
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ],
        None,
    )
    .await
}

#[tokio::test]
async fn private_key_jwt_authenticates_and_refuses_replays_and_bad_assertions() {
    use verity_core::keys::{Alg, SigningKey};
    let app = spawn_app().await;
    let (key, _) = SigningKey::generate(Alg::ES256).unwrap();
    let jwks = serde_json::json!({"keys": [key.jwk()]}).to_string();
    app.create_app("pkjwt-app", |a| a.jwks = Some(jwks.clone()))
        .await;
    let token_endpoint = app.url("/oauth/token");
    let now = app.clock.now();

    let good = assertion(&key, "pkjwt-app", &token_endpoint, now, 60, "jti-1");
    let code = code_for(&app, "pkjwt-app").await;
    let resp = redeem_with_assertion(&app, &code, &good).await;
    assert_eq!(resp.status(), StatusCode::OK);
    // The same assertion again is a replay.
    let code = code_for(&app, "pkjwt-app").await;
    let resp = redeem_with_assertion(&app, &code, &good).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().contains_key("www-authenticate"));
    let replays = app
        .store
        .find_audit(Some("pkjwt-app"), None, 100)
        .await
        .unwrap();
    assert!(
        replays.iter().any(|e| e.event == "assertion.replayed"),
        "the replay is audited"
    );

    let (stranger, _) = SigningKey::generate(Alg::ES256).unwrap();
    let none_alg = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims = serde_json::json!({"iss": "pkjwt-app", "sub": "pkjwt-app", "aud": token_endpoint, "exp": now + 60, "jti": "n"});
        format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none"}"#),
            b64.encode(claims.to_string())
        )
    };
    for (why, bad) in [
        (
            "another audience",
            assertion(
                &key,
                "pkjwt-app",
                "https://elsewhere.example/token",
                now,
                60,
                "jti-2",
            ),
        ),
        (
            "too long-lived",
            assertion(&key, "pkjwt-app", &token_endpoint, now, 3600, "jti-3"),
        ),
        (
            "expired",
            assertion(&key, "pkjwt-app", &token_endpoint, now - 600, 60, "jti-4"),
        ),
        (
            "a foreign key",
            assertion(&stranger, "pkjwt-app", &token_endpoint, now, 60, "jti-5"),
        ),
        ("alg none", none_alg),
        (
            "another subject",
            assertion(
                &key,
                "sandbox-confidential",
                &token_endpoint,
                now,
                60,
                "jti-6",
            ),
        ),
    ] {
        let code = code_for(&app, "pkjwt-app").await;
        let resp = redeem_with_assertion(&app, &code, &bad).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{why}");
        assert_eq!(
            resp.json::<Value>().await.unwrap()["error"],
            "invalid_client",
            "{why}"
        );
    }
    // The issuer is an accepted audience too.
    let code = code_for(&app, "pkjwt-app").await;
    let resp = redeem_with_assertion(
        &app,
        &code,
        &assertion(&key, "pkjwt-app", &app.issuer, now, 60, "jti-7"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn private_key_jwt_fetches_the_jwks_uri_again_for_an_unknown_kid() {
    use verity_core::keys::{Alg, SigningKey};
    let app = spawn_app().await;
    let (first, _) = SigningKey::generate(Alg::RS256).unwrap();
    let (second, _) = SigningKey::generate(Alg::RS256).unwrap();
    let served: Arc<std::sync::Mutex<Value>> = Arc::new(std::sync::Mutex::new(
        serde_json::json!({"keys": [first.jwk()]}),
    ));
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
    app.create_app("uri-app", |a| a.jwks_uri = Some(jwks_uri.clone()))
        .await;
    let token_endpoint = app.url("/oauth/token");
    let now = app.clock.now();

    let code = code_for(&app, "uri-app").await;
    let resp = redeem_with_assertion(
        &app,
        &code,
        &assertion(&first, "uri-app", &token_endpoint, now, 60, "a"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    // The app rotates its key: a new kid, fetched again (after the one-minute floor).
    *served.lock().unwrap() = serde_json::json!({"keys": [second.jwk()]});
    app.clock.advance(61);
    let now = app.clock.now();
    let code = code_for(&app, "uri-app").await;
    let resp = redeem_with_assertion(
        &app,
        &code,
        &assertion(&second, "uri-app", &token_endpoint, now, 60, "b"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn concurrent_guesses_cannot_slip_past_the_limit() {
    let app = Arc::new(spawn_app().await);
    let browser = new_browser();
    let params = app.confidential_request("openid");
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = browser
        .get(app.authorize_url(&pairs))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action = app.url(&form_action(&page, "/signin").unwrap());
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (browser, action, csrf) = (browser.clone(), action.clone(), csrf.clone());
        tasks.push(tokio::spawn(async move {
            let password = format!("guess-{i}");
            browser
                .post(action)
                .form(&[
                    ("email", "veteran@sandbox.test"),
                    ("password", password.as_str()),
                    ("csrf_token", csrf.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut checked = 0;
    for t in tasks {
        let status = t.await.unwrap();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
            "{status}"
        );
        if status == StatusCode::UNAUTHORIZED {
            checked += 1;
        }
    }
    assert!(
        checked <= 5,
        "at most five passwords were checked, not {checked}"
    );
}

#[tokio::test]
async fn a_password_alone_does_not_open_the_account_page_or_the_console() {
    let app = spawn_app().await;
    let browser = new_browser();
    // Start the account page's sign-in, give the password, stop at the second factor.
    let resp = browser.get(app.url("/account")).send().await.unwrap();
    let start = resp.headers()["location"].to_str().unwrap().to_owned();
    let page = browser
        .get(&start)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let resp = browser
        .post(app.url(&form_action(&page, "/signin").unwrap()))
        .form(&[
            ("email", "veteran@sandbox.test"),
            ("password", PASSWORD),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    for path in ["/account", "/developer"] {
        let resp = browser.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::SEE_OTHER,
            "{path} sends the person to finish signing in"
        );
        assert!(
            resp.headers()["location"]
                .to_str()
                .unwrap()
                .contains("/oauth/authorize")
        );
    }
    let resp = browser
        .post(app.url("/account/totp/start"))
        .form(&[("csrf_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

/// Audit rows are kept `VERITY_AUDIT_RETENTION_DAYS` (here 2) and then deleted by the maintenance
/// task; 0 keeps them forever.
#[tokio::test]
async fn the_maintenance_task_deletes_audit_rows_past_their_retention() {
    let app = spawn_with(|s| s.audit_retention_days = 2).await;
    app.tokens_for("student@sandbox.test", "openid student")
        .await;
    let count = |app: &TestApp| {
        let store = app.store.clone();
        async move {
            store
                .find_audit(Some(CONFIDENTIAL), None, 1000)
                .await
                .unwrap()
                .len()
        }
    };
    let before = count(&app).await;
    assert!(before > 0);
    app.clock.advance(2 * 86_400 - 10);
    let report = verity_server::maintenance::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!((report.audit_purged, count(&app).await), (0, before));
    app.clock.advance(20);
    let report = verity_server::maintenance::run_once(&app.state)
        .await
        .unwrap();
    assert!(report.audit_purged >= before as u64, "{report:?}");
    assert_eq!(count(&app).await, 0);

    let forever = spawn_with(|s| s.audit_retention_days = 0).await;
    forever
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    let kept = count(&forever).await;
    forever.clock.advance(100_000 * 86_400);
    let report = verity_server::maintenance::run_once(&forever.state)
        .await
        .unwrap();
    assert_eq!((report.audit_purged, count(&forever).await), (0, kept));
}

/// Issue 21: within the retry window, a used refresh token presented again gets the lost answer
/// again only while every token in it still works. Once the client revoked the answer's access
/// token (RFC 7009), the retry is `invalid_grant`, never 200 with a dead token.
#[tokio::test]
async fn a_retried_refresh_never_answers_a_dead_token() {
    let app = spawn_app().await;
    let first = app
        .tokens_for("student@sandbox.test", "openid student")
        .await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let second: Value = app.refresh(&r1).await.json().await.unwrap();
    let a2 = second["access_token"].as_str().unwrap().to_owned();
    // The answer again, while it works.
    let again = app.refresh(&r1).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap(), second);

    let revoked = app
        .http
        .post(app.url("/oauth/revoke"))
        .basic_auth(CONFIDENTIAL, Some(SECRET))
        .form(&[("token", a2.as_str()), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(app.introspect(&a2).await["active"], false);
    let resp = app.refresh(&r1).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");
}
