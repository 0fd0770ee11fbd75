//! `verity rp` settings (SPEC section 10): flags, then environment variables, then defaults.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde::Deserialize;
use verity_client::{ClientAuth, Secret};

/// How the reference app reaches its provider. Every flag also reads its environment variable;
/// `--config FILE` reads the same names (with underscores) from a TOML file, under flags and
/// environment.
#[derive(Debug, Clone, Args, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpArgs {
    /// A TOML file of settings (same names as the flags, with underscores).
    #[arg(long, env = "VERITY_RP_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// The provider's issuer: Verity's (`http://127.0.0.1:8080/oidc`) or ID.me's sandbox
    /// (`https://api.idmelabs.com/oidc`).
    #[arg(long, env = "VERITY_RP_ISSUER")]
    pub issuer: Option<String>,
    /// The app's client_id at the provider.
    #[arg(long, env = "VERITY_RP_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The app's client_secret; without one the app is a public client (PKCE only).
    #[arg(long, env = "VERITY_RP_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// `basic` (client_secret_basic, the default) or `post` (client_secret_post).
    #[arg(long, env = "VERITY_RP_CLIENT_AUTH")]
    pub client_auth: Option<String>,
    /// Registered redirect URI [default: http://127.0.0.1:8090/callback].
    #[arg(long, env = "VERITY_RP_REDIRECT_URI")]
    pub redirect_uri: Option<String>,
    /// Where the provider sends the browser back after signing out (OIDC RP-Initiated Logout); it
    /// must be registered with the app at the provider [default: the home page of the redirect
    /// URI, e.g. http://127.0.0.1:8090/].
    #[arg(long, env = "VERITY_RP_POST_LOGOUT_REDIRECT_URI")]
    pub post_logout_redirect_uri: Option<String>,
    /// The provider's name as people know it ("ID.me"), on the app's pages [default: the
    /// issuer's host].
    #[arg(long, env = "VERITY_RP_PROVIDER_NAME")]
    pub provider_name: Option<String>,
    /// Space-separated scopes (policy handles) [default: openid profile email].
    #[arg(long, env = "VERITY_RP_SCOPES")]
    pub scopes: Option<String>,
    /// Listen address [default: 127.0.0.1:8090].
    #[arg(long, env = "VERITY_LISTEN")]
    pub listen: Option<String>,
    /// Database: sqlite://FILE or postgres://... [default: sqlite://DATA_DIR/verity-rp.db].
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Data directory [default: ./verity-data].
    #[arg(long, env = "VERITY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Ask how the person was verified (OpenID Connect for Identity Assurance): the identity's
    /// document and the groups' evidence, shown on the profile page. `--verified-claims` alone
    /// means true [default: false].
    #[arg(
        long,
        env = "VERITY_RP_VERIFIED_CLAIMS",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub verified_claims: Option<bool>,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct RpSettings {
    pub issuer: String,
    pub client_id: String,
    pub auth: ClientAuth,
    pub redirect_uri: String,
    /// Where the provider sends the browser after signing out: the app's home page.
    pub post_logout_redirect_uri: String,
    /// How the pages name the provider.
    pub provider_name: String,
    pub scopes: Vec<String>,
    pub listen: String,
    pub database_url: String,
    /// Whether sign-ins ask for `verified_claims` (`VERITY_RP_VERIFIED_CLAIMS`).
    pub verified_claims: bool,
}

/// The redirect URI when none is configured (SPEC 10).
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:8090/callback";
/// The listen address when none is configured: the redirect URI's.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8090";

impl RpSettings {
    /// Flags and environment (`args`) over the `--config` file over defaults; the issuer and
    /// client_id are required.
    pub fn resolve(args: RpArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str::<RpArgs>(&text)
                    .with_context(|| format!("parsing {}", path.display()))?
            }
            None => RpArgs::default(),
        };
        let args = RpArgs {
            config: None,
            issuer: args.issuer.or(file.issuer),
            client_id: args.client_id.or(file.client_id),
            client_secret: args.client_secret.or(file.client_secret),
            client_auth: args.client_auth.or(file.client_auth),
            redirect_uri: args.redirect_uri.or(file.redirect_uri),
            post_logout_redirect_uri: args
                .post_logout_redirect_uri
                .or(file.post_logout_redirect_uri),
            provider_name: args.provider_name.or(file.provider_name),
            scopes: args.scopes.or(file.scopes),
            listen: args.listen.or(file.listen),
            database_url: args.database_url.or(file.database_url),
            data_dir: args.data_dir.or(file.data_dir),
            verified_claims: args.verified_claims.or(file.verified_claims),
        };
        let issuer = args
            .issuer
            .ok_or_else(|| anyhow::anyhow!("VERITY_RP_ISSUER (--issuer) is required"))?;
        let client_id = args
            .client_id
            .ok_or_else(|| anyhow::anyhow!("VERITY_RP_CLIENT_ID (--client-id) is required"))?;
        let auth = match (
            args.client_secret.filter(|s| !s.is_empty()),
            args.client_auth.as_deref(),
        ) {
            (None, _) => ClientAuth::None,
            (Some(s), None | Some("basic")) => ClientAuth::SecretBasic(Secret::new(s)),
            (Some(s), Some("post")) => ClientAuth::SecretPost(Secret::new(s)),
            (Some(_), Some(other)) => {
                anyhow::bail!("VERITY_RP_CLIENT_AUTH must be basic or post, not {other:?}")
            }
        };
        let redirect_uri = args
            .redirect_uri
            .unwrap_or_else(|| DEFAULT_REDIRECT_URI.to_owned());
        let home = home_of(&redirect_uri)?;
        let provider_name = match args.provider_name.filter(|n| !n.trim().is_empty()) {
            Some(name) => name,
            None => url::Url::parse(&issuer)
                .ok()
                .and_then(|u| {
                    let host = u.host_str()?.to_owned();
                    Some(match u.port() {
                        Some(port) => format!("{host}:{port}"),
                        None => host,
                    })
                })
                .unwrap_or_else(|| issuer.clone()),
        };
        let data_dir = args
            .data_dir
            .unwrap_or_else(|| PathBuf::from("./verity-data"));
        Ok(RpSettings {
            issuer,
            client_id,
            auth,
            redirect_uri,
            post_logout_redirect_uri: args.post_logout_redirect_uri.unwrap_or(home),
            provider_name,
            scopes: args
                .scopes
                .as_deref()
                .unwrap_or("openid profile email")
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            listen: args.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            database_url: args
                .database_url
                .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("verity-rp.db").display())),
            verified_claims: args.verified_claims.unwrap_or(false),
        })
    }
}

/// The home page of the app whose redirect URI is `redirect_uri`: its origin and `/`.
fn home_of(redirect_uri: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(redirect_uri)
        .with_context(|| format!("VERITY_RP_REDIRECT_URI {redirect_uri:?} is not a URL"))?;
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_over_file_over_defaults_and_secrets_redacted() {
        let dir = std::env::temp_dir().join(format!("verity-rp-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("rp.toml");
        std::fs::write(
            &file,
            "issuer = \"https://api.idmelabs.com/oidc\"\nclient_id = \"from-file\"\nclient_secret = \"hunter2\"\nscopes = \"military student\"\nverified_claims = true\n",
        )
        .unwrap();
        let s = RpSettings::resolve(RpArgs {
            config: Some(file),
            client_id: Some("from-flag".into()),
            data_dir: Some(dir.clone()),
            ..RpArgs::default()
        })
        .unwrap();
        assert_eq!(s.issuer, "https://api.idmelabs.com/oidc");
        assert_eq!(s.client_id, "from-flag");
        assert_eq!(s.scopes, ["military", "student"]);
        assert_eq!(s.redirect_uri, DEFAULT_REDIRECT_URI);
        assert_eq!(s.post_logout_redirect_uri, "http://127.0.0.1:8090/");
        assert_eq!(s.provider_name, "api.idmelabs.com", "the issuer's host");
        assert_eq!(s.listen, DEFAULT_LISTEN);
        assert!(s.database_url.ends_with("verity-rp.db"));
        assert!(matches!(s.auth, ClientAuth::SecretBasic(_)));
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(s.verified_claims, "from the file");
        let off = RpSettings::resolve(RpArgs {
            config: Some(dir.join("rp.toml")),
            verified_claims: Some(false),
            ..RpArgs::default()
        })
        .unwrap();
        assert!(
            !off.verified_claims,
            "the flag or environment wins over the file"
        );
        assert!(
            RpSettings::resolve(RpArgs::default()).is_err(),
            "issuer is required"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
