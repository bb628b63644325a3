//! Memory of the all-in-one server with many open tutor streams.
//!
//! Starts a model double that answers every chat completion with one token
//! and then keeps the stream open, starts the server (`--bin`) on SQLite with
//! it, and opens N ChatKit streams (`threads.create`) that stay open. Prints
//! the server's resident memory (VmRSS) idle, after one turn, and with N
//! streams open, and the memory per stream.
//!
//!     ulimit -n 65536
//!     cargo run --release -p intellistack --example stream_rss -- --bin target/release/intellistack --streams 1000,5000

use std::convert::Infallible;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::response::Response;
use futures_util::StreamExt;
use serde_json::json;

mod support;
use support::process::{free_port, rss_kib, stop};
use support::{api_token, model_double, server_binary, sizes};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.0);
    }
}

/// The model double: one token at once, then a keep-alive comment every 10 s, forever.
async fn completion() -> Response {
    let first = Bytes::from(format!(
        "data: {}\n\n",
        json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Let us think about that together. "}}]})
    ));
    let rest = futures_util::stream::unfold((), |_| async {
        tokio::time::sleep(Duration::from_secs(10)).await;
        Some((
            Ok::<_, Infallible>(Bytes::from_static(b": waiting\n\n")),
            (),
        ))
    });
    let stream = futures_util::stream::once(async move { Ok::<_, Infallible>(first) }).chain(rest);
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap_or_default()
}

async fn open_stream(
    http: &reqwest::Client,
    url: &str,
    jwt: &str,
    i: usize,
) -> Option<reqwest::Response> {
    let body = json!({"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": format!("Question {i}: how does a PID controller correct drift?")}], "quoted_text": null, "attachments": [], "inference_options": {}}}});
    let mut res = http
        .post(url)
        .bearer_auth(jwt)
        .json(&body)
        .send()
        .await
        .ok()?;
    if !res.status().is_success() {
        return None;
    }
    // Open once the first event has arrived.
    res.chunk().await.ok()??;
    Some(res)
}

#[tokio::main]
async fn main() {
    let bin = server_binary();
    let counts = sizes("--streams", "1000,5000");

    let llm_url = model_double(completion).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env = |c: &mut Command| {
        c.current_dir(dir.path())
            .env("DATA_DIR", dir.path())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/rss.db", dir.path().display()),
            )
            .env(
                "BETTER_AUTH_SECRET",
                "stream-rss-secret-0123456789abcdef0123456789",
            )
            .env("BETTER_AUTH_URL", &base)
            .env("OPENAI_BASE_URL", &llm_url)
            .env("TUTOR_MODEL", "bench")
            .env("LLM_TIMEOUT_SECS", "3600")
            .env("REQUEST_TIMEOUT_SECS", "3600")
            .env("AUTH_RATE_LIMIT_ENABLED", "false")
            .env("RUST_LOG", "warn");
    };
    let mut create = Command::new(&bin);
    env(&mut create);
    let ok = create
        .args([
            "users",
            "create",
            "--email",
            "rss@example.com",
            "--role",
            "admin",
            "--password",
            "Stream-Rss-Pass-1!",
        ])
        .stdout(Stdio::null())
        .status()
        .expect("run the server binary");
    assert!(ok.success(), "users create failed");
    let mut serve = Command::new(&bin);
    env(&mut serve);
    let server = Server(
        serve
            .args(["serve", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server"),
    );
    let pid = server.0.id();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{base}/ready"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_kib(pid);

    let jwt = api_token(&http, &base, "rss@example.com", "Stream-Rss-Pass-1!").await;
    let chat = format!("{base}/api/v1/chatkit");
    drop(open_stream(&http, &chat, &jwt, 0).await.expect("one turn"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let warm = rss_kib(pid);

    println!("| state | server RSS | per open stream |");
    println!("| --- | --- | --- |");
    println!(
        "| idle (after start-up) | {:.1} MiB | |",
        idle as f64 / 1024.0
    );
    println!(
        "| after one chat turn | {:.1} MiB | |",
        warm as f64 / 1024.0
    );
    for n in counts {
        let started = Instant::now();
        let mut open = Vec::with_capacity(n);
        let mut pending = futures_util::stream::iter(0..n)
            .map(|i| {
                let http = http.clone();
                let chat = chat.clone();
                let jwt = jwt.clone();
                async move { open_stream(&http, &chat, &jwt, i).await }
            })
            .buffer_unordered(256);
        while let Some(r) = pending.next().await {
            if let Some(r) = r {
                open.push(r);
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss = rss_kib(pid);
        let per = (rss.saturating_sub(warm)) as f64 / open.len().max(1) as f64;
        println!(
            "| {} streams open ({} requested, opened in {:.1} s) | {:.1} MiB | {:.1} KiB |",
            open.len(),
            n,
            started.elapsed().as_secs_f64(),
            rss as f64 / 1024.0,
            per
        );
        drop(open);
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    drop(server);
}
