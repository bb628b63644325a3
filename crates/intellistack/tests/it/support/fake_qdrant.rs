//! A local server shaped like Qdrant's REST API: collections (created,
//! described, dropped), point upserts, deletes by filter, and filtered
//! vector search, recording the searches it receives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Shared {
    points: Arc<Mutex<HashMap<String, Vec<Value>>>>,
    /// Each collection's vector size.
    sizes: Arc<Mutex<HashMap<String, u64>>>,
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
            .route(
                "/collections/{c}",
                put(create).delete(drop_collection).get(describe),
            )
            .route("/collections/{c}/points", put(upsert))
            .route("/collections/{c}/points/delete", post(delete_points))
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

    /// The chunk ids of a collection's points, sorted.
    pub fn chunk_ids(&self, c: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .shared
            .points
            .lock()
            .unwrap()
            .get(c)
            .map(|p| {
                p.iter()
                    .filter_map(|p| p["payload"]["chunk_id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }

    pub fn searches(&self) -> Vec<Value> {
        self.shared.searches.lock().unwrap().clone()
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"status": {"error": message}, "time": 0.0})),
    )
        .into_response()
}

async fn create(
    State(s): State<Shared>,
    Path(c): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut points = s.points.lock().unwrap();
    if points.contains_key(&c) {
        return error(
            StatusCode::CONFLICT,
            &format!("Wrong input: Collection `{c}` already exists!"),
        );
    }
    points.insert(c.clone(), Vec::new());
    let size = body["vectors"]["size"].as_u64().unwrap_or(0);
    s.sizes.lock().unwrap().insert(c, size);
    Json(json!({"result": true, "status": "ok"})).into_response()
}

/// Qdrant's answer about a collection it does not have.
fn no_collection(c: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("Not found: Collection `{c}` doesn't exist!"),
    )
}

async fn describe(State(s): State<Shared>, Path(c): Path<String>) -> Response {
    let Some(size) = s.sizes.lock().unwrap().get(&c).copied() else {
        return no_collection(&c);
    };
    let count = s.points.lock().unwrap().get(&c).map_or(0, Vec::len);
    Json(json!({"result": {"status": "green", "points_count": count,
        "config": {"params": {"vectors": {"size": size, "distance": "Cosine"}}}}, "status": "ok"}))
    .into_response()
}

async fn drop_collection(State(s): State<Shared>, Path(c): Path<String>) -> Json<Value> {
    s.points.lock().unwrap().remove(&c);
    s.sizes.lock().unwrap().remove(&c);
    Json(json!({"result": true, "status": "ok"}))
}

/// Qdrant's filter: every `must` condition holds and no `must_not` one.
fn passes(payload: &Value, filter: &Value) -> bool {
    let list = |k: &str| filter[k].as_array().cloned().unwrap_or_default();
    list("must").iter().all(|m| matches(payload, m))
        && !list("must_not").iter().any(|m| matches(payload, m))
}

/// Changes collection `c`'s points with `change`, answering as Qdrant does
/// for a completed update, or for a collection it does not have.
fn update(s: &Shared, c: &str, change: impl FnOnce(&mut Vec<Value>)) -> Response {
    let mut all = s.points.lock().unwrap();
    let Some(list) = all.get_mut(c) else {
        return no_collection(c);
    };
    change(list);
    Json(json!({"result": {"operation_id": 0, "status": "completed"}, "status": "ok"}))
        .into_response()
}

async fn delete_points(
    State(s): State<Shared>,
    Path(c): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    update(&s, &c, |list| {
        list.retain(|p| !passes(&p["payload"], &body["filter"]))
    })
}

async fn upsert(
    State(s): State<Shared>,
    Path(c): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    update(&s, &c, |list| {
        for p in body["points"].as_array().cloned().unwrap_or_default() {
            list.retain(|q| q["id"] != p["id"]);
            list.push(p);
        }
    })
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
    let points = s
        .points
        .lock()
        .unwrap()
        .get(&c)
        .cloned()
        .unwrap_or_default();
    let mut hits: Vec<(f32, Value)> = points
        .into_iter()
        .filter(|p| passes(&p["payload"], &body["filter"]))
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
