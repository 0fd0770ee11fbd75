//! SPEC 12 "Review" over HTTP: the `reviewer` role granted through the admin API, the queue at
//! `/review`, claims, the files shown only to the reviewer holding the case (no-store, each view
//! audited), approvals and rejections from the case page, the four-eyes rule, and 403/404 for
//! everyone else, never the files.

use reqwest::StatusCode;
use serde_json::{Value, json};
use verity_core::clock::Clock;
use verity_core::verification::{CaseState, IDENTITY, Method};
use verity_store::cases::Case;

use crate::helpers::*;
use crate::verification::{PDF, PNG, at_the_verification_page, multipart, upload};

const TOKEN: &str = "test-admin-token-review-0123456789";

async fn review_app() -> TestApp {
    spawn_with(|s| s.admin_token = Some(verity_server::settings::Secret(TOKEN.into()))).await
}

async fn uuid_of(app: &TestApp, email: &str) -> String {
    let user = app.store.find_user_by_email(email).await.unwrap().unwrap();
    user.uuid
}

/// `PUT` or `DELETE /users/{who}/roles/reviewer` through the admin API: status and answer.
async fn set_reviewer(app: &TestApp, who: &str, grant: bool) -> (StatusCode, Value) {
    let url = app.url(&format!("/api/admin/v1/users/{who}/roles/reviewer"));
    let req = if grant {
        app.http.put(url)
    } else {
        app.http.delete(url)
    };
    let resp = req.bearer_auth(TOKEN).send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

/// `email` uploads a DD-214 (a PDF and a PNG) for `military` in an authorization flow; the
/// case's id.
async fn documents_in_review(app: &TestApp, email: &str) -> String {
    let (browser, interaction) = at_the_verification_page(app, email, "openid military").await;
    let group_path = format!("{interaction}/verify/military");
    let html = browser
        .get(app.url(&group_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_value(&html, "csrf_token").unwrap();
    let body = multipart(&[
        ("csrf_token", None, csrf.as_bytes()),
        ("document_type", None, b"dd214"),
        ("file", Some("dd214.pdf"), PDF),
        ("file", Some("back.png"), PNG),
    ]);
    let resp = upload(&browser, app, &format!("{group_path}/upload"), body).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let uuid = uuid_of(app, email).await;
    let case = app.store.find_open_case(&uuid, "military").await.unwrap();
    case.unwrap().id
}

/// The file links of a case page (the templates escape `/` in attributes).
fn file_urls(html: &str, case_id: &str) -> Vec<String> {
    let html = html.replace("&#x2f;", "/");
    let prefix = format!("/review/cases/{case_id}/files/");
    let mut urls: Vec<String> = html
        .match_indices(&prefix)
        .map(|(i, _)| html[i..].split(['"', '<', ' ']).next().unwrap().to_owned())
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

async fn events(app: &TestApp, uuid: &str) -> Vec<String> {
    let trail = app.store.find_audit(None, Some(uuid), 50).await.unwrap();
    trail.into_iter().map(|e| e.event).collect()
}

#[tokio::test]
async fn reviewers_claim_view_and_decide_cases_others_cannot() {
    let app = review_app().await;
    let case_id = documents_in_review(&app, "unverified@sandbox.test").await;
    let person = uuid_of(&app, "unverified@sandbox.test").await;
    let case_path = format!("/review/cases/{case_id}");

    // Signed out: the sign-in journey. Signed in without the role: 403 everywhere.
    let resp = new_browser().get(app.url("/review")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).unwrap().contains("/oauth/authorize"));
    let outsider = new_browser();
    let (s, page) = open_as(&app, &outsider, "/review", "student@sandbox.test").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(page.contains("for the provider&#x27;s reviewers"), "{page}");
    for path in [case_path.clone(), format!("{case_path}/files/anything")] {
        let resp = outsider.get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // Every form of the console, too (the role is checked before anything else).
    let (_, account) = open_as(
        &app,
        &outsider,
        "/account/verifications",
        "student@sandbox.test",
    )
    .await;
    let outsider_csrf = hidden_value(&account, "csrf_token").unwrap();
    for path in [
        "/review/next".to_owned(),
        format!("{case_path}/claim"),
        format!("{case_path}/release"),
        format!("{case_path}/decision"),
        "/review/token".to_owned(),
        "/review/token/delete".to_owned(),
    ] {
        let fields = [("decision", "approve"), ("subgroup", "Veteran")];
        let resp = post_form(&app, &outsider, &path, &outsider_csrf, &fields).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }

    // The role through the admin API: by uuid, or by sign-in email; unknown ones are 404.
    let (s, granted) = set_reviewer(&app, "veteran@sandbox.test", true).await;
    assert_eq!(s, StatusCode::OK, "{granted}");
    assert_eq!(granted["roles"], json!(["reviewer"]));
    let multi = uuid_of(&app, "multi@sandbox.test").await;
    assert_eq!(set_reviewer(&app, &multi, true).await.0, StatusCode::OK);
    assert_eq!(
        set_reviewer(&app, "nobody@sandbox.test", true).await.0,
        StatusCode::NOT_FOUND
    );
    let resp = app
        .http
        .put(app.url(&format!("/api/admin/v1/users/{multi}/roles/owner")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Reviewer A sees the queue with its figures, and the case without its files until claimed.
    let a = new_browser();
    let (s, queue) = open_as(&app, &a, "/review", "veteran@sandbox.test").await;
    assert_eq!(s, StatusCode::OK);
    for expected in [
        "Review queue",
        "<strong>1</strong> in review",
        "<strong>1</strong> waiting for a reviewer",
        "DD-214 (discharge papers)",
        "(2 files)",
        &case_path,
    ] {
        assert!(queue.contains(expected), "{expected}: {queue}");
    }
    let csrf_a = hidden_value(&queue, "csrf_token").unwrap();
    let (s, unclaimed) = open_as(&app, &a, &case_path, "veteran@sandbox.test").await;
    assert_eq!(s, StatusCode::OK);
    assert!(unclaimed.contains("Claim this case"), "{unclaimed}");
    assert_eq!(file_urls(&unclaimed, &case_id), Vec::<String>::new());
    let files = app.store.find_case_evidence(&case_id).await.unwrap();
    let first_file = format!("{case_path}/files/{}", files[0].id);
    let resp = a.get(app.url(&first_file)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // A forged form token claims nothing; "Take the next case" claims the oldest.
    let resp = post_form(&app, &a, "/review/next", "forged", &[]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = post_form(&app, &a, "/review/next", &csrf_a, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp).unwrap(), case_path);
    let (s, working) = open_as(&app, &a, &case_path, "veteran@sandbox.test").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        working.contains("You hold this case for 30 minutes more."),
        "{working}"
    );
    assert!(working.contains("value=\"Veteran\""), "{working}");
    let urls = file_urls(&working, &case_id);
    assert_eq!(urls.len(), 2, "{working}");

    // Each file opens for the holder only, unchanged, never cached, and each view is audited.
    let mut opened = Vec::new();
    for url in &urls {
        let resp = a.get(app.url(url)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["cache-control"], "no-store, private");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        opened.push((ct, resp.bytes().await.unwrap().to_vec()));
    }
    opened.sort();
    assert_eq!(
        opened,
        [
            ("application/pdf".to_owned(), PDF.to_vec()),
            ("image/png".to_owned(), PNG.to_vec())
        ]
    );
    let trail = events(&app, &person).await;
    assert_eq!(
        trail
            .iter()
            .filter(|e| *e == "verification.evidence_viewed")
            .count(),
        2
    );
    assert!(trail.contains(&"verification.claimed".to_owned()));
    let resp = a
        .get(app.url(&format!("{case_path}/files/not-a-file")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Reviewer B: the case is held, so no files, no claim, no decision.
    let b = new_browser();
    let (s, held) = open_as(&app, &b, &case_path, "multi@sandbox.test").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(held.contains("Another reviewer is working on this case."));
    assert_eq!(file_urls(&held, &case_id), Vec::<String>::new());
    for url in &urls {
        let resp = b.get(app.url(url)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    let (_, b_queue) = open_as(&app, &b, "/review", "multi@sandbox.test").await;
    let csrf_b = hidden_value(&b_queue, "csrf_token").unwrap();
    let claim = post_form(&app, &b, &format!("{case_path}/claim"), &csrf_b, &[]).await;
    assert_eq!(claim.status(), StatusCode::FORBIDDEN);
    // B cannot let A's case go either.
    let resp = post_form(&app, &b, &format!("{case_path}/release"), &csrf_b, &[]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let still = app.store.find_case(&case_id).await.unwrap().unwrap();
    assert_eq!(
        still.claimed_by,
        Some(uuid_of(&app, "veteran@sandbox.test").await)
    );
    let decide = post_form(
        &app,
        &b,
        &format!("{case_path}/decision"),
        &csrf_b,
        &[("decision", "approve")],
    )
    .await;
    assert_eq!(decide.status(), StatusCode::FORBIDDEN);

    // A's decision: a wrong subgroup is refused beside the form, then Veteran is approved.
    let decision = format!("{case_path}/decision");
    let resp = post_form(
        &app,
        &a,
        &decision,
        &csrf_a,
        &[("decision", "approve"), ("subgroup", "Astronaut")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("\"Astronaut\" is not a subgroup of military")
            || page.contains("&quot;Astronaut&quot; is not a subgroup of military"),
        "{page}"
    );
    let resp = post_form(&app, &a, &decision, &csrf_a, &[("decision", "reject")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Choose why the documents are not accepted.")
    );
    let resp = post_form(
        &app,
        &a,
        &decision,
        &csrf_a,
        &[("decision", "approve"), ("subgroup", "Veteran")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp).unwrap(), "/review?done=approved");
    let case = app.store.find_case(&case_id).await.unwrap().unwrap();
    assert_eq!(
        (
            case.state,
            case.subgroups.clone(),
            case.decided_by.as_deref()
        ),
        (
            CaseState::Verified,
            vec!["Veteran".to_owned()],
            Some("veteran@sandbox.test")
        )
    );
    // Replayed: the case is no longer in review; nothing changes.
    let resp = post_form(
        &app,
        &a,
        &decision,
        &csrf_a,
        &[("decision", "reject"), ("reason", "mismatch")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.store.find_case(&case_id).await.unwrap().unwrap().state,
        CaseState::Verified
    );
    // Decided: its files are no longer shown to anyone.
    let resp = a.get(app.url(&urls[0])).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);

    // Taken back: the former reviewer is refused.
    let (s, after) = set_reviewer(&app, "veteran@sandbox.test", false).await;
    assert_eq!((s, after["roles"].clone()), (StatusCode::OK, json!([])));
    let resp = a.get(app.url("/review")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let veteran = uuid_of(&app, "veteran@sandbox.test").await;
    let trail = events(&app, &veteran).await;
    assert!(
        trail.contains(&"admin.role.granted".to_owned())
            && trail.contains(&"admin.role.revoked".to_owned()),
        "{trail:?}"
    );
}

/// The four-eyes rule: a reviewer's own case is listed, but they cannot claim, see or decide it;
/// a rejection's reason reaches the person's page and their mail.
#[tokio::test]
async fn nobody_reviews_their_own_case_and_a_rejection_reaches_the_person() {
    let app = review_app().await;
    let case_id = documents_in_review(&app, "unverified@sandbox.test").await;
    assert_eq!(
        set_reviewer(&app, "unverified@sandbox.test", true).await.0,
        StatusCode::OK
    );
    let own = new_browser();
    let (_, queue) = open_as(&app, &own, "/review", "unverified@sandbox.test").await;
    assert!(
        queue.contains("your own: another reviewer decides it"),
        "{queue}"
    );
    assert!(
        queue.contains("<strong>0</strong> waiting for a reviewer"),
        "{queue}"
    );
    let csrf = hidden_value(&queue, "csrf_token").unwrap();
    let case_path = format!("/review/cases/{case_id}");
    let resp = post_form(&app, &own, &format!("{case_path}/claim"), &csrf, &[]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await.unwrap().contains("This is your own case"));
    let resp = post_form(&app, &own, "/review/next", &csrf, &[]).await;
    assert_eq!(location(&resp).unwrap(), "/review?done=empty");
    let (s, page) = open_as(&app, &own, &case_path, "unverified@sandbox.test").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(file_urls(&page, &case_id), Vec::<String>::new());

    // Another reviewer rejects it as unreadable.
    set_reviewer(&app, "student@sandbox.test", true).await;
    let r = new_browser();
    let (_, queue) = open_as(&app, &r, "/review", "student@sandbox.test").await;
    let csrf = hidden_value(&queue, "csrf_token").unwrap();
    assert_eq!(
        post_form(&app, &r, &format!("{case_path}/claim"), &csrf, &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // An unknown reason is refused; a known one decides.
    let decision = format!("{case_path}/decision");
    let resp = post_form(
        &app,
        &r,
        &decision,
        &csrf,
        &[("decision", "reject"), ("reason", "bored")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = post_form(
        &app,
        &r,
        &decision,
        &csrf,
        &[("decision", "reject"), ("reason", "unreadable")],
    )
    .await;
    assert_eq!(location(&resp).unwrap(), "/review?done=rejected");
    let (_, mine) = open_as(
        &app,
        &own,
        "/account/verifications",
        "unverified@sandbox.test",
    )
    .await;
    assert!(
        mine.contains("Military: Not accepted")
            && mine.contains("The documents could not be read. Upload clearer copies."),
        "{mine}"
    );
    let outbox = app.data_dir.path().join("outbox");
    let mails: Vec<String> = std::fs::read_dir(outbox)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        mails
            .iter()
            .any(|m| m.contains("To: unverified@sandbox.test")
                && m.contains("Your Military verification was not accepted")),
        "{mails:?}"
    );
}

/// An identity case approved from the page: what the document says becomes the person's
/// details and their identity assurance level 2; missing or malformed details are refused
/// beside the form. A claim runs out after 30 minutes and another reviewer may take the case.
#[tokio::test]
async fn an_identity_approval_sets_the_persons_details_and_claims_run_out() {
    let app = review_app().await;
    let person = uuid_of(&app, "unverified@sandbox.test").await;
    let case = Case::new(
        "case-identity",
        &person,
        IDENTITY,
        Method::Document,
        app.clock.now(),
    );
    let case = Case {
        state: CaseState::InReview,
        document_type: Some("passport".into()),
        ..case
    };
    app.store.insert_case(&case).await.unwrap();
    set_reviewer(&app, "veteran@sandbox.test", true).await;
    set_reviewer(&app, "student@sandbox.test", true).await;
    let r = new_browser();
    let (_, queue) = open_as(&app, &r, "/review", "veteran@sandbox.test").await;
    let csrf = hidden_value(&queue, "csrf_token").unwrap();
    post_form(&app, &r, "/review/cases/case-identity/claim", &csrf, &[]).await;
    let (_, page) = open_as(
        &app,
        &r,
        "/review/cases/case-identity",
        "veteran@sandbox.test",
    )
    .await;
    for label in [
        "Birth date (YYYY-MM-DD)",
        "Issuing country or state",
        "for=\"f-lname\"",
    ] {
        assert!(page.contains(label), "{label}: {page}");
    }

    let decision = "/review/cases/case-identity/decision";
    let resp = post_form(
        &app,
        &r,
        decision,
        &csrf,
        &[
            ("decision", "approve"),
            ("fname", "Ada"),
            ("birth_date", "10/12/1815"),
            ("document_issuer", "GB"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let page = resp.text().await.unwrap();
    assert!(page.contains("write the date as YYYY-MM-DD"), "{page}");
    assert!(page.contains("Last name is needed"), "{page}");
    // What was typed stays in the form.
    assert!(page.contains("value=\"Ada\""), "{page}");

    // Reviewer B cannot take it while A holds it; after 30 minutes, B can.
    let b = new_browser();
    let (_, b_queue) = open_as(&app, &b, "/review", "student@sandbox.test").await;
    let csrf_b = hidden_value(&b_queue, "csrf_token").unwrap();
    let claim = "/review/cases/case-identity/claim";
    assert_eq!(
        post_form(&app, &b, claim, &csrf_b, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    app.clock.advance(30 * 60);
    assert_eq!(
        post_form(&app, &b, claim, &csrf_b, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    // A's claim ran out: A may no longer decide.
    let resp = post_form(
        &app,
        &r,
        decision,
        &csrf,
        &[("decision", "reject"), ("reason", "mismatch")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let resp = post_form(
        &app,
        &b,
        decision,
        &csrf_b,
        &[
            ("decision", "approve"),
            ("fname", "Ada"),
            ("lname", "Lovelace"),
            ("birth_date", "1815-12-10"),
            ("document_issuer", "GB"),
            ("document_number", "P1234567"),
        ],
    )
    .await;
    assert_eq!(location(&resp).unwrap(), "/review?done=approved");
    let data = app.store.find_user_data(&person).await.unwrap().unwrap();
    assert!(data.is_verified(IDENTITY));
    assert_eq!(data.attributes["lname"], json!("Lovelace"));
    assert_eq!(data.attributes["birth_date"], json!("1815-12-10"));
    assert!(
        !data.attributes.contains_key("document_number"),
        "the document's own details stay on the case"
    );
    let case = app.store.find_case("case-identity").await.unwrap().unwrap();
    assert_eq!(case.attributes["document_number"], "P1234567");
}

/// SPEC 12's scripted sandbox personas: the built-in reviewer approves the uploads of one
/// persona and rejects those of the other as `unreadable`, a few seconds (by the clock) after
/// they were sent; codes sent to any address are readable on the sandbox outbox page, which
/// production does not have.
#[tokio::test]
async fn the_sandbox_reviewer_decides_the_scripted_personas_cases() {
    use verity_server::sandbox::{
        DOCUMENTS_APPROVED, DOCUMENTS_REJECTED, REVIEW_DELAY, SANDBOX_REVIEWER, review_scripted,
    };
    let app = review_app().await;
    let approved = documents_in_review(&app, DOCUMENTS_APPROVED).await;
    let rejected = documents_in_review(&app, DOCUMENTS_REJECTED).await;
    // Another person's case is left to the humans.
    let other = documents_in_review(&app, "unverified@sandbox.test").await;
    app.clock.advance(REVIEW_DELAY - 1);
    assert_eq!(review_scripted(&app.state).await.unwrap(), 0);
    app.clock.advance(1);
    assert_eq!(review_scripted(&app.state).await.unwrap(), 2);
    assert_eq!(review_scripted(&app.state).await.unwrap(), 0);

    let case = app.store.find_case(&approved).await.unwrap().unwrap();
    assert_eq!(
        (case.state, case.subgroups, case.decided_by.as_deref()),
        (
            CaseState::Verified,
            vec!["Veteran".to_owned()],
            Some(SANDBOX_REVIEWER)
        )
    );
    let case = app.store.find_case(&rejected).await.unwrap().unwrap();
    assert_eq!(
        (case.state, case.reason),
        (
            CaseState::Rejected,
            Some(verity_core::verification::RejectReason::Unreadable)
        )
    );
    let case = app.store.find_case(&other).await.unwrap().unwrap();
    assert_eq!(case.state, CaseState::InReview);
    // The approved persona's next sign-in carries the group.
    let tokens = app.tokens_for(DOCUMENTS_APPROVED, "openid military").await;
    let attrs = app
        .attributes(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        attrs["status"],
        json!([{"group": "military", "subgroups": ["Veteran"], "verified": true}])
    );

    // A code sent to a *.gov address is on the sandbox outbox page, with the decisions' mail.
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
    assert!(
        html.contains("/sandbox/outbox"),
        "the code page points to it: {html}"
    );
    let csrf = hidden_value(&html, "csrf_token").unwrap();
    let fields = [("method", "email_domain"), ("email", "sam@agency.gov")];
    post_form(&app, &browser, &group_path, &csrf, &fields).await;
    let code = crate::verification::code_sent_to(&app, "sam@agency.gov");
    let resp = new_browser()
        .get(app.url("/sandbox/outbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let outbox = resp.text().await.unwrap();
    let newest = outbox.find("sam@agency.gov").unwrap();
    assert!(outbox[..newest + 200].contains(&code), "{outbox}");
    assert!(
        outbox.contains("Your Military verification was not accepted"),
        "{outbox}"
    );

    let production = spawn_with(|s| s.environment = verity_server::Environment::Production).await;
    let resp = new_browser()
        .get(production.url("/sandbox/outbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

/// Two nodes of one deployment decide the same case at the same moment through the admin API
/// (one approves, the other rejects): exactly one decision is recorded and answered 200, the
/// other 409, and the trail names one decision. Several rounds, to let either side win.
#[tokio::test]
async fn two_nodes_deciding_one_case_at_once_record_exactly_one() {
    let a = review_app().await;
    let b = a.second_node().await;
    let person = uuid_of(&a, "unverified@sandbox.test").await;
    for group in [
        "military",
        "student",
        "teacher",
        "nurse",
        "government",
        "responder",
    ] {
        let case = Case {
            state: CaseState::InReview,
            document_type: Some("other".into()),
            ..Case::new(
                &format!("race-{group}"),
                &person,
                group,
                Method::Document,
                a.clock.now(),
            )
        };
        a.store.insert_case(&case).await.unwrap();
        let path = format!("/api/admin/v1/verification-cases/{}/decision", case.id);
        let approve = a
            .http
            .post(a.url(&path))
            .bearer_auth(TOKEN)
            .json(&json!({"decision": "approve"}))
            .send();
        let reject = b
            .http
            .post(b.url(&path))
            .bearer_auth(TOKEN)
            .json(&json!({"decision": "reject", "reason": "mismatch"}))
            .send();
        let (approved, rejected) = tokio::join!(approve, reject);
        let statuses = [approved.unwrap().status(), rejected.unwrap().status()];
        assert!(
            statuses == [StatusCode::OK, StatusCode::CONFLICT]
                || statuses == [StatusCode::CONFLICT, StatusCode::OK],
            "{group}: {statuses:?}"
        );
        let decided = a.store.find_case(&case.id).await.unwrap().unwrap();
        let expected = if statuses[0] == StatusCode::OK {
            CaseState::Verified
        } else {
            CaseState::Rejected
        };
        assert_eq!(decided.state, expected, "{group}");
        let trail = a.store.find_audit(None, Some(&person), 200).await.unwrap();
        let decisions = trail
            .iter()
            .filter(|e| e.detail["case"] == case.id.as_str())
            .filter(|e| e.event == "verification.approved" || e.event == "verification.rejected")
            .count();
        assert_eq!(decisions, 1, "{group}");
        let data = a.store.find_user_data(&person).await.unwrap().unwrap();
        assert_eq!(
            data.is_verified(group),
            expected == CaseState::Verified,
            "{group}"
        );
    }
}

/// SPEC 12: "a reviewer's own token from the console". Created at /review (shown once), it opens
/// the verification-case routes of the admin API and nothing else; decisions made with it are
/// the reviewer's, under the review rules (never their own case, never one another reviewer
/// holds); deleted, it stops working.
#[tokio::test]
async fn a_reviewers_own_token_decides_cases_under_the_review_rules() {
    let app = review_app().await;
    let theirs = documents_in_review(&app, "unverified@sandbox.test").await;
    let own = documents_in_review(&app, "student@sandbox.test").await;
    set_reviewer(&app, "student@sandbox.test", true).await;
    let r = new_browser();
    let (_, queue) = open_as(&app, &r, "/review", "student@sandbox.test").await;
    assert!(queue.contains("Create a token"), "{queue}");
    let csrf = hidden_value(&queue, "csrf_token").unwrap();
    let resp = post_form(&app, &r, "/review/token", &csrf, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let page = resp.text().await.unwrap();
    let token = page
        .split("id=\"new-token\">")
        .nth(1)
        .and_then(|t| t.split('<').next())
        .unwrap()
        .to_owned();
    assert_eq!(token.len(), 32, "{page}");
    let (_, queue) = open_as(&app, &r, "/review", "student@sandbox.test").await;
    assert!(!queue.contains(&token), "shown once");
    assert!(queue.contains("You have a token, created"), "{queue}");

    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let req = app
            .http
            .request(method, app.url(&format!("/api/admin/v1{path}")))
            .bearer_auth(&token);
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        async move { req.send().await.unwrap() }
    };
    let listed: Value = call(reqwest::Method::GET, "/verification-cases", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    for path in ["/organizations/x/apps", "/apps/sandbox-confidential"] {
        let resp = call(reqwest::Method::GET, path, None).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let approve = json!({"decision": "approve", "subgroups": ["Veteran"]});
    let resp = call(
        reqwest::Method::POST,
        &format!("/verification-cases/{own}/decision"),
        Some(approve.clone()),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");

    // Held by another reviewer: refused; once free, decided as this reviewer.
    set_reviewer(&app, "multi@sandbox.test", true).await;
    let other = new_browser();
    let (_, q) = open_as(&app, &other, "/review", "multi@sandbox.test").await;
    let other_csrf = hidden_value(&q, "csrf_token").unwrap();
    let claim = format!("/review/cases/{theirs}/claim");
    post_form(&app, &other, &claim, &other_csrf, &[]).await;
    let path = format!("/verification-cases/{theirs}/decision");
    let resp = call(reqwest::Method::POST, &path, Some(approve.clone())).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let release = format!("/review/cases/{theirs}/release");
    post_form(&app, &other, &release, &other_csrf, &[]).await;
    let resp = call(reqwest::Method::POST, &path, Some(approve)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let decided: Value = resp.json().await.unwrap();
    assert_eq!(
        (decided["state"].as_str(), decided["decided_by"].as_str()),
        (Some("verified"), Some("student@sandbox.test"))
    );

    // Deleted: the token opens nothing.
    let resp = post_form(&app, &r, "/review/token/delete", &csrf, &[]).await;
    assert_eq!(location(&resp).unwrap(), "/review?done=token_deleted");
    let resp = call(reqwest::Method::GET, "/verification-cases", None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

/// The master key rotates (issue 20's key ring): restarted with a new `VERITY_MASTER_KEY` and the
/// old one in `VERITY_PREVIOUS_MASTER_KEYS`, the deployment still opens what the old key sealed
/// (the signing keys, a persona's TOTP secret, a case's documents), and seals new documents under
/// the new key. `rewrap` then seals everything under the new key, so that the old one can go.
#[tokio::test]
async fn a_rotated_master_key_still_opens_what_the_old_one_sealed() {
    let app = review_app().await;
    let sealed_before = documents_in_review(&app, "unverified@sandbox.test").await;
    let old = app.state.master_key.to_hex();
    let new = verity_core::keys::MasterKey::generate().to_hex();
    let app = app
        .restart_with(|s| {
            s.master_key = Some(verity_server::settings::Secret(new.clone()));
            s.previous_master_keys = Some(verity_server::settings::Secret(format!(" {old} ,")));
        })
        .await;
    assert_eq!(app.state.master_key.to_hex(), new);

    // The signing keys opened (the server started and signs); the TOTP persona signs in.
    let tokens = app
        .tokens_for("veteran@sandbox.test", "openid military")
        .await;
    verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.issuer,
        CONFIDENTIAL,
    );

    // The documents sealed before open for a reviewer; new ones are sealed under the new key.
    let sealed_after = documents_in_review(&app, "student@sandbox.test").await;
    set_reviewer(&app, "multi@sandbox.test", true).await;
    let r = new_browser();
    let (_, queue) = open_as(&app, &r, "/review", "multi@sandbox.test").await;
    let csrf = hidden_value(&queue, "csrf_token").unwrap();
    let new_fingerprint = verity_core::evidence::EvidenceKeys::new(&app.state.master_key, &[]);
    for (case_id, under_new) in [(&sealed_before, false), (&sealed_after, true)] {
        let claim = format!("/review/cases/{case_id}/claim");
        assert_eq!(
            post_form(&app, &r, &claim, &csrf, &[]).await.status(),
            StatusCode::SEE_OTHER
        );
        let files = app.store.find_case_evidence(case_id).await.unwrap();
        let pdf = files
            .iter()
            .find(|f| f.content_type == "application/pdf")
            .unwrap();
        let url = format!("/review/cases/{case_id}/files/{}", pdf.id);
        let resp = r.get(app.url(&url)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{case_id}");
        assert_eq!(resp.bytes().await.unwrap().as_ref(), PDF);
        // Sealed under the key its fingerprint names: the new one only for the new upload.
        let stored = app.store.find_evidence(&pdf.id).await.unwrap().unwrap();
        let sealed = verity_core::evidence::Sealed {
            key_id: stored.key_id.clone(),
            bytes: stored.sealed.unwrap(),
        };
        assert_eq!(
            new_fingerprint.open(&sealed, case_id, &pdf.id).is_ok(),
            under_new,
            "{case_id}"
        );
    }

    // Everything the old key sealed is sealed again under the new one; once is enough.
    let done = verity_server::maintenance::rewrap(&app.state)
        .await
        .unwrap();
    assert!(done.signing_keys >= 2, "{done:?}");
    assert!(done.totp_secrets >= 3, "{done:?}");
    assert_eq!(done.evidence, 2, "{done:?}");
    let again = verity_server::maintenance::rewrap(&app.state)
        .await
        .unwrap();
    assert_eq!(again, verity_server::maintenance::Rewrapped::default());

    // The old key dropped: the deployment starts, signs, takes TOTP and opens every document.
    let app = app.restart_with(|s| s.previous_master_keys = None).await;
    assert!(app.state.master_key.previous().is_empty());
    let tokens = app
        .tokens_for("veteran@sandbox.test", "openid military")
        .await;
    verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &app.jwks().await,
        &app.issuer,
        CONFIDENTIAL,
    );
    let (_, queue) = open_as(&app, &r, "/review", "multi@sandbox.test").await;
    let csrf = hidden_value(&queue, "csrf_token").unwrap();
    for case_id in [&sealed_before, &sealed_after] {
        let claim = format!("/review/cases/{case_id}/claim");
        post_form(&app, &r, &claim, &csrf, &[]).await;
        for f in app.store.find_case_evidence(case_id).await.unwrap() {
            let url = format!("/review/cases/{case_id}/files/{}", f.id);
            let resp = r.get(app.url(&url)).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{url}");
        }
    }
}
