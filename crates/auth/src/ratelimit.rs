//! Per-client-IP rate limits on the sensitive routes, with Better-Auth's
//! defaults. Windows are fixed and kept in the database, so every instance
//! behind a load balancer shares them. Which route counts against which rule
//! is declared where the route is registered (`http::router`).

use chrono::{DateTime, Duration, Utc};
use common::{Db, on_db};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub name: &'static str,
    pub window: Duration,
    pub max: i64,
}

impl Rule {
    /// At most `max` hits per `secs`-second window.
    const fn new(name: &'static str, secs: i64, max: i64) -> Rule {
        Rule {
            name,
            window: Duration::seconds(secs),
            max,
        }
    }
}

pub const SIGN_IN: Rule = Rule::new("sign-in", 10, 3);
pub const SIGN_UP: Rule = Rule::new("sign-up", 10, 3);
pub const CHANGE_PASSWORD: Rule = Rule::new("change-password", 10, 3);
pub const MAIL: Rule = Rule::new("mail", 60, 3);
/// The second step of a sign-in and the other two-factor routes, as
/// Better-Auth's twoFactor plugin limits them.
pub const TWO_FACTOR: Rule = Rule::new("two-factor", 10, 3);
/// Changing the email address (it mails).
pub const CHANGE_EMAIL: Rule = Rule::new("change-email", 10, 3);

/// Counts a hit. `Err(seconds)` tells how long until the window reopens.
pub async fn hit(
    db: &Db,
    rule: Rule,
    ip: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Result<(), u64>> {
    let key = format!("{ip}|{}", rule.name);
    let window_open_before = now - rule.window;
    let (count, start): (i64, DateTime<Utc>) = on_db!(db, pool => sqlx::query_as(
        r#"INSERT INTO rate_limit (key, count, window_start) VALUES ($1, 1, $2)
           ON CONFLICT (key) DO UPDATE SET
             count = CASE WHEN rate_limit.window_start <= $3 THEN 1 ELSE rate_limit.count + 1 END,
             window_start = CASE WHEN rate_limit.window_start <= $3 THEN $2 ELSE rate_limit.window_start END
           RETURNING count, window_start"#)
        .bind(&key).bind(now).bind(window_open_before)
        .fetch_one(pool).await)?;
    if count <= rule.max {
        return Ok(Ok(()));
    }
    let wait = (start + rule.window - now).num_milliseconds().max(0);
    Ok(Err(((wait + 999) / 1000).max(1) as u64))
}
