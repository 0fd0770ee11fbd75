//! Organizations' members and invitations, and the app management the console and the admin API
//! share.

use crate::apps::{App, Organization, insert_organization_on, organization_from_row};
use crate::dialect::Backend;
use crate::error::{Result, conflict_or};
use crate::sql::{Fields, query, storable};
use crate::{Store, dispatch};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub org_id: String,
    pub org_name: String,
    pub uuid: String,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub role: String,
    pub token_hash: String,
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
}

/// A secret's id and age (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    pub id: String,
    pub created_at: i64,
}

fn membership(r: &impl Fields) -> Result<Membership> {
    Ok(Membership {
        org_id: r.col("org_id")?,
        org_name: r.col("org_name")?,
        uuid: r.col("uuid")?,
        email: r.col("email")?,
        role: r.col("role")?,
    })
}

fn invitation(r: &impl Fields) -> Result<Invitation> {
    Ok(Invitation {
        id: r.col("id")?,
        org_id: r.col("org_id")?,
        email: r.col("email")?,
        role: r.col("role")?,
        token_hash: r.col("token_hash")?,
        invited_by: r.col("invited_by")?,
        created_at: r.col("created_at")?,
        expires_at: r.col("expires_at")?,
        accepted_at: r.col("accepted_at")?,
    })
}

const MEMBERSHIP_SELECT: &str = "SELECT m.org_id, o.name AS org_name, m.uuid, u.email, m.role
     FROM memberships m JOIN organizations o ON o.id = m.org_id JOIN users u ON u.uuid = m.uuid";

impl Store {
    /// Creates an organization with its first owner in one transaction.
    pub async fn insert_organization_with_owner(
        &self,
        org: &Organization,
        owner_uuid: &str,
    ) -> Result<()> {
        dispatch!(self, pool, {
            let mut tx = pool.begin_write().await?;
            insert_organization_on(&mut tx, org).await?;
            query(
            "INSERT INTO memberships (org_id, uuid, role, created_at) VALUES ($1, $2, 'owner', $3)",
        )
        .bind(&org.id)
        .bind(owner_uuid)
        .bind(org.created_at)
        .execute(&mut tx)
        .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn find_organization_by_name(&self, name: &str) -> Result<Option<Organization>> {
        if !storable(name) {
            return Ok(None);
        }
        dispatch!(self, pool, {
            let row = query("SELECT id, name, created_at FROM organizations WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(organization_from_row).transpose()
        })
    }

    /// Adds or changes a member's role.
    pub async fn upsert_membership(
        &self,
        org_id: &str,
        uuid: &str,
        role: &str,
        now: i64,
    ) -> Result<()> {
        dispatch!(self, pool, {
            query(
                "INSERT INTO memberships (org_id, uuid, role, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (org_id, uuid) DO UPDATE SET role = excluded.role",
            )
            .bind(org_id)
            .bind(uuid)
            .bind(role)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    pub async fn delete_membership(&self, org_id: &str, uuid: &str) -> Result<bool> {
        dispatch!(self, pool, {
            let done = query("DELETE FROM memberships WHERE org_id = $1 AND uuid = $2")
                .bind(org_id)
                .bind(uuid)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    pub async fn find_membership(&self, org_id: &str, uuid: &str) -> Result<Option<Membership>> {
        if !storable(org_id) || !storable(uuid) {
            return Ok(None);
        }
        dispatch!(self, pool, {
            let row = query(format!(
                "{MEMBERSHIP_SELECT} WHERE m.org_id = $1 AND m.uuid = $2"
            ))
            .bind(org_id)
            .bind(uuid)
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(membership).transpose()
        })
    }

    /// The organizations a user belongs to.
    pub async fn find_user_memberships(&self, uuid: &str) -> Result<Vec<Membership>> {
        if !storable(uuid) {
            return Ok(Vec::new());
        }
        dispatch!(self, pool, {
            let rows = query(format!(
                "{MEMBERSHIP_SELECT} WHERE m.uuid = $1 ORDER BY o.name"
            ))
            .bind(uuid)
            .fetch_all(pool)
            .await?;
            rows.iter().map(membership).collect()
        })
    }

    pub async fn find_org_members(&self, org_id: &str) -> Result<Vec<Membership>> {
        if !storable(org_id) {
            return Ok(Vec::new());
        }
        dispatch!(self, pool, {
            let rows = query(format!(
                "{MEMBERSHIP_SELECT} WHERE m.org_id = $1 ORDER BY u.email"
            ))
            .bind(org_id)
            .fetch_all(pool)
            .await?;
            rows.iter().map(membership).collect()
        })
    }

    pub async fn insert_invitation(&self, i: &Invitation) -> Result<()> {
        dispatch!(self, pool, {
            query(
            "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&i.id)
        .bind(&i.org_id)
        .bind(i.email.to_lowercase())
        .bind(&i.role)
        .bind(&i.token_hash)
        .bind(&i.invited_by)
        .bind(i.created_at)
        .bind(i.expires_at)
        .execute(pool)
        .await
        .map_err(conflict_or)?;
            Ok(())
        })
    }

    pub async fn find_org_invitations(&self, org_id: &str) -> Result<Vec<Invitation>> {
        if !storable(org_id) {
            return Ok(Vec::new());
        }
        dispatch!(self, pool, {
            let rows = query("SELECT * FROM invitations WHERE org_id = $1 AND accepted_at IS NULL ORDER BY created_at")
            .bind(org_id)
            .fetch_all(pool)
            .await?;
            rows.iter().map(invitation).collect()
        })
    }

    /// Accepts an invitation for the account with its email: single use, and only until it expires.
    pub async fn take_invitation(
        &self,
        token_hash: &str,
        uuid: &str,
        email: &str,
        now: i64,
    ) -> Result<Option<Invitation>> {
        if !storable(token_hash) || !storable(uuid) || !storable(email) {
            return Ok(None);
        }
        dispatch!(self, pool, {
            let mut tx = pool.begin_write().await?;
            let row = query(
                "UPDATE invitations SET accepted_at = $1
             WHERE token_hash = $2 AND accepted_at IS NULL AND expires_at > $3 AND email = $4
             RETURNING *",
            )
            .bind(now)
            .bind(token_hash)
            .bind(now)
            .bind(email.to_lowercase())
            .fetch_optional(&mut tx)
            .await?;
            let Some(row) = row else {
                tx.rollback().await?;
                return Ok(None);
            };
            let inv = invitation(&row)?;
            query(
                "INSERT INTO memberships (org_id, uuid, role, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (org_id, uuid) DO UPDATE SET role = excluded.role",
            )
            .bind(&inv.org_id)
            .bind(uuid)
            .bind(&inv.role)
            .bind(now)
            .execute(&mut tx)
            .await?;
            tx.commit().await?;
            Ok(Some(inv))
        })
    }

    pub async fn find_org_apps(&self, org_id: &str) -> Result<Vec<App>> {
        if !storable(org_id) {
            return Ok(Vec::new());
        }
        dispatch!(self, pool, {
            let rows = query("SELECT * FROM apps WHERE org_id = $1 ORDER BY name, client_id")
                .bind(org_id)
                .fetch_all(pool)
                .await?;
            rows.iter().map(App::from_row).collect()
        })
    }

    /// Deletes an app, its secrets and consents (cascade) and revokes its tokens.
    pub async fn delete_app(&self, client_id: &str, now: i64) -> Result<bool> {
        dispatch!(self, pool, {
            let mut tx = pool.begin_write().await?;
            query("UPDATE tokens SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(client_id)
                .execute(&mut tx)
                .await?;
            let done = query("DELETE FROM apps WHERE client_id = $1")
                .bind(client_id)
                .execute(&mut tx)
                .await?;
            tx.commit().await?;
            self.apps().forget(client_id);
            Ok(done.rows_affected() == 1)
        })
    }

    pub async fn find_app_secrets(&self, client_id: &str) -> Result<Vec<SecretInfo>> {
        if !storable(client_id) {
            return Ok(Vec::new());
        }
        dispatch!(self, pool, {
            let rows = query(
            "SELECT id, created_at FROM app_secrets WHERE client_id = $1 ORDER BY created_at, id",
        )
        .bind(client_id)
        .fetch_all(pool)
        .await?;
            rows.iter()
                .map(|r| {
                    Ok(SecretInfo {
                        id: r.col("id")?,
                        created_at: r.col("created_at")?,
                    })
                })
                .collect()
        })
    }

    pub async fn delete_app_secret(&self, client_id: &str, id: &str) -> Result<bool> {
        dispatch!(self, pool, {
            let done = query("DELETE FROM app_secrets WHERE client_id = $1 AND id = $2")
                .bind(client_id)
                .bind(id)
                .execute(pool)
                .await?;
            self.apps().forget(client_id);
            Ok(done.rows_affected() == 1)
        })
    }
}
