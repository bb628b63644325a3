//! ChatKit's wire types. `None` fields are omitted, as the reference SDK does;
//! empty lists and maps are kept. Timestamps are RFC 3339 UTC with `Z`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

pub mod ts {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Micros, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let raw = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&raw)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| {
                chrono::NaiveDateTime::parse_from_str(&raw, "%Y-%m-%dT%H:%M:%S%.f")
                    .map(|n| n.and_utc())
            })
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThreadStatus {
    Active,
    Locked {
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Closed {
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// A thread without its items. `metadata` is server-private.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadMetadata {
    pub id: String,
    pub title: Option<String>,
    pub created_at: DateTime<Utc>,
    pub status: ThreadStatus,
    pub metadata: Map<String, Value>,
}

/// A page of results with an opaque cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            data: Vec::new(),
            has_more: false,
            after: None,
        }
    }
}

/// A thread as the client sees it: metadata is always `{}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thread {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
    pub status: ThreadStatus,
    pub metadata: Map<String, Value>,
    pub items: Page<ThreadItem>,
}

impl Thread {
    pub fn from_metadata(m: &ThreadMetadata, items: Page<ThreadItem>) -> Self {
        Thread {
            id: m.id.clone(),
            title: m.title.clone(),
            created_at: m.created_at,
            status: m.status.clone(),
            metadata: Map::new(),
            items,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemBase {
    pub id: String,
    pub thread_id: String,
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserMessageContent {
    InputText {
        text: String,
    },
    InputTag {
        id: String,
        text: String,
        #[serde(default)]
        data: Map<String, Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        #[serde(default)]
        interactive: bool,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolChoice {
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InferenceOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserMessageItem {
    #[serde(flatten)]
    pub base: ItemBase,
    pub content: Vec<UserMessageContent>,
    #[serde(default)]
    pub attachments: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted_text: Option<String>,
    #[serde(default)]
    pub inference_options: InferenceOptions,
}

impl UserMessageItem {
    /// The message as plain text (tags rendered as `@text`).
    pub fn text(&self) -> String {
        self.content
            .iter()
            .map(|c| match c {
                UserMessageContent::InputText { text } => text.clone(),
                UserMessageContent::InputTag { text, .. } => format!("@{text}"),
            })
            .collect::<Vec<_>>()
            .join("")
    }
}

/// Where a citation points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source {
    Url {
        title: String,
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "annotation")]
pub struct Annotation {
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "output_text")]
pub struct OutputText {
    pub text: String,
    #[serde(default)]
    pub annotations: Vec<Annotation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssistantMessageItem {
    #[serde(flatten)]
    pub base: ItemBase,
    pub content: Vec<OutputText>,
}

impl AssistantMessageItem {
    pub fn text(&self) -> String {
        self.content.iter().map(|c| c.text.as_str()).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HiddenContextItem {
    #[serde(flatten)]
    pub base: ItemBase,
    pub content: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SdkHiddenContextItem {
    #[serde(flatten)]
    pub base: ItemBase,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThreadItem {
    UserMessage(UserMessageItem),
    AssistantMessage(AssistantMessageItem),
    EndOfTurn(ItemBase),
    HiddenContextItem(HiddenContextItem),
    SdkHiddenContext(SdkHiddenContextItem),
}

impl ThreadItem {
    pub fn base(&self) -> &ItemBase {
        match self {
            ThreadItem::UserMessage(i) => &i.base,
            ThreadItem::AssistantMessage(i) => &i.base,
            ThreadItem::EndOfTurn(b) => b,
            ThreadItem::HiddenContextItem(i) => &i.base,
            ThreadItem::SdkHiddenContext(i) => &i.base,
        }
    }
    pub fn id(&self) -> &str {
        &self.base().id
    }
    /// Hidden items are stored but never sent to the client.
    pub fn is_hidden(&self) -> bool {
        matches!(
            self,
            ThreadItem::HiddenContextItem(_) | ThreadItem::SdkHiddenContext(_)
        )
    }
    pub fn kind(&self) -> &'static str {
        match self {
            ThreadItem::UserMessage(_) => "user_message",
            ThreadItem::AssistantMessage(_) => "assistant_message",
            ThreadItem::EndOfTurn(_) => "end_of_turn",
            ThreadItem::HiddenContextItem(_) => "hidden_context_item",
            ThreadItem::SdkHiddenContext(_) => "sdk_hidden_context",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ThreadItemUpdate {
    #[serde(rename = "assistant_message.content_part.added")]
    ContentPartAdded {
        content_index: usize,
        content: OutputText,
    },
    #[serde(rename = "assistant_message.content_part.text_delta")]
    TextDelta { content_index: usize, delta: String },
    #[serde(rename = "assistant_message.content_part.annotation_added")]
    AnnotationAdded {
        content_index: usize,
        annotation_index: usize,
        annotation: Annotation,
    },
    #[serde(rename = "assistant_message.content_part.done")]
    ContentPartDone {
        content_index: usize,
        content: OutputText,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StreamOptions {
    pub allow_cancel: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeLevel {
    Info,
    Warning,
    Danger,
}

/// The payload of every SSE frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum ThreadStreamEvent {
    #[serde(rename = "thread.created")]
    ThreadCreated { thread: Thread },
    #[serde(rename = "thread.updated")]
    ThreadUpdated { thread: Thread },
    #[serde(rename = "thread.item.added")]
    ItemAdded { item: ThreadItem },
    #[serde(rename = "thread.item.updated")]
    ItemUpdated {
        item_id: String,
        update: ThreadItemUpdate,
    },
    #[serde(rename = "thread.item.done")]
    ItemDone { item: ThreadItem },
    #[serde(rename = "thread.item.removed")]
    ItemRemoved { item_id: String },
    #[serde(rename = "thread.item.replaced")]
    ItemReplaced { item: ThreadItem },
    #[serde(rename = "stream_options")]
    StreamOptions { stream_options: StreamOptions },
    #[serde(rename = "progress_update")]
    ProgressUpdate {
        #[serde(skip_serializing_if = "Option::is_none")]
        icon: Option<String>,
        text: String,
    },
    #[serde(rename = "error")]
    Error {
        code: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        allow_retry: bool,
    },
    #[serde(rename = "notice")]
    Notice {
        level: NoticeLevel,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> ItemBase {
        ItemBase {
            id: "msg_1".into(),
            thread_id: "thr_1".into(),
            created_at: DateTime::parse_from_rfc3339("2026-11-24T13:24:47.718274Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn items_serialize_like_the_reference_sdk() {
        let item = ThreadItem::UserMessage(UserMessageItem {
            base: base(),
            content: vec![UserMessageContent::InputText { text: "Hi".into() }],
            attachments: vec![],
            quoted_text: None,
            inference_options: InferenceOptions::default(),
        });
        assert_eq!(
            serde_json::to_value(&item).unwrap(),
            json!({"type": "user_message", "id": "msg_1", "thread_id": "thr_1", "created_at": "2026-11-24T13:24:47.718274Z",
                   "content": [{"type": "input_text", "text": "Hi"}], "attachments": [], "inference_options": {}})
        );
        let ev = ThreadStreamEvent::ItemUpdated {
            item_id: "msg_1".into(),
            update: ThreadItemUpdate::TextDelta {
                content_index: 0,
                delta: "Hel".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&ev).unwrap(),
            json!({"type": "thread.item.updated", "item_id": "msg_1", "update": {"type": "assistant_message.content_part.text_delta", "content_index": 0, "delta": "Hel"}})
        );
        let a = Annotation {
            source: Source::Url {
                title: "T".into(),
                url: "/x#y".into(),
                description: None,
                group: None,
            },
            index: Some(3),
        };
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!({"type": "annotation", "source": {"type": "url", "title": "T", "url": "/x#y"}, "index": 3})
        );
    }

    #[test]
    fn items_round_trip_including_naive_timestamps() {
        let raw = json!({"type": "assistant_message", "id": "m", "thread_id": "t", "created_at": "2026-11-24T13:24:47.708611",
                         "content": [{"type": "output_text", "text": "x", "annotations": []}]});
        let item: ThreadItem = serde_json::from_value(raw).unwrap();
        assert_eq!(item.kind(), "assistant_message");
    }
}
