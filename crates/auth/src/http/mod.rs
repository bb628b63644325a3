//! Better-Auth's HTTP API under `/api/auth`.

mod error;
pub mod extract;
pub mod guard;

pub use error::{oauth_error, plain_error};
pub mod reply;
pub mod request;
mod routes;
pub mod views;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};

use crate::Auth;
use crate::ratelimit::{CHANGE_EMAIL, CHANGE_PASSWORD, MAIL, SIGN_IN, SIGN_UP, TWO_FACTOR};
use guard::{Policy, limit, policy};

/// Every `/api/auth` route. Unknown paths and methods answer 404 with an
/// empty body, as Better-Auth's router does.
pub fn router(auth: Auth) -> Router {
    use routes::*;
    let api = Router::new()
        // Each route's rate limit and origin rules are declared here, with it.
        .route(
            "/sign-up/email",
            post(email::sign_up).route_layer(policy(&auth, Policy::limit(SIGN_UP).form())),
        )
        .route(
            "/sign-in/email",
            post(email::sign_in).route_layer(policy(&auth, Policy::limit(SIGN_IN).form())),
        )
        .route(
            "/sign-in/social",
            post(social::sign_in).route_layer(limit(&auth, SIGN_IN)),
        )
        .route("/callback/{provider}", get(social::callback))
        .route("/link-social", post(social::link))
        .route("/unlink-account", post(social::unlink))
        .route("/error", get(social::error_page))
        .route(
            "/send-verification-email",
            post(email::send_verification_email).route_layer(limit(&auth, MAIL)),
        )
        .route("/verify-email", get(email::verify_email))
        .route("/get-session", get(session::get_session))
        .route("/sign-out", post(session::sign_out))
        .route("/list-sessions", get(session::list_sessions))
        .route("/revoke-session", post(session::revoke_session))
        .route("/revoke-sessions", post(session::revoke_sessions))
        .route(
            "/revoke-other-sessions",
            post(session::revoke_other_sessions),
        )
        .route(
            "/request-password-reset",
            post(recovery::request).route_layer(limit(&auth, MAIL)),
        )
        .route(
            "/forget-password",
            post(recovery::request).route_layer(limit(&auth, MAIL)),
        )
        .route("/reset-password/{token}", get(recovery::follow_link))
        .route("/reset-password", post(recovery::reset))
        .route(
            "/change-password",
            post(user::change_password).route_layer(limit(&auth, CHANGE_PASSWORD)),
        )
        .route("/update-user", post(user::update_user))
        .route("/list-accounts", get(user::list_accounts))
        .route(
            "/change-email",
            post(account::change_email).route_layer(limit(&auth, CHANGE_EMAIL)),
        )
        .route("/update-session", post(account::update_session))
        .route("/verify-password", post(account::verify_password))
        .route("/get-access-token", post(account::get_access_token))
        .route("/refresh-token", post(account::refresh_token))
        .route("/account-info", get(account::account_info))
        .route("/token", get(jwt::token))
        .route("/jwks", get(jwt::jwks))
        .route(
            "/ok",
            get(|| async { axum::Json(serde_json::json!({"ok": true})) }),
        )
        .route("/admin/set-role", post(admin::set_role))
        .route("/admin/list-users", get(admin::list_users))
        .route("/admin/get-user", get(admin::get_user))
        .route("/admin/create-user", post(admin::create_user))
        .route("/admin/update-user", post(admin::update_user))
        .route("/admin/ban-user", post(admin::ban_user))
        .route("/admin/unban-user", post(admin::unban_user))
        .route("/admin/remove-user", post(admin::remove_user))
        .route("/admin/set-user-password", post(admin::set_user_password))
        .route("/admin/list-user-sessions", post(admin::list_user_sessions))
        .route(
            "/admin/revoke-user-session",
            post(admin::revoke_user_session),
        )
        .route(
            "/admin/revoke-user-sessions",
            post(admin::revoke_user_sessions),
        )
        // Better-Auth's twoFactor plugin; every route 3 requests per 10 s per address.
        .route(
            "/two-factor/enable",
            post(two_factor::enable).route_layer(limit(&auth, TWO_FACTOR)),
        )
        .route(
            "/two-factor/disable",
            post(two_factor::disable).route_layer(limit(&auth, TWO_FACTOR)),
        )
        .route(
            "/two-factor/get-totp-uri",
            post(two_factor::get_totp_uri).route_layer(limit(&auth, TWO_FACTOR)),
        )
        .route(
            "/two-factor/verify-totp",
            post(two_factor::verify::<two_factor::Totp>).route_layer(limit(&auth, TWO_FACTOR)),
        )
        .route(
            "/two-factor/send-otp",
            post(two_factor::send_otp).route_layer(limit(&auth, TWO_FACTOR)),
        )
        .route(
            "/two-factor/verify-otp",
            post(two_factor::verify::<two_factor::Otp>).route_layer(limit(&auth, TWO_FACTOR)),
        )
        .route(
            "/two-factor/verify-backup-code",
            post(two_factor::verify::<two_factor::BackupCode>)
                .route_layer(limit(&auth, TWO_FACTOR)),
        )
        .route(
            "/two-factor/generate-backup-codes",
            post(two_factor::generate_backup_codes).route_layer(limit(&auth, TWO_FACTOR)),
        )
        // Better-Auth's passkey plugin.
        .route(
            "/passkey/generate-register-options",
            get(passkey::generate_register_options),
        )
        .route(
            "/passkey/verify-registration",
            post(passkey::verify_registration),
        )
        .route(
            "/passkey/generate-authenticate-options",
            get(passkey::generate_authenticate_options),
        )
        .route(
            "/passkey/verify-authentication",
            post(passkey::verify_authentication).route_layer(limit(&auth, SIGN_IN)),
        )
        .route(
            "/passkey/list-user-passkeys",
            get(passkey::list_user_passkeys),
        )
        .route("/passkey/delete-passkey", post(passkey::delete_passkey))
        .route("/passkey/update-passkey", post(passkey::update_passkey))
        .route("/admin/impersonate-user", post(admin::impersonate_user))
        .route("/admin/stop-impersonating", post(admin::stop_impersonating))
        .route("/admin/has-permission", post(admin::has_permission))
        .route("/dev/outbox", get(dev::outbox))
        .route("/.well-known/openid-configuration", get(oidc::discovery))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oidc::discovery),
        )
        .route(
            "/oauth2/authorize",
            get(oidc::authorize_get).post(oidc::authorize_post),
        )
        .route("/oauth2/consent", post(oidc::consent))
        .route("/oauth2/token", post(oidc::token))
        .route("/oauth2/userinfo", get(oidc::userinfo).post(oidc::userinfo))
        .route("/oauth2/introspect", post(oidc::introspect))
        .route("/oauth2/revoke", post(oidc::revoke))
        .route(
            "/oauth2/end-session",
            get(oidc::end_session_get).post(oidc::end_session_post),
        )
        .route("/oauth2/get-consents", get(oidc::get_consents))
        .route("/oauth2/delete-consent", post(oidc::delete_consent))
        .route("/oauth2/register", post(oidc::register))
        .route("/oauth2/get-clients", get(oidc::get_clients))
        .route("/oauth2/get-client", get(oidc::get_client))
        .route("/oauth2/update-client", post(oidc::update_client))
        .route("/oauth2/client/rotate-secret", post(oidc::rotate_secret))
        .route("/oauth2/delete-client", post(oidc::delete_client))
        .method_not_allowed_fallback(|| async { StatusCode::NOT_FOUND })
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(middleware::from_fn_with_state(auth.clone(), guard::guard))
        .with_state(auth.clone());
    // Discovery is also served at the origin's root, where generic OIDC
    // clients look first.
    let root = Router::new()
        .route("/.well-known/openid-configuration", get(oidc::discovery))
        // RFC 8414 §3: the metadata of issuer `{origin}/api/auth` lives at
        // the well-known path with the issuer's path appended.
        .route(
            "/.well-known/oauth-authorization-server/api/auth",
            get(oidc::discovery),
        )
        .with_state(auth);
    Router::new().nest("/api/auth", api).merge(root)
}
