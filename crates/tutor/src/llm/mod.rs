//! A client for any OpenAI-compatible chat completions endpoint (OpenAI,
//! vLLM, Ollama, llama.cpp server): streamed replies with tool calls.

pub mod client;
pub mod sse;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use client::{LlmClient, LlmConfig};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub function: FunctionCall,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    pub arguments: String,
}

/// One message of the conversation sent to the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    pub fn system(text: impl Into<String>) -> Self {
        Self::plain("system", text)
    }
    pub fn user(text: impl Into<String>) -> Self {
        Self::plain("user", text)
    }
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::plain("assistant", text)
    }
    fn plain(role: &'static str, text: impl Into<String>) -> Self {
        Message {
            role,
            content: Some(text.into()),
            tool_calls: None,
            tool_call_id: None,
        }
    }
    pub fn tool_result(id: &str, text: impl Into<String>) -> Self {
        Message {
            role: "tool",
            content: Some(text.into()),
            tool_calls: None,
            tool_call_id: Some(id.to_string()),
        }
    }
    pub fn assistant_tool_calls(calls: Vec<ToolCall>) -> Self {
        Message {
            role: "assistant",
            content: None,
            tool_calls: Some(calls),
            tool_call_id: None,
        }
    }
}

/// A function the model may call.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: ToolFunction,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolFunction {
    pub name: &'static str,
    pub description: &'static str,
    pub parameters: Value,
}

/// What a streamed completion yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    Text(String),
    /// The model asks for tools; the turn continues after their results.
    ToolCalls(Vec<ToolCall>),
    Done,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum LlmError {
    #[error("the model did not answer in time")]
    Timeout,
    #[error("the model endpoint answered {0}")]
    Status(u16),
    #[error("cannot reach the model endpoint: {0}")]
    Connect(String),
    #[error("unexpected reply from the model endpoint: {0}")]
    Protocol(String),
    /// The reply stopped without `finish_reason` or `[DONE]`.
    #[error("the model's reply stopped before it finished")]
    Incomplete,
}
