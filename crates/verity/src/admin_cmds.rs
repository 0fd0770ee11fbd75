//! `verity admin ...`: the operations of the admin API (SPEC section 11) from the shell, for
//! scripts and first setup (such as creating the first organization owner in production).
//! Output is JSON on standard output.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use verity_server::admin::{self, AppInput, app_json};
use verity_server::audit::{AuditEvent, Change, Via};
use verity_server::state::{AppState, SystemClock};
use verity_server::verification::{self, review, review::Role};
use verity_server::{ServeArgs, Settings};

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub settings: ServeArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user. The password is read from VERITY_NEW_USER_PASSWORD (never a flag, so it
    /// stays out of shell history and process lists).
    Create(UserCreateArgs),
    /// Delete an account and everything of it: attributes, credentials, sessions,
    /// consents, tokens, verifications and their evidence; apps are told; audit rows keep only
    /// the uuid. Fails when there is no such account.
    Delete { uuid: String },
    /// Remove every second factor of an account (authenticator app, recovery codes, passkeys)
    /// and end its sessions, for a person who lost them all (check who is asking first). They
    /// then sign in with the password alone and set up a new one.
    RemoveSecondFactors { uuid: String },
}

#[derive(Debug, Args)]
pub struct UserCreateArgs {
    #[arg(long)]
    email: String,
    /// An attribute as handle=JSON value, e.g. fname='"Ada"' or zip=null. Repeatable.
    #[arg(long = "attribute")]
    attributes: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an organization, optionally with its first owner (an existing account's email).
    OrgCreate {
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner: Option<String>,
    },
    /// Add (or change) a member of an organization: role owner, admin or developer.
    MemberAdd {
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "developer")]
        role: String,
    },
    /// Register an app; prints its client_id and (once) its client_secret.
    AppCreate {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        /// Repeat for several URIs.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Repeat for several policies.
        #[arg(long = "policy")]
        policies: Vec<String>,
        #[arg(long, default_value = "idme")]
        profile: String,
        /// A public app (no secret, PKCE).
        #[arg(long)]
        public: bool,
        /// Do not allow refresh tokens.
        #[arg(long)]
        no_refresh_tokens: bool,
        /// A web origin (https://app.example.com) whose pages may call the token, userinfo and
        /// revocation endpoints, besides those of the redirect URIs; repeat for several.
        #[arg(long = "allowed-origin")]
        allowed_origins: Vec<String>,
        /// Every sign-in for the app must be phishing resistant (a passkey), whatever the
        /// request's acr_values say.
        #[arg(long)]
        require_phishing_resistant: bool,
    },
    /// List an organization's apps.
    AppList {
        #[arg(long)]
        org: String,
    },
    /// Show one app.
    AppGet { client_id: String },
    /// Delete an app and revoke its tokens.
    AppDelete { client_id: String },
    /// Add a client secret (rotation); prints it once.
    SecretAdd { client_id: String },
    /// Delete a client secret.
    SecretDelete { client_id: String, id: String },
    /// People's accounts: `users create`, `users delete`.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// The same as `users create` (the earlier spelling).
    #[command(hide = true)]
    UserCreate(UserCreateArgs),
    /// The same as `users delete` (the earlier spelling).
    #[command(hide = true)]
    UserDelete { uuid: String },
    /// Record a verification: GROUP is a group handle or `identity`.
    VerificationSet {
        uuid: String,
        group: String,
        #[arg(long, action = clap::ArgAction::Set)]
        verified: bool,
        #[arg(long = "subgroup")]
        subgroups: Vec<String>,
    },
    /// List verification cases in a state, oldest first: pending_code, in_review, verified,
    /// rejected, expired, revoked or withdrawn.
    CaseList {
        #[arg(long, default_value = "in_review")]
        state: String,
    },
    /// Show a verification case with its evidence list and history.
    CaseGet { id: String },
    /// Approve or reject a verification case in review.
    CaseDecide {
        id: String,
        /// approve or reject.
        #[arg(long)]
        decision: String,
        /// A subgroup the approval grants. Repeatable.
        #[arg(long = "subgroup")]
        subgroups: Vec<String>,
        /// A reject reason: unreadable, expired_document, mismatch, not_eligible,
        /// suspected_fraud.
        #[arg(long)]
        reason: Option<String>,
        /// For identity: an attribute read from the document, as handle=value. Repeatable.
        #[arg(long = "attribute")]
        attributes: Vec<String>,
    },
    /// Revoke a user's verification of a group.
    VerificationRevoke {
        uuid: String,
        group: String,
        #[arg(long)]
        reason: String,
    },
    /// Give an account (uuid or sign-in email) a deployment role: `reviewer` works the
    /// verification queue at /review.
    RoleGrant {
        user: String,
        #[arg(long, default_value = "reviewer")]
        role: String,
    },
    /// Take a deployment role back from an account (uuid or sign-in email).
    RoleRevoke {
        user: String,
        #[arg(long, default_value = "reviewer")]
        role: String,
    },
    /// Start a signing-key rollover.
    KeysRotate,
}

fn print(v: &Value) -> anyhow::Result<()> {
    use std::io::Write;
    writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(v)?)
        .context("writing the answer")
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args.settings).context("reading settings")?;
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.listen));
    let state: AppState =
        verity_server::startup::prepare_state(settings, Arc::new(SystemClock), public_url, false)
            .await?;
    let result = execute(&state, args.command).await;
    state.store.close().await;
    result
}

async fn execute(state: &AppState, command: AdminCommand) -> anyhow::Result<()> {
    let fail = |e: admin::AdminError| anyhow::anyhow!("{e}");
    match command {
        AdminCommand::OrgCreate { name, owner } => {
            let owner_uuid = match owner {
                Some(email) => Some(
                    state
                        .store
                        .find_user_by_email(&email)
                        .await?
                        .with_context(|| format!("no account for {email}"))?
                        .uuid,
                ),
                None => None,
            };
            let org = admin::create_organization(state, &name, owner_uuid.as_deref())
                .await
                .map_err(fail)?;
            audit(
                state,
                Change::OrganizationCreated,
                owner_uuid.as_deref(),
                None,
                json!({"organization": org.id}),
            )
            .await;
            print(&json!({"id": org.id, "name": org.name}))
        }
        AdminCommand::MemberAdd { org, email, role } => {
            if !["owner", "admin", "developer"].contains(&role.as_str()) {
                bail!("role must be owner, admin or developer");
            }
            state
                .store
                .find_organization(&org)
                .await?
                .context("no such organization")?;
            let user = state
                .store
                .find_user_by_email(&email)
                .await?
                .with_context(|| format!("no account for {email}"))?;
            state
                .store
                .upsert_membership(&org, &user.uuid, &role, state.now())
                .await?;
            audit(
                state,
                Change::MemberAdded,
                Some(&user.uuid),
                None,
                json!({"organization": org, "role": role}),
            )
            .await;
            print(&json!({"organization": org, "uuid": user.uuid, "role": role}))
        }
        AdminCommand::AppCreate {
            org,
            name,
            redirect_uris,
            policies,
            profile,
            public,
            no_refresh_tokens,
            allowed_origins,
            require_phishing_resistant,
        } => {
            let input = AppInput {
                name: Some(name),
                redirect_uris: Some(redirect_uris),
                policies: Some(policies),
                profile: Some(profile),
                public: Some(public),
                refresh_tokens: Some(!no_refresh_tokens),
                allowed_origins: Some(allowed_origins),
                require_phishing_resistant: Some(require_phishing_resistant),
                ..AppInput::default()
            };
            let (app, secret) = admin::create_app(state, &org, input).await.map_err(fail)?;
            audit(
                state,
                Change::AppCreated,
                None,
                Some(&app.client_id),
                json!({}),
            )
            .await;
            let secrets = state.store.find_app_secrets(&app.client_id).await?;
            print(&admin::new_app_json(&app, secret, &secrets))
        }
        AdminCommand::AppList { org } => {
            let apps: Vec<Value> = state
                .store
                .find_org_apps(&org)
                .await?
                .iter()
                .map(app_json)
                .collect();
            print(&Value::Array(apps))
        }
        AdminCommand::AppGet { client_id } => {
            print(&admin::app_details(state, &client_id).await.map_err(fail)?)
        }
        AdminCommand::AppDelete { client_id } => {
            admin::delete_app(state, &client_id).await.map_err(fail)?;
            audit(state, Change::AppDeleted, None, Some(&client_id), json!({})).await;
            print(&json!({"deleted": client_id}))
        }
        AdminCommand::SecretAdd { client_id } => {
            let (id, secret) = admin::add_secret(state, &client_id).await.map_err(fail)?;
            audit(
                state,
                Change::SecretCreated,
                None,
                Some(&client_id),
                json!({"secret_id": id}),
            )
            .await;
            print(&json!({"id": id, "client_secret": secret}))
        }
        AdminCommand::SecretDelete { client_id, id } => {
            admin::delete_secret(state, &client_id, &id)
                .await
                .map_err(fail)?;
            audit(
                state,
                Change::SecretDeleted,
                None,
                Some(&client_id),
                json!({"secret_id": id}),
            )
            .await;
            print(&json!({"deleted": id}))
        }
        AdminCommand::Users {
            command: UsersCommand::Create(UserCreateArgs { email, attributes }),
        }
        | AdminCommand::UserCreate(UserCreateArgs { email, attributes }) => {
            let password = std::env::var("VERITY_NEW_USER_PASSWORD")
                .context("set VERITY_NEW_USER_PASSWORD to the new account's password")?;
            let mut attrs = BTreeMap::new();
            for a in attributes {
                let (handle, value) = a.split_once('=').context("an attribute is handle=JSON")?;
                let value: Value =
                    serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
                attrs.insert(handle.to_owned(), value);
            }
            let uuid = admin::create_user(state, &email, &password, attrs)
                .await
                .map_err(fail)?;
            audit(state, Change::UserCreated, Some(&uuid), None, json!({})).await;
            print(&json!({"uuid": uuid}))
        }
        AdminCommand::Users {
            command: UsersCommand::Delete { uuid },
        }
        | AdminCommand::UserDelete { uuid } => {
            let no_request = verity_server::HeaderMap::new();
            let by = verity_server::erase::DeletedBy::Cli;
            if !verity_server::erase::delete_account(state, &uuid, by, &no_request).await? {
                bail!("no account {uuid}");
            }
            print(&json!({"uuid": uuid, "deleted": true}))
        }
        AdminCommand::Users {
            command: UsersCommand::RemoveSecondFactors { uuid },
        } => {
            let no_request = verity_server::HeaderMap::new();
            if !admin::remove_second_factors(state, &uuid, "cli", &no_request).await? {
                bail!("no account {uuid}");
            }
            print(&json!({"uuid": uuid, "second_factors_removed": true}))
        }
        AdminCommand::VerificationSet {
            uuid,
            group,
            verified,
            subgroups,
        } => {
            admin::set_verification(
                state,
                &uuid,
                &group,
                verified,
                subgroups.clone(),
                "verity admin",
            )
            .await
            .map_err(fail)?;
            print(
                &json!({"uuid": uuid, "group": group, "verified": verified, "subgroups": subgroups}),
            )
        }
        AdminCommand::CaseList { state: wanted } => {
            let cases = verification::cases_in(state, &wanted).await.map_err(fail)?;
            print(&Value::Array(cases))
        }
        AdminCommand::CaseGet { id } => {
            print(&verification::case_details(state, &id).await.map_err(fail)?)
        }
        AdminCommand::CaseDecide {
            id,
            decision,
            subgroups,
            reason,
            attributes,
        } => {
            let mut read = BTreeMap::new();
            for a in attributes {
                let (handle, value) = a.split_once('=').context("an attribute is handle=value")?;
                read.insert(handle.to_owned(), value.to_owned());
            }
            let reason = reason
                .map(|r| serde_json::from_value(Value::String(r.clone())))
                .transpose()
                .map_err(|_| anyhow::anyhow!("unknown reject reason"))?;
            let d = verification::Decision {
                decision,
                subgroups,
                reason,
                attributes: read,
            };
            let no_request = verity_server::HeaderMap::new();
            let case = verification::decide(state, &id, &d, "verity admin", &no_request)
                .await
                .map_err(fail)?;
            print(&verification::case_json(&case))
        }
        AdminCommand::VerificationRevoke {
            uuid,
            group,
            reason,
        } => {
            let no_request = verity_server::HeaderMap::new();
            let case =
                verification::revoke(state, &uuid, &group, &reason, "verity admin", &no_request)
                    .await
                    .map_err(fail)?;
            print(&verification::case_json(&case))
        }
        AdminCommand::RoleGrant { user, role } => change_role(state, &user, &role, true).await,
        AdminCommand::RoleRevoke { user, role } => change_role(state, &user, &role, false).await,
        AdminCommand::KeysRotate => {
            let kids = verity_server::maintenance::rotate(state).await?;
            print(&json!({"kids": kids}))
        }
    }
}

/// `role-grant` and `role-revoke`: the account's roles afterwards.
async fn change_role(state: &AppState, user: &str, role: &str, grant: bool) -> anyhow::Result<()> {
    let role = Role::parse(role).context("unknown role (roles: reviewer)")?;
    let no_request = verity_server::HeaderMap::new();
    let roles = review::change_role(state, user, role, Via::Cli, &no_request, grant)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    print(&json!({"user": user, "roles": names}))
}

/// Records what a command did in the audit trail, as the admin API does, about a person
/// (`uuid`) or an app (`client_id`). Rows from the shell carry no request id or address.
async fn audit(
    state: &AppState,
    change: Change,
    uuid: Option<&str>,
    client_id: Option<&str>,
    detail: Value,
) {
    let no_request = verity_server::HeaderMap::new();
    let event = AuditEvent::Changed(Via::Cli, change);
    state
        .audit(event, uuid, client_id, &no_request, detail)
        .await;
}
