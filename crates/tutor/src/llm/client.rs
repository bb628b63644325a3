//! The HTTP side: `POST {base}/chat/completions` with `stream: true`.
//! Connection errors, 429 and 5xx are retried with exponential backoff until
//! the first chunk arrives; after that a failure ends the stream with an error.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use serde_json::json;
use url::Url;

use super::sse::Parser;
use super::{Chunk, LlmError, Message, Tool};

#[derive(Clone)]
pub struct LlmConfig {
    /// e.g. `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`.
    pub base_url: Url,
    pub api_key: Option<String>,
    pub model: String,
    pub connect_timeout: Duration,
    /// Longest silence allowed between two pieces of the reply.
    pub read_timeout: Duration,
    pub max_retries: u32,
    pub backoff: Duration,
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url.as_str())
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .finish()
    }
}

#[derive(Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    cfg: LlmConfig,
}

type ByteStream = BoxStream<'static, reqwest::Result<bytes::Bytes>>;

struct Reading {
    body: ByteStream,
    parser: Parser,
    pending: VecDeque<Chunk>,
    read_timeout: Duration,
    ended: bool,
}

impl LlmClient {
    pub fn new(cfg: LlmConfig) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .build()
            .unwrap_or_default();
        LlmClient { http, cfg }
    }

    pub fn model(&self) -> &str {
        &self.cfg.model
    }

    fn endpoint(&self) -> Url {
        let mut base = self.cfg.base_url.clone();
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        base.join("chat/completions").unwrap_or(base)
    }

    /// Streams a completion. Errors before the first chunk are retried.
    pub async fn stream(
        &self,
        messages: &[Message],
        tools: &[Tool],
    ) -> Result<BoxStream<'static, Result<Chunk, LlmError>>, LlmError> {
        let mut body = json!({"model": self.cfg.model, "messages": messages, "stream": true});
        if !tools.is_empty() {
            body["tools"] = json!(tools);
        }
        let mut attempt = 0;
        loop {
            match self.open(&body).await {
                Ok(mut reading) => match reading.next_chunk().await {
                    Some(Ok(first)) => {
                        reading.pending.push_front(first);
                        return Ok(into_stream(reading).boxed());
                    }
                    Some(Err(e)) if attempt < self.cfg.max_retries && retryable(&e) => {
                        tracing::warn!(error = %e, attempt, "model stream failed before its first token; retrying");
                    }
                    Some(Err(e)) => return Err(e),
                    None => return Err(LlmError::Protocol("empty reply".into())),
                },
                Err(e) if attempt < self.cfg.max_retries && retryable(&e) => {
                    tracing::warn!(error = %e, attempt, "model request failed; retrying");
                }
                Err(e) => return Err(e),
            }
            tokio::time::sleep(self.cfg.backoff * 2u32.saturating_pow(attempt)).await;
            attempt += 1;
        }
    }

    async fn open(&self, body: &serde_json::Value) -> Result<Reading, LlmError> {
        let mut req = self.http.post(self.endpoint()).json(body);
        if let Some(key) = &self.cfg.api_key {
            req = req.bearer_auth(key);
        }
        let res = tokio::time::timeout(self.cfg.read_timeout, req.send())
            .await
            .map_err(|_| LlmError::Timeout)?
            .map_err(|e| {
                if e.is_timeout() {
                    LlmError::Timeout
                } else {
                    LlmError::Connect(e.without_url().to_string())
                }
            })?;
        let status = res.status();
        if !status.is_success() {
            return Err(LlmError::Status(status.as_u16()));
        }
        Ok(Reading {
            body: res.bytes_stream().boxed(),
            parser: Parser::default(),
            pending: VecDeque::new(),
            read_timeout: self.cfg.read_timeout,
            ended: false,
        })
    }
}

fn retryable(e: &LlmError) -> bool {
    match e {
        LlmError::Status(s) => *s == 429 || *s >= 500,
        LlmError::Connect(_) | LlmError::Timeout => true,
        LlmError::Protocol(_) => false,
        // Nothing was shown yet when this is seen before the first chunk:
        // a cut connection is worth another try.
        LlmError::Incomplete => true,
    }
}

impl Reading {
    async fn next_chunk(&mut self) -> Option<Result<Chunk, LlmError>> {
        loop {
            if let Some(c) = self.pending.pop_front() {
                return Some(Ok(c));
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout(self.read_timeout, self.body.next()).await {
                Err(_) => {
                    self.ended = true;
                    return Some(Err(LlmError::Timeout));
                }
                Ok(None) => {
                    self.ended = true;
                    match self.parser.end() {
                        Ok(chunks) => self.pending.extend(chunks),
                        Err(e) => return Some(Err(e)),
                    }
                }
                Ok(Some(Err(e))) => {
                    self.ended = true;
                    return Some(Err(LlmError::Connect(e.without_url().to_string())));
                }
                Ok(Some(Ok(bytes))) => match self.parser.feed(&bytes) {
                    Ok(chunks) => self.pending.extend(chunks),
                    Err(e) => {
                        self.ended = true;
                        return Some(Err(e));
                    }
                },
            }
        }
    }
}

fn into_stream(reading: Reading) -> impl Stream<Item = Result<Chunk, LlmError>> {
    futures_util::stream::unfold(reading, |mut r| async move {
        r.next_chunk().await.map(|c| (c, r))
    })
}
