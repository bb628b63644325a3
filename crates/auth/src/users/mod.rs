//! Users and their sign-in methods (`account` rows).

pub(crate) mod store;

pub use store::{SearchField, SearchOperator, SortField, UserQuery};

use chrono::{DateTime, Utc};

/// The roles of IntelliStack, lowest to highest.
pub const ROLES: [&str; 3] = ["student", "instructor", "admin"];

pub fn is_role(role: &str) -> bool {
    ROLES.contains(&role)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub role: String,
    pub banned: bool,
    pub ban_reason: Option<String>,
    pub ban_expires: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set once a second factor (TOTP or one-time codes by mail) is on.
    #[sqlx(default)]
    pub two_factor_enabled: bool,
}

impl User {
    /// A ban is in force when set and not yet expired.
    pub fn is_banned(&self, now: DateTime<Utc>) -> bool {
        self.banned && self.ban_expires.is_none_or(|until| until > now)
    }
}

/// A way to sign in: `credential` (password) or a social provider.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub id: String,
    pub account_id: String,
    pub provider_id: String,
    pub user_id: String,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub scope: Option<String>,
    pub password: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const CREDENTIAL: &str = "credential";

/// Characters that show nothing, or reorder what is shown: zero-width
/// characters, joiners, bidi marks, embeddings, overrides and isolates, the
/// soft hyphen, variation selectors, fillers and tags. In an email they let
/// one address pass for another.
pub fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5
        | 0x180B..=0x180F | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F
        | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// Bidi embeddings, overrides and isolates: they reorder the text around them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c as u32, 0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069)
}

/// The canonical form of an email: NFKC (so full-width and other
/// compatibility look-alikes fold into the letters they imitate), lower
/// case, trimmed. `None` when it is not plausibly an address, or when it
/// holds control, invisible or bidi characters.
pub fn normalize_email(raw: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    let folded: String = raw.trim().nfkc().collect();
    let email = folded.to_lowercase();
    if email
        .chars()
        .any(|c| c.is_control() || is_invisible(c) || is_bidi_control(c))
    {
        return None;
    }
    let (local, domain) = email.split_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && email.matches('@').count() == 1
        && email.len() <= 254;
    ok.then_some(email)
}

/// The longest display name accepted.
pub const MAX_NAME_CHARS: usize = 200;

/// Why a display name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    Empty,
    TooLong,
    /// Control characters (line breaks included) or bidi overrides.
    BadCharacters,
}

/// A display name, trimmed: one line of at most [`MAX_NAME_CHARS`]
/// characters with no bidi embeddings or overrides.
pub fn check_name(raw: &str) -> Result<String, NameProblem> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NameProblem::TooLong);
    }
    if name.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(NameProblem::BadCharacters);
    }
    Ok(name.to_string())
}

/// A name from elsewhere (a sign-in provider, an import), made acceptable
/// rather than refused: bad characters dropped, length capped.
pub fn clean_name(raw: &str) -> String {
    let kept: String = raw
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    kept.trim().chars().take(MAX_NAME_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            normalize_email(" Ada@Example.COM ").as_deref(),
            Some("ada@example.com")
        );
        assert!(normalize_email("no-at-sign").is_none());
        assert!(normalize_email("a@b").is_none());
        assert!(normalize_email("a b@c.d").is_none());
    }

    #[test]
    fn look_alike_emails_fold_or_are_refused() {
        // Full-width letters and at sign fold into the address they imitate.
        assert_eq!(
            normalize_email("ａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ").as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(
            normalize_email("Ａda@Example.com").as_deref(),
            Some("ada@example.com")
        );
        for hidden in [
            "ad\u{200B}a@example.com",
            "ada\u{200D}@example.com",
            "\u{202E}moc.elpmaxe@ada",
            "ada@exa\u{2066}mple.com",
            "ada\u{00AD}@example.com",
            "\u{FEFF}ada@example.com",
            "ada@example.com\u{E0041}",
            "ad\u{0}a@example.com",
        ] {
            assert!(normalize_email(hidden).is_none(), "{hidden:?}");
        }
    }

    #[test]
    fn names_are_one_capped_line() {
        assert_eq!(check_name("  Ada Lovelace "), Ok("Ada Lovelace".into()));
        assert_eq!(check_name("عائشة"), Ok("عائشة".into()));
        assert_eq!(check_name(" "), Err(NameProblem::Empty));
        assert_eq!(check_name(&"n".repeat(201)), Err(NameProblem::TooLong));
        assert_eq!(check_name(&"n".repeat(200)).map(|n| n.len()), Ok(200));
        assert_eq!(check_name("Ada\nAdmin"), Err(NameProblem::BadCharacters));
        assert_eq!(
            check_name("Ada\u{202E}nimda"),
            Err(NameProblem::BadCharacters)
        );
        assert_eq!(clean_name("Ada\u{202E}\n Lovelace"), "Ada Lovelace");
        assert_eq!(clean_name(&"x".repeat(900)).len(), 200);
    }
}
