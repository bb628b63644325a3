//! Wire shapes: camelCase, dates as ISO 8601 with milliseconds and `Z`.

use serde_json::{Value, json};

use common::clock::to_iso;

use crate::sessions::Session;
use crate::users::{Account, User};

pub fn user(u: &User) -> Value {
    json!({
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "emailVerified": u.email_verified,
        "image": u.image,
        "createdAt": to_iso(&u.created_at),
        "updatedAt": to_iso(&u.updated_at),
        "role": u.role,
        "banned": u.banned,
        "banReason": u.ban_reason,
        "banExpires": u.ban_expires.as_ref().map(to_iso),
        "twoFactorEnabled": u.two_factor_enabled,
    })
}

pub fn session(s: &Session) -> Value {
    json!({
        "id": s.id,
        "token": s.token,
        "userId": s.user_id,
        "expiresAt": to_iso(&s.expires_at),
        "createdAt": to_iso(&s.created_at),
        "updatedAt": to_iso(&s.updated_at),
        "ipAddress": s.ip_address,
        "userAgent": s.user_agent,
        "impersonatedBy": s.impersonated_by,
    })
}

pub fn account(a: &Account) -> Value {
    let scopes: Vec<&str> = a
        .scope
        .as_deref()
        .unwrap_or_default()
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .collect();
    json!({
        "id": a.id,
        "providerId": a.provider_id,
        "accountId": a.account_id,
        "userId": a.user_id,
        "createdAt": to_iso(&a.created_at),
        "updatedAt": to_iso(&a.updated_at),
        "scopes": scopes,
    })
}
