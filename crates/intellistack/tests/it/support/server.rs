//! Test servers that differ from the defaults in one setting.

use super::{Backend, Options, TestServer};

/// Starts a server with the environment-style setting `key` set to `value`.
pub async fn start_with_var(backend: Backend, key: &str, value: &str) -> TestServer {
    TestServer::start_with(backend, Options::default().var(key, value)).await
}
