//! Deployment-wide roles (SPEC 12 "Review"): who may work the verification queue. Each grant
//! and withdrawal is written with its audit row, together.

use verity_core::review::Role;

use crate::Store;
use crate::audit::AuditEvent;
use crate::error::Result;
use crate::sql::{insert, query, storable, stored};

/// Who holds a role, as a token lookup reads it.
struct Holder {
    uuid: String,
    role: String,
}

stored!(Holder { uuid, role });

impl Store {
    /// Gives account `uuid` the role (again: the first grant stays); whether it was new (the
    /// audit row is written only then).
    pub async fn grant_role(
        &self,
        uuid: &str,
        role: Role,
        by: &str,
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool> {
        let grant = query(
            "INSERT INTO user_roles (uuid, role, granted_by, granted_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (uuid, role) DO NOTHING RETURNING uuid",
        );
        let grant = grant.bind(uuid).bind(role.as_str()).bind(by).bind(now);
        self.write_after(Vec::new(), grant, |found: Option<String>| {
            Ok(match found {
                Some(_) => (vec![insert(audit)], true),
                None => (Vec::new(), false),
            })
        })
        .await
    }

    /// Takes the role from account `uuid`; whether it held it (the audit row is written only
    /// then).
    pub async fn revoke_role(&self, uuid: &str, role: Role, audit: &AuditEvent) -> Result<bool> {
        let delete = query("DELETE FROM user_roles WHERE uuid = $1 AND role = $2 RETURNING uuid");
        let delete = delete.bind(uuid).bind(role.as_str());
        self.write_after(Vec::new(), delete, |found: Option<String>| {
            Ok(match found {
                Some(_) => (vec![insert(audit)], true),
                None => (Vec::new(), false),
            })
        })
        .await
    }

    /// The roles account `uuid` holds.
    pub async fn find_roles(&self, uuid: &str) -> Result<Vec<Role>> {
        let q = query("SELECT role FROM user_roles WHERE uuid = $1 ORDER BY role");
        let names: Vec<String> = self.fetch_all_by(q, uuid).await?;
        Ok(names.iter().filter_map(|n| Role::parse(n)).collect())
    }

    /// Whether account `uuid` holds `role`.
    pub async fn has_role(&self, uuid: &str, role: Role) -> Result<bool> {
        Ok(self.find_roles(uuid).await?.contains(&role))
    }

    /// Sets (or with `None` removes) the token of account `uuid`'s role; whether it holds the
    /// role.
    pub async fn set_role_token(
        &self,
        uuid: &str,
        role: Role,
        token_hash: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let q = query(
            "UPDATE user_roles SET token_hash = $1, token_created_at = $2
             WHERE uuid = $3 AND role = $4",
        );
        let q = q.bind(token_hash).bind(token_hash.map(|_| now));
        Ok(self.exec(q.bind(uuid).bind(role.as_str())).await? == 1)
    }

    /// The account and role a token was created for, if any still holds it.
    pub async fn find_role_by_token(&self, token_hash: &str) -> Result<Option<(String, Role)>> {
        let q = query("SELECT uuid, role FROM user_roles WHERE token_hash = $1");
        let found: Option<Holder> = self.fetch_opt_by(q, token_hash).await?;
        Ok(found.and_then(|h| Some((h.uuid, Role::parse(&h.role)?))))
    }

    /// When account `uuid`'s role token was created, if it has one.
    pub async fn find_role_token_created(&self, uuid: &str, role: Role) -> Result<Option<i64>> {
        if !storable(uuid) {
            return Ok(None);
        }
        let q = query(
            "SELECT token_created_at FROM user_roles
             WHERE uuid = $1 AND role = $2 AND token_hash IS NOT NULL",
        );
        self.fetch_opt(q.bind(uuid).bind(role.as_str())).await
    }
}
