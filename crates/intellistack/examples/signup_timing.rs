//! Does the time of an identity request tell whether an address is
//! registered? Against a running server (started by `bench/signup-timing`),
//! sends interleaved pairs — one for an address with an account, one for a
//! new or unknown address, the order alternating — and prints the medians,
//! the 90th percentiles, the gap between the medians and the median of the
//! paired differences, as Markdown table rows.
//!
//!     signup_timing --url http://127.0.0.1:3000 --label PostgreSQL --pairs 500 \
//!         --verified known@example.com --unverified pending@example.com

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PASSWORD: &str = "Bench-Passw0rd!x";

struct Args {
    url: String,
    label: String,
    pairs: usize,
    verified: String,
    unverified: String,
}

fn args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:3000".into(),
        label: "server".into(),
        pairs: 500,
        verified: "known@example.com".into(),
        unverified: "pending@example.com".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| {
            eprintln!("signup_timing: {flag} needs a value");
            std::process::exit(2)
        });
        match flag.as_str() {
            "--url" => a.url = value,
            "--label" => a.label = value,
            "--pairs" => a.pairs = value.parse().expect("--pairs is a number"),
            "--verified" => a.verified = value,
            "--unverified" => a.unverified = value,
            other => {
                eprintln!("signup_timing: unknown option {other}");
                std::process::exit(2)
            }
        }
    }
    a
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

async fn timed(client: &reqwest::Client, url: &str, body: &Value) -> f64 {
    let started = Instant::now();
    let res = client.post(url).json(body).send().await.expect("request");
    let status = res.status();
    let _ = res.bytes().await;
    assert!(status.is_success(), "{url} answered {status}");
    ms(started.elapsed())
}

/// (known, unknown) samples over `pairs` interleaved pairs.
async fn pairs(
    client: &reqwest::Client,
    url: &str,
    pairs: usize,
    known: &Value,
    unknown: impl Fn(usize) -> Value,
) -> (Vec<f64>, Vec<f64>) {
    let (mut k, mut u) = (Vec::with_capacity(pairs), Vec::with_capacity(pairs));
    for i in 0..pairs {
        if i % 2 == 0 {
            k.push(timed(client, url, known).await);
            u.push(timed(client, url, &unknown(i)).await);
        } else {
            u.push(timed(client, url, &unknown(i)).await);
            k.push(timed(client, url, known).await);
        }
    }
    (k, u)
}

fn report(label: &str, route: &str, known: Vec<f64>, unknown: Vec<f64>) {
    let mut diffs: Vec<f64> = known.iter().zip(&unknown).map(|(a, b)| a - b).collect();
    let (mut k, mut u) = (known, unknown);
    k.sort_by(f64::total_cmp);
    u.sort_by(f64::total_cmp);
    diffs.sort_by(f64::total_cmp);
    let (km, um) = (quantile(&k, 0.5), quantile(&u, 0.5));
    println!(
        "| {label} | {route} | {km:.2} / {:.2} | {um:.2} / {:.2} | {:.2} | {:+.2} | {} |",
        quantile(&k, 0.9),
        quantile(&u, 0.9),
        (km - um).abs(),
        quantile(&diffs, 0.5),
        k.len(),
    );
}

#[tokio::main]
async fn main() {
    let a = args();
    let client = reqwest::Client::new();
    let run = std::process::id();
    let sign_up = format!("{}/api/auth/sign-up/email", a.url);
    let resend = format!("{}/api/auth/send-verification-email", a.url);
    let reset = format!("{}/api/auth/request-password-reset", a.url);
    let new_user = |tag: &'static str| move |i: usize| json!({"name": "Bench", "email": format!("{tag}-{run}-{i}@example.com"), "password": PASSWORD});
    let unknown = |tag: &'static str| move |i: usize| json!({"email": format!("{tag}-{run}-{i}@example.com")});

    // Warm the connection, the statement caches and the hasher.
    pairs(
        &client,
        &sign_up,
        10,
        &json!({"name": "Bench", "email": a.verified, "password": PASSWORD}),
        new_user("warm"),
    )
    .await;

    let (k, u) = pairs(
        &client,
        &sign_up,
        a.pairs,
        &json!({"name": "Bench", "email": a.verified, "password": PASSWORD}),
        new_user("new"),
    )
    .await;
    report(&a.label, "sign-up (taken vs new)", k, u);
    let (k, u) = pairs(
        &client,
        &resend,
        a.pairs,
        &json!({"email": a.unverified}),
        unknown("nobody"),
    )
    .await;
    report(
        &a.label,
        "send-verification-email (unverified vs unknown)",
        k,
        u,
    );
    let (k, u) = pairs(
        &client,
        &reset,
        a.pairs,
        &json!({"email": a.verified}),
        unknown("stranger"),
    )
    .await;
    report(&a.label, "request-password-reset (known vs unknown)", k, u);
}
