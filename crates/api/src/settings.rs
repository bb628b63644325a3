//! The learning backend's settings: the chat quota and which responder
//! answers turns. Declared once here, parsed from the environment, composed
//! by the binary.

use common::config::ConfigError;
use common::settings::{Env, Var, Vars, WhenUnset};

const CHAT_DAILY_LIMIT: &Var = &Var::new(
    "CHAT_DAILY_LIMIT",
    WhenUnset::Value("20"),
    "student chat messages per rolling 24 hours",
);
const CHATKIT_RESPONDER: &Var = &Var::new(
    "CHATKIT_RESPONDER",
    WhenUnset::Value("tutor"),
    "`echo` only for protocol tests",
);
const CHATKIT_ECHO_DELAY_MS: &Var = &Var::new(
    "CHATKIT_ECHO_DELAY_MS",
    WhenUnset::Value("0"),
    "pause between echoed words (protocol tests of disconnects)",
);

/// Every variable the learning backend reads.
pub const VARS: &[&Var] = &[CHAT_DAILY_LIMIT, CHATKIT_RESPONDER, CHATKIT_ECHO_DELAY_MS];

/// Which responder answers chat turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponderKind {
    /// The Socratic tutor (the default).
    Tutor,
    /// Repeats the message back; for protocol tests only.
    Echo,
}

#[derive(Debug, Clone)]
pub struct ChatSettings {
    /// User messages per rolling 24 hours for students.
    pub daily_limit: u32,
    pub responder: ResponderKind,
    /// Pause between echoed words (protocol tests of disconnects).
    pub echo_delay_ms: u64,
}

impl ChatSettings {
    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let env = Env::new(vars);
        Ok(ChatSettings {
            daily_limit: env
                .parse(CHAT_DAILY_LIMIT, "a whole number of messages")?
                .unwrap_or(20),
            responder: env
                .choice(
                    CHATKIT_RESPONDER,
                    &[
                        ("tutor", ResponderKind::Tutor),
                        ("echo", ResponderKind::Echo),
                    ],
                    "use tutor (default) or echo (protocol tests only)",
                )?
                .unwrap_or(ResponderKind::Tutor),
            echo_delay_ms: env
                .parse(CHATKIT_ECHO_DELAY_MS, "milliseconds")?
                .unwrap_or(0),
        })
    }
}
