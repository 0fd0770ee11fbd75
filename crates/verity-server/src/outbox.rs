//! Outgoing mail (invitations). Every message is written to `<data dir>/outbox/` and logged in
//! the sandbox; with `VERITY_SMTP_HOST` set it is also handed to that SMTP relay (plain SMTP on
//! port 25 or the configured port, no authentication: a local relay such as the host's MTA).

use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::state::AppState;

pub struct Mail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

fn render(state: &AppState, mail: &Mail<'_>) -> String {
    // Header values never carry a line break (no header injection through a name or address).
    let header = |v: &str| v.replace(['\r', '\n'], " ");
    format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
        header(&state.settings.smtp_from),
        header(mail.to),
        header(mail.subject),
        mail.body.replace('\n', "\r\n")
    )
}

/// Writes the message to the outbox and, when configured, sends it. Never fails the caller's
/// action: a delivery problem is logged and the outbox file remains.
pub async fn send(state: &AppState, mail: Mail<'_>) {
    let message = render(state, &mail);
    let dir = state.settings.data_dir.join("outbox");
    let name = format!("{}-{}.eml", state.now(), verity_core::secret::new_token());
    let written = async {
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(dir.join(&name), &message).await
    }
    .await;
    match written {
        Ok(()) => {
            tracing::info!(file = %dir.join(&name).display(), to = mail.to, "mail written to the outbox")
        }
        Err(e) => tracing::error!(error = %e, "writing to the outbox"),
    }
    if state.sandbox() {
        tracing::info!(
            to = mail.to,
            subject = mail.subject,
            body = mail.body,
            "mail (sandbox)"
        );
    }
    if let Some(host) = &state.settings.smtp_host {
        let addr = format!("{host}:{}", state.settings.smtp_port);
        let from = state.settings.smtp_from.clone();
        let to = mail.to.to_owned();
        tokio::spawn(async move {
            let result = tokio::time::timeout(
                Duration::from_secs(20),
                smtp_send(&addr, &from, &to, &message),
            )
            .await;
            match result {
                Ok(Ok(())) => tracing::info!(%to, "mail sent"),
                Ok(Err(e)) => tracing::warn!(%to, error = %e, "mail not sent"),
                Err(_) => tracing::warn!(%to, "mail not sent: SMTP timed out"),
            }
        });
    }
}

/// RFC 5321: EHLO, MAIL FROM, RCPT TO, DATA, QUIT.
async fn smtp_send(addr: &str, from: &str, to: &str, message: &str) -> anyhow::Result<()> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    async fn expect(
        lines: &mut tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
        code: &str,
    ) -> anyhow::Result<()> {
        loop {
            let line = lines
                .next_line()
                .await?
                .context("the SMTP server closed the connection")?;
            anyhow::ensure!(
                line.starts_with(code),
                "SMTP: expected {code}, got {line:?}"
            );
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(());
            }
        }
    }
    let clean = |s: &str| s.replace(['\r', '\n', '<', '>'], "");
    expect(&mut lines, "220").await?;
    for (cmd, code) in [
        ("EHLO verity\r\n".to_owned(), "250"),
        (format!("MAIL FROM:<{}>\r\n", clean(from)), "250"),
        (format!("RCPT TO:<{}>\r\n", clean(to)), "250"),
        ("DATA\r\n".to_owned(), "354"),
    ] {
        write.write_all(cmd.as_bytes()).await?;
        expect(&mut lines, code).await?;
    }
    // Dot-stuffing (RFC 5321 4.5.2).
    let body = message.replace("\r\n.", "\r\n..");
    write.write_all(body.as_bytes()).await?;
    write.write_all(b"\r\n.\r\n").await?;
    expect(&mut lines, "250").await?;
    write.write_all(b"QUIT\r\n").await?;
    Ok(())
}
