//! The search index's life on small generated catalogues: an edit replaces
//! only that lesson's passages (counted, not timed) and the next answer
//! cites the new text, on this instance and on another one sharing the
//! database; a deleted lesson's text never comes back; during the first
//! build a turn gets the warming notice at once; a restart reopens the index
//! left on disk instead of building it again.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use crate::per_database;
use crate::support::api::token;
use crate::support::auth::*;
use crate::support::chat::*;
use crate::support::courses::{delete_lesson, edit_body, import, lesson_id};
use crate::support::fake_llm::{FakeLlm, Script};
use crate::support::{Backend, Options, TestServer};
use api::content::loader::{CourseDoc, LessonDoc, StageDoc};

/// A course of `stages` × `lessons`, each lesson naming itself with a word
/// of its own (`markSxL`), so an answer shows which lesson it came from.
fn catalogue(stages: usize, lessons: usize) -> CourseDoc {
    CourseDoc {
        slug: "catalogue".into(),
        title: "Catalogue".into(),
        summary: "".into(),
        stages: (1..=stages)
            .map(|s| StageDoc {
                slug: format!("stage-{s}"),
                title: format!("Stage {s}"),
                summary: "".into(),
                position: s as i64,
                lessons: (1..=lessons)
                    .map(|l| LessonDoc {
                        slug: format!("lesson-{l}"),
                        title: format!("Lesson {s}.{l}"),
                        position: l as i64,
                        body: format!(
                            "## Overview\n\nThe mark{s}x{l} lesson covers sensors and motors.\n\n## Detail\n\nFeedback loops in lesson mark{s}x{l} correct drift.\n"
                        ),
                        exercises: vec![],
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The events of one turn, bounded so a stall fails rather than hangs.
async fn turn(server: &TestServer, t: &str, text: &str) -> Vec<Value> {
    let body = json!({"type": "threads.create", "params": {"input": message(text)}, "metadata": {"page": {"course": "catalogue"}}});
    tokio::time::timeout(Duration::from_secs(30), async {
        events(send(server, t, body).await).await
    })
    .await
    .expect("a turn never hangs")
}

fn cited(ev: &[Value]) -> Vec<String> {
    ev.iter()
        .find(|e| e["type"] == "thread.item.done" && e["item"]["type"] == "assistant_message")
        .and_then(|e| e["item"]["content"][0]["annotations"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|a| a["source"]["url"].as_str().map(str::to_string))
        .collect()
}

async fn ready(server: &TestServer) -> Value {
    reqwest::get(server.at("/ready"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A JWT from `server` for a user made on another instance.
async fn sign_in(server: &TestServer, email: &str) -> String {
    let b = signed_in(server, email).await;
    token(&b, server).await
}

fn reindexed(server: &TestServer) -> u64 {
    server.search.stats.lessons_reindexed()
}

fn builds(server: &TestServer) -> u64 {
    server.search.stats.index_builds()
}

per_database! {
    async fn an_edit_replaces_only_that_lesson_and_a_deleted_lesson_never_returns(backend) {
        let server = TestServer::start(backend).await;
        import(&server, catalogue(3, 6)).await;
        let boss = admin(&server, "boss@example.com").await;
        let t = token(&boss, &server).await;
        // The import (18 lessons) is caught up by the first turn.
        let ev = turn(&server, &t, "what does the mark2x3 lesson cover?").await;
        assert!(final_text(&ev).contains("mark2x3"), "{}", final_text(&ev));
        let (builds_before, before) = (builds(&server), reindexed(&server));

        let id = lesson_id(&server, &t, "catalogue", "stage-2", "lesson-3").await;
        edit_body(&server, &t, &id, "## Couplings\n\nA quillwort coupling joins two shafts without backlash.\n").await;
        let ev = turn(&server, &t, "what is a quillwort coupling?").await;
        let text = final_text(&ev);
        assert!(text.contains("joins two shafts without backlash"), "{text}");
        assert!(
            cited(&ev).iter().any(|u| u == "/learn/stage-2/lesson-3#couplings"),
            "{:?}",
            cited(&ev)
        );
        assert_eq!(reindexed(&server) - before, 1, "only the edited lesson was reindexed");
        assert_eq!(builds(&server), builds_before, "no full rebuild");
        // Its old text is gone with it.
        let ev = turn(&server, &t, "what does the mark2x3 lesson cover?").await;
        assert!(!final_text(&ev).contains("mark2x3"), "{}", final_text(&ev));

        // Deleted: neither its text nor its link ever appears again.
        delete_lesson(&server, &t, &id).await;
        for q in ["what is a quillwort coupling?", "shafts without backlash", "couplings"] {
            let ev = turn(&server, &t, q).await;
            assert!(!final_text(&ev).contains("quillwort"), "{q}: {}", final_text(&ev));
            assert!(
                cited(&ev).iter().all(|u| !u.starts_with("/learn/stage-2/lesson-3")),
                "{q}: {:?}",
                cited(&ev)
            );
        }
        assert_eq!(reindexed(&server) - before, 2, "the deletion touched that lesson alone");
        assert_eq!(builds(&server), builds_before);
        // The change log keeps one row per lesson, however often it changed.
        let (rows, lessons): (i64, i64) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT lesson_id) FROM content_change").fetch_one(pool).await.unwrap());
        assert_eq!(rows, lessons, "one row per lesson");
        let (mine,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM content_change WHERE lesson_id = $1").bind(&id).fetch_one(pool).await.unwrap());
        assert_eq!(mine, 1, "the import, the edit and the deletion left one row");
        let r = ready(&server).await;
        assert_eq!(r["search"]["state"], "ready", "{r}");
        server.stop().await;
    }

    async fn an_edit_on_one_instance_is_in_the_answers_of_another(backend) {
        let a = TestServer::start(backend).await;
        import(&a, catalogue(2, 5)).await;
        let b = TestServer::start_with(
            backend,
            Options {
                database_url: Some(a.database_url.clone()),
                ..Default::default()
            },
        )
        .await;
        let boss = admin(&a, "boss@example.com").await;
        let t = token(&boss, &a).await;
        let tb = sign_in(&b, "boss@example.com").await;
        let ev = turn(&b, &tb, "what does the mark1x4 lesson cover?").await;
        assert!(final_text(&ev).contains("mark1x4"), "{}", final_text(&ev));
        let (b_builds, b_before) = (builds(&b), reindexed(&b));

        let id = lesson_id(&a, &t, "catalogue", "stage-1", "lesson-4").await;
        edit_body(&a, &t, &id, "## Couplings\n\nA quillwort coupling joins two shafts without backlash.\n").await;
        let ev = turn(&b, &tb, "what is a quillwort coupling?").await;
        assert!(final_text(&ev).contains("without backlash"), "{}", final_text(&ev));
        assert!(
            cited(&ev).iter().any(|u| u == "/learn/stage-1/lesson-4#couplings"),
            "{:?}",
            cited(&ev)
        );
        assert_eq!(reindexed(&b) - b_before, 1, "the other instance applied the same one-lesson delta");
        assert_eq!(builds(&b), b_builds, "and did not rebuild");

        delete_lesson(&a, &t, &id).await;
        let ev = turn(&b, &tb, "what is a quillwort coupling?").await;
        assert!(!final_text(&ev).contains("quillwort"), "{}", final_text(&ev));
        assert_eq!(reindexed(&b) - b_before, 2);
        b.stop().await;
        a.stop().await;
    }

    async fn a_turn_during_the_first_build_gets_the_warming_notice(backend) {
        for with_model in [false, true] {
            let fake = FakeLlm::start().await;
            let gate = Arc::new(tokio::sync::Semaphore::new(0));
            let mut opts = Options {
                hold_search: Some(gate.clone()),
                ..Default::default()
            };
            if with_model {
                opts = opts.var("OPENAI_BASE_URL", fake.url.clone()).var("TUTOR_MODEL", "test-model");
            }
            let server = TestServer::start_with(backend, opts).await;
            import(&server, catalogue(1, 3)).await;
            let boss = admin(&server, "boss@example.com").await;
            let t = token(&boss, &server).await;

            let r = ready(&server).await;
            assert_eq!(r["status"], "ready", "{r}");
            assert_eq!(r["search"]["state"], "warming", "{r}");
            let ev = turn(&server, &t, "what does the mark1x2 lesson cover?").await;
            assert!(
                ev.iter().any(|e| e["type"] == "notice" && e["message"] == tutor::turn::WARMING_NOTICE),
                "model {with_model}: {ev:?}"
            );
            assert_eq!(final_text(&ev), tutor::turn::WARMING_TEXT, "model {with_model}");
            assert!(fake.reply_requests().is_empty(), "the model is not asked without passages");

            gate.add_permits(1);
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while ready(&server).await["search"]["state"] != "ready" {
                assert!(std::time::Instant::now() < deadline, "the build never finished");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(builds(&server), 1);
            if with_model {
                fake.push(Script::Text(vec!["Think about what ", "mark1x2 covers [1]."], 0));
            }
            let ev = turn(&server, &t, "what does the mark1x2 lesson cover?").await;
            assert!(
                !ev.iter().any(|e| e["type"] == "notice" && e["message"] == tutor::turn::WARMING_NOTICE),
                "{ev:?}"
            );
            assert!(final_text(&ev).contains("mark1x2"), "model {with_model}: {}", final_text(&ev));
            server.stop().await;
        }
    }

    async fn a_restart_reopens_the_index_and_catches_up(backend) {
        let data = tempfile::tempdir().unwrap();
        let pg = match backend {
            Backend::Postgres => Some(crate::support::PgDatabase::create().await),
            Backend::Sqlite => None,
        };
        let url = pg
            .as_ref()
            .map(|p| p.url.clone())
            .unwrap_or_else(|| format!("sqlite://{}/shared.db", data.path().display()));
        let opts = || Options {
            database_url: Some(url.clone()),
            vars: HashMap::from([("DATA_DIR".to_string(), data.path().display().to_string())]),
            ..Default::default()
        };
        let first = TestServer::start_with(backend, opts()).await;
        import(&first, catalogue(2, 4)).await;
        assert_eq!(builds(&first), 1);
        let boss = admin(&first, "boss@example.com").await;
        let t = token(&boss, &first).await;
        let ev = turn(&first, &t, "what does the mark2x2 lesson cover?").await;
        assert!(final_text(&ev).contains("mark2x2"));
        let id = lesson_id(&first, &t, "catalogue", "stage-2", "lesson-2").await;
        let (_, session, _) = get(&boss, &first, "/api/auth/get-session").await;
        let boss_id = session["user"]["id"].as_str().unwrap().to_string();
        first.stop().await;

        // Changed while no instance ran.
        let db = common::Db::connect(&common::config::DatabaseConfig::parse(&url).unwrap())
            .await
            .unwrap();
        let boss_user = api::caller::AuthenticatedUser {
            id: boss_id,
            email: "boss@example.com".into(),
            name: "Admin".into(),
            role: "admin".into(),
            email_verified: true,
        };
        let clock: common::SharedClock = Arc::new(common::SystemClock);
        api::authoring::Authoring { db: &db, clock: &clock }
            .update_lesson(
                &boss_user,
                &id,
                api::authoring::LessonPatch {
                    body: Some("## Couplings\n\nA quillwort coupling joins two shafts without backlash.\n".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        db.close().await;

        let second = TestServer::start_with(backend, opts()).await;
        assert_eq!(builds(&second), 0, "reopened from disk, not rebuilt");
        assert_eq!(second.search.stats.index_reopened.load(Ordering::Relaxed), 1);
        let r = ready(&second).await;
        assert_eq!((r["search"]["reopened"].as_u64(), r["search"]["builds"].as_u64()), (Some(1), Some(0)), "{r}");
        assert_eq!(reindexed(&second), 1, "only the lesson changed meanwhile");
        let t = sign_in(&second, "boss@example.com").await;
        let ev = turn(&second, &t, "what is a quillwort coupling?").await;
        assert!(final_text(&ev).contains("without backlash"), "{}", final_text(&ev));
        let ev = turn(&second, &t, "what does the mark2x1 lesson cover?").await;
        assert!(final_text(&ev).contains("mark2x1"), "the rest is still there");
        second.stop().await;
        drop(pg);
    }
}
