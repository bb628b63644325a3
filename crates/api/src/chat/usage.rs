//! Usage accounting: per user per day, messages answered, total response
//! time and errors, in `ai_usage_metric`.

use async_trait::async_trait;
use chatkit::{TurnObserver, TurnReport};
use common::{Db, SharedClock, on_db};

use super::ChatContext;

pub struct UsageRecorder {
    pub db: Db,
    pub clock: SharedClock,
}

#[async_trait]
impl TurnObserver<ChatContext> for UsageRecorder {
    async fn turn_finished(&self, ctx: &ChatContext, report: TurnReport) {
        let date = self.clock.now().date_naive().to_string();
        let ms = report.duration.as_millis() as i64;
        let errors = i64::from(report.failed);
        let res = on_db!(&self.db, pool => sqlx::query(
            "INSERT INTO ai_usage_metric (user_id, date, message_count, total_response_time_ms, error_count) VALUES ($1, $2, 1, $3, $4)
             ON CONFLICT (user_id, date) DO UPDATE SET message_count = ai_usage_metric.message_count + 1,
               total_response_time_ms = ai_usage_metric.total_response_time_ms + excluded.total_response_time_ms,
               error_count = ai_usage_metric.error_count + excluded.error_count")
            .bind(&ctx.user.id).bind(date).bind(ms).bind(errors).execute(pool).await.map(|_| ()));
        if let Err(e) = res {
            tracing::error!(error = %e, "recording chat usage failed");
        }
    }
}
