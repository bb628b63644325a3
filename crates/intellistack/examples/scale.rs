//! Retrieval at catalogue scale: a generated course of N lessons.
//!
//! For each size it generates a catalogue (stages of 100 lessons, four
//! sections each, about 4 KB of Markdown per lesson) once under `--work`,
//! then with the release binary (`--bin`) on SQLite measures:
//! `content import` time; start-up to search ready, first with no index on
//! disk (a full build) and then reopening it; the first turn sent during
//! the build and right after a restart; tutor-turn latency p50/p99
//! retrieval-only and with a model double streaming 20 tokens; the time from
//! a one-lesson edit to its text being found, and how many lessons were
//! reindexed; server RSS idle and at its highest during bursts of 30
//! concurrent turns.
//!
//!     cargo run --release -p intellistack --example scale -- --bin target/release/intellistack --lessons 1000,10000 --turns 200

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::{Value, json};

mod support;
use support::process::{free_port, rss_mib, stop};
use support::{api_token, arg, model_double, server_binary, sizes};

const PASSWORD: &str = "Scale-Bench-Pass-1!";
const SECRET: &str = "scale-bench-secret-0123456789abcdef0123456789";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A small deterministic generator: the catalogue is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[(self.next() % words.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "robot",
    "sensor",
    "actuator",
    "controller",
    "feedback",
    "motor",
    "torque",
    "encoder",
    "gyroscope",
    "accelerometer",
    "kinematics",
    "dynamics",
    "trajectory",
    "planner",
    "map",
    "localisation",
    "odometry",
    "lidar",
    "camera",
    "calibration",
    "filter",
    "kalman",
    "noise",
    "signal",
    "frequency",
    "sampling",
    "latency",
    "bandwidth",
    "stability",
    "gain",
    "integral",
    "derivative",
    "proportional",
    "error",
    "setpoint",
    "overshoot",
    "damping",
    "inertia",
    "mass",
    "friction",
    "wheel",
    "joint",
    "link",
    "gripper",
    "manipulator",
    "workspace",
    "frame",
    "transform",
    "rotation",
    "quaternion",
    "velocity",
    "acceleration",
    "force",
    "power",
    "battery",
    "voltage",
    "current",
    "resistance",
    "network",
    "message",
    "topic",
    "node",
    "simulation",
    "model",
    "learning",
    "policy",
    "reward",
    "grid",
    "graph",
    "search",
    "path",
    "obstacle",
    "collision",
    "safety",
    "human",
    "grasp",
    "vision",
    "depth",
    "point",
    "cloud",
    "segment",
    "feature",
    "detection",
    "tracking",
    "estimate",
    "state",
    "observer",
    "bias",
    "drift",
    "scale",
    "offset",
    "measure",
    "update",
    "predict",
    "correct",
    "loop",
    "cycle",
];

fn sentence(rng: &mut Rng) -> String {
    let n = 10 + (rng.next() % 10) as usize;
    let mut s: Vec<&str> = (0..n).map(|_| rng.pick(WORDS)).collect();
    s.push("and");
    s.push(rng.pick(WORDS));
    let mut out = s.join(" ");
    if let Some(c) = out.get(0..1) {
        out = c.to_uppercase() + &out[1..];
    }
    out + "."
}

/// Writes `lessons` lessons (stages of 100) under `root`, once.
fn generate(root: &Path, lessons: usize) -> u64 {
    let course = root.join("catalogue");
    if course.join("course.md").exists() {
        return dir_bytes(&course);
    }
    let mut rng = Rng(0x9e3779b97f4a7c15);
    std::fs::create_dir_all(&course).expect("create the catalogue folder");
    std::fs::write(
        course.join("course.md"),
        "---\nslug: catalogue\ntitle: The Catalogue\nsummary: A generated course.\n---\nA generated course.\n",
    )
    .expect("write course.md");
    let stages = lessons.div_ceil(100);
    for s in 1..=stages {
        let sdir = course.join(format!("{s:03}-stage-{s}"));
        std::fs::create_dir_all(&sdir).expect("create a stage folder");
        std::fs::write(
            sdir.join("stage.md"),
            format!("---\nslug: stage-{s}\ntitle: Stage {s}\nposition: {s}\n---\n"),
        )
        .expect("write stage.md");
        for l in 1..=100usize.min(lessons - (s - 1) * 100) {
            let mut body = format!("Lesson {l} of stage {s} introduces lessonmark{s}x{l}.\n\n");
            for h in 1..=4 {
                body.push_str(&format!("## {} {}\n\n", rng.pick(WORDS).to_uppercase(), h));
                for _ in 0..2 {
                    let para: Vec<String> = (0..4).map(|_| sentence(&mut rng)).collect();
                    body.push_str(&para.join(" "));
                    body.push_str("\n\n");
                }
            }
            std::fs::write(
                sdir.join(format!("{l:03}-lesson-{l}.md")),
                format!("---\nslug: lesson-{l}\ntitle: Lesson {s}.{l}\nposition: {l}\n---\n{body}"),
            )
            .expect("write a lesson");
        }
    }
    dir_bytes(&course)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        dir_bytes(&p)
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

struct Env {
    bin: PathBuf,
    data: PathBuf,
    db: String,
}

impl Env {
    fn command(&self, base: &str, llm: Option<&str>) -> Command {
        let mut c = Command::new(&self.bin);
        for var in [
            "EMBEDDINGS_LOCAL_MODEL",
            "EMBEDDINGS_MODEL",
            "QDRANT_URL",
            "OPENAI_BASE_URL",
            "OPENAI_API_KEY",
            "CONTENT_DIR",
        ] {
            c.env_remove(var);
        }
        c.current_dir(&self.data)
            .env("DATA_DIR", &self.data)
            .env("DATABASE_URL", &self.db)
            .env("BETTER_AUTH_SECRET", SECRET)
            .env("BETTER_AUTH_URL", base)
            .env("AUTH_RATE_LIMIT_ENABLED", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(u) = llm {
            c.env("OPENAI_BASE_URL", u).env("TUTOR_MODEL", "bench");
        }
        c
    }

    fn start(&self, llm: Option<&str>) -> (Server, Instant) {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        // One public URL for every start, so a token outlives a restart.
        let child = self
            .command("http://127.0.0.1:3999", llm)
            .args(["serve", "--port", &port.to_string()])
            .spawn()
            .expect("start the server");
        (Server { child, base }, started)
    }
}

async fn wait_http(http: &reqwest::Client, s: &Server) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !http
        .get(format!("{}/health", s.base))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn search_status(http: &reqwest::Client, s: &Server) -> Value {
    match http.get(format!("{}/ready", s.base)).send().await {
        Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null)["search"].clone(),
        Err(_) => Value::Null,
    }
}

async fn wait_search(http: &reqwest::Client, s: &Server) -> Value {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let st = search_status(http, s).await;
        if st["state"] == "ready" {
            return st;
        }
        assert!(Instant::now() < deadline, "search did not become ready");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn jwt(http: &reqwest::Client, s: &Server) -> String {
    api_token(http, &s.base, "scale@example.com", PASSWORD).await
}

/// One turn: its time and the reply's text.
async fn turn(http: &reqwest::Client, s: &Server, jwt: &str, q: &str) -> (Duration, String) {
    let body = json!({"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": q}], "attachments": [], "inference_options": {}}},
        "metadata": {"page": {"course": "catalogue"}}});
    let started = Instant::now();
    let text = http
        .post(format!("{}/api/v1/chatkit", s.base))
        .bearer_auth(jwt)
        .json(&body)
        .send()
        .await
        .expect("turn")
        .text()
        .await
        .unwrap_or_default();
    (started.elapsed(), text)
}

fn question(rng: &mut Rng) -> String {
    format!(
        "How does the {} affect the {} {}?",
        rng.pick(WORDS),
        rng.pick(WORDS),
        rng.pick(WORDS)
    )
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn latencies(http: &reqwest::Client, s: &Server, jwt: &str, n: usize) -> (f64, f64) {
    let mut rng = Rng(42);
    for _ in 0..5 {
        turn(http, s, jwt, &question(&mut rng)).await;
    }
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        let (d, text) = turn(http, s, jwt, &question(&mut rng)).await;
        assert!(text.contains("assistant_message"), "{text}");
        ms.push(d.as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    (pct(&ms, 0.5), pct(&ms, 0.99))
}

/// The highest RSS seen during three bursts of 30 concurrent turns.
async fn burst_rss(http: &reqwest::Client, s: &Server, jwt: &str) -> f64 {
    let pid = s.child.id();
    let mut top: f64 = 0.0;
    let mut rng = Rng(7);
    for _ in 0..3 {
        let qs: Vec<String> = (0..30).map(|_| question(&mut rng)).collect();
        let all = futures_util::future::join_all(qs.iter().map(|q| turn(http, s, jwt, q)));
        tokio::pin!(all);
        loop {
            tokio::select! {
                _ = &mut all => break,
                _ = tokio::time::sleep(Duration::from_millis(5)) => top = top.max(rss_mib(pid)),
            }
        }
        top = top.max(rss_mib(pid));
    }
    top
}

/// The model double: 20 tokens at once.
async fn completion() -> Response {
    let mut frames = String::new();
    for i in 0..20 {
        frames.push_str(&format!(
            "data: {}\n\n",
            json!({"choices": [{"index": 0, "delta": {"content": format!("word{i} ")}}]})
        ));
    }
    frames.push_str(&format!(
        "data: {}\n\ndata: [DONE]\n\n",
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    ));
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(futures_util::stream::once(async move {
            Ok::<_, Infallible>(Bytes::from(frames))
        })))
        .unwrap_or_default()
}

async fn lesson_id(http: &reqwest::Client, s: &Server, jwt: &str) -> String {
    let v: Value = http
        .get(format!(
            "{}/api/v1/courses/catalogue/lessons/stage-1/lesson-1",
            s.base
        ))
        .bearer_auth(jwt)
        .send()
        .await
        .expect("lesson")
        .json()
        .await
        .expect("json");
    v["id"].as_str().expect("lesson id").to_string()
}

#[tokio::main]
async fn main() {
    let bin = server_binary();
    let work = PathBuf::from(arg("--work").unwrap_or_else(|| "bench/scale-work".into()));
    std::fs::create_dir_all(&work).expect("create the work folder");
    let work = std::fs::canonicalize(&work).expect("work folder");
    let turns: usize = arg("--turns").and_then(|t| t.parse().ok()).unwrap_or(200);
    let sizes = sizes("--lessons", "1000,10000");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");

    let llm_url = model_double(completion).await;

    let mut rows: Vec<Vec<String>> = Vec::new();
    for n in sizes {
        let root = work.join(format!("{n}"));
        std::fs::create_dir_all(&root).expect("create a size folder");
        let bytes = generate(&root, n);
        let data = root.join("data");
        let db_path = root.join("scale.db");
        let env = Env {
            bin: bin.clone(),
            data: data.clone(),
            db: format!("sqlite://{}", db_path.display()),
        };
        std::fs::create_dir_all(&data).expect("data folder");
        // The import runs once per catalogue: its time is kept beside it.
        let import_file = root.join("import-seconds");
        let import_s: f64 = match std::fs::read_to_string(&import_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            Some(s) => s,
            None => {
                let _ = std::fs::remove_file(&db_path);
                let started = Instant::now();
                let ok = env
                    .command("http://127.0.0.1:1", None)
                    .args(["content", "import"])
                    .arg(root.join("catalogue"))
                    .status()
                    .expect("run content import");
                assert!(ok.success(), "content import failed");
                let s = started.elapsed().as_secs_f64();
                std::fs::write(&import_file, format!("{s}")).expect("keep the import time");
                let _ = env
                    .command("http://127.0.0.1:1", None)
                    .args([
                        "users",
                        "create",
                        "--email",
                        "scale@example.com",
                        "--role",
                        "admin",
                        "--password",
                        PASSWORD,
                    ])
                    .status();
                s
            }
        };
        eprintln!(
            "{n} lessons: catalogue {:.1} MB, import {import_s:.1} s",
            bytes as f64 / 1e6
        );

        // 1. No index on disk: a full build in the background.
        let _ = std::fs::remove_dir_all(data.join("search"));
        let (server, started) = env.start(None);
        wait_http(&http, &server).await;
        let jwt = jwt(&http, &server).await;
        let (first_d, first_text) =
            turn(&http, &server, &jwt, "How does feedback correct drift?").await;
        let first_warming = first_text.contains("Search is warming up");
        let st = wait_search(&http, &server).await;
        let build_s = started.elapsed().as_secs_f64();
        let passages = st["passages"].as_u64().unwrap_or(0);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let idle = rss_mib(server.child.id());
        let (p50, p99) = latencies(&http, &server, &jwt, turns).await;
        let burst = burst_rss(&http, &server, &jwt).await;
        // 2. One lesson edited: time until its new text is found.
        let id = lesson_id(&http, &server, &jwt).await;
        let before = search_status(&http, &server).await["lessons_reindexed"]
            .as_u64()
            .unwrap_or(0);
        // A word no run has used yet, so the catalogue can be reused.
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let word = format!("zanzibarite{nonce}");
        let edited = Instant::now();
        let res = http
            .patch(format!("{}/api/v1/lessons/{id}", server.base))
            .bearer_auth(&jwt)
            .json(&json!({"body": format!("## Couplings\n\nThe {word} coupling joins two shafts without backlash.\n")}))
            .send()
            .await
            .expect("edit");
        assert!(res.status().is_success(), "edit: {}", res.status());
        let found = loop {
            let (_, text) =
                turn(&http, &server, &jwt, &format!("what is a {word} coupling?")).await;
            if text.contains(&word) {
                break edited.elapsed();
            }
            assert!(
                edited.elapsed() < Duration::from_secs(60),
                "the edit was never found"
            );
        };
        let reindexed = search_status(&http, &server).await["lessons_reindexed"]
            .as_u64()
            .unwrap_or(0)
            - before;
        drop(server);

        // 3. Restart: the index is reopened from disk and caught up.
        let (server, started) = env.start(None);
        wait_http(&http, &server).await;
        let (restart_turn, text) =
            turn(&http, &server, &jwt, &format!("what is a {word} coupling?")).await;
        let restart_found = text.contains(&word);
        wait_search(&http, &server).await;
        let reopen_s = started.elapsed().as_secs_f64();
        drop(server);

        // 4. With the model double.
        let (server, _) = env.start(Some(&llm_url));
        wait_http(&http, &server).await;
        wait_search(&http, &server).await;
        let (m50, m99) = latencies(&http, &server, &jwt, turns).await;
        let mburst = burst_rss(&http, &server, &jwt).await;
        drop(server);

        rows.push(vec![
            format!("{n}"),
            format!("{passages}"),
            format!("{:.1} MB", bytes as f64 / 1e6),
            format!("{import_s:.1} s"),
            format!("{build_s:.2} s"),
            format!(
                "{:.0} ms ({})",
                first_d.as_secs_f64() * 1000.0,
                if first_warming {
                    "warming notice"
                } else {
                    "answered"
                }
            ),
            format!("{reopen_s:.2} s"),
            format!(
                "{:.0} ms ({})",
                restart_turn.as_secs_f64() * 1000.0,
                if restart_found {
                    "answered, edit found"
                } else {
                    "edit not found"
                }
            ),
            format!(
                "{:.0} ms ({reindexed} lesson)",
                found.as_secs_f64() * 1000.0
            ),
            format!("{p50:.1} / {p99:.1} ms"),
            format!("{m50:.1} / {m99:.1} ms"),
            format!("{idle:.1} MiB"),
            format!("{burst:.1} / {mburst:.1} MiB"),
        ]);
    }
    println!(
        "| lessons | passages | Markdown | import | start-up → search ready (full build) | a turn during the build | restart → ready (reopened) | first turn after restart | edit → found (reindexed) | turn p50 / p99, retrieval-only | turn p50 / p99, model double | RSS idle | RSS top, 30 concurrent turns (retrieval-only / model) |"
    );
    println!("|{}", " --- |".repeat(13));
    for r in rows {
        println!("| {} |", r.join(" | "));
    }
}
