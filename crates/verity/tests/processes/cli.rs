//! What a person meets at the command line and in the documents (issue 26): help that stands
//! alone, `verity check` that says what is wrong with an issuer, `verity demo` and `verity
//! serve` on the address they are given (and a hint when it is taken), `verity sandbox reset`,
//! and documents that stand in a clone of the repository alone.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::{Database, MASTER_KEY, Node, admin, between, browser};

const IAL2: &str = "http://idmanagement.gov/ns/assurance/ial/2/aal/2";

/// `verity <args>` with only the given environment (no `RUST_BACKTRACE`, no developer's
/// settings), run to its end.
fn verity(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verity"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("verity runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The subcommands listed under "Commands:" in a `--help` text (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn no_help_text_cites_a_document_outside_the_repository() {
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = Vec::new();
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = verity(&args, &[]);
        let help = text(&out.stdout);
        assert!(
            out.status.success(),
            "verity {args:?}: {}",
            text(&out.stderr)
        );
        for cited in ["SPEC", "../shared"] {
            assert!(
                !help.contains(cited),
                "`verity {}` cites {cited}:\n{help}",
                args.join(" ")
            );
        }
        seen.push(path.join(" "));
        for sub in subcommands(&help) {
            let mut next = path.clone();
            next.push(sub);
            pending.push(next);
        }
    }
    // verity, its subcommands, and those of keys, admin and sandbox: every help text was read.
    for nested in [
        "keys rotate",
        "admin case-list",
        "admin app-create",
        "sandbox reset",
    ] {
        assert!(seen.iter().any(|s| s == nested), "{nested} not in {seen:?}");
    }
}

#[tokio::test]
async fn check_says_what_is_wrong_with_an_issuer() {
    let db = Database::new().await;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_at(&db.url, dir.path(), None);
    let check = |issuer: &str| {
        let out = verity(&["check", "--issuer", issuer], &[]);
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };

    // Verity's base URL instead of its issuer: the /oidc variant answers, and the error says so.
    let (ok, _, err) = check(&node.base);
    assert!(!ok);
    let issuer = format!("{}/oidc", node.base);
    assert!(
        err.contains(&format!("but {issuer} answers"))
            && err.contains("Verity's issuer ends in /oidc")
            && err.contains(&format!("verity check --issuer {issuer}")),
        "{err}"
    );
    let (ok, out, err) = check(&issuer);
    assert!(ok, "{out}{err}");
    // What the provider offers beyond the code flow: PAR, request objects, DPoP.
    assert!(out.contains("/oauth/par"), "{out}");
    assert!(
        out.contains("request objects        offered (RS256, ES256)"),
        "{out}"
    );
    assert!(
        out.contains("DPoP                   offered (ES256, RS256)"),
        "{out}"
    );

    // Nothing at the /oidc variant either: the question, without claiming it answers.
    let elsewhere = format!("{}/elsewhere", node.base);
    let (ok, _, err) = check(&elsewhere);
    assert!(!ok);
    assert!(
        err.contains(&format!("is the issuer {elsewhere}/oidc?")) && !err.contains("answers:"),
        "{err}"
    );

    // No scheme: what an issuer looks like, not the HTTP library's words.
    for bad in ["host:8080", "127.0.0.1:8080/oidc", "/oidc"] {
        let (ok, _, err) = check(bad);
        assert!(!ok);
        assert!(
            err.contains("the issuer must be an absolute URL such as https://id.example.com/oidc")
                && !err.contains("builder error")
                && !err.contains("relative URL without a base"),
            "{bad}: {err}"
        );
    }
    drop(node);
}

/// A loopback address held by this test, so that nothing else can listen there.
fn taken_address() -> (std::net::TcpListener, String) {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap().to_string();
    (held, addr)
}

#[test]
fn a_taken_address_is_named_with_the_way_to_choose_another() {
    let (_held, taken) = taken_address();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();

    let out = verity(
        &["serve"],
        &[("VERITY_LISTEN", &taken), ("VERITY_DATA_DIR", data_dir)],
    );
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("{taken} is already in use")) && err.contains("VERITY_LISTEN="),
        "{err}"
    );

    // A second demo: its provider's address is taken.
    let out = verity(
        &["demo"],
        &[
            ("VERITY_LISTEN", &taken),
            ("VERITY_RP_LISTEN", "127.0.0.1:0"),
            ("VERITY_DATA_DIR", data_dir),
        ],
    );
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.starts_with(&format!("Error: {taken} is already in use"))
            && err.contains("--listen ")
            && err.contains("VERITY_LISTEN="),
        "{err}"
    );

    // Its reference app's address is taken.
    let out = verity(
        &["demo"],
        &[
            ("VERITY_LISTEN", "127.0.0.1:0"),
            ("VERITY_RP_LISTEN", &taken),
            ("VERITY_DATA_DIR", data_dir),
        ],
    );
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("{taken} is already in use"))
            && err.contains("--rp-listen ")
            && err.contains("VERITY_RP_LISTEN="),
        "{err}"
    );
}

/// A running `verity demo`, killed when dropped.
struct Demo {
    child: Child,
    issuer: String,
    app: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    /// Starts `verity demo` on free ports and reads the issuer and the app's URL it prints.
    fn start(data_dir: &Path) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_verity"))
            .arg("demo")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("VERITY_LISTEN", "127.0.0.1:0")
            .env("VERITY_RP_LISTEN", "127.0.0.1:0")
            .env("VERITY_DATA_DIR", data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("verity demo starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut issuer = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(i) = line.strip_prefix("Verity sandbox provider: issuer ") {
                    issuer = Some(i.to_owned());
                }
                if let (Some(i), Some(rest)) = (&issuer, line.strip_prefix("Open ")) {
                    let app = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send((i.clone(), app.trim_end_matches('/').to_owned()));
                }
            }
        });
        let (issuer, app) = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("verity demo prints where to go");
        Demo { child, issuer, app }
    }
}

#[tokio::test]
async fn demo_listens_where_it_is_told_and_its_app_signs_in_there() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(dir.path());
    for url in [&demo.issuer, &demo.app] {
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert!(
            !url.ends_with(":8080/oidc") && !url.ends_with(":8090"),
            "port 0 is a free port, not the default: {url}"
        );
    }
    let http = browser();
    let discovery: serde_json::Value = http
        .get(format!("{}/.well-known/openid-configuration", demo.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], demo.issuer.as_str());

    // The app pushes its request (PAR) with its own callback, which the provider accepts
    // (registered by the demo for this port; the push validates it, else the app could not
    // redirect at all), and sends the person on with the request_uri: the sign-in page, not an
    // error.
    let login = http
        .get(format!("{}/login", demo.app))
        .send()
        .await
        .unwrap();
    assert!(login.status().is_redirection(), "{}", login.status());
    let authorize = login.headers()["location"].to_str().unwrap().to_owned();
    let asked = url::Url::parse(&authorize).unwrap();
    let provider = demo.issuer.trim_end_matches("/oidc");
    assert!(
        authorize.starts_with(&format!("{provider}/oauth/authorize?")),
        "{authorize}"
    );
    assert!(
        asked
            .query_pairs()
            .any(|(k, v)| k == "request_uri" && v.starts_with("urn:ietf:params:oauth:request_uri:")),
        "{authorize}"
    );
    let page = http.get(&authorize).send().await.unwrap();
    let status = page.status();
    let html = page.text().await.unwrap();
    assert_eq!(status, reqwest::StatusCode::OK, "{html}");
    assert!(html.contains("name=\"password\""), "{html}");
}

/// Signs `email` in at `node` for `scope` and answers every page up to the verification page;
/// its HTML and the interaction's base path, or `None` when the journey went past it.
async fn verification_page(
    node: &Node,
    http: &reqwest::Client,
    email: &str,
    scope: &str,
) -> Option<(String, String)> {
    let mut url = url::Url::parse(&node.url("/oauth/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("client_id", "sandbox-confidential"),
        ("redirect_uri", "http://127.0.0.1:8090/callback"),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "s"),
        ("nonce", "n"),
    ]);
    let html = http
        .get(url.as_str())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let action = html
        .split("action=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|a| a.ends_with("/signin"))
        .unwrap_or_else(|| panic!("a sign-in form: {html}"))
        .to_owned();
    let csrf = between(&html, "name=\"csrf_token\" value=\"")
        .unwrap()
        .to_owned();
    let form = [
        ("csrf_token", csrf.as_str()),
        ("email", email),
        ("password", "sandbox-password"),
    ];
    let signed_in = http
        .post(node.url(&action))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_redirection());
    let interaction = action.trim_end_matches("/signin").to_owned();
    let html = http
        .get(node.url(&interaction))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    html.contains("Verification needed")
        .then_some((html, interaction))
}

#[tokio::test]
async fn sandbox_verification_page_says_identity_needs_a_second_factor_and_reset_undoes_it() {
    let db = Database::new().await;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_at(&db.url, dir.path(), None);
    let student = "student@sandbox.test";

    // A group that needs no second factor: no word about one.
    let (html, _) = verification_page(&node, &browser(), student, "openid military")
        .await
        .expect("the student is not military");
    assert!(!html.contains("second-factor-needed"), "{html}");

    // Identity at IAL2/AAL2 for a persona without an authenticator app: the page says that it
    // will still read "not verified", why, and where to add one.
    let http = browser();
    let (html, interaction) = verification_page(&node, &http, student, &format!("openid {IAL2}"))
        .await
        .expect("the student's identity is not verified");
    assert!(
        html.contains("Your identity will still show as not verified")
            && html.contains("two-step verification")
            && html.contains("href=\"/account\">add an authenticator app"),
        "{html}"
    );
    let csrf = between(&html, "name=\"csrf_token\" value=\"").unwrap();
    let verify = [("csrf_token", csrf), ("decision", "verify")];
    let answered = http
        .post(node.url(&format!("{interaction}/verify")))
        .form(&verify)
        .send()
        .await
        .unwrap();
    assert!(answered.status().is_redirection());
    let consent = http
        .get(node.url(&interaction))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        consent.contains("not verified"),
        "as the page said: {consent}"
    );

    // The sandbox verification stuck: the next sign-in goes past the verification page.
    let again = verification_page(&node, &browser(), student, &format!("openid {IAL2}")).await;
    assert!(
        again.is_none(),
        "the identity verification sticks to the persona"
    );

    // `verity sandbox reset` puts the personas back as seeded, with the sandbox still running.
    let data_dir = dir.path().to_str().unwrap();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("VERITY_DATA_DIR", data_dir),
        ("VERITY_MASTER_KEY", MASTER_KEY),
    ];
    let out = verity(&["sandbox", "reset"], &env);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        said.contains("student@sandbox.test: verified: student\n")
            && said.contains("veteran@sandbox.test: verified: identity, military (Veteran)")
            && said.contains("other accounts were not touched"),
        "{said}"
    );
    let (html, _) = verification_page(&node, &browser(), student, &format!("openid {IAL2}"))
        .await
        .expect("after the reset the identity is to verify again");
    assert!(html.contains("Complete the sandbox verification"));
    let uuid = verity_server::sandbox::persona_uuid(student);
    let (ok, cases, err) = admin(&db, dir.path(), &["case-list", "--state", "verified"]);
    assert!(ok, "{err}");
    let groups: Vec<&str> = cases
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["uuid"] == uuid.as_str())
        .filter_map(|c| c["group"].as_str())
        .collect();
    assert_eq!(groups, ["student"], "{cases}");
    drop(node);

    // Refused where there is no sandbox: a missing data directory (not created) ...
    let nowhere = dir.path().join("nowhere");
    let out = verity(
        &["sandbox", "reset"],
        &[("VERITY_DATA_DIR", nowhere.to_str().unwrap())],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no sandbox database at"),
        "{}",
        text(&out.stderr)
    );
    assert!(!nowhere.exists(), "nothing is created");
    // ... and a database no sandbox created.
    let production = Database::new().await;
    let prod_dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = admin(&production, prod_dir.path(), &["case-list"]);
    assert!(ok, "{err}");
    let out = verity(
        &["sandbox", "reset"],
        &[
            ("DATABASE_URL", production.url.as_str()),
            ("VERITY_DATA_DIR", prod_dir.path().to_str().unwrap()),
            ("VERITY_MASTER_KEY", MASTER_KEY),
        ],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("this database holds no sandbox") && err.contains("nothing was changed"),
        "{err}"
    );
}

/// README.md and docs/*.md, as a clone of the repository has them.
fn user_documents() -> Vec<(std::path::PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut paths = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            paths.push(path);
        }
    }
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

#[test]
fn documents_stand_in_a_clone_of_the_repository_alone() {
    let docs = user_documents();
    assert!(docs.len() > 5, "README.md and docs/*.md are read");
    for (path, text) in &docs {
        for outside in ["../shared", "SPEC.md", "SPEC section", "(SPEC "] {
            assert!(
                !text.contains(outside),
                "{} mentions {outside}, which is not in the repository",
                path.display()
            );
        }
    }
    let (_, guide) = docs
        .iter()
        .find(|(p, _)| p.ends_with("docs/integration-guide.md"))
        .expect("the integration guide");
    assert!(
        guide.contains(r#"tokio = { version = "1", features = ["macros", "rt-multi-thread"] }"#),
        "the dependency lines name tokio's features"
    );
    assert!(
        !guide.contains(r#"verity-client = { path = "crates/verity-client" }"#),
        "a path that works only inside this workspace"
    );
}
