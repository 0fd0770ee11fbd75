//! Organizations' members and invitations, and the app management the console and the admin API
//! share.

use crate::Store;
use crate::apps::{App, Organization, insert_organization};
use crate::error::{Result, conflict_or};
use crate::lite::Begin;
use crate::sql::{Query, insert, query, storable, stored};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub org_id: String,
    pub org_name: String,
    pub uuid: String,
    pub email: String,
    pub role: String,
}

stored!(Membership {
    org_id,
    org_name,
    uuid,
    email,
    role
});

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
    /// When it last authenticated its app, to the hour.
    pub last_used_at: Option<i64>,
}

stored!(SecretInfo {
    id,
    created_at,
    last_used_at
});

stored!(Invitation => "invitations" {
    id, org_id, email [lower], role, token_hash, invited_by, created_at, expires_at, accepted_at,
});

/// Adds a member, or changes the role of one.
const UPSERT_MEMBERSHIP: &str =
    "INSERT INTO memberships (org_id, uuid, role, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (org_id, uuid) DO UPDATE SET role = excluded.role";

/// A membership with its organization's name and the member's email: [`MEMBERSHIPS_WHERE`]
/// and a condition on `m` (a membership), `o` (its organization) or `u` (the member).
fn memberships_where(condition: &str) -> Query<'static> {
    query(MEMBERSHIPS_WHERE).push(condition)
}

const MEMBERSHIPS_WHERE: &str = "SELECT m.org_id, o.name AS org_name, m.uuid, u.email, m.role
     FROM memberships m JOIN organizations o ON o.id = m.org_id JOIN users u ON u.uuid = m.uuid
     WHERE ";

impl Store {
    /// Creates an organization with its first owner in one transaction.
    pub async fn insert_organization_with_owner(
        &self,
        org: &Organization,
        owner_uuid: &str,
    ) -> Result<()> {
        let owner = query(
            "INSERT INTO memberships (org_id, uuid, role, created_at) VALUES ($1, $2, 'owner', $3)",
        );
        let owner = owner.bind(&org.id).bind(owner_uuid).bind(org.created_at);
        // A conflict can only be the organization's: its membership is as new as it is.
        self.write(Begin::Write, vec![insert_organization(org), owner])
            .await
            .map_err(conflict_or)?;
        Ok(())
    }

    pub async fn find_organization_by_name(&self, name: &str) -> Result<Option<Organization>> {
        let q = query("SELECT id, name, created_at FROM organizations WHERE name = $1");
        self.fetch_opt_by(q, name).await
    }

    /// Adds or changes a member's role.
    pub async fn upsert_membership(
        &self,
        org_id: &str,
        uuid: &str,
        role: &str,
        now: i64,
    ) -> Result<()> {
        let q = query(UPSERT_MEMBERSHIP).bind(org_id).bind(uuid).bind(role);
        self.exec(q.bind(now)).await?;
        Ok(())
    }

    pub async fn delete_membership(&self, org_id: &str, uuid: &str) -> Result<bool> {
        let q = query("DELETE FROM memberships WHERE org_id = $1 AND uuid = $2");
        Ok(self.exec(q.bind(org_id).bind(uuid)).await? == 1)
    }

    pub async fn find_membership(&self, org_id: &str, uuid: &str) -> Result<Option<Membership>> {
        if !storable(org_id) || !storable(uuid) {
            return Ok(None);
        }
        let q = memberships_where("m.org_id = $1 AND m.uuid = $2");
        self.fetch_opt(q.bind(org_id).bind(uuid)).await
    }

    /// The organizations a user belongs to.
    pub async fn find_user_memberships(&self, uuid: &str) -> Result<Vec<Membership>> {
        let q = memberships_where("m.uuid = $1 ORDER BY o.name");
        self.fetch_all_by(q, uuid).await
    }

    pub async fn find_org_members(&self, org_id: &str) -> Result<Vec<Membership>> {
        let q = memberships_where("m.org_id = $1 ORDER BY u.email");
        self.fetch_all_by(q, org_id).await
    }

    pub async fn insert_invitation(&self, i: &Invitation) -> Result<()> {
        self.exec(insert(i)).await.map_err(conflict_or)?;
        Ok(())
    }

    pub async fn find_org_invitations(&self, org_id: &str) -> Result<Vec<Invitation>> {
        let q = query(
            "SELECT * FROM invitations WHERE org_id = $1 AND accepted_at IS NULL
             ORDER BY created_at",
        );
        self.fetch_all_by(q, org_id).await
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
        let accept = query(
            "UPDATE invitations SET accepted_at = $1
             WHERE token_hash = $2 AND accepted_at IS NULL AND expires_at > $3 AND email = $4
             RETURNING *",
        );
        let accept = accept.bind(now).bind(token_hash).bind(now);
        let accept = accept.bind(email.to_lowercase());
        self.write_after(vec![], accept, |found: Option<Invitation>| {
            let Some(inv) = found else {
                return Ok((vec![], None));
            };
            let member = query(UPSERT_MEMBERSHIP).bind(inv.org_id.clone()).bind(uuid);
            let member = member.bind(inv.role.clone()).bind(now);
            Ok((vec![member], Some(inv)))
        })
        .await
    }

    pub async fn find_org_apps(&self, org_id: &str) -> Result<Vec<App>> {
        let q = query("SELECT * FROM apps WHERE org_id = $1 ORDER BY name, client_id");
        self.fetch_all_by(q, org_id).await
    }

    /// Deletes an app, its secrets and consents (cascade) and revokes its tokens.
    pub async fn delete_app(&self, client_id: &str, now: i64) -> Result<bool> {
        let revoke =
            query("UPDATE tokens SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL");
        let delete = query("DELETE FROM apps WHERE client_id = $1").bind(client_id);
        let written = self
            .write(Begin::Write, vec![revoke.bind(now).bind(client_id), delete])
            .await?;
        self.apps().forget(client_id);
        Ok(written.get(1) == Some(&1))
    }

    pub async fn find_app_secrets(&self, client_id: &str) -> Result<Vec<SecretInfo>> {
        let q = query(
            "SELECT id, created_at, last_used_at FROM app_secrets WHERE client_id = $1
             ORDER BY created_at, id",
        );
        self.fetch_all_by(q, client_id).await
    }

    pub async fn delete_app_secret(&self, client_id: &str, id: &str) -> Result<bool> {
        let q = query("DELETE FROM app_secrets WHERE client_id = $1 AND id = $2");
        let deleted = self.exec(q.bind(client_id).bind(id)).await?;
        self.apps().forget(client_id);
        Ok(deleted == 1)
    }
}
