//! `/metrics` in the Prometheus text format (version 0.0.4): requests and latency by route and
//! status, tokens issued by grant, sign-in failures, audit events, and database pool use.
//!
//! Counters live in this node's memory (each node is scraped on its own, as Prometheus expects);
//! the route label is the route's pattern (`/oauth/authorize`), never the raw path, so the label
//! set stays bounded whatever clients send.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// The route an answered request matched, set by [`route_label`] inside the router.
#[derive(Debug, Clone)]
struct MatchedRoute(String);

#[derive(Debug, Default)]
struct Counts {
    /// (route, method, status) -> requests.
    requests: BTreeMap<(String, String, u16), u64>,
    /// (route, method) -> latency.
    latency: BTreeMap<(String, String), Histogram>,
    /// Audit event -> occurrences.
    events: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
pub struct Metrics {
    counts: Mutex<Counts>,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // A panic while holding the lock leaves plain counters behind: still usable.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn observe_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let mut c = self.lock();
        *c.requests
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default() += 1;
        c.latency
            .entry((route.to_owned(), method.to_owned()))
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    /// Counts an audit event (tokens issued, sign-in failures and the rest derive from these).
    pub fn observe_event(&self, event: &str) {
        *self.lock().events.entry(event.to_owned()).or_default() += 1;
    }

    /// The exposition text.
    pub fn render(&self, pool: verity_store::PoolUse, backend: &str) -> String {
        let c = self.lock();
        let mut out = String::with_capacity(4096);
        let event = |name: &str| c.events.get(name).copied().unwrap_or(0);

        out.push_str("# HELP verity_http_requests_total HTTP requests answered, by route pattern, method and status.\n");
        out.push_str("# TYPE verity_http_requests_total counter\n");
        for ((route, method, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "verity_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                escape(route),
                escape(method)
            );
        }
        out.push_str("# HELP verity_http_request_duration_seconds Time to answer, by route pattern and method.\n");
        out.push_str("# TYPE verity_http_request_duration_seconds histogram\n");
        for ((route, method), h) in &c.latency {
            let labels = format!("route=\"{}\",method=\"{}\"", escape(route), escape(method));
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "verity_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "verity_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "verity_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "verity_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }

        out.push_str("# HELP verity_tokens_issued_total Token responses, by grant type.\n");
        out.push_str("# TYPE verity_tokens_issued_total counter\n");
        let _ = writeln!(
            out,
            "verity_tokens_issued_total{{grant_type=\"authorization_code\"}} {}",
            event("token.issued")
        );
        let _ = writeln!(
            out,
            "verity_tokens_issued_total{{grant_type=\"refresh_token\"}} {}",
            event("token.refreshed")
        );

        out.push_str("# HELP verity_signin_failures_total Failed or refused sign-in steps, by step and reason.\n");
        out.push_str("# TYPE verity_signin_failures_total counter\n");
        for (step, reason, name) in [
            ("password", "wrong", "signin.failure"),
            ("password", "locked", "signin.locked"),
            ("second_factor", "wrong", "mfa.failure"),
            ("second_factor", "locked", "mfa.locked"),
        ] {
            let _ = writeln!(
                out,
                "verity_signin_failures_total{{step=\"{step}\",reason=\"{reason}\"}} {}",
                event(name)
            );
        }

        out.push_str(
            "# HELP verity_audit_events_total Audit-trail events recorded by this node.\n",
        );
        out.push_str("# TYPE verity_audit_events_total counter\n");
        for (name, n) in &c.events {
            let _ = writeln!(
                out,
                "verity_audit_events_total{{event=\"{}\"}} {n}",
                escape(name)
            );
        }

        let backend = escape(backend);
        out.push_str(
            "# HELP verity_db_pool_connections Database connections of this node, by state.\n",
        );
        out.push_str("# TYPE verity_db_pool_connections gauge\n");
        let idle = pool.idle.min(pool.size);
        let _ = writeln!(
            out,
            "verity_db_pool_connections{{backend=\"{backend}\",state=\"in_use\"}} {}",
            pool.size - idle
        );
        let _ = writeln!(
            out,
            "verity_db_pool_connections{{backend=\"{backend}\",state=\"idle\"}} {idle}"
        );
        out.push_str("# HELP verity_db_pool_max_connections The pool's limit.\n");
        out.push_str("# TYPE verity_db_pool_max_connections gauge\n");
        let _ = writeln!(
            out,
            "verity_db_pool_max_connections{{backend=\"{backend}\"}} {}",
            pool.max
        );
        out
    }
}

/// Label values: backslash, double quote and newline escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
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

    #[test]
    fn exposition_counts_requests_buckets_and_events() {
        let m = Metrics::default();
        m.observe_request("/oauth/token", "POST", 200, Duration::from_millis(3));
        m.observe_request("/oauth/token", "POST", 200, Duration::from_millis(30));
        m.observe_request("/oauth/token", "POST", 400, Duration::from_secs(20));
        m.observe_event("token.issued");
        m.observe_event("signin.failure");
        m.observe_event("signin.failure");
        let text = m.render(
            verity_store::PoolUse {
                size: 3,
                idle: 1,
                max: 16,
            },
            "sqlite",
        );
        assert!(text.contains(
            "verity_http_requests_total{route=\"/oauth/token\",method=\"POST\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "verity_http_requests_total{route=\"/oauth/token\",method=\"POST\",status=\"400\"} 1"
        ));
        // Cumulative buckets: one under 5 ms, two under 50 ms, the 20 s one only in +Inf.
        assert!(text.contains("method=\"POST\",le=\"0.005\"} 1\n"));
        assert!(text.contains("method=\"POST\",le=\"0.05\"} 2\n"));
        assert!(text.contains("method=\"POST\",le=\"10\"} 2\n"));
        assert!(text.contains("method=\"POST\",le=\"+Inf\"} 3\n"));
        assert!(text.contains("verity_tokens_issued_total{grant_type=\"authorization_code\"} 1"));
        assert!(text.contains("verity_tokens_issued_total{grant_type=\"refresh_token\"} 0"));
        assert!(
            text.contains("verity_signin_failures_total{step=\"password\",reason=\"wrong\"} 2")
        );
        assert!(text.contains("verity_db_pool_connections{backend=\"sqlite\",state=\"in_use\"} 2"));
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
