//! HTTP helpers not tied to one feature.

/// The body of a GET to `url` as text, whatever the status.
pub async fn text_at(client: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// Sends `request` and reads the answer as JSON.
pub async fn json_of(request: reqwest::RequestBuilder) -> serde_json::Value {
    request.send().await.unwrap().json().await.unwrap()
}
