//! Two layers around every role.
//!
//! [`refuse_control_characters`] turns away, before any route sees it, input
//! that no route accepts: NUL and other control characters, in the path, the
//! query or a JSON or form body, and malformed percent-encoding. (Tab and line
//! breaks are allowed inside body text; single-line fields are checked by
//! their domain.)
//!
//! [`shape_errors`] makes every error leave in its API's documented shape,
//! whoever produced it — a handler, an extractor's rejection, the body limit,
//! the request timeout: `{error: {code, message}}` under `/api/v1`,
//! `{message, code}` under `/api/auth`, RFC 6749's `{error,
//! error_description}` under `/api/auth/oauth2`.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode;

/// A machine-readable code for an error raised here, read by [`shape_errors`].
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

fn refuse(status: StatusCode, code: &'static str, message: &'static str) -> Response {
    let mut res = (status, message).into_response();
    res.extensions_mut().insert(ErrorCode(code));
    res
}

/// `%` not followed by two hex digits.
fn malformed_escape(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.iter().enumerate().any(|(i, c)| {
        *c == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

enum Verdict {
    Fine,
    Control,
    Encoding,
}

fn check_path(path: &str) -> Verdict {
    if malformed_escape(path) {
        return Verdict::Encoding;
    }
    match percent_decode(path.as_bytes()).decode_utf8() {
        Err(_) => Verdict::Encoding,
        Ok(p) if p.chars().any(char::is_control) => Verdict::Control,
        Ok(_) => Verdict::Fine,
    }
}

fn check_query(query: &str) -> Verdict {
    if malformed_escape(query) {
        return Verdict::Encoding;
    }
    for part in query.split('&') {
        let decoded: Vec<u8> = part
            .split('=')
            .flat_map(|piece| {
                let plus = piece.replace('+', " ");
                percent_decode(plus.as_bytes()).collect::<Vec<u8>>()
            })
            .collect();
        match std::str::from_utf8(&decoded) {
            Err(_) => return Verdict::Encoding,
            Ok(s) if s.chars().any(char::is_control) => return Verdict::Control,
            Ok(_) => {}
        }
    }
    Verdict::Fine
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

fn is_form(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

fn body_has_control(content_type: &str, bytes: &[u8]) -> Option<Verdict> {
    if is_json(content_type) {
        // Malformed JSON is the handler's to report, in its own words.
        let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        return common::text::json_has_forbidden_control(&value).then_some(Verdict::Control);
    }
    if is_form(content_type) {
        let text = std::str::from_utf8(bytes).ok()?;
        return match check_form(text) {
            Verdict::Fine => None,
            other => Some(other),
        };
    }
    None
}

fn check_form(text: &str) -> Verdict {
    if malformed_escape(text) {
        return Verdict::Encoding;
    }
    for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
        if k.contains('\u{FFFD}') || v.contains('\u{FFFD}') {
            return Verdict::Encoding;
        }
        if common::text::has_forbidden_control(&k) || common::text::has_forbidden_control(&v) {
            return Verdict::Control;
        }
    }
    Verdict::Fine
}

fn verdict_response(v: Verdict, place: &'static str) -> Option<Response> {
    match v {
        Verdict::Fine => None,
        Verdict::Control => Some(refuse(StatusCode::BAD_REQUEST, "INVALID_CHARACTERS", place)),
        Verdict::Encoding => Some(refuse(
            StatusCode::BAD_REQUEST,
            "INVALID_ENCODING",
            "The request holds malformed percent-encoding or bytes that are not UTF-8",
        )),
    }
}

pub async fn refuse_control_characters(req: Request, next: Next) -> Response {
    if let Some(res) = verdict_response(
        check_path(req.uri().path()),
        "The path holds control characters",
    ) {
        return res;
    }
    if let Some(res) = req
        .uri()
        .query()
        .and_then(|q| verdict_response(check_query(q), "The query holds control characters"))
    {
        return res;
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !is_json(&content_type) && !is_form(&content_type) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    // The body limit layer outside bounds this read.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "The request body is larger than this server accepts",
            );
        }
    };
    if let Some(res) = body_has_control(&content_type, &bytes)
        .and_then(|v| verdict_response(v, "The body holds control characters"))
    {
        return res;
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Which API a path belongs to, for the shape of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    V1,
    Auth,
    OAuth,
    Pages,
}

fn api_of(path: &str) -> Api {
    if path == "/api/v1" || path.starts_with("/api/v1/") {
        Api::V1
    } else if path.starts_with("/api/auth/oauth2/") {
        Api::OAuth
    } else if path == "/api/auth" || path.starts_with("/api/auth/") {
        Api::Auth
    } else {
        Api::Pages
    }
}

fn default_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "BAD_REQUEST",
        StatusCode::UNAUTHORIZED => "UNAUTHENTICATED",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
        StatusCode::REQUEST_TIMEOUT => "REQUEST_TIMEOUT",
        StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
        StatusCode::UNPROCESSABLE_ENTITY => "VALIDATION_ERROR",
        StatusCode::TOO_MANY_REQUESTS => "RATE_LIMITED",
        StatusCode::SERVICE_UNAVAILABLE => "SERVICE_UNAVAILABLE",
        s if s.is_server_error() => "INTERNAL",
        _ => "ERROR",
    }
}

fn default_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::REQUEST_TIMEOUT => "The request took too long; try again",
        StatusCode::PAYLOAD_TOO_LARGE => "The request body is larger than this server accepts",
        s if s.is_server_error() => "Something went wrong on our side",
        s => s.canonical_reason().unwrap_or("The request was refused"),
    }
}

/// RFC 6749's error codes for what was not produced by an OAuth handler.
fn oauth_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
        s if s.is_server_error() => "server_error",
        _ => "invalid_request",
    }
}

fn is_shaped(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| is_json(ct) || ct.starts_with("text/html"))
}

pub async fn shape_errors(req: Request, next: Next) -> Response {
    let api = api_of(req.uri().path());
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || is_shaped(&res) {
        return res;
    }
    if api == Api::Pages && res.extensions().get::<ErrorCode>().is_none() {
        return res;
    }
    let code = res.extensions().get::<ErrorCode>().map(|c| c.0);
    let (parts, body) = res.into_parts();
    // Plain texts come from rejections and the layers above: short, and safe
    // to show for 4xx. A 5xx says nothing of its cause.
    let text = match axum::body::to_bytes(body, 4096).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    // Better-Auth answers unknown routes and methods with an empty 404.
    if api == Api::Auth && status == StatusCode::NOT_FOUND && text.is_empty() && code.is_none() {
        return Response::from_parts(parts, Body::empty());
    }
    let message = if text.is_empty() || status.is_server_error() {
        default_message(status).to_string()
    } else {
        text
    };
    let code = code.unwrap_or_else(|| default_code(status));
    let shaped = match api {
        Api::V1 => api::error_response(status, code, &message),
        Api::Auth => auth::plain_error(status, code, &message),
        Api::OAuth => auth::oauth_error(status, oauth_code(status), &message),
        Api::Pages => {
            let mut r = (status, message).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            r
        }
    };
    // Keep what the original carried (Retry-After, WWW-Authenticate, CORS,
    // the request id), with the new body's type and length.
    let (mut new_parts, new_body) = shaped.into_parts();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new_parts.headers.insert(name.clone(), value.clone());
        }
    }
    Response::from_parts(new_parts, new_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_queries_with_controls_or_bad_escapes_are_caught() {
        assert!(matches!(check_path("/api/v1/courses"), Verdict::Fine));
        assert!(matches!(check_path("/api/v1/x%00y"), Verdict::Control));
        assert!(matches!(check_path("/learn/%09/x"), Verdict::Control));
        assert!(matches!(check_path("/learn/%ff"), Verdict::Encoding));
        assert!(matches!(check_path("/learn/%zz"), Verdict::Encoding));
        assert!(matches!(check_path("/learn/50%"), Verdict::Encoding));
        assert!(matches!(check_query("a=1&b=caf%C3%A9+x"), Verdict::Fine));
        assert!(matches!(check_query("next=/%0d%0a"), Verdict::Control));
        assert!(matches!(check_query("k%00=v"), Verdict::Control));
        assert!(matches!(check_query("q=%c3"), Verdict::Encoding));
        assert!(matches!(check_form("a=line%0Abreak&b=x"), Verdict::Fine));
        assert!(matches!(check_form("client_id=%00"), Verdict::Control));
    }

    #[test]
    fn each_path_has_its_shape() {
        assert_eq!(api_of("/api/v1/chatkit"), Api::V1);
        assert_eq!(api_of("/api/auth/oauth2/token"), Api::OAuth);
        assert_eq!(api_of("/api/auth/sign-in/email"), Api::Auth);
        assert_eq!(api_of("/learn/a/b"), Api::Pages);
        assert_eq!(api_of("/api/v1x"), Api::Pages);
    }
}
