//! Two-factor sign-in as Better-Auth's `twoFactor` plugin does it: TOTP
//! (RFC 6238, through `totp-rs`), one-time codes by mail, single-use backup
//! codes, and "trust this device" for 30 days. A password sign-in of a user
//! with two factors on ends in a challenge (a signed `two_factor` cookie and
//! a row in `verification`); the second step finishes it.
//!
//! Beyond Better-Auth: backup codes are stored hashed, a TOTP code works once
//! (the last step used is kept), and a verified code is bound to a session
//! that records which factor it proved.

pub(crate) mod store;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use totp_rs::{Algorithm, Builder, Totp};

use crate::Auth;
use crate::audit::{Entry, Event, RequestMeta};
use crate::crypto::{ct_eq, decrypt, encrypt, hmac_b64, token_hash};
use crate::error::{AuthError, AuthResult, Kind};
use crate::mail::{self, templates};
use crate::session_ops::SessionOptions;
use crate::sessions::{Authenticated, SecondFactor, Session, store as session_store};
use crate::tokens::{self, Lookup};
use crate::users::{User, store as user_store};
use store::TwoFactorRow;

/// The name authenticator apps show for the account.
pub const ISSUER: &str = "IntelliStack";
const DIGITS: usize = 6;
const PERIOD: u64 = 30;
/// How long a sign-in waits for its second step.
pub const CHALLENGE_TTL: Duration = Duration::minutes(10);
/// Codes (TOTP and backup) one challenge may try.
const CHALLENGE_ATTEMPTS: i64 = 5;
pub const OTP_TTL: Duration = Duration::minutes(3);
const OTP_ATTEMPTS: i64 = 5;
/// Failed second steps, across sign-ins, before the account is locked.
const LOCK_AFTER: i64 = 10;
pub const LOCK_DURATION: Duration = Duration::minutes(15);
pub const TRUST_TTL: Duration = Duration::days(30);
const BACKUP_CODES: usize = 10;

const CHALLENGE: &str = "2fa";
const OTP: &str = "2fa-otp";
const TRUST: &str = "trust-device";

/// A sign-in waiting for its second step.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// Goes into the signed `two_factor` cookie.
    pub token: String,
    pub methods: Vec<&'static str>,
}

/// What a challenge row keeps.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    user_id: String,
    remember_me: bool,
    attempts: i64,
    /// An OpenID Connect authorization to resume, or a page to return to.
    #[serde(default)]
    oauth_query: Option<String>,
    #[serde(default)]
    callback_url: Option<String>,
}

/// Where a sign-in goes once both factors are in.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    pub oauth_query: Option<String>,
    pub callback_url: Option<String>,
}

/// Who is giving a code: a signed-in user (setting up, or re-checking), or
/// a sign-in holding a challenge.
pub enum Step<'a> {
    SignedIn(&'a Authenticated),
    SignIn(&'a str),
}

impl<'a> Step<'a> {
    /// Signed in, or holding a challenge; else 401 `INVALID_TWO_FACTOR_COOKIE`.
    pub fn of(session: Option<&'a Authenticated>, challenge: Option<&'a str>) -> AuthResult<Self> {
        match (session, challenge) {
            (Some(who), _) => Ok(Step::SignedIn(who)),
            (None, Some(token)) => Ok(Step::SignIn(token)),
            (None, None) => Err(Refusal::InvalidCookie.into()),
        }
    }
}

/// A second step that passed.
pub struct Passed {
    pub user: User,
    /// The session to set: new for a sign-in, rotated after enrolment, or
    /// `None` (the current one stands, or `disableSession` asked for none).
    pub session: Option<Session>,
    /// The token of the session the client holds afterwards.
    pub token: Option<String>,
    /// A new trusted-device cookie value (signed by the caller).
    pub trust: Option<String>,
    pub resume: Resume,
}

impl Passed {
    /// A factor proved inside a session: the client keeps its token, or
    /// takes the rotated session's when enrolment rotated it.
    fn in_session(who: &Authenticated, session: Option<Session>, user: User) -> Self {
        Passed {
            token: Some(
                session
                    .as_ref()
                    .map_or(who.session.token.clone(), |s| s.token.clone()),
            ),
            session,
            user,
            trust: None,
            resume: Resume::default(),
        }
    }
}

/// What `enable` answers.
pub enum Enabled {
    Totp {
        uri: String,
        backup_codes: Vec<String>,
    },
    Otp {
        session: Session,
    },
}

/// The plugin's refusals, with Better-Auth's codes and messages.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    InvalidCookie,
    InvalidCode,
    TooManyAttempts,
    Locked,
    TotpNotEnabled,
}

impl From<Refusal> for AuthError {
    fn from(refusal: Refusal) -> Self {
        let (kind, code, message) = match refusal {
            Refusal::InvalidCookie => (
                Kind::Unauthenticated,
                "INVALID_TWO_FACTOR_COOKIE",
                "Invalid two factor cookie",
            ),
            Refusal::InvalidCode => (Kind::Unauthenticated, "INVALID_CODE", "Invalid code"),
            Refusal::TooManyAttempts => (
                Kind::Invalid,
                "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE",
                "Too many attempts. Please request a new code.",
            ),
            Refusal::Locked => (
                Kind::RateLimited,
                "ACCOUNT_TEMPORARILY_LOCKED",
                "Too many failed verification attempts. Your account is temporarily locked. Please try again later.",
            ),
            Refusal::TotpNotEnabled => (Kind::Invalid, "TOTP_NOT_ENABLED", "TOTP not enabled"),
        };
        AuthError::coded(kind, code, message)
    }
}

/// 32 characters of `[A-Za-z0-9-_]`: the secret, used as its UTF-8 bytes.
fn new_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes: [u8; 32] = common::ids::random_bytes();
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// HMAC-SHA1, six digits, 30-second steps: what every authenticator app does.
fn totp(secret: &str) -> Totp {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_skew(0)
        .with_step_duration(PERIOD)
        .with_secret(secret.as_bytes().to_vec())
        // Better-Auth's secrets are 32 characters used as bytes: 256 bits,
        // above the RFC's minimum, but not "compliant" by the builder's check
        // of how they are encoded.
        .build_noncompliant()
}

/// The time step whose code `code` is, within one step either side of `now`.
fn matching_step(secret: &str, code: &str, now: DateTime<Utc>) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret);
    let step = now.timestamp().max(0) / PERIOD as i64;
    // Every candidate is compared, so timing does not tell which matched.
    let mut found = None;
    for s in [step - 1, step, step + 1] {
        let expected = t.generate((s.max(0) as u64) * PERIOD).to_string();
        if ct_eq(expected.as_bytes(), code.as_bytes()) {
            found = Some(s);
        }
    }
    found
}

/// The current code of a secret (for tests and tools that hold the secret).
pub fn current_code(secret: &str, at: DateTime<Utc>) -> String {
    totp(secret)
        .generate(at.timestamp().max(0) as u64)
        .to_string()
}

/// The code an authenticator app that scanned `uri` shows at `at`.
pub fn code_for_uri(uri: &str, at: DateTime<Utc>) -> Option<String> {
    let b32 = url::Url::parse(uri)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "secret")?
        .1
        .into_owned();
    let bytes = totp_rs::Secret::try_from_base32(b32).ok()?;
    let secret = String::from_utf8(bytes.as_bytes().to_vec()).ok()?;
    Some(current_code(&secret, at))
}

/// The `otpauth://` URI authenticator apps read, in Better-Auth's form.
pub fn totp_uri(secret: &str, email: &str, issuer: &str) -> String {
    let enc = |s: &str| crate::cookies::encode(s);
    let form = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let b32 = base32_nopad(secret.as_bytes());
    format!(
        "otpauth://totp/{}:{}?secret={b32}&issuer={}&digits={DIGITS}&period={PERIOD}",
        enc(issuer),
        enc(email),
        form(issuer)
    )
}

fn base32_nopad(data: &[u8]) -> String {
    totp_rs::Secret::from(data.to_vec())
        .to_base32()
        .trim_end_matches('=')
        .to_string()
}

/// Ten `xxxxx-xxxxx` codes of `[A-Za-z0-9]`.
fn new_backup_codes() -> Vec<String> {
    (0..BACKUP_CODES)
        .map(|_| {
            let raw = common::ids::random_alphanumeric(10);
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect()
}

fn hash_codes(codes: &[String]) -> String {
    let hashes: Vec<String> = codes.iter().map(|c| token_hash(c)).collect();
    serde_json::to_string(&hashes).unwrap_or_else(|_| "[]".into())
}

/// The signed value `T!id` of a trusted-device cookie: `T` binds the row to the user.
fn trust_value(secret: &str, user_id: &str, id: &str) -> String {
    let mac = hmac_b64(secret.as_bytes(), format!("{user_id}!{id}").as_bytes());
    let t = URL_SAFE_NO_PAD.encode(
        base64::engine::general_purpose::STANDARD
            .decode(mac)
            .unwrap_or_default(),
    );
    format!("{t}!{id}")
}

impl Auth {
    /// Records a second-factor event for `user` with the method used.
    async fn audit_factor(&self, meta: &RequestMeta, event: Event, user: &User, method: &str) {
        self.audit(
            meta,
            Entry::new(event)
                .user(&user.id)
                .email(&user.email)
                .details(json!({"method": method})),
        )
        .await;
    }
}

impl Auth {
    fn seal_secret(&self, secret: &str) -> String {
        encrypt(self.secret(), secret.as_bytes())
    }

    fn open_secret(&self, row: &TwoFactorRow) -> AuthResult<String> {
        let plain = decrypt(self.secret(), &row.secret).map_err(AuthError::internal)?;
        String::from_utf8(plain).map_err(AuthError::internal)
    }

    /// The methods a user can finish a sign-in with.
    async fn methods_of(&self, user: &User) -> AuthResult<Vec<&'static str>> {
        let mut methods = Vec::new();
        if store::find(&self.db, &user.id)
            .await?
            .is_some_and(|r| r.verified)
        {
            methods.push("totp");
        }
        // Mail always works here: every deployment has a mailer (at least the outbox).
        methods.push("otp");
        Ok(methods)
    }

    /// After a correct password: a challenge when the user has two factors
    /// on and the device is not trusted, else `None`.
    pub async fn second_factor_challenge(
        &self,
        user: &User,
        remember_me: bool,
        resume: Resume,
    ) -> AuthResult<Option<Challenge>> {
        if !user.two_factor_enabled {
            return Ok(None);
        }
        let pending = Pending {
            user_id: user.id.clone(),
            remember_me,
            attempts: 0,
            oauth_query: resume.oauth_query,
            callback_url: resume.callback_url,
        };
        let value = serde_json::to_string(&pending).map_err(AuthError::internal)?;
        let token =
            tokens::issue(&self.db, CHALLENGE, &value, self.clock.now(), CHALLENGE_TTL).await?;
        Ok(Some(Challenge {
            token,
            methods: self.methods_of(user).await?,
        }))
    }

    /// The methods of a live challenge (for the second-step page).
    pub async fn challenge_methods(&self, token: &str) -> AuthResult<Option<Vec<&'static str>>> {
        let Lookup::Valid(raw) = tokens::peek(&self.db, CHALLENGE, token, self.clock.now()).await?
        else {
            return Ok(None);
        };
        let pending: Pending = serde_json::from_str(&raw).map_err(AuthError::internal)?;
        match user_store::find_by_id(&self.db, &pending.user_id).await? {
            Some(user) => Ok(Some(self.methods_of(&user).await?)),
            None => Ok(None),
        }
    }

    /// Whether `cookie` (the verified `trust_device` value) trusts this user's
    /// device; if so it is rotated and the new value returned.
    pub async fn trusted_device(&self, user: &User, cookie: &str) -> AuthResult<Option<String>> {
        let Some((_, id)) = cookie.split_once('!') else {
            return Ok(None);
        };
        if !ct_eq(
            trust_value(self.secret(), &user.id, id).as_bytes(),
            cookie.as_bytes(),
        ) {
            return Ok(None);
        }
        let now = self.clock.now();
        match tokens::consume(&self.db, TRUST, id, now).await? {
            Lookup::Valid(owner) if owner == user.id => {}
            _ => return Ok(None),
        }
        // A sliding 30 days: each use moves the trust to a new row and cookie.
        Ok(Some(self.trust_device(user).await?))
    }

    async fn trust_device(&self, user: &User) -> AuthResult<String> {
        let id = tokens::issue(&self.db, TRUST, &user.id, self.clock.now(), TRUST_TTL).await?;
        Ok(trust_value(self.secret(), &user.id, &id))
    }

    /// Forgets a trusted device (on disable).
    pub async fn forget_device(&self, cookie: Option<&str>) -> AuthResult<()> {
        if let Some((_, id)) = cookie.and_then(|c| c.split_once('!')) {
            tokens::consume(&self.db, TRUST, id, self.clock.now()).await?;
        }
        Ok(())
    }

    /// Replaces the caller's session by a new one (after the factors changed).
    async fn rotate_session(
        &self,
        who: &Authenticated,
        second_factor: Option<SecondFactor>,
        meta: &RequestMeta,
    ) -> AuthResult<Session> {
        let fresh = self
            .open_session(
                &who.user,
                SessionOptions {
                    remember_me: who.session.remember_me,
                    second_factor,
                    ..Default::default()
                },
                meta,
            )
            .await?;
        session_store::delete_by_token(&self.db, &who.session.token).await?;
        Ok(fresh)
    }

    /// A signed-in user's first proof of `proved` turns two factors on; the
    /// session is replaced by one that records the factor.
    async fn switch_on(
        &self,
        who: &Authenticated,
        user: &mut User,
        proved: SecondFactor,
        now: DateTime<Utc>,
        meta: &RequestMeta,
    ) -> AuthResult<Session> {
        user_store::set_two_factor_enabled(&self.db, &user.id, true, now).await?;
        user.two_factor_enabled = true;
        self.rotate_session(who, Some(proved), meta).await
    }

    async fn two_factor_row(&self, user_id: &str) -> AuthResult<Option<TwoFactorRow>> {
        Ok(store::find(&self.db, user_id).await?)
    }

    /// `POST /two-factor/enable`.
    pub async fn enable_two_factor(
        &self,
        who: &Authenticated,
        password: &str,
        method: &str,
        issuer: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthResult<Enabled> {
        self.check_password(&who.user, password, meta).await?;
        let now = self.clock.now();
        let existing = self.two_factor_row(&who.user.id).await?;
        match method {
            "otp" => {
                if existing.is_none() {
                    // A row (with a secret no app has seen) carries the
                    // lockout and the backup codes for mail-only users.
                    let secret = self.seal_secret(&new_secret());
                    store::put_unverified(&self.db, &who.user.id, &secret, &hash_codes(&[]), now)
                        .await?;
                }
                user_store::set_two_factor_enabled(&self.db, &who.user.id, true, now).await?;
                let session = self.rotate_session(who, None, meta).await?;
                self.audit(
                    meta,
                    Entry::about(Event::TwoFactorEnabled, &who.user)
                        .details(json!({"method": "otp"})),
                )
                .await;
                Ok(Enabled::Otp { session })
            }
            "totp" => {
                if existing.as_ref().is_some_and(|r| r.verified) {
                    return Err(AuthError::invalid(
                        "TOTP_ALREADY_ENABLED",
                        "TOTP is already enabled",
                    ));
                }
                let secret = new_secret();
                let codes = new_backup_codes();
                if !store::put_unverified(
                    &self.db,
                    &who.user.id,
                    &self.seal_secret(&secret),
                    &hash_codes(&codes),
                    now,
                )
                .await?
                {
                    return Err(AuthError::invalid(
                        "TOTP_ALREADY_ENABLED",
                        "TOTP is already enabled",
                    ));
                }
                Ok(Enabled::Totp {
                    uri: totp_uri(&secret, &who.user.email, issuer.unwrap_or(ISSUER)),
                    backup_codes: codes,
                })
            }
            _ => Err(AuthError::validation(
                "[body.method] Invalid option: expected one of \"totp\"|\"otp\"",
            )),
        }
    }

    /// `POST /two-factor/disable`.
    pub async fn disable_two_factor(
        &self,
        who: &Authenticated,
        password: &str,
        trust_cookie: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthResult<Session> {
        self.check_password(&who.user, password, meta).await?;
        let now = self.clock.now();
        user_store::set_two_factor_enabled(&self.db, &who.user.id, false, now).await?;
        store::delete(&self.db, &who.user.id).await?;
        self.forget_device(trust_cookie).await?;
        let session = self.rotate_session(who, None, meta).await?;
        self.audit(meta, Entry::about(Event::TwoFactorDisabled, &who.user))
            .await;
        Ok(session)
    }

    /// `POST /two-factor/get-totp-uri`.
    pub async fn totp_uri_of(
        &self,
        who: &Authenticated,
        password: &str,
        meta: &RequestMeta,
    ) -> AuthResult<String> {
        let row = self
            .two_factor_row(&who.user.id)
            .await?
            .ok_or(Refusal::TotpNotEnabled)?;
        self.check_password(&who.user, password, meta).await?;
        Ok(totp_uri(&self.open_secret(&row)?, &who.user.email, ISSUER))
    }

    /// The pending (unverified) TOTP setup of a signed-in user, for the page
    /// that shows its QR code.
    pub async fn pending_totp(&self, user: &User) -> AuthResult<Option<(String, String)>> {
        match self.two_factor_row(&user.id).await? {
            Some(row) if !row.verified => {
                let secret = self.open_secret(&row)?;
                Ok(Some((
                    totp_uri(&secret, &user.email, ISSUER),
                    base32_nopad(secret.as_bytes()),
                )))
            }
            _ => Ok(None),
        }
    }

    /// Whether the user has a verified TOTP authenticator.
    pub async fn has_totp(&self, user: &User) -> AuthResult<bool> {
        Ok(self
            .two_factor_row(&user.id)
            .await?
            .is_some_and(|r| r.verified))
    }

    /// How many backup codes the user has left.
    pub async fn backup_codes_left(&self, user: &User) -> AuthResult<usize> {
        Ok(self
            .two_factor_row(&user.id)
            .await?
            .and_then(|r| serde_json::from_str::<Vec<String>>(&r.backup_codes).ok())
            .map_or(0, |l| l.len()))
    }

    /// `POST /two-factor/generate-backup-codes`.
    pub async fn generate_backup_codes(
        &self,
        who: &Authenticated,
        password: &str,
        meta: &RequestMeta,
    ) -> AuthResult<Vec<String>> {
        let row = self.two_factor_row(&who.user.id).await?;
        let Some(row) = row.filter(|_| who.user.two_factor_enabled) else {
            return Err(AuthError::invalid(
                "TWO_FACTOR_NOT_ENABLED",
                "Two factor isn't enabled",
            ));
        };
        self.check_password(&who.user, password, meta).await?;
        let codes = new_backup_codes();
        store::replace_backup_codes(
            &self.db,
            &row.id,
            None,
            &hash_codes(&codes),
            self.clock.now(),
        )
        .await?;
        self.audit(meta, Entry::about(Event::BackupCodesGenerated, &who.user))
            .await;
        Ok(codes)
    }

    /// The sign-in a challenge belongs to, and its pending state.
    async fn challenge(&self, token: &str) -> AuthResult<(Pending, String, User)> {
        let found = tokens::peek(&self.db, CHALLENGE, token, self.clock.now()).await?;
        self.challenged(found).await
    }

    /// What a challenge row holds (its pending state as parsed and as
    /// stored) and whose sign-in it is; a missing row is a bad cookie.
    async fn challenged(&self, found: Lookup) -> AuthResult<(Pending, String, User)> {
        let Lookup::Valid(raw) = found else {
            return Err(Refusal::InvalidCookie.into());
        };
        let pending: Pending = serde_json::from_str(&raw).map_err(|_| Refusal::InvalidCookie)?;
        let user = user_store::find_by_id(&self.db, &pending.user_id)
            .await?
            .ok_or(Refusal::InvalidCookie)?;
        Ok((pending, raw, user))
    }

    /// Takes one of the challenge's attempts (atomically); refuses once they
    /// are used up, ending the challenge.
    async fn take_attempt(&self, token: &str) -> AuthResult<()> {
        for _ in 0..5 {
            let (mut pending, raw, _) = self.challenge(token).await?;
            if pending.attempts >= CHALLENGE_ATTEMPTS {
                tokens::consume(&self.db, CHALLENGE, token, self.clock.now()).await?;
                return Err(Refusal::TooManyAttempts.into());
            }
            pending.attempts += 1;
            let next = serde_json::to_string(&pending).map_err(AuthError::internal)?;
            if tokens::replace_value(&self.db, CHALLENGE, token, &raw, &next, self.clock.now())
                .await?
            {
                return Ok(());
            }
        }
        Err(AuthError::message(
            Kind::Conflict,
            "Failed to verify the code. Please try again.",
        ))
    }

    /// Refuses while the user's second step is locked.
    fn check_lock(&self, row: Option<&TwoFactorRow>) -> AuthResult<()> {
        let now = self.clock.now();
        if row.and_then(|r| r.locked_until).is_some_and(|u| u > now) {
            return Err(Refusal::Locked.into());
        }
        Ok(())
    }

    /// Counts a failed second step toward the lock, and audits it.
    async fn second_step_failed(
        &self,
        user: &User,
        row: Option<&TwoFactorRow>,
        method: &str,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        self.audit_factor(meta, Event::TwoFactorFailed, user, method)
            .await;
        let Some(row) = row else { return Ok(()) };
        let now = self.clock.now();
        if let Some(until) =
            store::record_failure(&self.db, &row.id, now, now + LOCK_DURATION, LOCK_AFTER).await?
            && row.locked_until.is_none_or(|u| u <= now)
        {
            self.audit(
                meta,
                Entry::about(Event::TwoFactorLocked, user)
                    .details(json!({"locked_until": common::clock::to_iso(&until)})),
            )
            .await;
        }
        Ok(())
    }

    /// Finishes a sign-in whose second factor passed: consumes the challenge
    /// (once), opens the session, and trusts the device if asked.
    async fn finish_sign_in(
        &self,
        token: &str,
        factor: SecondFactor,
        trust: bool,
        meta: &RequestMeta,
    ) -> AuthResult<Passed> {
        let now = self.clock.now();
        let found = tokens::consume(&self.db, CHALLENGE, token, now).await?;
        let (pending, _, user) = self.challenged(found).await?;
        if let Some(row) = self.two_factor_row(&user.id).await? {
            store::clear_failures(&self.db, &row.id, now).await?;
        }
        let session = self
            .sign_in_with(
                &user,
                pending.remember_me,
                factor,
                json!({"method": "password", "second_factor": factor.as_str()}),
                meta,
            )
            .await?;
        let trust = if trust {
            Some(self.trust_device(&user).await?)
        } else {
            None
        };
        Ok(Passed {
            token: Some(session.token.clone()),
            session: Some(session),
            user,
            trust,
            resume: Resume {
                oauth_query: pending.oauth_query,
                callback_url: pending.callback_url,
            },
        })
    }

    /// `POST /two-factor/verify-totp`.
    pub async fn verify_totp(
        &self,
        step: Step<'_>,
        code: &str,
        trust: bool,
        meta: &RequestMeta,
    ) -> AuthResult<Passed> {
        let now = self.clock.now();
        match step {
            Step::SignedIn(who) => {
                let row = self
                    .two_factor_row(&who.user.id)
                    .await?
                    .ok_or(Refusal::TotpNotEnabled)?;
                let secret = self.open_secret(&row)?;
                let Some(s) = matching_step(&secret, code, now) else {
                    self.second_step_failed(&who.user, None, "totp", meta)
                        .await?;
                    return Err(Refusal::InvalidCode.into());
                };
                if !store::use_step(&self.db, &row.id, s, now).await? {
                    return Err(Refusal::InvalidCode.into());
                }
                let mut user = who.user.clone();
                let mut session = None;
                if !row.verified {
                    // Enrolment: the app works; two factors are on from now,
                    // and this session has just proved the second one.
                    store::mark_verified(&self.db, &row.id, now).await?;
                    session = Some(
                        self.switch_on(who, &mut user, SecondFactor::Totp, now, meta)
                            .await?,
                    );
                    self.audit_factor(meta, Event::TwoFactorEnabled, &user, "totp")
                        .await;
                } else {
                    self.audit_factor(meta, Event::TwoFactorVerified, &user, "totp")
                        .await;
                }
                Ok(Passed::in_session(who, session, user))
            }
            Step::SignIn(token) => {
                let (_, _, user) = self.challenge(token).await?;
                let row = self
                    .two_factor_row(&user.id)
                    .await?
                    .filter(|r| r.verified)
                    .ok_or(Refusal::TotpNotEnabled)?;
                self.check_lock(Some(&row))?;
                self.take_attempt(token).await?;
                let secret = self.open_secret(&row)?;
                let good = match matching_step(&secret, code, now) {
                    Some(s) => store::use_step(&self.db, &row.id, s, now).await?,
                    None => false,
                };
                if !good {
                    self.second_step_failed(&user, Some(&row), "totp", meta)
                        .await?;
                    return Err(Refusal::InvalidCode.into());
                }
                self.finish_sign_in(token, SecondFactor::Totp, trust, meta)
                    .await
            }
        }
    }

    /// `POST /two-factor/verify-backup-code`. With `disable_session`, a
    /// sign-in is checked but no session is opened.
    pub async fn verify_backup_code(
        &self,
        step: Step<'_>,
        code: &str,
        trust: bool,
        disable_session: bool,
        meta: &RequestMeta,
    ) -> AuthResult<Passed> {
        let user = match &step {
            Step::SignedIn(who) => who.user.clone(),
            Step::SignIn(token) => self.challenge(token).await?.2,
        };
        let row = self.two_factor_row(&user.id).await?.ok_or_else(|| {
            AuthError::invalid("BACKUP_CODES_NOT_ENABLED", "Backup codes aren't enabled")
        })?;
        if let Step::SignIn(token) = &step {
            self.check_lock(Some(&row))?;
            self.take_attempt(token).await?;
        }
        let wanted = token_hash(code.trim());
        let mut used = false;
        // Compare and set: of two requests with the same code, one wins.
        for _ in 0..5 {
            let current = self.two_factor_row(&user.id).await?.ok_or_else(|| {
                AuthError::invalid("BACKUP_CODES_NOT_ENABLED", "Backup codes aren't enabled")
            })?;
            let mut list: Vec<String> =
                serde_json::from_str(&current.backup_codes).unwrap_or_default();
            let Some(pos) = list
                .iter()
                .position(|h| ct_eq(h.as_bytes(), wanted.as_bytes()))
            else {
                break;
            };
            list.remove(pos);
            let next = serde_json::to_string(&list).map_err(AuthError::internal)?;
            if store::replace_backup_codes(
                &self.db,
                &current.id,
                Some(&current.backup_codes),
                &next,
                self.clock.now(),
            )
            .await?
            {
                used = true;
                break;
            }
        }
        if !used {
            let counted = matches!(step, Step::SignIn(_)).then_some(&row);
            self.second_step_failed(&user, counted, "backup_code", meta)
                .await?;
            return Err(AuthError::coded(
                Kind::Unauthenticated,
                "INVALID_BACKUP_CODE",
                "Invalid backup code",
            ));
        }
        self.audit(
            meta,
            Entry::about(Event::BackupCodeUsed, &user)
                .details(json!({"left": self.backup_codes_left(&user).await?})),
        )
        .await;
        match step {
            Step::SignedIn(who) => Ok(Passed {
                token: Some(who.session.token.clone()),
                session: None,
                user,
                trust: None,
                resume: Resume::default(),
            }),
            Step::SignIn(_) if disable_session => Ok(Passed {
                token: None,
                session: None,
                user,
                trust: None,
                resume: Resume::default(),
            }),
            Step::SignIn(token) => {
                self.finish_sign_in(token, SecondFactor::BackupCode, trust, meta)
                    .await
            }
        }
    }

    /// The key of the one-time-code row: the challenge, or the signed-in session.
    fn otp_key(step: &Step<'_>) -> String {
        match step {
            Step::SignedIn(who) => format!("{}!{}", who.user.id, who.session.id),
            Step::SignIn(token) => (*token).to_string(),
        }
    }

    /// `POST /two-factor/send-otp`: mails a six-digit code, valid three minutes.
    pub async fn send_otp(&self, step: Step<'_>, meta: &RequestMeta) -> AuthResult<()> {
        let user = match &step {
            Step::SignedIn(who) => who.user.clone(),
            Step::SignIn(token) => self.challenge(token).await?.2,
        };
        let digits: [u8; 6] = common::ids::random_bytes();
        let code: String = digits.iter().map(|b| char::from(b'0' + b % 10)).collect();
        let value = json!({"code": token_hash(&code), "fails": 0}).to_string();
        tokens::put(
            &self.db,
            OTP,
            &Self::otp_key(&step),
            &value,
            self.clock.now(),
            OTP_TTL,
        )
        .await?;
        mail::send_later(
            &self.mailer,
            templates::one_time_code(&user.email, &user.name, &code, OTP_TTL.num_minutes()),
        );
        self.audit(
            meta,
            Entry::about(Event::VerificationSent, &user)
                .details(json!({"purpose": "two_factor_otp"})),
        )
        .await;
        Ok(())
    }

    /// `POST /two-factor/verify-otp`.
    pub async fn verify_otp(
        &self,
        step: Step<'_>,
        code: &str,
        trust: bool,
        meta: &RequestMeta,
    ) -> AuthResult<Passed> {
        let now = self.clock.now();
        let user = match &step {
            Step::SignedIn(who) => who.user.clone(),
            Step::SignIn(token) => self.challenge(token).await?.2,
        };
        let row = self.two_factor_row(&user.id).await?;
        if matches!(step, Step::SignIn(_)) {
            self.check_lock(row.as_ref())?;
        }
        let key = Self::otp_key(&step);
        let expired = || AuthError::invalid("OTP_HAS_EXPIRED", "OTP has expired");
        let Lookup::Valid(raw) = tokens::peek(&self.db, OTP, &key, now).await? else {
            return Err(expired());
        };
        let stored: serde_json::Value = serde_json::from_str(&raw).map_err(AuthError::internal)?;
        let fails = stored["fails"].as_i64().unwrap_or(OTP_ATTEMPTS);
        if fails >= OTP_ATTEMPTS {
            tokens::consume(&self.db, OTP, &key, now).await?;
            return Err(Refusal::TooManyAttempts.into());
        }
        let good = ct_eq(
            stored["code"].as_str().unwrap_or_default().as_bytes(),
            token_hash(code.trim()).as_bytes(),
        );
        if !good {
            let next = json!({"code": stored["code"], "fails": fails + 1}).to_string();
            // Lost races count too: the row simply moves on.
            tokens::replace_value(&self.db, OTP, &key, &raw, &next, now).await?;
            let counted = matches!(step, Step::SignIn(_))
                .then_some(row.as_ref())
                .flatten();
            self.second_step_failed(&user, counted, "otp", meta).await?;
            return Err(Refusal::InvalidCode.into());
        }
        // Used once: whoever deletes the row first has it.
        if !matches!(
            tokens::consume(&self.db, OTP, &key, now).await?,
            Lookup::Valid(_)
        ) {
            return Err(expired());
        }
        match step {
            Step::SignedIn(who) => {
                let mut user = user;
                let mut session = None;
                if !user.two_factor_enabled {
                    session = Some(
                        self.switch_on(who, &mut user, SecondFactor::Otp, now, meta)
                            .await?,
                    );
                }
                self.audit_factor(meta, Event::TwoFactorVerified, &user, "otp")
                    .await;
                Ok(Passed::in_session(who, session, user))
            }
            Step::SignIn(token) => {
                if !user.two_factor_enabled {
                    return Err(AuthError::invalid(
                        "FAILED_TO_CREATE_SESSION",
                        "Failed to create session",
                    ));
                }
                self.finish_sign_in(token, SecondFactor::Otp, trust, meta)
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc_6238_and_takes_one_step_either_side() {
        // RFC 6238 appendix B, SHA-1: secret "12345678901234567890", T = 59 s.
        let secret = "12345678901234567890";
        let at = DateTime::from_timestamp(59, 0).unwrap();
        let t = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(8)
            .with_secret(secret.as_bytes().to_vec())
            .build_noncompliant();
        assert_eq!(t.generate(59).to_string(), "94287082");
        let code = current_code(secret, at);
        assert_eq!(matching_step(secret, &code, at), Some(1));
        assert_eq!(
            matching_step(secret, &code, at + Duration::seconds(30)),
            Some(1)
        );
        assert_eq!(
            matching_step(secret, &code, at + Duration::seconds(61)),
            None
        );
        assert_eq!(matching_step(secret, "12345", at), None);
        assert_eq!(matching_step(secret, "abcdef", at), None);
    }

    #[test]
    fn uri_has_better_auths_shape() {
        let uri = totp_uri(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
            "a@example.com",
            "Better Auth",
        );
        assert!(uri.starts_with("otpauth://totp/Better%20Auth:a%40example.com?secret="));
        assert!(uri.ends_with("&issuer=Better+Auth&digits=6&period=30"));
        let secret = uri
            .split("secret=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        assert_eq!(secret.len(), 52, "base32 of 32 bytes, unpadded");
    }

    #[test]
    fn backup_codes_look_like_better_auths() {
        let codes = new_backup_codes();
        assert_eq!(codes.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 11);
            assert_eq!(&c[5..6], "-");
        }
    }
}
