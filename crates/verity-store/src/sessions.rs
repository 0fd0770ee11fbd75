//! Browser sessions, authorization interactions in progress, and remembered consent.

use verity_core::identity::UserData;

use verity_core::authn::KeyUse;
use verity_core::grant::SignIn;
use verity_core::values::ClientId;

use crate::Store;
use crate::dialect::{Spelt, data_columns, json_agg};
use crate::error::Result;
use crate::sql::{Fields, FromRow, Query, from_json, insert, query, storable, stored};
use crate::users::{User, data_from_row};

/// A signed-in browser. `id_hash` is the SHA-256 of the cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    /// The public session id (`sid` claim, back-channel logout); the cookie value stays secret.
    pub sid: String,
    pub uuid: String,
    pub auth_time: i64,
    pub mfa: bool,
    /// How the sign-in used a passkey, if it did (then `mfa` is true).
    pub passkey: Option<KeyUse>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Session {
    /// The sign-in a code issued in this session carries.
    pub fn sign_in(&self) -> SignIn<'_> {
        SignIn {
            uuid: &self.uuid,
            auth_time: self.auth_time,
            mfa: self.mfa,
            passkey: self.passkey,
            sid: &self.sid,
        }
    }
}

/// A live session with its account, what claims are built from, and the scope sets the
/// account consented to for one app: what single sign-on decides from, read in one statement.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub user: User,
    pub data: UserData,
    /// Canonical scope sets remembered for the app asked about.
    pub consents: Vec<String>,
    /// The account has registered a passkey.
    pub has_passkey: bool,
}

/// An authorization request between its arrival and its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    pub id: String,
    pub client_id: ClientId,
    /// The validated request as JSON (`verity_core::authorize::AuthorizeRequest`).
    pub request: String,
    pub browser_hash: String,
    pub csrf_token: String,
    pub uuid: Option<String>,
    pub signed_in_here: bool,
    pub verification_answered: bool,
    pub consented: bool,
    pub created_at: i64,
    pub expires_at: i64,
}

const LIVE_SESSION: &str = "SELECT * FROM sessions WHERE id_hash = $1 AND expires_at > $2";
const CONSENTS: &str = "SELECT scopes FROM consents WHERE uuid = $1 AND client_id = $2";

/// A live session, its account, the account's claims data and its consents to app `$3`, in
/// one statement.
static SIGNED_IN: Spelt = Spelt::new(|| {
    [false, true].map(|pg| {
        let consents = json_agg(pg, "scopes");
        format!(
            "SELECT s.*, u.password_hash AS user_password_hash, u.totp_secret AS user_totp_secret,
                u.totp_last_step AS user_totp_last_step, u.created_at AS user_created_at, {},
                (SELECT {consents} FROM consents WHERE uuid = s.uuid AND client_id = $3) AS consents,
                (SELECT COUNT(*) FROM passkeys WHERE uuid = s.uuid) AS passkey_count
             FROM sessions s LEFT JOIN users u ON u.uuid = s.uuid
             WHERE s.id_hash = $1 AND s.expires_at > $2",
            data_columns(pg, "s.uuid")
        )
    })
});

/// [`SIGNED_IN`] (spelt `sql`) with its arguments.
fn signed_in_query<'q>(
    sql: &'static str,
    id_hash: &'q str,
    now: i64,
    client_id: &'q str,
) -> Query<'q> {
    query(sql).bind(id_hash).bind(now).bind(client_id)
}

/// The answer of [`SIGNED_IN`]; `None` when it found no live session, or the session's account
/// is gone.
fn signed_in_from(row: Option<&impl Fields>) -> Result<Option<SignedIn>> {
    let Some(row) = row else {
        return Ok(None);
    };
    let session = Session::from_row(row)?;
    let Some(data) = data_from_row(row, &session.uuid)? else {
        return Ok(None);
    };
    let user = User {
        uuid: session.uuid.clone(),
        email: data.email.clone(),
        password_hash: row.col("user_password_hash")?,
        totp_secret: row.col("user_totp_secret")?,
        totp_last_step: row.col("user_totp_last_step")?,
        created_at: row.col("user_created_at")?,
        email_confirmed_at: row.col("data_email_confirmed_at")?,
    };
    let consents = from_json(&row.col::<String>("consents")?)?;
    let has_passkey = row.col::<i64>("passkey_count")? > 0;
    Ok(Some(SignedIn {
        session,
        user,
        data,
        consents,
        has_passkey,
    }))
}

/// A row of [`SIGNED_IN`]: `None` when the session's account is gone.
struct MaybeSignedIn(Option<SignedIn>);

impl FromRow for MaybeSignedIn {
    fn from_row(r: &impl Fields) -> Result<Self> {
        signed_in_from(Some(r)).map(MaybeSignedIn)
    }
}

stored!(Session => "sessions" {
    id_hash, sid [or_default], uuid, auth_time, mfa, created_at, expires_at, passkey [text],
});

stored!(Interaction => "interactions" {
    id, client_id [text], request, browser_hash, csrf_token, uuid,
    signed_in_here, verification_answered, consented, created_at, expires_at,
});

/// A remembered consent as [`Store::find_user_consents`] lists it.
struct UserConsent(String, String, String, i64);

impl FromRow for UserConsent {
    fn from_row(r: &impl Fields) -> Result<Self> {
        Ok(UserConsent(
            r.col("client_id")?,
            r.col("name")?,
            r.col("scopes")?,
            r.col("created_at")?,
        ))
    }
}

impl Store {
    pub async fn insert_session(&self, s: &Session) -> Result<()> {
        self.exec(insert(s)).await?;
        Ok(())
    }

    /// A live session (not expired at `now`).
    pub async fn find_session(&self, id_hash: &str, now: i64) -> Result<Option<Session>> {
        if !storable(id_hash) {
            return Ok(None);
        }
        self.fetch_opt(query(LIVE_SESSION).bind(id_hash).bind(now))
            .await
    }

    /// A live session with its account and the consents it gave `client_id`, in one statement.
    /// `None` when there is no live session, or its account is gone.
    pub async fn find_signed_in(
        &self,
        id_hash: &str,
        now: i64,
        client_id: &str,
    ) -> Result<Option<SignedIn>> {
        if !storable(id_hash) || !storable(client_id) {
            return Ok(None);
        }
        let q = signed_in_query(self.spelt(&SIGNED_IN), id_hash, now, client_id);
        let found: Option<MaybeSignedIn> = self.fetch_opt(q).await?;
        Ok(found.and_then(|MaybeSignedIn(signed_in)| signed_in))
    }

    /// Marks a session as having passed the second factor: a TOTP or recovery code (`passkey`
    /// `None`), or a passkey.
    pub async fn update_session_mfa(&self, id_hash: &str, passkey: Option<KeyUse>) -> Result<()> {
        let passkey = passkey.map(KeyUse::as_stored);
        let q = query("UPDATE sessions SET mfa = TRUE, passkey = $2 WHERE id_hash = $1");
        self.exec(q.bind(id_hash).bind(passkey)).await?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        let q = query("DELETE FROM sessions WHERE id_hash = $1");
        self.exec(q.bind(id_hash)).await?;
        Ok(())
    }

    /// Every session of `uuid`, live or not (to tell their apps when the account goes).
    pub async fn find_every_user_session(&self, uuid: &str) -> Result<Vec<Session>> {
        let q = query("SELECT * FROM sessions WHERE uuid = $1 ORDER BY created_at");
        self.fetch_all_by(q, uuid).await
    }

    /// Ends every session of `uuid` except the one whose id has the digest `keep` (sign out
    /// everywhere else): the rows go, so the other cookies find nothing on the next request, on
    /// every node. Returns how many ended.
    pub async fn delete_other_sessions(&self, uuid: &str, keep: &str) -> Result<u64> {
        let q = query("DELETE FROM sessions WHERE uuid = $1 AND id_hash <> $2");
        self.exec(q.bind(uuid).bind(keep)).await
    }

    pub async fn insert_interaction(&self, i: &Interaction) -> Result<()> {
        self.exec(insert(i)).await?;
        Ok(())
    }

    pub async fn find_interaction(&self, id: &str, now: i64) -> Result<Option<Interaction>> {
        if !storable(id) {
            return Ok(None);
        }
        let q = query("SELECT * FROM interactions WHERE id = $1 AND expires_at > $2");
        self.fetch_opt(q.bind(id).bind(now)).await
    }

    /// Saves the progress flags of an interaction.
    pub async fn update_interaction(&self, i: &Interaction) -> Result<()> {
        let q = query(
            "UPDATE interactions SET uuid = $1, signed_in_here = $2, verification_answered = $3,
                consented = $4
             WHERE id = $5",
        );
        let q = q.bind(&i.uuid).bind(i.signed_in_here);
        let q = q.bind(i.verification_answered).bind(i.consented);
        self.exec(q.bind(&i.id)).await?;
        Ok(())
    }

    /// Ends an interaction (after its code was issued or it was denied); false if already gone.
    pub async fn take_interaction(&self, id: &str) -> Result<bool> {
        if !storable(id) {
            return Ok(false);
        }
        let q = query("DELETE FROM interactions WHERE id = $1");
        Ok(self.exec(q.bind(id)).await? == 1)
    }

    pub async fn insert_consent(
        &self,
        uuid: &str,
        client_id: &str,
        canonical_scopes: &str,
        now: i64,
    ) -> Result<()> {
        let q = query(
            "INSERT INTO consents (uuid, client_id, scopes, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (uuid, client_id, scopes) DO NOTHING",
        );
        let q = q.bind(uuid).bind(client_id).bind(canonical_scopes);
        self.exec(q.bind(now)).await?;
        Ok(())
    }

    /// Every remembered scope set (canonical form) for a user and app.
    pub async fn find_consents(&self, uuid: &str, client_id: &str) -> Result<Vec<String>> {
        if !storable(uuid) || !storable(client_id) {
            return Ok(Vec::new());
        }
        self.fetch_all(query(CONSENTS).bind(uuid).bind(client_id))
            .await
    }

    /// Every remembered consent of a user: (client id, app name, canonical scopes, when).
    pub async fn find_user_consents(
        &self,
        uuid: &str,
    ) -> Result<Vec<(String, String, String, i64)>> {
        let q = query(
            "SELECT c.client_id, a.name, c.scopes, c.created_at
             FROM consents c JOIN apps a ON a.client_id = c.client_id
             WHERE c.uuid = $1 ORDER BY a.name, c.scopes",
        );
        let consents: Vec<UserConsent> = self.fetch_all_by(q, uuid).await?;
        Ok(consents
            .into_iter()
            .map(|UserConsent(client_id, name, scopes, at)| (client_id, name, scopes, at))
            .collect())
    }

    /// Forgets every remembered consent of a user for one app; returns how many.
    pub async fn delete_consents(&self, uuid: &str, client_id: &str) -> Result<u64> {
        let q = query("DELETE FROM consents WHERE uuid = $1 AND client_id = $2");
        self.exec(q.bind(uuid).bind(client_id)).await
    }
}
