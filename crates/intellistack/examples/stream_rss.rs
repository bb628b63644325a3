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
use axum::routing::post;
use futures_util::StreamExt;
use serde_json::{Value, json};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
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

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
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
    let bin = arg("--bin").unwrap_or_else(|| "target/release/intellistack".into());
    // The server runs in a temporary folder: resolve the path first.
    let bin = std::fs::canonicalize(&bin).unwrap_or_else(|e| {
        panic!("{bin}: {e}; build it with cargo build --release, or pass --bin")
    });
    let counts: Vec<usize> = arg("--streams")
        .unwrap_or_else(|| "1000,5000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();

    let llm = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the model double");
    let llm_url = format!("http://{}/v1", llm.local_addr().expect("addr"));
    tokio::spawn(async move {
        let app = axum::Router::new().route("/v1/chat/completions", post(completion));
        let _ = axum::serve(llm, app).await;
    });

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

    let signed: Value = http
        .post(format!("{base}/api/auth/sign-in/email"))
        .json(&json!({"email": "rss@example.com", "password": "Stream-Rss-Pass-1!"}))
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("json");
    let session = signed["token"].as_str().expect("session token").to_string();
    let jwt: Value = http
        .get(format!("{base}/api/auth/token"))
        .bearer_auth(&session)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let jwt = jwt["token"].as_str().expect("jwt").to_string();
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
