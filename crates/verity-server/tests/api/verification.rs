//! SPEC 12 in the journey: a person verifies a group with a code sent to an address at an
//! accepted domain, on Verity's own pages, and the app then sees the group verified; wrong
//! codes, refused addresses and a code that ran out each get their page.

use reqwest::StatusCode;
use serde_json::json;
use verity_core::verification::CaseState;

use crate::helpers::*;

/// The code of the newest message in the outbox sent to `to`.
pub(crate) fn code_sent_to(app: &TestApp, to: &str) -> String {
    let outbox = app.data_dir.path().join("outbox");
    let mut mails: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.metadata().unwrap().modified().unwrap(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .filter(|(_, m)| m.contains(&format!("To: {to}\r\n")))
        .collect();
    mails.sort();
    let mail = &mails.last().expect("a mail to the address").1;
    let subject = mail.lines().find(|l| l.starts_with("Subject: ")).unwrap();
    subject.rsplit(' ').next().unwrap().to_owned()
}

/// Signs `email` in from a fresh browser for `scope`, up to the verification page: the browser
/// and the interaction's URL.
pub(crate) async fn at_the_verification_page(
    app: &TestApp,
    email: &str,
    scope: &str,
) -> (reqwest::Client, String) {
    let browser = new_browser();
    let params = app.confidential_request(scope);
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let html = browser
        .get(app.authorize_url(&pairs))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action = form_action(&html, "/signin").unwrap();
    let csrf = hidden_value(&html, "csrf_token").unwrap();
    let resp = browser
        .post(app.url(&action))
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let interaction = resp.headers()["location"].to_str().unwrap().to_owned();
    let page = browser
        .get(app.url(&interaction))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Verification needed"), "{page}");
    (browser, interaction)
}

#[tokio::test]
async fn government_is_verified_by_a_code_sent_to_a_gov_address() {
    let app = spawn_app().await;
    let (browser, interaction) =
        at_the_verification_page(&app, "unverified@sandbox.test", "openid government").await;
    let verify_page = browser
        .get(app.url(&interaction))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let group_path = format!("{interaction}/verify/government");
    assert!(
        verify_page.contains(&format!("href=\"{group_path}\"")),
        "{verify_page}"
    );

    let html = browser
        .get(app.url(&group_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("*.gov or *.mil"), "{html}");
    let csrf = hidden_value(&html, "csrf_token").unwrap();

    // Refused addresses: the page again, the message beside the field, nothing sent.
    for (email, says) in [
        ("jane@example.com", "Use an address at *.gov or *.mil."),
        ("not an address", "Enter an email address"),
        ("jane@gov", "Use an address at *.gov or *.mil."),
    ] {
        let resp = post_form(
            &app,
            &browser,
            &group_path,
            &csrf,
            &[("method", "email_domain"), ("email", email)],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{email}");
        let page = resp.text().await.unwrap();
        assert!(
            page.contains(says) && page.contains("aria-invalid=\"true\""),
            "{email}: {page}"
        );
    }
    assert!(!app.data_dir.path().join("outbox").exists());

    let resp = post_form(
        &app,
        &browser,
        &group_path,
        &csrf,
        &[("method", "email_domain"), ("email", "Jane.Doe@VA.GOV")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], group_path.as_str());
    let html = browser
        .get(app.url(&group_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("We sent a 6-digit code to <strong>Jane.Doe@va.gov</strong>"),
        "{html}"
    );
    let code = code_sent_to(&app, "Jane.Doe@va.gov");
    assert_eq!(code.len(), 6);
    // Sending again at once is refused: wait for the resend interval.
    let resp = post_form(
        &app,
        &browser,
        &group_path,
        &csrf,
        &[("method", "email_domain"), ("email", "Jane.Doe@va.gov")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("You can send a new one in")
    );

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let resp = post_form(&app, &browser, &group_path, &csrf, &[("code", wrong)]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("That code is not right. You can try 4 more times."),
        "{page}"
    );
    let resp = post_form(&app, &browser, &group_path, &csrf, &[("code", &code)]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], interaction.as_str());

    // The journey goes on to consent and back to the app, with the group verified.
    let resp = browser.get(app.url(&interaction)).send().await.unwrap();
    let (cb, trace) = app
        .journey_from(&browser, resp, &Journey::persona("unverified@sandbox.test"))
        .await;
    assert_eq!(trace.pages, ["consent"]);
    let tokens = app.exchange(cb.code()).await;
    let access = tokens["access_token"].as_str().unwrap();
    let attrs = app.attributes(access).await;
    assert_eq!(
        attrs["status"],
        json!([{"group": "government", "subgroups": [], "verified": true}])
    );

    let uuid = app
        .store
        .find_user_by_email("unverified@sandbox.test")
        .await
        .unwrap()
        .unwrap()
        .uuid;
    let cases = app.store.find_user_cases(&uuid).await.unwrap();
    let case = cases.iter().find(|c| c.grp == "government").unwrap();
    assert_eq!(case.state, CaseState::Verified);
    assert_eq!(case.address.as_deref(), Some("Jane.Doe@va.gov"));
    assert_eq!(
        case.code_hash, None,
        "the code's digest goes once it is used"
    );
    let events: Vec<String> = app
        .store
        .find_audit(None, Some(&uuid), 20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .filter(|e| e.starts_with("verification."))
        .collect();
    assert_eq!(
        events,
        [
            "verification.approved",
            "verification.code_sent",
            "verification.started"
        ]
    );
}

/// Five wrong codes, or fifteen minutes, and the code has run out: the case expires and the
/// person is asked for an address again; an address that verifies another account is refused.
#[tokio::test]
async fn a_code_runs_out_and_an_address_verifies_one_account() {
    let app = spawn_app().await;
    let (browser, interaction) =
        at_the_verification_page(&app, "unverified@sandbox.test", "openid government").await;
    let group_path = format!("{interaction}/verify/government");
    let html = browser
        .get(app.url(&group_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_value(&html, "csrf_token").unwrap();
    post_form(
        &app,
        &browser,
        &group_path,
        &csrf,
        &[("method", "email_domain"), ("email", "sam@army.mil")],
    )
    .await;
    let code = code_sent_to(&app, "sam@army.mil");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in [4, 3, 2, 1] {
        let page = post_form(&app, &browser, &group_path, &csrf, &[("code", wrong)])
            .await
            .text()
            .await
            .unwrap();
        let plural = if left == 1 { "" } else { "s" };
        assert!(
            page.contains(&format!("try {left} more time{plural}.")),
            "{page}"
        );
    }
    let resp = post_form(&app, &browser, &group_path, &csrf, &[("code", wrong)]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("That code has run out. Send a new one.")
    );
    // Even the right code no longer works.
    let page = post_form(&app, &browser, &group_path, &csrf, &[("code", &code)])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("That code has run out."), "{page}");

    // A new code, then fifteen minutes pass.
    app.clock.advance(60);
    post_form(
        &app,
        &browser,
        &group_path,
        &csrf,
        &[("method", "email_domain"), ("email", "sam@army.mil")],
    )
    .await;
    let code = code_sent_to(&app, "sam@army.mil");
    app.clock.advance(15 * 60);
    let page = post_form(&app, &browser, &group_path, &csrf, &[("code", &code)])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("That code has run out."), "{page}");

    // Another account, the same address: refused while the first has it pending.
    app.clock.advance(60);
    post_form(
        &app,
        &browser,
        &group_path,
        &csrf,
        &[("method", "email_domain"), ("email", "sam@army.mil")],
    )
    .await;
    let (other, other_ix) =
        at_the_verification_page(&app, "student@sandbox.test", "openid government").await;
    let other_path = format!("{other_ix}/verify/government");
    let html = other
        .get(app.url(&other_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let other_csrf = hidden_value(&html, "csrf_token").unwrap();
    let resp = post_form(
        &app,
        &other,
        &other_path,
        &other_csrf,
        &[("method", "email_domain"), ("email", "sam@army.mil")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("already verifies another account")
    );
    let uuid = app
        .store
        .find_user_by_email("unverified@sandbox.test")
        .await
        .unwrap()
        .unwrap()
        .uuid;
    let states: Vec<CaseState> = app
        .store
        .find_user_cases(&uuid)
        .await
        .unwrap()
        .iter()
        .map(|c| c.state)
        .collect();
    assert_eq!(
        states,
        [
            CaseState::PendingCode,
            CaseState::Expired,
            CaseState::Expired
        ]
    );
}

/// Takes `persona` through `group`'s email verification at `address` up to the right code; the
/// browser, signed in.
pub(crate) async fn verify_by_email(
    app: &TestApp,
    persona: &str,
    group: &str,
    address: &str,
) -> reqwest::Client {
    let (browser, interaction) =
        at_the_verification_page(app, persona, &format!("openid {group}")).await;
    let group_path = format!("{interaction}/verify/{group}");
    let html = browser
        .get(app.url(&group_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_value(&html, "csrf_token").unwrap();
    let sent = post_form(
        app,
        &browser,
        &group_path,
        &csrf,
        &[("method", "email_domain"), ("email", address)],
    )
    .await;
    assert_eq!(
        sent.status(),
        StatusCode::SEE_OTHER,
        "{}",
        sent.text().await.unwrap()
    );
    let code = code_sent_to(app, address);
    let resp = post_form(app, &browser, &group_path, &csrf, &[("code", &code)]).await;
    assert_eq!(resp.headers()["location"], interaction.as_str());
    browser
}

/// A student's verification lasts a year (SPEC 12's default): the maintenance task then expires
/// it, and the group is reported not verified. A deployment's own domains and lifetimes apply.
#[tokio::test]
async fn verifications_end_with_their_lifetime_and_settings_apply() {
    let methods =
        verity_core::verification::configure(Some("teacher=schools.example"), Some("teacher=30"))
            .unwrap();
    let app = spawn_with(|s| s.verification_methods = methods).await;
    verify_by_email(&app, "unverified@sandbox.test", "student", "ada@mit.edu").await;
    verify_by_email(
        &app,
        "unverified@sandbox.test",
        "teacher",
        "ada@schools.example",
    )
    .await;
    let uuid = app
        .store
        .find_user_by_email("unverified@sandbox.test")
        .await
        .unwrap()
        .unwrap()
        .uuid;
    let verified = |group: &'static str| {
        let store = app.store.clone();
        let uuid = uuid.clone();
        async move {
            store
                .find_user_data(&uuid)
                .await
                .unwrap()
                .unwrap()
                .is_verified(group)
        }
    };
    assert!(verified("student").await && verified("teacher").await);

    app.clock.advance(30 * 86_400);
    let report = verity_server::maintenance::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(report.verifications_expired, 1);
    assert!(verified("student").await && !verified("teacher").await);
    app.clock.advance(336 * 86_400);
    let report = verity_server::maintenance::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(report.verifications_expired, 1);
    assert!(!verified("student").await);
    let mut states: Vec<(String, CaseState)> = app
        .store
        .find_user_cases(&uuid)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.grp, c.state))
        .collect();
    states.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        states,
        [
            ("student".to_owned(), CaseState::Expired),
            ("teacher".to_owned(), CaseState::Expired)
        ]
    );
    let report = verity_server::maintenance::run_once(&app.state)
        .await
        .unwrap();
    assert_eq!(report.verifications_expired, 0);
}

/// `/account/verifications`: the person's cases in words (how, where each stands, a rejection's
/// reason, dates), and withdrawing one, which stops it counting; only their own, with the
/// form's CSRF token.
#[tokio::test]
async fn a_person_sees_and_withdraws_their_verifications() {
    use verity_core::clock::Clock;
    use verity_core::verification::Method;
    use verity_server::verification::{Decision, decide};
    use verity_store::cases::Case;

    let app = spawn_app().await;
    let browser =
        verify_by_email(&app, "unverified@sandbox.test", "government", "jane@va.gov").await;
    let uuid = app
        .store
        .find_user_by_email("unverified@sandbox.test")
        .await
        .unwrap()
        .unwrap()
        .uuid;
    let documents = Case::new(
        "case-docs",
        &uuid,
        "military",
        Method::Document,
        app.clock.now(),
    );
    app.store.insert_case(&documents).await.unwrap();
    let reject = Decision {
        decision: "reject".into(),
        subgroups: vec![],
        reason: Some(verity_core::verification::RejectReason::Unreadable),
        attributes: Default::default(),
    };
    decide(
        &app.state,
        "case-docs",
        &reject,
        "r-1",
        &reqwest::header::HeaderMap::new(),
    )
    .await
    .unwrap();

    let resp = browser
        .get(app.url("/account/verifications"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    let today = verity_core::clock::date_words(app.clock.now());
    for expected in [
        "Government Employee: Verified",
        "By a code sent to jane@va.gov, started ",
        "Military: Not accepted",
        "The documents could not be read. Upload clearer copies.",
        &today,
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    let government = app
        .store
        .find_verified_case(&uuid, "government")
        .await
        .unwrap()
        .unwrap();
    let action = format!("/account/verifications/{}/withdraw", government.id);
    assert!(html.contains(&action), "{html}");
    assert!(
        !html.contains("/account/verifications/case-docs/withdraw"),
        "a rejected case is final"
    );
    let csrf = hidden_value(&html, "csrf_token").unwrap();

    // Without the form's token, or another person's case: refused, nothing changes.
    let resp = browser
        .post(app.url(&action))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let other = app
        .store
        .find_user_by_email("veteran@sandbox.test")
        .await
        .unwrap()
        .unwrap()
        .uuid;
    let theirs = app
        .store
        .find_verified_case(&other, "military")
        .await
        .unwrap()
        .unwrap();
    let resp = browser
        .post(app.url(&format!("/account/verifications/{}/withdraw", theirs.id)))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(
        app.store
            .find_user_data(&other)
            .await
            .unwrap()
            .unwrap()
            .is_verified("military")
    );

    let resp = browser
        .post(app.url(&action))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(
        !app.store
            .find_user_data(&uuid)
            .await
            .unwrap()
            .unwrap()
            .is_verified("government")
    );
    let html = browser
        .get(app.url("/account/verifications"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Government Employee: Withdrawn by you"),
        "{html}"
    );
    assert!(!html.contains(&action));
}

pub(crate) const BOUNDARY: &str = "verity-test-boundary-7MA4YWxkTrZu0gW";

/// A multipart/form-data body of `parts` (name, file name, content).
pub(crate) fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, content) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match file {
            Some(f) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub(crate) async fn upload(
    browser: &reqwest::Client,
    app: &TestApp,
    path: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    browser
        .post(app.url(path))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-a-small-test-image";
pub(crate) const PDF: &[u8] = b"%PDF-1.7\n% a DD-214, as far as this test knows\n%%EOF\n";

/// SPEC 12's `document` method: the files are refused beside the field when they are not
/// right (type by content, size, count, kind of document, the form's token), a broken or
/// oversized body gets a page, and a good upload becomes a case in review whose files are
/// sealed at rest; the person then goes on without the group, and a reviewer's approval makes
/// the next sign-in carry it.
#[tokio::test]
async fn documents_go_to_review_sealed() {
    let app = spawn_app().await;
    let (browser, interaction) =
        at_the_verification_page(&app, "unverified@sandbox.test", "openid military").await;
    let group_path = format!("{interaction}/verify/military");
    let html = browser
        .get(app.url(&group_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let upload_path = format!("{group_path}/upload");
    assert!(
        html.contains(&format!("action=\"{upload_path}\"")),
        "{html}"
    );
    assert!(html.contains("DD-214"), "{html}");
    let csrf = hidden_value(&html, "csrf_token").unwrap();
    let csrf = csrf.as_bytes();

    let big = {
        let mut b = PDF.to_vec();
        b.resize(10 * 1024 * 1024 + 1, b' ');
        b
    };
    let refused: Vec<(Vec<u8>, &str)> = vec![
        (
            multipart(&[
                ("csrf_token", None, csrf),
                ("document_type", None, b"dd214"),
                ("file", Some("photo.png"), b"<html><script>"),
            ]),
            "Upload a PDF, PNG or JPEG file.",
        ),
        (
            multipart(&[
                ("csrf_token", None, csrf),
                ("document_type", None, b"passport"),
                ("file", Some("a.pdf"), PDF),
            ]),
            "Choose the kind of document.",
        ),
        (
            multipart(&[
                ("csrf_token", None, csrf),
                ("document_type", None, b"dd214"),
                ("file", Some(""), b""),
            ]),
            "Choose at least one file.",
        ),
        (
            multipart(&[
                ("csrf_token", None, csrf),
                ("document_type", None, b"dd214"),
                ("file", Some("big.pdf"), &big),
            ]),
            "Each file must be 10 MB or smaller.",
        ),
        (
            multipart(&[
                ("csrf_token", None, csrf),
                ("document_type", None, b"dd214"),
                ("file", Some("1.pdf"), PDF),
                ("file", Some("2.pdf"), PDF),
                ("file", Some("3.pdf"), PDF),
                ("file", Some("4.pdf"), PDF),
                ("file", Some("5.pdf"), PDF),
                ("file", Some("6.pdf"), PDF),
            ]),
            "Upload at most 5 files.",
        ),
    ];
    for (body, says) in refused {
        let resp = upload(&browser, &app, &upload_path, body).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{says}");
        let page = resp.text().await.unwrap();
        assert!(
            page.contains(says) && page.contains("id=\"upload-error\""),
            "{says}: {page}"
        );
    }
    // A forged token, a body cut short, a body over the limit: a page, nothing stored.
    let forged = multipart(&[
        ("csrf_token", None, b"forged"),
        ("document_type", None, b"dd214"),
        ("file", Some("a.pdf"), PDF),
    ]);
    assert_eq!(
        upload(&browser, &app, &upload_path, forged).await.status(),
        StatusCode::FORBIDDEN
    );
    let mut cut = multipart(&[
        ("csrf_token", None, csrf),
        ("document_type", None, b"dd214"),
        ("file", Some("a.pdf"), PDF),
    ]);
    cut.truncate(cut.len() - 30);
    let resp = upload(&browser, &app, &upload_path, cut).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("The upload did not arrive whole.")
    );
    let huge = vec![b'x'; 51 * 1024 * 1024];
    let over = multipart(&[
        ("csrf_token", None, csrf),
        ("document_type", None, b"dd214"),
        ("file", Some("huge.pdf"), &huge),
    ]);
    assert_eq!(
        upload(&browser, &app, &upload_path, over).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let uuid = app
        .store
        .find_user_by_email("unverified@sandbox.test")
        .await
        .unwrap()
        .unwrap()
        .uuid;
    assert_eq!(app.store.find_user_cases(&uuid).await.unwrap(), []);

    let good = multipart(&[
        ("csrf_token", None, csrf),
        ("document_type", None, b"dd214"),
        ("file", Some("dd214.pdf"), PDF),
        ("file", Some("back.png"), PNG),
    ]);
    let resp = upload(&browser, &app, &upload_path, good).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], group_path.as_str());
    let html = browser
        .get(app.url(&group_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Your documents are in review."), "{html}");

    let case = app
        .store
        .find_open_case(&uuid, "military")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (case.state, case.document_type.as_deref()),
        (CaseState::InReview, Some("dd214"))
    );
    let files = app.store.find_case_evidence(&case.id).await.unwrap();
    let types: Vec<&str> = files.iter().map(|f| f.content_type.as_str()).collect();
    assert_eq!(types.len(), 2);
    assert!(
        types.contains(&"application/pdf") && types.contains(&"image/png"),
        "{types:?}"
    );
    let keys = verity_core::evidence::EvidenceKeys::new(&app.state.master_key, &[]);
    for listed in &files {
        let stored = app.store.find_evidence(&listed.id).await.unwrap().unwrap();
        let sealed = stored.sealed.clone().unwrap();
        let original = if stored.content_type == "application/pdf" {
            PDF
        } else {
            PNG
        };
        assert!(
            !sealed.windows(original.len()).any(|w| w == original),
            "stored bytes are not the file"
        );
        let opened = keys
            .open(
                &verity_core::evidence::Sealed {
                    key_id: stored.key_id.clone(),
                    bytes: sealed,
                },
                &case.id,
                &stored.id,
            )
            .unwrap();
        assert_eq!(opened, original);
    }
    // A second upload while the first is in review is refused.
    let again = multipart(&[
        ("csrf_token", None, csrf),
        ("document_type", None, b"dd214"),
        ("file", Some("a.pdf"), PDF),
    ]);
    let resp = upload(&browser, &app, &upload_path, again).await;
    assert!(resp.text().await.unwrap().contains("already in review"));

    // The person goes on without the group; a reviewer approves; the next sign-in carries it.
    let in_review = browser
        .get(app.url(&group_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action = form_action(&in_review, "/verify").unwrap();
    let resp = browser
        .post(app.url(&action))
        .form(&[
            ("decision", "skip"),
            ("csrf_token", std::str::from_utf8(csrf).unwrap()),
        ])
        .send()
        .await
        .unwrap();
    let (cb, _) = app
        .journey_from(&browser, resp, &Journey::persona("unverified@sandbox.test"))
        .await;
    let tokens = app.exchange(cb.code()).await;
    let attrs = app
        .attributes(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        attrs["status"],
        json!([{"group": "military", "subgroups": [], "verified": false}])
    );
    let approve = verity_server::verification::Decision {
        decision: "approve".into(),
        subgroups: vec!["Veteran".into()],
        reason: None,
        attributes: Default::default(),
    };
    verity_server::verification::decide(
        &app.state,
        &case.id,
        &approve,
        "r-1",
        &reqwest::header::HeaderMap::new(),
    )
    .await
    .unwrap();
    let cb = app
        .authorize_as("unverified@sandbox.test", "openid military")
        .await;
    let tokens = app.exchange(cb.code()).await;
    let attrs = app
        .attributes(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        attrs["status"],
        json!([{"group": "military", "subgroups": ["Veteran"], "verified": true}])
    );
}

/// SPEC 12: the methods are reachable outside any app, from `/account/verifications`: a person
/// verifies `student` with a code and sends documents for `military`; what is verified or in
/// progress is no longer offered. Signed out, the sign-in comes first; a forged form changes
/// nothing; an unknown group is not found.
#[tokio::test]
async fn a_person_starts_verifications_from_their_account() {
    let app = spawn_app().await;
    let resp = new_browser()
        .get(app.url("/account/verifications/student"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).unwrap().contains("/oauth/authorize"));

    let browser = new_browser();
    let email = "unverified@sandbox.test";
    let (s, list) = open_as(&app, &browser, "/account/verifications", email).await;
    assert_eq!(s, StatusCode::OK);
    for link in [
        "/account/verifications/student",
        "/account/verifications/military",
    ] {
        assert!(list.contains(&format!("href=\"{link}\"")), "{link}: {list}");
    }
    let (s, _) = open_as(&app, &browser, "/account/verifications/astronaut", email).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let path = "/account/verifications/student";
    let (s, page) = open_as(&app, &browser, path, email).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains(&format!("action=\"{path}\"")), "{page}");
    assert!(!page.contains("Continue without it"), "no app here: {page}");
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let fields = [("method", "email_domain"), ("email", "sam@state.edu")];
    let resp = post_form(&app, &browser, path, "forged", &fields).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = post_form(
        &app,
        &browser,
        path,
        &csrf,
        &[("method", "email_domain"), ("email", "sam@gmail.com")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("id=\"email-error\""));
    let resp = post_form(&app, &browser, path, &csrf, &fields).await;
    assert_eq!(location(&resp).unwrap(), path);
    let code = code_sent_to(&app, "sam@state.edu");
    let resp = post_form(&app, &browser, path, &csrf, &[("code", &code)]).await;
    assert_eq!(location(&resp).unwrap(), "/account/verifications");

    // Documents for military, outside any app: in review, and the page says so.
    let upload_path = "/account/verifications/military/upload";
    let forged = multipart(&[
        ("csrf_token", None, b"forged"),
        ("document_type", None, b"dd214"),
        ("file", Some("a.pdf"), PDF),
    ]);
    let resp = upload(&browser, &app, upload_path, forged).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let good = multipart(&[
        ("csrf_token", None, csrf.as_bytes()),
        ("document_type", None, b"dd214"),
        ("file", Some("a.pdf"), PDF),
    ]);
    let resp = upload(&browser, &app, upload_path, good).await;
    assert_eq!(location(&resp).unwrap(), "/account/verifications/military");
    let (_, page) = open_as(&app, &browser, "/account/verifications/military", email).await;
    assert!(page.contains("Your documents are in review."), "{page}");
    assert!(page.contains("We will email you the decision."), "{page}");

    let (_, list) = open_as(&app, &browser, "/account/verifications", email).await;
    for expected in ["Student: Verified", "Military: In review"] {
        assert!(list.contains(expected), "{expected}: {list}");
    }
    for gone in [
        "href=\"/account/verifications/student\"",
        "href=\"/account/verifications/military\"",
    ] {
        assert!(!list.contains(gone), "{gone}: {list}");
    }
    assert!(
        list.contains("href=\"/account/verifications/government\""),
        "{list}"
    );
}

/// Uploads are bounded (each may hold 50 MiB): while `max_concurrent_uploads` bodies are being
/// read, another upload is answered 503 at once, and takes nothing; once the slow one ends (here
/// cut off), uploads go through again.
#[tokio::test]
async fn uploads_beyond_the_limit_are_turned_away() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_with(|s| s.max_concurrent_uploads = 1).await;
    let browser = new_browser();
    let email = "unverified@sandbox.test";
    let (_, page) = open_as(&app, &browser, "/account/verifications/military", email).await;
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let path = "/account/verifications/military/upload";
    let body = || {
        multipart(&[
            ("csrf_token", None, csrf.as_bytes()),
            ("document_type", None, b"dd214"),
            ("file", Some("a.pdf"), PDF),
        ])
    };

    // A slow client: headers and half a body, then nothing.
    let full = body();
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        full.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&full[..full.len() / 2]).await.unwrap();
    slow.flush().await.unwrap();

    // Until the server holds the slow upload's slot, a forged form is refused (403, nothing
    // stored); once it does, every upload is turned away first.
    let forged = || {
        multipart(&[
            ("csrf_token", None, b"forged"),
            ("document_type", None, b"dd214"),
            ("file", Some("a.pdf"), PDF),
        ])
    };
    let mut busy = None;
    for _ in 0..500 {
        let resp = upload(&browser, &app, path, forged()).await;
        if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
            busy = Some(resp.text().await.unwrap());
            break;
        }
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        tokio::task::yield_now().await;
    }
    let busy = busy.expect("the slow upload holds the only slot");
    assert!(busy.contains("Try again in a minute."), "{busy}");
    let resp = upload(&browser, &app, path, body()).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    let uuid = app
        .store
        .find_user_by_email(email)
        .await
        .unwrap()
        .unwrap()
        .uuid;
    assert_eq!(app.store.find_user_cases(&uuid).await.unwrap(), []);

    // The slow client goes away: its slot is freed, and the next upload goes through.
    drop(slow);
    let mut through = false;
    for _ in 0..500 {
        let resp = upload(&browser, &app, path, body()).await;
        if resp.status() == StatusCode::SEE_OTHER {
            through = true;
            break;
        }
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        tokio::task::yield_now().await;
    }
    assert!(through, "the slot came back");
    assert_eq!(app.store.find_user_cases(&uuid).await.unwrap().len(), 1);
}

/// Code mail is limited per account (switching addresses does not get around it) and per address
/// (other accounts cannot flood it: `VERITY_LIMIT_EMAIL_CODE`), across groups, counted in the
/// database; refusals answer 429 with `Retry-After`; an hour later codes go out again.
#[tokio::test]
async fn code_mail_is_limited_per_account_and_per_address() {
    use verity_core::verification::{CODE_MAIL_LOCK, CODE_MAIL_WINDOW, CODE_MAILS_PER_ACCOUNT};
    let app = spawn_app().await;
    let browser = new_browser();
    let email = "unverified@sandbox.test";
    let path = "/account/verifications/government";
    let (_, page) = open_as(&app, &browser, path, email).await;
    let csrf = hidden_value(&page, "csrf_token").unwrap();
    let send = |to: String| {
        let (app, browser, csrf) = (&app, &browser, &csrf);
        async move {
            let fields = [("method", "email_domain"), ("email", to.as_str())];
            post_form(app, browser, path, csrf, &fields).await
        }
    };
    for i in 0..CODE_MAILS_PER_ACCOUNT {
        let resp = send(format!("person{i}@agency.gov")).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "mail {i}");
    }
    let resp = send("another@agency.gov".into()).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    let page = resp.text().await.unwrap();
    assert!(page.contains("You can send a new one in"), "{page}");
    let outbox = app.data_dir.path().join("outbox");
    assert!(
        !std::fs::read_dir(&outbox)
            .unwrap()
            .any(|e| std::fs::read_to_string(e.unwrap().path())
                .unwrap()
                .contains("To: another@agency.gov")),
        "refused: nothing mailed"
    );

    // One address, many accounts (each lets it go again for an address of its own, as the
    // unique pending address requires): past the address's limit, refused.
    let target = "victim@agency.gov";
    let per_address = app.settings.limits.email_code.unwrap().count;
    let accounts = [
        "student@sandbox.test",
        "veteran@sandbox.test",
        "hyphen@sandbox.test",
        "international@sandbox.test",
        "multi@sandbox.test",
        "documents.approved@sandbox.test",
    ];
    for (i, who) in accounts.iter().enumerate() {
        let b = new_browser();
        let (_, page) = open_as(&app, &b, path, who).await;
        let c = hidden_value(&page, "csrf_token").unwrap();
        let to_target = [("method", "email_domain"), ("email", target)];
        let resp = post_form(&app, &b, path, &c, &to_target).await;
        if (i as i64) < per_address {
            assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{who}");
            let own = format!("own{i}@agency.gov");
            let to_own = [("method", "email_domain"), ("email", own.as_str())];
            let resp = post_form(&app, &b, path, &c, &to_own).await;
            assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{who}");
        } else {
            assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "{who}");
            let page = resp.text().await.unwrap();
            assert!(
                page.contains("Many codes were sent to this address lately. Try again in"),
                "{page}"
            );
            assert!(page.contains(&format!("value=\"{target}\"")), "input kept");
        }
    }

    // After the window (and the lock), codes go out again.
    app.clock.advance(CODE_MAIL_WINDOW.max(CODE_MAIL_LOCK) + 1);
    let resp = send("another@agency.gov".into()).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}
