//! Start-up: configuration, database, migrations and the listening socket,
//! each failure turned into one line that says what to do and an exit code.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use common::{Config, ConfigError, Db, DbError, Role, SystemClock};
use tokio::net::TcpListener;

use crate::app::App;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    #[error(
        "port {port} on {bind} is already in use: stop the process using it, or choose another with --port or PORT"
    )]
    PortInUse { bind: std::net::IpAddr, port: u16 },
    #[error("cannot listen on {addr}: {source}; check --bind/BIND_ADDR and --port/PORT")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}; check DATABASE_URL and that the database server is running")]
    Database(#[from] DbError),
    #[error("cannot load course content: {0}")]
    Content(String),
    #[error("embedding model: {0}")]
    Embeddings(String),
    #[error("mail configuration error: {0}; check SMTP_URL, RESEND_API_KEY and MAIL_FROM")]
    Mail(#[from] auth::mail::MailError),
    #[error(
        "refusing to serve development mode on {bind}, which other machines can reach: development mode keeps mail in an outbox and generates its own secret. Set INTELLISTACK_ENV=production (with BETTER_AUTH_SECRET) for a server others use, listen on 127.0.0.1 (--bind/BIND_ADDR), or set DEV_ALLOW_PUBLIC_BIND=true to accept the risk"
    )]
    PublicDevelopment { bind: std::net::IpAddr },
}

impl StartError {
    /// 2 for what the operator must change in the configuration, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::Config(_)
            | StartError::PortInUse { .. }
            | StartError::Bind { .. }
            | StartError::Mail(_)
            | StartError::PublicDevelopment { .. }
            | StartError::Embeddings(_) => 2,
            StartError::Database(_) | StartError::Content(_) => 1,
        }
    }
}

/// Development mode is for one machine: beyond loopback it needs an explicit
/// opt-in, and then it says so loudly.
pub fn check_exposure(config: &Config) -> Result<(), StartError> {
    let ip = match config.bind {
        std::net::IpAddr::V6(v6) => v6.to_canonical(),
        v4 => v4,
    };
    if config.mode.is_production() || ip.is_loopback() {
        return Ok(());
    }
    if !config.allow_public_dev {
        return Err(StartError::PublicDevelopment { bind: config.bind });
    }
    let warning = format!(
        "DEVELOPMENT MODE ON {}: other machines can reach this server; the mail outbox answers only loopback clients and admins, but the secret is generated and cookies are not Secure. Use INTELLISTACK_ENV=production for anything others use.",
        config.bind
    );
    eprintln!("warning: {warning}");
    tracing::warn!("{warning}");
    Ok(())
}

/// Binds the listening socket before anything slow happens, so a port
/// conflict is reported at once.
pub async fn bind(config: &Config) -> Result<TcpListener, StartError> {
    check_exposure(config)?;
    let addr = SocketAddr::new(config.bind, config.port);
    TcpListener::bind(addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            StartError::PortInUse {
                bind: config.bind,
                port: config.port,
            }
        } else {
            StartError::Bind { addr, source }
        }
    })
}

/// Connects to the database and applies the embedded migrations.
pub async fn open_database(config: &Config) -> Result<Db, StartError> {
    let db = Db::connect(&config.database).await?;
    db.migrate().await?;
    Ok(db)
}

/// Loads the sample course shipped in the binary when it is not there yet.
pub async fn seed_content(db: &Db, clock: &common::SharedClock) -> Result<(), StartError> {
    let imported = api::seed::sample(db, clock)
        .await
        .map_err(|e| StartError::Content(e.to_string()))?;
    for slug in imported {
        tracing::info!(course = %slug, "sample course loaded");
    }
    Ok(())
}

/// Loads the courses of `CONTENT_DIR` that are not there yet. A file that
/// does not parse (a bad exercise included) stops start-up and says which.
pub async fn seed_folder(
    db: &Db,
    clock: &common::SharedClock,
    dir: &std::path::Path,
) -> Result<(), StartError> {
    let docs = api::content::loader::from_dir(dir).map_err(|e| {
        StartError::Content(format!(
            "{e}; fix the file (CONTENT_DIR={}) and start again",
            dir.display()
        ))
    })?;
    let imported = api::seed::import(db, clock, &docs)
        .await
        .map_err(|e| StartError::Content(e.to_string()))?;
    for slug in imported {
        tracing::info!(course = %slug, dir = %dir.display(), "course loaded");
    }
    Ok(())
}

/// Builds the application for the given roles on a migrated database.
pub async fn build_app(config: crate::Settings, roles: BTreeSet<Role>) -> Result<App, StartError> {
    let db = open_database(&config).await?;
    let clock: common::SharedClock = Arc::new(SystemClock);
    seed_content(&db, &clock).await?;
    if let Some(dir) = &config.content_dir {
        seed_folder(&db, &clock, dir).await?;
    }
    App::new(config, db, clock, roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        let mut all: std::collections::HashMap<String, String> = [
            // Parsed, never opened.
            ("DATABASE_URL", "sqlite://data/unused.db"),
            ("BETTER_AUTH_SECRET", "0123456789abcdef0123456789abcdef"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in vars {
            all.insert(k.to_string(), v.to_string());
        }
        Config::from_vars(&all).unwrap()
    }

    #[test]
    fn development_mode_stays_on_loopback_unless_told_otherwise() {
        assert!(check_exposure(&config(&[])).is_ok());
        assert!(check_exposure(&config(&[("BIND_ADDR", "::1")])).is_ok());
        let public = config(&[("BIND_ADDR", "0.0.0.0")]);
        let err = check_exposure(&public).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("DEV_ALLOW_PUBLIC_BIND=true"),
            "{err}"
        );
        assert!(
            check_exposure(&config(&[
                ("BIND_ADDR", "0.0.0.0"),
                ("DEV_ALLOW_PUBLIC_BIND", "true")
            ]))
            .is_ok()
        );
        assert!(
            check_exposure(&config(&[
                ("BIND_ADDR", "0.0.0.0"),
                ("INTELLISTACK_ENV", "production")
            ]))
            .is_ok()
        );
    }
}
