//! The `openidconnect` crate as an outside relying party: discovery, PKCE + nonce, the pages
//! filled over HTTP, code exchange, ID-token verification by the crate, userinfo (`oidc` app).

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use verity_core::identity::Family;

use crate::helpers::*;

#[tokio::test]
async fn openidconnect_crate_completes_the_flow_for_every_persona() {
    let app = spawn_app().await;
    app.create_app("outside-rp", |a| a.profile = Family::Oidc)
        .await;
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http)
            .await
            .expect("discovery is accepted by the crate");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("outside-rp".into()),
        Some(ClientSecret::new(SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());

    for email in [
        "veteran@sandbox.test",
        "student@sandbox.test",
        "unverified@sandbox.test",
        "international@sandbox.test",
        "hyphen@sandbox.test",
        "multi@sandbox.test",
    ] {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, csrf, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("military".into()))
            .set_pkce_challenge(challenge)
            .url();
        let mut journey = Journey::persona(email);
        journey.verification = "skip";
        let (cb, _) = app.journey(&new_browser(), url.as_str(), &journey).await;
        assert_eq!(cb.get("state"), Some(csrf.secret().as_str()));
        let tokens = client
            .exchange_code(AuthorizationCode::new(cb.code().to_owned()))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .expect("code exchange");
        let id_token = tokens.id_token().expect("an ID token");
        let claims = id_token
            .claims(&client.id_token_verifier(), &nonce)
            .expect("the crate verifies the ID token");
        assert_eq!(claims.email().map(|e| e.as_str()), Some(email));
        let userinfo: CoreUserInfoClaims = client
            .user_info(
                tokens.access_token().clone(),
                Some(claims.subject().clone()),
            )
            .unwrap()
            .request_async(&http)
            .await
            .expect("userinfo");
        assert_eq!(userinfo.subject(), claims.subject());
        assert_eq!(userinfo.email().map(|e| e.as_str()), Some(email));
    }
}
