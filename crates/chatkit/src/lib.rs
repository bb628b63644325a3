//! The ChatKit protocol, as spoken by OpenAI's ChatKit web component and the
//! `openai-chatkit` Python SDK: request parsing, event and item types, SSE
//! framing, and a server that persists a turn's items as they finish. It
//! knows nothing of the application around it: storage is a [`store::Store`],
//! answers come from a [`server::Responder`].

pub mod ids;
pub mod request;
pub mod server;
pub mod sse;
mod store;
pub mod types;

pub use request::{Envelope, ParseError, Request, parse};
pub use server::{
    ChatKitServer, Clock, EventStream, Limits, Outcome, ProcessError, Responder, TurnError,
    TurnInput, TurnObserver, TurnReport,
};
pub use store::{Store, StoreError};
