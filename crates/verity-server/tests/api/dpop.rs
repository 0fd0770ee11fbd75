//! RFC 9449 DPoP, exchanged by hand as the RFC shows it (the `openidconnect` crate has no DPoP).
//! Proofs are made with `jsonwebtoken` and their key thumbprints computed by it, an
//! implementation independent of Verity's.

use reqwest::StatusCode;
use serde_json::{Value, json};
use verity_core::clock::Clock;
use verity_core::keys::{Alg, SigningKey};
use verity_core::pkce::s256;

use crate::helpers::*;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const USERINFO: &str = "/api/public/v3/userinfo";

/// A client's DPoP key: the key pair (PKCS#8 DER for `jsonwebtoken`) and its public JWK.
struct Holder {
    der: Vec<u8>,
    jwk: jsonwebtoken::jwk::Jwk,
}

impl Holder {
    fn new() -> Self {
        let (key, der) = SigningKey::generate(Alg::ES256).unwrap();
        let mut public = serde_json::to_value(key.jwk()).unwrap();
        for member in ["kid", "use", "alg"] {
            public.as_object_mut().unwrap().remove(member);
        }
        Holder {
            der,
            jwk: serde_json::from_value(public).unwrap(),
        }
    }

    /// RFC 7638 thumbprint, as `jsonwebtoken` computes it.
    fn jkt(&self) -> String {
        self.jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
    }

    /// A proof with `claims` as they are (for the malformed ones).
    fn sign(&self, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.typ = Some("dpop+jwt".to_owned());
        header.jwk = Some(self.jwk.clone());
        jsonwebtoken::encode(
            &header,
            claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&self.der),
        )
        .unwrap()
    }

    /// RFC 9449 4.2: a proof of `method` `url` at `now`, with `ath` for an access token.
    fn proof(&self, app: &TestApp, method: &str, path: &str, token: Option<&str>) -> String {
        self.sign(&claims(app, method, path, token))
    }
}

fn claims(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> Value {
    let mut c = json!({
        "jti": verity_core::secret::new_token(),
        "htm": method,
        "htu": app.url(path),
        "iat": app.clock.now(),
    });
    if let Some(t) = token {
        c["ath"] = json!(ath(t));
    }
    c
}

/// RFC 9449 4.2 `ath`: base64url(SHA-256(token)), with aws-lc-rs's digest and the base64url
/// written here.
fn ath(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    base64_url(digest.as_ref())
}

/// Signs the veteran in for `client_id` (PKCE) and answers the code.
async fn code_for(app: &TestApp, client_id: &str) -> String {
    code_with(app, client_id, &[]).await
}

/// The same with more authorization parameters.
async fn code_with(app: &TestApp, client_id: &str, more: &[(&str, &str)]) -> String {
    let challenge = s256(VERIFIER);
    let mut params = vec![
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "s"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    params.extend_from_slice(more);
    let url = app.authorize_url(&params);
    let (cb, _) = app
        .journey(
            &new_browser(),
            &url,
            &Journey::persona("veteran@sandbox.test"),
        )
        .await;
    cb.code().to_owned()
}

/// `POST /oauth/token` for `client_id` (secret when confidential) with an optional proof.
async fn token(
    app: &TestApp,
    client_id: &str,
    confidential: bool,
    form: &[(&str, &str)],
    proof: Option<String>,
) -> reqwest::Response {
    let mut form = form.to_vec();
    if !confidential {
        form.push(("client_id", client_id));
    }
    let mut req = app.http.post(app.url("/oauth/token")).form(&form);
    if confidential {
        req = req.basic_auth(client_id, Some(SECRET));
    }
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    req.send().await.unwrap()
}

fn code_form(code: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ]
}

async fn userinfo(
    app: &TestApp,
    scheme: &str,
    token: &str,
    proof: Option<String>,
) -> reqwest::Response {
    let mut req = app
        .http
        .get(app.url(USERINFO))
        .header("Authorization", format!("{scheme} {token}"));
    if let Some(p) = proof {
        req = req.header("DPoP", p);
    }
    req.send().await.unwrap()
}

async fn error_of(resp: reqwest::Response) -> (StatusCode, String, String) {
    let status = resp.status();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body: Value = resp.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        challenge,
    )
}

/// An app that demands DPoP: a token request without a proof is refused without consuming the
/// code; with one, the access token is bound (`token_type` DPoP, `cnf.jkt` in introspection)
/// and userinfo takes it only with the DPoP scheme and a fresh proof by the same key.
#[tokio::test]
async fn bound_tokens_work_only_with_their_key() {
    let app = spawn_app().await;
    let discovery = app.discovery().await;
    assert_eq!(
        discovery["dpop_signing_alg_values_supported"],
        json!(["ES256", "RS256"])
    );
    app.create_app("dpop-app", |a| a.dpop_bound_access_tokens = true)
        .await;
    let holder = Holder::new();
    let code = code_for(&app, "dpop-app").await;

    let (status, error, _) =
        error_of(token(&app, "dpop-app", true, &code_form(&code), None).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_dpop_proof")
    );

    let proof = holder.proof(&app, "POST", "/oauth/token", None);
    let resp = token(&app, "dpop-app", true, &code_form(&code), Some(proof)).await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "the code was not consumed by the refusal"
    );
    let tokens: Value = resp.json().await.unwrap();
    assert_eq!(tokens["token_type"], "DPoP");
    let at = tokens["access_token"].as_str().unwrap();

    let introspection: Value = app
        .http
        .post(app.url("/oauth/introspect"))
        .basic_auth("dpop-app", Some(SECRET))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["cnf"]["jkt"], holder.jkt());
    assert_eq!(introspection["token_type"], "DPoP");

    let good = holder.proof(&app, "GET", USERINFO, Some(at));
    let resp = userinfo(&app, "DPoP", at, Some(good.clone())).await;
    assert_eq!(resp.status(), StatusCode::OK);
    const ATTRIBUTES: &str = "/api/public/v3/attributes.json";
    let resp = app
        .http
        .get(app.url(ATTRIBUTES))
        .header("Authorization", format!("DPoP {at}"))
        .header("DPoP", holder.proof(&app, "GET", ATTRIBUTES, Some(at)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "attributes.json takes it the same way"
    );

    let (status, error, challenge) = error_of(userinfo(&app, "DPoP", at, Some(good)).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_dpop_proof"),
        "replayed"
    );
    assert!(challenge.starts_with("DPoP "), "{challenge}");

    let (status, error, challenge) = error_of(userinfo(&app, "Bearer", at, None).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token"),
        "as a bearer token"
    );
    assert!(challenge.starts_with("DPoP "), "{challenge}");

    let stranger = Holder::new();
    let wrong_htu = {
        let mut c = claims(&app, "GET", USERINFO, Some(at));
        c["htu"] = json!(app.url("/oauth/token"));
        holder.sign(&c)
    };
    let stale = {
        let mut c = claims(&app, "GET", USERINFO, Some(at));
        c["iat"] = json!(app.clock.now() - 600);
        holder.sign(&c)
    };
    let wrong_method = holder.proof(&app, "POST", USERINFO, Some(at));
    let no_ath = holder.proof(&app, "GET", USERINFO, None);
    let other_token = holder.proof(&app, "GET", USERINFO, Some("another token"));
    for (case, proof) in [
        (
            "a proof by another key",
            stranger.proof(&app, "GET", USERINFO, Some(at)),
        ),
        ("a proof for another URL", wrong_htu),
        ("a stale proof", stale),
        ("a proof for another method", wrong_method),
        ("a proof without ath", no_ath),
        ("a proof for another token", other_token),
        ("not a JWS", "garbage".to_owned()),
    ] {
        let (status, error, _) = error_of(userinfo(&app, "DPoP", at, Some(proof)).await).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_dpop_proof"),
            "{case}"
        );
    }
}

/// RFC 9449 5: a public app's refresh token is bound too, and refreshes only with a proof by
/// its key; a confidential app may use DPoP without demanding it, and bearer tokens stay bearer.
#[tokio::test]
async fn a_public_apps_refresh_token_is_bound_to_its_key() {
    let app = spawn_app().await;
    app.create_app("dpop-public", |a| a.public = true).await;
    let holder = Holder::new();
    let code = code_for(&app, "dpop-public").await;
    let proof = holder.proof(&app, "POST", "/oauth/token", None);
    let resp = token(&app, "dpop-public", false, &code_form(&code), Some(proof)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let tokens: Value = resp.json().await.unwrap();
    assert_eq!(tokens["token_type"], "DPoP");
    let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];

    let (status, error, _) =
        error_of(token(&app, "dpop-public", false, &refresh, None).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_dpop_proof"),
        "no proof"
    );
    let stranger = Holder::new().proof(&app, "POST", "/oauth/token", None);
    let (status, error, _) =
        error_of(token(&app, "dpop-public", false, &refresh, Some(stranger)).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_dpop_proof"),
        "another key"
    );

    let proof = holder.proof(&app, "POST", "/oauth/token", None);
    let resp = token(&app, "dpop-public", false, &refresh, Some(proof)).await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "the refusals did not use the refresh token up"
    );
    let refreshed: Value = resp.json().await.unwrap();
    assert_eq!(refreshed["token_type"], "DPoP");

    // Without DPoP, the sandbox's confidential app still gets bearer tokens.
    let bearer = app.tokens_for("veteran@sandbox.test", "openid").await;
    assert_eq!(bearer["token_type"], "bearer");
    let at = bearer["access_token"].as_str().unwrap();
    let (status, error, _) = error_of(
        userinfo(
            &app,
            "DPoP",
            at,
            Some(holder.proof(&app, "GET", USERINFO, Some(at))),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token"),
        "a bearer token as DPoP"
    );
    assert!(app.introspect(at).await.get("cnf").is_none());
}

/// RFC 9449 8: with nonces required, a proof without one is answered `use_dpop_nonce` and the
/// nonce to use (the code is not consumed); the same request with the nonce succeeds; resources
/// ask the same way.
#[tokio::test]
async fn nonces_are_asked_for_and_then_accepted() {
    let app = spawn_with(|s| s.dpop_nonce = true).await;
    app.create_app("dpop-nonce", |_| {}).await;
    let holder = Holder::new();
    let code = code_for(&app, "dpop-nonce").await;

    let proof = holder.proof(&app, "POST", "/oauth/token", None);
    let resp = token(&app, "dpop-nonce", true, &code_form(&code), Some(proof)).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let nonce = resp.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "use_dpop_nonce"
    );

    let mut c = claims(&app, "POST", "/oauth/token", None);
    c["nonce"] = json!(nonce);
    let resp = token(
        &app,
        "dpop-nonce",
        true,
        &code_form(&code),
        Some(holder.sign(&c)),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().contains_key("dpop-nonce"));
    let tokens: Value = resp.json().await.unwrap();
    let at = tokens["access_token"].as_str().unwrap();

    let resp = userinfo(
        &app,
        "DPoP",
        at,
        Some(holder.proof(&app, "GET", USERINFO, Some(at))),
    )
    .await;
    assert!(resp.headers().contains_key("dpop-nonce"));
    let (status, error, challenge) = error_of(resp).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "use_dpop_nonce")
    );
    assert!(challenge.contains("use_dpop_nonce"), "{challenge}");

    // A nonce from another deployment's key is no nonce at all.
    let mut c = claims(&app, "GET", USERINFO, Some(at));
    c["nonce"] = json!("bm90LWEtbm9uY2U");
    let (status, error, _) =
        error_of(userinfo(&app, "DPoP", at, Some(holder.sign(&c))).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "use_dpop_nonce")
    );

    let mut c = claims(&app, "GET", USERINFO, Some(at));
    c["nonce"] = json!(nonce);
    let resp = userinfo(&app, "DPoP", at, Some(holder.sign(&c))).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

/// RFC 9449 10: `dpop_jkt` binds the code itself: redeemed with a proof by another key (or none)
/// it is refused (and spent); with the named key it works. A malformed `dpop_jkt` is refused.
#[tokio::test]
async fn dpop_jkt_binds_the_code() {
    let app = spawn_app().await;
    app.create_app("dpop-jkt", |_| {}).await;
    let holder = Holder::new();
    let jkt = holder.jkt();

    let code = code_with(&app, "dpop-jkt", &[("dpop_jkt", &jkt)]).await;
    let stranger = Holder::new().proof(&app, "POST", "/oauth/token", None);
    let (status, error, _) =
        error_of(token(&app, "dpop-jkt", true, &code_form(&code), Some(stranger)).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_dpop_proof")
    );

    let code = code_with(&app, "dpop-jkt", &[("dpop_jkt", &jkt)]).await;
    let (status, error, _) =
        error_of(token(&app, "dpop-jkt", true, &code_form(&code), None).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_dpop_proof"),
        "no proof"
    );

    let code = code_with(&app, "dpop-jkt", &[("dpop_jkt", &jkt)]).await;
    let proof = holder.proof(&app, "POST", "/oauth/token", None);
    let resp = token(&app, "dpop-jkt", true, &code_form(&code), Some(proof)).await;
    assert_eq!(resp.status(), StatusCode::OK);

    let url = app.authorize_url(&[
        ("client_id", "dpop-jkt"),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid"),
        ("dpop_jkt", "not a thumbprint"),
    ]);
    let resp = app.http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let loc = location(&resp).unwrap();
    assert!(
        loc.starts_with(CALLBACK) && loc.contains("error=invalid_request"),
        "{loc}"
    );
}
