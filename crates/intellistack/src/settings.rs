//! The binary's settings, composed of each crate's own: the shared ones
//! (`common`), the auth role's, the learning backend's and the tutor's. Each
//! crate declares its variables beside its settings type; [`declared`] lists
//! them all, and the tests hold `.env.example` and the README to that list.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use common::settings::{Var, Vars};
use common::{Config, ConfigError};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Shared by every role: listening, database, secret, public URL, limits.
    pub core: Config,
    pub auth: Arc<auth::settings::AuthSettings>,
    pub chat: api::settings::ChatSettings,
    pub tutor: tutor::settings::TutorSettings,
}

impl Settings {
    /// Reads `.env` (when present; existing variables win) and then the
    /// process environment.
    pub fn from_process_env() -> Result<Self, ConfigError> {
        Self::from_vars(&common::config::process_vars())
    }

    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        Ok(Settings {
            core: Config::from_vars(vars)?,
            auth: Arc::new(auth::settings::AuthSettings::from_vars(vars)?),
            chat: api::settings::ChatSettings::from_vars(vars)?,
            tutor: tutor::settings::TutorSettings::from_vars(vars)?,
        })
    }
}

// The shared settings are what most commands need; reading them through the
// composition keeps `settings.database` as short as it was.
impl Deref for Settings {
    type Target = Config;
    fn deref(&self) -> &Config {
        &self.core
    }
}

impl DerefMut for Settings {
    fn deref_mut(&mut self) -> &mut Config {
        &mut self.core
    }
}

/// Every variable the binary reads, by the crate that declares it.
pub fn declared() -> Vec<(&'static str, &'static Var)> {
    let tables: [(&str, &[&'static Var]); 4] = [
        ("common", common::config::VARS),
        ("auth", auth::settings::VARS),
        ("api", api::settings::VARS),
        ("tutor", tutor::settings::VARS),
    ];
    tables
        .into_iter()
        .flat_map(|(krate, vars)| vars.iter().map(move |v| (krate, *v)))
        .collect()
}

/// The README's table of variables, one row per declaration.
pub fn markdown_table() -> String {
    use common::settings::WhenUnset;
    let mut out = String::from("| Variable | Default | Meaning |\n| --- | --- | --- |\n");
    for (_, var) in declared() {
        let default = match var.default {
            WhenUnset::None => "—".to_string(),
            WhenUnset::Value(v) => format!("`{v}`"),
            WhenUnset::Derived(text) => text.to_string(),
        };
        out.push_str(&format!("| `{}` | {default} | {} |\n", var.name, var.doc));
    }
    out
}
