//! The web role's guards and downloads, over plain HTTP (the browser tests
//! cover the pages' behaviour).

use serde_json::json;

use crate::support::auth::*;
use crate::support::{Backend, TestServer};

#[tokio::test]
async fn guards_redirect_refuse_and_follow_role_changes() {
    for backend in Backend::ALL {
        let server = TestServer::start(backend).await;
        let anon = plain();
        for page in [
            "/dashboard",
            "/account",
            "/admin",
            "/learn/sensors/what-robots-sense",
        ] {
            let res = anon.get(server.at(page)).send().await.unwrap();
            assert_eq!(res.status(), 303, "{page}");
            let to = res.headers()["location"].to_str().unwrap().to_string();
            assert!(to.starts_with("/login?next=%2F"), "{page} → {to}");
        }
        let student = verified_user(&server, "s@example.com").await;
        let res = student.get(server.at("/admin")).send().await.unwrap();
        assert_eq!(res.status(), 403);
        let res = student
            .get(server.at("/admin/events.csv"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "the export is admin-only too");
        let res = student
            .get(server.at("/author/sensors/what-robots-sense"))
            .send()
            .await
            .unwrap();
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
        let res = student
            .get(server.at("/author/sensors/what-robots-sense"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "the new role counts on the next load");
        let editor = res.headers()["location"].to_str().unwrap().to_string();
        assert!(
            editor.starts_with("/teach/physical-ai/lessons/"),
            "{editor}"
        );
        let res = student.get(server.at(&editor)).send().await.unwrap();
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
        let res = student.get(server.at(&editor)).send().await.unwrap();
        assert_eq!(res.status(), 200);

        let res = admin
            .get(server.at("/admin/events.csv?event=login_success"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
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
        let res = b
            .get(server.at(&format!("/login?next={next}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], expected);
    }
    for (asset, mime) in [
        ("app.css", "text/css"),
        ("chat.js", "text/javascript"),
        ("auth.js", "text/javascript"),
    ] {
        let res = plain()
            .get(server.at(&format!("/assets/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(mime)
        );
    }
    assert_eq!(
        plain()
            .get(server.at("/assets/../Cargo.toml"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    server.stop().await;
}
