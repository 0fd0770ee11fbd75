//! Organizations, apps and app secrets.

use crate::dialect::Backend;
use crate::error::{Result, conflict_or};
use crate::sql::{Exec, Fields, from_json, query, storable, to_json};
use crate::{Store, dispatch};

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

    pub(crate) fn from_row(row: &impl Fields) -> Result<Self> {
        Ok(App {
            client_id: row.col("client_id")?,
            org_id: row.col("org_id")?,
            name: row.col("name")?,
            logo_url: row.col("logo_url")?,
            redirect_uris: from_json(&row.col::<String>("redirect_uris")?)?,
            post_logout_redirect_uris: from_json(&row.col::<String>("post_logout_redirect_uris")?)?,
            policies: from_json(&row.col::<String>("policies")?)?,
            profile: row.col("profile")?,
            public: row.col("public")?,
            refresh_tokens: row.col("refresh_tokens")?,
            id_token_alg: row.col("id_token_alg")?,
            userinfo_signed_response_alg: row.col("userinfo_signed_response_alg")?,
            code_ttl: row.col("code_ttl")?,
            access_ttl: row.col("access_ttl")?,
            refresh_ttl: row.col("refresh_ttl")?,
            userinfo_ttl: row.col("userinfo_ttl")?,
            jwks: row.col("jwks")?,
            jwks_uri: row.col("jwks_uri")?,
            backchannel_logout_uri: row.col("backchannel_logout_uri")?,
            created_at: row.col("created_at")?,
            updated_at: row.col("updated_at")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

pub(crate) fn organization_from_row(r: &impl Fields) -> Result<Organization> {
    Ok(Organization {
        id: r.col("id")?,
        name: r.col("name")?,
        created_at: r.col("created_at")?,
    })
}

impl Store {
    pub async fn insert_organization(&self, org: &Organization) -> Result<()> {
        dispatch!(self, pool, {
            let mut tx = pool.begin_deferred().await?;
            insert_organization_on(&mut tx, org).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn find_organization(&self, id: &str) -> Result<Option<Organization>> {
        if !storable(id) {
            return Ok(None);
        }
        dispatch!(self, pool, {
            let row = query("SELECT id, name, created_at FROM organizations WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(organization_from_row).transpose()
        })
    }

    pub async fn insert_app(&self, app: &App) -> Result<()> {
        dispatch!(self, pool, {
            query(
            "INSERT INTO apps (client_id, org_id, name, logo_url, redirect_uris, post_logout_redirect_uris,
                policies, profile, public, refresh_tokens, id_token_alg, userinfo_signed_response_alg,
                code_ttl, access_ttl, refresh_ttl, userinfo_ttl, jwks, jwks_uri, backchannel_logout_uri,
                created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
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
        })
    }

    pub async fn find_app(&self, client_id: &str) -> Result<Option<App>> {
        if !storable(client_id) {
            return Ok(None);
        }
        if let Some(app) = self.apps().app(client_id) {
            return Ok(Some(app));
        }
        let app = dispatch!(self, pool, {
            let row = query("SELECT * FROM apps WHERE client_id = $1")
                .bind(client_id)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(App::from_row).transpose()?
        });
        if let Some(app) = &app {
            self.apps().keep_app(app);
        }
        Ok(app)
    }

    /// Adds a secret (its SHA-256 digest) to an app.
    pub async fn insert_app_secret(
        &self,
        id: &str,
        client_id: &str,
        secret_hash: &str,
        now: i64,
    ) -> Result<()> {
        dispatch!(self, pool, {
            query(
            "INSERT INTO app_secrets (id, client_id, secret_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(client_id)
        .bind(secret_hash)
        .bind(now)
        .execute(pool)
        .await
        .map_err(conflict_or)?;
            self.apps().forget(client_id);
            Ok(())
        })
    }

    /// The digests of every valid secret of an app.
    pub async fn find_app_secret_hashes(&self, client_id: &str) -> Result<Vec<String>> {
        if !storable(client_id) {
            return Ok(Vec::new());
        }
        if let Some(hashes) = self.apps().secrets(client_id) {
            return Ok(hashes);
        }
        let hashes: Vec<String> = dispatch!(self, pool, {
            let rows = query(
                "SELECT secret_hash FROM app_secrets WHERE client_id = $1 ORDER BY created_at",
            )
            .bind(client_id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| r.col("secret_hash"))
                .collect::<Result<_>>()?
        });
        self.apps().keep_secrets(client_id, &hashes);
        Ok(hashes)
    }
}

impl Store {
    /// Replaces an app's settings (not its secrets).
    pub async fn update_app(&self, app: &App) -> Result<()> {
        dispatch!(self, pool, {
            query(
            "UPDATE apps SET name = $1, logo_url = $2, redirect_uris = $3, post_logout_redirect_uris = $4, policies = $5,
                profile = $6, public = $7, refresh_tokens = $8, id_token_alg = $9, userinfo_signed_response_alg = $10,
                code_ttl = $11, access_ttl = $12, refresh_ttl = $13, userinfo_ttl = $14, jwks = $15, jwks_uri = $16,
                backchannel_logout_uri = $17, updated_at = $18
             WHERE client_id = $19",
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
            self.apps().forget(&app.client_id);
            Ok(())
        })
    }
}

/// The one INSERT of an organization, on a pool or inside a caller's transaction.
pub(crate) async fn insert_organization_on<E: Exec>(on: E, org: &Organization) -> Result<()> {
    query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&org.id)
        .bind(&org.name)
        .bind(org.created_at)
        .execute(on)
        .await
        .map_err(conflict_or)?;
    Ok(())
}
