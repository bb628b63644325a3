//! Incremental parsing of an OpenAI-style SSE body into chunks, with tool-call
//! argument fragments assembled by index.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Chunk, FunctionCall, LlmError, ToolCall};

#[derive(Deserialize)]
struct Frame {
    #[serde(default)]
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolDelta>,
}

#[derive(Deserialize)]
struct ToolDelta {
    #[serde(default)]
    index: usize,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Default)]
pub struct Parser {
    buf: String,
    tools: BTreeMap<usize, ToolCall>,
    finished: bool,
}

impl Parser {
    /// Feeds bytes; returns the chunks that became complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Chunk>, LlmError> {
        self.buf.push_str(&String::from_utf8_lossy(bytes));
        let mut out = Vec::new();
        while let Some(pos) = self.buf.find('\n') {
            let line = self.buf[..pos].trim_end_matches('\r').to_string();
            self.buf.drain(..=pos);
            let Some(data) = line.strip_prefix("data:") else {
                continue;
            };
            let data = data.trim();
            if data == "[DONE]" {
                out.extend(self.finish());
                continue;
            }
            if data.is_empty() {
                continue;
            }
            let frame: Frame =
                serde_json::from_str(data).map_err(|e| LlmError::Protocol(e.to_string()))?;
            for choice in frame.choices {
                if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                    out.push(Chunk::Text(text));
                }
                for td in choice.delta.tool_calls {
                    let entry = self.tools.entry(td.index).or_insert_with(|| ToolCall {
                        id: String::new(),
                        kind: "function".into(),
                        function: FunctionCall {
                            name: String::new(),
                            arguments: String::new(),
                        },
                    });
                    if let Some(id) = td.id {
                        entry.id = id;
                    }
                    if let Some(f) = td.function {
                        if let Some(n) = f.name {
                            entry.function.name.push_str(&n);
                        }
                        if let Some(a) = f.arguments {
                            entry.function.arguments.push_str(&a);
                        }
                    }
                }
                if choice.finish_reason.is_some() {
                    out.extend(self.finish());
                }
            }
        }
        Ok(out)
    }

    /// Flushes pending tool calls and marks the end, once.
    pub fn finish(&mut self) -> Vec<Chunk> {
        if self.finished {
            return Vec::new();
        }
        self.finished = true;
        let mut out = Vec::new();
        if !self.tools.is_empty() {
            out.push(Chunk::ToolCalls(
                std::mem::take(&mut self.tools).into_values().collect(),
            ));
        }
        out.push(Chunk::Done);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_tool_calls_are_assembled_across_frames() {
        let mut p = Parser::default();
        let mut out = p.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"con").unwrap();
        out.extend(p.feed(b"tent\":\"lo\"}}]}\n\n").unwrap());
        out.extend(p.feed(b"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"search_course\",\"arguments\":\"{\\\"q\"}}]}}]}\n\n").unwrap());
        out.extend(p.feed(b"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\":1}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n").unwrap());
        assert_eq!(out[0], Chunk::Text("Hel".into()));
        assert_eq!(out[1], Chunk::Text("lo".into()));
        match &out[2] {
            Chunk::ToolCalls(calls) => {
                assert_eq!(calls[0].id, "c1");
                assert_eq!(calls[0].function.name, "search_course");
                assert_eq!(calls[0].function.arguments, "{\"q\":1}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(out[3], Chunk::Done);
        assert_eq!(out.len(), 4, "[DONE] after finish_reason adds nothing");
    }
}
