//! Organizations, apps and app secrets.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{Result, Store, conflict_or, from_json, to_json};

/// A registered relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub client_id: String,
    pub org_id: String,
    pub name: String,
    pub logo_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub policies: Vec<String>,
    /// `idme` or `oidc`: the userinfo wire format and the built-in policies' claim names.
    pub profile: String,
    pub public: bool,
    pub refresh_tokens: bool,
    pub id_token_alg: String,
    pub userinfo_signed_response_alg: Option<String>,
    pub code_ttl: i64,
    pub access_ttl: i64,
    pub refresh_ttl: i64,
    pub userinfo_ttl: i64,
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl App {
    /// An app with SPEC section 4's default lifetimes.
    pub fn new(client_id: &str, org_id: &str, name: &str, now: i64) -> Self {
        App {
            client_id: client_id.to_owned(),
            org_id: org_id.to_owned(),
            name: name.to_owned(),
            logo_url: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            policies: vec![],
            profile: "idme".into(),
            public: false,
            refresh_tokens: true,
            id_token_alg: "RS256".into(),
            userinfo_signed_response_alg: None,
            code_ttl: 300,
            access_ttl: 300,
            refresh_ttl: 604_800,
            userinfo_ttl: 18_000,
            jwks: None,
            jwks_uri: None,
            backchannel_logout_uri: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub(crate) fn from_row(row: &SqliteRow) -> Result<Self> {
        Ok(App {
            client_id: row.try_get("client_id")?,
            org_id: row.try_get("org_id")?,
            name: row.try_get("name")?,
            logo_url: row.try_get("logo_url")?,
            redirect_uris: from_json(row.try_get("redirect_uris")?)?,
            post_logout_redirect_uris: from_json(row.try_get("post_logout_redirect_uris")?)?,
            policies: from_json(row.try_get("policies")?)?,
            profile: row.try_get("profile")?,
            public: row.try_get("public")?,
            refresh_tokens: row.try_get("refresh_tokens")?,
            id_token_alg: row.try_get("id_token_alg")?,
            userinfo_signed_response_alg: row.try_get("userinfo_signed_response_alg")?,
            code_ttl: row.try_get("code_ttl")?,
            access_ttl: row.try_get("access_ttl")?,
            refresh_ttl: row.try_get("refresh_ttl")?,
            userinfo_ttl: row.try_get("userinfo_ttl")?,
            jwks: row.try_get("jwks")?,
            jwks_uri: row.try_get("jwks_uri")?,
            backchannel_logout_uri: row.try_get("backchannel_logout_uri")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

impl Store {
    pub async fn insert_organization(&self, org: &Organization) -> Result<()> {
        let Store::Sqlite(pool) = self;
        let mut tx = pool.begin().await?;
        insert_organization_in(&mut tx, org).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn find_organization(&self, id: &str) -> Result<Option<Organization>> {
        let Store::Sqlite(pool) = self;
        let row = sqlx::query("SELECT id, name, created_at FROM organizations WHERE id = ?")
            .bind(id)
            .fetch_optional(pool)
            .await?;
        row.map(|r| {
            Ok(Organization {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    pub async fn insert_app(&self, app: &App) -> Result<()> {
        let Store::Sqlite(pool) = self;
        sqlx::query(
            "INSERT INTO apps (client_id, org_id, name, logo_url, redirect_uris, post_logout_redirect_uris,
                policies, profile, public, refresh_tokens, id_token_alg, userinfo_signed_response_alg,
                code_ttl, access_ttl, refresh_ttl, userinfo_ttl, jwks, jwks_uri, backchannel_logout_uri,
                created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&app.client_id)
        .bind(&app.org_id)
        .bind(&app.name)
        .bind(&app.logo_url)
        .bind(to_json(&app.redirect_uris))
        .bind(to_json(&app.post_logout_redirect_uris))
        .bind(to_json(&app.policies))
        .bind(&app.profile)
        .bind(app.public)
        .bind(app.refresh_tokens)
        .bind(&app.id_token_alg)
        .bind(&app.userinfo_signed_response_alg)
        .bind(app.code_ttl)
        .bind(app.access_ttl)
        .bind(app.refresh_ttl)
        .bind(app.userinfo_ttl)
        .bind(&app.jwks)
        .bind(&app.jwks_uri)
        .bind(&app.backchannel_logout_uri)
        .bind(app.created_at)
        .bind(app.updated_at)
        .execute(pool)
        .await
        .map_err(conflict_or)?;
        Ok(())
    }

    pub async fn find_app(&self, client_id: &str) -> Result<Option<App>> {
        let Store::Sqlite(pool) = self;
        let row = sqlx::query("SELECT * FROM apps WHERE client_id = ?")
            .bind(client_id)
            .fetch_optional(pool)
            .await?;
        row.as_ref().map(App::from_row).transpose()
    }

    /// Adds a secret (its SHA-256 digest) to an app.
    pub async fn insert_app_secret(
        &self,
        id: &str,
        client_id: &str,
        secret_hash: &str,
        now: i64,
    ) -> Result<()> {
        let Store::Sqlite(pool) = self;
        sqlx::query(
            "INSERT INTO app_secrets (id, client_id, secret_hash, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(id)
        .bind(client_id)
        .bind(secret_hash)
        .bind(now)
        .execute(pool)
        .await
        .map_err(conflict_or)?;
        Ok(())
    }

    /// The digests of every valid secret of an app.
    pub async fn find_app_secret_hashes(&self, client_id: &str) -> Result<Vec<String>> {
        let Store::Sqlite(pool) = self;
        let rows = sqlx::query(
            "SELECT secret_hash FROM app_secrets WHERE client_id = ? ORDER BY created_at",
        )
        .bind(client_id)
        .fetch_all(pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("secret_hash")?)).collect()
    }
}

impl Store {
    /// Replaces an app's settings (not its secrets).
    pub async fn update_app(&self, app: &App) -> Result<()> {
        let Store::Sqlite(pool) = self;
        sqlx::query(
            "UPDATE apps SET name = ?, logo_url = ?, redirect_uris = ?, post_logout_redirect_uris = ?, policies = ?,
                profile = ?, public = ?, refresh_tokens = ?, id_token_alg = ?, userinfo_signed_response_alg = ?,
                code_ttl = ?, access_ttl = ?, refresh_ttl = ?, userinfo_ttl = ?, jwks = ?, jwks_uri = ?,
                backchannel_logout_uri = ?, updated_at = ?
             WHERE client_id = ?",
        )
        .bind(&app.name)
        .bind(&app.logo_url)
        .bind(to_json(&app.redirect_uris))
        .bind(to_json(&app.post_logout_redirect_uris))
        .bind(to_json(&app.policies))
        .bind(&app.profile)
        .bind(app.public)
        .bind(app.refresh_tokens)
        .bind(&app.id_token_alg)
        .bind(&app.userinfo_signed_response_alg)
        .bind(app.code_ttl)
        .bind(app.access_ttl)
        .bind(app.refresh_ttl)
        .bind(app.userinfo_ttl)
        .bind(&app.jwks)
        .bind(&app.jwks_uri)
        .bind(&app.backchannel_logout_uri)
        .bind(app.updated_at)
        .bind(&app.client_id)
        .execute(pool)
        .await?;
        Ok(())
    }
}

/// The one INSERT of an organization, inside a caller's transaction.
pub(crate) async fn insert_organization_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    org: &Organization,
) -> Result<()> {
    sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)")
        .bind(&org.id)
        .bind(&org.name)
        .bind(org.created_at)
        .execute(&mut **tx)
        .await
        .map_err(conflict_or)?;
    Ok(())
}
