//! The identity provider. It speaks Better-Auth's HTTP API under `/api/auth`
//! so the official `better-auth` client works unchanged, and adds what
//! Better-Auth lacks: a strong password policy, per-account lockout that holds
//! across instances, database-backed rate limits, an audit log, and RS256 keys
//! that rotate.
//!
//! Domain operations are methods on [`Auth`] (in `accounts`, `session_ops`,
//! `admin`); `http` maps routes onto them.

pub mod access;
pub mod accounts;
pub mod admin;
pub mod audit;
pub mod cookies;
pub mod crypto;
pub mod email_change;
pub mod error;
mod http;
pub mod impersonation;
pub mod keys;
pub mod lockout;
pub mod mail;
pub mod oidc;
pub mod passkeys;
pub mod password;
pub mod provider_tokens;
pub mod ratelimit;
pub mod recovery;
pub mod session_ops;
pub mod sessions;
pub mod settings;
pub mod social;
pub mod social_oidc;
pub mod standing;
pub mod tokens;
pub mod two_factor;
pub mod users;

use std::sync::Arc;

use common::{Config, Db, SharedClock};

pub use error::{AuthError, AuthResult};
/// The HTTP face other crates may use: the router, the error shapes, and
/// the session a request carries. The rest of `http` is this crate's own.
pub use http::request::current as current_session;
pub use http::{oauth_error, plain_error, router};

/// Everything the identity provider needs; cheap to clone.
#[derive(Clone)]
pub struct Auth {
    pub db: Db,
    pub clock: SharedClock,
    pub config: Arc<Config>,
    pub settings: Arc<settings::AuthSettings>,
    pub hasher: password::Hasher,
    pub mailer: mail::SharedMailer,
    pub keys: keys::KeyStore,
    pub cookies: cookies::CookieJarSpec,
    /// OpenID Connect discovery documents of the sign-in providers.
    pub discovery: social_oidc::DiscoveryCache,
    /// Users' current role and ban, for token-authenticated services.
    pub standing: standing::StandingCache,
}

impl Auth {
    pub fn new(
        config: Arc<Config>,
        settings: Arc<settings::AuthSettings>,
        db: Db,
        clock: SharedClock,
    ) -> Result<Self, mail::MailError> {
        let mailer = mail::from_settings(&settings, &config.data_dir)?;
        Ok(Self::with_mailer(config, settings, db, clock, mailer))
    }

    pub fn with_mailer(
        config: Arc<Config>,
        settings: Arc<settings::AuthSettings>,
        db: Db,
        clock: SharedClock,
        mailer: mail::SharedMailer,
    ) -> Self {
        let keys = keys::KeyStore::new(
            db.clone(),
            clock.clone(),
            config.secret.expose(),
            settings.jwt_alg,
            settings.jwt_rotation,
        )
        .with_publish_lead(settings.jwt_publish_lead);
        let cookies = cookies::CookieJarSpec {
            secure: config.is_https(),
        };
        Auth {
            db,
            clock,
            config,
            settings,
            hasher: password::Hasher::default(),
            mailer,
            keys,
            cookies,
            discovery: Default::default(),
            standing: Default::default(),
        }
    }

    pub fn secret(&self) -> &str {
        self.config.secret.expose()
    }

    /// The value of the signed cookie `better-auth.<short>` in `Cookie`
    /// header values, if its signature holds (for pages that read auth cookies).
    pub fn cookie_value<'a>(
        &self,
        cookie_headers: impl IntoIterator<Item = &'a str>,
        short: &str,
    ) -> Option<String> {
        let name = self.cookies.name(short);
        cookie_headers
            .into_iter()
            .find_map(|h| cookies::find(h, &name))
            .and_then(|v| cookies::verify(self.secret(), v))
    }

    /// `{base}/api/auth`.
    pub fn auth_url(&self, path: &str) -> String {
        format!(
            "{}/api/auth{path}",
            common::config::origin_of(&self.config.base_url)
        )
    }

    /// The issuer and audience of our JWTs: the public origin.
    pub fn issuer(&self) -> String {
        common::config::origin_of(&self.config.base_url)
    }

    /// The audit log, for every crate that records or reads events.
    pub fn audit_log(&self) -> audit::AuditLog {
        audit::AuditLog::new(self.db.clone(), self.clock.clone())
    }

    pub(crate) async fn audit(&self, meta: &audit::RequestMeta, entry: audit::Entry<'_>) {
        self.audit_log().record(meta, entry).await
    }
}
