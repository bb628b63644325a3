//! Parsing of ChatKit requests: `{type, params, metadata?}`. Unknown fields are
//! ignored; unknown types and malformed params are reported precisely.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::types::{InferenceOptions, UserMessageContent};

#[derive(Debug, Clone, Deserialize)]
pub struct UserMessageInput {
    pub content: Vec<UserMessageContent>,
    #[serde(default)]
    pub attachments: Vec<String>,
    #[serde(default)]
    pub quoted_text: Option<String>,
    #[serde(default)]
    pub inference_options: InferenceOptions,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    Asc,
    #[default]
    Desc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedbackKind {
    Positive,
    Negative,
}

#[derive(Debug, Clone)]
pub enum Request {
    CreateThread {
        input: UserMessageInput,
    },
    AddUserMessage {
        thread_id: String,
        input: UserMessageInput,
    },
    RetryAfterItem {
        thread_id: String,
        item_id: String,
    },
    GetThread {
        thread_id: String,
    },
    ListThreads {
        limit: usize,
        order: Order,
        after: Option<String>,
    },
    UpdateThread {
        thread_id: String,
        title: String,
    },
    DeleteThread {
        thread_id: String,
    },
    ListItems {
        thread_id: String,
        limit: usize,
        order: Order,
        after: Option<String>,
    },
    Feedback {
        thread_id: String,
        item_ids: Vec<String>,
        kind: FeedbackKind,
    },
    /// A known type this server does not support.
    Unsupported {
        kind: String,
        streaming: bool,
    },
}

impl Request {
    pub fn is_streaming(&self) -> bool {
        match self {
            Request::CreateThread { .. }
            | Request::AddUserMessage { .. }
            | Request::RetryAfterItem { .. } => true,
            Request::Unsupported { streaming, .. } => *streaming,
            _ => false,
        }
    }

    /// Whether this request adds a user message.
    pub fn adds_user_message(&self) -> bool {
        matches!(
            self,
            Request::CreateThread { .. } | Request::AddUserMessage { .. }
        )
    }

    /// Whether this request makes the responder answer — a new message or a
    /// retry. Each costs one model turn, so daily limits count all of them.
    pub fn starts_turn(&self) -> bool {
        matches!(
            self,
            Request::CreateThread { .. }
                | Request::AddUserMessage { .. }
                | Request::RetryAfterItem { .. }
        )
    }
}

/// A parsed request with its free-form metadata.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub request: Request,
    pub metadata: Map<String, Value>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the body is not valid JSON")]
    Malformed,
    #[error("{0}")]
    Invalid(String),
    #[error("unknown request type `{0}`")]
    UnknownType(String),
}

pub const DEFAULT_PAGE_SIZE: usize = 20;
const MAX_PAGE_SIZE: usize = 100;

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    params: Value,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct CreateParams {
    input: UserMessageInput,
}
#[derive(Deserialize)]
struct AddParams {
    thread_id: String,
    input: UserMessageInput,
}
#[derive(Deserialize)]
struct RetryParams {
    thread_id: String,
    item_id: String,
}
#[derive(Deserialize)]
struct ThreadParams {
    thread_id: String,
}
#[derive(Deserialize)]
struct ListParams {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    order: Option<Order>,
    #[serde(default)]
    after: Option<String>,
}
#[derive(Deserialize)]
struct UpdateParams {
    thread_id: String,
    title: String,
}
#[derive(Deserialize)]
struct ItemsParams {
    thread_id: String,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    order: Option<Order>,
    #[serde(default)]
    after: Option<String>,
}
#[derive(Deserialize)]
struct FeedbackParams {
    thread_id: String,
    item_ids: Vec<String>,
    kind: FeedbackKind,
}

fn params<T: DeserializeOwned>(kind: &str, v: Value) -> Result<T, ParseError> {
    serde_json::from_value(v)
        .map_err(|e| ParseError::Invalid(format!("{kind}: invalid params: {e}")))
}

fn page_size(limit: Option<usize>) -> usize {
    match limit {
        None | Some(0) => DEFAULT_PAGE_SIZE,
        Some(n) => n.min(MAX_PAGE_SIZE),
    }
}

pub fn parse(body: &[u8]) -> Result<Envelope, ParseError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| ParseError::Malformed)?;
    let raw: Raw =
        serde_json::from_value(value).map_err(|e| ParseError::Invalid(format!("request: {e}")))?;
    let kind = raw.kind.as_str();
    let p = raw.params;
    let request = match kind {
        "threads.create" => {
            let x: CreateParams = params(kind, p)?;
            Request::CreateThread { input: x.input }
        }
        "threads.add_user_message" => {
            let x: AddParams = params(kind, p)?;
            Request::AddUserMessage {
                thread_id: x.thread_id,
                input: x.input,
            }
        }
        "threads.retry_after_item" => {
            let x: RetryParams = params(kind, p)?;
            Request::RetryAfterItem {
                thread_id: x.thread_id,
                item_id: x.item_id,
            }
        }
        "threads.get_by_id" => Request::GetThread {
            thread_id: params::<ThreadParams>(kind, p)?.thread_id,
        },
        "threads.list" => {
            let x: ListParams = params(
                kind,
                if p.is_null() {
                    Value::Object(Map::new())
                } else {
                    p
                },
            )?;
            Request::ListThreads {
                limit: page_size(x.limit),
                order: x.order.unwrap_or_default(),
                after: x.after,
            }
        }
        "threads.update" => {
            let x: UpdateParams = params(kind, p)?;
            Request::UpdateThread {
                thread_id: x.thread_id,
                title: x.title,
            }
        }
        "threads.delete" => Request::DeleteThread {
            thread_id: params::<ThreadParams>(kind, p)?.thread_id,
        },
        "items.list" => {
            let x: ItemsParams = params(kind, p)?;
            Request::ListItems {
                thread_id: x.thread_id,
                limit: page_size(x.limit),
                order: x.order.unwrap_or_default(),
                after: x.after,
            }
        }
        "items.feedback" => {
            let x: FeedbackParams = params(kind, p)?;
            Request::Feedback {
                thread_id: x.thread_id,
                item_ids: x.item_ids,
                kind: x.kind,
            }
        }
        "threads.add_client_tool_output"
        | "threads.add_structured_input"
        | "threads.custom_action" => Request::Unsupported {
            kind: kind.to_string(),
            streaming: true,
        },
        "threads.sync_custom_action"
        | "attachments.create"
        | "attachments.delete"
        | "input.transcribe" => Request::Unsupported {
            kind: kind.to_string(),
            streaming: false,
        },
        other => return Err(ParseError::UnknownType(other.to_string())),
    };
    Ok(Envelope {
        request,
        metadata: raw.metadata.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_real_client_payload() {
        let body = br#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"Hi there"}],"quoted_text":"","attachments":[],"inference_options":{}}}}"#;
        let env = parse(body).unwrap();
        assert!(env.request.is_streaming());
        assert!(env.metadata.is_empty());
    }

    #[test]
    fn errors_are_precise() {
        assert_eq!(parse(b"{nope").unwrap_err(), ParseError::Malformed);
        assert_eq!(
            parse(br#"{"type":"threads.explode","params":{}}"#).unwrap_err(),
            ParseError::UnknownType("threads.explode".into())
        );
        assert!(matches!(
            parse(br#"{"type":"threads.get_by_id","params":{}}"#),
            Err(ParseError::Invalid(_))
        ));
    }

    #[test]
    fn list_defaults() {
        let env = parse(br#"{"type":"threads.list","params":{"limit":0}}"#).unwrap();
        match env.request {
            Request::ListThreads {
                limit,
                order,
                after,
            } => {
                assert_eq!((limit, order, after), (20, Order::Desc, None));
            }
            _ => panic!(),
        }
    }
}
