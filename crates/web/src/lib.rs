//! The pages of the web role: server-rendered with askama around one layout,
//! with every asset embedded in the binary. Pages read the session through
//! the auth crate and the learning data through the api crate; the forms and
//! the chat panel talk to `/api/auth` and `/api/v1/chatkit` from the browser.

mod assets;
mod charts;
mod device;
mod error;
mod pages;
mod qr;
mod session;

use axum::Router;
use axum::routing::get;

pub use error::WebError;

/// What the pages need: the identity service and the learning backend.
#[derive(Clone)]
pub struct WebState {
    pub auth: auth::Auth,
    pub api: api::ApiState,
}

pub fn router(state: WebState) -> Router {
    use pages::*;
    Router::new()
        .route("/", get(home))
        .route("/login", get(account_pages::login))
        .route("/register", get(account_pages::register))
        .route("/verify-email", get(account_pages::verify_email))
        .route("/forgot-password", get(account_pages::forgot_password))
        .route("/reset-password", get(account_pages::reset_password))
        .route("/consent", get(account_pages::consent))
        .route("/account", get(account_pages::account))
        .route("/account/two-factor", get(account_pages::totp_setup))
        .route("/two-factor", get(account_pages::two_factor))
        .route("/dashboard", get(learning_pages::dashboard))
        .route("/learn/{stage}/{lesson}", get(learning_pages::lesson))
        .route(
            "/learn/{course}/{stage}/{lesson}",
            get(learning_pages::course_lesson),
        )
        .route("/author/{stage}/{lesson}", get(teach_pages::old_editor))
        .route("/teach", get(teach_pages::teach))
        .route("/teach/flagged", get(teach_pages::flagged))
        .route("/teach/threads/{id}", get(teach_pages::thread))
        .route("/teach/{course}", get(teach_pages::workspace))
        .route("/teach/{course}/insight", get(teach_pages::insight))
        .route("/teach/{course}/export.zip", get(teach_pages::export))
        .route("/teach/{course}/lessons/{id}", get(teach_pages::editor))
        .route("/admin", get(admin_pages::admin))
        .route("/admin/events.csv", get(admin_pages::events_csv))
        .route("/favicon.ico", get(assets::favicon))
        .route("/assets/{file}", get(assets::serve))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            error::with_viewer,
        ))
        .with_state(state)
}
