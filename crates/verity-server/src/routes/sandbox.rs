//! Sandbox-only pages (SPEC 12, the sandbox's scripted personas): `/sandbox/outbox` shows the
//! mail Verity sent, newest first, so that an integrator reads the code sent to any address (a
//! `*.gov` one, say) without a mailbox. Outside the sandbox the route answers 404.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use verity_core::clock::duration_words;

use crate::error::PageError;
use crate::pages::{Moment, Page};
use crate::state::AppState;

/// How many messages the page shows.
const SHOWN: usize = 50;

pub fn router() -> Router<AppState> {
    Router::new().route("/sandbox/outbox", get(outbox))
}

#[derive(Debug, Serialize)]
struct OutboxPage {
    mails: Vec<MailRow>,
}

impl Page for OutboxPage {
    const TEMPLATE: &'static str = "sandbox_outbox.html";
}

#[derive(Debug, Serialize)]
struct MailRow {
    to: String,
    subject: String,
    ago: String,
    /// When it was sent, said in the reader's time zone.
    sent: Moment,
    body: String,
}

/// One outbox file (`<unix time>-<token>.eml`) as the page shows it.
fn parse(name: &str, text: &str, now: i64) -> Option<MailRow> {
    let sent: i64 = name.split('-').next()?.parse().ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let header = |h: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(h))
            .unwrap_or_default()
            .to_owned()
    };
    Some(MailRow {
        to: header("To: "),
        subject: header("Subject: "),
        ago: format!("{} ago", duration_words(now - sent)),
        sent: Moment::at(sent),
        body: body.replace("\r\n", "\n").trim_end().to_owned(),
    })
}

async fn outbox(State(state): State<AppState>) -> Result<Response, PageError> {
    if !state.sandbox() {
        return Err(PageError::not_found());
    }
    let dir = state.settings.data_dir.join("outbox");
    let mut names = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(&dir).await {
        while let Ok(Some(e)) = entries.next_entry().await {
            names.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    // Newest first: the names start with the Unix time.
    names.sort_by_key(|n| {
        std::cmp::Reverse((
            n.split('-').next().and_then(|t| t.parse::<i64>().ok()),
            n.clone(),
        ))
    });
    let now = state.now();
    let mut mails = Vec::new();
    for name in names.into_iter().take(SHOWN) {
        if let Ok(text) = tokio::fs::read_to_string(dir.join(&name)).await {
            mails.extend(parse(&name, &text, now));
        }
    }
    let page = OutboxPage { mails };
    Ok(state.pages.show(true, &page)?.into_response())
}
