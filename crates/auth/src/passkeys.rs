//! Passkeys (WebAuthn) as Better-Auth's passkey plugin offers them, over the
//! `webauthn_rp` crate: registration and sign-in ceremonies, list, rename,
//! delete. Ceremony state lives in `verification` (named by a signed cookie),
//! so any instance can finish what another started.
//!
//! Passkeys here require user verification (a PIN or biometric on the
//! device) and a discoverable credential: a passkey sign-in is possession
//! plus verification, so it counts as both factors and skips the second step.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use common::on_db;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::AuthenticationVerificationOptions;
use webauthn_rp::request::register::{
    CredProtect, Nickname, PublicKeyCredentialUserEntity, RegistrationVerificationOptions,
    UserHandle16, Username,
};
use webauthn_rp::request::{AsciiDomain, PublicKeyCredentialDescriptor, RpId};
use webauthn_rp::response::register::{DynamicState, StaticState};
use webauthn_rp::response::{
    AuthTransports, AuthenticatorAttachment, AuthenticatorTransport, Backup, CredentialId,
};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthentication16, DiscoverableAuthenticationServerState,
    DiscoverableCredentialRequestOptions, PublicKeyCredentialCreationOptions, Registration,
    RegistrationServerState,
};

use crate::Auth;
use crate::audit::{Entry, Event, RequestMeta};
use crate::error::{AuthError, AuthResult, Kind};
use crate::sessions::{Authenticated, SecondFactor};
use crate::tokens::{self, Lookup};
use crate::users::{User, store as user_store};

/// How long a ceremony may take (cookie and row).
pub const CEREMONY_TTL: Duration = Duration::minutes(5);
const PURPOSE: &str = "passkey-ceremony";

/// A stored passkey, in Better-Auth's column names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Passkey {
    pub id: String,
    pub name: Option<String>,
    pub public_key: String,
    pub user_id: String,
    pub credential_id: String,
    pub counter: i64,
    pub device_type: String,
    pub backed_up: bool,
    pub transports: Option<String>,
    pub aaguid: Option<String>,
    pub user_handle: String,
    pub user_verified: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A ceremony begun: the options for the browser and the cookie that names it.
pub struct Ceremony {
    pub options: Value,
    pub token: String,
}

/// What a ceremony row keeps.
#[derive(Serialize, Deserialize)]
struct Pending {
    #[serde(rename = "type")]
    kind: String,
    /// webauthn_rp's server state, base64.
    state: String,
    #[serde(default)]
    user_id: Option<String>,
}

fn challenge_not_found() -> AuthError {
    AuthError::invalid("CHALLENGE_NOT_FOUND", "Challenge not found")
}

fn not_found() -> AuthError {
    AuthError::not_found("PASSKEY_NOT_FOUND", "Passkey not found")
}

fn registration_failed() -> AuthError {
    AuthError::invalid(
        "FAILED_TO_VERIFY_REGISTRATION",
        "Failed to verify registration",
    )
}

fn authentication_failed() -> AuthError {
    AuthError::invalid("AUTHENTICATION_FAILED", "Authentication failed")
}

const TRANSPORTS: [(AuthenticatorTransport, &str); 6] = [
    (AuthenticatorTransport::Ble, "ble"),
    (AuthenticatorTransport::Hybrid, "hybrid"),
    (AuthenticatorTransport::Internal, "internal"),
    (AuthenticatorTransport::Nfc, "nfc"),
    (AuthenticatorTransport::SmartCard, "smart-card"),
    (AuthenticatorTransport::Usb, "usb"),
];

fn transports_text(t: AuthTransports) -> String {
    TRANSPORTS
        .iter()
        .filter(|(tr, _)| t.contains(*tr))
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(",")
}

fn transports_of(text: Option<&str>) -> Option<AuthTransports> {
    // The set's wire form is a bit per transport, in the order above.
    let bits = text
        .unwrap_or_default()
        .split(',')
        .filter_map(|name| TRANSPORTS.iter().position(|(_, n)| *n == name))
        .fold(0u8, |acc, i| acc | (1 << i));
    AuthTransports::decode(bits).ok()
}

fn uuid_text(bytes: &[u8]) -> String {
    let h = crate::crypto::hex(bytes);
    if h.len() != 32 {
        return h;
    }
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl Auth {
    /// The relying-party ID: `PASSKEY_RP_ID`, else the host of `BETTER_AUTH_URL`.
    fn rp_id(&self) -> AuthResult<RpId> {
        let host = self
            .settings
            .passkey_rp_id
            .clone()
            .or_else(|| self.config.base_url.host_str().map(str::to_string))
            .unwrap_or_else(|| "localhost".into());
        AsciiDomain::try_from(host)
            .map(RpId::Domain)
            .map_err(AuthError::internal)
    }

    /// The origins a ceremony may come from: the site and the trusted origins.
    fn passkey_origins(&self) -> Vec<String> {
        let mut origins = vec![common::config::origin_of(&self.config.base_url)];
        origins.extend(
            self.config
                .trusted_origins
                .iter()
                .filter(|o| !o.contains('*'))
                .cloned(),
        );
        origins
    }

    async fn store_ceremony(&self, pending: &Pending) -> AuthResult<String> {
        let value = serde_json::to_string(pending).map_err(AuthError::internal)?;
        Ok(tokens::issue(&self.db, PURPOSE, &value, self.clock.now(), CEREMONY_TTL).await?)
    }

    /// Takes a ceremony (once) and checks its kind.
    async fn take_ceremony(&self, token: Option<&str>, kind: &str) -> AuthResult<Pending> {
        let token = token.ok_or_else(challenge_not_found)?;
        let Lookup::Valid(raw) =
            tokens::consume(&self.db, PURPOSE, token, self.clock.now()).await?
        else {
            return Err(challenge_not_found());
        };
        let pending: Pending = serde_json::from_str(&raw).map_err(|_| challenge_not_found())?;
        if pending.kind != kind {
            return Err(challenge_not_found());
        }
        Ok(pending)
    }

    pub async fn passkeys_of(&self, user_id: &str) -> AuthResult<Vec<Passkey>> {
        Ok(on_db!(&self.db, pool => sqlx::query_as::<_, Passkey>(
            "SELECT * FROM passkey WHERE user_id = $1 ORDER BY created_at, id")
            .bind(user_id).fetch_all(pool).await)?)
    }

    /// `GET /passkey/generate-register-options`.
    pub async fn passkey_registration_options(
        &self,
        who: &Authenticated,
        name: Option<&str>,
        attachment: Option<&str>,
    ) -> AuthResult<Ceremony> {
        let rp_id = self.rp_id()?;
        let handle = UserHandle16::new();
        // As Better-Auth, a `name` asked for becomes the account name the
        // authenticator shows, when it is a valid WebAuthn user name
        // (PRECIS); otherwise the email is, or else the user id.
        let user_name = [
            name.map(str::trim),
            Some(who.user.email.as_str()),
            Some(who.user.id.as_str()),
        ]
        .into_iter()
        .flatten()
        .filter(|n| !n.is_empty())
        .find_map(|n| Username::try_from(n).ok())
        .ok_or_else(|| AuthError::internal("no usable WebAuthn user name"))?;
        let user = PublicKeyCredentialUserEntity {
            name: user_name,
            id: &handle,
            display_name: Nickname::try_from(who.user.name.as_str()).ok(),
        };
        let mut exclude = Vec::new();
        for p in self.passkeys_of(&who.user.id).await? {
            let Ok(bytes) = URL_SAFE_NO_PAD.decode(&p.credential_id) else {
                continue;
            };
            if let (Ok(id), Some(transports)) = (
                CredentialId::<Vec<u8>>::decode(bytes),
                transports_of(p.transports.as_deref()),
            ) {
                exclude.push(PublicKeyCredentialDescriptor { id, transports });
            }
        }
        let mut options = PublicKeyCredentialCreationOptions::passkey(&rp_id, user, exclude);
        // credProtect is not asked for: browsers refuse the whole creation
        // when it is enforced and the authenticator lacks it, and user
        // verification is required on every use anyway.
        options.extensions.cred_protect = CredProtect::None;
        options.timeout = std::num::NonZeroU32::new(60_000).unwrap_or(options.timeout);
        let (server, client) = options.start_ceremony().map_err(AuthError::internal)?;
        let mut options = serde_json::to_value(&client).map_err(AuthError::internal)?;
        options["rp"]["name"] = json!(crate::two_factor::ISSUER);
        match attachment {
            Some(a @ ("platform" | "cross-platform")) => {
                options["authenticatorSelection"]["authenticatorAttachment"] = json!(a);
            }
            Some(_) => {
                return Err(AuthError::validation(
                    "[query.authenticatorAttachment] Invalid option: expected one of \"platform\"|\"cross-platform\"",
                ));
            }
            None => {}
        }
        let state = server.encode().map_err(AuthError::internal)?;
        let token = self
            .store_ceremony(&Pending {
                kind: "registration".into(),
                state: STANDARD.encode(state),
                user_id: Some(who.user.id.clone()),
            })
            .await?;
        Ok(Ceremony { options, token })
    }

    /// `POST /passkey/verify-registration`: checks the authenticator's answer
    /// and stores the passkey.
    pub async fn passkey_register(
        &self,
        who: &Authenticated,
        ceremony: Option<&str>,
        response: &Value,
        name: Option<&str>,
        meta: &RequestMeta,
    ) -> AuthResult<Passkey> {
        let pending = self.take_ceremony(ceremony, "registration").await?;
        if pending.user_id.as_deref() != Some(who.user.id.as_str()) {
            return Err(AuthError::coded(
                Kind::Unauthenticated,
                "YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY",
                "You are not allowed to register this passkey",
            ));
        }
        let raw = STANDARD
            .decode(&pending.state)
            .map_err(|_| challenge_not_found())?;
        let server = RegistrationServerState::<16>::decode(raw.as_slice())
            .map_err(|_| challenge_not_found())?;
        let json = serde_json::to_vec(response).map_err(AuthError::internal)?;
        let registration = Registration::from_json_relaxed(&json).map_err(|e| {
            tracing::debug!(error = %e, "unreadable passkey registration");
            registration_failed()
        })?;
        let origins = self.passkey_origins();
        let options = RegistrationVerificationOptions::<String, String> {
            allowed_origins: &origins,
            error_on_unsolicited_extensions: false,
            ..Default::default()
        };
        let rp_id = self.rp_id()?;
        let credential = server
            .verify(&rp_id, &registration, &options)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey registration refused");
                registration_failed()
            })?;
        let (id, transports, handle, static_state, dynamic, metadata) = credential.into_parts();
        let public_key = STANDARD.encode(static_state.encode().map_err(AuthError::internal)?);
        let (device_type, backed_up) = match dynamic.backup {
            Backup::NotEligible => ("singleDevice", false),
            Backup::Eligible => ("multiDevice", false),
            Backup::Exists => ("multiDevice", true),
        };
        let now = self.clock.now();
        let passkey = Passkey {
            id: common::ids::new_id(),
            name: name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| n.chars().take(100).collect()),
            public_key,
            user_id: who.user.id.clone(),
            credential_id: URL_SAFE_NO_PAD.encode(id.as_ref()),
            counter: i64::from(dynamic.sign_count),
            device_type: device_type.into(),
            backed_up,
            transports: Some(transports_text(transports)),
            aaguid: Some(uuid_text(metadata.aaguid.data())),
            user_handle: URL_SAFE_NO_PAD.encode(handle.as_ref()),
            user_verified: dynamic.user_verified,
            created_at: now,
            last_used_at: None,
        };
        let inserted = on_db!(&self.db, pool => sqlx::query(
            "INSERT INTO passkey (id, name, public_key, user_id, credential_id, counter, device_type, backed_up, transports, aaguid, user_handle, user_verified, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (credential_id) DO NOTHING")
            .bind(&passkey.id).bind(&passkey.name).bind(&passkey.public_key).bind(&passkey.user_id)
            .bind(&passkey.credential_id).bind(passkey.counter).bind(&passkey.device_type).bind(passkey.backed_up)
            .bind(&passkey.transports).bind(&passkey.aaguid).bind(&passkey.user_handle).bind(passkey.user_verified)
            .bind(passkey.created_at)
            .execute(pool).await.map(|r| r.rows_affected()))?;
        if inserted == 0 {
            return Err(AuthError::invalid(
                "PREVIOUSLY_REGISTERED",
                "This passkey is already registered",
            ));
        }
        self.audit(
            meta,
            Entry::about(Event::PasskeyAdded, &who.user)
                .details(json!({"passkey_id": passkey.id, "name": passkey.name})),
        )
        .await;
        Ok(passkey)
    }

    /// `GET /passkey/generate-authenticate-options`: a usernameless ceremony
    /// (the browser offers its passkeys for this site, in the autofill list
    /// where it can).
    pub async fn passkey_authentication_options(&self) -> AuthResult<Ceremony> {
        let rp_id = self.rp_id()?;
        let mut request = DiscoverableCredentialRequestOptions::passkey(&rp_id);
        request.0.timeout = std::num::NonZeroU32::new(60_000).unwrap_or(request.0.timeout);
        let (server, client) = request.start_ceremony().map_err(AuthError::internal)?;
        let options = serde_json::to_value(&client).map_err(AuthError::internal)?;
        let state = server.encode().map_err(AuthError::internal)?;
        let token = self
            .store_ceremony(&Pending {
                kind: "authentication".into(),
                state: STANDARD.encode(state),
                user_id: None,
            })
            .await?;
        Ok(Ceremony { options, token })
    }

    /// `POST /passkey/verify-authentication`: checks the assertion and opens a
    /// session that counts as two factors.
    pub async fn passkey_sign_in(
        &self,
        ceremony: Option<&str>,
        response: &Value,
        meta: &RequestMeta,
    ) -> AuthResult<Authenticated> {
        let pending = self.take_ceremony(ceremony, "authentication").await?;
        let raw = STANDARD
            .decode(&pending.state)
            .map_err(|_| challenge_not_found())?;
        let server = DiscoverableAuthenticationServerState::decode(raw.as_slice())
            .map_err(|_| challenge_not_found())?;
        let json = serde_json::to_vec(response).map_err(AuthError::internal)?;
        let assertion = DiscoverableAuthentication16::from_json_relaxed(&json)
            .map_err(|_| authentication_failed())?;
        let credential_id = URL_SAFE_NO_PAD.encode(assertion.raw_id().as_ref());
        let stored: Passkey = on_db!(&self.db, pool => sqlx::query_as::<_, Passkey>(
            "SELECT * FROM passkey WHERE credential_id = $1")
            .bind(&credential_id).fetch_optional(pool).await)?
        .ok_or_else(|| {
            AuthError::coded(
                Kind::Unauthenticated,
                "PASSKEY_NOT_FOUND",
                "Passkey not found",
            )
        })?;
        let handle_bytes: [u8; 16] = URL_SAFE_NO_PAD
            .decode(&stored.user_handle)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(authentication_failed)?;
        let handle = UserHandle16::decode(handle_bytes).map_err(|_| authentication_failed())?;
        let key_bytes = STANDARD
            .decode(&stored.public_key)
            .map_err(|_| authentication_failed())?;
        let static_state =
            StaticState::decode(key_bytes.as_slice()).map_err(AuthError::internal)?;
        let dynamic = DynamicState {
            user_verified: stored.user_verified,
            backup: match (stored.device_type.as_str(), stored.backed_up) {
                ("multiDevice", true) => Backup::Exists,
                ("multiDevice", false) => Backup::Eligible,
                _ => Backup::NotEligible,
            },
            sign_count: u32::try_from(stored.counter).unwrap_or(u32::MAX),
            authenticator_attachment: AuthenticatorAttachment::None,
        };
        let mut credential =
            AuthenticatedCredential::new(assertion.raw_id(), &handle, static_state, dynamic)
                .map_err(AuthError::internal)?;
        let origins = self.passkey_origins();
        let options = AuthenticationVerificationOptions::<String, String> {
            allowed_origins: &origins,
            error_on_unsolicited_extensions: false,
            ..Default::default()
        };
        let rp_id = self.rp_id()?;
        server
            .verify(&rp_id, &assertion, &mut credential, &options)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey sign-in refused");
                authentication_failed()
            })?;
        let counter = i64::from(credential.dynamic_state().sign_count);
        let now = self.clock.now();
        on_db!(&self.db, pool => sqlx::query(
            "UPDATE passkey SET counter = $1, last_used_at = $2 WHERE id = $3")
            .bind(counter).bind(now).bind(&stored.id).execute(pool).await.map(|_| ()))?;
        let user: User = user_store::find_by_id(&self.db, &stored.user_id)
            .await?
            .ok_or_else(|| AuthError::message(Kind::Server, "User not found"))?;
        let session = self
            .sign_in_with(
                &user,
                true,
                SecondFactor::Passkey,
                json!({"method": "passkey", "passkey_id": stored.id}),
                meta,
            )
            .await?;
        Ok(Authenticated { session, user })
    }

    async fn owned_passkey(&self, user: &User, id: &str) -> AuthResult<Passkey> {
        let found: Option<Passkey> = on_db!(&self.db, pool => sqlx::query_as::<_, Passkey>(
            "SELECT * FROM passkey WHERE id = $1").bind(id).fetch_optional(pool).await)?;
        let found = found.ok_or_else(not_found)?;
        if found.user_id != user.id {
            return Err(AuthError::Unauthorized);
        }
        Ok(found)
    }

    /// `POST /passkey/update-passkey`.
    pub async fn rename_passkey(
        &self,
        user: &User,
        id: &str,
        name: &str,
        meta: &RequestMeta,
    ) -> AuthResult<Passkey> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AuthError::validation(
                "[body.name] Too small: expected string to have >=1 characters",
            ));
        }
        let mut found = self.owned_passkey(user, id).await.map_err(|e| match e {
            AuthError::Unauthorized => AuthError::coded(
                Kind::Unauthenticated,
                "YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY",
                "You are not allowed to register this passkey",
            ),
            other => other,
        })?;
        let name: String = name.chars().take(100).collect();
        on_db!(&self.db, pool => sqlx::query("UPDATE passkey SET name = $1 WHERE id = $2 AND user_id = $3")
            .bind(&name).bind(id).bind(&user.id).execute(pool).await.map(|_| ()))?;
        self.audit(
            meta,
            Entry::about(Event::PasskeyRenamed, user)
                .details(json!({"passkey_id": id, "name": name})),
        )
        .await;
        found.name = Some(name);
        Ok(found)
    }

    /// `POST /passkey/delete-passkey`.
    pub async fn delete_passkey(
        &self,
        user: &User,
        id: &str,
        meta: &RequestMeta,
    ) -> AuthResult<()> {
        let found = self.owned_passkey(user, id).await?;
        on_db!(&self.db, pool => sqlx::query("DELETE FROM passkey WHERE id = $1 AND user_id = $2")
            .bind(id).bind(&user.id).execute(pool).await.map(|_| ()))?;
        self.audit(
            meta,
            Entry::about(Event::PasskeyRemoved, user)
                .details(json!({"passkey_id": id, "name": found.name})),
        )
        .await;
        Ok(())
    }
}
