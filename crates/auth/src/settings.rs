//! The auth role's settings: declared once here (name, default, meaning),
//! parsed and validated from the environment, composed by the binary.

use std::net::IpAddr;

use common::config::{ConfigError, Secret, redact_url};
use common::settings::{Env, Var, Vars, WhenUnset, http_url};
use url::Url;

const TRUSTED_PROXIES: &Var = &Var::new(
    "TRUSTED_PROXIES",
    WhenUnset::None,
    "proxies whose `X-Forwarded-For` is believed, comma-separated IPs or CIDR ranges",
);
const REQUIRE_EMAIL_VERIFICATION: &Var = &Var::new(
    "AUTH_REQUIRE_EMAIL_VERIFICATION",
    WhenUnset::Value("true"),
    "verified email required to sign in",
);
const RATE_LIMIT_ENABLED: &Var = &Var::new(
    "AUTH_RATE_LIMIT_ENABLED",
    WhenUnset::Value("true"),
    "per-IP limits on sign-in, sign-up and mail routes",
);
const MAIL_FROM: &Var = &Var::new(
    "MAIL_FROM",
    WhenUnset::Value("IntelliStack <no-reply@intellistack.local>"),
    "sender of every mail",
);
const SMTP_URL: &Var = &Var::new(
    "SMTP_URL",
    WhenUnset::None,
    "an SMTP relay (`smtp://` or `smtps://`); without one, mail lands in `$DATA_DIR/outbox`",
);
const RESEND_API_KEY: &Var = &Var::new(
    "RESEND_API_KEY",
    WhenUnset::None,
    "send mail through the Resend API instead",
);
const RESEND_API_URL: &Var = &Var::new(
    "RESEND_API_URL",
    WhenUnset::Value("https://api.resend.com"),
    "the Resend API base URL",
);
const JWT_ALG: &Var = &Var::new(
    "JWT_ALG",
    WhenUnset::Value("RS256"),
    "signing algorithm: `RS256` or `EdDSA`",
);
const JWT_ROTATION_DAYS: &Var = &Var::new(
    "JWT_ROTATION_DAYS",
    WhenUnset::Value("0"),
    "automatic key rotation after this many days (0: only by command)",
);
const JWT_KEY_PUBLISH_LEAD_SECS: &Var = &Var::new(
    "JWT_KEY_PUBLISH_LEAD_SECS",
    WhenUnset::Value("360"),
    "how long a new signing key is in the JWKS before it signs",
);
const CHANGE_EMAIL_ENABLED: &Var = &Var::new(
    "AUTH_CHANGE_EMAIL_ENABLED",
    WhenUnset::Value("true"),
    "users may change their email (after verifying the new one)",
);
const TWO_FACTOR_REQUIRED_FOR_STAFF: &Var = &Var::new(
    "AUTH_TWO_FACTOR_REQUIRED_FOR_STAFF",
    WhenUnset::Value("false"),
    "instructors and admins act as students until a session proves a second factor",
);
const PASSKEY_RP_ID: &Var = &Var::new(
    "PASSKEY_RP_ID",
    WhenUnset::Derived("host of `BETTER_AUTH_URL`"),
    "the WebAuthn relying-party ID (a parent domain to share passkeys across subdomains)",
);
const GITHUB_CLIENT_ID: &Var = &Var::new(
    "GITHUB_CLIENT_ID",
    WhenUnset::None,
    "sign-in with GitHub: the OAuth app's client id",
);
const GITHUB_CLIENT_SECRET: &Var = &Var::new(
    "GITHUB_CLIENT_SECRET",
    WhenUnset::None,
    "sign-in with GitHub: the OAuth app's secret",
);
const GITHUB_AUTHORIZE_URL: &Var = &Var::new(
    "GITHUB_AUTHORIZE_URL",
    WhenUnset::Value("https://github.com/login/oauth/authorize"),
    "GitHub's authorization endpoint (tests point it at a double)",
);
const GITHUB_TOKEN_URL: &Var = &Var::new(
    "GITHUB_TOKEN_URL",
    WhenUnset::Value("https://github.com/login/oauth/access_token"),
    "GitHub's token endpoint",
);
const GITHUB_API_URL: &Var = &Var::new(
    "GITHUB_API_URL",
    WhenUnset::Value("https://api.github.com"),
    "GitHub's API",
);
const SOCIAL_TRUSTED_PROVIDERS: &Var = &Var::new(
    "SOCIAL_TRUSTED_PROVIDERS",
    WhenUnset::None,
    "providers whose verified emails may link to an unverified local account",
);
const GOOGLE_CLIENT_ID: &Var = &Var::new(
    "GOOGLE_CLIENT_ID",
    WhenUnset::None,
    "sign-in with Google: the client id",
);
const GOOGLE_CLIENT_SECRET: &Var = &Var::new(
    "GOOGLE_CLIENT_SECRET",
    WhenUnset::None,
    "sign-in with Google: the client secret",
);
const GOOGLE_ISSUER: &Var = &Var::new(
    "GOOGLE_ISSUER",
    WhenUnset::Value("https://accounts.google.com"),
    "Google's OpenID Connect issuer",
);
const SOCIAL_OIDC_PROVIDERS: &Var = &Var::new(
    "SOCIAL_OIDC_PROVIDERS",
    WhenUnset::None,
    "other OpenID Connect sign-in providers: `id|issuer|client-id|client-secret`, comma-separated",
);
const OIDC_LOGIN_PAGE: &Var = &Var::new(
    "OIDC_LOGIN_PAGE",
    WhenUnset::Value("/login"),
    "our OpenID Connect provider's sign-in page",
);
const OIDC_CONSENT_PAGE: &Var = &Var::new(
    "OIDC_CONSENT_PAGE",
    WhenUnset::Value("/consent"),
    "our OpenID Connect provider's consent page",
);
const OIDC_CODE_TTL_SECS: &Var = &Var::new(
    "OIDC_CODE_TTL_SECS",
    WhenUnset::Value("600"),
    "lifetime of an authorization code, 1 to 600 seconds",
);
const OIDC_DYNAMIC_REGISTRATION: &Var = &Var::new(
    "OIDC_DYNAMIC_REGISTRATION",
    WhenUnset::Value("admin"),
    "who may register clients: `admin`, `open` or `off`",
);

/// Every variable the auth role reads.
pub const VARS: &[&Var] = &[
    TRUSTED_PROXIES,
    REQUIRE_EMAIL_VERIFICATION,
    RATE_LIMIT_ENABLED,
    MAIL_FROM,
    SMTP_URL,
    RESEND_API_KEY,
    RESEND_API_URL,
    JWT_ALG,
    JWT_ROTATION_DAYS,
    JWT_KEY_PUBLISH_LEAD_SECS,
    CHANGE_EMAIL_ENABLED,
    TWO_FACTOR_REQUIRED_FOR_STAFF,
    PASSKEY_RP_ID,
    GITHUB_CLIENT_ID,
    GITHUB_CLIENT_SECRET,
    GITHUB_AUTHORIZE_URL,
    GITHUB_TOKEN_URL,
    GITHUB_API_URL,
    SOCIAL_TRUSTED_PROVIDERS,
    GOOGLE_CLIENT_ID,
    GOOGLE_CLIENT_SECRET,
    GOOGLE_ISSUER,
    SOCIAL_OIDC_PROVIDERS,
    OIDC_LOGIN_PAGE,
    OIDC_CONSENT_PAGE,
    OIDC_CODE_TTL_SECS,
    OIDC_DYNAMIC_REGISTRATION,
];

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

/// Settings of the auth role, read from the variables in [`VARS`].
#[derive(Debug, Clone)]
pub struct AuthSettings {
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

/// `id`/`secret` pairs: both or neither.
fn pair<'a>(
    env: &Env<'a>,
    id: &Var,
    secret: &'static Var,
    expected: &'static str,
) -> Result<Option<(&'a str, &'a str)>, ConfigError> {
    match (env.get(id), env.get(secret)) {
        (Some(i), Some(s)) => Ok(Some((i, s))),
        (None, None) => Ok(None),
        _ => Err(ConfigError::Invalid {
            var: secret.name,
            value: "(one of the pair)".into(),
            expected,
        }),
    }
}

fn required_url(env: &Env<'_>, var: &'static Var) -> Result<Url, ConfigError> {
    // Every caller passes a variable declared with a default value.
    env.url(var)?.ok_or(ConfigError::InvalidUrl {
        var: var.name,
        reason: "no value".into(),
    })
}

impl AuthSettings {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let env = Env::new(vars);
        let mut trusted_proxies = Vec::new();
        for raw in env.list(TRUSTED_PROXIES) {
            let net = raw
                .parse::<ipnet::IpNet>()
                .or_else(|_| raw.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError::Invalid {
                    var: TRUSTED_PROXIES.name,
                    value: raw.into(),
                    expected: "a comma-separated list of IP addresses or CIDR ranges such as 10.0.0.0/8",
                })?;
            trusted_proxies.push(net);
        }
        let mail = if let Some(key) = env.get(RESEND_API_KEY) {
            MailTransport::Resend {
                api_key: Secret::new(key),
                api_url: required_url(&env, RESEND_API_URL)?,
            }
        } else if let Some(url) = env.get(SMTP_URL) {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(ConfigError::Invalid {
                    var: SMTP_URL.name,
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
        let jwt_alg = env
            .choice(
                JWT_ALG,
                &[("RS256", JwtAlg::Rs256), ("EdDSA", JwtAlg::EdDsa)],
                "use RS256 or EdDSA",
            )?
            .unwrap_or(JwtAlg::Rs256);
        let jwt_rotation = env
            .parse::<u32>(
                JWT_ROTATION_DAYS,
                "a whole number of days (0 turns automatic rotation off)",
            )?
            .filter(|d| *d > 0)
            .map(|days| chrono::Duration::days(days.into()));
        let publish_lead_secs: i64 = env
            .parse_within(
                JWT_KEY_PUBLISH_LEAD_SECS,
                "a number of seconds between 0 and 86400",
                |s: &i64| (0..=86_400).contains(s),
            )?
            .unwrap_or(360);
        let passkey_rp_id = match env.get(PASSKEY_RP_ID) {
            None => None,
            Some(id)
                if id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') =>
            {
                Some(id.to_ascii_lowercase())
            }
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: PASSKEY_RP_ID.name,
                    value: other.into(),
                    expected: "a domain name such as example.com (the site's host or a parent of it)",
                });
            }
        };
        let github = match pair(
            &env,
            GITHUB_CLIENT_ID,
            GITHUB_CLIENT_SECRET,
            "set both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, or neither",
        )? {
            Some((id, secret)) => Some(OAuthProvider {
                client_id: id.to_string(),
                client_secret: Secret::new(secret),
                authorize_url: required_url(&env, GITHUB_AUTHORIZE_URL)?,
                token_url: required_url(&env, GITHUB_TOKEN_URL)?,
                api_url: required_url(&env, GITHUB_API_URL)?,
            }),
            None => None,
        };
        let mut oidc_providers = Vec::new();
        if let Some((id, secret)) = pair(
            &env,
            GOOGLE_CLIENT_ID,
            GOOGLE_CLIENT_SECRET,
            "set both GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET, or neither",
        )? {
            oidc_providers.push(OidcRelyingParty {
                id: "google".into(),
                issuer: required_url(&env, GOOGLE_ISSUER)?,
                client_id: id.to_string(),
                client_secret: Secret::new(secret),
            });
        }
        for entry in env
            .get(SOCIAL_OIDC_PROVIDERS)
            .unwrap_or_default()
            .split([',', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let bad = || ConfigError::Invalid {
                var: SOCIAL_OIDC_PROVIDERS.name,
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
                issuer: http_url(SOCIAL_OIDC_PROVIDERS.name, issuer)?,
                client_id: client_id.to_string(),
                client_secret: Secret::new(secret),
            });
        }
        let registration = env
            .choice(
                OIDC_DYNAMIC_REGISTRATION,
                &[
                    ("admin", Registration::Admin),
                    ("open", Registration::Open),
                    ("off", Registration::Off),
                ],
                "use admin, open or off",
            )?
            .unwrap_or(Registration::Admin);
        let code_ttl_secs: i64 = env
            .parse_within(
                OIDC_CODE_TTL_SECS,
                "a number of seconds between 1 and 600",
                |s: &i64| (1..=600).contains(s),
            )?
            .unwrap_or(600);
        let text = |var: &Var| env.get(var).unwrap_or_default().to_string();
        let oidc = OidcProviderSettings {
            login_page: text(OIDC_LOGIN_PAGE),
            consent_page: text(OIDC_CONSENT_PAGE),
            code_ttl: chrono::Duration::seconds(code_ttl_secs),
            registration,
        };
        Ok(AuthSettings {
            github,
            oidc_providers,
            oidc,
            trusted_providers: env
                .list(SOCIAL_TRUSTED_PROVIDERS)
                .into_iter()
                .map(str::to_string)
                .collect(),
            require_email_verification: env.flag(REQUIRE_EMAIL_VERIFICATION)?,
            rate_limit_enabled: env.flag(RATE_LIMIT_ENABLED)?,
            trusted_proxies,
            mail,
            mail_from: text(MAIL_FROM),
            jwt_alg,
            jwt_rotation,
            jwt_publish_lead: chrono::Duration::seconds(publish_lead_secs),
            change_email_enabled: env.flag(CHANGE_EMAIL_ENABLED)?,
            two_factor_required_for_staff: env.flag(TWO_FACTOR_REQUIRED_FOR_STAFF)?,
            passkey_rp_id,
        })
    }
}
