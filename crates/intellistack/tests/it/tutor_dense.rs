//! Dense retrieval fused with BM25: the embedded store and Qdrant, with the
//! stage filter inside every search and BM25 alone when Qdrant is down.

use serde_json::{Value, json};

use crate::support::api::token;
use crate::support::auth::admin;
use crate::support::chat::*;
use crate::support::courses::{
    delete_lesson, drones, edit_body, enrolled_student, import, lesson, lesson_id,
};
use crate::support::fake_llm::FakeLlm;
use crate::support::fake_qdrant::FakeQdrant;
use crate::support::proxy::TcpProxy;
use crate::support::{Backend, Options, TestServer};

async fn course(server: &TestServer) {
    let doc = drones(
        lesson(
            "lift",
            "Lift",
            "## Propellers\n\nA propeller pushes air down; thrust grows with rotor speed.\n\n## Batteries\n\nLithium batteries power the motors.\n",
        ),
        lesson(
            "hidden",
            "Hidden",
            "## Flips\n\nA propeller flip uses differential thrust between rotors.\n",
        ),
    );
    import(server, doc).await;
}

async fn student(server: &TestServer) -> String {
    enrolled_student(server, "dense@example.com", "drones").await
}

async fn ask(server: &TestServer, t: &str, text: &str) -> Vec<Value> {
    turn_events(
        server,
        t,
        json!({"type": "threads.create", "params": {"input": message(text)}, "metadata": {"page": {"course": "drones"}}}),
    )
    .await
}

/// A server whose vectors are in a Qdrant double (collection `chunks`),
/// embedded by the model double.
async fn with_qdrant(backend: Backend) -> (TestServer, FakeQdrant, FakeLlm) {
    let fake = FakeLlm::start().await;
    let qdrant = FakeQdrant::start().await;
    let server = TestServer::start_with(
        backend,
        Options::default()
            .var("EMBEDDINGS_MODEL", "test-embed")
            .var("EMBEDDINGS_BASE_URL", fake.url.clone())
            .var("QDRANT_URL", format!("http://{}", qdrant.addr))
            .var("QDRANT_COLLECTION", "chunks"),
    )
    .await;
    (server, qdrant, fake)
}

crate::per_database! {
    async fn qdrant_searches_are_filtered_by_course_and_unlocked_stages(backend) {
        let (server, qdrant, _embeddings) = with_qdrant(backend).await;
        course(&server).await;
        let t = student(&server).await;
        server.vectors_synced().await;
        let ev = ask(&server, &t, "how do propeller rotors make thrust?").await;
        assert!(
            !ev.iter().any(|e| e["type"] == "notice"),
            "no degradation notice when Qdrant answers"
        );
        let (chunks,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM content_chunk").fetch_one(pool).await.unwrap());
        assert_eq!(
            qdrant.point_count("chunks") as i64,
            chunks,
            "every chunk was upserted"
        );
        let search = &qdrant.searches()[0];
        let must = search["filter"]["must"].as_array().unwrap();
        assert_eq!(must[0]["key"], "course_id");
        assert_eq!(
            must[1],
            json!({"key": "stage_position", "match": {"any": [1]}}),
            "the locked stage is filtered in the store"
        );
        let text = last_answer(&ev).expect("an answer")["content"][0]["text"]
            .as_str()
            .unwrap();
        assert!(!text.contains("differential thrust"), "{text}");
        for a in citations(&ev) {
            assert!(
                a["source"]["url"]
                    .as_str()
                    .unwrap()
                    .starts_with("/learn/flight/")
            );
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn a_vector_store_that_is_down_gives_bm25_answers_with_a_notice() {
    let fake = FakeLlm::start().await;
    let qdrant = FakeQdrant::start().await;
    let mut proxy = TcpProxy::start(qdrant.addr).await;
    let server = TestServer::start_with(
        Backend::Sqlite,
        Options::default()
            .var("EMBEDDINGS_MODEL", "test-embed")
            .var("EMBEDDINGS_BASE_URL", fake.url.clone())
            .var("QDRANT_URL", format!("http://127.0.0.1:{}", proxy.port)),
    )
    .await;
    course(&server).await;
    let t = student(&server).await;
    proxy.stop();
    let ev = ask(&server, &t, "what powers the motors?").await;
    let notice = ev.iter().find(|e| e["type"] == "notice").expect("a notice");
    assert_eq!(notice["message"], "Search results may be limited");
    assert_eq!(notice["level"], "warning");
    let done = last_answer(&ev).expect("an answer");
    assert!(
        done["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Lithium batteries"),
        "BM25 still answers"
    );
}

#[tokio::test]
async fn the_embedded_vector_store_is_the_default() {
    let fake = FakeLlm::start().await;
    let server = TestServer::start_with(
        Backend::Sqlite,
        Options::default()
            .var("EMBEDDINGS_MODEL", "test-embed")
            .var("EMBEDDINGS_BASE_URL", fake.url.clone()),
    )
    .await;
    course(&server).await;
    let t = student(&server).await;
    server.vectors_synced().await;
    let ev = ask(&server, &t, "propeller thrust").await;
    assert!(!ev.iter().any(|e| e["type"] == "notice"));
    let anns = citations(&ev);
    assert_eq!(anns[0]["source"]["url"], "/learn/flight/lift#propellers");
    assert!(
        anns.iter()
            .all(|a| !a["source"]["url"].as_str().unwrap().contains("secrets"))
    );
}

/// The chunk ids the database holds now, sorted.
async fn chunk_ids(server: &TestServer) -> Vec<String> {
    let rows: Vec<(String,)> = common::on_db!(&server.db, pool => sqlx::query_as(
        "SELECT id FROM content_chunk ORDER BY id").fetch_all(pool).await.unwrap());
    let mut ids: Vec<String> = rows.into_iter().map(|r| r.0).collect();
    ids.sort();
    ids
}

crate::per_database! {
    async fn an_edit_replaces_only_that_lessons_vectors_in_qdrant(backend) {
        let (server, qdrant, _embeddings) = with_qdrant(backend).await;
        course(&server).await;
        let v = server.vectors_synced().await;
        assert_eq!(qdrant.chunk_ids("chunks"), chunk_ids(&server).await);
        let (full, lessons) = (v["full_syncs"].clone(), v["lessons_synced"].as_u64().unwrap());
        let boss = admin(&server, "boss@example.com").await;
        let t = token(&boss, &server).await;

        let id = lesson_id(&server, &t, "drones", "flight", "lift").await;
        edit_body(&server, &t, &id, "## Rotors\n\nA quillwort rotor spins faster to climb.\n").await;
        let v = server.vectors_synced().await;
        assert_eq!(qdrant.chunk_ids("chunks"), chunk_ids(&server).await, "the edited lesson's points were replaced");
        assert_eq!(v["full_syncs"], full, "no full sync for an edit: {v}");
        assert_eq!(v["lessons_synced"].as_u64(), Some(lessons + 1), "{v}");
        let ev = ask(&server, &t, "why does a quillwort rotor spin faster?").await;
        assert!(final_text(&ev).contains("spins faster to climb"), "{}", final_text(&ev));
        assert!(!ev.iter().any(|e| e["type"] == "notice"), "{ev:?}");

        let before = qdrant.chunk_ids("chunks").len();
        let hidden = lesson_id(&server, &t, "drones", "secrets", "hidden").await;
        delete_lesson(&server, &t, &hidden).await;
        let v = server.vectors_synced().await;
        let left = qdrant.chunk_ids("chunks");
        assert_eq!(left, chunk_ids(&server).await, "the deleted lesson's points are gone");
        assert!(left.len() < before, "{left:?}");
        assert_eq!(v["full_syncs"], full, "{v}");
        assert_eq!(v["lessons_synced"].as_u64(), Some(lessons + 2), "{v}");
        server.stop().await;
    }
}
