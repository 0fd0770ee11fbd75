//! The pages a person sees, from auto-escaped minijinja templates compiled into the binary.

use axum::response::Html;
use minijinja::Environment;
use serde::Serialize;

use crate::error::PageError;

/// The context of one template: a struct per page, so that what a template reads is checked
/// where the page is built.
pub trait Page: Serialize {
    const TEMPLATE: &'static str;
}

pub struct Pages {
    env: Environment<'static>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages")
    }
}

macro_rules! templates {
    ($env:ident, $($name:literal),* $(,)?) => {
        $( $env.add_template($name, include_str!(concat!("templates/", $name)))?; )*
    };
}

impl Pages {
    pub fn new() -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        // `.html` templates are HTML-escaped by default (minijinja's default auto-escape callback).
        templates!(
            env,
            "base.html",
            "macros.html",
            "signin.html",
            "signup.html",
            "mfa.html",
            "verify.html",
            "verify_group.html",
            "account_verifications.html",
            "consent.html",
            "error.html",
            "home.html",
            "signed_out.html",
            "account.html",
            "account_activity.html",
            "totp.html",
            "recovery_codes.html",
            "account_delete.html",
            "account_deleted.html",
            "account_password.html",
            "account_passkeys.html",
            "unmet.html",
            "password_reset.html",
            "email_confirm.html",
            "console_nav.html",
            "console_home.html",
            "console_org.html",
            "console_app_form.html",
            "console_credentials.html",
            "console_audit.html",
            "review_queue.html",
            "review_case.html",
            "sandbox_outbox.html",
            "form_post.html"
        );
        Ok(Pages { env })
    }

    /// Renders `name` with `ctx`, adding `sandbox` for the banner.
    pub fn render_raw(
        &self,
        name: &str,
        sandbox: bool,
        ctx: &impl Serialize,
    ) -> Result<String, minijinja::Error> {
        let tmpl = self.env.get_template(name)?;
        tmpl.render(
            minijinja::context! { sandbox => sandbox, ..minijinja::Value::from_serialize(ctx) },
        )
    }

    /// Renders a typed page (its template and its context in one struct).
    pub fn show<P: Page>(&self, sandbox: bool, page: &P) -> Result<Html<String>, PageError> {
        self.render(P::TEMPLATE, sandbox, page)
    }

    pub fn render(
        &self,
        name: &str,
        sandbox: bool,
        ctx: &impl Serialize,
    ) -> Result<Html<String>, PageError> {
        self.render_raw(name, sandbox, ctx)
            .map(Html)
            .map_err(|e| PageError::internal("rendering a page", e))
    }
}

/// A moment on a page. Templates show it with `{% from "macros.html" import moment %}` and
/// `{{ moment(m) }}`: a `<time>` holding the UTC words, which `/static/local-time.js` rewrites in
/// the reader's time zone and language when the browser runs scripts.
#[derive(Debug, Clone, Serialize)]
pub struct Moment {
    /// RFC 3339 UTC, for the `datetime` attribute.
    pub iso: String,
    /// The words without a script: `5 December 2026 at 14:03 UTC` or `5 December 2026`.
    pub words: String,
    /// `minute` or `day`: how much the browser says.
    pub style: &'static str,
}

impl Moment {
    /// A moment to the minute (a sign-in, an audit event, a secret's last use).
    pub fn at(unix: i64) -> Self {
        Moment {
            iso: verity_core::clock::rfc3339(unix),
            words: verity_core::clock::moment_words(unix),
            style: "minute",
        }
    }

    /// A day (when a case was submitted, when a verification expires).
    pub fn day(unix: i64) -> Self {
        Moment {
            iso: verity_core::clock::rfc3339(unix),
            words: verity_core::clock::date_words(unix),
            style: "day",
        }
    }
}

/// The script that says each `<time data-style>` in the reader's time zone (served at
/// `/static/local-time.js`; the CSP allows scripts from the origin only).
pub const LOCAL_TIME_SCRIPT: &str = include_str!("static/local-time.js");

/// The copy buttons of the console's credentials page (served at `/static/copy.js`).
pub const COPY_SCRIPT: &str = include_str!("static/copy.js");

/// The passkey ceremonies of the sign-in, second-step and passkeys pages (served at
/// `/static/passkey.js`).
pub const PASSKEY_SCRIPT: &str = include_str!("static/passkey.js");

/// The stylesheet of every page (served at `/static/verity.css`; the CSP forbids inline styles).
pub const STYLESHEET: &str = include_str!("static/verity.css");
