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

/// Feeds on raw bytes as they arrive. Bytes are kept until a whole line is
/// in: a network read may end inside a multi-byte UTF-8 character, and
/// decoding each read alone would corrupt it. A newline byte never occurs
/// inside a UTF-8 sequence, so complete lines always decode whole.
#[derive(Default)]
pub struct Parser {
    buf: Vec<u8>,
    tools: BTreeMap<usize, ToolCall>,
    finished: bool,
}

impl Parser {
    /// Feeds bytes; returns the chunks that became complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Chunk>, LlmError> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(offset) = self.buf[start..].iter().position(|b| *b == b'\n') {
            let end = start + offset;
            let raw = &self.buf[start..end];
            start = end + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let line = std::str::from_utf8(raw)
                .map_err(|e| LlmError::Protocol(format!("the reply is not valid UTF-8: {e}")))?;
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
        self.buf.drain(..start);
        Ok(out)
    }

    /// Whether the model said it was done (`finish_reason` or `[DONE]`).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The body ended. A reply the model never finished is an error, not a
    /// short answer: the connection broke, or a proxy cut it.
    pub fn end(&mut self) -> Result<Vec<Chunk>, LlmError> {
        if self.finished {
            return Ok(Vec::new());
        }
        Err(LlmError::Incomplete)
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

    #[test]
    fn a_character_split_across_reads_arrives_whole() {
        let body =
            "data: {\"choices\":[{\"delta\":{\"content\":\"θ × π — 😀\"}}]}\n\ndata: [DONE]\n\n";
        let bytes = body.as_bytes();
        // One byte per read: every multi-byte character is split.
        let mut p = Parser::default();
        let mut out = Vec::new();
        for b in bytes {
            out.extend(p.feed(std::slice::from_ref(b)).unwrap());
        }
        assert_eq!(out, vec![Chunk::Text("θ × π — 😀".into()), Chunk::Done]);
        assert!(p.end().unwrap().is_empty());
    }

    #[test]
    fn a_body_that_ends_without_a_finish_is_an_error() {
        let mut p = Parser::default();
        let out = p
            .feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"Half an ans\"}}]}\n\n")
            .unwrap();
        assert_eq!(out, vec![Chunk::Text("Half an ans".into())]);
        assert!(!p.is_finished());
        assert_eq!(p.end(), Err(LlmError::Incomplete));

        let mut done = Parser::default();
        done.feed(b"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
            .unwrap();
        assert_eq!(
            done.end(),
            Ok(Vec::new()),
            "a finish_reason without [DONE] is complete"
        );
    }

    #[test]
    fn invalid_utf8_inside_a_line_is_a_protocol_error() {
        let mut p = Parser::default();
        assert!(matches!(
            p.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}\n"),
            Err(LlmError::Protocol(_))
        ));
    }
}
