//! Parsing of ChatKit requests: `{type, params, metadata?}`. Unknown fields are
//! ignored; unknown types and malformed params are reported precisely.

use serde::Deserialize;
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

/// Which page of a list to send: its size, the order, and the id the page
/// starts after.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PageRequest {
    #[serde(default = "default_page_size", deserialize_with = "page_size")]
    pub limit: usize,
    #[serde(default)]
    pub order: Order,
    #[serde(default)]
    pub after: Option<String>,
}

/// A ChatKit request, by its `type`, with its `params` as the fields of the
/// variant: serde reads both, so the wire names are written once, here.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", content = "params")]
pub enum Request {
    #[serde(rename = "threads.create")]
    CreateThread { input: UserMessageInput },
    #[serde(rename = "threads.add_user_message")]
    AddUserMessage {
        thread_id: String,
        input: UserMessageInput,
    },
    #[serde(rename = "threads.retry_after_item")]
    RetryAfterItem { thread_id: String, item_id: String },
    #[serde(rename = "threads.get_by_id")]
    GetThread { thread_id: String },
    #[serde(rename = "threads.list")]
    ListThreads {
        #[serde(flatten)]
        page: PageRequest,
    },
    #[serde(rename = "threads.update")]
    UpdateThread { thread_id: String, title: String },
    #[serde(rename = "threads.delete")]
    DeleteThread { thread_id: String },
    #[serde(rename = "items.list")]
    ListItems {
        thread_id: String,
        #[serde(flatten)]
        page: PageRequest,
    },
    #[serde(rename = "items.feedback")]
    Feedback {
        thread_id: String,
        item_ids: Vec<String>,
        kind: FeedbackKind,
    },
    /// A known type this server does not support (see [`UNSUPPORTED`]).
    #[serde(skip)]
    Unsupported { kind: String, streaming: bool },
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

/// Request types the protocol defines that this server answers with an
/// error, and whether their answer would have been a stream.
const UNSUPPORTED: &[(&str, bool)] = &[
    ("threads.add_client_tool_output", true),
    ("threads.add_structured_input", true),
    ("threads.custom_action", true),
    ("threads.sync_custom_action", false),
    ("attachments.create", false),
    ("attachments.delete", false),
    ("input.transcribe", false),
];

fn default_page_size() -> usize {
    DEFAULT_PAGE_SIZE
}

/// A page size: 0 or none is the default, more than the maximum is the maximum.
fn page_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    Ok(match Option::<usize>::deserialize(d)? {
        None | Some(0) => DEFAULT_PAGE_SIZE,
        Some(n) => n.min(MAX_PAGE_SIZE),
    })
}

/// The `type` values [`Request`] reads, for telling an unknown type from bad params.
fn is_known(kind: &str) -> bool {
    // Serialising a probe of each variant would need `Serialize`; the names
    // are few and the unit test below keeps this list and the enum together.
    KNOWN.contains(&kind)
}

const KNOWN: &[&str] = &[
    "threads.create",
    "threads.add_user_message",
    "threads.retry_after_item",
    "threads.get_by_id",
    "threads.list",
    "threads.update",
    "threads.delete",
    "items.list",
    "items.feedback",
];

pub fn parse(body: &[u8]) -> Result<Envelope, ParseError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| ParseError::Malformed)?;
    let raw: Raw =
        serde_json::from_value(value).map_err(|e| ParseError::Invalid(format!("request: {e}")))?;
    let kind = raw.kind.as_str();
    let request = if let Some((_, streaming)) = UNSUPPORTED.iter().find(|(k, _)| *k == kind) {
        Request::Unsupported {
            kind: kind.to_string(),
            streaming: *streaming,
        }
    } else if is_known(kind) {
        // Absent params read as none given (every field optional or missing).
        let params = if raw.params.is_null() {
            Value::Object(Map::new())
        } else {
            raw.params
        };
        let tagged = serde_json::json!({"type": kind, "params": params});
        serde_json::from_value(tagged)
            .map_err(|e| ParseError::Invalid(format!("{kind}: invalid params: {e}")))?
    } else {
        return Err(ParseError::UnknownType(kind.to_string()));
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
    fn every_known_type_is_a_variant() {
        for kind in KNOWN {
            match parse(format!(r#"{{"type":"{kind}","params":{{}}}}"#).as_bytes()) {
                Ok(_) | Err(ParseError::Invalid(_)) => {}
                Err(e) => panic!("{kind}: {e}"),
            }
        }
        let env =
            parse(br#"{"type":"items.list","params":{"thread_id":"t","limit":500}}"#).unwrap();
        assert!(matches!(
            env.request,
            Request::ListItems {
                page: PageRequest { limit: 100, .. },
                ..
            }
        ));
        let env = parse(br#"{"type":"attachments.create","params":{}}"#).unwrap();
        assert!(matches!(
            env.request,
            Request::Unsupported {
                streaming: false,
                ..
            }
        ));
    }

    #[test]
    fn list_defaults() {
        let env = parse(br#"{"type":"threads.list","params":{"limit":0}}"#).unwrap();
        match env.request {
            Request::ListThreads {
                page:
                    PageRequest {
                        limit,
                        order,
                        after,
                    },
            } => {
                assert_eq!((limit, order, after), (20, Order::Desc, None));
            }
            _ => panic!(),
        }
    }
}
