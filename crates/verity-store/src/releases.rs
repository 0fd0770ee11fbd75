//! What each app received (SPEC 14): one release per authorization code issued, written with
//! the code in the same transaction: when, to which app, the policies granted and the attribute
//! handles they release. Never the values.

use verity_core::grant::Code;

use crate::Store;
use crate::error::Result;
use crate::lite::Begin;
use crate::sessions::Session;
use crate::sql::{Fields, FromRow, insert, query, storable, stored};

/// One release: the attributes an app was given at one sign-in or consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub at: i64,
    pub uuid: String,
    pub client_id: String,
    /// The granted scopes that name policies.
    pub policies: Vec<String>,
    /// The attribute handles those policies release, in catalog order.
    pub handles: Vec<String>,
}

stored!(Release => "releases" {
    at, uuid, client_id, policies [json], handles [json],
});

/// An app a person used: its name, the first sign-in and the last release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUse {
    pub name: String,
    pub first_at: i64,
    pub last: Release,
}

impl FromRow for AppUse {
    fn from_row(r: &impl Fields) -> Result<Self> {
        Ok(AppUse {
            name: r.col("name")?,
            first_at: r.col("first_at")?,
            last: Release::from_row(r)?,
        })
    }
}

/// One line of a person's activity: an audit event of theirs, or a release (event `release`,
/// the handles in `detail`).
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub at: i64,
    pub event: String,
    pub client_id: Option<String>,
    pub address: Option<String>,
    pub detail: serde_json::Value,
}

stored!(Activity {
    at, event, client_id, address, detail [json],
});

/// The audit events a person's activity lists: sign-ins and their second steps, security
/// changes, consents, verifications.
const ACTIVITY_EVENTS: &str = "'signin.success', 'signin.failure', 'signin.locked', 'signup',
    'mfa.success', 'mfa.failure', 'mfa.locked', 'mfa.recovery_code_used', 'mfa.enrolled',
    'mfa.removed', 'mfa.recovery_codes', 'password.changed', 'passkey.added', 'passkey.removed',
    'passkey.refused', 'admin.second_factors.removed', 'password.reset_requested',
    'password.reset', 'email.confirmed',
    'consent.granted', 'consent.revoked',
    'logout', 'verification.started', 'verification.submitted', 'verification.approved',
    'verification.rejected', 'verification.expired', 'verification.revoked',
    'verification.withdrawn', 'verification.evidence_viewed', 'verification.evidence_purged'";

impl Store {
    /// A person's activity, newest first: their audit events of [`ACTIVITY_EVENTS`] and their
    /// releases, `limit` of them after skipping `offset`.
    pub async fn find_activity(
        &self,
        uuid: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Activity>> {
        if !storable(uuid) {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT at, event, client_id, address, detail, id, 1 AS kind FROM audit_events
               WHERE uuid = $1 AND event IN ({ACTIVITY_EVENTS})
             UNION ALL
             SELECT at, 'release' AS event, client_id, NULL AS address, handles AS detail, id,
                    0 AS kind
               FROM releases WHERE uuid = $1
             ORDER BY at DESC, kind DESC, id DESC LIMIT $2 OFFSET $3"
        );
        self.fetch_all(query(sql).bind(uuid).bind(limit).bind(offset))
            .await
    }

    /// A person's live sessions, newest first.
    pub async fn find_user_sessions(&self, uuid: &str, now: i64) -> Result<Vec<Session>> {
        if !storable(uuid) {
            return Ok(Vec::new());
        }
        let q = query(
            "SELECT * FROM sessions WHERE uuid = $1 AND expires_at > $2 ORDER BY created_at DESC",
        );
        self.fetch_all(q.bind(uuid).bind(now)).await
    }

    /// Stores an authorization code and the release it carries in one transaction.
    pub async fn insert_code_with_release(&self, code: &Code, release: &Release) -> Result<()> {
        self.write(Begin::Write, vec![insert(code), insert(release)])
            .await?;
        Ok(())
    }

    /// A person's releases, newest first: `limit` of them, older than the release at `before`
    /// (a time) when given.
    pub async fn find_releases(
        &self,
        uuid: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Release>> {
        if !storable(uuid) {
            return Ok(Vec::new());
        }
        let q = query(
            "SELECT * FROM releases
             WHERE uuid = $1 AND (CAST($2 AS BIGINT) IS NULL OR at < $2)
             ORDER BY id DESC LIMIT $3",
        );
        self.fetch_all(q.bind(uuid).bind(before).bind(limit)).await
    }

    /// A person's releases to one app, newest first.
    pub async fn find_app_releases(&self, uuid: &str, client_id: &str) -> Result<Vec<Release>> {
        if !storable(uuid) || !storable(client_id) {
            return Ok(Vec::new());
        }
        let q = query("SELECT * FROM releases WHERE uuid = $1 AND client_id = $2 ORDER BY id DESC");
        self.fetch_all(q.bind(uuid).bind(client_id)).await
    }

    /// The apps a person signed in to (that still exist), the most recently used first: each
    /// with its first sign-in and its last release.
    pub async fn find_app_uses(&self, uuid: &str) -> Result<Vec<AppUse>> {
        let q = query(
            "SELECT r.*, a.name,
               (SELECT MIN(f.at) FROM releases f
                WHERE f.uuid = r.uuid AND f.client_id = r.client_id) AS first_at
             FROM releases r JOIN apps a ON a.client_id = r.client_id
             WHERE r.uuid = $1
               AND r.id IN (SELECT MAX(id) FROM releases WHERE uuid = $1 GROUP BY client_id)
             ORDER BY r.id DESC",
        );
        self.fetch_all_by(q, uuid).await
    }

    /// Withdraws what a person allowed an app: forgets the consents and revokes every token
    /// the app holds for the person (refresh tokens too), in one transaction. How many consents
    /// and how many tokens.
    pub async fn revoke_app(&self, uuid: &str, client_id: &str, now: i64) -> Result<(u64, u64)> {
        if !storable(uuid) || !storable(client_id) {
            return Ok((0, 0));
        }
        let consents = query("DELETE FROM consents WHERE uuid = $1 AND client_id = $2");
        let tokens = query(
            "UPDATE tokens SET revoked_at = $1
             WHERE uuid = $2 AND client_id = $3 AND revoked_at IS NULL",
        );
        let written = self
            .write(
                Begin::Write,
                vec![
                    consents.bind(uuid).bind(client_id),
                    tokens.bind(now).bind(uuid).bind(client_id),
                ],
            )
            .await?;
        Ok((
            written.first().copied().unwrap_or(0),
            written.get(1).copied().unwrap_or(0),
        ))
    }
}
