//! Every HTTP call Verity itself makes to an app (its `jwks_uri`, its `backchannel_logout_uri`),
//! through one client that cannot be pointed into our own network.
//!
//! An app's URL was checked once, at registration, but a host name can resolve elsewhere later
//! (DNS rebinding), so the address is judged again when the connection is made: the client's
//! resolver resolves the name and refuses every address [`OutboundPolicy::check`] refuses
//! (loopback, private, link-local, metadata ... in any IPv6 spelling), and literal addresses,
//! which never reach a resolver, are judged before the request is sent. No environment proxy (it
//! would connect on our behalf, unchecked), no redirects, a short connect timeout, an overall
//! timeout and a cap on what is read.
//!
//! A refused call is logged with the app's id and counted, and its caller answers as for any
//! app that cannot be reached.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use verity_core::net::{Internal, OutboundPolicy};

use crate::metrics::OutboundRefusals;

/// How long a TCP connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a whole call may take, unless the caller says less.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What a call is for: in the log and the refusal metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Jwks,
    BackchannelLogout,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Jwks => "jwks_uri",
            Purpose::BackchannelLogout => "backchannel_logout_uri",
        }
    }
}

/// A call not made: the host is, or resolves only to, addresses Verity does not call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{host} is not called: {ip} is internal ({why})")]
pub struct Refused {
    pub host: String,
    pub ip: IpAddr,
    pub why: Internal,
}

/// Why a call brought nothing back.
#[derive(Debug, thiserror::Error)]
pub enum Failed {
    #[error(transparent)]
    Refused(Refused),
    #[error("{0:?} is not an http(s) URL")]
    BadUrl(String),
    #[error("the answer was {0}")]
    Status(reqwest::StatusCode),
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    Http(reqwest::Error),
}

/// The client of Verity's own calls (cheap to clone: one connection pool).
#[derive(Debug, Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Arc<OutboundPolicy>,
    refusals: OutboundRefusals,
}

impl Outbound {
    pub fn new(policy: OutboundPolicy, refusals: OutboundRefusals) -> anyhow::Result<Self> {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver(policy.clone())))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .build()?;
        Ok(Outbound {
            client,
            policy,
            refusals,
        })
    }

    /// GETs `uri` for the app `client_id`: the body of a 2xx answer of at most `max` bytes.
    pub async fn get(
        &self,
        client_id: &str,
        purpose: Purpose,
        uri: &str,
        max: usize,
    ) -> Result<Vec<u8>, Failed> {
        let url = self.checked(client_id, purpose, uri)?;
        let mut resp = self.sent(client_id, purpose, self.client.get(url)).await?;
        if !resp.status().is_success() {
            return Err(Failed::Status(resp.status()));
        }
        // Read at most `max` bytes, whatever the server sends.
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(Failed::Http)? {
            body.extend_from_slice(&chunk);
            if body.len() > max {
                return Err(Failed::TooLarge(max));
            }
        }
        Ok(body)
    }

    /// POSTs `form` to `uri` for the app `client_id` within `timeout`: the answer's status.
    pub async fn post_form(
        &self,
        client_id: &str,
        purpose: Purpose,
        uri: &str,
        form: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<reqwest::StatusCode, Failed> {
        let url = self.checked(client_id, purpose, uri)?;
        let request = self.client.post(url).timeout(timeout).form(form);
        Ok(self.sent(client_id, purpose, request).await?.status())
    }

    /// `uri` parsed, its host judged when it is a literal address (reqwest connects to those
    /// without asking the resolver).
    fn checked(
        &self,
        client_id: &str,
        purpose: Purpose,
        uri: &str,
    ) -> Result<reqwest::Url, Failed> {
        let url = reqwest::Url::parse(uri)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| Failed::BadUrl(uri.to_owned()))?;
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(url::Host::Domain(_)) => return Ok(url),
            None => return Err(Failed::BadUrl(uri.to_owned())),
        };
        match self.policy.check(ip) {
            Ok(()) => Ok(url),
            Err(why) => {
                let host = url.host_str().unwrap_or_default().to_owned();
                Err(self.refused(client_id, purpose, Refused { host, ip, why }))
            }
        }
    }

    /// Sends `request`; a refusal by the resolver comes back as [`Failed::Refused`].
    async fn sent(
        &self,
        client_id: &str,
        purpose: Purpose,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Failed> {
        match request.send().await {
            Ok(resp) => Ok(resp),
            Err(e) => match refusal_in(&e) {
                Some(refused) => Err(self.refused(client_id, purpose, refused.clone())),
                None => Err(Failed::Http(e)),
            },
        }
    }

    fn refused(&self, client_id: &str, purpose: Purpose, refused: Refused) -> Failed {
        tracing::warn!(
            client_id,
            purpose = purpose.as_str(),
            host = %refused.host,
            address = %refused.ip,
            reason = %refused.why,
            "outbound call refused: the address is internal"
        );
        self.refusals.inc(purpose.as_str());
        Failed::Refused(refused)
    }
}

/// The [`Refused`] somewhere in the chain of causes of a failed request.
fn refusal_in(e: &reqwest::Error) -> Option<&Refused> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(r) = c.downcast_ref::<Refused>() {
            return Some(r);
        }
        cause = c.source();
    }
    None
}

/// Resolves with the system resolver, then keeps only the addresses the policy allows; none
/// left is a [`Refused`]. Each connection resolves anew, so this runs at connect time.
#[derive(Debug)]
struct CheckedResolver(Arc<OutboundPolicy>);

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match policy.check(a.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refused.get_or_insert(Refused {
                            host: host.clone(),
                            ip: a.ip(),
                            why,
                        });
                        false
                    }
                })
                .collect();
            match refused {
                Some(refused) if allowed.is_empty() => Err(refused.into()),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}
