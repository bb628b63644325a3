//! The caller of the learning backend as the domain sees it: who they are,
//! with role and email as the database holds them now. The HTTP extractors
//! that build it live in `http::extract`.

use serde::Serialize;

/// The caller: who the token names, with role, email and ban as the
/// database holds them now (see `auth::standing`), so a demotion, a ban or a
/// deletion takes effect within seconds rather than when the token expires.
/// The role is never higher than the token's.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatedUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub email_verified: bool,
}

impl AuthenticatedUser {
    /// Whether the caller's role grants `action` on `resource` (the statements
    /// in `auth::access`).
    pub fn can(&self, resource: &str, action: &str) -> bool {
        auth::access::allows(&self.role, resource, action)
    }

    /// Instructors and admins: they see every stage and are not held to the
    /// daily message limit.
    pub fn is_staff(&self) -> bool {
        self.can("course", "read-locked")
    }
}

/// The caller's role: the database's, unless the token was issued for less.
/// A demotion takes effect through the database; a token issued for a
/// session that proved no second factor (when staff must) keeps its
/// student role even though the account's role is higher.
pub(crate) fn lesser_role(current: String, token: &str) -> String {
    let rank = |name: &str| auth::access::ROLES.iter().position(|r| r.name == name);
    match (rank(&current), rank(token)) {
        (Some(now), Some(issued)) if issued < now => token.to_string(),
        _ => current,
    }
}
