//! Passkeys (WebAuthn Level 2, SPEC 13): the relying party's two ceremonies, registration and
//! authentication, through webauthn-rs (Kanidm's relying-party library: the WebAuthn checks of
//! origin, RP ID hash, challenge, signature, user verification and the signature counter are
//! its). What this module adds is Verity's: the relying party from the public URL, each
//! ceremony's state kept in the database between its two requests (single use, bound to the
//! session or sign-in that started it, [`verity_core::authn::CHALLENGE_TTL`] seconds), and the
//! refusals in words a person reads.

use serde_json::Value;
use verity_core::authn::{CHALLENGE_TTL, KeyUse, user_handle};
use verity_store::passkeys::{Challenge, StoredPasskey};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
    WebauthnError,
};

use crate::error::PageError;
use crate::state::AppState;

/// What a ceremony is for (the `purpose` its state is kept under).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a passkey to the signed-in account.
    Register,
    /// Signing in with a passkey alone (discoverable credentials).
    SignIn,
    /// A passkey as the second factor after the password.
    SecondFactor,
}

impl Purpose {
    /// An authentication's purpose: the second step of `account`, or a sign-in by a passkey
    /// alone when no account is named yet.
    fn of(account: Option<&str>) -> Purpose {
        match account {
            Some(_) => Purpose::SecondFactor,
            None => Purpose::SignIn,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "signin",
            Purpose::SecondFactor => "second_factor",
        }
    }
}

/// Why a passkey was not accepted, in words for the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No passkey answer in the form (no WebAuthn in the browser, or the script did not run).
    Missing,
    /// No ceremony waiting: already answered (a replay), or never started here.
    NoCeremony,
    /// The ceremony's time ran out.
    Expired,
    /// Not a passkey of this account (a second step).
    Unknown,
    /// Not a passkey of any account (a sign-in with a passkey alone).
    NotRegistered,
    /// The signature counter went backwards: the authenticator may have been cloned.
    Cloned,
    /// The authenticator did not verify its user (no PIN, fingerprint or face).
    Unverified,
    /// Registered already.
    Duplicate,
    /// The answer does not verify: wrong origin or RP ID, bad signature, no user verification...
    Invalid,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Missing => {
                "Your browser did not send a passkey. Use a browser that supports passkeys, with scripts on, and try again."
            }
            Refusal::NoCeremony => {
                "That passkey answer was already used or does not belong to this page. Try again."
            }
            Refusal::Expired => "The passkey request timed out. Try again.",
            Refusal::Unknown => {
                "That passkey is not registered to this account. Use one of this account's passkeys."
            }
            Refusal::NotRegistered => {
                "That passkey is not registered with Verity. Sign in with your password, then add it on your account page."
            }
            Refusal::Cloned => {
                "That passkey was refused: its signature counter went backwards, which can mean it was copied. Use another passkey or your other sign-in method, and remove this one from your account."
            }
            Refusal::Unverified => {
                "Your passkey did not check that it is you (no PIN, fingerprint or face). Set a PIN on your security key, or use another passkey."
            }
            Refusal::Duplicate => "That passkey is already registered.",
            Refusal::Invalid => {
                "That passkey answer could not be verified (it was made for another site, or was changed). Try again."
            }
        }
    }

    /// The audit detail's `reason`.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Missing => "missing",
            Refusal::NoCeremony => "no_ceremony",
            Refusal::Expired => "expired",
            Refusal::Unknown | Refusal::NotRegistered => "unknown_credential",
            Refusal::Cloned => "counter_regressed",
            Refusal::Unverified => "user_not_verified",
            Refusal::Duplicate => "duplicate",
            Refusal::Invalid => "invalid",
        }
    }
}

/// The relying party: RP ID the public URL's host, origin the public URL's. `None` when the
/// public URL's host is an IP address (WebAuthn needs a domain name: `localhost` will do).
pub fn relying_party(state: &AppState) -> Option<Webauthn> {
    let origin = Url::parse(&state.public_url).ok()?;
    let rp_id = origin.domain()?.to_owned();
    WebauthnBuilder::new(&rp_id, &origin)
        .ok()?
        .rp_name("Verity")
        .timeout(std::time::Duration::from_secs(CHALLENGE_TTL as u64))
        .build()
        .ok()
}

fn unavailable() -> PageError {
    PageError::bad_request(
        "Passkeys are not available on this server: its public URL must name a domain (localhost will do), not an IP address.",
    )
}

/// Keeps a ceremony's state and answers the browser's options (JSON).
async fn keep(
    state: &AppState,
    binding: &str,
    purpose: Purpose,
    uuid: Option<&str>,
    ceremony: &impl serde::Serialize,
    options: Value,
) -> Result<Value, PageError> {
    let challenge = Challenge {
        binding: binding.to_owned(),
        purpose: purpose.as_str().to_owned(),
        uuid: uuid.map(str::to_owned),
        state: serde_json::to_string(ceremony)
            .map_err(|e| PageError::internal("keeping a ceremony", e))?,
        expires_at: state.now() + CHALLENGE_TTL,
    };
    state.store.put_passkey_challenge(&challenge).await?;
    Ok(options)
}

/// Takes the ceremony waiting under `binding` for `purpose` (once), refusing a missing or
/// expired one.
async fn take<T: serde::de::DeserializeOwned>(
    state: &AppState,
    binding: &str,
    purpose: Purpose,
) -> Result<Result<(T, Option<String>), Refusal>, PageError> {
    let Some(c) = state
        .store
        .take_passkey_challenge(binding, purpose.as_str())
        .await?
    else {
        return Ok(Err(Refusal::NoCeremony));
    };
    if state.now() >= c.expires_at {
        return Ok(Err(Refusal::Expired));
    }
    let ceremony =
        serde_json::from_str(&c.state).map_err(|e| PageError::internal("reading a ceremony", e))?;
    Ok(Ok((ceremony, c.uuid)))
}

fn parse<T: serde::de::DeserializeOwned>(credential: &str) -> Result<T, Refusal> {
    if credential.trim().is_empty() {
        return Err(Refusal::Missing);
    }
    serde_json::from_str(credential).map_err(|_| Refusal::Invalid)
}

fn stored_credential(p: &StoredPasskey) -> Result<Passkey, PageError> {
    serde_json::from_str(&p.credential).map_err(|e| PageError::internal("reading a passkey", e))
}

/// Starts adding a passkey to `uuid` (known as `email`), bound to the account session
/// `binding`: the browser's `navigator.credentials.create` options. Its passkeys already
/// registered are excluded, so one authenticator is not registered twice.
pub async fn begin_registration(
    state: &AppState,
    binding: &str,
    uuid: &str,
    email: &str,
) -> Result<Value, PageError> {
    let rp = relying_party(state).ok_or_else(unavailable)?;
    let existing = state.store.find_passkeys(uuid).await?;
    let mut exclude = Vec::with_capacity(existing.len());
    for p in &existing {
        exclude.push(stored_credential(p)?.cred_id().clone());
    }
    let handle = Uuid::from_bytes(user_handle(uuid));
    let (options, ceremony) = rp
        .start_passkey_registration(handle, email, email, Some(exclude))
        .map_err(|e| PageError::internal("starting a registration", e))?;
    let mut options =
        serde_json::to_value(options).map_err(|e| PageError::internal("writing options", e))?;
    // Ask for a discoverable credential where the authenticator can keep one, so the passkey
    // also signs in without a password (the library asks for none by default).
    if let Some(selection) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(Value::as_object_mut)
    {
        selection.insert("residentKey".into(), "preferred".into());
        selection.insert("requireResidentKey".into(), false.into());
    }
    keep(
        state,
        binding,
        Purpose::Register,
        Some(uuid),
        &ceremony,
        options,
    )
    .await
}

/// Finishes adding a passkey: verified, it is stored under `name` for `uuid`.
pub async fn finish_registration(
    state: &AppState,
    binding: &str,
    uuid: &str,
    name: &str,
    credential: &str,
) -> Result<Result<StoredPasskey, Refusal>, PageError> {
    let rp = relying_party(state).ok_or_else(unavailable)?;
    let answer: RegisterPublicKeyCredential = match parse(credential) {
        Ok(a) => a,
        Err(r) => return Ok(Err(r)),
    };
    let (ceremony, for_uuid): (PasskeyRegistration, _) =
        match take(state, binding, Purpose::Register).await? {
            Ok(found) => found,
            Err(r) => return Ok(Err(r)),
        };
    if for_uuid.as_deref() != Some(uuid) {
        return Ok(Err(Refusal::NoCeremony));
    }
    // Registered already, here or to another account: said as such (the library refuses the
    // ones it was told to exclude under another error's name; the table's key refuses the rest).
    let id = credential_id_text(answer.raw_id.as_ref());
    if state.store.find_passkey(&id).await?.is_some() {
        return Ok(Err(Refusal::Duplicate));
    }
    let passkey = match rp.finish_passkey_registration(&answer, &ceremony) {
        Ok(p) => p,
        Err(WebauthnError::UserNotVerified) => return Ok(Err(Refusal::Unverified)),
        Err(e) => {
            tracing::info!(error = %e, "a passkey registration did not verify");
            return Ok(Err(Refusal::Invalid));
        }
    };
    let as_json =
        serde_json::to_value(&passkey).map_err(|e| PageError::internal("writing a passkey", e))?;
    let backup_eligible = as_json
        .pointer("/cred/backup_eligible")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let stored = StoredPasskey {
        credential_id: credential_id_text(passkey.cred_id().as_ref()),
        uuid: uuid.to_owned(),
        name: name.trim().to_owned(),
        credential: as_json.to_string(),
        hardware: !backup_eligible,
        created_at: state.now(),
        last_used_at: None,
    };
    match state.store.insert_passkey(&stored).await {
        Ok(()) => Ok(Ok(stored)),
        Err(verity_store::StoreError::Conflict) => Ok(Err(Refusal::Duplicate)),
        Err(e) => Err(e.into()),
    }
}

/// A credential id as stored: base64url without padding.
pub fn credential_id_text(id: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// Starts a passkey authentication bound to the sign-in interaction `binding`: with an
/// `account`, the second step after its password, among its passkeys
/// ([`Purpose::SecondFactor`]); without, a sign-in by any discoverable passkey, the person known
/// once they answer ([`Purpose::SignIn`]). The browser's `navigator.credentials.get` options.
pub async fn begin_authentication(
    state: &AppState,
    binding: &str,
    account: Option<&str>,
) -> Result<Value, PageError> {
    let rp = relying_party(state).ok_or_else(unavailable)?;
    let purpose = Purpose::of(account);
    match account {
        Some(uuid) => {
            let mut creds = Vec::new();
            for p in state.store.find_passkeys(uuid).await? {
                creds.push(stored_credential(&p)?);
            }
            if creds.is_empty() {
                return Err(PageError::bad_request(
                    "This account has no passkey. Add one on your account page first.",
                ));
            }
            let (options, ceremony) = rp
                .start_passkey_authentication(&creds)
                .map_err(|e| PageError::internal("starting an authentication", e))?;
            let options = serde_json::to_value(options)
                .map_err(|e| PageError::internal("writing options", e))?;
            keep(state, binding, purpose, Some(uuid), &ceremony, options).await
        }
        None => {
            let (options, ceremony) = rp
                .start_discoverable_authentication()
                .map_err(|e| PageError::internal("starting an authentication", e))?;
            let mut options = serde_json::to_value(options)
                .map_err(|e| PageError::internal("writing options", e))?;
            // A button starts this ceremony, not the autofill of conditional mediation.
            if let Some(o) = options.as_object_mut() {
                o.remove("mediation");
            }
            keep(state, binding, purpose, None, &ceremony, options).await
        }
    }
}

/// A verified passkey authentication: whose, which passkey, and how it was used.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub uuid: String,
    pub passkey: StoredPasskey,
    pub key: KeyUse,
}

/// Finishes a passkey authentication bound to `binding`: verified (origin, RP ID, challenge,
/// signature, user verification, counter), its counter and last use recorded. With an
/// `account`, the passkey must be one of its (the second step); without, the passkey names its
/// account (a passwordless sign-in).
pub async fn finish_authentication(
    state: &AppState,
    binding: &str,
    account: Option<&str>,
    credential: &str,
) -> Result<Result<Authenticated, Refusal>, PageError> {
    let rp = relying_party(state).ok_or_else(unavailable)?;
    let answer: PublicKeyCredential = match parse(credential) {
        Ok(a) => a,
        Err(r) => return Ok(Err(r)),
    };
    let id = credential_id_text(answer.get_credential_id());
    let purpose = Purpose::of(account);
    let outcome = match account {
        None => {
            let (ceremony, _): (DiscoverableAuthentication, _) =
                match take(state, binding, purpose).await? {
                    Ok(found) => found,
                    Err(r) => return Ok(Err(r)),
                };
            let Some(stored) = state.store.find_passkey(&id).await? else {
                return Ok(Err(Refusal::NotRegistered));
            };
            // The user handle the authenticator answers must be the one registered for the
            // passkey's account.
            let handle = answer.get_user_unique_id().unwrap_or_default();
            if handle != user_handle(&stored.uuid) {
                return Ok(Err(Refusal::NotRegistered));
            }
            let credential = stored_credential(&stored)?;
            let result = rp.finish_discoverable_authentication_v2(&answer, ceremony, &credential);
            (stored, credential, result)
        }
        Some(account) => {
            let (ceremony, for_uuid): (PasskeyAuthentication, _) =
                match take(state, binding, purpose).await? {
                    Ok(found) => found,
                    Err(r) => return Ok(Err(r)),
                };
            if for_uuid.as_deref() != Some(account) {
                return Ok(Err(Refusal::NoCeremony));
            }
            let Some(stored) = state.store.find_passkey(&id).await? else {
                return Ok(Err(Refusal::Unknown));
            };
            if stored.uuid != account {
                return Ok(Err(Refusal::Unknown));
            }
            let credential = stored_credential(&stored)?;
            let result = rp.finish_passkey_authentication(&answer, &ceremony);
            (stored, credential, result)
        }
    };
    let (stored, mut credential, result) = outcome;
    let result = match result {
        Ok(r) => r,
        Err(WebauthnError::CredentialPossibleCompromise) => return Ok(Err(Refusal::Cloned)),
        Err(WebauthnError::CredentialNotFound) => return Ok(Err(Refusal::Unknown)),
        Err(WebauthnError::UserNotVerified) => return Ok(Err(Refusal::Unverified)),
        Err(e) => {
            tracing::info!(error = %e, "a passkey assertion did not verify");
            return Ok(Err(Refusal::Invalid));
        }
    };
    credential.update_credential(&result);
    let updated = serde_json::to_string(&credential)
        .map_err(|e| PageError::internal("writing a passkey", e))?;
    let recorded = state
        .store
        .record_passkey_use(
            &stored.credential_id,
            &stored.credential,
            &updated,
            state.now(),
        )
        .await?;
    if !recorded {
        // Another use of the same credential moved its counter first: one of them is a copy,
        // or a replay of a signature made for the other.
        return Ok(Err(Refusal::Cloned));
    }
    let key = KeyUse {
        hardware: !result.backup_eligible(),
        with_password: account.is_some(),
    };
    Ok(Ok(Authenticated {
        uuid: stored.uuid.clone(),
        passkey: stored,
        key,
    }))
}
