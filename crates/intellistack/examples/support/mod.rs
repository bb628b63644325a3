//! What the benches share: their command line, the server binary they
//! measure, signing in to it, and the model double it talks to.
#![allow(dead_code)]

pub mod process;

use std::path::PathBuf;

use serde_json::{Value, json};

/// The value after `name` on the command line.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// A comma-separated list of numbers after `name`, or `default`.
pub fn sizes(name: &str, default: &str) -> Vec<usize> {
    arg(name)
        .unwrap_or_else(|| default.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// The server binary (`--bin`), as an absolute path: the server runs in
/// another folder.
pub fn server_binary() -> PathBuf {
    let bin = arg("--bin").unwrap_or_else(|| "target/release/intellistack".into());
    std::fs::canonicalize(&bin).unwrap_or_else(|e| {
        panic!("{bin}: {e}; build it with cargo build --release, or pass --bin")
    })
}

/// Signs in with a password and returns an API token (JWT) for the user.
pub async fn api_token(http: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let signed: Value = http
        .post(format!("{base}/api/auth/sign-in/email"))
        .json(&json!({"email": email, "password": password}))
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
    jwt["token"].as_str().expect("jwt").to_string()
}

/// Serves `completion` as an OpenAI-compatible chat completions endpoint on
/// a free port; returns its base URL (`OPENAI_BASE_URL`).
pub async fn model_double<H, T>(completion: H) -> String
where
    H: axum::handler::Handler<T, ()>,
    T: 'static,
{
    let llm = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the model double");
    let url = format!("http://{}/v1", llm.local_addr().expect("addr"));
    tokio::spawn(async move {
        let app =
            axum::Router::new().route("/v1/chat/completions", axum::routing::post(completion));
        let _ = axum::serve(llm, app).await;
    });
    url
}
