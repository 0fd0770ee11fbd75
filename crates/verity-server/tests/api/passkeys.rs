//! Passkeys (SPEC 13) over HTTP, answered by the software authenticator of
//! [`crate::authenticator`]: registered on `/account/passkeys`, used as the second factor and
//! alone, said in the ID token's `amr` and `acr` (checked by the `openidconnect` crate), demanded
//! by `acr_values` and by an app's setting; and refused, each with a clear page, when the answer is
//! replayed, late, for another origin or RP ID, from an unknown key, or its counter went back.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::Value;
use verity_core::identity::Family;

use crate::authenticator::{SoftKey, Tamper};
use crate::helpers::*;

const PHISHING_RESISTANT: &str =
    "http://idmanagement.gov/ns/assurance/aal/2?phishing_resistant=true";
const EMAIL: &str = "student@sandbox.test";
const ADMIN_TOKEN: &str = "passkeys-admin-token-0123456789abcdef";

/// A server whose public URL names `localhost` (WebAuthn needs a domain; an IP address has no
/// RP ID), reached by that name so cookies and origins agree.
async fn spawn_on_localhost() -> TestApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut app = spawn_with(|s| {
        s.listen = format!("127.0.0.1:{port}");
        s.public_url = Some(format!("http://localhost:{port}"));
        s.admin_token = Some(verity_server::settings::Secret(ADMIN_TOKEN.into()));
    })
    .await;
    app.base = format!("http://localhost:{port}");
    app
}

/// Registers `key` as `name` for the person signed in in `browser` (signing in as `email`
/// first when needed); the answer to the form.
async fn register(
    app: &TestApp,
    browser: &reqwest::Client,
    email: &str,
    key: &mut SoftKey,
    name: &str,
    tamper: &Tamper,
) -> (StatusCode, String) {
    let (status, page) = open_as(app, browser, "/account/passkeys", email).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let options: Value = post_form(app, browser, "/account/passkeys/options", &csrf, &[])
        .await
        .json()
        .await
        .unwrap();
    let answer = key.register_tampered(&options, tamper).to_string();
    let fields = [("name", name), ("credential", answer.as_str())];
    let resp = post_form(app, browser, "/account/passkeys", &csrf, &fields).await;
    (resp.status(), resp.text().await.unwrap_or_default())
}

/// The passkey form of a sign-in or second-step page, as its script drives it.
struct PasskeyForm<'a> {
    app: &'a TestApp,
    browser: &'a reqwest::Client,
    action: String,
    csrf: String,
    purpose: &'a str,
}

impl<'a> PasskeyForm<'a> {
    fn on(app: &'a TestApp, browser: &'a reqwest::Client, page: &str, purpose: &'a str) -> Self {
        PasskeyForm {
            app,
            browser,
            action: form_action(page, "/passkey").expect("a passkey form on the page"),
            csrf: hidden_value(page, "csrf_token").unwrap(),
            purpose,
        }
    }

    /// The ceremony's options (the challenge is kept by the server from now).
    async fn options(&self) -> Value {
        let fields = [
            ("csrf_token", self.csrf.as_str()),
            ("purpose", self.purpose),
        ];
        let url = self.app.url(&format!("{}/options", self.action));
        let resp = self.browser.post(url).form(&fields).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }

    /// Posts `answer` as the form's `credential`.
    async fn answer(&self, answer: &str) -> reqwest::Response {
        let fields = [
            ("csrf_token", self.csrf.as_str()),
            ("purpose", self.purpose),
            ("credential", answer),
        ];
        let url = self.app.url(&self.action);
        self.browser.post(url).form(&fields).send().await.unwrap()
    }
}

/// On `page` (a sign-in or second-step page), asks for the passkey options of `purpose` and
/// answers them with `key` (tampered as told); the server's answer.
async fn use_passkey(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    purpose: &str,
    key: &mut SoftKey,
    tamper: &Tamper,
) -> reqwest::Response {
    let form = PasskeyForm::on(app, browser, page, purpose);
    let options = form.options().await;
    form.answer(&key.assert_tampered(&options, tamper).to_string())
        .await
}

/// Follows redirects within Verity from `resp` to the page they end on.
async fn land(app: &TestApp, browser: &reqwest::Client, mut resp: reqwest::Response) -> String {
    while resp.status().is_redirection() {
        let location = location(&resp).unwrap();
        resp = browser.get(app.url(&location)).send().await.unwrap();
    }
    resp.text().await.unwrap()
}

/// The sign-in page of a new authorization request with `extra` parameters.
async fn sign_in_page(app: &TestApp, browser: &reqwest::Client, extra: &[(&str, &str)]) -> String {
    let mut params = app.confidential_request("openid");
    params.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let resp = browser
        .get(app.authorize_url(&as_pairs(&params)))
        .send()
        .await
        .unwrap();
    land(app, browser, resp).await
}

/// Signs in with the password on the sign-in page `page`; the next page.
async fn password_step(app: &TestApp, browser: &reqwest::Client, page: &str) -> String {
    let action = form_action(page, "/signin").unwrap();
    let csrf = hidden_value(page, "csrf_token").unwrap();
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("email", EMAIL),
        ("password", PASSWORD),
    ];
    let resp = browser
        .post(app.url(&action))
        .form(&fields)
        .send()
        .await
        .unwrap();
    land(app, browser, resp).await
}

/// The ID token's claims after the journey continues from `resp` to the app.
async fn id_token_after(
    app: &TestApp,
    browser: &reqwest::Client,
    resp: reqwest::Response,
) -> Value {
    let (cb, _) = app
        .journey_from(browser, resp, &Journey::persona(EMAIL))
        .await;
    let tokens = app.exchange(cb.code()).await;
    let jwt = tokens["id_token"].as_str().unwrap();
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&crate::authenticator::decode_b64u(payload)).unwrap()
}

#[tokio::test]
async fn a_passkey_signs_in_as_second_factor_and_alone() {
    let app = spawn_on_localhost().await;
    let mut key = SoftKey::new(&app.base, false);
    let home = new_browser();
    let (status, page) =
        register(&app, &home, EMAIL, &mut key, "Blue key", &Tamper::default()).await;
    // The first passkey of an account without an authenticator app comes with recovery codes.
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Passkey added") && page.contains("Your recovery codes"),
        "{page}"
    );
    let codes: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{page}");
    let (_, page) = open_as(&app, &home, "/account/passkeys?done=added", EMAIL).await;
    assert!(page.contains("Passkey added"), "{page}");
    assert!(page.contains("Blue key"), "{page}");
    assert!(
        page.contains("Security key or device-bound passkey"),
        "{page}"
    );

    // The password, then the passkey as the second factor (no TOTP on this account: only the
    // passkey is offered).
    let browser = new_browser();
    let page = sign_in_page(&app, &browser, &[]).await;
    assert!(page.contains("Sign in with a passkey"), "{page}");
    let second = password_step(&app, &browser, &page).await;
    assert!(second.contains("value=\"second_factor\""), "{second}");
    // No authenticator app here: the code field takes recovery codes only.
    assert!(!second.contains(">Code</label>"), "{second}");
    assert!(second.contains(">Recovery code</label>"), "{second}");
    let resp = use_passkey(
        &app,
        &browser,
        &second,
        "second_factor",
        &mut key,
        &Tamper::default(),
    )
    .await;
    let claims = id_token_after(&app, &browser, resp).await;
    assert_eq!(
        claims["amr"],
        serde_json::json!(["pwd", "hwk", "user", "mfa"])
    );
    assert_eq!(claims["acr"], PHISHING_RESISTANT);

    // The passkey alone (discoverable): no password, and two factors all the same.
    let browser = new_browser();
    let page = sign_in_page(&app, &browser, &[]).await;
    let resp = use_passkey(
        &app,
        &browser,
        &page,
        "signin",
        &mut key,
        &Tamper::default(),
    )
    .await;
    let claims = id_token_after(&app, &browser, resp).await;
    assert_eq!(claims["amr"], serde_json::json!(["hwk", "user", "mfa"]));
    assert_eq!(claims["acr"], PHISHING_RESISTANT);

    // The passkey lost: a recovery code stands in, once.
    let browser = new_browser();
    let page = sign_in_page(&app, &browser, &[]).await;
    let second = password_step(&app, &browser, &page).await;
    assert!(
        second.contains("Lost your passkey? Use a recovery code"),
        "{second}"
    );
    let action = form_action(&second, "/mfa").unwrap();
    let csrf = hidden_value(&second, "csrf_token").unwrap();
    let fields = [("csrf_token", csrf.as_str()), ("code", codes[0].as_str())];
    let resp = browser
        .post(app.url(&action))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let claims = id_token_after(&app, &browser, resp).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // The account page lists its last use; the person's activity says how they signed in.
    let (_, page) = open_as(&app, &home, "/account/passkeys", EMAIL).await;
    assert!(!page.contains("Not yet"), "{page}");
    let (_, activity) = open_as(&app, &home, "/account/activity", EMAIL).await;
    assert!(activity.contains("Signed in with a passkey"), "{activity}");
    assert!(
        activity.contains("Second step with a passkey"),
        "{activity}"
    );
    assert!(activity.contains("Passkey added: Blue key"), "{activity}");

    // The data download lists it among the factors, by name, never its key material.
    let text = home
        .get(app.url("/account/data"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let data: Value = serde_json::from_str(&text).unwrap();
    let listed = data["factors"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|f| f["kind"] == "passkey" && f["name"] == "Blue key"),
        "{text}"
    );
    assert!(
        !text.contains("cred_id") && !text.contains(&base64_url(&key.id)),
        "{text}"
    );

    // Removed, it signs in no more.
    let (_, page) = open_as(&app, &home, "/account/passkeys", EMAIL).await;
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let remove = form_action(&page, "/remove").unwrap();
    let resp = post_form(&app, &home, &remove, &csrf, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let browser = new_browser();
    let page = sign_in_page(&app, &browser, &[]).await;
    let resp = use_passkey(
        &app,
        &browser,
        &page,
        "signin",
        &mut key,
        &Tamper::default(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"passkey-error\""), "{html}");
    assert!(html.contains("is not registered"), "{html}");
}

#[tokio::test]
async fn the_openidconnect_crate_validates_a_passkey_sign_in() {
    let app = spawn_on_localhost().await;
    app.create_app("outside-rp", |a| a.profile = Family::Oidc)
        .await;
    let mut key = SoftKey::new(&app.base, true);
    register(
        &app,
        &new_browser(),
        EMAIL,
        &mut key,
        "Phone",
        &Tamper::default(),
    )
    .await;
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http)
            .await
            .expect("discovery is accepted by the crate");
    let advertised = metadata.acr_values_supported().unwrap();
    assert!(advertised.iter().any(|a| a.as_str() == PHISHING_RESISTANT));
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("outside-rp".into()),
        Some(ClientSecret::new(SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_auth_context_value(AuthenticationContextClass::new(PHISHING_RESISTANT.into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = new_browser();
    let resp = browser.get(url.as_str()).send().await.unwrap();
    let page = land(&app, &browser, resp).await;
    let resp = use_passkey(
        &app,
        &browser,
        &page,
        "signin",
        &mut key,
        &Tamper::default(),
    )
    .await;
    let (cb, _) = app
        .journey_from(&browser, resp, &Journey::persona(EMAIL))
        .await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(cb.code().to_owned()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the crate verifies the ID token");
    let acr = claims.auth_context_ref().map(|a| a.as_str().to_owned());
    assert_eq!(acr.as_deref(), Some(PHISHING_RESISTANT));
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|m| m.as_str().to_owned())
        .collect();
    // A synced passkey: software-held as far as the provider can tell.
    assert_eq!(amr, ["swk", "user", "mfa"]);
}

#[tokio::test]
async fn refused_passkey_answers_say_why_and_sign_nobody_in() {
    let app = spawn_on_localhost().await;
    let mut key = SoftKey::new(&app.base, false);
    register(
        &app,
        &new_browser(),
        EMAIL,
        &mut key,
        "Laptop",
        &Tamper::default(),
    )
    .await;

    let refused = |html: &str, said: &str| {
        assert!(html.contains("id=\"passkey-error\""), "{html}");
        assert!(html.contains(said), "expected {said:?} in {html}");
    };
    let tampered = [
        (
            "another origin",
            Tamper {
                origin: Some("http://evil.example".into()),
                ..Tamper::default()
            },
            "made for another site",
        ),
        (
            "another RP ID",
            Tamper {
                rp_id: Some("evil.example".into()),
                ..Tamper::default()
            },
            "made for another site",
        ),
        (
            "no user verification",
            Tamper {
                unverified: true,
                ..Tamper::default()
            },
            "did not check that it is you",
        ),
    ];
    for (case, tamper, said) in tampered {
        let browser = new_browser();
        let page = sign_in_page(&app, &browser, &[]).await;
        let resp = use_passkey(&app, &browser, &page, "signin", &mut key, &tamper).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{case}");
        refused(&resp.text().await.unwrap(), said);
    }

    // A key never registered.
    let mut stranger = SoftKey::new(&app.base, false);
    stranger.user_handle = key.user_handle.clone();
    let browser = new_browser();
    let page = sign_in_page(&app, &browser, &[]).await;
    let resp = use_passkey(
        &app,
        &browser,
        &page,
        "signin",
        &mut stranger,
        &Tamper::default(),
    )
    .await;
    refused(&resp.text().await.unwrap(), "is not registered");

    // A replayed answer: an assertion that signed someone in, posted again to a new sign-in,
    // answers no ceremony of its own (none started there, or one with another challenge).
    let browser = new_browser();
    let page = sign_in_page(&app, &browser, &[]).await;
    let form = PasskeyForm::on(&app, &browser, &page, "signin");
    let answer = key.assert(&form.options().await).to_string();
    assert_eq!(form.answer(&answer).await.status(), StatusCode::SEE_OTHER);
    for ask_first in [false, true] {
        let browser = new_browser();
        let page = sign_in_page(&app, &browser, &[]).await;
        let form = PasskeyForm::on(&app, &browser, &page, "signin");
        if ask_first {
            form.options().await;
        }
        let again = form.answer(&answer).await;
        assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
        let said = if ask_first {
            "could not be verified"
        } else {
            "already used"
        };
        refused(&again.text().await.unwrap(), said);
    }

    // A late answer: the challenge lived five minutes.
    let browser = new_browser();
    let page = sign_in_page(&app, &browser, &[]).await;
    let form = PasskeyForm::on(&app, &browser, &page, "signin");
    let options = form.options().await;
    app.clock.advance(301);
    let resp = form.answer(&key.assert(&options).to_string()).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    refused(&resp.text().await.unwrap(), "timed out");

    // A counter that goes backwards: a copy of the key may be in use.
    let browser = new_browser();
    let page = sign_in_page(&app, &browser, &[]).await;
    let behind = Tamper {
        counter: Some(1),
        ..Tamper::default()
    };
    let resp = use_passkey(&app, &browser, &page, "signin", &mut key, &behind).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    refused(
        &resp.text().await.unwrap(),
        "signature counter went backwards",
    );
    let reasons = app
        .store
        .find_audit(None, None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "passkey.refused")
        .map(|e| e.detail["reason"].as_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>();
    for reason in [
        "user_not_verified",
        "invalid",
        "unknown_credential",
        "no_ceremony",
        "expired",
        "counter_regressed",
    ] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} in {reasons:?}"
        );
    }

    // No answer at all (a browser without WebAuthn), or one that is not JSON.
    for sent in ["", "{not json"] {
        let browser = new_browser();
        let page = sign_in_page(&app, &browser, &[]).await;
        let resp = PasskeyForm::on(&app, &browser, &page, "signin")
            .answer(sent)
            .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        let said = if sent.is_empty() {
            "did not send a passkey"
        } else {
            "could not be verified"
        };
        refused(&resp.text().await.unwrap(), said);
    }
}

#[tokio::test]
async fn registration_refuses_bad_names_other_sites_and_duplicates() {
    let app = spawn_on_localhost().await;
    let home = new_browser();
    let mut key = SoftKey::new(&app.base, false);
    let (status, page) = register(&app, &home, EMAIL, &mut key, " ", &Tamper::default()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("id=\"name-error\""), "{page}");
    let other = Tamper {
        origin: Some("http://evil.example".into()),
        ..Tamper::default()
    };
    let (status, page) = register(&app, &home, EMAIL, &mut key, "Laptop", &other).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("id=\"passkey-error\""), "{page}");
    let (status, _) = register(&app, &home, EMAIL, &mut key, "Laptop", &Tamper::default()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, page) = register(&app, &home, EMAIL, &mut key, "Again", &Tamper::default()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("already registered"), "{page}");
    let user = app.store.find_user_by_email(EMAIL).await.unwrap().unwrap();
    assert_eq!(app.store.find_passkeys(&user.uuid).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_phishing_resistant_demand_takes_a_passkey_and_nothing_else() {
    let app = spawn_on_localhost().await;
    // Without a passkey: after the password, a page that says what is missing, and back to the
    // app with unmet_authentication_requirements.
    let browser = new_browser();
    let page = sign_in_page(&app, &browser, &[("acr_values", PHISHING_RESISTANT)]).await;
    let unmet = password_step(&app, &browser, &page).await;
    assert!(unmet.contains("needs a passkey"), "{unmet}");
    let action = form_action(&unmet, "/unmet").unwrap();
    let csrf = hidden_value(&unmet, "csrf_token").unwrap();
    let resp = browser
        .post(app.url(&action))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let cb = query_pairs(&location(&resp).unwrap());
    assert!(cb.contains(&("error".into(), "unmet_authentication_requirements".into())));

    // With one, the demand is met by it (and a weaker acr_values by the password alone).
    let mut key = SoftKey::new(&app.base, false);
    register(
        &app,
        &new_browser(),
        EMAIL,
        &mut key,
        "Key",
        &Tamper::default(),
    )
    .await;
    let browser = new_browser();
    let page = sign_in_page(&app, &browser, &[("acr_values", PHISHING_RESISTANT)]).await;
    let second = password_step(&app, &browser, &page).await;
    assert!(second.contains("asks for a passkey"), "{second}");
    let resp = use_passkey(
        &app,
        &browser,
        &second,
        "second_factor",
        &mut key,
        &Tamper::default(),
    )
    .await;
    let claims = id_token_after(&app, &browser, resp).await;
    assert_eq!(claims["acr"], PHISHING_RESISTANT);

    // An app that requires it, whatever the request says.
    let strict = "strict-rp";
    app.create_app(strict, |a| a.require_phishing_resistant = true)
        .await;
    let browser = new_browser();
    let mut params = app.confidential_request("openid");
    params[0].1 = strict.into();
    let resp = browser
        .get(app.authorize_url(&as_pairs(&params)))
        .send()
        .await
        .unwrap();
    let page = land(&app, &browser, resp).await;
    let second = password_step(&app, &browser, &page).await;
    assert!(second.contains("value=\"second_factor\""), "{second}");
    assert!(!second.contains("name=\"code\""), "{second}");
}

#[tokio::test]
async fn an_operator_removes_every_second_factor_of_a_person_who_lost_them() {
    let app = spawn_on_localhost().await;
    let mut key = SoftKey::new(&app.base, false);
    let home = new_browser();
    register(
        &app,
        &home,
        EMAIL,
        &mut key,
        "Lost phone",
        &Tamper::default(),
    )
    .await;
    let user = app.store.find_user_by_email(EMAIL).await.unwrap().unwrap();
    let remove = |uuid: String| {
        let url = app.url(&format!("/api/admin/v1/users/{uuid}/second-factors"));
        let http = app.http.clone();
        async move {
            let resp = http.delete(url).bearer_auth(ADMIN_TOKEN).send().await;
            resp.unwrap().status()
        }
    };
    assert_eq!(remove("no-such-person".into()).await, StatusCode::NOT_FOUND);
    assert_eq!(remove(user.uuid.clone()).await, StatusCode::NO_CONTENT);
    assert!(
        app.store
            .find_passkeys(&user.uuid)
            .await
            .unwrap()
            .is_empty()
    );
    // Every session of the person ended: the account page asks them to sign in again.
    let resp = home.get(app.url("/account/passkeys")).send().await.unwrap();
    assert!(resp.status().is_redirection());
    // The password alone signs in now (no second step to ask for), and it is audited.
    let browser = new_browser();
    let page = sign_in_page(&app, &browser, &[]).await;
    let next = password_step(&app, &browser, &page).await;
    assert!(!next.contains("Two-step verification"), "{next}");
    let events = app
        .store
        .find_audit(None, Some(&user.uuid), 20)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event == "admin.second_factors.removed")
    );
}
