//! Shared foundation for every IntelliStack role: configuration, the database
//! handle and its migrations, ids, the clock and telemetry.

pub mod clock;
pub mod config;
pub mod db;
pub mod ids;
pub mod lease;
pub mod origins;
pub mod redirect;
pub mod settings;
pub mod telemetry;
pub mod text;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use config::{Config, ConfigError, DatabaseConfig, Mode, Role, Secret};
pub use db::{Db, DbError, DbKind};
