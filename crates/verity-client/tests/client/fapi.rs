//! PAR (RFC 9126), request objects (RFC 9101) and DPoP (RFC 9449) through the library, against
//! the real provider, on SQLite and on PostgreSQL.

use std::sync::Arc;

use serde_json::Value;
use verity_client::{AuditLog, Client, ClientAuth, Error, PrivateKey, Session};
use verity_core::clock::Clock;
use verity_core::keys::Alg;

use crate::helpers::*;

fn query(url: &url::Url) -> std::collections::HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// The provider's introspection of `token`, asked by `client_id` with the sandbox secret.
async fn introspect(op: &Provider, client_id: &str, token: &str) -> Value {
    reqwest::Client::new()
        .post(op.url("/oauth/introspect"))
        .basic_auth(client_id, Some(SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn begin_pushes_the_request_when_the_provider_offers_par() {
    for backend in backends() {
        let op = spawn_provider_on(backend, |_| {}).await;
        let client = op.confidential().await;
        assert!(
            client
                .metadata()
                .pushed_authorization_request_endpoint
                .is_some()
        );
        let (url, pending) = client
            .begin(client.authorization_request().scope("military"))
            .await
            .unwrap();
        let q = query(&url);
        assert!(
            q["request_uri"].starts_with("urn:ietf:params:oauth:request_uri:"),
            "{url}"
        );
        assert_eq!(q["client_id"], CONFIDENTIAL);
        assert_eq!(q.len(), 2, "only client_id and request_uri travel: {url}");
        let callback = op.journey(url.as_str(), "veteran@sandbox.test").await;
        let mut audit = AuditLog::default();
        let verified = client
            .complete(&callback, &pending, &mut audit)
            .await
            .unwrap();
        assert!(verified.identity.is_verified("military"), "{backend:?}");

        // A public app pushes too (its PKCE protects the pushed request).
        let public = op.client(PUBLIC, ClientAuth::None).await;
        let (url, pending) = public.begin(public.authorization_request()).await.unwrap();
        assert!(query(&url).contains_key("request_uri"), "{url}");
        let callback = op.journey(url.as_str(), "student@sandbox.test").await;
        public
            .exchange_code(&callback, &pending, None)
            .await
            .unwrap();

        // PAR turned off: the plain query URL, as `build` makes it.
        let plain = Client::discover(
            op.config(CONFIDENTIAL, ClientAuth::SecretBasic(SECRET.into()))
                .pushed_requests(false),
        )
        .await
        .unwrap();
        let (url, pending) = plain.begin(plain.authorization_request()).await.unwrap();
        let q = query(&url);
        assert_eq!(q["redirect_uri"], CALLBACK);
        assert_eq!(q["state"], pending.state);
        assert!(!q.contains_key("request_uri"));
    }
}

#[tokio::test]
async fn request_objects_signed_with_the_client_key_are_pushed() {
    for backend in backends() {
        let op = spawn_provider_on(backend, |_| {}).await;
        let (key, der) = verity_core::keys::SigningKey::generate(Alg::ES256).unwrap();
        let jwk = serde_json::to_value(key.jwk()).unwrap();
        op.create_app("jar-app", |a| {
            a.jwks = Some(serde_json::json!({"keys": [jwk]}).to_string());
            a.require_signed_request_object = true;
        })
        .await;
        let private = PrivateKey::from_pkcs8(&der, Some(key.kid().to_owned())).unwrap();
        let auth = ClientAuth::PrivateKeyJwt(private);

        // The app refuses unsigned requests, pushed or not.
        let unsigned = op.client("jar-app", auth.clone()).await;
        let refused = unsigned
            .begin(unsigned.authorization_request())
            .await
            .unwrap_err();
        assert!(
            matches!(
                &refused,
                Error::Provider {
                    endpoint: "par",
                    ..
                }
            ),
            "{refused:?}"
        );

        let client = Client::discover(op.config("jar-app", auth).request_objects(true))
            .await
            .unwrap();
        let (url, pending) = client
            .begin(client.authorization_request().scope("military"))
            .await
            .unwrap();
        let q = query(&url);
        assert!(q.contains_key("request_uri"), "{url}");
        assert!(!q.contains_key("request") && !q.contains_key("redirect_uri"));
        let callback = op.journey(url.as_str(), "veteran@sandbox.test").await;
        let tokens = client
            .exchange_code(&callback, &pending, None)
            .await
            .unwrap();
        assert!(tokens.id_token.is_some(), "{backend:?}");
    }
}

#[tokio::test]
async fn request_objects_need_the_private_key_jwt_key() {
    let op = spawn_provider().await;
    let client = Client::discover(
        op.config(CONFIDENTIAL, ClientAuth::SecretBasic(SECRET.into()))
            .request_objects(true),
    )
    .await
    .unwrap();
    let err = client
        .begin(client.authorization_request())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[tokio::test]
async fn dpop_binds_the_tokens_through_userinfo_and_refresh() {
    for backend in backends() {
        let op = spawn_provider_on(backend, |_| {}).await;
        op.create_app("dpop-app", |a| a.dpop_bound_access_tokens = true)
            .await;
        let auth = ClientAuth::SecretBasic(SECRET.into());
        // Without DPoP the app's tokens are refused.
        let bearer = op.client("dpop-app", auth.clone()).await;
        let (url, pending) = bearer.begin(bearer.authorization_request()).await.unwrap();
        let callback = op.journey(url.as_str(), "veteran@sandbox.test").await;
        let refused = bearer.exchange_code(&callback, &pending, None).await;
        assert!(
            matches!(
                refused,
                Err(Error::Provider {
                    endpoint: "token",
                    ..
                })
            ),
            "{refused:?}"
        );

        let client = Client::discover(op.config("dpop-app", auth).dpop(true))
            .await
            .unwrap();
        let (url, pending) = client.begin(client.authorization_request()).await.unwrap();
        let callback = op.journey(url.as_str(), "veteran@sandbox.test").await;
        let tokens = client
            .exchange_code(&callback, &pending, None)
            .await
            .unwrap();
        assert_eq!(tokens.token_type, "DPoP");
        let key = tokens
            .bound_key()
            .expect("bound to the sign-in's key")
            .clone();
        assert!(format!("{tokens:?}").contains("DpopKey"));
        assert!(format!("{key:?}").contains("[redacted]"));
        let seen = introspect(&op, "dpop-app", tokens.access_token.expose()).await;
        assert_eq!(seen["active"], true);
        assert_eq!(seen["cnf"]["jkt"], key.thumbprint(), "{backend:?}");

        let subject = tokens.id_token.as_ref().unwrap().subject.clone();
        let info = client.userinfo_for(&tokens, &subject, None).await.unwrap();
        assert_eq!(info.claims["sub"], subject.as_str());
        // As a bearer token it is refused.
        assert!(
            client
                .userinfo(&tokens.access_token, &subject, None)
                .await
                .is_err()
        );

        let session = Arc::new(Session::new(client.clone(), tokens.clone()));
        let fresh = session.refresh().await.unwrap();
        assert_eq!(fresh.token_type, "DPoP");
        assert_ne!(fresh.access_token, tokens.access_token);
        assert_eq!(fresh.bound_key().unwrap().thumbprint(), key.thumbprint());
        let seen = introspect(&op, "dpop-app", fresh.access_token.expose()).await;
        assert_eq!(seen["cnf"]["jkt"], key.thumbprint());
        client.userinfo_for(&fresh, &subject, None).await.unwrap();
    }
}

#[tokio::test]
async fn dpop_nonces_are_retried_once_and_remembered() {
    for backend in backends() {
        let op = spawn_provider_on(backend, |s| s.dpop_nonce = true).await;
        // Access tokens that outlive two nonce windows.
        op.create_app("nonce-app", |a| a.access_ttl = 3600).await;
        let client = Client::discover(
            op.config("nonce-app", ClientAuth::SecretBasic(SECRET.into()))
                .dpop(true),
        )
        .await
        .unwrap();
        let (url, pending) = client
            .begin(client.authorization_request().scope("military"))
            .await
            .unwrap();
        let callback = op.journey(url.as_str(), "veteran@sandbox.test").await;
        let mut audit = AuditLog::default();
        let verified = client
            .complete(&callback, &pending, &mut audit)
            .await
            .unwrap();
        let seen: Vec<(&str, u16)> = audit
            .responses
            .iter()
            .map(|r| (r.endpoint, r.status))
            .collect();
        // The first proof had no nonce; the retry used the one given, and the resources got the
        // remembered nonce at once.
        assert_eq!(
            seen,
            [
                ("token", 400),
                ("token", 200),
                ("userinfo", 200),
                ("attributes", 200)
            ],
            "{backend:?}"
        );
        assert!(audit.responses[0].body.contains("use_dpop_nonce"));
        assert_eq!(verified.tokens.token_type, "DPoP");

        // Two nonce windows later the remembered nonce is stale: the resource asks (401) and
        // the one retry succeeds.
        let now = op.clock.now();
        let window = verity_core::dpop::NONCE_WINDOW;
        op.clock
            .advance((now.div_euclid(window) + 2) * window - now);
        let mut audit = AuditLog::default();
        let subject = verified.id_token.subject.as_str();
        client
            .userinfo_for(&verified.tokens, subject, Some(&mut audit))
            .await
            .unwrap();
        let seen: Vec<u16> = audit.responses.iter().map(|r| r.status).collect();
        assert_eq!(seen, [401, 200], "{backend:?}");
    }
}
