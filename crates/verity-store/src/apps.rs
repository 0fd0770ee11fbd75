//! Organizations, apps and app secrets.

use verity_core::identity::Family;
use verity_core::keys::Alg;
use verity_core::values::ClientId;

use crate::Store;
use crate::error::{Result, conflict_or};
use crate::lite::Begin;
use crate::sql::{Query, insert, query, storable, stored, update};

/// A registered relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub client_id: ClientId,
    pub org_id: String,
    pub name: String,
    pub logo_url: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub policies: Vec<String>,
    /// The userinfo wire format and the built-in policies' claim names (`idme` or `oidc`).
    pub profile: Family,
    pub public: bool,
    pub refresh_tokens: bool,
    pub id_token_alg: Alg,
    pub userinfo_signed_response_alg: Option<Alg>,
    pub code_ttl: i64,
    pub access_ttl: i64,
    pub refresh_ttl: i64,
    pub userinfo_ttl: i64,
    pub jwks: Option<String>,
    pub jwks_uri: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Web origins, besides those of the redirect URIs, allowed CORS on the token, userinfo and
    /// revocation endpoints (serialized, as `verity_core::origin` checks them).
    pub allowed_origins: Vec<String>,
    /// RFC 9126: authorization requests only through PAR.
    pub require_pushed_authorization_requests: bool,
    /// RFC 9101: authorization requests only as request objects signed with the app's keys.
    pub require_signed_request_object: bool,
    /// RFC 9449: access tokens (and a public app's refresh tokens) only DPoP-bound.
    pub dpop_bound_access_tokens: bool,
    /// SPEC 13: every sign-in for the app must be phishing resistant (a passkey).
    pub require_phishing_resistant: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl App {
    /// An app with SPEC section 4's default lifetimes.
    pub fn new(client_id: &str, org_id: &str, name: &str, now: i64) -> Self {
        App {
            client_id: ClientId::new(client_id),
            org_id: org_id.to_owned(),
            name: name.to_owned(),
            logo_url: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            policies: vec![],
            profile: Family::Idme,
            public: false,
            refresh_tokens: true,
            id_token_alg: Alg::RS256,
            userinfo_signed_response_alg: None,
            code_ttl: 300,
            access_ttl: 300,
            refresh_ttl: 604_800,
            userinfo_ttl: 18_000,
            jwks: None,
            jwks_uri: None,
            backchannel_logout_uri: None,
            allowed_origins: vec![],
            require_pushed_authorization_requests: false,
            require_signed_request_object: false,
            dpop_bound_access_tokens: false,
            require_phishing_resistant: false,
            created_at: now,
            updated_at: now,
        }
    }
}

stored!(App => "apps" {
    client_id [text], org_id, name, logo_url,
    redirect_uris [json], post_logout_redirect_uris [json], policies [json],
    profile [text], public, refresh_tokens, id_token_alg [text],
    userinfo_signed_response_alg [text],
    code_ttl, access_ttl, refresh_ttl, userinfo_ttl,
    jwks, jwks_uri, backchannel_logout_uri, allowed_origins [json],
    require_pushed_authorization_requests, require_signed_request_object, dpop_bound_access_tokens,
    require_phishing_resistant, created_at, updated_at,
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

stored!(Organization {
    id,
    name,
    created_at
});

impl Store {
    pub async fn insert_organization(&self, org: &Organization) -> Result<()> {
        self.write(Begin::Deferred, vec![insert_organization(org)])
            .await
            .map_err(conflict_or)?;
        Ok(())
    }

    pub async fn find_organization(&self, id: &str) -> Result<Option<Organization>> {
        let q = query("SELECT id, name, created_at FROM organizations WHERE id = $1");
        self.fetch_opt_by(q, id).await
    }

    pub async fn insert_app(&self, app: &App) -> Result<()> {
        self.exec(insert(app)).await.map_err(conflict_or)?;
        Ok(())
    }

    pub async fn find_app(&self, client_id: &str) -> Result<Option<App>> {
        if !storable(client_id) {
            return Ok(None);
        }
        if let Some(app) = self.apps().app(client_id) {
            return Ok(Some(app));
        }
        let found = query("SELECT * FROM apps WHERE client_id = $1").bind(client_id);
        let app: Option<App> = self.fetch_opt(found).await?;
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
        let q = query(
            "INSERT INTO app_secrets (id, client_id, secret_hash, created_at)
             VALUES ($1, $2, $3, $4)",
        );
        self.exec(q.bind(id).bind(client_id).bind(secret_hash).bind(now))
            .await
            .map_err(conflict_or)?;
        self.apps().forget(client_id);
        Ok(())
    }

    /// Every valid secret of an app: its id, digest and last use.
    pub async fn find_app_secret_digests(&self, client_id: &str) -> Result<Vec<SecretDigest>> {
        if !storable(client_id) {
            return Ok(Vec::new());
        }
        if let Some(digests) = self.apps().secrets(client_id) {
            return Ok(digests);
        }
        let q = query(
            "SELECT id, secret_hash, last_used_at FROM app_secrets WHERE client_id = $1
             ORDER BY created_at, id",
        );
        let digests: Vec<SecretDigest> = self.fetch_all(q.bind(client_id)).await?;
        self.apps().keep_secrets(client_id, &digests);
        Ok(digests)
    }

    /// Records that secret `id` of `client_id` authenticated at `now`, unless that was recorded
    /// less than `every` seconds ago (one write an hour, not one per request).
    pub async fn touch_app_secret(
        &self,
        client_id: &str,
        id: &str,
        now: i64,
        every: i64,
    ) -> Result<()> {
        let q = query(
            "UPDATE app_secrets SET last_used_at = $1
             WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)",
        );
        if self.exec(q.bind(now).bind(id).bind(now - every)).await? == 1 {
            self.apps().forget(client_id);
        }
        Ok(())
    }

    /// Replaces an app's settings (not its secrets).
    pub async fn update_app(&self, app: &App) -> Result<()> {
        self.exec(update(app, "client_id", &["org_id", "created_at"]))
            .await?;
        self.apps().forget(&app.client_id);
        Ok(())
    }
}

/// A client secret as authentication reads it (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDigest {
    pub id: String,
    /// SHA-256 of the secret.
    pub secret_hash: String,
    pub last_used_at: Option<i64>,
}

stored!(SecretDigest {
    id,
    secret_hash,
    last_used_at
});

/// The one INSERT of an organization.
pub(crate) fn insert_organization(org: &Organization) -> Query<'_> {
    query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&org.id)
        .bind(&org.name)
        .bind(org.created_at)
}
