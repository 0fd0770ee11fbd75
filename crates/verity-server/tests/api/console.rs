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

/// GETs `path` in `browser`, following redirects on this server; the last answer's page.
async fn follow(app: &TestApp, browser: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let mut url = app.url(path);
    for _ in 0..6 {
        let resp = browser.get(&url).send().await.unwrap();
        match location(&resp) {
            Some(next) if resp.status().is_redirection() => {
                url = if next.starts_with('/') {
                    app.url(&next)
                } else {
                    next
                };
            }
            _ => {
                let s = resp.status();
                return (s, resp.text().await.unwrap());
            }
        }
    }
    panic!("too many redirects from {path}");
}

/// The text of the page's `role="status"` message, if it has one.
fn status_message(html: &str) -> Option<String> {
    html.split("role=\"status\"")
        .nth(1)
        .and_then(|r| r.split_once('>'))
        .map(|(_, r)| r.split('<').next().unwrap_or_default().to_owned())
}

/// Issue 26: after each change the console says what it did, from fixed words and stored values
/// only; a crafted link says nothing. Pages name the organization and the app in the breadcrumb,
/// the people in the audit log by email, and dates in words (never Unix seconds); an app without
/// a policy is registered with a warning; the credentials page has copy buttons.
#[tokio::test]
async fn the_console_says_what_each_change_did_in_words_a_person_reads() {
    let app = spawn_app().await;
    let owner = new_browser();
    let me = "student@sandbox.test";
    let (_, home) = open(&app, &owner, "/developer", me).await;
    let csrf = hidden_value(&home, "csrf_token").unwrap();
    assert_eq!(status_message(&home), None, "nothing happened yet");

    // A new organization: its page, headed by its name, is the confirmation.
    let resp = post(
        &app,
        &owner,
        "/developer/orgs",
        &csrf,
        &[("name", "Campus Deals")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let org_path = location(&resp).unwrap();
    let org_id = org_path.rsplit('/').next().unwrap().to_owned();
    let (_, page) = open(&app, &owner, &org_path, me).await;
    assert!(page.contains("<h1>Campus Deals</h1>"), "{page}");
    assert!(
        page.contains(&format!(
            "<a href=\"/developer/orgs/{org_id}\">Campus Deals</a>"
        )),
        "the breadcrumb names the organization: {page}"
    );

    // An app without a policy is registered, with a warning; its credentials can be copied.
    let resp = post(
        &app,
        &owner,
        &format!("/developer/orgs/{org_id}/apps"),
        &csrf,
        &[
            ("name", "Deals"),
            ("redirect_uris", CALLBACK),
            ("profile", "oidc"),
            ("id_token_alg", "RS256"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let page = resp.text().await.unwrap();
    let client_id = between(&page, "id=\"cred-client-id\">", "<");
    assert!(verity_core::secret::is_token_shaped(&client_id), "{page}");
    assert!(page.contains("This app has no policy."), "{page}");
    assert!(
        page.contains(">Campus Deals</a>") && page.contains(">Deals</a>"),
        "{page}"
    );
    assert!(!page.contains(">Organization</a>"), "{page}");
    assert!(
        page.contains("data-copy=\"cred-client-id\"")
            && page.contains("data-copy=\"cred-client-secret\"")
            && page.contains("<script src=\"/static/copy.js\" defer>"),
        "{page}"
    );
    let script = app
        .http
        .get(app.url("/static/copy.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(script.text().await.unwrap().contains("Copied"));

    // Save: the settings page says so.
    let app_path = format!("/developer/apps/{client_id}");
    let (_, settings) = open(&app, &owner, &app_path, me).await;
    assert!(settings.contains("This app has no policy."));
    assert_eq!(status_message(&settings), None);
    let resp = post(
        &app,
        &owner,
        &app_path,
        &csrf,
        &[
            ("name", "Deals"),
            ("redirect_uris", CALLBACK),
            ("policies", "openid"),
            ("profile", "oidc"),
            ("id_token_alg", "RS256"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let after = location(&resp).unwrap();
    assert_eq!(after, format!("{app_path}?done=saved"));
    let (_, settings) = open(&app, &owner, &after, me).await;
    assert_eq!(status_message(&settings).as_deref(), Some("Saved."));
    assert!(!settings.contains("This app has no policy."));
    assert!(
        settings.contains("Response format") && settings.contains("Standard OpenID Connect"),
        "{settings}"
    );
    assert!(settings.contains("Signed userinfo answers"), "{settings}");

    // The secrets list says when, in words; never Unix seconds.
    let secret = app
        .store
        .find_app_secrets(&client_id)
        .await
        .unwrap()
        .remove(0);
    assert!(settings.contains("<time datetime=\""), "{settings}");
    assert!(
        !settings.contains(&secret.created_at.to_string()),
        "{settings}"
    );

    // Send invitation: the organization's page names who was invited, from the store.
    let resp = post(
        &app,
        &owner,
        &format!("/developer/orgs/{org_id}/invitations"),
        &csrf,
        &[("email", "Multi@Sandbox.test"), ("role", "admin")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let after = location(&resp).unwrap();
    let (_, page) = open(&app, &owner, &after, me).await;
    assert_eq!(
        status_message(&page).as_deref(),
        Some("Invitation sent to multi@sandbox.test as admin."),
    );

    // A crafted flag says nothing: only the store's invitations and the fixed words are shown.
    for forged in [
        format!("{org_path}?invited=00000000000000000000000000000000"),
        format!("{org_path}?invited=%3Cb%3Eyou%20won%3C%2Fb%3E"),
        format!("{org_path}?done=%3Cb%3Eyou%20won%3C%2Fb%3E"),
        format!("{app_path}?done=Saved."),
    ] {
        let (s, page) = open(&app, &owner, &forged, me).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(status_message(&page), None, "{forged}");
        assert!(!page.contains("you won"), "{forged}");
    }

    // The audit log names who acted by email (the id in small print), says when in words, and
    // its table is a labelled region reachable by keyboard.
    let owner_uuid = app
        .store
        .find_user_by_email(me)
        .await
        .unwrap()
        .unwrap()
        .uuid;
    let (s, audit) = open(&app, &owner, &format!("{app_path}/audit"), me).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        audit.contains(&format!(
            "{me}<small class=\"hint\">Account {owner_uuid}</small>"
        )),
        "{audit}"
    );
    assert!(
        audit.contains("role=\"region\" aria-labelledby=\"audit-caption\" tabindex=\"0\"")
            && audit.contains("<p class=\"table-title\" id=\"audit-caption\">The last "),
        "{audit}"
    );
    let rows = app
        .store
        .find_audit(Some(&client_id), None, 10)
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        assert!(
            !audit.contains(&row.at.to_string()),
            "{} in {audit}",
            row.at
        );
    }
    assert!(audit.contains("<time datetime=\""), "{audit}");
    assert!(!audit.contains("Unix"), "{audit}");
    assert!(
        audit.contains("<code>fields: policies</code>"),
        "details in words, not JSON: {audit}"
    );

    // Deleting a secret, then the app, says so on the page the browser lands on.
    let resp = post(
        &app,
        &owner,
        &format!("{app_path}/secrets/{}/delete", secret.id),
        &csrf,
        &[],
    )
    .await;
    let after = location(&resp).unwrap();
    assert_eq!(after, format!("{app_path}?done=secret-deleted"));
    let (_, page) = open(&app, &owner, &after, me).await;
    assert_eq!(
        status_message(&page).as_deref(),
        Some("Secret deleted: it no longer works.")
    );
    let resp = post(&app, &owner, &format!("{app_path}/delete"), &csrf, &[]).await;
    let after = location(&resp).unwrap();
    assert_eq!(after, format!("{org_path}?done=app-deleted"));
    let (_, page) = open(&app, &owner, &after, me).await;
    assert_eq!(
        status_message(&page).as_deref(),
        Some("App deleted: its tokens no longer work.")
    );
}

/// Issue 26: the console has a sign-out (a form post with the session's CSRF token): it ends the
/// session and lands on the sign-in page, which says it continues to the developer console.
#[tokio::test]
async fn signing_out_of_the_console_ends_the_session_and_lands_on_the_sign_in() {
    let app = spawn_app().await;
    let browser = new_browser();
    let me = "student@sandbox.test";

    // Signed out, /developer leads to a sign-in page that names the console.
    let (s, signin) = follow(&app, &browser, "/developer").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        signin.contains("to continue to <strong>the developer console</strong>"),
        "{signin}"
    );
    assert!(!signin.contains("Your Verity account"), "{signin}");
    // The account page keeps its own name.
    let (_, signin) = follow(&app, &new_browser(), "/account").await;
    assert!(
        signin.contains("to continue to <strong>Your Verity account</strong>"),
        "{signin}"
    );

    let (_, home) = open(&app, &browser, "/developer", me).await;
    assert!(home.contains(">Sign out</button>"), "{home}");
    let csrf = hidden_value(&home, "csrf_token").unwrap();

    // A forged token signs nobody out.
    let resp = post(&app, &browser, "/developer/sign-out", "forged", &[]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = browser.get(app.url("/developer")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "still signed in");

    let resp = post(&app, &browser, "/developer/sign-out", &csrf, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = location(&resp).unwrap();
    assert!(
        to.contains("/oauth/authorize?") && to.contains("client_id=verity-account"),
        "{to}"
    );
    let cleared = resp.headers().get_all("set-cookie").iter().any(|c| {
        let c = c.to_str().unwrap();
        c.starts_with("verity_session=;") && c.contains("Max-Age=0")
    });
    assert!(cleared, "the session cookie is cleared");
    let uuid = app
        .store
        .find_user_by_email(me)
        .await
        .unwrap()
        .unwrap()
        .uuid;
    let trail = app.store.find_audit(None, Some(&uuid), 5).await.unwrap();
    assert_eq!(trail[0].event, "logout");

    // The session is over on the server too, and the browser lands on the sign-in page.
    let (s, signin) = follow(&app, &browser, &to.replace(&app.base, "")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        signin.contains("the developer console") && signin.contains("Password"),
        "{signin}"
    );
    let resp = browser.get(app.url("/developer")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "signed out");

    // Signed out, a post is refused (no sign-out of someone else by a link).
    let resp = post(&app, &browser, "/developer/sign-out", &csrf, &[]).await;
    assert!(resp.status().is_client_error(), "{}", resp.status());
}
