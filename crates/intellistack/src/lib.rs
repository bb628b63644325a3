//! The IntelliStack server, assembled from its roles. `main.rs` is the CLI;
//! everything here is also used in-process by the integration tests.

pub mod app;
pub mod cli;
pub mod commands;
pub mod input;
pub mod migration;
pub mod ops;
pub mod server;
pub mod settings;
pub mod startup;

pub use app::{App, AppState};
pub use settings::Settings;
pub use startup::StartError;
