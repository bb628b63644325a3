//! Configuration from environment variables (and an optional `.env`),
//! validated once at start-up. Every error names the variable to set or change.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use url::Url;

pub use crate::settings::Vars;
use crate::settings::{Env, Var, WhenUnset, http_url};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error(
        "{var} has unknown scheme `{scheme}`: use sqlite://PATH or postgres://USER@HOST:PORT/DB"
    )]
    UnknownDatabaseScheme { var: &'static str, scheme: String },
    #[error(
        "{var} is not a valid URL ({reason}): use sqlite://PATH or postgres://USER@HOST:PORT/DB"
    )]
    InvalidDatabaseUrl { var: &'static str, reason: String },
    #[error(
        "{var} is not a valid URL ({reason}): set it to an absolute http(s) URL such as http://localhost:3000"
    )]
    InvalidUrl { var: &'static str, reason: String },
    #[error("{var}=`{value}` is invalid: {expected}")]
    Invalid {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error(
        "BETTER_AUTH_SECRET is not set: production mode needs a secret of at least 32 characters (for example `openssl rand -hex 32`)"
    )]
    MissingSecret,
    #[error("BETTER_AUTH_SECRET is too short ({0} characters): use at least 32 random characters")]
    WeakSecret(usize),
    #[error(
        "cannot keep the development secret in {path}: {reason}; set BETTER_AUTH_SECRET or DATA_DIR"
    )]
    SecretFile { path: String, reason: String },
    #[error("unknown role `{0}` in --roles: use a comma-separated list of auth, api, web")]
    UnknownRole(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

impl Mode {
    pub fn is_production(self) -> bool {
        self == Mode::Production
    }
}

/// One of the three parts of IntelliStack that a process can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Auth,
    Api,
    Web,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Auth, Role::Api, Role::Web];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Auth => "auth",
            Role::Api => "api",
            Role::Web => "web",
        }
    }

    /// Parses `auth,api,web` (any subset, any order).
    pub fn parse_list(list: &str) -> Result<BTreeSet<Role>, ConfigError> {
        let mut roles = BTreeSet::new();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            roles.insert(part.parse()?);
        }
        if roles.is_empty() {
            return Err(ConfigError::UnknownRole(list.to_string()));
        }
        Ok(roles)
    }
}

impl FromStr for Role {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auth" => Ok(Role::Auth),
            "api" => Ok(Role::Api),
            "web" => Ok(Role::Web),
            _ => Err(ConfigError::UnknownRole(s.to_string())),
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseConfig {
    Sqlite { path: PathBuf },
    Postgres { url: String },
}

impl fmt::Debug for DatabaseConfig {
    // The PostgreSQL URL may hold a password: show only what identifies it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseConfig::Sqlite { path } => write!(f, "sqlite://{}", path.display()),
            DatabaseConfig::Postgres { url } => write!(f, "{}", redact_url(url)),
        }
    }
}

impl DatabaseConfig {
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        const VAR: &str = "DATABASE_URL";
        let Some((scheme, rest)) = raw.split_once(':') else {
            return Err(ConfigError::InvalidDatabaseUrl {
                var: VAR,
                reason: "no scheme".into(),
            });
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let path = rest.trim_start_matches("//");
                let path = path.split('?').next().unwrap_or_default();
                if path.is_empty() {
                    return Err(ConfigError::InvalidDatabaseUrl {
                        var: VAR,
                        reason: "no file path".into(),
                    });
                }
                Ok(DatabaseConfig::Sqlite {
                    path: PathBuf::from(path),
                })
            }
            "postgres" | "postgresql" => {
                let url = Url::parse(raw).map_err(|e| ConfigError::InvalidDatabaseUrl {
                    var: VAR,
                    reason: e.to_string(),
                })?;
                if url.host_str().unwrap_or_default().is_empty() {
                    return Err(ConfigError::InvalidDatabaseUrl {
                        var: VAR,
                        reason: "no host".into(),
                    });
                }
                Ok(DatabaseConfig::Postgres {
                    url: raw.to_string(),
                })
            }
            other
                if other.is_empty()
                    || !other.chars().all(|c| c.is_ascii_alphanumeric() || c == '+') =>
            {
                Err(ConfigError::InvalidDatabaseUrl {
                    var: VAR,
                    reason: "no scheme".into(),
                })
            }
            other => Err(ConfigError::UnknownDatabaseScheme {
                var: VAR,
                scheme: other.to_string(),
            }),
        }
    }
}

/// Hides the password of a URL such as `postgres://user:pw@host/db`.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<unparsable url>".into(),
    }
}

/// A secret whose `Debug` never shows its value, so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The variables every role reads: where to listen, the database, the
/// secret and public URL, limits and logging. Each crate declares its own
/// beside its settings type.
pub const VARS: &[&Var] = &[
    ENV,
    BIND_ADDR,
    PORT,
    PUBLIC_DEV,
    DATA_DIR,
    CONTENT_DIR,
    DATABASE_URL,
    SECRET,
    BASE_URL,
    TRUSTED_ORIGINS,
    JWKS_URL,
    REQUEST_TIMEOUT,
    BODY_LIMIT,
    LOG_FORMAT,
    RUST_LOG,
];

const ENV: &Var = &Var::new(
    "INTELLISTACK_ENV",
    WhenUnset::Value("development"),
    "`production` requires `BETTER_AUTH_SECRET` and logs JSON",
);
const BIND_ADDR: &Var = &Var::new(
    "BIND_ADDR",
    WhenUnset::Value("127.0.0.1"),
    "the address to listen on (`--bind` overrides)",
);
const PORT: &Var = &Var::new(
    "PORT",
    WhenUnset::Value("3000"),
    "the port to listen on (`--port` overrides)",
);
const PUBLIC_DEV: &Var = &Var::new(
    "DEV_ALLOW_PUBLIC_BIND",
    WhenUnset::Value("false"),
    "let development mode listen beyond loopback (it warns); refused otherwise",
);
const DATA_DIR: &Var = &Var::new(
    "DATA_DIR",
    WhenUnset::Value("./data"),
    "SQLite file, development secret, mail outbox, the search index (`search/`)",
);
const CONTENT_DIR: &Var = &Var::new(
    "CONTENT_DIR",
    WhenUnset::None,
    "more courses to load at start-up; a file that does not parse (a bad exercise included) stops start-up and names the file",
);
const DATABASE_URL: &Var = &Var::new(
    "DATABASE_URL",
    WhenUnset::Derived("`sqlite://$DATA_DIR/intellistack.db`"),
    "`sqlite://PATH` or `postgres://…`",
);
const SECRET: &Var = &Var::new(
    "BETTER_AUTH_SECRET",
    WhenUnset::Derived("generated in development"),
    "cookie signing and key encryption; ≥ 32 chars",
);
const BASE_URL: &Var = &Var::new(
    "BETTER_AUTH_URL",
    WhenUnset::Derived("`http://localhost:$PORT`"),
    "public URL of the auth role",
);
const TRUSTED_ORIGINS: &Var = &Var::new(
    "BETTER_AUTH_TRUSTED_ORIGINS",
    WhenUnset::None,
    "extra trusted origins, comma-separated",
);
const JWKS_URL: &Var = &Var::new(
    "BETTER_AUTH_JWKS_URL",
    WhenUnset::None,
    "JWKS location when auth runs in another process",
);
const REQUEST_TIMEOUT: &Var = &Var::new(
    "REQUEST_TIMEOUT_SECS",
    WhenUnset::Value("30"),
    "request timeout (408, in the API's error shape)",
);
const BODY_LIMIT: &Var = &Var::new(
    "BODY_LIMIT_BYTES",
    WhenUnset::Value("1048576"),
    "largest request body (413, in the API's error shape)",
);
const LOG_FORMAT: &Var = &Var::new(
    "LOG_FORMAT",
    WhenUnset::Derived("`text` (dev) / `json` (prod)"),
    "log output: `text` or `json`",
);
const RUST_LOG: &Var = &Var::new(
    "RUST_LOG",
    WhenUnset::Derived("`info`"),
    "log filter, tracing syntax",
);

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub bind: IpAddr,
    /// Development mode may listen beyond loopback only with this set
    /// (`DEV_ALLOW_PUBLIC_BIND`).
    pub allow_public_dev: bool,
    pub port: u16,
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub secret: Secret,
    /// Public origin of the auth role (`BETTER_AUTH_URL`).
    pub base_url: Url,
    /// Origins allowed to send credentialed requests; always includes `base_url`'s origin.
    pub trusted_origins: Vec<String>,
    /// Where the api role fetches keys when auth runs elsewhere.
    pub jwks_url: Option<Url>,
    pub request_timeout: Duration,
    pub body_limit: usize,
    pub log_format: LogFormat,
    /// Whether `BETTER_AUTH_URL` was given (else it follows the port).
    pub base_url_explicit: bool,
    /// Courses to load at start-up besides the sample course (`CONTENT_DIR`).
    pub content_dir: Option<PathBuf>,
}

impl Config {
    /// Builds and validates the shared settings. In development mode a
    /// missing secret is generated once and kept under the data directory.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let env = Env::new(vars);
        let mode = env
            .choice(
                ENV,
                &[
                    ("development", Mode::Development),
                    ("dev", Mode::Development),
                    ("production", Mode::Production),
                    ("prod", Mode::Production),
                ],
                "use development or production",
            )?
            .unwrap_or(Mode::Development);
        let bind = env
            .parse(BIND_ADDR, "an IP address such as 127.0.0.1 or 0.0.0.0")?
            .unwrap_or([127, 0, 0, 1].into());
        let allow_public_dev = env.flag(PUBLIC_DEV)?;
        let port = env
            .parse(PORT, "a port number from 1 to 65535")?
            .unwrap_or(3000u16);
        let data_dir = PathBuf::from(env.get(DATA_DIR).unwrap_or("./data"));
        let database = match env.get(DATABASE_URL) {
            Some(raw) => DatabaseConfig::parse(raw)?,
            None => DatabaseConfig::Sqlite {
                path: data_dir.join("intellistack.db"),
            },
        };
        let base_url_explicit = env.set(BASE_URL).is_some();
        let base_url = match env.set(BASE_URL) {
            Some(raw) => http_url(BASE_URL.name, raw)?,
            None => http_url(BASE_URL.name, &format!("http://localhost:{port}"))?,
        };
        let jwks_url = env.url(JWKS_URL)?;

        let mut trusted_origins = vec![origin_of(&base_url)];
        for raw in env.list(TRUSTED_ORIGINS) {
            // Wildcard and custom-scheme patterns are kept verbatim; plain
            // http(s) origins are normalised so comparisons are exact.
            let value = if raw.contains('*')
                || !(raw.starts_with("http://") || raw.starts_with("https://"))
            {
                raw.to_string()
            } else {
                origin_of(&http_url(TRUSTED_ORIGINS.name, raw.trim_end_matches('/'))?)
            };
            if !trusted_origins.contains(&value) {
                trusted_origins.push(value);
            }
        }

        let request_timeout = Duration::from_secs(
            env.parse_within(
                REQUEST_TIMEOUT,
                "a whole number of seconds greater than 0",
                |s: &u64| *s > 0,
            )?
            .unwrap_or(30),
        );
        let body_limit = env
            .parse(BODY_LIMIT, "a size in bytes")?
            .unwrap_or(1024 * 1024usize);
        let log_format = env
            .choice(
                LOG_FORMAT,
                &[("json", LogFormat::Json), ("text", LogFormat::Text)],
                "use text or json",
            )?
            .unwrap_or(if mode.is_production() {
                LogFormat::Json
            } else {
                LogFormat::Text
            });

        let secret = match env.set(SECRET) {
            Some(s) if s.chars().count() < 32 && mode.is_production() => {
                return Err(ConfigError::WeakSecret(s.chars().count()));
            }
            Some(s) => Secret::new(s),
            None if mode.is_production() => return Err(ConfigError::MissingSecret),
            None => dev_secret(&data_dir)?,
        };

        Ok(Config {
            content_dir: env.get(CONTENT_DIR).map(PathBuf::from),
            base_url_explicit,
            mode,
            bind,
            allow_public_dev,
            port,
            data_dir,
            database,
            secret,
            base_url,
            trusted_origins,
            jwks_url,
            request_timeout,
            body_limit,
            log_format,
        })
    }

    /// Applies a `--port` override; a default base URL follows it.
    pub fn set_port(&mut self, port: u16) {
        self.port = port;
        if !self.base_url_explicit {
            let old = origin_of(&self.base_url);
            if self.base_url.set_port(Some(port)).is_ok() {
                let new = origin_of(&self.base_url);
                for o in &mut self.trusted_origins {
                    if *o == old {
                        *o = new.clone();
                    }
                }
            }
        }
    }

    pub fn is_https(&self) -> bool {
        self.base_url.scheme() == "https"
    }
}

/// Reads `.env` (when present; existing variables win), then the process
/// environment.
pub fn process_vars() -> Vars {
    // A missing `.env` is the usual case in production, not an error.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        tracing::warn!(error = %e, "cannot read .env");
    }
    std::env::vars().collect()
}

/// `scheme://host[:port]` of a URL, the form browsers send in `Origin`.
pub fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Reads the development secret, creating it (owner-only) on first use.
fn dev_secret(data_dir: &Path) -> Result<Secret, ConfigError> {
    let path = data_dir.join("dev-secret");
    let fail = |e: std::io::Error| ConfigError::SecretFile {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => return Ok(Secret::new(s.trim())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    std::fs::create_dir_all(data_dir).map_err(fail)?;
    let bytes: [u8; 32] = crate::ids::random_bytes();
    let value: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &value).map_err(fail)?;
    Ok(Secret::new(value))
}

#[cfg(unix)]
fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(value.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    std::fs::write(path, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::vars;

    #[test]
    fn defaults_to_sqlite_under_data_and_generates_a_private_dev_secret() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let cfg = Config::from_vars(&vars(&[("DATA_DIR", d)])).unwrap();
        assert_eq!(cfg.port, 3000);
        assert_eq!(
            cfg.database,
            DatabaseConfig::Sqlite {
                path: dir.path().join("intellistack.db")
            }
        );
        assert_eq!(
            cfg.trusted_origins,
            vec!["http://localhost:3000".to_string()]
        );
        let again = Config::from_vars(&vars(&[("DATA_DIR", d)])).unwrap();
        assert_eq!(cfg.secret, again.secret, "the generated secret is kept");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("dev-secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn production_requires_a_strong_secret() {
        let err = Config::from_vars(&vars(&[("INTELLISTACK_ENV", "production")])).unwrap_err();
        assert_eq!(err, ConfigError::MissingSecret);
        let err = Config::from_vars(&vars(&[
            ("INTELLISTACK_ENV", "production"),
            ("BETTER_AUTH_SECRET", "short"),
        ]))
        .unwrap_err();
        assert_eq!(err, ConfigError::WeakSecret(5));
    }

    #[test]
    fn database_urls_are_checked() {
        assert!(matches!(
            DatabaseConfig::parse("mysql://root@localhost/db"),
            Err(ConfigError::UnknownDatabaseScheme { .. })
        ));
        assert!(matches!(
            DatabaseConfig::parse("postgres://"),
            Err(ConfigError::InvalidDatabaseUrl { .. })
        ));
        assert!(matches!(
            DatabaseConfig::parse("not a url"),
            Err(ConfigError::InvalidDatabaseUrl { .. })
        ));
        assert_eq!(
            DatabaseConfig::parse("sqlite://./data/x.db").unwrap(),
            DatabaseConfig::Sqlite {
                path: PathBuf::from("./data/x.db")
            }
        );
        assert!(matches!(
            DatabaseConfig::parse("postgresql://u:p@127.0.0.1:5432/db").unwrap(),
            DatabaseConfig::Postgres { .. }
        ));
    }

    #[test]
    fn secrets_and_passwords_never_show_in_debug_output() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::from_vars(&vars(&[
            ("DATA_DIR", dir.path().to_str().unwrap()),
            (
                "BETTER_AUTH_SECRET",
                "super-secret-value-that-is-long-enough",
            ),
            ("DATABASE_URL", "postgres://app:hunter2@db.example:5432/app"),
        ]))
        .unwrap();
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("super-secret"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn trusted_origins_are_normalised_and_include_the_base_url() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::from_vars(&vars(&[
            ("DATA_DIR", dir.path().to_str().unwrap()),
            ("BETTER_AUTH_URL", "https://auth.example.com/api/auth"),
            (
                "BETTER_AUTH_TRUSTED_ORIGINS",
                "https://app.example.com/, *.example.org, myapp://",
            ),
        ]))
        .unwrap();
        assert_eq!(
            cfg.trusted_origins,
            vec![
                "https://auth.example.com",
                "https://app.example.com",
                "*.example.org",
                "myapp://"
            ]
        );
    }

    #[test]
    fn roles_parse_from_a_list() {
        assert_eq!(Role::parse_list("api, auth").unwrap().len(), 2);
        assert!(Role::parse_list("auth,nope").is_err());
    }
}
