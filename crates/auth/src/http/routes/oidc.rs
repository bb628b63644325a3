//! The OpenID Connect provider's routes: discovery and `/oauth2/*`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Query, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Auth;
use crate::error::{AuthError, AuthResult};
use crate::http::extract::{Admin, Body, FormBody, MaybeSession, SessionUser, admin_permissions};
use crate::http::reply::Reply;
use crate::http::request::{Meta, authorization};
use crate::oidc::clients::{Client, ClientCredentials, Metadata};
use crate::oidc::grants::TokenParams;
use crate::sessions::Authenticated;
use crate::settings::Registration;

pub async fn discovery(State(auth): State<Auth>) -> Reply {
    Reply::json(auth.discovery()).with_header(
        header::CACHE_CONTROL,
        "public, max-age=15, stale-while-revalidate=15, stale-if-error=86400",
    )
}

fn pairs_of(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

fn field(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}

/// Script-driven requests (fetch, the Better-Auth client) get the next URL
/// as JSON; browser navigations get a 302.
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mode = headers.get("sec-fetch-mode").and_then(|v| v.to_str().ok());
    (accept.contains("application/json") && !accept.contains("text/html"))
        || mode.is_some_and(|m| m != "navigate")
}

fn go(headers: &HeaderMap, url: &str) -> Reply {
    if wants_json(headers) {
        Reply::json(json!({"redirect": true, "url": url}))
    } else {
        Reply::redirect(url)
    }
}

/// The authorization request arrives as the query (GET) or as a form (POST).
async fn authorize(
    auth: &Auth,
    headers: &HeaderMap,
    session: Option<Authenticated>,
    params: &[(String, String)],
) -> AuthResult<Reply> {
    let url = auth.authorize(params, session.as_ref(), None).await?;
    Ok(go(headers, &url))
}

pub async fn authorize_get(
    State(auth): State<Auth>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    RawQuery(query): RawQuery,
) -> AuthResult<Reply> {
    let params = pairs_of(query.unwrap_or_default().as_bytes());
    authorize(&auth, &headers, session, &params).await
}

pub async fn authorize_post(
    State(auth): State<Auth>,
    headers: HeaderMap,
    MaybeSession(session): MaybeSession,
    body: Bytes,
) -> AuthResult<Reply> {
    authorize(&auth, &headers, session, &pairs_of(&body)).await
}

#[derive(Deserialize)]
pub struct ConsentBody {
    accept: bool,
    scope: Option<String>,
    oauth_query: Option<String>,
}

pub async fn consent(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(who): SessionUser,
    Body(b): FormBody<ConsentBody>,
) -> AuthResult<Reply> {
    let query = b
        .oauth_query
        .ok_or_else(|| AuthError::oauth("invalid_request", "oauth_query is required"))?;
    let url = auth
        .answer_consent(&who, &query, b.accept, b.scope.as_deref(), &meta)
        .await?;
    Ok(Reply::json(json!({"redirect": true, "url": url})))
}

/// Client credentials from `Authorization: Basic` (form-encoded id and
/// secret, RFC 6749 §2.3.1) and the form body.
fn credentials(headers: &HeaderMap, form: &[(String, String)]) -> AuthResult<ClientCredentials> {
    let basic = match authorization(headers, "basic ") {
        None => None,
        Some(encoded) => {
            let bad = || AuthError::oauth("invalid_client", "malformed Basic credentials");
            let raw = STANDARD.decode(encoded).map_err(|_| bad())?;
            let text = String::from_utf8(raw).map_err(|_| bad())?;
            let (id, secret) = text.split_once(':').ok_or_else(bad)?;
            let decode = |s: &str| -> AuthResult<String> {
                Ok(percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8()
                    .map_err(|_| bad())?
                    .into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        }
    };
    let post_id = field(form, "client_id");
    if let (Some((id, _)), Some(pid)) = (&basic, &post_id)
        && id != pid
    {
        return Err(AuthError::oauth(
            "invalid_request",
            "client_id differs between the header and the body",
        ));
    }
    Ok(ClientCredentials {
        basic,
        post_id,
        post_secret: field(form, "client_secret"),
    })
}

fn form_only(headers: &HeaderMap) -> AuthResult<()> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ct.split(';').next().is_some_and(|e| {
        e.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    }) {
        Ok(())
    } else {
        Err(AuthError::oauth(
            "invalid_request",
            "send application/x-www-form-urlencoded",
        ))
    }
}

/// A request of a client to the token, introspection or revocation
/// endpoint: a form body, and the client it authenticates (RFC 6749 §2.3).
pub struct ClientForm {
    client: Client,
    form: Vec<(String, String)>,
}

impl FromRequest<Auth> for ClientForm {
    type Rejection = Response;

    async fn from_request(req: Request, auth: &Auth) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, auth)
            .await
            .map_err(IntoResponse::into_response)?;
        let authenticated = async {
            form_only(&headers)?;
            let form = pairs_of(&body);
            let client = auth
                .authenticate_client(&credentials(&headers, &form)?)
                .await?;
            Ok::<_, AuthError>(ClientForm { client, form })
        };
        authenticated.await.map_err(IntoResponse::into_response)
    }
}

impl ClientForm {
    /// The token asked about and its type hint (RFC 7662 §2.1, RFC 7009 §2.1).
    fn token_and_hint(&self) -> AuthResult<(String, Option<String>)> {
        let token = field(&self.form, "token")
            .ok_or_else(|| AuthError::oauth("invalid_request", "token is required"))?;
        Ok((token, field(&self.form, "token_type_hint")))
    }
}

fn no_store(reply: Reply) -> Reply {
    reply
        .with_header(header::CACHE_CONTROL, "no-store")
        .with_header(header::PRAGMA, "no-cache")
}

pub async fn token(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    ClientForm { client, form }: ClientForm,
) -> AuthResult<Reply> {
    let params = TokenParams {
        grant_type: field(&form, "grant_type"),
        code: field(&form, "code"),
        redirect_uri: field(&form, "redirect_uri"),
        code_verifier: field(&form, "code_verifier"),
        refresh_token: field(&form, "refresh_token"),
        scope: field(&form, "scope"),
    };
    let out = auth.token_grant(&client, params, &meta).await?;
    Ok(no_store(Reply::json(out)))
}

pub async fn userinfo(
    State(auth): State<Auth>,
    headers: HeaderMap,
    body: Bytes,
) -> AuthResult<Reply> {
    let bearer = authorization(&headers, "bearer ").map(str::to_string);
    let in_body = field(&pairs_of(&body), "access_token");
    let token = match (bearer, in_body) {
        (Some(_), Some(_)) => {
            return Err(AuthError::oauth(
                "invalid_request",
                "send the access token in one place only",
            ));
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            return Err(AuthError::oauth("invalid_token", "access token not found"));
        }
    };
    Ok(no_store(Reply::json(auth.userinfo(&token).await?)))
}

pub async fn introspect(State(auth): State<Auth>, req: ClientForm) -> AuthResult<Reply> {
    if req.client.is_public() {
        return Err(AuthError::oauth(
            "invalid_client",
            "introspection needs an authenticated client",
        ));
    }
    let (token, hint) = req.token_and_hint()?;
    Ok(no_store(Reply::json(
        auth.introspect(&req.client, &token, hint.as_deref())
            .await?,
    )))
}

pub async fn revoke(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    req: ClientForm,
) -> AuthResult<Response> {
    let (token, hint) = req.token_and_hint()?;
    auth.revoke_token(&req.client, &token, hint.as_deref(), &meta)
        .await?;
    Ok(StatusCode::OK.into_response())
}

async fn end_session_with(
    auth: Auth,
    meta: crate::audit::RequestMeta,
    params: Vec<(String, String)>,
) -> AuthResult<Response> {
    let target = auth
        .end_session(
            field(&params, "id_token_hint").as_deref(),
            field(&params, "client_id").as_deref(),
            field(&params, "post_logout_redirect_uri").as_deref(),
            field(&params, "state").as_deref(),
            &meta,
        )
        .await?;
    Ok(match target {
        Some(url) => Reply::redirect(&url)
            .clearing_session(&auth)
            .into_response(),
        None => {
            let page = Html(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed out</title></head><body style=\"font-family:system-ui,sans-serif\"><h1>You are signed out</h1><p><a href=\"/\">Continue</a></p></body></html>",
            );
            let mut res = page.into_response();
            for c in [
                auth.cookies.delete(crate::cookies::SESSION_TOKEN),
                auth.cookies.delete(crate::cookies::DONT_REMEMBER),
            ] {
                if let Ok(v) = c.parse() {
                    res.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            res
        }
    })
}

pub async fn end_session_get(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    RawQuery(query): RawQuery,
) -> AuthResult<Response> {
    end_session_with(auth, meta, pairs_of(query.unwrap_or_default().as_bytes())).await
}

pub async fn end_session_post(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    body: Bytes,
) -> AuthResult<Response> {
    end_session_with(auth, meta, pairs_of(&body)).await
}

/// RFC 7591 registration: admins by default; anonymous callers only when
/// open registration is configured, and then for public clients.
pub async fn register(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    MaybeSession(who): MaybeSession,
    body: Bytes,
) -> AuthResult<Response> {
    let is_admin = who
        .as_ref()
        .is_some_and(|w| auth.may(w, "oauth-client", "register"));
    match auth.settings.oidc.registration {
        Registration::Off => {
            return Err(AuthError::oauth(
                "access_denied",
                "client registration is disabled",
            ));
        }
        Registration::Admin if who.is_none() => return Err(AuthError::Unauthorized),
        Registration::Admin if !is_admin => {
            return Err(AuthError::oauth(
                "access_denied",
                "only admins may register clients",
            ));
        }
        _ => {}
    }
    let m: Metadata = serde_json::from_slice(&body)
        .map_err(|e| AuthError::oauth("invalid_client_metadata", format!("invalid JSON: {e}")))?;
    let owner = who.as_ref().map(|w| w.user.id.as_str());
    let reg = auth.register_client(m, owner, is_admin, &meta).await?;
    let mut view = reg.client.view();
    if let Some(secret) = reg.secret {
        view["client_secret"] = json!(secret);
    }
    Ok((StatusCode::CREATED, no_store(Reply::json(view))).into_response())
}

admin_permissions! {
    ManageClients = ("oauth-client", "manage"), "YOU_ARE_NOT_ALLOWED_TO_MANAGE_CLIENTS", "You are not allowed to manage OAuth clients";
}

/// A JSON array of `items`, each as `view` shows it.
fn list_reply<T>(items: &[T], view: impl Fn(&T) -> Value) -> Reply {
    Reply::json(Value::Array(items.iter().map(view).collect()))
}

pub async fn get_clients(State(auth): State<Auth>, _: Admin<ManageClients>) -> AuthResult<Reply> {
    Ok(list_reply(&auth.list_clients().await?, Client::view))
}

#[derive(Deserialize)]
pub struct ClientQuery {
    client_id: String,
}

pub async fn get_client(
    State(auth): State<Auth>,
    Query(q): Query<ClientQuery>,
    _: Admin<ManageClients>,
) -> AuthResult<Reply> {
    let c = auth
        .find_client(&q.client_id)
        .await?
        .ok_or_else(|| AuthError::not_found("CLIENT_NOT_FOUND", "Client not found"))?;
    Ok(Reply::json(c.view()))
}

#[derive(Deserialize)]
pub struct UpdateBody {
    client_id: String,
    update: Metadata,
}

pub async fn update_client(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Admin(who, _): Admin<ManageClients>,
    Body(b): Body<UpdateBody>,
) -> AuthResult<Reply> {
    let c = auth
        .update_client(&b.client_id, b.update, &who.user.id, &meta)
        .await?;
    Ok(Reply::json(c.view()))
}

#[derive(Deserialize)]
pub struct ClientIdBody {
    client_id: String,
}

pub async fn rotate_secret(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Admin(who, _): Admin<ManageClients>,
    Body(b): Body<ClientIdBody>,
) -> AuthResult<Reply> {
    let secret = auth
        .rotate_client_secret(&b.client_id, &who.user.id, &meta)
        .await?;
    Ok(no_store(Reply::json(
        json!({"client_id": b.client_id, "client_secret": secret}),
    )))
}

pub async fn delete_client(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    Admin(who, _): Admin<ManageClients>,
    Body(b): Body<ClientIdBody>,
) -> AuthResult<Reply> {
    auth.delete_client(&b.client_id, &who.user.id, &meta)
        .await?;
    Ok(Reply::json(json!({"status": true})))
}

pub async fn get_consents(
    State(auth): State<Auth>,
    SessionUser(me): SessionUser,
) -> AuthResult<Reply> {
    let consents = auth.list_consents(&me.user.id).await?;
    Ok(list_reply(&consents, |c| c.view()))
}

#[derive(Deserialize)]
pub struct ConsentIdBody {
    id: String,
}

pub async fn delete_consent(
    State(auth): State<Auth>,
    Meta(meta): Meta,
    SessionUser(me): SessionUser,
    Body(b): Body<ConsentIdBody>,
) -> AuthResult<Reply> {
    auth.delete_consent(&me.user.id, &b.id, &meta).await?;
    Ok(Reply::json(json!({"status": true})))
}
