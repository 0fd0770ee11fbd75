//! Changing a password on `/account/password`: the current password first, the new one twice;
//! a refusal changes nothing and says why beside the field; a change ends every other session.

use reqwest::StatusCode;

use crate::helpers::*;

const NEW_PASSWORD: &str = "a new and longer passphrase";

/// Whether `password` signs `email` in (the sign-in form moves on rather than showing again).
async fn signs_in_with(app: &TestApp, email: &str, password: &str) -> bool {
    sign_in_answer(app, email, password)
        .await
        .0
        .is_redirection()
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_the_other_sessions() {
    let app = spawn_app().await;
    let email = "student@sandbox.test";
    let (here, there) = (new_browser(), new_browser());
    let (status, account) = open_as(&app, &here, "/account", email).await;
    assert_eq!(status, StatusCode::OK);
    assert!(account.contains("href=\"/account/password\""), "{account}");
    let (status, _) = open_as(&app, &there, "/account", email).await;
    assert_eq!(status, StatusCode::OK);

    let page = here
        .get(app.url("/account/password"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        let (app, here, csrf) = (&app, &here, csrf.clone());
        async move {
            let fields = [
                ("current_password", current),
                ("password", new),
                ("password_confirm", again),
            ];
            let resp = post_form(app, here, "/account/password", &csrf, &fields).await;
            (resp.status(), resp.text().await.unwrap())
        }
    };

    for (case, (current, new, again), said) in [
        (
            "a wrong current password",
            ("not my password", NEW_PASSWORD, NEW_PASSWORD),
            "id=\"current_password-error\" role=\"alert\">That is not your current password",
        ),
        (
            "no current password",
            ("", NEW_PASSWORD, NEW_PASSWORD),
            "id=\"current_password-error\" role=\"alert\">Enter your current password",
        ),
        (
            "a short new password",
            (PASSWORD, "short", "short"),
            "id=\"password-error\" role=\"alert\">Choose a password of at least 8 characters",
        ),
        (
            "two different new passwords",
            (PASSWORD, NEW_PASSWORD, "something else entirely"),
            "id=\"password_confirm-error\" role=\"alert\">The two passwords do not match",
        ),
    ] {
        let (status, html) = change(current, new, again).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}");
        assert!(html.contains(said), "{case}: {html}");
    }
    let refused = post_form(
        &app,
        &here,
        "/account/password",
        "not the token",
        &[
            ("current_password", PASSWORD),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "a post without the CSRF token"
    );
    assert!(
        signs_in_with(&app, email, PASSWORD).await,
        "nothing changed yet"
    );

    let resp = post_form(
        &app,
        &here,
        "/account/password",
        &csrf,
        &[
            ("current_password", PASSWORD),
            ("password", NEW_PASSWORD),
            ("password_confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let to = location(&resp).unwrap();
    assert_eq!(to, "/account?changed=password");
    let account = here.get(app.url(&to)).send().await.unwrap();
    assert_eq!(
        account.status(),
        StatusCode::OK,
        "this browser stays signed in"
    );
    assert!(
        account
            .text()
            .await
            .unwrap()
            .contains("Your password was changed")
    );
    let elsewhere = there.get(app.url("/account")).send().await.unwrap();
    assert_eq!(
        elsewhere.status(),
        StatusCode::SEE_OTHER,
        "the other session ended"
    );

    assert!(
        !signs_in_with(&app, email, PASSWORD).await,
        "the old password"
    );
    assert!(
        signs_in_with(&app, email, NEW_PASSWORD).await,
        "the new password"
    );
    let activity = here
        .get(app.url("/account/activity"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(activity.contains("Password changed"), "{activity}");
}
