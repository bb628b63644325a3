//! A responder that repeats the message back, word by word. For protocol
//! tests; `serve` uses it only when `CHATKIT_RESPONDER=echo`.

use std::time::Duration;

use async_trait::async_trait;
use chatkit::types::{
    AssistantMessageItem, ItemBase, OutputText, ThreadItem, ThreadItemUpdate, ThreadStreamEvent,
};
use chatkit::{EventStream, Responder, TurnInput};
use futures_util::StreamExt;

use super::ChatContext;

pub struct EchoResponder {
    /// Pause between words, so tests can disconnect mid-answer.
    pub delay: Duration,
}

#[async_trait]
impl Responder<ChatContext> for EchoResponder {
    async fn respond(&self, input: TurnInput, _ctx: ChatContext) -> EventStream {
        let text = input
            .user_message
            .as_ref()
            .map(|m| m.text())
            .unwrap_or_default();
        let reply = format!("Echo: {text}");
        let id = chatkit::ids::message_id();
        let base = ItemBase {
            id: id.clone(),
            thread_id: input.thread.id.clone(),
            created_at: input.clock.now(),
        };
        let mut events = vec![
            ThreadStreamEvent::ItemAdded {
                item: ThreadItem::AssistantMessage(AssistantMessageItem {
                    base: base.clone(),
                    content: vec![],
                }),
            },
            ThreadStreamEvent::ItemUpdated {
                item_id: id.clone(),
                update: ThreadItemUpdate::ContentPartAdded {
                    content_index: 0,
                    content: OutputText {
                        text: String::new(),
                        annotations: vec![],
                    },
                },
            },
        ];
        for word in reply.split_inclusive(' ') {
            events.push(ThreadStreamEvent::ItemUpdated {
                item_id: id.clone(),
                update: ThreadItemUpdate::TextDelta {
                    content_index: 0,
                    delta: word.to_string(),
                },
            });
        }
        let done = OutputText {
            text: reply.clone(),
            annotations: vec![],
        };
        events.push(ThreadStreamEvent::ItemUpdated {
            item_id: id.clone(),
            update: ThreadItemUpdate::ContentPartDone {
                content_index: 0,
                content: done.clone(),
            },
        });
        events.push(ThreadStreamEvent::ItemDone {
            item: ThreadItem::AssistantMessage(AssistantMessageItem {
                base,
                content: vec![done],
            }),
        });
        if input.thread.title.is_none() {
            let mut thread =
                chatkit::types::Thread::from_metadata(&input.thread, Default::default());
            thread.title = Some(text.chars().take(60).collect());
            events.push(ThreadStreamEvent::ThreadUpdated { thread });
        }
        let delay = self.delay;
        futures_util::stream::iter(events)
            .then(move |e| async move {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Ok(e)
            })
            .boxed()
    }
}
