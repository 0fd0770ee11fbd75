//! SPEC 14 from `/account`: signing out everywhere else, and deleting the account.

use reqwest::StatusCode;

use crate::helpers::*;

/// Two browsers signed in as the same person: ending the others from one signs the other out
/// (its `/account` asks to sign in again), and the one that asked stays signed in.
#[tokio::test]
async fn sign_out_everywhere_else_ends_the_other_sessions_only() {
    let app = spawn_app().await;
    let (here, there) = (new_browser(), new_browser());
    let (status, page) = open_as(&app, &here, "/account", "student@sandbox.test").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Sign out everywhere else"), "{page}");
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let (status, _) = open_as(&app, &there, "/account", "student@sandbox.test").await;
    assert_eq!(status, StatusCode::OK);
    // Someone else's session is not touched.
    let other = new_browser();
    let (status, _) = open_as(&app, &other, "/account", "veteran@sandbox.test").await;
    assert_eq!(status, StatusCode::OK);

    // Without the session's CSRF token nothing ends.
    let resp = post_form(&app, &here, "/account/sessions/end-others", "nope", &[]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = there.get(app.url("/account")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "a refused post ends nothing");

    let resp = post_form(&app, &here, "/account/sessions/end-others", &csrf, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp).as_deref(), Some("/account"));

    let resp = there.get(app.url("/account")).send().await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "the other jar must sign in again"
    );
    let to = location(&resp).unwrap();
    assert!(to.contains("/oauth/authorize"), "{to}");
    let resp = here.get(app.url("/account")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "this session stays");
    let resp = other.get(app.url("/account")).send().await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "another person's session stays"
    );
}
