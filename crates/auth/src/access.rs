//! Access control as Better-Auth's admin plugin expresses it: statements
//! (resource → actions) and roles that grant a subset of them. The roles of
//! IntelliStack — student, instructor, admin — are written here once, and
//! every guard (the `/admin/*` routes, `/api/v1`, the pages) asks
//! [`allows`] rather than comparing role names.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Every resource and the actions on it: Better-Auth's default statements
/// (`user`, `session`) and IntelliStack's own.
pub const STATEMENTS: Table = &[
    (
        "user",
        &[
            "create",
            "list",
            "set-role",
            "ban",
            "impersonate",
            "impersonate-admins",
            "delete",
            "set-password",
            "set-email",
            "set-phone",
            "get",
            "update",
        ],
    ),
    ("session", &["list", "revoke", "delete"]),
    // Lessons: everyone reads unlocked ones; staff see every stage and edit
    // (instructors: the courses they are staff of); admins manage every course.
    ("course", &["read", "read-locked", "author", "manage-all"]),
    // The tutor: staff are not held to the daily message limit.
    ("chat", &["use", "unlimited", "cleanup"]),
    ("audit-log", &["read", "export"]),
    ("ai-usage", &["read"]),
    ("oauth-client", &["register", "manage"]),
];

/// Resource → actions, as the statements and the grants are written.
pub type Table = &'static [(&'static str, &'static [&'static str])];

/// A role: the actions it grants.
#[derive(Debug)]
pub struct Role {
    pub name: &'static str,
    pub grants: Grants,
}

/// What a role grants, by resource.
#[derive(Debug)]
pub enum Grants {
    /// These actions only.
    Only(Table),
    /// Every declared statement but these actions.
    AllExcept(Table),
}

pub const STUDENT: Role = Role {
    name: "student",
    grants: Grants::Only(&[("course", &["read"]), ("chat", &["use"])]),
};

pub const INSTRUCTOR: Role = Role {
    name: "instructor",
    grants: Grants::Only(&[
        ("course", &["read", "read-locked", "author"]),
        ("chat", &["use", "unlimited"]),
    ]),
};

/// Everything except impersonating other admins, as Better-Auth's default
/// admin role.
pub const ADMIN: Role = Role {
    name: "admin",
    grants: Grants::AllExcept(&[("user", &["impersonate-admins"])]),
};

pub const ROLES: [&Role; 3] = [&STUDENT, &INSTRUCTOR, &ADMIN];

/// The roles that count as admins (cannot be impersonated).
pub const ADMIN_ROLES: [&str; 1] = ["admin"];

/// The role named `name` (exact, case-sensitive, as Better-Auth looks roles up).
pub fn role(name: &str) -> Option<&'static Role> {
    ROLES.into_iter().find(|r| r.name == name)
}

/// How the actions of one resource combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Connector {
    #[default]
    #[serde(rename = "AND")]
    And,
    #[serde(rename = "OR")]
    Or,
}

/// The actions asked for on one resource: a list (all needed), or a list
/// with a connector.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Actions {
    All(Vec<String>),
    With {
        actions: Vec<String>,
        #[serde(default)]
        connector: Connector,
    },
}

/// A permission check: resource → actions. Every resource must pass.
pub type Permissions = BTreeMap<String, Actions>;

/// Whether `table` lists `action` on `resource`.
fn lists(table: Table, resource: &str, action: &str) -> bool {
    table
        .iter()
        .any(|(r, actions)| *r == resource && actions.contains(&action))
}

impl Role {
    /// Better-Auth's `authorize` with the AND connector between resources:
    /// a resource passes when all its actions are granted (or any, with
    /// `OR`); an empty list never passes.
    pub fn authorize(&self, request: &Permissions) -> bool {
        !request.is_empty()
            && request.iter().all(|(resource, wanted)| {
                let (list, connector) = match wanted {
                    Actions::All(a) => (a, Connector::And),
                    Actions::With { actions, connector } => (actions, *connector),
                };
                let has = |a: &String| self.allows(resource, a);
                !list.is_empty()
                    && match connector {
                        Connector::And => list.iter().all(has),
                        Connector::Or => list.iter().any(has),
                    }
            })
    }

    pub fn allows(&self, resource: &str, action: &str) -> bool {
        match self.grants {
            Grants::Only(granted) => lists(granted, resource, action),
            Grants::AllExcept(denied) => {
                lists(STATEMENTS, resource, action) && !lists(denied, resource, action)
            }
        }
    }
}

/// The roles in a user's `role` field: Better-Auth allows a comma-separated
/// list; unknown names are skipped.
fn roles_of(field: &str) -> impl Iterator<Item = &'static Role> + '_ {
    field.split(',').map(str::trim).filter_map(role)
}

/// Whether any of the user's roles grants `action` on `resource`.
pub fn allows(role_field: &str, resource: &str, action: &str) -> bool {
    roles_of(role_field).any(|r| r.allows(resource, action))
}

/// Whether any of the user's roles authorizes the whole request.
pub fn has_permission(role_field: &str, request: &Permissions) -> bool {
    roles_of(role_field).any(|r| r.authorize(request))
}

/// Whether the user holds an admin role.
pub fn is_admin_role(role_field: &str) -> bool {
    role_field
        .split(',')
        .map(str::trim)
        .any(|r| ADMIN_ROLES.contains(&r))
}

/// Whether the role is one that holds other people's data (admins and
/// instructors), for the two-factor requirement.
pub fn is_staff_role(role_field: &str) -> bool {
    allows(role_field, "course", "author")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: &str) -> Permissions {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn every_grant_is_a_declared_statement() {
        for role in ROLES {
            let (Grants::Only(table) | Grants::AllExcept(table)) = role.grants;
            for (resource, actions) in table {
                let (_, declared) = STATEMENTS
                    .iter()
                    .find(|(r, _)| r == resource)
                    .unwrap_or_else(|| panic!("{} grants undeclared {resource}", role.name));
                for a in *actions {
                    assert!(declared.contains(a), "{}: {resource}:{a}", role.name);
                }
            }
        }
    }

    #[test]
    fn authorize_follows_better_auth() {
        assert!(has_permission("admin", &req(r#"{"user":["list"]}"#)));
        assert!(!has_permission(
            "admin",
            &req(r#"{"user":["impersonate-admins"]}"#)
        ));
        assert!(!has_permission("admin", &req(r#"{"foo":["bar"]}"#)));
        assert!(!has_permission("admin", &req(r#"{"user":[]}"#)));
        assert!(!has_permission("admin", &req("{}")));
        assert!(has_permission(
            "admin",
            &req(r#"{"user":["list","ban"],"session":["revoke"]}"#)
        ));
        assert!(!has_permission(
            "instructor",
            &req(r#"{"user":["impersonate"]}"#)
        ));
        assert!(has_permission(
            "instructor",
            &req(r#"{"course":{"actions":["author","nothing"],"connector":"OR"}}"#)
        ));
        assert!(!has_permission(
            "student",
            &req(r#"{"course":["read","author"]}"#)
        ));
        // Several roles: any one that authorizes the whole request is enough.
        assert!(has_permission(
            "student,instructor",
            &req(r#"{"course":["author"]}"#)
        ));
        assert!(!has_permission("wizard", &req(r#"{"course":["read"]}"#)));
    }

    #[test]
    fn staff_and_admins() {
        assert!(is_staff_role("instructor") && is_staff_role("admin"));
        assert!(!is_staff_role("student"));
        assert!(is_admin_role("admin") && !is_admin_role("instructor"));
    }
}
