//! Turns never build the retrieval index: it is built once in the background
//! at start-up, a lesson edit is applied as a one-lesson delta however many
//! turns arrive together, a restart reopens the index on disk, and a cold
//! burst of 30 turns with no index on disk still builds it exactly once. The
//! server's memory stays within 60 MB of a warm server. The server runs as
//! its own process, so its resident memory is its own and the counters
//! (`/metrics`) are its own.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::http::text_at;
use crate::support::{Backend, PgDatabase, TEST_SECRET};

struct Server {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

// The benches run the server binary the same way.
#[path = "../../examples/support/process.rs"]
mod process;
use process::{free_port, rss_mib, stop};

const PASSWORD: &str = "Burst-Test-Pass-1!";

async fn start(db_url: &str, dir: &std::path::Path) -> Server {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env = |c: &mut Command| {
        // The default configuration: BM25 alone, no model. (A test run may
        // export a local embedding model for other tests.)
        for var in [
            "EMBEDDINGS_LOCAL_MODEL",
            "EMBEDDINGS_MODEL",
            "EMBEDDINGS_BASE_URL",
            "QDRANT_URL",
            "OPENAI_BASE_URL",
            "OPENAI_API_KEY",
            "CONTENT_DIR",
        ] {
            c.env_remove(var);
        }
        c.current_dir(dir)
            .env("DATA_DIR", dir)
            .env("DATABASE_URL", db_url)
            .env("BETTER_AUTH_SECRET", TEST_SECRET)
            .env("BETTER_AUTH_URL", &base)
            .env("AUTH_RATE_LIMIT_ENABLED", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    };
    let mut create = Command::new(env!("CARGO_BIN_EXE_intellistack"));
    env(&mut create);
    // A second start on the same database finds the user already there.
    let _ = create
        .args([
            "users",
            "create",
            "--email",
            "burst@example.com",
            "--role",
            "admin",
            "--password",
            PASSWORD,
        ])
        .status()
        .unwrap();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_intellistack"));
    env(&mut serve);
    let child = serve
        .args(["serve", "--port", &port.to_string()])
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base,
        http: reqwest::Client::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !server
        .http
        .get(format!("{}/ready", server.base))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

/// Sends `req` and reads its JSON answer.
async fn json_of(req: reqwest::RequestBuilder) -> Value {
    req.send().await.unwrap().json().await.unwrap()
}

impl Server {
    async fn jwt(&self) -> String {
        let signed = json_of(
            self.http
                .post(format!("{}/api/auth/sign-in/email", self.base))
                .json(&json!({"email": "burst@example.com", "password": PASSWORD})),
        )
        .await;
        let session = signed["token"].as_str().unwrap().to_string();
        let jwt = json_of(
            self.http
                .get(format!("{}/api/auth/token", self.base))
                .bearer_auth(&session),
        )
        .await;
        jwt["token"].as_str().unwrap().to_string()
    }

    async fn turn(&self, jwt: &str, i: usize) {
        let body = json!({"type": "threads.create", "params": {"input": {"content": [{"type": "input_text", "text": format!("Question {i}: how does a PID controller correct drift?")}], "attachments": [], "inference_options": {}}},
            "metadata": {"page": {"course": "physical-ai"}}});
        let res = self
            .http
            .post(format!("{}/api/v1/chatkit", self.base))
            .bearer_auth(jwt)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        assert!(text.contains("assistant_message"), "{text}");
    }

    async fn burst(&self, jwt: &str, n: usize) {
        futures_util::future::join_all((0..n).map(|i| self.turn(jwt, i))).await;
    }

    async fn builds(&self) -> u64 {
        self.counter("tutor_index_builds_total").await
    }

    async fn counter(&self, name: &str) -> u64 {
        let text = text_at(&self.http, format!("{}/metrics", self.base)).await;
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    async fn search_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = json_of(self.http.get(format!("{}/ready", self.base))).await;
            if r["search"]["state"] == "ready" {
                return;
            }
            assert!(Instant::now() < deadline, "search never became ready: {r}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn rss(&self) -> f64 {
        rss_mib(self.child.id())
    }
}

crate::per_database! {
    async fn a_cold_burst_of_turns_builds_the_index_once(backend) {
        let dir = tempfile::tempdir().unwrap();
        let pg = match backend {
            Backend::Postgres => Some(PgDatabase::create().await),
            Backend::Sqlite => None,
        };
        let url = pg
            .as_ref()
            .map(|p| p.url.clone())
            .unwrap_or_else(|| format!("sqlite://{}/burst.db", dir.path().display()));

        // Warm: one turn built the index.
        let warm_server = start(&url, dir.path()).await;
        let jwt = warm_server.jwt().await;
        warm_server.search_ready().await;
        warm_server.turn(&jwt, 0).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let warm = warm_server.rss();
        assert_eq!(warm_server.builds().await, 1);

        // After a lesson edit, 30 turns at once: one more build.
        let (_, lesson) = {
            let res = warm_server
                .http
                .get(format!(
                    "{}/api/v1/courses/physical-ai/lessons/control/feedback-and-pid",
                    warm_server.base
                ))
                .bearer_auth(&jwt)
                .send()
                .await
                .unwrap();
            (res.status(), res.json::<Value>().await.unwrap())
        };
        let res = warm_server
            .http
            .patch(format!(
                "{}/api/v1/lessons/{}",
                warm_server.base,
                lesson["id"].as_str().unwrap()
            ))
            .bearer_auth(&jwt)
            .json(&json!({"title": "Feedback and PID, revised"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        warm_server.burst(&jwt, 30).await;
        let after_edit = warm_server.rss();
        assert_eq!(
            warm_server.builds().await,
            1,
            "{backend:?}: the edit's burst rebuilt nothing"
        );
        assert_eq!(
            warm_server
                .counter("tutor_index_lessons_reindexed_total")
                .await,
            1,
            "{backend:?}: the edited lesson was reindexed once, alone"
        );
        drop(warm_server);

        // Restarted: the index on disk is reopened, a burst builds nothing.
        let reopened = start(&url, dir.path()).await;
        let jwt = reopened.jwt().await;
        reopened.burst(&jwt, 30).await;
        reopened.search_ready().await;
        assert_eq!(reopened.builds().await, 0, "{backend:?}: reopened");
        // Every counter is listed, those still at 0 included.
        let text = text_at(&reopened.http, format!("{}/metrics", reopened.base)).await;
        for name in [
            "tutor_index_builds_total",
            "tutor_index_lessons_reindexed_total",
        ] {
            assert!(
                text.lines().any(|l| l.split_whitespace().next() == Some(name)),
                "{backend:?}: {name} is not listed"
            );
        }
        assert_eq!(
            reopened.counter("tutor_index_reopened_total").await,
            1,
            "{backend:?}"
        );
        drop(reopened);

        // Cold, with no index on disk: 30 turns right after start-up.
        std::fs::remove_dir_all(dir.path().join("search")).unwrap();
        let cold_server = start(&url, dir.path()).await;
        let jwt = cold_server.jwt().await;
        cold_server.burst(&jwt, 30).await;
        // The turns did not wait for it (they may have been told search is
        // warming up); the one build finishes in the background.
        cold_server.search_ready().await;
        let cold = cold_server.rss();
        assert_eq!(
            cold_server.builds().await,
            1,
            "{backend:?}: the cold burst built the index once"
        );
        println!(
            "{backend:?}: RSS warm {warm:.1} MiB, after an edit and 30 turns {after_edit:.1} MiB, 30 turns from cold {cold:.1} MiB"
        );
        assert!(
            after_edit - warm <= 60.0,
            "{backend:?}: {after_edit:.1} MiB after the edit's burst, warm {warm:.1} MiB"
        );
        assert!(
            cold - warm <= 60.0,
            "{backend:?}: {cold:.1} MiB after the cold burst, warm {warm:.1} MiB"
        );
        drop(cold_server);
        drop(pg);
    }
}
