//! Issue 26: what the person saves on the profile form is kept beside the verified values and
//! shown back with a message; the home page knows the person; sign-out ends the app's session
//! and the provider's (RP-initiated logout).

use reqwest::StatusCode;
use sqlx::Row;

use crate::helpers::*;

/// The form as a browser would post it: every field with the value shown, `changes` applied.
fn filled_form(html: &str, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form: Vec<(String, String)> = [
        "fname",
        "mname",
        "lname",
        "email",
        "birth_date",
        "phone",
        "street",
        "city",
        "state",
        "zip",
        "country",
    ]
    .iter()
    .map(|h| {
        let value = changes
            .iter()
            .find(|(c, _)| c == h)
            .map(|(_, v)| (*v).to_owned())
            .unwrap_or_else(|| input_value(html, h));
        ((*h).to_owned(), value)
    })
    .collect();
    form.push((
        "csrf_token".into(),
        hidden_value(html, "csrf_token").unwrap(),
    ));
    form
}

/// The sentence under a field that says where its value comes from.
fn source_of(html: &str, handle: &str) -> String {
    let marker = format!("id=\"{handle}-source\">");
    html.split(&marker)
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap_or_else(|| panic!("no source for {handle} in {html}"))
        .to_owned()
}

#[tokio::test]
async fn a_saved_profile_is_kept_beside_the_verified_values_and_said_to_be_saved() {
    for backend in backends() {
        saved_profile_on(backend).await;
    }
}

async fn saved_profile_on(backend: Backend) {
    let op = spawn_provider().await;
    // The identity policy releases the address.
    let rp = spawn_rp_on(
        backend,
        &op.issuer,
        "sandbox-public",
        None,
        IDENTITY_POLICY,
        op.clock.clone(),
    )
    .await;
    let browser = new_browser();
    let html = sign_in_with(&browser, &op, &rp, "veteran@sandbox.test").await;
    assert_eq!(input_value(&html, "city"), "Norfolk");
    assert!(source_of(&html, "city").contains("Verified"), "{html}");
    assert!(!html.contains("role=\"status\""), "nothing saved yet");

    // Change City and save: a 303 to the profile, which shows the new value and says so.
    let saved = browser
        .post(rp.url("/profile"))
        .form(&filled_form(&html, &[("city", "  Richmond ")]))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let to = location(&saved);
    assert!(to.starts_with("/profile"), "{to}");
    let page = browser.get(rp.url(&to)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("role=\"status\">Your details were saved.</p>"),
        "{html}"
    );
    assert_eq!(input_value(&html, "city"), "Richmond", "trimmed and shown");
    let city = source_of(&html, "city");
    assert!(
        city.contains("Yours") && city.contains("Norfolk"),
        "the verified value is named beside the typed one: {city}"
    );
    assert!(source_of(&html, "zip").contains("Verified"));
    assert_eq!(input_value(&html, "zip"), "23511");
    // A later visit still shows what was saved.
    let again = browser.get(rp.url("/profile")).send().await.unwrap();
    let again = again.text().await.unwrap();
    assert_eq!(input_value(&again, "city"), "Richmond");
    assert!(
        !again.contains("role=\"status\""),
        "the message is for the save"
    );

    // Stored beside, never over: the verified row and the raw bodies are as received.
    let row = sqlx::query("SELECT fields FROM saved_profiles")
        .fetch_one(rp.db.pool())
        .await
        .unwrap();
    let fields: serde_json::Value = serde_json::from_str(&row.get::<String, _>("fields")).unwrap();
    assert_eq!(fields, serde_json::json!({"city": "Richmond"}));
    let row = sqlx::query("SELECT attributes FROM verifications")
        .fetch_one(rp.db.pool())
        .await
        .unwrap();
    assert!(row.get::<String, _>("attributes").contains("Norfolk"));
    assert_eq!(rp.count("raw_responses").await, 3);
    let activity = sqlx::query("SELECT event, detail FROM user_activity ORDER BY id")
        .fetch_all(rp.db.pool())
        .await
        .unwrap();
    let last = activity.last().unwrap();
    assert_eq!(last.get::<String, _>("event"), "profile_saved");
    assert_eq!(
        last.get::<Option<String>, _>("detail").as_deref(),
        Some("city")
    );

    // Too long: refused, shown back as typed with the error beside the field; nothing stored.
    let long = "x".repeat(201);
    let refused = browser
        .post(rp.url("/profile"))
        .form(&filled_form(
            &again,
            &[("city", long.as_str()), ("state", "Oregon")],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert_eq!(input_value(&html, "city"), long);
    assert_eq!(input_value(&html, "state"), "Oregon");
    assert!(html.contains("aria-describedby=\"city-error city-source\" aria-invalid=\"true\""));
    assert!(html.contains("id=\"city-error\">Use at most 200 characters.</p>"));
    assert!(!html.contains("Your details were saved."));
    let still: String = sqlx::query("SELECT fields FROM saved_profiles")
        .fetch_one(rp.db.pool())
        .await
        .unwrap()
        .get("fields");
    assert_eq!(still, r#"{"city":"Richmond"}"#);

    // A new sign-in updates the verified values and keeps what was saved.
    let html = sign_in(&op, &rp, "veteran@sandbox.test").await;
    assert_eq!(input_value(&html, "city"), "Richmond");
    rp.finish().await;
}

#[tokio::test]
async fn the_home_page_greets_the_person_and_sign_out_ends_both_sessions() {
    let op = spawn_provider().await;
    let rp = spawn_rp(
        &op.issuer,
        "sandbox-public",
        None,
        "student",
        op.clock.clone(),
    )
    .await;
    let browser = new_browser();
    let html = sign_in_with(&browser, &op, &rp, "student@sandbox.test").await;
    let csrf = hidden_value(&html, "csrf_token").unwrap();

    let home = browser.get(rp.url("/")).send().await.unwrap();
    let home = home.text().await.unwrap();
    assert!(home.contains("<h1>Hello, Sam</h1>"), "{home}");
    assert!(home.contains("href=\"/profile\""));
    assert!(home.contains("action=\"/logout\""));
    assert!(!home.contains("action=\"/login\""), "no sign-in offered");

    // Without the session's CSRF token nothing happens.
    let forged = browser
        .post(rp.url("/logout"))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let profile = browser.get(rp.url("/profile")).send().await.unwrap();
    assert_eq!(profile.status(), StatusCode::OK, "still signed in");

    let out = browser
        .post(rp.url("/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        out.headers()[reqwest::header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let to_provider = location(&out);
    let logout = url::Url::parse(&to_provider).unwrap();
    assert!(
        to_provider.starts_with(&op.url("/oauth/logout?")),
        "{to_provider}"
    );
    let param = |name: &str| {
        logout
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(
        param("post_logout_redirect_uri").as_deref(),
        Some("http://127.0.0.1:8090/")
    );
    assert_eq!(param("id_token_hint").unwrap().split('.').count(), 3);

    // The app's session has ended: the profile sends home, and home offers sign-in again.
    let profile = browser.get(rp.url("/profile")).send().await.unwrap();
    assert_eq!(location(&profile), "/");
    let home = browser.get(rp.url("/")).send().await.unwrap();
    let home = home.text().await.unwrap();
    assert!(home.contains("action=\"/login\""), "{home}");
    assert!(!home.contains("action=\"/logout\""));

    // The provider accepts the hint and the registered home page, and ends its session too.
    let back = browser.get(&to_provider).send().await.unwrap();
    assert!(back.status().is_redirection(), "{}", back.status());
    assert_eq!(location(&back), "http://127.0.0.1:8090/");
    let login = browser.get(rp.url("/login")).send().await.unwrap();
    let mut resp = browser.get(location(&login)).send().await.unwrap();
    while resp.status().is_redirection() {
        let to = location(&resp);
        let to = if to.starts_with('/') { op.url(&to) } else { to };
        assert!(
            to.starts_with(&op.base),
            "not straight back to the app: {to}"
        );
        resp = browser.get(&to).send().await.unwrap();
    }
    let page = resp.text().await.unwrap();
    assert!(
        form_action(&page, "/signin").is_some(),
        "the provider asks for the password again: {page}"
    );

    let events: Vec<String> = sqlx::query("SELECT event FROM user_activity ORDER BY id")
        .fetch_all(rp.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("event"))
        .collect();
    assert_eq!(events, ["verified", "signed_out"]);
    rp.finish().await;
}

#[tokio::test]
async fn an_unknown_path_is_a_page() {
    let op = spawn_provider().await;
    let rp = spawn_rp(
        &op.issuer,
        "sandbox-public",
        None,
        "student",
        op.clock.clone(),
    )
    .await;
    let resp = new_browser().get(rp.url("/nowhere")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(
        resp.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(resp.text().await.unwrap().contains("Page not found"));
    rp.finish().await;
}
