//! The library against the real provider, over HTTP: every persona, every client authentication,
//! both userinfo profiles, refresh with single flight, revocation, logout, declined consent.

use std::sync::Arc;

use serde_json::Value;
use verity_client::{AuditLog, CallbackError, ClientAuth, Error, PrivateKey, Session};
use verity_core::identity::Family;
use verity_core::keys::Alg;

use crate::helpers::*;

struct Case {
    email: &'static str,
    scopes: &'static [&'static str],
    check: fn(&verity_client::Identity),
}

#[tokio::test]
async fn every_persona_through_the_whole_flow() {
    let op = spawn_provider().await;
    let client = op.confidential().await;
    let cases = [
        Case {
            email: "veteran@sandbox.test",
            scopes: &["military", IDENTITY_POLICY],
            check: |id| {
                assert_eq!(id.text("fname").as_deref(), Some("Jordan"));
                assert_eq!(id.text("given_name").as_deref(), Some("Jordan"));
                assert_eq!(id.text("military_branch").as_deref(), Some("Navy"));
                assert_eq!(id.text("birth_date").as_deref(), Some("1978-04-12"));
                assert!(id.level("credential_ial").is_some());
                let mil = id.group("military").unwrap();
                assert!(mil.verified);
                assert_eq!(mil.subgroups, ["Veteran"]);
            },
        },
        Case {
            email: "student@sandbox.test",
            scopes: &["student"],
            check: |id| {
                assert_eq!(id.text("fname").as_deref(), Some("Sam"));
                assert!(id.is_verified("student"));
            },
        },
        Case {
            email: "unverified@sandbox.test",
            scopes: &["profile", "email"],
            check: |id| {
                assert_eq!(id.text("fname").as_deref(), Some("Casey"));
                assert_eq!(id.text("email").as_deref(), Some("unverified@sandbox.test"));
                assert!(id.groups.is_empty());
            },
        },
        Case {
            email: "international@sandbox.test",
            scopes: &[IDENTITY_POLICY],
            check: |id| {
                assert_eq!(id.text("fname").as_deref(), Some("Amélie"));
                assert_eq!(id.text("country").as_deref(), Some("FR"));
                for handle in ["street", "city", "state", "zip"] {
                    assert_eq!(
                        id.get(handle),
                        Some(&Value::Null),
                        "{handle} released as null"
                    );
                    assert_eq!(id.text(handle), None);
                }
            },
        },
        Case {
            email: "hyphen@sandbox.test",
            scopes: &[IDENTITY_POLICY],
            check: |id| {
                assert_eq!(id.text("fname").as_deref(), Some("Mary-Jane"));
                assert_eq!(id.text("lname").as_deref(), Some("O'Connor-Smith"));
            },
        },
        Case {
            email: "multi@sandbox.test",
            scopes: &["military", "teacher", "responder"],
            check: |id| {
                assert_eq!(id.group("military").unwrap().subgroups, ["Military Spouse"]);
                assert!(id.is_verified("military"));
                assert!(id.is_verified("teacher"));
                assert!(id.is_verified("responder"));
            },
        },
    ];
    for case in cases {
        let (callback, pending) = op
            .sign_in(
                client.authorization_request().scopes(case.scopes),
                case.email,
            )
            .await;
        let mut audit = AuditLog::default();
        let verified = client
            .complete(&callback, &pending, &mut audit)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", case.email));
        assert_eq!(verified.identity.subject.len(), 32);
        assert_eq!(
            verified.identity.text("uuid").as_deref(),
            Some(verified.identity.subject.as_str())
        );
        assert!(verified.userinfo.signed, "profile idme sends a signed JWT");
        let endpoints: Vec<&str> = audit.responses.iter().map(|r| r.endpoint).collect();
        assert_eq!(endpoints, ["token", "userinfo", "attributes"]);
        assert!(audit.responses[1].body.starts_with('"'), "a JSON string");
        (case.check)(&verified.identity);
    }
}

#[tokio::test]
async fn every_client_authentication_method() {
    let op = spawn_provider().await;
    let (key, der) = verity_core::keys::SigningKey::generate(Alg::ES256).unwrap();
    let jwk = serde_json::to_value(key.jwk()).unwrap();
    op.create_app("jwt-app", |a| {
        a.jwks = Some(serde_json::json!({"keys": [jwk]}).to_string());
    })
    .await;
    let private = PrivateKey::from_pkcs8(&der, Some(key.kid().to_owned())).unwrap();
    assert!(
        !format!("{private:?}").contains("MIG"),
        "key prints redacted"
    );
    let clients = [
        op.client(CONFIDENTIAL, ClientAuth::SecretBasic(SECRET.into()))
            .await,
        op.client(CONFIDENTIAL, ClientAuth::SecretPost(SECRET.into()))
            .await,
        op.client("jwt-app", ClientAuth::PrivateKeyJwt(private))
            .await,
        op.client(PUBLIC, ClientAuth::None).await,
    ];
    for client in clients {
        let (callback, pending) = op
            .sign_in(
                client.authorization_request().scope("student"),
                "student@sandbox.test",
            )
            .await;
        let tokens = client
            .exchange_code(&callback, &pending, None)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", client.config().client_id));
        assert!(tokens.id_token.is_some());
    }
}

#[tokio::test]
async fn wrong_secret_is_a_typed_provider_error() {
    let op = spawn_provider().await;
    let client = op
        .client(
            CONFIDENTIAL,
            ClientAuth::SecretBasic("wrong:secret&%".into()),
        )
        .await;
    let (callback, pending) = op
        .sign_in(client.authorization_request(), "student@sandbox.test")
        .await;
    let err = client
        .exchange_code(&callback, &pending, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Provider { endpoint: "token", error, .. } if error == "invalid_client"),
        "{err:?}"
    );
}

#[tokio::test]
async fn declined_consent_is_access_denied_and_forged_state_is_refused() {
    let op = spawn_provider().await;
    let client = op.confidential().await;
    let (url, pending) = client.authorization_request().build().unwrap();
    let callback = op
        .journey_with(url.as_str(), "student@sandbox.test", "verify", "deny")
        .await;
    let err = client
        .exchange_code(&callback, &pending, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Callback(CallbackError::Provider { error, .. }) if error == "access_denied"),
        "{err:?}"
    );
    // A real code, delivered with another request's state.
    let (callback, _) = op
        .sign_in(client.authorization_request(), "student@sandbox.test")
        .await;
    let (_, other) = client.authorization_request().build().unwrap();
    let err = client
        .exchange_code(&callback, &other, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Callback(CallbackError::StateMismatch)),
        "{err:?}"
    );
}

#[tokio::test]
async fn oidc_profile_plain_json_and_application_jwt() {
    let op = spawn_provider().await;
    op.create_app("oidc-plain", |a| a.profile = Family::Oidc)
        .await;
    op.create_app("oidc-signed", |a| {
        a.profile = Family::Oidc;
        a.id_token_alg = Alg::ES256;
        a.userinfo_signed_response_alg = Some(Alg::ES256);
    })
    .await;
    for (client_id, signed) in [("oidc-plain", false), ("oidc-signed", true)] {
        let client = op
            .client(client_id, ClientAuth::SecretBasic(SECRET.into()))
            .await;
        let (callback, pending) = op
            .sign_in(
                client.authorization_request().scopes(["profile", "email"]),
                "hyphen@sandbox.test",
            )
            .await;
        let mut audit = AuditLog::default();
        let verified = client
            .complete(&callback, &pending, &mut audit)
            .await
            .unwrap();
        assert_eq!(verified.userinfo.signed, signed);
        // The oidc family: given_name, read through the idme handle too.
        assert_eq!(
            verified.identity.text("fname").as_deref(),
            Some("Mary-Jane")
        );
        assert_eq!(
            verified.identity.text("family_name").as_deref(),
            Some("O'Connor-Smith")
        );
        if signed {
            assert_eq!(verified.id_token.alg, verity_client::jose::Alg::ES256);
            assert_eq!(
                audit.responses[1].content_type.as_deref(),
                Some("application/jwt")
            );
        }
    }
}

#[tokio::test]
async fn refresh_is_single_flight_then_revocation_and_logout() {
    let op = spawn_provider().await;
    let client = op.confidential().await;
    let (callback, pending) = op
        .sign_in(client.authorization_request(), "student@sandbox.test")
        .await;
    let tokens = client
        .exchange_code(&callback, &pending, None)
        .await
        .unwrap();
    let first_refresh = tokens.refresh_token.clone().unwrap();
    let session = Arc::new(Session::new(client.clone(), tokens));
    // Eight callers at once: one token request. Without single flight the rotated refresh token
    // would be presented twice and the provider would revoke the whole family.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = session.clone();
            tokio::spawn(async move { s.refresh().await })
        })
        .collect();
    let mut access = Vec::new();
    for t in tasks {
        access.push(t.await.unwrap().unwrap().access_token.expose().to_owned());
    }
    assert_eq!(session.generation(), 1);
    assert!(access.iter().all(|a| *a == access[0]));
    // The family is alive: one more refresh works.
    let again = session.refresh().await.unwrap();
    assert_eq!(session.generation(), 2);
    // The first refresh token was rotated away; presenting it again is refused.
    let reuse = client.refresh(&first_refresh, None).await.unwrap_err();
    assert!(
        matches!(&reuse, Error::Provider { error, .. } if error == "invalid_grant"),
        "{reuse:?}"
    );
    // Revocation answers 200 for any token (RFC 7009 2.2).
    client
        .revoke(&again.access_token, Some("access_token"))
        .await
        .unwrap();
    let url = client
        .logout_url(
            again.id_token.as_ref().map(|t| t.raw.as_str()),
            Some(CALLBACK),
            Some("bye"),
        )
        .unwrap();
    assert!(
        url.as_str()
            .starts_with(&op.url("/oauth/logout?client_id="))
    );
    let resp = new_browser().get(url.as_str()).send().await.unwrap();
    assert!(resp.status().is_redirection(), "{}", resp.status());
}

#[tokio::test]
async fn discovery_is_checked() {
    let op = spawn_provider().await;
    let wrong = verity_client::ClientConfig::new(
        format!("{}/", op.issuer),
        CONFIDENTIAL,
        ClientAuth::None,
        CALLBACK,
    );
    let err = verity_client::Client::discover(wrong).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Discovery(verity_client::DiscoveryError::IssuerMismatch { .. })
        ),
        "{err:?}"
    );
    let client = op.confidential().await;
    let m = client.metadata();
    assert!(m.announces_pkce_s256());
    assert_eq!(
        m.attributes_endpoint().unwrap(),
        op.url("/api/public/v3/attributes.json")
    );
}

#[tokio::test]
async fn inspect_reports_verity_without_problems() {
    let op = spawn_provider().await;
    let report = verity_client::inspect::inspect(&op.issuer).await.unwrap();
    assert!(report.problems.is_empty(), "{report}");
    assert!(report.quirks.is_empty(), "{report}");
    let ktys: Vec<&str> = report.keys.keys.iter().map(|k| k.kty()).collect();
    assert!(ktys.contains(&"RSA") && ktys.contains(&"EC"), "{ktys:?}");
    let text = report.to_string();
    assert!(text.contains("PKCE methods           S256"), "{text}");
}

/// OIDC Core 3.1.3.7 step 12: `acr_values` go with the request and the ID token's `acr` is
/// checked against them: a second step asked (`aal/2`) is met by the TOTP code; a value this
/// provider does not know is ignored by it, and the client refuses the weaker sign-in it got.
#[tokio::test]
async fn acr_values_are_sent_and_the_answered_acr_is_checked() {
    let op = spawn_provider().await;
    let client = op.confidential().await;
    let aal2 = "http://idmanagement.gov/ns/assurance/aal/2";
    let request = client.authorization_request().acr_values([aal2]);
    let (url, _) = request.clone().build().unwrap();
    assert!(url.query().unwrap().contains("acr_values="), "{url}");
    let (callback, pending) = op.sign_in(request, "veteran@sandbox.test").await;
    assert_eq!(pending.acr_values, [aal2]);
    let tokens = client
        .exchange_code(&callback, &pending, None)
        .await
        .unwrap();
    let id = tokens.id_token.unwrap();
    assert_eq!(id.claims["acr"], aal2);

    let unknown = client
        .authorization_request()
        .acr_values(["urn:example:acr:gold"]);
    let (callback, pending) = op.sign_in(unknown, "student@sandbox.test").await;
    let err = client
        .exchange_code(&callback, &pending, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::IdToken(verity_client::IdTokenError::Acr { found: Some(acr), .. }) if acr.ends_with("aal/1")),
        "{err:?}"
    );
}
