//! `/metrics` in the OpenMetrics text format (the `prometheus-client` crate): requests and
//! latency by route and status, tokens issued by grant, sign-in failures, refusals by limit,
//! audit events, and database pool use. Who may read it is [`crate::routes::metrics`]'s business.
//!
//! Counters live in this node's memory (each node is scraped on its own, as Prometheus expects);
//! the route label is the route's pattern (`/oauth/authorize`), never the raw path, so the label
//! set stays bounded whatever clients send.

use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The exposition's content type (OpenMetrics 1.0, which Prometheus scrapes natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route an answered request matched, set by [`route_label`] inside the router.
#[derive(Debug, Clone)]
struct MatchedRoute(String);

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrantLabels {
    grant_type: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    step: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    backend: String,
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    backend: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PurposeLabels {
    purpose: &'static str,
}

/// What Verity's own calls are for ([`crate::outbound::Purpose`]).
const OUTBOUND_PURPOSES: [&str; 2] = ["jwks_uri", "backchannel_logout_uri"];

/// Verity's own calls refused because the address is internal, by purpose; held by
/// [`crate::outbound::Outbound`], which counts them.
#[derive(Debug, Clone, Default)]
pub struct OutboundRefusals(Family<PurposeLabels, Counter>);

impl OutboundRefusals {
    pub fn inc(&self, purpose: &'static str) {
        self.0.get_or_create(&PurposeLabels { purpose }).inc();
    }
}

/// Token responses, by the audit event that records them.
const TOKEN_EVENTS: [(&str, &str); 2] = [
    ("token.issued", "authorization_code"),
    ("token.refreshed", "refresh_token"),
];

/// Failed sign-in steps, by the audit event that records them.
const FAILURE_EVENTS: [(&str, &str, &str); 4] = [
    ("signin.failure", "password", "wrong"),
    ("signin.locked", "password", "locked"),
    ("mfa.failure", "second_factor", "wrong"),
    ("mfa.locked", "second_factor", "locked"),
];

/// This node's metrics, kept by the `prometheus-client` crate in one registry (no global
/// recorder: each server in a process, as in the tests, has its own).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    tokens: Family<GrantLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    refusals: Family<LimitLabels, Counter>,
    events: Family<EventLabels, Counter>,
    pool: Family<PoolLabels, Gauge>,
    pool_max: Family<BackendLabels, Gauge>,
    outbound_refused: OutboundRefusals,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(BUCKETS)) as fn() -> Histogram,
        );
        let tokens = Family::<GrantLabels, Counter>::default();
        let failures = Family::<FailureLabels, Counter>::default();
        let refusals = Family::<LimitLabels, Counter>::default();
        let events = Family::<EventLabels, Counter>::default();
        let pool = Family::<PoolLabels, Gauge>::default();
        let pool_max = Family::<BackendLabels, Gauge>::default();
        let outbound_refused = OutboundRefusals::default();
        for purpose in OUTBOUND_PURPOSES {
            outbound_refused
                .0
                .get_or_create_owned(&PurposeLabels { purpose });
        }
        // The series a dashboard reads are there from the start, at 0.
        for (_, grant_type) in TOKEN_EVENTS {
            tokens.get_or_create_owned(&GrantLabels { grant_type });
        }
        for (_, step, reason) in FAILURE_EVENTS {
            failures.get_or_create_owned(&FailureLabels { step, reason });
        }
        for kind in verity_core::limits::Kind::ALL {
            refusals.get_or_create_owned(&LimitLabels { limit: kind.name() });
        }
        let mut registry = Registry::with_prefix("verity");
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route pattern and method",
            latency.clone(),
        );
        registry.register(
            "tokens_issued",
            "Token responses, by grant type",
            tokens.clone(),
        );
        registry.register(
            "signin_failures",
            "Failed or refused sign-in steps, by step and reason",
            failures.clone(),
        );
        registry.register(
            "limit_refusals",
            "Actions refused for being over a limit (VERITY_LIMIT_*), by limit",
            refusals.clone(),
        );
        registry.register(
            "audit_events",
            "Audit-trail events recorded by this node",
            events.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database connections of this node, by state",
            pool.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "The pool's limit",
            pool_max.clone(),
        );
        registry.register(
            "outbound_refused",
            "Calls to apps (jwks_uri, back-channel logout) refused: the address is internal",
            outbound_refused.0.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            tokens,
            failures,
            refusals,
            events,
            pool,
            pool_max,
            outbound_refused,
        }
    }
}

impl Metrics {
    /// The refusal counter, for [`crate::outbound::Outbound`].
    pub fn outbound_refusals(&self) -> OutboundRefusals {
        self.outbound_refused.clone()
    }

    pub fn observe_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let (route, method) = (route.to_owned(), method.to_owned());
        self.latency
            .get_or_create(&RouteLabels {
                route: route.clone(),
                method: method.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
    }

    /// Counts an audit event, and the token or sign-in-failure series it stands for.
    pub fn observe_event(&self, event: &str) {
        self.events
            .get_or_create(&EventLabels {
                event: event.to_owned(),
            })
            .inc();
        if let Some((_, grant_type)) = TOKEN_EVENTS.iter().find(|(e, _)| *e == event) {
            self.tokens.get_or_create(&GrantLabels { grant_type }).inc();
        }
        if let Some((_, step, reason)) = FAILURE_EVENTS.iter().find(|(e, ..)| *e == event) {
            self.failures
                .get_or_create(&FailureLabels { step, reason })
                .inc();
        }
    }

    /// Counts an action refused for being over its limit.
    pub fn observe_refusal(&self, kind: verity_core::limits::Kind) {
        let labels = LimitLabels { limit: kind.name() };
        self.refusals.get_or_create(&labels).inc();
    }

    /// The exposition text (OpenMetrics), with the pool's use read now.
    pub fn render(&self, pool: verity_store::PoolUse, backend: &str) -> String {
        let idle = pool.idle.min(pool.size);
        let gauge = |state: &'static str, n: u32| {
            let labels = PoolLabels {
                backend: backend.to_owned(),
                state,
            };
            self.pool.get_or_create(&labels).set(i64::from(n));
        };
        gauge("in_use", pool.size - idle);
        gauge("idle", idle);
        let labels = BackendLabels {
            backend: backend.to_owned(),
        };
        self.pool_max
            .get_or_create(&labels)
            .set(i64::from(pool.max));
        let mut out = String::with_capacity(4096);
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding the metrics");
        }
        out
    }
}

/// Inside the router (a route layer): tells [`crate::middleware::request_context`] which route
/// pattern the request matched.
pub async fn route_label(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut resp = next.run(req).await;
    if let Some(route) = route {
        resp.extensions_mut().insert(MatchedRoute(route));
    }
    resp
}

/// The matched route of an answer; `unmatched` for requests no route took (404s).
pub fn route_of(resp: &Response) -> String {
    resp.extensions()
        .get::<MatchedRoute>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.0.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the one sample whose line holds every one of `parts`.
    fn sample(text: &str, name: &str, parts: &[&str]) -> Option<f64> {
        let mut found = text
            .lines()
            .filter(|l| l.starts_with(&format!("{name}{{")) && parts.iter().all(|p| l.contains(p)));
        let line = found.next()?;
        assert!(
            found.next().is_none(),
            "{parts:?} names more than one sample"
        );
        line.rsplit(' ').next()?.parse().ok()
    }

    #[test]
    fn exposition_counts_requests_buckets_and_events() {
        let m = Metrics::default();
        m.observe_request("/oauth/token", "POST", 200, Duration::from_millis(3));
        m.observe_request("/oauth/token", "POST", 200, Duration::from_millis(30));
        m.observe_request("/oauth/token", "POST", 400, Duration::from_secs(20));
        m.observe_event("token.issued");
        m.observe_event("signin.failure");
        m.observe_event("signin.failure");
        m.observe_refusal(verity_core::limits::Kind::Signup);
        let text = m.render(
            verity_store::PoolUse {
                size: 3,
                idle: 1,
                max: 16,
            },
            "sqlite",
        );
        let token = ["route=\"/oauth/token\"", "method=\"POST\""];
        let requests = "verity_http_requests_total";
        assert_eq!(
            sample(&text, requests, &[&token[..], &["status=\"200\""]].concat()),
            Some(2.0),
            "{text}"
        );
        assert_eq!(
            sample(&text, requests, &[&token[..], &["status=\"400\""]].concat()),
            Some(1.0)
        );
        // Cumulative buckets: one under 5 ms, two under 50 ms, the 20 s one only in +Inf.
        let bucket = "verity_http_request_duration_seconds_bucket";
        let le = |b: &str| {
            sample(
                &text,
                bucket,
                &[&token[..], &[&format!("le=\"{b}\"")]].concat(),
            )
        };
        assert_eq!(le("0.005"), Some(1.0));
        assert_eq!(le("0.05"), Some(2.0));
        assert_eq!(le("10.0"), Some(2.0));
        assert_eq!(le("+Inf"), Some(3.0));
        let tokens = "verity_tokens_issued_total";
        assert_eq!(
            sample(&text, tokens, &["grant_type=\"authorization_code\""]),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, tokens, &["grant_type=\"refresh_token\""]),
            Some(0.0)
        );
        let failures = "verity_signin_failures_total";
        assert_eq!(
            sample(&text, failures, &["step=\"password\"", "reason=\"wrong\""]),
            Some(2.0)
        );
        let refusals = "verity_limit_refusals_total";
        assert_eq!(sample(&text, refusals, &["limit=\"signup\""]), Some(1.0));
        assert_eq!(sample(&text, refusals, &["limit=\"apps\""]), Some(0.0));
        let pool = "verity_db_pool_connections";
        assert_eq!(
            sample(&text, pool, &["backend=\"sqlite\"", "state=\"in_use\""]),
            Some(2.0)
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::default();
        m.observe_event("a\"b\\c\nd");
        let text = m.render(
            verity_store::PoolUse {
                size: 0,
                idle: 0,
                max: 1,
            },
            "sqlite",
        );
        assert!(text.contains("event=\"a\\\"b\\\\c\\nd\""), "{text}");
    }
}
