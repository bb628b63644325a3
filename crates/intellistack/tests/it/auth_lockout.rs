//! The lockout under concurrency: attempts are counted before their password
//! is verified, so a burst cannot buy more than five verifications, and the
//! right password sent in the burst is refused once the lock stands.

use serde_json::json;

use crate::support::TestServer;
use crate::support::auth::*;

const WRONG: &str = "Wrong-Password-1!";

/// Sends all `passwords` for `email` at once; returns the statuses in order.
async fn burst(server: &TestServer, email: &str, passwords: &[&str]) -> Vec<u16> {
    let sends = passwords.iter().map(|p| {
        let body = json!({"email": email, "password": p});
        let url = server.at("/api/auth/sign-in/email");
        async move {
            let res = plain().post(url).json(&body).send().await.unwrap();
            res.status().as_u16()
        }
    });
    futures_util::future::join_all(sends).await
}

async fn verified_attempts(server: &TestServer, email: &str) -> i64 {
    // A failure is audited with its reason only after the password was checked.
    let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
        "SELECT COUNT(*) FROM auth_event_log WHERE event_type = 'login_failed' AND email = $1 AND details NOT LIKE '%locked%'")
        .bind(email).fetch_one(pool).await.unwrap());
    n
}

async fn lockout_row(server: &TestServer, email: &str) -> (i64, bool) {
    let (count, until): (i64, Option<chrono::DateTime<chrono::Utc>>) = common::on_db!(&server.db, pool => sqlx::query_as(
        "SELECT failed_count, locked_until FROM login_lockout WHERE email = $1")
        .bind(email).fetch_one(pool).await.unwrap());
    (count, until.is_some())
}

crate::per_database! {
    async fn twenty_concurrent_wrong_passwords_verify_at_most_five(backend) {
        let server = TestServer::start(backend).await;
        let _ = verified_user(&server, "target@example.com").await;
        for email in ["target@example.com", "nobody@example.com"] {
            let statuses = burst(&server, email, &[WRONG; 20]).await;
            let verified = verified_attempts(&server, email).await;
            assert!(
                verified <= 5,
                "{backend:?} {email}: {verified} verifications: {statuses:?}"
            );
            assert!(
                statuses.iter().all(|s| *s == 401 || *s == 423),
                "{statuses:?}"
            );
            assert!(
                statuses.iter().filter(|s| **s == 401).count() <= 4,
                "{statuses:?}"
            );
            let (count, locked) = lockout_row(&server, email).await;
            assert!(count <= 5, "failed_count {count}");
            assert!(locked, "{backend:?} {email}: the burst ends locked");
        }
        // Exactly one notice, from the attempt that engaged the lock.
        let notice = wait_for_mail(&server, "target@example.com", 2).await;
        assert_eq!(notice["subject"], "Sign-in temporarily locked");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(mails_to(&server, "target@example.com").len(), 2);
        server.stop().await;
    }
}

crate::per_database! {
    async fn a_right_password_racing_nineteen_wrong_ones_is_refused_while_locked(backend) {
        let server = TestServer::start(backend).await;
        let _ = verified_user(&server, "raced@example.com").await;
        let mut passwords = vec![WRONG; 19];
        passwords.insert(3, PASSWORD);
        let statuses = burst(&server, "raced@example.com", &passwords).await;
        assert_eq!(
            statuses[3], 423,
            "{backend:?}: the right password is refused: {statuses:?}"
        );
        assert!(!statuses.contains(&200), "{statuses:?}");
        assert!(verified_attempts(&server, "raced@example.com").await <= 5);
        // The lock the others set stands: no success cleared it.
        let (_, locked) = lockout_row(&server, "raced@example.com").await;
        assert!(locked);
        let (s, body, _) = email_sign_in(&plain(), &server, "raced@example.com", PASSWORD).await;
        assert_eq!((s, body["code"].as_str()), (423, Some("ACCOUNT_LOCKED")));
        server.stop().await;
    }
}

crate::per_database! {
    async fn a_success_clears_only_its_own_count(backend) {
        let server = TestServer::start(backend).await;
        let db = &server.db;
        let now = common::Clock::now(&server.clock);
        let email = "mixed@example.com";
        use auth::lockout::{Begin, Failure, begin, fail, succeed};
        // Two failures finish; then the right password and a wrong one race.
        for i in 0..2 {
            let a = format!("early{i}");
            assert!(matches!(
                begin(db, email, &a, now).await.unwrap(),
                Begin::Reserved { .. }
            ));
            assert_eq!(fail(db, email, &a, now).await.unwrap(), Failure::Counted);
        }
        let right = begin(db, email, "right", now).await.unwrap();
        assert_eq!(right, Begin::Reserved { done_before: 2 });
        assert!(matches!(
            begin(db, email, "racer", now).await.unwrap(),
            Begin::Reserved { .. }
        ));
        assert_eq!(
            fail(db, email, "racer", now).await.unwrap(),
            Failure::Counted
        );
        assert_eq!(succeed(db, email, 2, now).await.unwrap(), Ok(()));
        assert_eq!(
            lockout_row(&server, email).await,
            (1, false),
            "the success cleared the failures before it and its own slot, not the racer's failure"
        );

        // With four slots held by attempts in flight and one failure, the
        // next attempt engages the lock; the success in flight is refused.
        for a in ["f1", "f2", "f3"] {
            assert!(matches!(
                begin(db, email, a, now).await.unwrap(),
                Begin::Reserved { .. }
            ));
        }
        let winner = begin(db, email, "right2", now).await.unwrap();
        let Begin::Reserved { done_before } = winner else {
            panic!("{winner:?}")
        };
        let sixth = begin(db, email, "sixth", now).await.unwrap();
        assert!(
            matches!(sixth, Begin::Locked { engaged: true, .. }),
            "{sixth:?}"
        );
        assert!(succeed(db, email, done_before, now).await.unwrap().is_err());
        assert!(matches!(
            begin(db, email, "late", now).await.unwrap(),
            Begin::Locked { engaged: false, .. }
        ));
        server.stop().await;
    }
}
