//! Test support used by every integration test: starts the real server
//! in-process on 127.0.0.1 and a free port, against SQLite in a temporary
//! folder or a fresh PostgreSQL database that is created with a unique name
//! and dropped afterwards.
//!
//! PostgreSQL comes from `DATABASE_URL_TEST` (any database on the server; it
//! is only used to create and drop test databases), else
//! `postgres://postgres@127.0.0.1:5432/postgres`.

#![allow(dead_code)]

pub mod api;
pub mod auth;
pub mod chat;
pub mod cli;
pub mod courses;
pub mod exercises;
pub mod fake_llm;
pub mod fake_qdrant;
pub mod http;
pub mod legacy;
pub mod pg;
pub mod proxy;
pub mod server;
pub mod webauthn;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use common::{Db, ManualClock, Role};
use intellistack::App;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use pg::PgDatabase;

pub const TEST_SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
}

/// Extra settings for a test server.
#[derive(Default)]
pub struct Options {
    /// Environment-style variables layered over the test defaults.
    pub vars: HashMap<String, String>,
    /// Roles to serve; all when empty.
    pub roles: BTreeSet<Role>,
    /// Overrides the database URL (for example to go through a [`proxy::TcpProxy`]).
    pub database_url: Option<String>,
    /// Replaces the password hasher (a cheaper cost, for tests that compare
    /// everything but the hash).
    pub hasher: Option<::auth::password::Hasher>,
    /// The host in the server's public URL (default 127.0.0.1); WebAuthn in
    /// browsers needs a name, such as `localhost`, rather than an address.
    pub host: Option<String>,
    /// Holds the search index's first build until the semaphore gets a
    /// permit (the server then says search is warming up). Without it the
    /// server is returned once its index is ready.
    pub hold_search: Option<Arc<tokio::sync::Semaphore>>,
}

impl Options {
    pub fn var(mut self, key: &str, value: impl Into<String>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }
}

/// A running server. Dropping it stops the server and removes its data.
pub struct TestServer {
    pub url: String,
    pub app_auth: ::auth::Auth,
    pub addr: SocketAddr,
    pub db: Db,
    pub clock: ManualClock,
    pub dir: TempDir,
    /// The database URL the server uses (to start another instance on it).
    pub database_url: String,
    /// The server's search index (state and counters).
    pub search: Arc<tutor::retrieval::index::SearchIndex>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    pg: Option<PgDatabase>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, Options::default()).await
    }

    pub async fn start_with(backend: Backend, opts: Options) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("local addr");
        let url = format!(
            "http://{}:{}",
            opts.host.as_deref().unwrap_or("127.0.0.1"),
            addr.port()
        );

        let (pg, database_url): (Option<PgDatabase>, String) =
            match (backend, opts.database_url.clone()) {
                (_, Some(u)) => (None, u),
                (Backend::Sqlite, None) => (
                    None,
                    format!("sqlite://{}", dir.path().join("test.db").display()),
                ),
                (Backend::Postgres, None) => {
                    let pg = PgDatabase::create().await;
                    let u = pg.url.clone();
                    (Some(pg), u)
                }
            };

        let mut vars: HashMap<String, String> = [
            ("DATA_DIR", dir.path().display().to_string()),
            ("DATABASE_URL", database_url),
            ("BETTER_AUTH_SECRET", TEST_SECRET.to_string()),
            ("BETTER_AUTH_URL", url.clone()),
            ("PORT", addr.port().to_string()),
            // Most tests make many requests from one address; the rate-limit
            // tests switch this back on.
            ("AUTH_RATE_LIMIT_ENABLED", "false".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        vars.extend(opts.vars);
        let vars_db_url = vars["DATABASE_URL"].clone();
        let config = intellistack::Settings::from_vars(&vars).expect("test configuration");
        let searches = config.chat.responder == ::api::settings::ResponderKind::Tutor;

        let roles = if opts.roles.is_empty() {
            Role::ALL.into_iter().collect()
        } else {
            opts.roles
        };
        let db = intellistack::startup::open_database(&config)
            .await
            .expect("open and migrate the test database");
        let clock = ManualClock::new(chrono::Utc::now());
        let shared: common::SharedClock = Arc::new(clock.clone());
        intellistack::startup::seed_content(&db, &shared)
            .await
            .expect("load the sample course");
        let mut app = App::new(config, db.clone(), Arc::new(clock.clone()), roles)
            .expect("wire the application");
        if let Some(hasher) = opts.hasher {
            app.state.auth.hasher = hasher;
        }
        let app_auth = app.state.auth.clone();
        let search = app.state.api.search.clone();
        let held = opts.hold_search.is_some();
        if let Some(gate) = opts.hold_search {
            search.hold_first_build(gate);
        }
        let searches = searches && roles_of(&app).contains(&Role::Api);

        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(intellistack::server::serve(app, listener, async {
            let _ = rx.await;
        }));
        if searches && !held {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while search.state() != tutor::retrieval::index::State::Ready {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the search index did not become ready: {:?}",
                    search.state()
                );
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }

        TestServer {
            search,
            database_url: vars_db_url.clone(),
            app_auth,
            url,
            addr,
            db,
            clock,
            dir,
            shutdown: Some(tx),
            task: Some(task),
            pg,
        }
    }

    /// The identity service behind this server.
    pub fn auth(&self) -> &::auth::Auth {
        &self.app_auth
    }

    /// An absolute URL for `path` on this server.
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// Waits until the vector store matches the content the database holds
    /// now (it follows the index in the background), and returns what
    /// `/ready` says of it.
    pub async fn vectors_synced(&self) -> serde_json::Value {
        let (seq,): (i64,) = common::on_db!(&self.db, pool => sqlx::query_as(
            "SELECT COALESCE(MAX(seq), 0) FROM content_version").fetch_one(pool).await)
        .expect("read the content version");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            // Catches the index up at once rather than at its next poll.
            let _ = self.search.refresh().await;
            let ready: serde_json::Value = reqwest::get(self.at("/ready"))
                .await
                .expect("GET /ready")
                .json()
                .await
                .expect("/ready answers JSON");
            let v = &ready["search"]["vectors"];
            if v["state"] == "ready" && v["seq"].as_i64() >= Some(seq) {
                return v.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the vector store did not catch up with change {seq}: {ready}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// A client that keeps cookies, like a browser.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client")
    }

    /// Stops accepting connections and waits for in-flight requests.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.db.close().await;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.search.halt();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn roles_of(app: &App) -> BTreeSet<Role> {
    app.state.roles.iter().copied().collect()
}

/// Declares one test per database, so a failure names the database:
/// `per_database! { async fn name(backend) { … } }` makes `name::sqlite`
/// and `name::postgres`.
#[macro_export]
macro_rules! per_database {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($backend: $crate::support::Backend) $body
            #[tokio::test]
            async fn sqlite() {
                run($crate::support::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                run($crate::support::Backend::Postgres).await
            }
        }
    )*};
}
