//! Development-only page listing the mail outbox.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::Auth;
use crate::error::AuthError;
use crate::http::request::{Meta, current};
use crate::mail::outbox::Outbox;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Whether the client is this machine. Through a trusted proxy, the client
/// it names counts, not the proxy.
fn is_local(meta: &crate::audit::RequestMeta) -> bool {
    meta.ip
        .as_deref()
        .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
        .is_some_and(|ip| match ip {
            std::net::IpAddr::V6(v6) => v6.to_canonical().is_loopback(),
            v4 => v4.is_loopback(),
        })
}

/// The outbox holds every user's verification and reset links: it answers
/// only a client on this machine, or a signed-in admin.
pub async fn outbox(State(auth): State<Auth>, Meta(meta): Meta, headers: HeaderMap) -> Response {
    if auth.config.mode.is_production()
        || !matches!(auth.settings.mail, crate::settings::MailTransport::Outbox)
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    if !is_local(&meta) {
        let admin = matches!(current(&headers, &auth).await, Ok(Some(a)) if a.user.role == "admin");
        if !admin {
            return AuthError::forbidden(
                "OUTBOX_LOCAL_ONLY",
                "The development outbox answers only on the server's own machine, or to an administrator",
            )
            .into_response();
        }
    }
    let mails = Outbox::new(auth.config.data_dir.join("outbox")).list();
    let mut rows = String::new();
    for m in mails.iter().take(100) {
        let link = crate::mail::outbox::first_link(&m.text).unwrap_or("");
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"{}\">open link</a></td></tr>",
            escape(&m.created_at),
            escape(&m.to),
            escape(&m.subject),
            escape(link)
        ));
    }
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Development outbox</title></head>\
         <body style=\"font-family:system-ui,sans-serif\"><h1>Development outbox</h1><p>Mail is not sent in development; it is kept here.</p>\
         <table><thead><tr><th>When</th><th>To</th><th>Subject</th><th>Link</th></tr></thead><tbody>{rows}</tbody></table></body></html>"
    ))
    .into_response()
}
