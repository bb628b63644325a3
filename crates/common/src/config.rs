//! Configuration from environment variables (and an optional `.env`),
//! validated once at start-up. Every error names the variable to set or change.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use url::Url;

/// The variables this module reads. `.env.example` documents each one.
pub const VARS: &[&str] = &[
    "INTELLISTACK_ENV",
    "BIND_ADDR",
    "DEV_ALLOW_PUBLIC_BIND",
    "PORT",
    "DATA_DIR",
    "CONTENT_DIR",
    "DATABASE_URL",
    "BETTER_AUTH_SECRET",
    "BETTER_AUTH_URL",
    "BETTER_AUTH_TRUSTED_ORIGINS",
    "BETTER_AUTH_JWKS_URL",
    "REQUEST_TIMEOUT_SECS",
    "BODY_LIMIT_BYTES",
    "LOG_FORMAT",
    "TRUSTED_PROXIES",
    "AUTH_REQUIRE_EMAIL_VERIFICATION",
    "AUTH_RATE_LIMIT_ENABLED",
    "MAIL_FROM",
    "SMTP_URL",
    "RESEND_API_KEY",
    "RESEND_API_URL",
    "JWT_ALG",
    "JWT_ROTATION_DAYS",
    "JWT_KEY_PUBLISH_LEAD_SECS",
    "AUTH_CHANGE_EMAIL_ENABLED",
    "AUTH_TWO_FACTOR_REQUIRED_FOR_STAFF",
    "PASSKEY_RP_ID",
    "GITHUB_CLIENT_ID",
    "GITHUB_CLIENT_SECRET",
    "GITHUB_AUTHORIZE_URL",
    "GITHUB_TOKEN_URL",
    "GITHUB_API_URL",
    "SOCIAL_TRUSTED_PROVIDERS",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "GOOGLE_ISSUER",
    "SOCIAL_OIDC_PROVIDERS",
    "OIDC_LOGIN_PAGE",
    "OIDC_CONSENT_PAGE",
    "OIDC_CODE_TTL_SECS",
    "OIDC_DYNAMIC_REGISTRATION",
    "CHAT_DAILY_LIMIT",
    "CHATKIT_RESPONDER",
    "CHATKIT_ECHO_DELAY_MS",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "TUTOR_MODEL",
    "TUTOR_JUDGE",
    "LLM_TIMEOUT_SECS",
    "LLM_MAX_RETRIES",
    "EMBEDDINGS_MODEL",
    "EMBEDDINGS_BASE_URL",
    "EMBEDDINGS_LOCAL_MODEL",
    "QDRANT_URL",
    "QDRANT_COLLECTION",
    "QDRANT_API_KEY",
];

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

/// How mail leaves the system.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// Development: each message becomes a file under `DATA_DIR/outbox`.
    Outbox,
    /// An SMTP relay, `smtp://user:pass@host:port` or `smtps://…`.
    Smtp { url: Secret },
    /// The Resend HTTP API.
    Resend { api_key: Secret, api_url: Url },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlg {
    Rs256,
    EdDsa,
}

impl JwtAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            JwtAlg::Rs256 => "RS256",
            JwtAlg::EdDsa => "EdDSA",
        }
    }
}

/// Settings of the auth role.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub require_email_verification: bool,
    pub rate_limit_enabled: bool,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub mail: MailTransport,
    pub mail_from: String,
    pub jwt_alg: JwtAlg,
    /// Signing keys older than this are replaced automatically.
    pub jwt_rotation: Option<chrono::Duration>,
    /// How long a new signing key is published before it signs, so caches
    /// of the JWKS elsewhere have it by then.
    pub jwt_publish_lead: chrono::Duration,
    /// Whether users may change their email address (after verifying the new one).
    pub change_email_enabled: bool,
    /// Whether instructors and admins act with their role only in sessions
    /// that proved a second factor (TOTP, a mailed code, a backup code, a
    /// trusted device or a passkey).
    pub two_factor_required_for_staff: bool,
    /// The WebAuthn relying-party ID; the host of `BETTER_AUTH_URL` when unset.
    pub passkey_rp_id: Option<String>,
    pub github: Option<OAuthProvider>,
    /// OpenID Connect sign-in providers (Google and any other issuer), by id.
    pub oidc_providers: Vec<OidcRelyingParty>,
    /// Providers whose verified emails may link to an unverified local account.
    pub trusted_providers: Vec<String>,
    /// Our own OpenID Connect provider.
    pub oidc: OidcProviderSettings,
}

/// Sign-in through an OpenID Connect issuer: its endpoints come from discovery.
#[derive(Debug, Clone)]
pub struct OidcRelyingParty {
    pub id: String,
    pub issuer: Url,
    pub client_id: String,
    pub client_secret: Secret,
}

/// Who may call `/oauth2/register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Signed-in admins only (the default).
    Admin,
    /// Anyone, but anonymous callers get public clients only.
    Open,
    Off,
}

/// Settings of the OpenID Connect provider we run.
#[derive(Debug, Clone)]
pub struct OidcProviderSettings {
    /// The web page that signs a user in and resumes the authorization.
    pub login_page: String,
    /// The web page that asks for consent.
    pub consent_page: String,
    pub code_ttl: chrono::Duration,
    pub registration: Registration,
}

/// An OAuth 2 provider's client and endpoints (overridable for tests).
#[derive(Debug, Clone)]
pub struct OAuthProvider {
    pub client_id: String,
    pub client_secret: Secret,
    pub authorize_url: Url,
    pub token_url: Url,
    pub api_url: Url,
}

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
    pub auth: AuthConfig,
    /// Whether `BETTER_AUTH_URL` was given (else it follows the port).
    pub base_url_explicit: bool,
    pub chat: ChatConfig,
    /// Courses to load at start-up besides the sample course (`CONTENT_DIR`).
    pub content_dir: Option<PathBuf>,
}

/// Which responder answers chat turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponderKind {
    /// The Socratic tutor (the default).
    Tutor,
    /// Repeats the message back; for protocol tests only.
    Echo,
}

#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// User messages per rolling 24 hours for students.
    pub daily_limit: u32,
    pub responder: ResponderKind,
    /// Pause between echoed words (protocol tests of disconnects).
    pub echo_delay_ms: u64,
    /// The language model; without one the tutor runs retrieval-only.
    pub llm: Option<LlmSettings>,
    /// Dense retrieval; without it search is BM25 alone.
    pub embeddings: Option<EmbeddingSettings>,
}

#[derive(Debug, Clone)]
pub struct EmbeddingSettings {
    pub source: EmbeddingSource,
    /// Qdrant, when vectors live outside the process.
    pub qdrant: Option<QdrantSettings>,
}

#[derive(Debug, Clone)]
pub enum EmbeddingSource {
    /// An OpenAI-compatible `/embeddings` endpoint.
    Remote {
        base_url: Url,
        api_key: Option<Secret>,
        model: String,
    },
    /// all-MiniLM-L6-v2 in this process (the `local-embeddings` build feature).
    Local { path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct QdrantSettings {
    pub url: Url,
    pub collection: String,
    pub api_key: Option<Secret>,
}

/// An OpenAI-compatible chat completions endpoint.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    pub base_url: Url,
    pub api_key: Option<Secret>,
    pub model: String,
    pub timeout_secs: u64,
    pub max_retries: u32,
    /// Ask the model whether each final reply solves an exercise (logged
    /// and counted, never blocking).
    pub judge: bool,
}

/// The raw variables a configuration is built from: the process environment
/// in the binary, a plain map in tests.
pub type Vars = HashMap<String, String>;

impl Config {
    /// Reads `.env` (when present; existing variables win) and then the process environment.
    pub fn from_process_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_vars(&std::env::vars().collect())
    }

    /// Builds and validates a configuration. In development mode a missing
    /// secret is generated once and kept under the data directory.
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());

        let mode = match get("INTELLISTACK_ENV")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("development") | Some("dev") => Mode::Development,
            Some("production") | Some("prod") => Mode::Production,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "INTELLISTACK_ENV",
                    value: other.into(),
                    expected: "use development or production",
                });
            }
        };
        let bind = parse_or(
            get("BIND_ADDR"),
            "BIND_ADDR",
            "an IP address such as 127.0.0.1 or 0.0.0.0",
            [127, 0, 0, 1].into(),
        )?;
        let allow_public_dev = match get("DEV_ALLOW_PUBLIC_BIND")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("0" | "false" | "no" | "off") => false,
            Some("1" | "true" | "yes" | "on") => true,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "DEV_ALLOW_PUBLIC_BIND",
                    value: other.into(),
                    expected: "use true or false",
                });
            }
        };
        let port = parse_or(
            get("PORT"),
            "PORT",
            "a port number from 1 to 65535",
            3000u16,
        )?;
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or("./data"));
        let database = match get("DATABASE_URL") {
            Some(raw) => DatabaseConfig::parse(raw)?,
            None => DatabaseConfig::Sqlite {
                path: data_dir.join("intellistack.db"),
            },
        };
        let base_url_explicit = get("BETTER_AUTH_URL").is_some();
        let base_url = match get("BETTER_AUTH_URL") {
            Some(raw) => parse_http_url("BETTER_AUTH_URL", raw)?,
            None => parse_http_url("BETTER_AUTH_URL", &format!("http://localhost:{port}"))?,
        };
        let jwks_url = get("BETTER_AUTH_JWKS_URL")
            .map(|raw| parse_http_url("BETTER_AUTH_JWKS_URL", raw))
            .transpose()?;

        let mut trusted_origins = vec![origin_of(&base_url)];
        for raw in get("BETTER_AUTH_TRUSTED_ORIGINS")
            .unwrap_or_default()
            .split(',')
        {
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            // Wildcard and custom-scheme patterns are kept verbatim; plain
            // http(s) origins are normalised so comparisons are exact.
            let value = if raw.contains('*')
                || !(raw.starts_with("http://") || raw.starts_with("https://"))
            {
                raw.to_string()
            } else {
                origin_of(&parse_http_url(
                    "BETTER_AUTH_TRUSTED_ORIGINS",
                    raw.trim_end_matches('/'),
                )?)
            };
            if !trusted_origins.contains(&value) {
                trusted_origins.push(value);
            }
        }

        let request_timeout = Duration::from_secs(parse_or(
            get("REQUEST_TIMEOUT_SECS"),
            "REQUEST_TIMEOUT_SECS",
            "a whole number of seconds greater than 0",
            30u64,
        )?);
        if request_timeout.is_zero() {
            return Err(ConfigError::Invalid {
                var: "REQUEST_TIMEOUT_SECS",
                value: "0".into(),
                expected: "a whole number of seconds greater than 0",
            });
        }
        let body_limit = parse_or(
            get("BODY_LIMIT_BYTES"),
            "BODY_LIMIT_BYTES",
            "a size in bytes",
            1024 * 1024usize,
        )?;
        let log_format = match get("LOG_FORMAT").map(str::to_ascii_lowercase).as_deref() {
            None => {
                if mode.is_production() {
                    LogFormat::Json
                } else {
                    LogFormat::Text
                }
            }
            Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "LOG_FORMAT",
                    value: other.into(),
                    expected: "use text or json",
                });
            }
        };

        let secret = match get("BETTER_AUTH_SECRET") {
            Some(s) if s.chars().count() < 32 && mode.is_production() => {
                return Err(ConfigError::WeakSecret(s.chars().count()));
            }
            Some(s) => Secret::new(s),
            None if mode.is_production() => return Err(ConfigError::MissingSecret),
            None => dev_secret(&data_dir)?,
        };

        let auth = auth_config(&get)?;
        let chat = ChatConfig {
            daily_limit: parse_or(
                get("CHAT_DAILY_LIMIT"),
                "CHAT_DAILY_LIMIT",
                "a whole number of messages",
                20u32,
            )?,
            responder: match get("CHATKIT_RESPONDER") {
                None | Some("tutor") => ResponderKind::Tutor,
                Some("echo") => ResponderKind::Echo,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        var: "CHATKIT_RESPONDER",
                        value: other.into(),
                        expected: "use tutor (default) or echo (protocol tests only)",
                    });
                }
            },
            echo_delay_ms: parse_or(
                get("CHATKIT_ECHO_DELAY_MS"),
                "CHATKIT_ECHO_DELAY_MS",
                "milliseconds",
                0u64,
            )?,
            llm: match (get("OPENAI_BASE_URL"), get("OPENAI_API_KEY")) {
                (None, None) => None,
                (base, key) => Some(LlmSettings {
                    base_url: parse_http_url(
                        "OPENAI_BASE_URL",
                        base.unwrap_or("https://api.openai.com/v1"),
                    )?,
                    api_key: key.map(Secret::new),
                    model: get("TUTOR_MODEL").unwrap_or("gpt-4o-mini").to_string(),
                    timeout_secs: parse_or(
                        get("LLM_TIMEOUT_SECS"),
                        "LLM_TIMEOUT_SECS",
                        "a whole number of seconds",
                        30u64,
                    )?,
                    max_retries: parse_or(
                        get("LLM_MAX_RETRIES"),
                        "LLM_MAX_RETRIES",
                        "a whole number",
                        2u32,
                    )?,
                    judge: match get("TUTOR_JUDGE").map(str::to_ascii_lowercase).as_deref() {
                        None | Some("0" | "false" | "no" | "off") => false,
                        Some("1" | "true" | "yes" | "on") => true,
                        Some(other) => {
                            return Err(ConfigError::Invalid {
                                var: "TUTOR_JUDGE",
                                value: other.into(),
                                expected: "use true or false",
                            });
                        }
                    },
                }),
            },
            embeddings: {
                let qdrant = get("QDRANT_URL")
                    .map(|u| -> Result<QdrantSettings, ConfigError> {
                        Ok(QdrantSettings {
                            url: parse_http_url("QDRANT_URL", u)?,
                            collection: get("QDRANT_COLLECTION")
                                .unwrap_or("intellistack_chunks")
                                .to_string(),
                            api_key: get("QDRANT_API_KEY").map(Secret::new),
                        })
                    })
                    .transpose()?;
                match (get("EMBEDDINGS_LOCAL_MODEL"), get("EMBEDDINGS_MODEL")) {
                    (Some(path), _) => Some(EmbeddingSettings {
                        source: EmbeddingSource::Local {
                            path: PathBuf::from(path),
                        },
                        qdrant,
                    }),
                    (None, Some(model)) => Some(EmbeddingSettings {
                        source: EmbeddingSource::Remote {
                            base_url: parse_http_url(
                                "EMBEDDINGS_BASE_URL",
                                get("EMBEDDINGS_BASE_URL")
                                    .or(get("OPENAI_BASE_URL"))
                                    .unwrap_or("https://api.openai.com/v1"),
                            )?,
                            api_key: get("OPENAI_API_KEY").map(Secret::new),
                            model: model.to_string(),
                        },
                        qdrant,
                    }),
                    (None, None) => None,
                }
            },
        };

        Ok(Config {
            chat,
            content_dir: get("CONTENT_DIR").map(PathBuf::from),
            base_url_explicit,
            auth,
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

fn auth_config<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<AuthConfig, ConfigError> {
    let flag = |var: &'static str, default: bool| -> Result<bool, ConfigError> {
        match get(var).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError::Invalid {
                var,
                value: other.into(),
                expected: "use true or false",
            }),
        }
    };
    let mut trusted_proxies = Vec::new();
    for raw in get("TRUSTED_PROXIES")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let net = raw
            .parse::<ipnet::IpNet>()
            .or_else(|_| raw.parse::<IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| ConfigError::Invalid {
                var: "TRUSTED_PROXIES",
                value: raw.into(),
                expected: "a comma-separated list of IP addresses or CIDR ranges such as 10.0.0.0/8",
            })?;
        trusted_proxies.push(net);
    }
    let mail = if let Some(key) = get("RESEND_API_KEY") {
        let api_url = parse_http_url(
            "RESEND_API_URL",
            get("RESEND_API_URL").unwrap_or("https://api.resend.com"),
        )?;
        MailTransport::Resend {
            api_key: Secret::new(key),
            api_url,
        }
    } else if let Some(url) = get("SMTP_URL") {
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
            return Err(ConfigError::Invalid {
                var: "SMTP_URL",
                value: redact_url(url),
                expected: "smtp://USER:PASSWORD@HOST:PORT or smtps://…",
            });
        }
        MailTransport::Smtp {
            url: Secret::new(url),
        }
    } else {
        MailTransport::Outbox
    };
    let jwt_alg = match get("JWT_ALG") {
        None | Some("RS256") => JwtAlg::Rs256,
        Some("EdDSA") => JwtAlg::EdDsa,
        Some(other) => {
            return Err(ConfigError::Invalid {
                var: "JWT_ALG",
                value: other.into(),
                expected: "use RS256 or EdDSA",
            });
        }
    };
    let jwt_rotation = match get("JWT_ROTATION_DAYS") {
        None => None,
        Some(raw) => match raw.parse::<u32>() {
            Ok(0) => None,
            Ok(days) => Some(chrono::Duration::days(days.into())),
            Err(_) => {
                return Err(ConfigError::Invalid {
                    var: "JWT_ROTATION_DAYS",
                    value: raw.into(),
                    expected: "a whole number of days (0 turns automatic rotation off)",
                });
            }
        },
    };
    let publish_lead_secs: i64 = parse_or(
        get("JWT_KEY_PUBLISH_LEAD_SECS"),
        "JWT_KEY_PUBLISH_LEAD_SECS",
        "a number of seconds between 0 and 86400",
        360,
    )?;
    if !(0..=86_400).contains(&publish_lead_secs) {
        return Err(ConfigError::Invalid {
            var: "JWT_KEY_PUBLISH_LEAD_SECS",
            value: publish_lead_secs.to_string(),
            expected: "a number of seconds between 0 and 86400",
        });
    }
    let passkey_rp_id = match get("PASSKEY_RP_ID").map(str::trim) {
        None | Some("") => None,
        Some(id)
            if id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') =>
        {
            Some(id.to_ascii_lowercase())
        }
        Some(other) => {
            return Err(ConfigError::Invalid {
                var: "PASSKEY_RP_ID",
                value: other.into(),
                expected: "a domain name such as example.com (the site's host or a parent of it)",
            });
        }
    };
    let github = match (get("GITHUB_CLIENT_ID"), get("GITHUB_CLIENT_SECRET")) {
        (Some(id), Some(secret)) => Some(OAuthProvider {
            client_id: id.to_string(),
            client_secret: Secret::new(secret),
            authorize_url: parse_http_url(
                "GITHUB_AUTHORIZE_URL",
                get("GITHUB_AUTHORIZE_URL").unwrap_or("https://github.com/login/oauth/authorize"),
            )?,
            token_url: parse_http_url(
                "GITHUB_TOKEN_URL",
                get("GITHUB_TOKEN_URL").unwrap_or("https://github.com/login/oauth/access_token"),
            )?,
            api_url: parse_http_url(
                "GITHUB_API_URL",
                get("GITHUB_API_URL").unwrap_or("https://api.github.com"),
            )?,
        }),
        (None, None) => None,
        _ => {
            return Err(ConfigError::Invalid {
                var: "GITHUB_CLIENT_SECRET",
                value: "(one of the pair)".into(),
                expected: "set both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, or neither",
            });
        }
    };
    let mut oidc_providers = Vec::new();
    match (get("GOOGLE_CLIENT_ID"), get("GOOGLE_CLIENT_SECRET")) {
        (Some(id), Some(secret)) => oidc_providers.push(OidcRelyingParty {
            id: "google".into(),
            issuer: parse_http_url(
                "GOOGLE_ISSUER",
                get("GOOGLE_ISSUER").unwrap_or("https://accounts.google.com"),
            )?,
            client_id: id.to_string(),
            client_secret: Secret::new(secret),
        }),
        (None, None) => {}
        _ => {
            return Err(ConfigError::Invalid {
                var: "GOOGLE_CLIENT_SECRET",
                value: "(one of the pair)".into(),
                expected: "set both GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET, or neither",
            });
        }
    }
    for entry in get("SOCIAL_OIDC_PROVIDERS")
        .unwrap_or_default()
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let bad = || ConfigError::Invalid {
            var: "SOCIAL_OIDC_PROVIDERS",
            value: entry.split('|').next().unwrap_or_default().to_string(),
            expected: "comma-separated entries id|issuer-url|client-id|client-secret, with a lower-case id other than github or google",
        };
        let parts: Vec<&str> = entry.split('|').map(str::trim).collect();
        let [id, issuer, client_id, secret] = parts[..] else {
            return Err(bad());
        };
        let id_ok = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && id != "github"
            && id != "credential"
            && !oidc_providers.iter().any(|p| p.id == id);
        if !id_ok || client_id.is_empty() || secret.is_empty() {
            return Err(bad());
        }
        oidc_providers.push(OidcRelyingParty {
            id: id.to_string(),
            issuer: parse_http_url("SOCIAL_OIDC_PROVIDERS", issuer)?,
            client_id: client_id.to_string(),
            client_secret: Secret::new(secret),
        });
    }
    let registration = match get("OIDC_DYNAMIC_REGISTRATION") {
        None | Some("admin") => Registration::Admin,
        Some("open") => Registration::Open,
        Some("off") => Registration::Off,
        Some(other) => {
            return Err(ConfigError::Invalid {
                var: "OIDC_DYNAMIC_REGISTRATION",
                value: other.into(),
                expected: "use admin, open or off",
            });
        }
    };
    let code_ttl_secs: i64 = parse_or(
        get("OIDC_CODE_TTL_SECS"),
        "OIDC_CODE_TTL_SECS",
        "a number of seconds between 1 and 600",
        600,
    )?;
    if !(1..=600).contains(&code_ttl_secs) {
        return Err(ConfigError::Invalid {
            var: "OIDC_CODE_TTL_SECS",
            value: code_ttl_secs.to_string(),
            expected: "a number of seconds between 1 and 600",
        });
    }
    let oidc = OidcProviderSettings {
        login_page: get("OIDC_LOGIN_PAGE").unwrap_or("/login").to_string(),
        consent_page: get("OIDC_CONSENT_PAGE").unwrap_or("/consent").to_string(),
        code_ttl: chrono::Duration::seconds(code_ttl_secs),
        registration,
    };
    Ok(AuthConfig {
        github,
        oidc_providers,
        oidc,
        trusted_providers: get("SOCIAL_TRUSTED_PROVIDERS")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        require_email_verification: flag("AUTH_REQUIRE_EMAIL_VERIFICATION", true)?,
        rate_limit_enabled: flag("AUTH_RATE_LIMIT_ENABLED", true)?,
        trusted_proxies,
        mail,
        mail_from: get("MAIL_FROM")
            .unwrap_or("IntelliStack <no-reply@intellistack.local>")
            .to_string(),
        jwt_alg,
        jwt_rotation,
        jwt_publish_lead: chrono::Duration::seconds(publish_lead_secs),
        change_email_enabled: flag("AUTH_CHANGE_EMAIL_ENABLED", true)?,
        two_factor_required_for_staff: flag("AUTH_TWO_FACTOR_REQUIRED_FOR_STAFF", false)?,
        passkey_rp_id,
    })
}

fn parse_or<T: FromStr>(
    raw: Option<&str>,
    var: &'static str,
    expected: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match raw {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError::Invalid {
            var,
            value: v.into(),
            expected,
        }),
    }
}

fn parse_http_url(var: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::InvalidUrl {
        var,
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::InvalidUrl {
            var,
            reason: "not an http(s) URL with a host".into(),
        });
    }
    Ok(url)
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

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

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
