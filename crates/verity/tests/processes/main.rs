//! The `verity` binary as an operator runs it (issue 6, "done when"): two `verity serve`
//! processes on one database (PostgreSQL when `VERITY_TEST_DATABASE_URL` is set, else one SQLite
//! file) serve flows interchangeably, and a `kill -9` of one loses no token it answered.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const CALLBACK: &str = "http://127.0.0.1:8090/callback";
const CLIENT: &str = "sandbox-confidential";
const SECRET: &str = "sandbox-secret";
const MASTER_KEY: &str = "8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// A running `verity serve`, killed (SIGKILL) when dropped.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(database_url: &str, data_dir: &std::path::Path) -> Node {
        Node::start_at(database_url, data_dir, Some("http://verity.test"))
    }

    /// A node whose public URL is `public_url`, or (`None`) the address it is bound to.
    fn start_at(database_url: &str, data_dir: &std::path::Path, public_url: Option<&str>) -> Node {
        let mut command = Command::new(env!("CARGO_BIN_EXE_verity"));
        command
            .args(["serve", "--sandbox"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("VERITY_DATA_DIR", data_dir)
            .env("VERITY_LISTEN", "127.0.0.1:0");
        if let Some(url) = public_url {
            command.env("VERITY_PUBLIC_URL", url);
        }
        let mut child = command
            .env("VERITY_MASTER_KEY", MASTER_KEY)
            .env("VERITY_LOG_FORMAT", "json")
            // Cheap hashing for a test (a setting; production keeps OWASP's minimum).
            .env("VERITY_ARGON2_MEMORY_KIB", "64")
            .env("VERITY_ARGON2_ITERATIONS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("verity starts");
        // The log line "verity is listening" names the bound address.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent
                    && let Ok(v) = serde_json::from_str::<Value>(&line)
                    && let Some(addr) = v["fields"]["addr"].as_str()
                {
                    let _ = tx.send(addr.to_owned());
                    sent = true;
                }
                if !sent && line.contains("Error") {
                    eprintln!("{line}");
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("verity reports its address");
        Node {
            child,
            base: format!("http://{addr}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn kill_9(mut self) {
        self.child.kill().unwrap(); // SIGKILL on Unix: no shutdown handler runs
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The database of the test: a fresh PostgreSQL database (dropped with the guard) or a SQLite
/// file.
struct Database {
    url: String,
    _pg: Option<verity_testkit::PgTestDb>,
    _dir: tempfile::TempDir,
}

impl Database {
    async fn new() -> Database {
        let dir = tempfile::tempdir().unwrap();
        let pg = verity_testkit::PgTestDb::create("verity_proc_test").await;
        let url = match &pg {
            Some(db) => db.url.clone(),
            None => format!("sqlite://{}", dir.path().join("verity.db").display()),
        };
        Database {
            url,
            _pg: pg,
            _dir: dir,
        }
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn between<'a>(html: &'a str, start: &str) -> Option<&'a str> {
    html.split(start)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
}

/// Signs the student persona in at `node` through the real pages and returns the code.
async fn sign_in(node: &Node, browser: &reqwest::Client) -> String {
    let mut url = url::Url::parse(&node.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("client_id", CLIENT),
        ("redirect_uri", CALLBACK),
        ("response_type", "code"),
        ("scope", "openid student offline_access"),
        ("state", "s"),
        ("nonce", "n"),
    ]);
    let mut resp = browser.get(url.as_str()).send().await.unwrap();
    for _ in 0..12 {
        if resp.status().is_redirection() {
            let location = resp.headers()["location"].to_str().unwrap().to_owned();
            if location.starts_with(CALLBACK) {
                let cb = url::Url::parse(&location).unwrap();
                return cb
                    .query_pairs()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_else(|| panic!("no code: {location}"));
            }
            let next = if location.starts_with('/') {
                node.url(&location)
            } else {
                location
            };
            resp = browser.get(next).send().await.unwrap();
            continue;
        }
        let status = resp.status();
        let html = resp.text().await.unwrap();
        assert!(status.is_success(), "{status}: {html}");
        let action = between(&html, "<form method=\"post\" action=\"")
            .or_else(|| between(&html, "action=\""))
            .unwrap()
            .to_owned();
        let csrf = between(&html, "name=\"csrf_token\" value=\"").unwrap();
        // One answer for every page: sign in, verify, allow.
        let form = [
            ("csrf_token", csrf),
            ("email", "student@sandbox.test"),
            ("password", "sandbox-password"),
            (
                "decision",
                if action.ends_with("/verify") {
                    "verify"
                } else {
                    "allow"
                },
            ),
        ];
        resp = browser
            .post(node.url(&action))
            .form(&form)
            .send()
            .await
            .unwrap();
    }
    panic!("the sign-in journey did not reach the app");
}

async fn token(http: &reqwest::Client, node: &Node, form: &[(&str, &str)]) -> Option<Value> {
    let resp = http
        .post(node.url("/oauth/token"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(form)
        .send()
        .await
        .ok()?;
    if resp.status() != reqwest::StatusCode::OK {
        return None;
    }
    resp.json().await.ok()
}

async fn active(http: &reqwest::Client, node: &Node, access_token: &str) -> bool {
    let v: Value = http
        .post(node.url("/oauth/introspect"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[("token", access_token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["active"] == true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_serve_interchangeably_and_survive_a_kill_9() {
    let db = Database::new().await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    // Started together on the empty database: one migrates and seeds, the other waits its turn.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| Node::start(&db.url, dirs[0].path()));
        let b = s.spawn(|| Node::start(&db.url, dirs[1].path()));
        (a.join().unwrap(), b.join().unwrap())
    });
    let http = reqwest::Client::new();
    for node in [&a, &b] {
        let ready = http.get(node.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), reqwest::StatusCode::OK);
    }
    let jwks = |n: &Node| {
        let http = http.clone();
        let url = n.url("/oidc/.well-known/jwks");
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert_eq!(
        jwks(&a).await,
        jwks(&b).await,
        "one deployment, one key set"
    );

    // Interchangeable: a session started on a, the code redeemed on b.
    let mut families = Vec::new();
    for i in 0..8 {
        let browser = browser();
        let code = sign_in(if i % 2 == 0 { &a } else { &b }, &browser).await;
        let redeem_on = if i % 2 == 0 { &b } else { &a };
        let tokens = token(
            &http,
            redeem_on,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await
        .expect("a code from one node is redeemed on the other");
        families.push(tokens);
    }

    // A burst of refreshes on a; a is killed -9 while it runs.
    // (family, token response), in the order answered.
    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(usize, Value)>::new()));
    let a_base = a.base.clone();
    let mut burst = tokio::task::JoinSet::new();
    for (family, tokens) in families.into_iter().enumerate() {
        let http = http.clone();
        let answered = answered.clone();
        let a_url = format!("{a_base}/oauth/token");
        burst.spawn(async move {
            answered.lock().unwrap().push((family, tokens.clone()));
            let mut refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
            loop {
                let Ok(resp) = http
                    .post(&a_url)
                    .basic_auth(CLIENT, Some(SECRET))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
                    .send()
                    .await
                else {
                    break; // the node is gone
                };
                if resp.status() != reqwest::StatusCode::OK {
                    break;
                }
                let Ok(next) = resp.json::<Value>().await else {
                    break;
                };
                refresh = next["refresh_token"].as_str().unwrap().to_owned();
                answered.lock().unwrap().push((family, next));
            }
        });
    }
    let started = Instant::now();
    while answered.lock().unwrap().len() < 8 + 60 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the burst runs"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    a.kill_9();
    while burst.join_next().await.is_some() {}

    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() >= 68, "answers before the kill");
    // Every access token answered is valid on b; the last refresh token of each family works.
    for (_, t) in &answered {
        assert!(
            active(&http, &b, t["access_token"].as_str().unwrap()).await,
            "an answered token survived the kill"
        );
    }
    let mut newest = std::collections::BTreeMap::new();
    for (family, t) in &answered {
        newest.insert(*family, t["refresh_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(newest.len(), 8);
    for (family, refresh) in newest {
        let next = token(
            &http,
            &b,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await
        .unwrap_or_else(|| panic!("family {family}: the newest refresh token works on b"));
        assert!(active(&http, &b, next["access_token"].as_str().unwrap()).await);
    }
    drop(b);
    drop(db);
}

/// Runs `verity admin <args>` on `db`: its exit status, standard output as JSON (or `Null`),
/// and standard error.
fn admin(db: &Database, data_dir: &std::path::Path, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verity"))
        .arg("admin")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("VERITY_DATA_DIR", data_dir)
        .env("VERITY_MASTER_KEY", MASTER_KEY)
        .env("VERITY_NEW_USER_PASSWORD", "a long enough password")
        .env("VERITY_ARGON2_MEMORY_KIB", "64")
        .env("VERITY_ARGON2_ITERATIONS", "1")
        .output()
        .expect("verity admin runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// SPEC 14 from the shell: `users delete` deletes an account and everything of it (the
/// earlier `user-create` still creates one); a second time there is none; another account stays.
#[tokio::test]
async fn verity_admin_deletes_a_user() {
    let db = Database::new().await;
    let dir = tempfile::tempdir().unwrap();
    let create = |email: &str| {
        let (ok, user, err) = admin(&db, dir.path(), &["users", "create", "--email", email]);
        assert!(ok, "{err}");
        user["uuid"].as_str().unwrap().to_owned()
    };
    let uuid = create("cli.leaver@example.test");
    let stayer = create("cli.stayer@example.test");
    let (ok, _, err) = admin(
        &db,
        dir.path(),
        &["user-create", "--email", "cli.leaver@example.test"],
    );
    assert!(!ok, "the email is taken while the account exists: {err}");
    let (ok, deleted, err) = admin(&db, dir.path(), &["users", "delete", &uuid]);
    assert!(ok, "{err}");
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["uuid"], uuid.as_str());
    let (ok, _, err) = admin(&db, dir.path(), &["users", "delete", &uuid]);
    assert!(!ok && err.contains("no account"), "{err}");
    // The email is free again, for a new person with a new uuid; the other account is untouched.
    let again = create("cli.leaver@example.test");
    assert_ne!(again, uuid);
    let (ok, _, err) = admin(&db, dir.path(), &["user-delete", &stayer]);
    assert!(ok, "the earlier spelling deletes too: {err}");
}

/// An operator's way back for a person who lost every second factor, from the shell: removed
/// for an account that exists, refused with the reason for one that does not; and an app
/// registered as requiring phishing-resistant sign-ins says so.
#[tokio::test]
async fn verity_admin_removes_second_factors_and_registers_strict_apps() {
    let db = Database::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (ok, user, err) = admin(
        &db,
        dir.path(),
        &["users", "create", "--email", "cli.lost@example.test"],
    );
    assert!(ok, "{err}");
    let uuid = user["uuid"].as_str().unwrap().to_owned();
    let (ok, out, err) = admin(&db, dir.path(), &["users", "remove-second-factors", &uuid]);
    assert!(ok, "{err}");
    assert_eq!(out["second_factors_removed"], true);
    let (ok, _, err) = admin(
        &db,
        dir.path(),
        &["users", "remove-second-factors", "nobody"],
    );
    assert!(!ok && err.contains("no account"), "{err}");

    let (ok, org, err) = admin(&db, dir.path(), &["org-create", "--name", "Strict"]);
    assert!(ok, "{err}");
    let org = org["id"].as_str().unwrap().to_owned();
    let create = [
        "app-create",
        "--org",
        &org,
        "--name",
        "Strict app",
        "--redirect-uri",
        "https://strict.example/cb",
        "--require-phishing-resistant",
    ];
    let (ok, app, err) = admin(&db, dir.path(), &create);
    assert!(ok, "{err}");
    assert_eq!(app["require_phishing_resistant"], true, "{app}");
}

/// SPEC 12's cases from the shell: an operator's verification is a case, listed, shown with
/// its history, revoked; a decision on an unknown case fails with the reason.
#[tokio::test]
async fn verity_admin_lists_shows_and_revokes_cases() {
    let db = Database::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (ok, user, err) = admin(
        &db,
        dir.path(),
        &["user-create", "--email", "cli.vet@example.test"],
    );
    assert!(ok, "{err}");
    let uuid = user["uuid"].as_str().unwrap().to_owned();
    let set = [
        "verification-set",
        &uuid,
        "military",
        "--verified",
        "true",
        "--subgroup",
        "Veteran",
    ];
    let (ok, _, err) = admin(&db, dir.path(), &set);
    assert!(ok, "{err}");
    let (ok, listed, err) = admin(&db, dir.path(), &["case-list", "--state", "verified"]);
    assert!(ok, "{err}");
    let mine: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["uuid"] == uuid.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{listed}");
    assert_eq!(
        (mine[0]["method"].as_str(), mine[0]["subgroups"][0].as_str()),
        (Some("operator"), Some("Veteran"))
    );
    let id = mine[0]["id"].as_str().unwrap().to_owned();

    let (ok, revoked, err) = admin(
        &db,
        dir.path(),
        &[
            "verification-revoke",
            &uuid,
            "military",
            "--reason",
            "papers withdrawn",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        (revoked["id"].as_str(), revoked["state"].as_str()),
        (Some(id.as_str()), Some("revoked"))
    );
    let (ok, shown, err) = admin(&db, dir.path(), &["case-get", &id]);
    assert!(ok, "{err}");
    assert_eq!(shown["history"][0]["event"], "verification.revoked");
    assert_eq!(shown["history"][0]["detail"]["reason"], "papers withdrawn");

    let (ok, _, err) = admin(
        &db,
        dir.path(),
        &["case-decide", "case-none", "--decision", "approve"],
    );
    assert!(!ok && err.contains("case not found"), "{err}");
    let (ok, _, err) = admin(&db, dir.path(), &["case-list", "--state", "lost"]);
    assert!(!ok && err.contains("unknown state"), "{err}");

    // The reviewer role, by sign-in email: granted, taken back; unknown roles and accounts fail.
    let grant = ["role-grant", "cli.vet@example.test"];
    let (ok, roles, err) = admin(&db, dir.path(), &grant);
    assert!(ok, "{err}");
    assert_eq!(roles["roles"], serde_json::json!(["reviewer"]));
    let (ok, roles, err) = admin(&db, dir.path(), &["role-revoke", &uuid]);
    assert!(ok, "{err}");
    assert_eq!(roles["roles"], serde_json::json!([]));
    let (ok, _, err) = admin(&db, dir.path(), &["role-grant", &uuid, "--role", "owner"]);
    assert!(!ok && err.contains("unknown role"), "{err}");
    let (ok, _, err) = admin(&db, dir.path(), &["role-grant", "nobody@example.test"]);
    assert!(!ok && err.contains("user not found"), "{err}");
}

/// `verity keys rewrap` finishes a master-key rotation from the shell: with the new key and the
/// old one as previous it re-encrypts the signing keys, then finds nothing more to do, and the
/// deployment runs on the new key alone (the old one alone no longer opens it).
#[tokio::test]
async fn verity_keys_rewrap_moves_a_deployment_to_a_new_master_key() {
    let db = Database::new().await;
    let dir = tempfile::tempdir().unwrap();
    // A deployment created under MASTER_KEY (its signing keys sealed under it).
    let (ok, _, err) = admin(&db, dir.path(), &["case-list"]);
    assert!(ok, "{err}");
    let new_key = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";
    let run = |args: &[&str], master: &str, previous: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_verity"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &db.url)
            .env("VERITY_DATA_DIR", dir.path())
            .env("VERITY_MASTER_KEY", master);
        if let Some(p) = previous {
            cmd.env("VERITY_PREVIOUS_MASTER_KEYS", p);
        }
        let out = cmd.output().expect("verity runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(&["keys", "rewrap"], new_key, Some(MASTER_KEY));
    assert!(ok, "{err}");
    assert!(
        out.contains("re-encrypted under the current master key: 2 signing keys"),
        "{out}"
    );
    let (ok, out, err) = run(&["keys", "rewrap"], new_key, None);
    assert!(ok, "{err}");
    assert!(
        out.contains(": 0 signing keys, 0 TOTP secrets, 0 documents"),
        "{out}"
    );
    let (ok, _, err) = run(&["admin", "case-list"], new_key, None);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["admin", "case-list"], MASTER_KEY, None);
    assert!(!ok && err.contains("master key"), "{err}");
}
