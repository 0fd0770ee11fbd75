//! Issue 21: what one client can hold of the server, over real loopback sockets. Slow clients
//! (half a request line) and idle kept-alive connections are closed after the header-read
//! timeout while others are served; over the connection cap, a connection is answered 503 and
//! closed at once. Bounded: a few hundred sockets, a one-second timeout, each wait capped.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Reads until the server closes the connection (or `limit` passes); what was read, and whether
/// it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn slow_and_idle_connections_are_dropped_while_others_are_served() {
    let app = spawn_with(|s| s.header_read_timeout = 1).await;
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        s.write_all(b"GET /.well-known/open").await.unwrap();
        slow.push(s);
    }
    // Meanwhile, others are served.
    let resp = app
        .http
        .get(app.url("/oidc/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // A kept-alive connection that goes quiet after its answer.
    let mut idle = TcpStream::connect(addr(&app)).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: verity\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    for s in &mut slow {
        let (_, closed) = read_until_closed(s, Duration::from_secs(10)).await;
        assert!(closed, "a slow client is dropped");
    }
    let (_, closed) = read_until_closed(&mut idle, Duration::from_secs(10)).await;
    assert!(closed, "an idle kept-alive connection is closed");
    assert!(started.elapsed() < Duration::from_secs(10));
    // And the server still serves.
    let resp = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn over_the_connection_cap_a_client_gets_503_at_once() {
    let app = spawn_with(|s| {
        s.header_read_timeout = 1;
        s.max_connections = 100;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..100 {
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        s.write_all(b"GET /healthz HT").await.unwrap();
        held.push(s);
    }
    // Accepted after the hundred (the listener takes them in order): over the cap.
    let mut over = TcpStream::connect(addr(&app)).await.unwrap();
    let asked = Instant::now();
    let (answer, closed) = read_until_closed(&mut over, Duration::from_secs(5)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 1"), "{answer}");
    assert!(
        closed && asked.elapsed() < Duration::from_secs(1),
        "at once"
    );

    // Once the held connections time out, their slots come back.
    for s in &mut held {
        read_until_closed(s, Duration::from_secs(10)).await;
    }
    let mut served = false;
    for _ in 0..100 {
        let resp = app.http.get(app.url("/healthz")).send().await;
        if resp.is_ok_and(|r| r.status() == StatusCode::OK) {
            served = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(served, "served again once the slots are free");
}
