//! Server-sent events framing: `data: <compact JSON>\n\n`, nothing else.

use crate::types::ThreadStreamEvent;

pub fn encode(event: &ThreadStreamEvent) -> Vec<u8> {
    let mut out = b"data: ".to_vec();
    // Serializing our own types cannot fail; fall back to an error event.
    match serde_json::to_writer(&mut out, event) {
        Ok(()) => {}
        Err(_) => {
            out.truncate(6);
            out.extend_from_slice(br#"{"type":"error","code":"stream.error","allow_retry":true}"#);
        }
    }
    out.extend_from_slice(b"\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::StreamOptions;

    #[test]
    fn frames_are_single_data_lines() {
        let e = ThreadStreamEvent::StreamOptions {
            stream_options: StreamOptions { allow_cancel: true },
        };
        assert_eq!(
            String::from_utf8(encode(&e)).unwrap(),
            "data: {\"type\":\"stream_options\",\"stream_options\":{\"allow_cancel\":true}}\n\n"
        );
    }
}
