//! Shared state and the router of the roles this process serves.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use common::telemetry::{PrometheusHandle, metrics_handle};
use common::{Config, Db, Role, SharedClock};

use crate::ops;

/// What every handler may reach: configuration, the database and the clock.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub clock: SharedClock,
    pub metrics: PrometheusHandle,
    pub roles: Arc<BTreeSet<Role>>,
    /// The identity service; every role reads sessions through it.
    pub auth: auth::Auth,
}

/// A fully wired application, ready to be served.
pub struct App {
    pub state: AppState,
}

impl App {
    pub fn new(
        config: Config,
        db: Db,
        clock: SharedClock,
        roles: BTreeSet<Role>,
    ) -> Result<Self, auth::mail::MailError> {
        let config = Arc::new(config);
        let auth = auth::Auth::new(config.clone(), db.clone(), clock.clone())?;
        Ok(Self::with_auth(config, db, clock, roles, auth))
    }

    /// Wires the application around an existing identity service (tests
    /// inject one with a capturing mailer).
    pub fn with_auth(
        config: Arc<Config>,
        db: Db,
        clock: SharedClock,
        roles: BTreeSet<Role>,
        auth: auth::Auth,
    ) -> Self {
        let state = AppState {
            config,
            db,
            clock,
            metrics: metrics_handle(),
            roles: Arc::new(roles),
            auth,
        };
        App { state }
    }

    /// The router for the configured roles plus the operational endpoints
    /// every instance answers (`/health`, `/ready`, `/metrics`).
    pub fn router(&self) -> Router {
        let mut router = ops::router().with_state(self.state.clone());
        if self.state.roles.contains(&Role::Auth) {
            router = router.merge(auth::http::router(self.state.auth.clone()));
        }
        router
    }
}
