//! Accounts, their attributes and verifications, and TOTP state.

use std::collections::BTreeMap;

use verity_core::identity::{UserData, Verification};

use crate::Store;
use crate::dialect::{Spelt, data_columns};
use crate::error::{Result, StoreError, conflict_or};
use crate::lite::Begin;
use crate::sql::{
    Fields, FromRow, Query, Value, from_json, insert, query, storable, stored, to_json,
};

/// An account as the sign-in step needs it.
#[derive(Clone)]
pub struct User {
    pub uuid: String,
    pub email: String,
    pub password_hash: String,
    /// Encrypted under the master key.
    pub totp_secret: Option<Vec<u8>>,
    pub totp_last_step: Option<i64>,
    pub created_at: i64,
    /// When the sign-in email was confirmed (a link followed, or an operator created the
    /// account); `None`: not confirmed.
    pub email_confirmed_at: Option<i64>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("uuid", &self.uuid)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// A verification with its provenance, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationRecord {
    pub group: String,
    pub verified: bool,
    pub subgroups: Vec<String>,
    pub method: String,
    pub decided_by: String,
    pub decided_at: i64,
}

stored!(User => "users" {
    uuid, email [lower], password_hash, totp_secret, totp_last_step, created_at,
    email_confirmed_at,
});

/// An account's id and email: how pages name a person (the console's audit log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEmail {
    pub uuid: String,
    pub email: String,
}

stored!(UserEmail { uuid, email });

/// A row of [`USER_AND_DATA`].
struct UserAndData(User, UserData);

impl FromRow for UserAndData {
    fn from_row(r: &impl Fields) -> Result<Self> {
        let user = User::from_row(r)?;
        let data = data_from_row(r, &user.uuid)?
            .ok_or_else(|| StoreError::Corrupt("an account read without its email".into()))?;
        Ok(UserAndData(user, data))
    }
}

impl FromRow for VerificationRecord {
    fn from_row(r: &impl Fields) -> Result<Self> {
        let subgroups: String = r.col("subgroups")?;
        Ok(VerificationRecord {
            group: r.col("grp")?,
            verified: r.col("verified")?,
            subgroups: from_json(&subgroups)?,
            method: r.col("method")?,
            decided_by: r.col("decided_by")?,
            decided_at: r.col("decided_at")?,
        })
    }
}

impl Store {
    /// Creates an account with its attributes in one transaction. Emails are compared lower-cased.
    pub async fn insert_user(
        &self,
        user: &User,
        attributes: &BTreeMap<String, serde_json::Value>,
    ) -> Result<()> {
        let mut statements = vec![insert(user)];
        for (handle, value) in attributes {
            let insert =
                query("INSERT INTO user_attributes (uuid, handle, value) VALUES ($1, $2, $3)");
            statements.push(insert.bind(&user.uuid).bind(handle).bind(to_json(value)));
        }
        // A conflict can only be the account's: its attributes are as new as it is.
        self.write(Begin::Write, statements)
            .await
            .map_err(conflict_or)?;
        Ok(())
    }

    /// Replaces an account's password hash; false when there is no such account.
    pub async fn update_user_password(&self, uuid: &str, password_hash: &str) -> Result<bool> {
        let q = query("UPDATE users SET password_hash = $1 WHERE uuid = $2");
        Ok(self.exec(q.bind(password_hash).bind(uuid)).await? == 1)
    }

    /// Marks account `uuid`'s sign-in email confirmed at `at`, unless it already is (the first
    /// confirmation is kept); true when this call confirmed it.
    pub async fn update_email_confirmed(&self, uuid: &str, at: i64) -> Result<bool> {
        let q = query(
            "UPDATE users SET email_confirmed_at = $1 WHERE uuid = $2 AND email_confirmed_at IS NULL",
        );
        Ok(self.exec(q.bind(at).bind(uuid)).await? == 1)
    }

    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let q = query("SELECT * FROM users WHERE email = $1");
        self.fetch_opt_by(q, &email.trim().to_lowercase()).await
    }

    pub async fn find_user(&self, uuid: &str) -> Result<Option<User>> {
        self.fetch_opt_by(query("SELECT * FROM users WHERE uuid = $1"), uuid)
            .await
    }

    /// The emails of the accounts among `uuids` (unknown ids are left out), for pages that name
    /// people rather than show their ids.
    pub async fn find_user_emails(&self, uuids: &[&str]) -> Result<Vec<UserEmail>> {
        let keys: Vec<Value<'_>> = uuids
            .iter()
            .filter(|u| storable(u))
            .map(|u| Value::from(*u))
            .collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let q = query("SELECT uuid, email FROM users WHERE uuid IN ").push_tuple(keys);
        self.fetch_all(q.push(" ORDER BY email")).await
    }

    /// Everything claims are built from: attributes and verifications.
    pub async fn find_user_data(&self, uuid: &str) -> Result<Option<UserData>> {
        Ok(self.find_user_and_data(uuid).await?.map(|(_, data)| data))
    }

    /// The account and everything claims are built from, reading the account once.
    pub async fn find_user_and_data(&self, uuid: &str) -> Result<Option<(User, UserData)>> {
        let q = query(self.spelt(&USER_AND_DATA));
        let found: Option<UserAndData> = self.fetch_opt_by(q, uuid).await?;
        Ok(found.map(|UserAndData(user, data)| (user, data)))
    }

    pub async fn find_verifications(&self, uuid: &str) -> Result<Vec<VerificationRecord>> {
        let q = query("SELECT * FROM verifications WHERE uuid = $1 ORDER BY grp");
        self.fetch_all_by(q, uuid).await
    }

    /// Records that TOTP `step` was used, only if it is newer than the last one: returns false
    /// when another request already used this or a later step (a replayed code).
    pub async fn take_totp_step(&self, uuid: &str, step: i64) -> Result<bool> {
        let q = query(
            "UPDATE users SET totp_last_step = $1
             WHERE uuid = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)",
        );
        Ok(self.exec(q.bind(step).bind(uuid).bind(step)).await? == 1)
    }
}

/// The claims data read by [`data_columns`] (`crate::dialect`) for account `uuid`; `None` when
/// no such account.
pub(crate) fn data_from_row(r: &impl Fields, uuid: &str) -> Result<Option<UserData>> {
    let Some(email) = r.col::<Option<String>>("data_email")? else {
        return Ok(None);
    };
    let confirmed_at: Option<i64> = r.col("data_email_confirmed_at")?;
    let pairs: Vec<(String, String)> = from_json(&r.col::<String>("data_attributes")?)?;
    let mut attributes = BTreeMap::new();
    for (handle, value) in pairs {
        attributes.insert(handle, from_json(&value)?);
    }
    let rows: Vec<(String, serde_json::Value, String)> =
        from_json(&r.col::<String>("data_verifications")?)?;
    let mut verifications = rows
        .into_iter()
        .map(|(group, verified, subgroups)| {
            Ok(Verification {
                group,
                // A boolean on PostgreSQL, 0 or 1 on SQLite.
                verified: verified.as_bool().unwrap_or(verified.as_i64() == Some(1)),
                subgroups: from_json(&subgroups)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    verifications.sort_by(|a, b| a.group.cmp(&b.group));
    Ok(Some(UserData {
        uuid: uuid.to_owned(),
        email,
        email_confirmed: confirmed_at.is_some(),
        attributes,
        verifications,
    }))
}

static USER_AND_DATA: Spelt = Spelt::new(|| {
    [false, true].map(|pg| {
        format!(
            "SELECT u.*, {} FROM users u WHERE u.uuid = $1",
            data_columns(pg, "u.uuid")
        )
    })
});

/// The statement that records (or replaces) account `uuid`'s verification of one group.
pub(crate) fn verification_upsert<'q>(uuid: &'q str, v: &'q VerificationRecord) -> Query<'q> {
    let q = query(
        "INSERT INTO verifications
            (uuid, grp, verified, subgroups, method, decided_by, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (uuid, grp) DO UPDATE SET verified = excluded.verified,
            subgroups = excluded.subgroups, method = excluded.method,
            decided_by = excluded.decided_by, decided_at = excluded.decided_at",
    );
    let q = q.bind(uuid).bind(&v.group).bind(v.verified);
    let q = q.bind(to_json(&v.subgroups)).bind(&v.method);
    q.bind(&v.decided_by).bind(v.decided_at)
}
