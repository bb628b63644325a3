//! Settings declared once. Each crate lists the environment variables it
//! reads in a table of [`Var`]s (name, default, meaning) and builds its own
//! settings type from an [`Env`]; the binary composes them. `.env.example`
//! and the README's table are tested against these tables, so a variable
//! cannot be added without its documentation.

use std::collections::HashMap;
use std::str::FromStr;

use url::Url;

use crate::config::ConfigError;

/// The raw variables settings are built from: the process environment in the
/// binary, a plain map in tests.
pub type Vars = HashMap<String, String>;

/// What a variable holds when it is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenUnset {
    /// Unset means off, or "not configured".
    None,
    /// This value, parsed like a set one.
    Value(&'static str),
    /// Worked out from other settings; the text says how (for the docs).
    Derived(&'static str),
}

/// One environment variable: its name, its default and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    pub default: WhenUnset,
    pub doc: &'static str,
}

impl Var {
    pub const fn new(name: &'static str, default: WhenUnset, doc: &'static str) -> Self {
        Var { name, default, doc }
    }
}

/// Reads declared variables from [`Vars`], with one parser per kind of value
/// so every crate answers a bad value with the same sort of message.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    vars: &'a Vars,
}

impl<'a> Env<'a> {
    pub fn new(vars: &'a Vars) -> Self {
        Env { vars }
    }

    /// The value as set (trimmed; empty counts as unset).
    pub fn set(&self, var: &Var) -> Option<&'a str> {
        self.vars
            .get(var.name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The value as set, else the declared default value.
    pub fn get(&self, var: &Var) -> Option<&'a str> {
        self.set(var).or(match var.default {
            WhenUnset::Value(v) => Some(v),
            WhenUnset::None | WhenUnset::Derived(_) => None,
        })
    }

    fn invalid(var: &Var, value: &str, expected: &'static str) -> ConfigError {
        ConfigError::Invalid {
            var: var.name,
            value: value.into(),
            expected,
        }
    }

    /// `true`/`false` (also 1/0, yes/no, on/off); unset is the default, or false.
    pub fn flag(&self, var: &Var) -> Result<bool, ConfigError> {
        match self.get(var).map(str::to_ascii_lowercase).as_deref() {
            None | Some("0" | "false" | "no" | "off") => Ok(false),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some(other) => Err(Self::invalid(var, other, "use true or false")),
        }
    }

    /// Any `FromStr` value; `None` when unset with no default.
    pub fn parse<T: FromStr>(
        &self,
        var: &Var,
        expected: &'static str,
    ) -> Result<Option<T>, ConfigError> {
        self.get(var)
            .map(|v| v.parse().map_err(|_| Self::invalid(var, v, expected)))
            .transpose()
    }

    /// Like [`Env::parse`], then checked against `ok`.
    pub fn parse_within<T: FromStr + ToString>(
        &self,
        var: &Var,
        expected: &'static str,
        ok: impl Fn(&T) -> bool,
    ) -> Result<Option<T>, ConfigError> {
        match self.parse(var, expected)? {
            Some(v) if !ok(&v) => Err(Self::invalid(var, &v.to_string(), expected)),
            other => Ok(other),
        }
    }

    /// One of a fixed set of words (case-insensitive).
    pub fn choice<T: Copy>(
        &self,
        var: &Var,
        options: &[(&str, T)],
        expected: &'static str,
    ) -> Result<Option<T>, ConfigError> {
        let Some(raw) = self.get(var) else {
            return Ok(None);
        };
        options
            .iter()
            .find(|(word, _)| word.eq_ignore_ascii_case(raw))
            .map(|(_, v)| Some(*v))
            .ok_or_else(|| Self::invalid(var, raw, expected))
    }

    /// An absolute http(s) URL with a host.
    pub fn url(&self, var: &Var) -> Result<Option<Url>, ConfigError> {
        self.get(var).map(|raw| http_url(var.name, raw)).transpose()
    }

    /// A comma-separated list, entries trimmed, empty ones dropped.
    pub fn list(&self, var: &Var) -> Vec<&'a str> {
        self.get(var)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Parses an absolute http(s) URL with a host, naming `var` when it is not one.
pub fn http_url(var: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|e| ConfigError::InvalidUrl {
        var,
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::InvalidUrl {
            var,
            reason: "not an http(s) URL with a host".into(),
        });
    }
    Ok(url)
}

/// Variables from name and value pairs, as the tests of settings write them.
#[cfg(test)]
pub(crate) fn vars(pairs: &[(&str, &str)]) -> Vars {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAG: Var = Var::new("F", WhenUnset::Value("true"), "a flag");
    const CHOICE: Var = Var::new("C", WhenUnset::None, "a choice");

    #[test]
    fn defaults_apply_when_unset_or_blank() {
        assert!(Env::new(&vars(&[])).flag(&FLAG).unwrap());
        assert!(Env::new(&vars(&[("F", "  ")])).flag(&FLAG).unwrap());
        assert!(!Env::new(&vars(&[("F", "off")])).flag(&FLAG).unwrap());
        let err = Env::new(&vars(&[("F", "maybe")])).flag(&FLAG).unwrap_err();
        assert!(err.to_string().contains("F=`maybe`"), "{err}");
    }

    #[test]
    fn choices_name_the_variable_and_the_options() {
        let opts = [("a", 1), ("b", 2)];
        let env = vars(&[("C", "B")]);
        assert_eq!(
            Env::new(&env).choice(&CHOICE, &opts, "a or b").unwrap(),
            Some(2)
        );
        let env = vars(&[("C", "z")]);
        let err = Env::new(&env).choice(&CHOICE, &opts, "a or b").unwrap_err();
        assert!(err.to_string().contains("a or b"), "{err}");
        assert_eq!(
            Env::new(&vars(&[])).choice(&CHOICE, &opts, "").unwrap(),
            None
        );
    }
}
