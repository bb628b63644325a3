//! Checked attempts at exercises: right, wrong with the next hint, right in
//! another unit, within and outside the tolerance, malformed answers, locked
//! stages and missing enrolments; lessons complete and stages open from
//! correct answers; a bad exercise stops `content import` and start-up.

use serde_json::{Value, json};

use crate::support::api::*;
use crate::support::auth::*;
use crate::support::exercises::{attempt, right, solve};
use crate::support::{Backend, TestServer};

const COURSE: &str = "/api/v1/courses/physical-ai";
const IMUS: &str = "/api/v1/courses/physical-ai/lessons/sensors/imus-and-encoders";

async fn student(server: &TestServer, email: &str) -> String {
    let b = verified_user(server, email).await;
    token(&b, server).await
}

async fn attempts_of(server: &TestServer, t: &str, id: &str) -> Vec<Value> {
    let (s, list) = api_get(server, &format!("/api/v1/exercises/{id}/attempts"), t).await;
    assert_eq!(s, 200, "{list}");
    list.as_array().unwrap().clone()
}

crate::per_database! {
    async fn attempts_are_checked_stored_and_listed(backend) {
        let server = TestServer::start(backend).await;
        let t = student(&server, "solver@example.com").await;

        // Not enrolled: refused, nothing stored.
        let (s, body) = attempt(&server, &t, "gyro-drift", json!("1.2 rad")).await;
        assert_eq!((s, code(&body)), (403, "NOT_ENROLLED"), "{body}");
        let (s, _) = api_post(&server, &format!("{COURSE}/enrol"), &t, json!({})).await;
        assert_eq!(s, 201);

        // A later stage is locked.
        let (s, body) = attempt(&server, &t, "rotate-point", json!("(0, 1)")).await;
        assert_eq!((s, code(&body)), (403, "STAGE_LOCKED"), "{body}");

        // Malformed answers: a clear 422, nothing stored.
        for bad in [
            json!("abc"),
            json!(""),
            json!("1.2 furlongs"),
            json!("1.1-1.3 rad"),
            json!({"value": 1}),
            json!(null),
        ] {
            let (s, body) = attempt(&server, &t, "gyro-drift", bad.clone()).await;
            assert_eq!((s, code(&body)), (422, "INVALID_ANSWER"), "{bad}: {body}");
            assert!(!body["error"]["message"].as_str().unwrap().is_empty());
        }
        let (s, body) = api_post(
            &server,
            "/api/v1/exercises/gyro-drift/attempts",
            &t,
            json!({}),
        )
        .await;
        assert_eq!(s, 422, "a body without an answer: {body}");
        let (s, body) = api_post(
            &server,
            "/api/v1/exercises/no-such-exercise/attempts",
            &t,
            json!({"answer": "1"}),
        )
        .await;
        assert_eq!((s, code(&body)), (404, "EXERCISE_NOT_FOUND"));
        let (s, body) = attempt(&server, &t, "sensor-classes", json!("sonar")).await;
        assert_eq!(
            (s, code(&body)),
            (422, "INVALID_ANSWER"),
            "not an option: {body}"
        );
        assert!(
            attempts_of(&server, &t, "gyro-drift").await.is_empty(),
            "refused answers are not stored"
        );

        // Wrong: the next hint, one more each time.
        let (s, body) = attempt(&server, &t, "gyro-drift", json!("1.5 rad")).await;
        assert_eq!(s, 201, "{body}");
        assert_eq!(
            (&body["correct"], &body["attempts"]),
            (&json!(false), &json!(1))
        );
        assert_eq!(
            body["hint"],
            "Integrating a constant rate multiplies it by the elapsed time."
        );
        assert_eq!(
            body["explanation"],
            Value::Null,
            "no explanation before a right answer"
        );
        let (_, body) = attempt(&server, &t, "gyro-drift", json!("1.2 m")).await;
        assert_eq!(body["correct"], false, "a length for an angle");
        assert_eq!(body["note"], "That is a length; the answer is an angle.");
        assert!(
            body["hint"]
                .as_str()
                .unwrap()
                .starts_with("The rate is in radians per second")
        );
        // Outside the tolerance (0.02 rad), then inside it.
        let (_, body) = attempt(&server, &t, "gyro-drift", json!("1.25 rad")).await;
        assert_eq!(body["correct"], false, "outside the tolerance");
        let (_, body) = attempt(&server, &t, "gyro-drift", json!("1.21 rad")).await;
        assert_eq!(body["correct"], true, "within the tolerance: {body}");
        assert!(
            body["explanation"]
                .as_str()
                .unwrap()
                .contains("0.02 rad/s × 60 s")
        );
        assert_eq!(body["hint"], Value::Null);
        assert_eq!(
            body["lessonCompleted"], false,
            "the lesson has another exercise"
        );

        // Right in another unit of the quantity.
        let (_, body) = attempt(&server, &t, "encoder-distance", json!("62.8 cm")).await;
        assert_eq!(body["correct"], true, "{body}");
        assert_eq!(
            body["lessonCompleted"], true,
            "both exercises answered: {body}"
        );
        let (_, body) = attempt(&server, &t, "encoder-distance", json!("2.06 ft")).await;
        assert_eq!(
            body["correct"], false,
            "feet are a length the exercise does not take"
        );
        assert_eq!(body["note"], "Give the answer in m, cm, mm.");

        // Choices and short text.
        let (_, body) = attempt(&server, &t, "sensor-classes", json!("exteroceptive")).await;
        assert_eq!(body["correct"], false);
        let (_, body) = attempt(&server, &t, "sensor-classes", json!("Proprioceptive")).await;
        assert_eq!(body["correct"], true);

        // Listed per student, oldest first, with the verdicts.
        let list = attempts_of(&server, &t, "gyro-drift").await;
        let verdicts: Vec<(&str, bool)> = list
            .iter()
            .map(|a| {
                (
                    a["answer"].as_str().unwrap(),
                    a["correct"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            verdicts,
            [
                ("1.5 rad", false),
                ("1.2 m", false),
                ("1.25 rad", false),
                ("1.21 rad", true)
            ]
        );
        let (s, all) = api_get(&server, &format!("{COURSE}/attempts"), &t).await;
        assert_eq!(s, 200);
        assert_eq!(all.as_array().unwrap().len(), 8);

        // Another student sees none of them and may not ask for them; staff may.
        let other = student(&server, "other@example.com").await;
        let me: Value = api_get(&server, "/api/v1/me", &t).await.1;
        let (s, body) = api_get(
            &server,
            &format!(
                "/api/v1/exercises/gyro-drift/attempts?userId={}",
                me["id"].as_str().unwrap()
            ),
            &other,
        )
        .await;
        assert_eq!((s, code(&body)), (403, "FORBIDDEN_ROLE"));
        let boss = admin(&server, "boss@example.com").await;
        let bt = token(&boss, &server).await;
        let (s, body) = api_get(
            &server,
            &format!(
                "/api/v1/exercises/gyro-drift/attempts?userId={}",
                me["id"].as_str().unwrap()
            ),
            &bt,
        )
        .await;
        assert_eq!((s, body.as_array().map(Vec::len)), (200, Some(4)));

        // The lesson page shows the state: solved, hints revealed, explanation.
        let (_, lesson) = api_get(&server, IMUS, &t).await;
        let gyro = &lesson["exercises"][0];
        assert_eq!(
            (
                &gyro["solved"],
                &gyro["attempts"],
                &gyro["kind"],
                &gyro["unit"]
            ),
            (&json!(true), &json!(4), &json!("numeric"), &json!("rad"))
        );
        assert!(gyro["explanation"].is_string());
        assert!(
            !lesson.to_string().contains("\"value\""),
            "answers never reach the browser: {lesson}"
        );
        assert_eq!(lesson["completed"], true);
        server.stop().await;
    }
}

crate::per_database! {
    async fn correct_answers_complete_lessons_and_open_the_next_stage(backend) {
        let server = TestServer::start(backend).await;
        let t = student(&server, "stager@example.com").await;
        api_post(&server, &format!("{COURSE}/enrol"), &t, json!({})).await;
        let (_, outline) = api_get(&server, COURSE, &t).await;
        let lessons: Vec<String> = outline["stages"][0]["lessons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| format!("{COURSE}/lessons/sensors/{}", l["slug"].as_str().unwrap()))
            .collect();
        for (i, path) in lessons.iter().enumerate() {
            let (s, body) = api_post(&server, &format!("{path}/complete"), &t, json!({})).await;
            assert_eq!(
                (s, code(&body)),
                (409, "EXERCISES_PENDING"),
                "no self-reported completion"
            );
            let last = solve(&server, &t, path).await;
            assert_eq!(last["lessonCompleted"], true);
            let expect = if i + 1 == lessons.len() {
                json!("kinematics")
            } else {
                Value::Null
            };
            assert_eq!(last["unlockedStage"], expect, "{last}");
        }
        let (_, outline) = api_get(&server, COURSE, &t).await;
        assert_eq!(outline["stages"][1]["locked"], false);
        assert_eq!(outline["completedCount"], 3);
        let (s, body) = attempt(&server, &t, "rotate-point", json!("(0,1)")).await;
        assert_eq!((s, &body["correct"]), (201, &json!(true)), "{body}");

        // A lesson without exercises keeps "Mark complete".
        let boss = admin(&server, "author@example.com").await;
        let bt = token(&boss, &server).await;
        let stage_id = outline["stages"][1]["id"].as_str().unwrap();
        let (s, _) = api_post(
            &server,
            &format!("/api/v1/stages/{stage_id}/lessons"),
            &bt,
            json!({"slug": "reading", "title": "Reading", "body": "## Notes\n\nRead the chapter."}),
        )
        .await;
        assert_eq!(s, 201);
        let (s, body) = api_post(
            &server,
            &format!("{COURSE}/lessons/kinematics/reading/complete"),
            &t,
            json!({}),
        )
        .await;
        assert_eq!((s, &body["completed"]), (200, &json!(true)), "{body}");
        server.stop().await;
    }
}

crate::per_database! {
    async fn concurrent_right_answers_complete_the_lesson_once(backend) {
        let server = TestServer::start(backend).await;
        let t = student(&server, "racer@example.com").await;
        api_post(&server, &format!("{COURSE}/enrol"), &t, json!({})).await;
        for path in ["what-robots-sense", "imus-and-encoders"] {
            solve(&server, &t, &format!("{COURSE}/lessons/sensors/{path}")).await;
        }
        attempt(
            &server,
            &t,
            "pinhole-projection",
            json!(right("pinhole-projection")),
        )
        .await;
        // Ten right answers to the stage's last exercise at once.
        let results = futures_util::future::join_all(
            (0..10).map(|_| attempt(&server, &t, "lidar-time-of-flight", json!("300 cm"))),
        )
        .await;
        assert!(
            results
                .iter()
                .all(|(s, b)| *s == 201 && b["correct"] == true),
            "{results:?}"
        );
        let opened = results
            .iter()
            .filter(|(_, b)| b["unlockedStage"] == "kinematics")
            .count();
        assert_eq!(opened, 1, "the next stage opens once");
        assert_eq!(
            attempts_of(&server, &t, "lidar-time-of-flight").await.len(),
            10
        );
        let (_, outline) = api_get(&server, COURSE, &t).await;
        assert_eq!(outline["completedCount"], 3);
        server.stop().await;
    }
}

fn bad_course(dir: &std::path::Path) {
    let course = dir.join("robots");
    std::fs::create_dir_all(course.join("01-basics")).unwrap();
    std::fs::write(
        course.join("course.md"),
        "---\nslug: robots\ntitle: Robots\n---\nIntro\n",
    )
    .unwrap();
    std::fs::write(
        course.join("01-basics/stage.md"),
        "---\nslug: basics\ntitle: Basics\nposition: 1\n---\n",
    )
    .unwrap();
    std::fs::write(
        course.join("01-basics/01-wheels.md"),
        "---\nslug: wheels\ntitle: Wheels\nposition: 1\nexercises:\n  - id: wheel-speed\n    kind: numeric\n    prompt: \"How fast?\"\n    answer: {value: 2, unit: furlongs}\n---\n## Wheels\n\nThey turn.\n",
    )
    .unwrap();
}

#[tokio::test]
async fn a_bad_exercise_stops_content_import_and_start_up_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    bad_course(dir.path());
    let data = tempfile::tempdir().unwrap();
    let command = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_intellistack"));
        cmd.current_dir(data.path())
            .env("DATA_DIR", data.path())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}/t.db", data.path().display()),
            )
            .env("BETTER_AUTH_SECRET", crate::support::TEST_SECRET)
            .env("PORT", "0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .args(args);
        cmd
    };
    let out = command(&["content", "import", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("01-basics/01-wheels.md"),
        "names the file: {err}"
    );
    assert!(
        err.contains("exercise `wheel-speed`"),
        "names the exercise: {err}"
    );
    assert!(
        err.contains("unknown unit `furlongs`"),
        "says what is wrong: {err}"
    );

    // Start-up with the folder stops the same way (and is stopped if not).
    let mut serve = command(&["serve"]);
    serve.env("CONTENT_DIR", dir.path());
    let mut child = serve.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(
        status.is_some_and(|s| !s.success()),
        "start-up stops: {err}"
    );
    assert!(
        err.contains("01-wheels.md") && err.contains("wheel-speed") && err.contains("furlongs"),
        "{err}"
    );
}

/// Lessons stored with free-text exercises (before 0003) keep them as
/// short-text exercises; an id used by two lessons is made unique.
#[tokio::test]
async fn free_text_exercises_are_migrated_to_text_exercises() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let old = r#"[{"id": "e1", "prompt": "What does an e-stop cut?", "answer": "motor power", "hints": ["Think power."]}]"#;
    let seed = |lesson: &str| {
        format!(
            "INSERT INTO lesson (id, stage_id, slug, title, body, exercises, position, created_at, updated_at)
             VALUES ('{lesson}', 's1', '{lesson}', 'L', 'b', '{old}', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');"
        )
    };
    let setup = "INSERT INTO course (id, slug, title, created_at, updated_at) VALUES ('c1', 'c', 'C', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
                 INSERT INTO stage (id, course_id, slug, position, title, created_at, updated_at) VALUES ('s1', 'c1', 's', 1, 'S', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');";
    for backend in Backend::ALL {
        let dir = tempfile::tempdir().unwrap();
        // An empty database of this backend; a PostgreSQL one is dropped
        // with `_pg` at the end of the round.
        let (folder, db, _pg) = match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}/old.db?mode=rwc", dir.path().display());
                let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                ("sqlite", common::Db::Sqlite(pool), None)
            }
            Backend::Postgres => {
                let pg = crate::support::PgDatabase::create().await;
                let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
                ("postgres", common::Db::Postgres(pool), Some(pg))
            }
        };
        let rows: Vec<(String, String, String)> = common::on_db!(&db, pool => {
            for step in [
                std::fs::read_to_string(root.join(format!("{folder}/0001_initial.sql"))).unwrap(),
                format!("{setup}{}{}", seed("la"), seed("lb")),
                std::fs::read_to_string(root.join(format!("{folder}/0003_exercises.sql"))).unwrap(),
            ] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(step))
                    .execute(pool)
                    .await
                    .unwrap();
            }
            sqlx::query_as("SELECT id, lesson_id, spec FROM exercise ORDER BY lesson_id")
                .fetch_all(pool)
                .await
                .unwrap()
        });
        db.close().await;
        assert_eq!(rows.len(), 2, "{folder}: {rows:?}");
        assert_eq!((rows[0].0.as_str(), rows[0].1.as_str()), ("e1", "la"));
        assert_eq!(
            (rows[1].0.as_str(), rows[1].1.as_str()),
            ("lb-e1", "lb"),
            "the second `e1` is renamed"
        );
        for (_, _, spec) in &rows {
            let e =
                tutor::exercise::Exercise::from_value(serde_json::from_str(spec).unwrap()).unwrap();
            let right =
                tutor::answers::check(&e, &tutor::answers::Given::Text("Motor  power".into()))
                    .unwrap();
            assert!(right.correct, "{folder}: the old answer text is accepted");
            assert_eq!(e.hints, ["Think power."]);
        }
    }
}
