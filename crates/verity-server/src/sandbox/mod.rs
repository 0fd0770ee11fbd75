//! The sandbox of SPEC section 9: the personas, `Sandbox Org` and its two apps. Seeding is
//! idempotent: what exists is left alone, what is missing is created. [`reset`] puts the
//! personas' verifications back as seeded (`verity sandbox reset`).
//!
//! Besides the personas with fixed verifications, two are scripted for integrators (SPEC 12):
//! the documents [`DOCUMENTS_APPROVED`] uploads are approved, and those of
//! [`DOCUMENTS_REJECTED`] rejected as `unreadable`, by a built-in reviewer [`REVIEW_DELAY`]
//! seconds later ([`review_scripted`]), so that an app sees every state without a human. Codes
//! sent to any address (a `*.gov` one, say) are readable at `/sandbox/outbox`.
//!
//! - `personas`: who the personas are and what they start verified for.
//! - `reviewer`: the built-in reviewer of the scripted personas' documents.
//! - here: seeding the organization, the apps and the personas, and resetting them.

mod personas;
mod reviewer;

use std::collections::BTreeMap;

use serde_json::Value;
use verity_core::keys::MasterKey;
use verity_core::password::Passwords;
use verity_core::secret::{hex, sha256, token_hash};
use verity_core::verification::{CaseState, Method};
use verity_store::Store;
use verity_store::apps::{App, Organization};
use verity_store::cases::Case;
use verity_store::users::{User, VerificationRecord};

use personas::{Persona, personas};
pub use reviewer::{review_scripted, spawn_reviewer};

pub const PASSWORD: &str = "sandbox-password";
/// Base32 TOTP secret of every persona with a verified identity.
pub const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXP";
pub const CONFIDENTIAL_CLIENT_ID: &str = "sandbox-confidential";
pub const CONFIDENTIAL_CLIENT_SECRET: &str = "sandbox-secret";
pub const PUBLIC_CLIENT_ID: &str = "sandbox-public";
pub const REDIRECT_URIS: [&str; 2] = [
    "http://127.0.0.1:8090/callback",
    "http://localhost:8090/callback",
];

/// The persona whose uploaded documents the built-in sandbox reviewer approves.
pub const DOCUMENTS_APPROVED: &str = "documents.approved@sandbox.test";
/// The persona whose uploaded documents the built-in sandbox reviewer rejects as `unreadable`.
pub const DOCUMENTS_REJECTED: &str = "documents.rejected@sandbox.test";
/// How long (seconds) the built-in reviewer takes.
pub const REVIEW_DELAY: i64 = 5;
/// Who the built-in reviewer's decisions name.
pub const SANDBOX_REVIEWER: &str = "sandbox reviewer";

/// What the sandbox organization's stable id derives from.
const SANDBOX_ORG: &str = "verity-sandbox-org";

/// A stable id derived from a name, so that every node seeds the same rows.
fn stable_id(name: &str) -> String {
    hex(&sha256(name.as_bytes())[..16])
}

/// The persona's stable uuid (the same in every sandbox, handy in docs and tests).
pub fn persona_uuid(email: &str) -> String {
    stable_id(&format!("verity-sandbox-persona:{email}"))
}

pub async fn seed(
    store: &Store,
    passwords: &Passwords,
    master: &MasterKey,
    policies: &[String],
    now: i64,
) -> anyhow::Result<()> {
    let org_id = seed_organization(store, SANDBOX_ORG, "Sandbox Org", now).await?;
    for (client_id, name, public) in [
        (CONFIDENTIAL_CLIENT_ID, "Sandbox Confidential App", false),
        (PUBLIC_CLIENT_ID, "Sandbox Public App", true),
    ] {
        if store.find_app(client_id).await?.is_some() {
            continue;
        }
        let mut app = App::new(client_id, &org_id, name, now);
        app.redirect_uris = REDIRECT_URIS.iter().map(|s| (*s).to_owned()).collect();
        app.post_logout_redirect_uris = vec![
            "http://127.0.0.1:8090/".into(),
            "http://localhost:8090/".into(),
        ];
        app.policies = policies.to_vec();
        app.public = public;
        ignore_conflict(store.insert_app(&app).await)?;
        if !public {
            let secret_id = stable_id("verity-sandbox-secret");
            ignore_conflict(
                store
                    .insert_app_secret(
                        &secret_id,
                        client_id,
                        &token_hash(CONFIDENTIAL_CLIENT_SECRET),
                        now,
                    )
                    .await,
            )?;
        }
    }
    let totp_secret = verity_core::totp::decode_base32(TOTP_SECRET).unwrap_or_default();
    for p in personas() {
        if let Some(seeded) = store.find_user_by_email(p.email).await? {
            // Seeded before emails were confirmed (migration 0017): personas are the
            // operator's accounts, confirmed like any account an operator creates.
            store.update_email_confirmed(&seeded.uuid, now).await?;
            continue;
        }
        let uuid = persona_uuid(p.email);
        let hasher = passwords.clone();
        let hash = tokio::task::spawn_blocking(move || hasher.hash(PASSWORD))
            .await?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let sealed = if p.totp {
            Some(master.encrypt(&totp_secret, uuid.as_bytes())?)
        } else {
            None
        };
        let user = User {
            uuid: uuid.clone(),
            email: p.email.into(),
            password_hash: hash,
            totp_secret: sealed,
            totp_last_step: None,
            created_at: now,
            email_confirmed_at: Some(now),
        };
        let attributes: BTreeMap<String, Value> = match &p.attributes {
            Value::Object(m) => m.clone().into_iter().collect(),
            _ => BTreeMap::new(),
        };
        if ignore_conflict(store.insert_user(&user, &attributes).await)?.is_none() {
            continue;
        }
        seed_verifications(store, &uuid, &p, now).await?;
    }
    Ok(())
}

/// Records the verifications persona `p` (account `uuid`) starts with.
async fn seed_verifications(
    store: &Store,
    uuid: &str,
    p: &Persona,
    now: i64,
) -> anyhow::Result<()> {
    for (group, subgroups) in p.verified {
        let subgroups: Vec<String> = subgroups.iter().map(|s| (*s).to_owned()).collect();
        let document = p.documents.iter().find(|d| d.0 == *group);
        let record = VerificationRecord {
            group: (*group).into(),
            verified: true,
            subgroups: subgroups.clone(),
            method: if document.is_some() {
                "document"
            } else {
                "sandbox"
            }
            .into(),
            decided_by: "sandbox seed".into(),
            decided_at: now,
        };
        let Some((_, kind, read)) = document else {
            store.upsert_verification(uuid, &record).await?;
            continue;
        };
        let case = Case {
            state: CaseState::Verified,
            document_type: Some((*kind).into()),
            subgroups,
            attributes: read
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            decided_by: Some(record.decided_by.clone()),
            decided_at: Some(now),
            ..Case::new(
                &stable_id(&format!("{uuid}:{group}")),
                uuid,
                group,
                Method::Document,
                now,
            )
        };
        store.record_decided_case(&case, &record).await?;
    }
    Ok(())
}

/// Whether `store` holds a sandbox: the sandbox organization is seeded in it.
pub async fn is_sandbox(store: &Store) -> anyhow::Result<bool> {
    let org_id = stable_id(SANDBOX_ORG);
    Ok(store.find_organization(&org_id).await?.is_some())
}

/// A persona after [`reset`]: its email and the verifications it has again, as
/// `group` or `group (subgroup, ...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonaReset {
    pub email: &'static str,
    pub verified: Vec<String>,
}

/// `verity sandbox reset`: every persona's verifications and cases (with their uploaded
/// files) are deleted and the seeded ones recorded again, so that a verification done on the
/// sandbox's pages no longer sticks to the persona. Accounts, passwords, second factors,
/// attributes, sessions and consents are left alone. Refused on a database without a sandbox.
pub async fn reset(store: &Store, now: i64) -> anyhow::Result<Vec<PersonaReset>> {
    anyhow::ensure!(
        is_sandbox(store).await?,
        "this database holds no sandbox (no Sandbox Org, no personas): it was not created by \
         `verity demo` or `verity serve --sandbox`, and nothing was changed"
    );
    let mut done = Vec::new();
    for p in personas() {
        let uuid = persona_uuid(p.email);
        // Only the persona's own account: an address taken by another account is left alone.
        match store.find_user_by_email(p.email).await? {
            Some(user) if user.uuid == uuid => {}
            _ => continue,
        }
        store.delete_user_verifications(&uuid).await?;
        seed_verifications(store, &uuid, &p, now).await?;
        let verified = p
            .verified
            .iter()
            .map(|(group, subgroups)| match subgroups {
                [] => (*group).to_owned(),
                some => format!("{group} ({})", some.join(", ")),
            })
            .collect();
        done.push(PersonaReset {
            email: p.email,
            verified,
        });
    }
    Ok(done)
}

/// Registers the reference app at `base` (`http://127.0.0.1:8091`, say) on both sandbox apps:
/// its callback as a redirect URI and its home page as a post-logout redirect URI, so that
/// `verity demo` works on any port. Already registered: nothing is written.
pub async fn register_app_address(store: &Store, base: &str, now: i64) -> anyhow::Result<()> {
    let base = base.trim_end_matches('/');
    let (callback, home) = (format!("{base}/callback"), format!("{base}/"));
    for client_id in [CONFIDENTIAL_CLIENT_ID, PUBLIC_CLIENT_ID] {
        let Some(mut app) = store.find_app(client_id).await? else {
            continue;
        };
        let mut changed = false;
        for (uris, uri) in [
            (&mut app.redirect_uris, &callback),
            (&mut app.post_logout_redirect_uris, &home),
        ] {
            if !uris.contains(uri) {
                uris.push(uri.clone());
                changed = true;
            }
        }
        if changed {
            app.updated_at = now;
            store.update_app(&app).await?;
        }
    }
    Ok(())
}

/// The organization of stable id `seed` (see [`stable_id`]), created as `name` if missing; its id.
async fn seed_organization(
    store: &Store,
    seed: &str,
    name: &str,
    now: i64,
) -> anyhow::Result<String> {
    let id = stable_id(seed);
    if store.find_organization(&id).await?.is_none() {
        let org = Organization {
            id: id.clone(),
            name: name.into(),
            created_at: now,
        };
        ignore_conflict(store.insert_organization(&org).await)?;
    }
    Ok(id)
}

/// Another node seeding at the same moment is not an error.
fn ignore_conflict(r: verity_store::Result<()>) -> anyhow::Result<Option<()>> {
    match r {
        Ok(()) => Ok(Some(())),
        Err(verity_store::StoreError::Conflict) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Registers Verity's own account page as a first-party public app (every environment), with the
/// redirect URI at the current public URL.
pub async fn seed_account_app(
    store: &Store,
    public_url: &str,
    now: i64,
    update: bool,
) -> anyhow::Result<()> {
    use crate::session::{ACCOUNT_CLIENT_ID, callback_uri};
    let org_id = seed_organization(store, "verity-system-org", "Verity", now).await?;
    let redirect_uris = vec![callback_uri(public_url)];
    match store.find_app(ACCOUNT_CLIENT_ID).await? {
        Some(mut app) if update && app.redirect_uris != redirect_uris => {
            app.redirect_uris = redirect_uris;
            app.updated_at = now;
            store.update_app(&app).await?;
        }
        Some(_) => {}
        None => {
            let mut app = App::new(ACCOUNT_CLIENT_ID, &org_id, "Your Verity account", now);
            app.redirect_uris = redirect_uris;
            app.policies = vec!["openid".into()];
            app.public = true;
            app.refresh_tokens = false;
            ignore_conflict(store.insert_app(&app).await)?;
        }
    }
    Ok(())
}
