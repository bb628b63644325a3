//! A user's standing as it is now — whether the account exists, its role,
//! whether it is banned — for services that authenticate with tokens. A
//! token says what was true when it was issued; privileges follow this
//! instead. Read from the database, kept per instance for at most
//! [`TTL`], and forgotten at once when this instance changes the user.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use crate::Auth;
use crate::error::AuthResult;
use crate::users::{User, store as user_store};

/// How long another instance's change may take to show here.
pub const TTL: Duration = Duration::seconds(2);
/// Beyond this many cached users, expired entries are dropped.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone)]
pub enum Standing {
    Active(User),
    Banned,
    /// The account no longer exists.
    Gone,
}

/// When a user was looked up, and what was found (`None`: no such user).
type Looked = (DateTime<Utc>, Option<User>);

/// Users looked up recently.
#[derive(Clone, Default)]
pub struct StandingCache {
    entries: Arc<Mutex<HashMap<String, Looked>>>,
}

impl StandingCache {
    fn get(&self, user_id: &str, now: DateTime<Utc>) -> Option<Option<User>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(user_id)
            .filter(|(at, _)| now - *at < TTL && *at <= now)
            .map(|(_, user)| user.clone())
    }

    fn put(&self, user_id: &str, user: Option<User>, now: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| now - *at < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(user_id.to_string(), (now, user));
    }

    pub fn forget(&self, user_id: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(user_id);
    }
}

impl Auth {
    /// The user's standing now (within [`TTL`]).
    pub async fn standing(&self, user_id: &str) -> AuthResult<Standing> {
        let now = self.clock.now();
        let user = match self.standing.get(user_id, now) {
            Some(cached) => cached,
            None => {
                let fresh = user_store::find_by_id(&self.db, user_id).await?;
                self.standing.put(user_id, fresh.clone(), now);
                fresh
            }
        };
        Ok(match user {
            None => Standing::Gone,
            Some(u) if u.is_banned(now) => Standing::Banned,
            Some(u) => Standing::Active(u),
        })
    }

    /// Called after every change to a user's row in this instance.
    pub fn forget_standing(&self, user_id: &str) {
        self.standing.forget(user_id);
    }
}
