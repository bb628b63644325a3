//! The OpenID Connect provider: discovery, authorization code with PKCE
//! through the login and consent hops, tokens, refresh rotation, replay
//! handling, userinfo, introspection, revocation, logout and registration.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::support::auth::*;
use crate::support::{Backend, TestServer};

const RP: &str = "https://rp.example.com/callback";
const VERIFIER: &str = "a-very-long-code-verifier-with-enough-entropy-0123456789abcdef";

fn challenge(verifier: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    URL_SAFE_NO_PAD.encode(d.as_ref())
}

/// Registers a client as admin and returns its registration response.
async fn register(server: &TestServer, admin: &reqwest::Client, meta: Value) -> Value {
    let (s, body, _) = post(admin, server, "/api/auth/oauth2/register", meta).await;
    assert_eq!(s, 201, "{body}");
    body
}

fn authorize_path(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", RP)
        .append_pair("scope", "openid profile email offline_access")
        .append_pair("state", "st-123")
        .append_pair("nonce", "n-456")
        .append_pair("code_challenge", &challenge(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    format!("/api/auth/oauth2/authorize?{}", q.finish())
}

fn location(h: &reqwest::header::HeaderMap) -> String {
    h.get("location").unwrap().to_str().unwrap().to_string()
}

fn query_of(url: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query()
        .unwrap_or_default()
        .to_string()
}

async fn token(
    server: &TestServer,
    form: &[(&str, &str)],
) -> (u16, Value, reqwest::header::HeaderMap) {
    let res = plain()
        .post(server.at("/api/auth/oauth2/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    split(res).await
}

/// Registers a client as a newly made admin; returns its registration response.
async fn register_as_admin(server: &TestServer, meta: Value) -> Value {
    let admin = admin(server, "admin@example.com").await;
    register(server, &admin, meta).await
}

/// Registers "Notes", a public client redirecting to `RP`, as an admin.
async fn notes_client(server: &TestServer) -> Value {
    register_as_admin(
        server,
        json!({"redirect_uris": [RP], "token_endpoint_auth_method": "none", "client_name": "Notes"}),
    )
    .await
}

/// The public client's exchange of `code`, with the right verifier and redirect.
async fn redeem(
    server: &TestServer,
    client_id: &str,
    code: &str,
) -> (u16, Value, reqwest::header::HeaderMap) {
    token(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", RP),
            ("code_verifier", VERIFIER),
            ("client_id", client_id),
        ],
    )
    .await
}

/// The public client's exchange of a refresh token.
async fn refresh(
    server: &TestServer,
    client_id: &str,
    refresh_token: &str,
) -> (u16, Value, reqwest::header::HeaderMap) {
    token(
        server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ],
    )
    .await
}

/// The token endpoint, the client authenticating with HTTP Basic.
async fn token_with_basic(
    server: &TestServer,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, Value, reqwest::header::HeaderMap) {
    let res = plain()
        .post(server.at("/api/auth/oauth2/token"))
        .header("authorization", basic(id, secret))
        .form(form)
        .send()
        .await
        .unwrap();
    split(res).await
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// The userinfo endpoint with `access` as the bearer token.
async fn userinfo(server: &TestServer, access: &str) -> reqwest::Response {
    plain()
        .get(server.at("/api/auth/oauth2/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
}

/// Registers a public client redirecting to `RP`, as an admin; returns its id.
async fn public_client(server: &TestServer) -> String {
    let meta = json!({"redirect_uris": [RP], "token_endpoint_auth_method": "none"});
    let reg = register_as_admin(server, meta).await;
    reg["client_id"].as_str().unwrap().to_string()
}

/// A password sign-in on the login page of an authorization request.
async fn sign_in_at_login(
    b: &reqwest::Client,
    server: &TestServer,
    email: &str,
    oauth_query: String,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let body = json!({"email": email, "password": PASSWORD, "oauth_query": oauth_query});
    post(b, server, "/api/auth/sign-in/email", body).await
}

/// Signs in through the login hop and consents; returns the redirect to the RP.
async fn code_via_login(server: &TestServer, client_id: &str, email: &str) -> String {
    let b = browser(server);
    let (s, _, h) = get(&b, server, &authorize_path(client_id, &[])).await;
    assert_eq!(s, 302);
    let login = location(&h);
    assert!(login.starts_with(&server.at("/login?")), "{login}");
    let (s, body, _) = sign_in_at_login(&b, server, email, query_of(&login)).await;
    assert_eq!(s, 200, "{body}");
    let consent = body["url"].as_str().unwrap().to_string();
    assert!(consent.starts_with(&server.at("/consent?")), "{consent}");
    allow(server, &b, &consent).await
}

/// Accepts the consent page at `consent_url`; returns the redirect to the RP.
async fn allow(server: &TestServer, b: &reqwest::Client, consent_url: &str) -> String {
    let (s, body, _) = post(
        b,
        server,
        "/api/auth/oauth2/consent",
        json!({"accept": true, "oauth_query": query_of(consent_url)}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    body["url"].as_str().unwrap().to_string()
}

async fn verify_id_token(server: &TestServer, token: &str, aud: &str) -> Value {
    let (_, jwks, _) = get(&plain(), server, "/api/auth/jwks").await;
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header.kid.clone().unwrap())
        .unwrap();
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[aud]);
    v.set_issuer(&[server.at("/api/auth")]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims
}

crate::per_database! {
    async fn authorization_code_flow_end_to_end(backend) {
        let server = TestServer::start(backend).await;
        let reg = notes_client(&server).await;
        let client_id = reg["client_id"].as_str().unwrap();
        assert!(
            reg.get("client_secret").is_none(),
            "public clients get no secret"
        );
        verified_user(&server, "ada@example.com").await;

        let back = code_via_login(&server, client_id, "ada@example.com").await;
        assert!(back.starts_with(RP), "{back}");
        assert_eq!(query_param(&back, "state"), "st-123");
        assert_eq!(query_param(&back, "iss"), server.at("/api/auth"));
        let code = query_param(&back, "code");

        let (s, tokens, h) = redeem(&server, client_id, &code).await;
        assert_eq!(s, 200, "{tokens}");
        assert_eq!(h["cache-control"], "no-store");
        assert_eq!(tokens["token_type"], "Bearer");
        let claims =
            verify_id_token(&server, tokens["id_token"].as_str().unwrap(), client_id).await;
        assert_eq!(claims["nonce"], "n-456");
        assert_eq!(claims["role"], "student");
        assert_eq!(claims["email"], "ada@example.com");
        assert!(claims["at_hash"].is_string() && claims["auth_time"].is_number());

        let access = tokens["access_token"].as_str().unwrap();
        let res = userinfo(&server, access).await;
        let (s, info, _) = split(res).await;
        assert_eq!(s, 200, "{info}");
        assert_eq!(info["email"], "ada@example.com");
        assert_eq!(info["email_verified"], true);
        assert_eq!(info["sub"], claims["sub"]);

        // Refresh rotates; the old token is then a reuse that ends the family.
        let r1 = tokens["refresh_token"].as_str().unwrap().to_string();
        let (s, t2, _) = refresh(&server, client_id, &r1).await;
        assert_eq!(s, 200, "{t2}");
        let r2 = t2["refresh_token"].as_str().unwrap().to_string();
        assert_ne!(r1, r2);
        let (s, err, _) = refresh(&server, client_id, &r1).await;
        assert_eq!((s, err["error"].as_str()), (400, Some("invalid_grant")));
        let (s, err, _) = refresh(&server, client_id, &r2).await;
        assert_eq!(
            (s, err["error"].as_str()),
            (400, Some("invalid_grant")),
            "the newest token of a reused family is revoked too"
        );
        let res = userinfo(&server, t2["access_token"].as_str().unwrap()).await;
        assert_eq!(res.status(), 401, "access tokens of the family are revoked");

        // The code was used: a replay fails and revokes what it bought.
        let (s, err, _) = redeem(&server, client_id, &code).await;
        assert_eq!((s, err["error"].as_str()), (400, Some("invalid_grant")));
        let events: Vec<(String,)> = match &server.db {
            common::Db::Sqlite(p) => sqlx::query_as("SELECT event_type FROM auth_event_log")
                .fetch_all(p)
                .await
                .unwrap(),
            common::Db::Postgres(p) => sqlx::query_as("SELECT event_type FROM auth_event_log")
                .fetch_all(p)
                .await
                .unwrap(),
        };
        let events: Vec<String> = events.into_iter().map(|e| e.0).collect();
        for e in [
            "oidc_client_registered",
            "oidc_consent",
            "oidc_token_issued",
            "oidc_token_reuse",
        ] {
            assert!(events.iter().any(|x| x == e), "{e} audited: {events:?}");
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn code_replay_revokes_tokens_and_bad_exchanges_fail() {
    let server = TestServer::start(Backend::Sqlite).await;
    let client_id = &public_client(&server).await;
    verified_user(&server, "ada@example.com").await;
    let exchange = |code: String, verifier: &'static str, redirect: &'static str| {
        let server = &server;
        async move {
            token(
                server,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", verifier),
                    ("client_id", client_id),
                ],
            )
            .await
        }
    };

    let code = query_param(
        &code_via_login(&server, client_id, "ada@example.com").await,
        "code",
    );
    let (s, first, _) = exchange(code.clone(), VERIFIER, RP).await;
    assert_eq!(s, 200);
    let (s, err, _) = exchange(code, VERIFIER, RP).await;
    assert_eq!((s, err["error"].as_str()), (400, Some("invalid_grant")));
    let res = userinfo(&server, first["access_token"].as_str().unwrap()).await;
    assert_eq!(
        res.status(),
        401,
        "a replayed code revokes its access token"
    );
    let (s, _, _) = refresh(&server, client_id, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, 400, "and its refresh token");

    // Consent is remembered now, so a signed-in user goes straight back.
    let b = browser(&server);
    email_sign_in(&b, &server, "ada@example.com", PASSWORD).await;
    let fresh_code = |b: reqwest::Client| {
        let server = &server;
        async move {
            let (s, _, h) = get(&b, server, &authorize_path(client_id, &[])).await;
            assert_eq!(s, 302);
            query_param(&location(&h), "code")
        }
    };
    // A wrong verifier or another redirect URI than the request's.
    for (verifier, redirect) in [
        ("wrong-verifier-wrong-verifier-wrong-verifier", RP),
        (VERIFIER, "https://rp.example.com/other"),
    ] {
        let (s, err, _) = exchange(fresh_code(b.clone()).await, verifier, redirect).await;
        assert_eq!(
            (s, err["error"].as_str()),
            (400, Some("invalid_grant")),
            "{verifier} to {redirect}: {err}"
        );
    }
    let missing = fresh_code(b.clone()).await;
    let (s, err, _) = token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &missing),
            ("redirect_uri", RP),
            ("client_id", client_id),
        ],
    )
    .await;
    assert_eq!(
        (s, err["error_description"].as_str()),
        (400, Some("code_verifier is required")),
        "a missing verifier"
    );
    // prompt=consent asks again although consent is on record.
    let (_, _, h) = get(
        &b,
        &server,
        &authorize_path(client_id, &[("prompt", "consent")]),
    )
    .await;
    assert!(
        location(&h).starts_with(&server.at("/consent?")),
        "{}",
        location(&h)
    );
    let code = fresh_code(b.clone()).await;
    server.clock.advance(chrono::Duration::seconds(601));
    let (s, err, _) = exchange(code, VERIFIER, RP).await;
    assert_eq!(
        (s, err["error"].as_str(), err["error_description"].as_str()),
        (400, Some("invalid_grant"), Some("code expired"))
    );
    server.stop().await;
}

#[tokio::test]
async fn authorize_validates_before_trusting_the_redirect() {
    let server = TestServer::start(Backend::Sqlite).await;
    let client_id = &public_client(&server).await;
    let b = browser(&server);

    // A foreign redirect URI never receives anything: our error page does.
    let path = authorize_path(client_id, &[]).replace(
        &url::form_urlencoded::byte_serialize(RP.as_bytes()).collect::<String>(),
        "https%3A%2F%2Fevil.example%2Fcb",
    );
    let (s, _, h) = get(&b, &server, &path).await;
    assert_eq!(s, 302);
    assert!(
        location(&h).starts_with(&server.at("/api/auth/error?")),
        "{}",
        location(&h)
    );

    // plain PKCE is refused, and the client hears about it.
    let path = authorize_path(client_id, &[])
        .replace("code_challenge_method=S256", "code_challenge_method=plain");
    let (_, _, h) = get(&b, &server, &path).await;
    assert!(location(&h).starts_with(RP));
    assert_eq!(query_param(&location(&h), "error"), "invalid_request");

    // A public client must use PKCE at all.
    let path = authorize_path(client_id, &[]);
    let no_pkce: String = path
        .split('&')
        .filter(|p| !p.starts_with("code_challenge"))
        .collect::<Vec<_>>()
        .join("&");
    let (_, _, h) = get(&b, &server, &no_pkce).await;
    assert_eq!(query_param(&location(&h), "error"), "invalid_request");

    // prompt=none without a session.
    let (_, _, h) = get(
        &b,
        &server,
        &authorize_path(client_id, &[("prompt", "none")]),
    )
    .await;
    assert_eq!(query_param(&location(&h), "error"), "login_required");
    assert_eq!(query_param(&location(&h), "state"), "st-123");

    // A tampered login hop is refused.
    let (_, _, h) = get(&b, &server, &authorize_path(client_id, &[])).await;
    let tampered = query_of(&location(&h)).replace("offline_access", "");
    verified_user(&server, "ada@example.com").await;
    let b2 = browser(&server);
    let (s, body, _) = sign_in_at_login(&b2, &server, "ada@example.com", tampered).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_signature")),
        "{body}"
    );

    // Signed in: prompt=login sends the user to the login page again, and
    // signing in there satisfies it; max_age=0 likewise.
    let (s, _, _) = email_sign_in(&b2, &server, "ada@example.com", PASSWORD).await;
    assert_eq!(s, 200);
    for extra in [("prompt", "login"), ("max_age", "0")] {
        server.clock.advance(chrono::Duration::seconds(5));
        let (_, _, h) = get(&b2, &server, &authorize_path(client_id, &[extra])).await;
        let login = location(&h);
        assert!(
            login.starts_with(&server.at("/login?")),
            "{extra:?}: {login}"
        );
        let (s, body, _) =
            sign_in_at_login(&b2, &server, "ada@example.com", query_of(&login)).await;
        assert_eq!(s, 200, "{body}");
        assert!(
            body["url"]
                .as_str()
                .unwrap()
                .starts_with(&server.at("/consent?")),
            "{body}"
        );
    }
    // Denying consent tells the client.
    let (_, _, h) = get(&b2, &server, &authorize_path(client_id, &[])).await;
    let (s, body, _) = post(
        &b2,
        &server,
        "/api/auth/oauth2/consent",
        json!({"accept": false, "oauth_query": query_of(&location(&h))}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        query_param(body["url"].as_str().unwrap(), "error"),
        "access_denied"
    );
    server.stop().await;
}

crate::per_database! {
    async fn confidential_clients_trusted_first_party_and_token_management(backend) {
        let server = TestServer::start(backend).await;
        let admin = admin(&server, "admin@example.com").await;
        let reg = register(
            &server,
            &admin,
            json!({
                "redirect_uris": [RP],
                "post_logout_redirect_uris": ["https://rp.example.com/bye"],
                "token_endpoint_auth_method": "client_secret_basic",
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "skip_consent": true,
                "enable_end_session": true,
            }),
        )
        .await;
        let id = reg["client_id"].as_str().unwrap().to_string();
        let secret = reg["client_secret"].as_str().unwrap().to_string();
        let user = verified_user(&server, "ada@example.com").await;

        // A trusted first-party client skips the consent page.
        let (s, _, h) = get(&user, &server, &authorize_path(&id, &[])).await;
        assert_eq!(s, 302);
        let back = location(&h);
        assert!(back.starts_with(RP), "{back}");
        let code = query_param(&back, "code");

        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", RP),
            ("code_verifier", VERIFIER),
        ];
        // The registered method only: client_secret_post is refused.
        let mut post_form = form.to_vec();
        post_form.push(("client_id", &id));
        post_form.push(("client_secret", &secret));
        let (s, err, h) = token(&server, &post_form).await;
        assert_eq!(
            (s, err["error"].as_str()),
            (401, Some("invalid_client")),
            "{err}"
        );
        assert!(h.contains_key("www-authenticate"));
        let (s, _, _) = token_with_basic(&server, &id, "wrong", &form).await;
        assert_eq!(s, 401);
        let (s, tokens, _) = token_with_basic(&server, &id, &secret, &form).await;
        assert_eq!(s, 200, "{tokens}");
        let access = tokens["access_token"].as_str().unwrap();
        let id_token = tokens["id_token"].as_str().unwrap();

        let call = |path: &'static str, form: Vec<(&'static str, String)>| {
            let server = &server;
            let auth = basic(&id, &secret);
            async move {
                let res = plain()
                    .post(server.at(path))
                    .header("authorization", auth)
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                split(res).await
            }
        };
        let (s, intro, _) = call(
            "/api/auth/oauth2/introspect",
            vec![("token", access.to_string())],
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(intro["active"], true);
        assert_eq!(intro["client_id"], id.as_str());
        assert_eq!(intro["token_type"], "access_token");
        let (s, _, _) = call(
            "/api/auth/oauth2/revoke",
            vec![("token", access.to_string())],
        )
        .await;
        assert_eq!(s, 200);
        let (_, intro, _) = call(
            "/api/auth/oauth2/introspect",
            vec![("token", access.to_string())],
        )
        .await;
        assert_eq!(intro, json!({"active": false}));
        let (s, _, _) = call(
            "/api/auth/oauth2/revoke",
            vec![("token", "unknown-token".to_string())],
        )
        .await;
        assert_eq!(s, 200, "unknown tokens are ignored (RFC 7009)");

        // client_credentials: a token with no user.
        let (s, cc, _) = call(
            "/api/auth/oauth2/token",
            vec![("grant_type", "client_credentials".into())],
        )
        .await;
        assert_eq!(s, 200, "{cc}");
        assert!(cc.get("id_token").is_none() && cc.get("refresh_token").is_none());
        let (_, intro, _) = call(
            "/api/auth/oauth2/introspect",
            vec![("token", cc["access_token"].as_str().unwrap().to_string())],
        )
        .await;
        assert_eq!(intro["sub"], id.as_str());

        // RP-initiated logout ends the session the ID token names.
        let (s, _, _) = get(&user, &server, "/api/auth/oauth2/end-session").await;
        assert_eq!(s, 400, "no hint, no logout");
        let (s, body, _) = get(&user, &server, "/api/auth/get-session").await;
        assert!(s == 200 && body["user"].is_object());
        let path = format!(
            "/api/auth/oauth2/end-session?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F"
        );
        let (s, _, _) = get(&plain(), &server, &path).await;
        assert_eq!(s, 400, "unregistered post-logout redirect");
        let path = format!(
            "/api/auth/oauth2/end-session?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Frp.example.com%2Fbye&state=s1"
        );
        let (s, _, h) = get(&plain(), &server, &path).await;
        assert_eq!(s, 302);
        assert_eq!(location(&h), "https://rp.example.com/bye?state=s1");
        let (_, body, _) = get(&user, &server, "/api/auth/get-session").await;
        assert!(
            body.is_null() || body["user"].is_null(),
            "session ended: {body}"
        );

        // Admin management: rotate the secret, the old one stops working.
        let (s, rotated, _) = post(
            &admin,
            &server,
            "/api/auth/oauth2/client/rotate-secret",
            json!({"client_id": id}),
        )
        .await;
        assert_eq!(s, 200);
        let new_secret = rotated["client_secret"].as_str().unwrap();
        let client_credentials = [("grant_type", "client_credentials")];
        let (s, _, _) = token_with_basic(&server, &id, &secret, &client_credentials).await;
        assert_eq!(s, 401);
        let (s, _, _) = token_with_basic(&server, &id, new_secret, &client_credentials).await;
        assert_eq!(s, 200);
        let (s, c, _) = post(
            &admin,
            &server,
            "/api/auth/oauth2/update-client",
            json!({"client_id": id, "update": {"redirect_uris": ["https://rp.example.com/new"]}}),
        )
        .await;
        assert_eq!(s, 200, "{c}");
        assert_eq!(c["redirect_uris"], json!(["https://rp.example.com/new"]));
        let (s, list, _) = get(&admin, &server, "/api/auth/oauth2/get-clients").await;
        assert_eq!(s, 200);
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert!(
            list[0].get("client_secret").is_none(),
            "secrets are never listed"
        );
        let (s, _, _) = post(
            &admin,
            &server,
            "/api/auth/oauth2/delete-client",
            json!({"client_id": id}),
        )
        .await;
        assert_eq!(s, 200);
        server.stop().await;
    }
}

#[tokio::test]
async fn discovery_and_registration_rules() {
    let server = TestServer::start(Backend::Sqlite).await;
    for path in [
        "/.well-known/openid-configuration",
        "/api/auth/.well-known/openid-configuration",
    ] {
        let (s, doc, _) = get(&plain(), &server, path).await;
        assert_eq!(s, 200, "{path}");
        assert_eq!(doc["issuer"], server.at("/api/auth"));
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
        assert_eq!(doc["jwks_uri"], server.at("/api/auth/jwks"));
    }
    let meta = json!({"redirect_uris": [RP], "token_endpoint_auth_method": "none"});
    let (s, _, _) = post(&plain(), &server, "/api/auth/oauth2/register", meta.clone()).await;
    assert_eq!(s, 401, "anonymous registration is off by default");
    let student = verified_user(&server, "s@example.com").await;
    let (s, body, _) = post(&student, &server, "/api/auth/oauth2/register", meta.clone()).await;
    assert_eq!((s, body["error"].as_str()), (403, Some("access_denied")));
    let (s, _, _) = get(&student, &server, "/api/auth/oauth2/get-clients").await;
    assert_eq!(s, 403);
    let admin = admin(&server, "admin@example.com").await;
    let (s, body, _) = post(
        &admin,
        &server,
        "/api/auth/oauth2/register",
        json!({"redirect_uris": ["http://rp.example.com/cb"]}),
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_redirect_uri")),
        "plain http only on loopback"
    );

    // Native apps: loopback redirects on any port (RFC 8252 §7.3).
    let reg = register(
        &server,
        &admin,
        json!({"redirect_uris": ["http://127.0.0.1/cb"], "application_type": "native", "token_endpoint_auth_method": "none"}),
    )
    .await;
    let id = reg["client_id"].as_str().unwrap();
    let path = authorize_path(id, &[]).replace(
        &url::form_urlencoded::byte_serialize(RP.as_bytes()).collect::<String>(),
        "http%3A%2F%2F127.0.0.1%3A53117%2Fcb",
    );
    let (s, _, h) = get(&plain(), &server, &path).await;
    assert_eq!(s, 302);
    assert!(
        location(&h).starts_with(&server.at("/login?")),
        "accepted: {}",
        location(&h)
    );
    server.stop().await;
}

#[tokio::test]
async fn consent_cannot_be_forged_cross_site() {
    let server = TestServer::start(Backend::Sqlite).await;
    let client_id = &public_client(&server).await;
    let b = verified_user(&server, "ada@example.com").await;
    let (_, _, h) = get(&b, &server, &authorize_path(client_id, &[])).await;
    let consent = location(&h);
    // The victim's cookie, sent by a page on another site.
    let evil = reqwest::Client::builder()
        .cookie_store(false)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let session = ::auth::cookies::sign(
        crate::support::TEST_SECRET,
        &server
            .auth()
            .list_sessions(session_user(&b, &server).await["id"].as_str().unwrap())
            .await
            .unwrap()[0]
            .token,
    );
    let res = evil
        .post(server.at("/api/auth/oauth2/consent"))
        .header("origin", "https://evil.example")
        .header("cookie", format!("better-auth.session_token={session}"))
        .json(&json!({"accept": true, "oauth_query": query_of(&consent)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a cross-site consent is refused");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_ORIGIN");
    server.stop().await;
}

/// Through the signed-in user's own session: authorize, consent if asked,
/// and return the code sent back to the client.
async fn code_for(server: &TestServer, b: &reqwest::Client, client_id: &str) -> String {
    let (s, _, h) = get(b, server, &authorize_path(client_id, &[])).await;
    assert_eq!(s, 302);
    let mut back = location(&h);
    if back.starts_with(&server.at("/consent?")) {
        back = allow(server, b, &back).await;
    }
    assert!(back.starts_with(RP), "{back}");
    query_param(&back, "code")
}

/// Withdraws the consent `id` as the user signed in on `b`.
async fn withdraw(
    b: &reqwest::Client,
    server: &TestServer,
    id: &str,
) -> (u16, Value, reqwest::header::HeaderMap) {
    post(
        b,
        server,
        "/api/auth/oauth2/delete-consent",
        json!({"id": id}),
    )
    .await
}

crate::per_database! {
    async fn users_list_and_withdraw_their_consents(backend) {
        let server = TestServer::start(backend).await;
        let reg = notes_client(&server).await;
        let client_id = reg["client_id"].as_str().unwrap();
        let ada = verified_user(&server, "ada@example.com").await;
        let eve = verified_user(&server, "eve@example.com").await;
        let (s, list, _) = get(&ada, &server, "/api/auth/oauth2/get-consents").await;
        assert_eq!((s, list), (200, json!([])));

        let code = code_for(&server, &ada, client_id).await;
        let (s, tokens, _) = redeem(&server, client_id, &code).await;
        assert_eq!(s, 200, "{tokens}");
        // Consent is remembered: this code comes without asking, and is left unredeemed.
        let pending = code_for(&server, &ada, client_id).await;

        let (s, list, _) = get(&ada, &server, "/api/auth/oauth2/get-consents").await;
        assert_eq!(s, 200);
        let list = list.as_array().unwrap().clone();
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["clientId"], client_id);
        assert_eq!(list[0]["clientName"], "Notes");
        assert_eq!(list[0]["userId"], session_user(&ada, &server).await["id"]);
        assert_eq!(
            list[0]["scopes"],
            json!(["openid", "profile", "email", "offline_access"])
        );
        let id = list[0]["id"].as_str().unwrap();

        // Nobody else sees it or can withdraw it, and they learn nothing trying.
        let (s, theirs, _) = get(&eve, &server, "/api/auth/oauth2/get-consents").await;
        assert_eq!((s, theirs), (200, json!([])));
        let (s, other, _) = withdraw(&eve, &server, id).await;
        let (s2, unknown, _) = withdraw(&eve, &server, "no-such-consent").await;
        assert_eq!((s, &other), (404, &unknown));
        assert_eq!(
            (s2, other["code"].as_str()),
            (404, Some("CONSENT_NOT_FOUND"))
        );
        let (s, _, _) = get(&plain(), &server, "/api/auth/oauth2/get-consents").await;
        assert_eq!(s, 401);
        // Her own cookie, sent by a page on another site, withdraws nothing.
        let res = ada
            .post(server.at("/api/auth/oauth2/delete-consent"))
            .header("origin", "https://evil.example")
            .json(&json!({"id": id}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let (_, still, _) = get(&ada, &server, "/api/auth/oauth2/get-consents").await;
        assert_eq!(still.as_array().map(Vec::len), Some(1));

        let (s, body, _) = withdraw(&ada, &server, id).await;
        assert_eq!((s, body), (200, json!({"status": true})));
        let (_, list, _) = get(&ada, &server, "/api/auth/oauth2/get-consents").await;
        assert_eq!(list, json!([]));

        // Everything the client held for her has stopped working.
        let res = userinfo(&server, tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(res.status(), 401);
        let (s, err, _) = refresh(&server, client_id, tokens["refresh_token"].as_str().unwrap()).await;
        assert_eq!((s, err["error"].as_str()), (400, Some("invalid_grant")));
        let (s, err, _) = redeem(&server, client_id, &pending).await;
        assert_eq!((s, err["error"].as_str()), (400, Some("invalid_grant")));

        // The next sign-in through the client asks again.
        let (_, _, h) = get(&ada, &server, &authorize_path(client_id, &[])).await;
        assert!(location(&h).starts_with(&server.at("/consent?")));
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM auth_event_log WHERE event_type = 'oidc_consent_revoked'")
            .fetch_one(pool).await.unwrap());
        assert_eq!(n, 1);
        server.stop().await;
    }
}

#[tokio::test]
async fn authorization_server_metadata_is_also_at_the_rfc_8414_path() {
    let server = TestServer::start(Backend::Sqlite).await;
    let (s, inserted, h) = get(
        &plain(),
        &server,
        "/.well-known/oauth-authorization-server/api/auth",
    )
    .await;
    assert_eq!(s, 200);
    assert!(h["cache-control"].to_str().unwrap().contains("max-age=15"));
    let (_, under_issuer, _) = get(
        &plain(),
        &server,
        "/api/auth/.well-known/oauth-authorization-server",
    )
    .await;
    assert_eq!(inserted, under_issuer);
    assert_eq!(inserted["issuer"], server.at("/api/auth"));
}
