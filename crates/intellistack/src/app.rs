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
}

/// A fully wired application, ready to be served.
pub struct App {
    pub state: AppState,
}

impl App {
    pub fn new(config: Config, db: Db, clock: SharedClock, roles: BTreeSet<Role>) -> Self {
        let state = AppState {
            config: Arc::new(config),
            db,
            clock,
            metrics: metrics_handle(),
            roles: Arc::new(roles),
        };
        App { state }
    }

    /// The router for the configured roles plus the operational endpoints
    /// every instance answers (`/health`, `/ready`, `/metrics`).
    pub fn router(&self) -> Router {
        ops::router().with_state(self.state.clone())
    }
}
