//! Several nodes, one deployment (issue 6): two servers in one test on one database (PostgreSQL
//! under `.ci/run`), sharing the public URL, the master key and the clock. Any node serves any
//! step; single-use items stay single-use when the nodes race; a killed node loses nothing a
//! client was answered.

use reqwest::StatusCode;
use serde_json::Value;
use verity_core::clock::Clock;

use crate::helpers::*;

#[tokio::test]
async fn a_session_made_on_one_node_is_honoured_by_the_other() {
    let a = spawn_app().await;
    let b = a.second_node().await;
    assert_eq!(a.issuer, b.issuer, "one deployment, one issuer");
    let browser = new_browser();
    let params = a.confidential_request("openid");
    let (first, trace) = a
        .journey(
            &browser,
            &a.authorize_url(&as_pairs(&params)),
            &Journey::persona("student@sandbox.test"),
        )
        .await;
    assert!(trace.pages.contains(&"signin".to_owned()));
    assert!(first.get("code").is_some());

    // The same browser at the other node: signed in already, consent remembered.
    let (second, trace) = b
        .journey(
            &browser,
            &b.authorize_url(&as_pairs(&params)),
            &Journey::persona("student@sandbox.test"),
        )
        .await;
    assert!(
        trace.pages.is_empty(),
        "no page to fill in on the other node: {:?}",
        trace.pages
    );
    let tokens = b.exchange(second.code()).await;
    let id = verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &a.jwks().await,
        &a.issuer,
        CONFIDENTIAL,
    );
    assert_eq!(id["iss"], a.issuer.as_str());
}

#[tokio::test]
async fn a_code_from_one_node_is_redeemed_on_the_other() {
    let a = spawn_app().await;
    let b = a.second_node().await;
    let cb = a
        .authorize_as("veteran@sandbox.test", "openid military")
        .await;
    let tokens = b.exchange(cb.code()).await;
    // Each node's JWKS verifies the other's signature; the access token works on both.
    verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &a.jwks().await,
        &a.issuer,
        CONFIDENTIAL,
    );
    assert_eq!(a.jwks().await, b.jwks().await);
    let access = tokens["access_token"].as_str().unwrap();
    for node in [&a, &b] {
        let resp = node.get_bearer("/api/public/v3/userinfo", access).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }
    // And it was single use across the deployment.
    assert_eq!(a.redeem(cb.code()).await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn one_code_redeemed_on_both_nodes_at_once_succeeds_once() {
    let a = spawn_app().await;
    let b = a.second_node().await;
    for round in 0..6 {
        let cb = a.authorize_as("student@sandbox.test", "openid").await;
        let code = cb.code().to_owned();
        let (ra, rb) = tokio::join!(a.redeem(&code), b.redeem(&code));
        let statuses = [ra.status(), rb.status()];
        let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
        assert_eq!(
            ok, 1,
            "round {round}: exactly one is issued tokens: {statuses:?}"
        );
        let (winner, loser) = if ra.status() == StatusCode::OK {
            (ra, rb)
        } else {
            (rb, ra)
        };
        assert_eq!(loser.status(), StatusCode::BAD_REQUEST);
        let err: Value = loser.json().await.unwrap();
        assert_eq!(err["error"], "invalid_grant");
        // The replay revoked the grant (RFC 9700 4.1.3), on whichever node it landed.
        let tokens: Value = winner.json().await.unwrap();
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(b.introspect(access).await["active"], false, "round {round}");
    }
}

#[tokio::test]
async fn one_refresh_token_raced_on_both_nodes_never_makes_two_children() {
    let a = spawn_app().await;
    let b = a.second_node().await;
    for round in 0..6 {
        let tokens = a.tokens_for("student@sandbox.test", "openid student").await;
        let parent = tokens["refresh_token"].as_str().unwrap().to_owned();
        let (ra, rb) = tokio::join!(a.refresh(&parent), b.refresh(&parent));
        // One rotation; the node that lost the race answers what the winner answered (the
        // retry of a lost answer looks the same): one successor, never two.
        assert_eq!([ra.status(), rb.status()], [StatusCode::OK, StatusCode::OK]);
        let (ta, tb): (Value, Value) = (ra.json().await.unwrap(), rb.json().await.unwrap());
        assert_eq!(ta["refresh_token"], tb["refresh_token"], "round {round}");
        assert_eq!(ta["access_token"], tb["access_token"], "round {round}");
        let parent_hash = verity_core::secret::token_hash(&parent);
        let children = a
            .query_i64(
                "SELECT COUNT(*) FROM tokens WHERE parent_hash = $1 AND kind = 'refresh'",
                &parent_hash,
            )
            .await;
        assert_eq!(children, 1, "round {round}: one child, never two");
        // The child works once, on either node; after that the parent is a reuse.
        let child = ta["refresh_token"].as_str().unwrap();
        assert_eq!(b.refresh(child).await.status(), StatusCode::OK);
        assert_eq!(a.refresh(&parent).await.status(), StatusCode::BAD_REQUEST);
        let grant = a
            .store
            .find_token(&parent_hash)
            .await
            .unwrap()
            .unwrap()
            .grant_id;
        let live = a
            .store
            .count_live_tokens(&grant, a.clock.now())
            .await
            .unwrap();
        assert_eq!(live, 0, "round {round}: reuse revoked the family");
    }
}

#[tokio::test]
async fn a_key_rotated_on_one_node_is_published_and_used_by_the_other() {
    let a = spawn_app().await;
    let b = a.second_node().await;
    let before = kids(&b.jwks().await);
    let new_kids = verity_server::maintenance::rotate(&a.state).await.unwrap();
    // Node b picks the rotation up at its next maintenance run (every
    // VERITY_MAINTENANCE_INTERVAL seconds, well inside the publication delay).
    verity_server::maintenance::run_once(&b.state)
        .await
        .unwrap();
    let published = kids(&b.jwks().await);
    for k in before.iter().chain(new_kids.iter()) {
        assert!(published.contains(k), "{k} published by the other node");
    }
    // Once the publication delay is over, the other node signs with the new key.
    a.clock.advance(a.settings.key_publication_delay + 1);
    let cb = b.authorize_as("student@sandbox.test", "openid").await;
    let tokens = b.exchange(cb.code()).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    assert!(new_kids.contains(&kid_of(id_token)));
    verify_jwt(id_token, &a.jwks().await, &a.issuer, CONFIDENTIAL);
}

#[tokio::test]
async fn a_node_killed_during_a_burst_loses_no_token_it_answered() {
    let a = spawn_app().await;
    let b = a.second_node().await;
    // Codes first (the sign-in pages are not what is under test), then a burst of redemptions
    // and refreshes on node a, killed while they run.
    let mut codes = Vec::new();
    for _ in 0..12 {
        codes.push(
            a.authorize_as("student@sandbox.test", "openid student")
                .await
                .code()
                .to_owned(),
        );
    }
    let a_url = a.url("/oauth/token");
    let http = a.http.clone();
    let progress = std::sync::Arc::new((
        std::sync::atomic::AtomicUsize::new(0),
        tokio::sync::Notify::new(),
    ));
    let answered_one = |p: &(std::sync::atomic::AtomicUsize, tokio::sync::Notify)| {
        p.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        p.1.notify_one();
    };
    let mut burst = tokio::task::JoinSet::new();
    for code in codes {
        let http = http.clone();
        let url = a_url.clone();
        let progress = progress.clone();
        burst.spawn(async move {
            let mut answered = Vec::new();
            let resp = http
                .post(&url)
                .basic_auth(CONFIDENTIAL, Some(SECRET))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", CALLBACK),
                ])
                .send()
                .await;
            let Ok(resp) = resp else { return answered };
            if resp.status() != StatusCode::OK {
                return answered;
            }
            let Ok(tokens) = resp.json::<Value>().await else {
                return answered;
            };
            answered.push(tokens.clone());
            answered_one(&progress);
            let mut refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
            for _ in 0..20 {
                let resp = http
                    .post(&url)
                    .basic_auth(CONFIDENTIAL, Some(SECRET))
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", refresh_token.as_str()),
                    ])
                    .send()
                    .await;
                let Ok(resp) = resp else { break };
                if resp.status() != StatusCode::OK {
                    break;
                }
                let Ok(tokens) = resp.json::<Value>().await else {
                    break;
                };
                refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
                answered.push(tokens);
                answered_one(&progress);
            }
            answered
        });
    }
    // Let part of the burst through (40 of the 252 answers it would make), then kill node a
    // with requests in flight.
    while progress.0.load(std::sync::atomic::Ordering::SeqCst) < 40 {
        progress.1.notified().await;
    }
    let _disk = a.kill().await;
    let mut answered = Vec::new();
    while let Some(r) = burst.join_next().await {
        answered.extend(r.unwrap());
    }
    assert!(answered.len() >= 40, "tokens were answered before the kill");
    assert!(answered.len() < 12 * 21, "the kill cut the burst short");
    // Every token answered is valid on the surviving node. Each client holds the last refresh
    // token it was answered; that one is live (its predecessors were rotated away).
    for tokens in &answered {
        let access = tokens["access_token"].as_str().unwrap();
        let info = b.introspect(access).await;
        assert_eq!(
            info["active"], true,
            "an answered access token survives the kill: {info}"
        );
        verify_jwt(
            tokens["id_token"].as_str().unwrap(),
            &b.jwks().await,
            &b.issuer,
            CONFIDENTIAL,
        );
    }
    let mut last_refresh: std::collections::HashMap<String, String> = Default::default();
    for tokens in &answered {
        let access = tokens["access_token"].as_str().unwrap();
        let t = b
            .store
            .find_token(&verity_core::secret::token_hash(access))
            .await
            .unwrap()
            .unwrap();
        last_refresh.insert(
            t.grant_id,
            tokens["refresh_token"].as_str().unwrap().to_owned(),
        );
    }
    for (grant, token) in last_refresh {
        let resp = b.refresh(&token).await;
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "grant {grant}: the last refresh token held works on the other node"
        );
    }
}

#[tokio::test]
async fn two_nodes_started_together_on_an_empty_database_migrate_and_seed_once() {
    let fresh = Deployment::new().await;
    let (x, y) = tokio::join!(fresh.start(), fresh.start());
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.jwks().await, y.jwks().await, "one set of keys");
    assert_eq!(kids(&x.jwks().await).len(), 2, "one key per algorithm");
    let cb = x.authorize_as("veteran@sandbox.test", "openid").await;
    let tokens = y.exchange(cb.code()).await;
    verify_jwt(
        tokens["id_token"].as_str().unwrap(),
        &x.jwks().await,
        &x.issuer,
        CONFIDENTIAL,
    );
}
