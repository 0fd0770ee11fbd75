//! A hostile provider: discovery and JWKS are honest, but the code exchange answers with an ID
//! token wrong in exactly one way. Each must be refused with its typed error; the honest token,
//! in the same harness, is accepted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use verity_client::{
    AuditLog, CallbackError, CallbackQuery, Client, ClientAuth, ClientConfig, Error, IdTokenError,
    JoseError, PendingAuthorization, UserInfoError,
};
use verity_core::keys::{Alg, SigningKey};

const CLIENT_ID: &str = "rp-app";
const ACCESS_TOKEN: &str = "0123456789abcdef0123456789abcdef";
const SUB: &str = "b5270c2011e843ea38d1fde275a3b49f";

/// An RSA key that signs any header we like.
pub struct Signer {
    pair: RsaKeyPair,
    pub kid: String,
    pub jwk: Value,
}

impl Signer {
    pub fn new() -> Self {
        let (key, der) = SigningKey::generate(Alg::RS256).unwrap();
        Signer {
            pair: RsaKeyPair::from_pkcs8(&der).unwrap(),
            kid: key.kid().to_owned(),
            jwk: serde_json::to_value(key.jwk()).unwrap(),
        }
    }

    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let mut out = b64(header.to_string().as_bytes());
        out.push('.');
        out.push_str(&b64(claims.to_string().as_bytes()));
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                out.as_bytes(),
                &mut sig,
            )
            .unwrap();
        out.push('.');
        out.push_str(&b64(&sig));
        out
    }

    pub fn header(&self) -> Value {
        json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"})
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[derive(Clone, Default)]
struct Answers {
    issuer: Arc<Mutex<String>>,
    jwks: Arc<Mutex<Value>>,
    token: Arc<Mutex<String>>,
    userinfo: Arc<Mutex<String>>,
    jwks_hits: Arc<AtomicUsize>,
    token_hits: Arc<AtomicUsize>,
}

async fn discovery(State(a): State<Answers>) -> axum::Json<Value> {
    let issuer = a.issuer.lock().unwrap().clone();
    let base = issuer.trim_end_matches("/oidc").to_owned();
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "userinfo_endpoint": format!("{base}/api/public/v3/userinfo"),
        "jwks_uri": format!("{issuer}/.well-known/jwks"),
        "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(a): State<Answers>) -> axum::Json<Value> {
    a.jwks_hits.fetch_add(1, Ordering::SeqCst);
    axum::Json(a.jwks.lock().unwrap().clone())
}

async fn token(State(a): State<Answers>) -> impl IntoResponse {
    a.token_hits.fetch_add(1, Ordering::SeqCst);
    let body = a.token.lock().unwrap().clone();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

async fn userinfo(State(a): State<Answers>) -> impl IntoResponse {
    let body = a.userinfo.lock().unwrap().clone();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

pub struct Hostile {
    pub issuer: String,
    pub honest: Signer,
    pub attacker: Signer,
    answers: Answers,
    pub client: Client,
    pub clock: Arc<verity_core::clock::ManualClock>,
}

impl Hostile {
    pub async fn start() -> Self {
        let answers = Answers::default();
        let app = Router::new()
            .route("/oidc/.well-known/openid-configuration", get(discovery))
            .route("/oidc/.well-known/jwks", get(jwks))
            .route("/oauth/token", post(token))
            .route("/api/public/v3/userinfo", get(userinfo))
            .with_state(answers.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}/oidc", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let honest = Signer::new();
        let attacker = Signer::new();
        *answers.issuer.lock().unwrap() = issuer.clone();
        *answers.jwks.lock().unwrap() = json!({"keys": [honest.jwk]});
        let clock = Arc::new(verity_core::clock::ManualClock::starting_now());
        let config = ClientConfig::new(
            &issuer,
            CLIENT_ID,
            ClientAuth::SecretPost("s".into()),
            "http://127.0.0.1:8090/callback",
        )
        .with_clock(Arc::new(crate::helpers::TestClock(clock.clone())));
        let client = Client::discover(config).await.unwrap();
        Hostile {
            issuer,
            honest,
            attacker,
            answers,
            client,
            clock,
        }
    }

    pub fn claims(&self, nonce: &str) -> Value {
        let t = now();
        json!({
            "iss": self.issuer, "sub": SUB, "aud": CLIENT_ID, "exp": t + 300, "iat": t,
            "auth_time": t, "nonce": nonce, "at_hash": verity_client::jose::at_hash(ACCESS_TOKEN),
            "uuid": SUB,
        })
    }

    fn answer(&self, id_token: &str) {
        *self.answers.token.lock().unwrap() = json!({
            "access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300,
            "scope": "openid military", "id_token": id_token,
        })
        .to_string();
    }

    fn userinfo_for(&self, sub: &str) {
        let jwt = self.honest.sign(
            &self.honest.header(),
            &json!({"iss": self.issuer, "aud": CLIENT_ID, "sub": sub, "uuid": sub,
                    "fname": "Jordan", "exp": now() + 18000, "iat": now()}),
        );
        // As ID.me sends it: a JSON string holding the JWT.
        *self.answers.userinfo.lock().unwrap() = serde_json::to_string(&jwt).unwrap();
    }

    fn pending(&self) -> PendingAuthorization {
        self.client.authorization_request().build().unwrap().1
    }

    /// Runs the return leg with the given ID token (built from this request's nonce).
    pub async fn run(
        &self,
        build: impl FnOnce(&Self, &PendingAuthorization) -> String,
    ) -> Result<verity_client::Verified, Error> {
        let pending = self.pending();
        let token = build(self, &pending);
        self.answer(&token);
        let callback = CallbackQuery::parse(&format!("code=abc&state={}", pending.state));
        self.client
            .complete(&callback, &pending, &mut AuditLog::default())
            .await
    }
}

fn with(mut claims: Value, patch: Value) -> Value {
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn id_err(r: Result<verity_client::Verified, Error>) -> IdTokenError {
    match r {
        Err(Error::IdToken(e)) => e,
        other => panic!("expected an ID token error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_honest_token_is_accepted() {
    let h = Hostile::start().await;
    h.userinfo_for(SUB);
    let verified = h
        .run(|h, p| h.honest.sign(&h.honest.header(), &h.claims(&p.nonce)))
        .await
        .unwrap();
    assert_eq!(verified.id_token.subject, SUB);
    assert_eq!(verified.identity.text("fname").as_deref(), Some("Jordan"));
    assert!(verified.userinfo.signed);
}

#[tokio::test]
async fn unsigned_and_hmac_tokens_are_refused() {
    let h = Hostile::start().await;
    h.userinfo_for(SUB);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let err = id_err(
            h.run(|h, p| {
                let header = json!({"alg": alg, "kid": h.honest.kid, "typ": "JWT"});
                format!(
                    "{}.{}.",
                    b64(header.to_string().as_bytes()),
                    b64(h.claims(&p.nonce).to_string().as_bytes())
                )
            })
            .await,
        );
        assert_eq!(err, IdTokenError::Jose(JoseError::Algorithm(alg.into())));
    }
    // HS256 keyed with the provider's RSA public key (the classic algorithm confusion).
    let err = id_err(
        h.run(|h, p| {
            let header = json!({"alg": "HS256", "kid": h.honest.kid, "typ": "JWT"});
            let input = format!(
                "{}.{}",
                b64(header.to_string().as_bytes()),
                b64(h.claims(&p.nonce).to_string().as_bytes())
            );
            let key = aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                h.honest.jwk.to_string().as_bytes(),
            );
            let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
            format!("{input}.{}", b64(tag.as_ref()))
        })
        .await,
    );
    assert_eq!(
        err,
        IdTokenError::Jose(JoseError::Algorithm("HS256".into()))
    );
}

#[tokio::test]
async fn bad_signatures_are_refused() {
    let h = Hostile::start().await;
    h.userinfo_for(SUB);
    // Stripped.
    let err = id_err(
        h.run(|h, p| {
            let t = h.honest.sign(&h.honest.header(), &h.claims(&p.nonce));
            format!("{}.", t.rsplit_once('.').unwrap().0)
        })
        .await,
    );
    assert_eq!(err, IdTokenError::Jose(JoseError::Signature));
    // Foreign: the attacker's signature under the honest kid.
    let err = id_err(
        h.run(|h, p| h.attacker.sign(&h.honest.header(), &h.claims(&p.nonce)))
            .await,
    );
    assert_eq!(err, IdTokenError::Jose(JoseError::Signature));
    // Tampered payload: an honest signature over other claims.
    let err = id_err(
        h.run(|h, p| {
            let t = h.honest.sign(&h.honest.header(), &h.claims(&p.nonce));
            let parts: Vec<&str> = t.split('.').collect();
            let forged = with(h.claims(&p.nonce), json!({"sub": "someone-else"}));
            format!(
                "{}.{}.{}",
                parts[0],
                b64(forged.to_string().as_bytes()),
                parts[2]
            )
        })
        .await,
    );
    assert_eq!(err, IdTokenError::Jose(JoseError::Signature));
    // An embedded `jwk` header carrying the attacker's key, under the honest kid.
    let err = id_err(
        h.run(|h, p| {
            let header = json!({"alg": "RS256", "kid": h.honest.kid, "jwk": h.attacker.jwk});
            h.attacker.sign(&header, &h.claims(&p.nonce))
        })
        .await,
    );
    assert_eq!(err, IdTokenError::Jose(JoseError::Signature));
}

#[tokio::test]
async fn unknown_kid_and_jku_fetch_the_jwks_again_at_most_once_per_interval() {
    let h = Hostile::start().await;
    h.userinfo_for(SUB);
    let unknown = |h: &Hostile, p: &PendingAuthorization| {
        h.attacker.sign(&h.attacker.header(), &h.claims(&p.nonce))
    };
    let err = id_err(h.run(unknown).await);
    assert_eq!(
        err,
        IdTokenError::Jose(JoseError::UnknownKey(h.attacker.kid.clone()))
    );
    assert_eq!(
        h.answers.jwks_hits.load(Ordering::SeqCst),
        1,
        "just fetched: no refetch"
    );
    // Once the interval has passed: one refetch, then none until the next interval.
    h.clock.advance(61);
    for _ in 0..3 {
        let err = id_err(h.run(unknown).await);
        assert!(matches!(err, IdTokenError::Jose(JoseError::UnknownKey(_))));
    }
    assert_eq!(h.answers.jwks_hits.load(Ordering::SeqCst), 2);
    // A `jku` (and `x5u`) pointing at the attacker's keys is ignored.
    let err = id_err(
        h.run(|h, p| {
            let mut header = h.attacker.header();
            header["jku"] = json!(format!("{}/attacker-jwks", h.issuer));
            header["x5u"] = json!(format!("{}/attacker.pem", h.issuer));
            h.attacker.sign(&header, &h.claims(&p.nonce))
        })
        .await,
    );
    assert!(matches!(err, IdTokenError::Jose(JoseError::UnknownKey(_))));
    assert_eq!(h.answers.jwks_hits.load(Ordering::SeqCst), 2);
    // The provider rotates: the new kid is found by the refetch of the next interval.
    *h.answers.jwks.lock().unwrap() = json!({"keys": [h.honest.jwk, h.attacker.jwk]});
    h.clock.advance(61);
    assert!(h.run(unknown).await.is_ok());
    assert_eq!(h.answers.jwks_hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn each_wrong_claim_is_refused() {
    let h = Hostile::start().await;
    h.userinfo_for(SUB);
    let t = now();
    let cases: Vec<(Value, IdTokenError)> = vec![
        (
            json!({"iss": "https://evil.test/oidc"}),
            IdTokenError::Issuer {
                expected: h.issuer.clone(),
                found: "https://evil.test/oidc".into(),
            },
        ),
        (json!({"aud": "another-app"}), IdTokenError::Audience),
        (
            json!({"aud": [CLIENT_ID, "another-app"], "azp": "another-app"}),
            IdTokenError::UntrustedAudience("another-app".into()),
        ),
        (
            json!({"azp": "another-app"}),
            IdTokenError::AuthorizedParty("another-app".into()),
        ),
        (
            json!({"exp": t - 3600, "iat": t - 4000}),
            IdTokenError::Expired {
                exp: t - 3600,
                now: t,
            },
        ),
        (
            json!({"iat": t + 3600, "exp": t + 4000}),
            IdTokenError::IssuedInFuture {
                iat: t + 3600,
                now: t,
            },
        ),
        (json!({"nonce": "not-the-nonce"}), IdTokenError::Nonce),
        (json!({"nonce": null}), IdTokenError::MissingNonce),
        (
            json!({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}),
            IdTokenError::AtHash,
        ),
    ];
    for (patch, expected) in cases {
        let err = id_err(
            h.run(|h, p| {
                h.honest
                    .sign(&h.honest.header(), &with(h.claims(&p.nonce), patch.clone()))
            })
            .await,
        );
        // `now` may tick between building and checking.
        let same = match (&err, &expected) {
            (IdTokenError::Expired { exp: a, .. }, IdTokenError::Expired { exp: b, .. }) => a == b,
            (
                IdTokenError::IssuedInFuture { iat: a, .. },
                IdTokenError::IssuedInFuture { iat: b, .. },
            ) => a == b,
            _ => err == expected,
        };
        assert!(same, "{patch}: got {err:?}, expected {expected:?}");
    }
}

#[tokio::test]
async fn forged_state_never_reaches_the_token_endpoint() {
    let h = Hostile::start().await;
    let pending = h.pending();
    let callback = CallbackQuery::parse("code=abc&state=forged-by-attacker");
    let err = h
        .client
        .complete(&callback, &pending, &mut AuditLog::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Callback(CallbackError::StateMismatch)),
        "{err:?}"
    );
    assert_eq!(h.answers.token_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn userinfo_for_another_subject_is_refused() {
    let h = Hostile::start().await;
    h.userinfo_for("ffffffffffffffffffffffffffffffff");
    let err = h
        .run(|h, p| h.honest.sign(&h.honest.header(), &h.claims(&p.nonce)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::UserInfo(UserInfoError::Subject { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_token_of_several_megabytes_is_refused_unread() {
    let h = Hostile::start().await;
    h.userinfo_for(SUB);
    let err = h
        .run(|h, p| {
            let claims = with(h.claims(&p.nonce), json!({"padding": "A".repeat(4 << 20)}));
            h.honest.sign(&h.honest.header(), &claims)
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                endpoint: "token",
                ..
            }
        ),
        "{err:?}"
    );
    // Just under the body limit but over the JWS limit: refused by the JWS parser.
    let err = id_err(
        h.run(|h, p| {
            let claims = with(h.claims(&p.nonce), json!({"padding": "A".repeat(100_000)}));
            h.honest.sign(&h.honest.header(), &claims)
        })
        .await,
    );
    assert!(
        matches!(err, IdTokenError::Jose(JoseError::TooLarge(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn idme_jwks_quirks_are_tolerated_and_reported() {
    let h = Hostile::start().await;
    h.userinfo_for(SUB);
    // `algorithm` instead of `alg`; the same key again under a second kid and without `alg`.
    let mut renamed = h.honest.jwk.clone();
    let alg = renamed.as_object_mut().unwrap().remove("alg").unwrap();
    renamed["algorithm"] = alg;
    let mut second = h.honest.jwk.clone();
    second.as_object_mut().unwrap().remove("alg");
    second["kid"] = json!("second-kid");
    *h.answers.jwks.lock().unwrap() = json!({"keys": [renamed, second]});
    let config = ClientConfig::new(
        &h.issuer,
        CLIENT_ID,
        ClientAuth::SecretPost("s".into()),
        "http://127.0.0.1:8090/callback",
    );
    let client = Client::discover(config).await.unwrap();
    for kid in [h.honest.kid.as_str(), "second-kid"] {
        let pending = client.authorization_request().build().unwrap().1;
        let header = json!({"alg": "RS256", "kid": kid, "typ": "JWT"});
        let token = h.honest.sign(&header, &h.claims(&pending.nonce));
        let id = client
            .validate_id_token(&token, Some(&pending.nonce), Some(ACCESS_TOKEN), None)
            .await
            .unwrap();
        assert_eq!(id.subject, SUB);
    }
    let report = verity_client::inspect::inspect(&h.issuer).await.unwrap();
    let quirks = report.quirks.join("\n");
    assert!(quirks.contains("`algorithm` instead of `alg`"), "{quirks}");
    assert!(quirks.contains("no `alg`"), "{quirks}");
    assert!(quirks.contains("same key as"), "{quirks}");
    assert!(quirks.contains("PKCE S256 not announced"), "{quirks}");
    assert!(report.problems.is_empty(), "{report}");
}
