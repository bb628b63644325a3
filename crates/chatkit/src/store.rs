//! Where threads and items live. Every method receives the request context;
//! implementations must scope all access to its user.

use async_trait::async_trait;

use crate::request::{FeedbackKind, Order};
use crate::types::{Page, ThreadItem, ThreadMetadata};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("storage failed: {0}")]
    Backend(String),
}

#[async_trait]
pub trait Store<C: Send + Sync>: Send + Sync {
    async fn load_thread(&self, thread_id: &str, ctx: &C) -> Result<ThreadMetadata, StoreError>;
    /// Inserts or updates a thread's metadata.
    async fn save_thread(&self, thread: &ThreadMetadata, ctx: &C) -> Result<(), StoreError>;
    async fn load_threads(
        &self,
        limit: usize,
        after: Option<&str>,
        order: Order,
        ctx: &C,
    ) -> Result<Page<ThreadMetadata>, StoreError>;
    async fn delete_thread(&self, thread_id: &str, ctx: &C) -> Result<(), StoreError>;
    async fn load_thread_items(
        &self,
        thread_id: &str,
        after: Option<&str>,
        limit: usize,
        order: Order,
        ctx: &C,
    ) -> Result<Page<ThreadItem>, StoreError>;
    /// Inserts a finished item.
    async fn add_thread_item(
        &self,
        thread_id: &str,
        item: &ThreadItem,
        ctx: &C,
    ) -> Result<(), StoreError>;
    /// Inserts or replaces an item by id.
    async fn save_item(
        &self,
        thread_id: &str,
        item: &ThreadItem,
        ctx: &C,
    ) -> Result<(), StoreError>;
    async fn delete_thread_item(
        &self,
        thread_id: &str,
        item_id: &str,
        ctx: &C,
    ) -> Result<(), StoreError>;
    async fn add_feedback(
        &self,
        thread_id: &str,
        item_ids: &[String],
        kind: FeedbackKind,
        ctx: &C,
    ) -> Result<(), StoreError>;
}
