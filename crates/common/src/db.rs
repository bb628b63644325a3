//! The database handle. One `Db` value wraps a concrete SQLite or PostgreSQL
//! pool; domain storage modules write each query once (with `$N`
//! placeholders, which both drivers accept) and run it through [`on_db!`].

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::config::{DatabaseConfig, redact_url};

/// Runs the same expression against whichever pool `db` holds, with the pool
/// bound to `$pool`. The expression is type-checked once per driver, so each
/// query string is written once.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the database {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot create the database folder {path}: {source}")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the database did not answer within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Query(#[from] sqlx::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

impl Db {
    /// Opens the pool. SQLite files (and their folder) are created when missing.
    pub async fn connect(cfg: &DatabaseConfig) -> Result<Db, DbError> {
        match cfg {
            DatabaseConfig::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| DbError::Folder {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .map_err(|source| DbError::Connect {
                        target: format!("sqlite://{}", path.display()),
                        source,
                    })?;
                Ok(Db::Sqlite(pool))
            }
            DatabaseConfig::Postgres { url } => {
                let target = redact_url(url);
                let opts = PgConnectOptions::from_str(url).map_err(|source| DbError::Connect {
                    target: target.clone(),
                    source,
                })?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(opts)
                    .await
                    .map_err(|source| DbError::Connect { target, source })?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    pub fn kind(&self) -> DbKind {
        match self {
            Db::Sqlite(_) => DbKind::Sqlite,
            Db::Postgres(_) => DbKind::Postgres,
        }
    }

    /// Applies the embedded migrations for this driver.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Number of migrations embedded for this driver.
    pub fn migration_count(&self) -> usize {
        match self {
            Db::Sqlite(_) => SQLITE_MIGRATIONS.iter().count(),
            Db::Postgres(_) => POSTGRES_MIGRATIONS.iter().count(),
        }
    }

    /// A round trip to the database, bounded in time; backs `/ready`.
    pub async fn ping(&self, within: Duration) -> Result<(), DbError> {
        let probe =
            async { on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ())) };
        match tokio::time::timeout(within, probe).await {
            Ok(res) => Ok(res?),
            Err(_) => Err(DbError::Timeout(within)),
        }
    }

    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}
