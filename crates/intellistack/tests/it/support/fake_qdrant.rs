//! A local server shaped like Qdrant's REST API: collections, point upserts,
//! and filtered vector search, recording the searches it receives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::{post, put};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Shared {
    points: Arc<Mutex<HashMap<String, Vec<Value>>>>,
    searches: Arc<Mutex<Vec<Value>>>,
}

pub struct FakeQdrant {
    pub addr: std::net::SocketAddr,
    shared: Shared,
}

impl FakeQdrant {
    pub async fn start() -> FakeQdrant {
        let shared = Shared::default();
        let app = axum::Router::new()
            .route("/collections/{c}", put(create).delete(drop_collection))
            .route("/collections/{c}/points", put(upsert))
            .route("/collections/{c}/points/search", post(search))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeQdrant { addr, shared }
    }

    pub fn point_count(&self, c: &str) -> usize {
        self.shared
            .points
            .lock()
            .unwrap()
            .get(c)
            .map(|p| p.len())
            .unwrap_or(0)
    }

    pub fn searches(&self) -> Vec<Value> {
        self.shared.searches.lock().unwrap().clone()
    }
}

async fn create(
    State(s): State<Shared>,
    Path(c): Path<String>,
    Json(_): Json<Value>,
) -> Json<Value> {
    s.points.lock().unwrap().entry(c).or_default();
    Json(json!({"result": true, "status": "ok"}))
}

async fn drop_collection(State(s): State<Shared>, Path(c): Path<String>) -> Json<Value> {
    s.points.lock().unwrap().remove(&c);
    Json(json!({"result": true, "status": "ok"}))
}

async fn upsert(
    State(s): State<Shared>,
    Path(c): Path<String>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let mut all = s.points.lock().unwrap();
    let list = all.entry(c).or_default();
    for p in body["points"].as_array().cloned().unwrap_or_default() {
        list.retain(|q| q["id"] != p["id"]);
        list.push(p);
    }
    Json(json!({"result": {"status": "completed"}, "status": "ok"}))
}

fn matches(payload: &Value, cond: &Value) -> bool {
    let v = &payload[cond["key"].as_str().unwrap_or_default()];
    if let Some(x) = cond["match"].get("value") {
        return v == x;
    }
    if let Some(any) = cond["match"]["any"].as_array() {
        return any.contains(v);
    }
    false
}

async fn search(
    State(s): State<Shared>,
    Path(c): Path<String>,
    Json(body): Json<Value>,
) -> Json<Value> {
    s.searches.lock().unwrap().push(body.clone());
    let query: Vec<f32> = body["vector"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    let must = body["filter"]["must"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let points = s
        .points
        .lock()
        .unwrap()
        .get(&c)
        .cloned()
        .unwrap_or_default();
    let mut hits: Vec<(f32, Value)> = points
        .into_iter()
        .filter(|p| must.iter().all(|m| matches(&p["payload"], m)))
        .map(|p| {
            let v: Vec<f32> = p["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            let score: f32 = v.iter().zip(&query).map(|(a, b)| a * b).sum();
            (score, p)
        })
        .collect();
    hits.sort_by(|a, b| b.0.total_cmp(&a.0));
    let limit = body["limit"].as_u64().unwrap_or(10) as usize;
    let result: Vec<Value> = hits.into_iter().take(limit).map(|(score, p)| json!({"id": p["id"], "version": 0, "score": score, "payload": p["payload"]})).collect();
    Json(json!({"result": result, "status": "ok", "time": 0.0}))
}
