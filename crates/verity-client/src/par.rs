//! Starting a sign-in the way the provider offers best: RFC 9126 pushed authorization requests
//! (the parameters go over the back channel, authenticated; the browser carries only `client_id`
//! and `request_uri`), and RFC 9101 request objects (the parameters signed with the client's
//! `private_key_jwt` key), pushed when the provider has PAR, by value otherwise.

use serde_json::{Map, Value};
use url::Url;

use crate::assertion::{PrivateKey, random_token};
use crate::authorize::{AuthorizationRequest, PendingAuthorization};
use crate::client::Client;
use crate::config::ClientAuth;
use crate::error::Error;

/// How long a request object is valid, in seconds.
pub const REQUEST_OBJECT_LIFETIME: i64 = 300;

impl Client {
    /// Builds `request` and answers the URL to redirect the browser to, and what to keep for the
    /// callback (as [`AuthorizationRequest::build`]). When the provider advertises a
    /// `pushed_authorization_request_endpoint` (and [`crate::ClientConfig::pushed_requests`] is
    /// on), the request is pushed there first and the URL carries only `client_id` and
    /// `request_uri`; otherwise it is the plain query URL. With
    /// [`crate::ClientConfig::request_objects`] the parameters travel as a signed request
    /// object.
    pub async fn begin(
        &self,
        request: AuthorizationRequest,
    ) -> Result<(Url, PendingAuthorization), Error> {
        let (url, pending) = request.build()?;
        let config = self.config();
        let metadata = self.metadata();
        let endpoint = Url::parse(&metadata.authorization_endpoint)
            .map_err(|e| Error::Config(format!("authorization endpoint: {e}")))?;
        // The request's own parameters: those after the endpoint's own query, if it has one.
        let own = endpoint.query_pairs().count();
        let params: Vec<(String, String)> = url.query_pairs().into_owned().skip(own).collect();
        let object = match (config.request_objects, &config.auth) {
            (false, _) => None,
            (true, ClientAuth::PrivateKeyJwt(key)) => Some(self.request_object(key, &params)?),
            (true, _) => {
                return Err(Error::Config(
                    "request objects are signed with the private_key_jwt key; this client has none"
                        .into(),
                ));
            }
        };
        let par = metadata
            .pushed_authorization_request_endpoint
            .as_deref()
            .filter(|_| config.pushed_requests);
        let front: Vec<(&str, String)> = match (par, object) {
            (Some(par), object) => {
                let form: Vec<(&str, String)> = match object {
                    Some(jwt) => vec![("request", jwt)],
                    // `client_id` comes with the client's authentication.
                    None => to_form(&params),
                };
                vec![("request_uri", self.push(par, &form).await?)]
            }
            (None, Some(jwt)) => vec![("request", jwt)],
            (None, None) => return Ok((url, pending)),
        };
        let mut url = endpoint;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", &config.client_id);
            for (name, value) in &front {
                q.append_pair(name, value);
            }
        }
        Ok((url, pending))
    }

    /// RFC 9101 4: the parameters as a JWT signed with `key`, for this provider, valid
    /// [`REQUEST_OBJECT_LIFETIME`] seconds.
    fn request_object(
        &self,
        key: &PrivateKey,
        params: &[(String, String)],
    ) -> Result<String, Error> {
        let now = self.now();
        let mut claims = Map::new();
        for (name, value) in params {
            // `claims` is a JSON object (OIDC Core 6.1); the others are strings.
            let value = match name.as_str() {
                "claims" => serde_json::from_str(value).unwrap_or_else(|_| value.clone().into()),
                _ => Value::from(value.as_str()),
            };
            claims.insert(name.clone(), value);
        }
        let config = self.config();
        claims.insert("iss".into(), config.client_id.clone().into());
        claims.insert("aud".into(), self.metadata().issuer.clone().into());
        claims.insert("iat".into(), now.into());
        claims.insert("nbf".into(), now.into());
        claims.insert("exp".into(), (now + REQUEST_OBJECT_LIFETIME).into());
        claims.insert("jti".into(), random_token(16)?.into());
        key.sign_jwt("oauth-authz-req+jwt", &Value::Object(claims))
    }

    /// RFC 9126 2: pushes `form` with the client's authentication (its assertion for the
    /// issuer) and answers the `request_uri`.
    async fn push(&self, endpoint: &str, form: &[(&str, String)]) -> Result<String, Error> {
        let req = self.authenticated_post(endpoint, form, &self.metadata().issuer)?;
        let fetched = self.fetch("par", req, None).await?.ok("par")?;
        let malformed = |reason: &str| Error::Malformed {
            endpoint: "par",
            reason: reason.into(),
        };
        let body: Value =
            serde_json::from_slice(&fetched.body).map_err(|_| malformed("not JSON"))?;
        body.get("request_uri")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| malformed("no request_uri"))
    }
}

/// The request's parameters as a form, without `client_id` (the authentication adds it).
fn to_form(params: &[(String, String)]) -> Vec<(&str, String)> {
    params
        .iter()
        .filter(|(name, _)| name != "client_id")
        .map(|(name, value)| (name.as_str(), value.clone()))
        .collect()
}
