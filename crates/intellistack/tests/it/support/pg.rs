//! Fresh PostgreSQL databases for tests, created with a unique name and
//! dropped when the handle goes out of scope.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{Connection, Executor, PgConnection};

const PREFIX: &str = "intellistack_test_";

/// The maintenance connection URL.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL_TEST")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `admin_url` with its database name replaced.
pub fn url_for(db: &str) -> String {
    let mut url =
        url::Url::parse(&admin_url()).expect("DATABASE_URL_TEST must be a postgres:// URL");
    url.set_path(&format!("/{db}"));
    url.to_string()
}

async fn admin() -> PgConnection {
    PgConnection::connect(&admin_url()).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach PostgreSQL at {} ({e}); start it, or set DATABASE_URL_TEST to a server where this user may create databases",
            common::config::redact_url(&admin_url())
        )
    })
}

pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create() -> PgDatabase {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let mut conn = admin().await;
        drop_orphans(&mut conn).await;
        let name = format!(
            "{PREFIX}{}_{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            common::ids::random_alphanumeric(6).to_lowercase()
        );
        conn.execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .await
            .expect("create test database");
        let _ = conn.close().await;
        PgDatabase {
            url: url_for(&name),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop runs outside async context: use a private runtime on a thread.
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    if let Ok(mut conn) = PgConnection::connect(&admin_url()).await {
                        let _ = conn
                            .execute(sqlx::AssertSqlSafe(format!(
                                r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                            )))
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

/// Removes databases left by test processes that no longer run (killed runs).
async fn drop_orphans(conn: &mut PgConnection) {
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE $1")
            .bind(format!("{PREFIX}%"))
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let pid = name[PREFIX.len()..]
            .split('_')
            .next()
            .and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = conn
                .execute(sqlx::AssertSqlSafe(format!(
                    r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                )))
                .await;
        }
    }
}
