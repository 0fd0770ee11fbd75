//! The developer console over HTTP: a person registers an app through the pages and signs a user
//! in with it; roles are enforced on every action; other organizations stay invisible.

use reqwest::StatusCode;
use serde_json::Value;
use verity_core::identity::Family;
use verity_core::keys::Alg;

use crate::helpers::*;
use crate::helpers::{open_as as open, post_form as post};

fn between(html: &str, start: &str, end: &str) -> String {
    html.split(start)
        .nth(1)
        .and_then(|r| r.split(end).next())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn an_integrator_registers_an_app_in_the_console_and_a_user_signs_in_with_it() {
    let app = spawn_app().await;
    let owner = new_browser();
    let (s, home) = open(&app, &owner, "/developer", "student@sandbox.test").await;
    assert_eq!(s, StatusCode::OK);
    assert!(home.contains("Developer console"));
    let csrf = hidden_value(&home, "csrf_token").unwrap();

    // Create an organization.
    let resp = post(
        &app,
        &owner,
        "/developer/orgs",
        &csrf,
        &[("name", "Campus Deals")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let org_path = resp.headers()["location"].to_str().unwrap().to_owned();
    let org_id = org_path.rsplit('/').next().unwrap().to_owned();
    let (_, org_page) = open(&app, &owner, &org_path, "student@sandbox.test").await;
    assert!(org_page.contains("Campus Deals") && org_page.contains("owner"));

    // Invalid registration: a message per rejected URI, input kept.
    let resp = post(
        &app,
        &owner,
        &format!("/developer/orgs/{org_id}/apps"),
        &csrf,
        &[
            ("name", "Deals"),
            ("redirect_uris", "javascript:alert(1)\nhttps://ok.test/cb#x"),
            ("allowed_origins", "https://spa.test/app"),
            ("profile", "idme"),
            ("id_token_alg", "RS256"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("javascript:alert(1)") && page.contains("fragment"),
        "{page}"
    );
    assert!(
        page.contains("without a path")
            && page.contains(">https:&#x2f;&#x2f;spa.test&#x2f;app</textarea>"),
        "{page}"
    );

    // A valid registration shows the credentials once.
    let resp = post(
        &app,
        &owner,
        &format!("/developer/orgs/{org_id}/apps"),
        &csrf,
        &[
            ("name", "Deals"),
            ("redirect_uris", CALLBACK),
            ("policies", "openid"),
            ("policies", "student"),
            ("profile", "idme"),
            ("id_token_alg", "RS256"),
            ("refresh_tokens", "on"),
            ("access_ttl", "300"),
            (
                "allowed_origins",
                "https://spa.test\r\nhttps://Admin.Spa.test/",
            ),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["cache-control"],
        "no-store",
        "credentials are never cached"
    );
    let page = resp.text().await.unwrap();
    let client_id = between(&page, "id=\"cred-client-id\">", "<");
    let secret = between(&page, "id=\"cred-client-secret\">", "<");
    assert!(verity_core::secret::is_token_shaped(&client_id), "{page}");
    assert_eq!(secret.len(), 64);
    let (_, app_page) = open(
        &app,
        &owner,
        &format!("/developer/apps/{client_id}"),
        "student@sandbox.test",
    )
    .await;
    assert!(!app_page.contains(&secret), "the secret is shown once only");
    assert!(
        app_page
            .contains(">https:&#x2f;&#x2f;spa.test\nhttps:&#x2f;&#x2f;admin.spa.test</textarea>"),
        "{app_page}"
    );

    // A user signs in to the new app with those credentials.
    let url = app.authorize_url(&[
        ("client_id", &client_id),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid student"),
    ]);
    let (cb, _) = app
        .journey(
            &new_browser(),
            &url,
            &Journey::persona("student@sandbox.test"),
        )
        .await;
    let resp = app
        .post_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", cb.code()),
                ("redirect_uri", CALLBACK),
            ],
            Some((&client_id, &secret)),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let tokens: Value = resp.json().await.unwrap();
    assert!(tokens["id_token"].is_string());

    // Invite a developer; the invitation goes through the outbox.
    let resp = post(
        &app,
        &owner,
        &format!("/developer/orgs/{org_id}/invitations"),
        &csrf,
        &[("email", "multi@sandbox.test"), ("role", "developer")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let outbox = app.data_dir.path().join("outbox");
    let mail = std::fs::read_dir(&outbox)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mail = std::fs::read_to_string(mail).unwrap();
    assert!(mail.contains("To: multi@sandbox.test"));
    let link = mail
        .lines()
        .find(|l| l.contains("/developer/invitations/"))
        .unwrap()
        .trim()
        .to_owned();
    let invite_path = link.trim_start_matches(&app.base).to_owned();

    // Someone else cannot use the invitation.
    let stranger = new_browser();
    let (s, _) = open(&app, &stranger, &invite_path, "unverified@sandbox.test").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = open(&app, &stranger, &org_path, "unverified@sandbox.test").await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "other organizations are invisible"
    );
    let (s, _) = open(
        &app,
        &stranger,
        &format!("/developer/apps/{client_id}"),
        "unverified@sandbox.test",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The invitee joins as developer: may edit, may not delete or manage members.
    let dev = new_browser();
    let (s, page) = open(&app, &dev, &invite_path, "multi@sandbox.test").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("Campus Deals") && page.contains("developer"));
    assert!(
        !page.contains("Send invitation"),
        "developers do not see the invitation form"
    );
    // The CSRF token belongs to the session: any console page with a form carries it.
    let (_, dev_home) = open(&app, &dev, "/developer", "multi@sandbox.test").await;
    let dev_csrf = hidden_value(&dev_home, "csrf_token").unwrap();
    let resp = post(
        &app,
        &dev,
        &format!("/developer/apps/{client_id}/delete"),
        &dev_csrf,
        &[],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = post(
        &app,
        &dev,
        &format!("/developer/orgs/{org_id}/invitations"),
        &dev_csrf,
        &[("email", "x@example.test"), ("role", "admin")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = post(
        &app,
        &dev,
        &format!("/developer/apps/{client_id}"),
        &dev_csrf,
        &[
            ("name", "Deals 2"),
            ("redirect_uris", CALLBACK),
            ("policies", "openid"),
            ("policies", "student"),
            ("profile", "oidc"),
            ("id_token_alg", "ES256"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let changed = app.store.find_app(&client_id).await.unwrap().unwrap();
    assert_eq!(
        (changed.name.as_str(), changed.profile, changed.id_token_alg),
        ("Deals 2", Family::Oidc, Alg::ES256)
    );
    assert!(
        !changed.refresh_tokens,
        "an unchecked box turns the setting off"
    );

    // Rotation: a second secret; both valid; the owner deletes the first.
    let resp = post(
        &app,
        &dev,
        &format!("/developer/apps/{client_id}/secrets"),
        &dev_csrf,
        &[],
    )
    .await;
    let page = resp.text().await.unwrap();
    let second = between(&page, "id=\"cred-client-secret\">", "<");
    assert_eq!(second.len(), 64);
    assert_ne!(second, secret);
    let old_id = app
        .store
        .find_app_secrets(&client_id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect::<Vec<_>>();
    assert_eq!(old_id.len(), 2);
    let resp = post(
        &app,
        &dev,
        &format!("/developer/apps/{client_id}/secrets/{}/delete", old_id[0]),
        &dev_csrf,
        &[],
    )
    .await;
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "a developer cannot delete secrets"
    );

    // A wrong CSRF token is refused; the audit page lists what happened.
    let resp = post(
        &app,
        &owner,
        &format!("/developer/apps/{client_id}/delete"),
        "forged",
        &[],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let (s, audit) = open(
        &app,
        &owner,
        &format!("/developer/apps/{client_id}/audit"),
        "student@sandbox.test",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for e in [
        "console.app.created",
        "console.app.updated",
        "console.secret.created",
        "token.issued",
        "signin.success",
    ] {
        assert!(audit.contains(e), "{e} in the audit page");
    }
    let updates = app
        .store
        .find_audit(Some(&client_id), None, 100)
        .await
        .unwrap();
    let update = updates
        .iter()
        .find(|e| e.event == "console.app.updated")
        .unwrap();
    let fields = update.detail["fields"].as_array().unwrap();
    for f in ["name", "profile", "id_token_alg", "refresh_tokens"] {
        assert!(
            fields.iter().any(|x| x == f),
            "who changed what: {f} in {fields:?}"
        );
    }
    assert!(update.uuid.is_some(), "who");
    let resp = post(
        &app,
        &owner,
        &format!("/developer/apps/{client_id}/delete"),
        &csrf,
        &[],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(app.store.find_app(&client_id).await.unwrap().is_none());
}
