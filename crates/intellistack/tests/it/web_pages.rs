//! The web role's guards and downloads, over plain HTTP (the browser tests
//! cover the pages' behaviour).

use serde_json::json;

use crate::support::auth::*;
use crate::support::{Backend, TestServer};

/// GETs `path` as the client `c`.
async fn load(c: &reqwest::Client, server: &TestServer, path: &str) -> reqwest::Response {
    c.get(server.at(path)).send().await.unwrap()
}

fn content_type(res: &reqwest::Response) -> &str {
    res.headers()["content-type"].to_str().unwrap()
}

crate::per_database! {
    async fn guards_redirect_refuse_and_follow_role_changes(backend) {
        let server = TestServer::start(backend).await;
        let anon = plain();
        for page in [
            "/dashboard",
            "/account",
            "/admin",
            "/learn/sensors/what-robots-sense",
        ] {
            let res = load(&anon, &server, page).await;
            assert_eq!(res.status(), 303, "{page}");
            let to = res.headers()["location"].to_str().unwrap().to_string();
            assert!(to.starts_with("/login?next=%2F"), "{page} → {to}");
        }
        let student = verified_user(&server, "s@example.com").await;
        let res = load(&student, &server, "/admin").await;
        assert_eq!(res.status(), 403);
        let res = load(&student, &server, "/admin/events.csv").await;
        assert_eq!(res.status(), 403, "the export is admin-only too");
        let res = load(&student, &server, "/author/sensors/what-robots-sense").await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/dashboard?notice=staff-only");

        let admin = admin(&server, "a@example.com").await;
        let id = session_user(&student, &server).await["id"].clone();
        let (s, _, _) = post(
            &admin,
            &server,
            "/api/auth/admin/set-role",
            json!({"userId": id, "role": "instructor"}),
        )
        .await;
        assert_eq!(s, 200);
        let res = load(&student, &server, "/author/sensors/what-robots-sense").await;
        assert_eq!(res.status(), 303, "the new role counts on the next load");
        let editor = res.headers()["location"].to_str().unwrap().to_string();
        assert!(
            editor.starts_with("/teach/physical-ai/lessons/"),
            "{editor}"
        );
        let res = load(&student, &server, &editor).await;
        assert_eq!(
            res.status(),
            403,
            "an instructor edits the courses they teach"
        );
        let admin_token = crate::support::api::token(&admin, &server).await;
        let (s, body) = crate::support::api::api_post(
            &server,
            "/api/v1/courses/physical-ai/staff",
            &admin_token,
            json!({"email": session_user(&student, &server).await["email"]}),
        )
        .await;
        assert_eq!(s, 201, "{body}");
        let res = load(&student, &server, &editor).await;
        assert_eq!(res.status(), 200);

        let res = load(&admin, &server, "/admin/events.csv?event=login_success").await;
        assert_eq!(res.status(), 200);
        assert!(content_type(&res).starts_with("text/csv"));
        let csv = res.text().await.unwrap();
        let mut lines = csv.lines();
        assert!(lines.next().unwrap().starts_with("id,type,user_id,email"));
        let rows: Vec<&str> = lines.collect();
        assert!(
            !rows.is_empty() && rows.iter().all(|r| r.contains(",login_success,")),
            "{csv}"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn pages_do_not_redirect_off_site_and_assets_are_embedded() {
    let server = TestServer::start(Backend::Sqlite).await;
    let b = verified_user(&server, "s@example.com").await;
    for (next, expected) in [
        ("%2F%2Fevil.example", "/dashboard"),
        ("https%3A%2F%2Fevil.example", "/dashboard"),
        ("%2Faccount", "/account"),
    ] {
        let res = load(&b, &server, &format!("/login?next={next}")).await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], expected);
    }
    for (asset, mime) in [
        ("app.css", "text/css"),
        ("chat.js", "text/javascript"),
        ("auth.js", "text/javascript"),
    ] {
        let res = load(&plain(), &server, &format!("/assets/{asset}")).await;
        assert_eq!(res.status(), 200);
        assert!(content_type(&res).starts_with(mime));
    }
    let res = load(&plain(), &server, "/assets/../Cargo.toml").await;
    assert_eq!(res.status(), 404);
    server.stop().await;
}
