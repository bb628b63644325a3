//! Answering the sample course's exercises in tests.

use serde_json::{Value, json};

use super::TestServer;
use super::api::{api_get, api_post};

/// A right answer for every exercise of the sample course.
pub const RIGHT: &[(&str, &str)] = &[
    ("sensor-classes", "proprioceptive"),
    ("resolution-vs-accuracy", "accuracy"),
    ("gyro-drift", "1.2 rad"),
    ("encoder-distance", "0.628 m"),
    ("pinhole-projection", "100 px"),
    ("lidar-time-of-flight", "3 m"),
    ("rotate-point", "(0, 1)"),
    ("compose-transform", "(3, 3)"),
    ("two-link-fk", "(0, 2)"),
    ("workspace-radius", "0.2 m"),
    ("ik-cos-theta2", "0"),
    ("reachability", "no"),
    ("p-only-command", "6"),
    ("integral-role", "integral"),
    ("ziegler-nichols-p", "4.8"),
    ("overshoot-fix", "kd"),
    ("grid-path-length", "7 m"),
    ("trapezoid-time", "1.5 s"),
    ("topic-rate", "30"),
    ("qos-choice", "best-effort"),
    ("pick-interface", "action"),
    ("param-cli", "ros2 param set /controller kp 2.5"),
    ("tf-lookup", "1.2 m"),
    ("static-vs-dynamic", "static"),
];

pub fn right(id: &str) -> &'static str {
    RIGHT
        .iter()
        .find(|(e, _)| *e == id)
        .map(|(_, a)| *a)
        .unwrap_or_else(|| panic!("no right answer for {id}"))
}

pub async fn attempt(server: &TestServer, token: &str, id: &str, answer: Value) -> (u16, Value) {
    api_post(
        server,
        &format!("/api/v1/exercises/{id}/attempts"),
        token,
        json!({ "answer": answer }),
    )
    .await
}

/// Answers every exercise of the lesson at `path` (its API path) rightly;
/// returns the last attempt's result.
pub async fn solve(server: &TestServer, token: &str, path: &str) -> Value {
    let (s, lesson) = api_get(server, path, token).await;
    assert_eq!(s, 200, "{lesson}");
    let mut last = Value::Null;
    for e in lesson["exercises"].as_array().unwrap() {
        let id = e["id"].as_str().unwrap();
        let (s, body) = attempt(server, token, id, json!(right(id))).await;
        assert_eq!(s, 201, "{body}");
        assert_eq!(body["correct"], true, "{id}: {body}");
        last = body;
    }
    last
}
