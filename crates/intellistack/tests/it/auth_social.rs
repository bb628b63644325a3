//! Social sign-in with GitHub, against a local double of GitHub's OAuth and API.

use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::routing::{get as axum_get, post as axum_post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Value, json};

use crate::support::auth::*;
use crate::support::http::text_at;
use crate::support::{Backend, Options, TestServer};

#[derive(Default)]
struct Github {
    challenge: String,
    id: u64,
    email: String,
    verified: bool,
    /// Refreshes granted so far (expiring user tokens, as GitHub Apps issue them).
    refreshes: u32,
    /// The refresh token GitHub would accept now.
    refresh_token: String,
    /// Makes the next refresh fail, as a revoked grant does.
    refuse_refresh: bool,
}

type Shared = Arc<Mutex<Github>>;

async fn access_token(
    State(g): State<Shared>,
    Form(f): Form<std::collections::HashMap<String, String>>,
) -> Json<Value> {
    let mut g = g.lock().unwrap();
    if f.get("grant_type").map(String::as_str) == Some("refresh_token") {
        let ok = f.get("client_id").map(String::as_str) == Some("gh-client")
            && f.get("client_secret").map(String::as_str) == Some("gh-secret")
            && f.get("refresh_token") == Some(&g.refresh_token)
            && !g.refuse_refresh;
        if !ok {
            return Json(
                json!({"error": "bad_refresh_token", "error_description": "The refresh token passed is incorrect or expired."}),
            );
        }
        g.refreshes += 1;
        g.refresh_token = format!("ghr_refresh_{}", g.refreshes + 1);
        return Json(json!({
            "access_token": format!("gho_refreshed_{}", g.refreshes),
            "expires_in": 28800, "refresh_token": g.refresh_token,
            "refresh_token_expires_in": 15_897_600, "token_type": "bearer", "scope": ""
        }));
    }
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
    let ok = f.get("client_id").map(String::as_str) == Some("gh-client")
        && f.get("client_secret").map(String::as_str) == Some("gh-secret")
        && f.get("code").map(String::as_str) == Some("good-code")
        && challenge == g.challenge;
    // GitHub answers 200 with an error object for bad codes and verifiers.
    if ok {
        g.refresh_token = "ghr_refresh_1".into();
        Json(
            json!({"access_token": "gho_secret_token", "token_type": "bearer", "scope": "read:user,user:email",
                   "expires_in": 28800, "refresh_token": "ghr_refresh_1", "refresh_token_expires_in": 15_897_600}),
        )
    } else {
        Json(
            json!({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."}),
        )
    }
}

async fn user(
    State(g): State<Shared>,
    headers: axum::http::HeaderMap,
) -> Result<Json<Value>, axum::http::StatusCode> {
    let g = g.lock().unwrap();
    // Only the newest access token works, as after a refresh at GitHub.
    let current = if g.refreshes == 0 {
        "gho_secret_token".to_string()
    } else {
        format!("gho_refreshed_{}", g.refreshes)
    };
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if bearer != format!("Bearer {current}") {
        return Err(axum::http::StatusCode::UNAUTHORIZED);
    }
    Ok(Json(
        json!({"id": g.id, "login": "octo", "name": "Octo Cat", "avatar_url": "https://avatars.example/octo.png", "email": null}),
    ))
}

async fn emails(State(g): State<Shared>) -> Json<Value> {
    let g = g.lock().unwrap();
    Json(
        json!([{"email": "old@example.com", "primary": false, "verified": true}, {"email": g.email, "primary": true, "verified": g.verified}]),
    )
}

async fn github_double() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let app = Router::new()
        .route("/login/oauth/access_token", axum_post(access_token))
        .route("/user", axum_get(user))
        .route("/user/emails", axum_get(emails))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://127.0.0.1:{port}"), shared)
}

async fn start(backend: Backend) -> (TestServer, Shared) {
    let (gh, shared) = github_double().await;
    let server = TestServer::start_with(
        backend,
        Options::default()
            .var("GITHUB_CLIENT_ID", "gh-client")
            .var("GITHUB_CLIENT_SECRET", "gh-secret")
            .var(
                "GITHUB_AUTHORIZE_URL",
                format!("{gh}/login/oauth/authorize"),
            )
            .var("GITHUB_TOKEN_URL", format!("{gh}/login/oauth/access_token"))
            .var("GITHUB_API_URL", format!("{gh}/")),
    )
    .await;
    (server, shared)
}

/// Follows GitHub's redirect back to us in `b`; returns the callback's Location.
async fn callback(server: &TestServer, b: &reqwest::Client, code: &str, state: &str) -> String {
    let res = b
        .get(server.at(&format!(
            "/api/auth/callback/github?code={code}&state={state}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    res.headers()["location"].to_str().unwrap().to_string()
}

/// Starts the flow in `b`, lets the double expect its PKCE challenge, and
/// follows the callback. Returns the callback's Location.
async fn round(
    server: &TestServer,
    b: &reqwest::Client,
    gh: &Shared,
    code: &str,
    tamper_state: bool,
) -> String {
    let (s, body, _) = post(b, server, "/api/auth/sign-in/social", json!({"provider": "github", "callbackURL": "/dashboard", "newUserCallbackURL": "/welcome", "errorCallbackURL": "/oops"})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["redirect"], true);
    let url = url::Url::parse(body["url"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        q["redirect_uri"],
        format!("{}/api/auth/callback/github", server.url)
    );
    gh.lock().unwrap().challenge = q["code_challenge"].clone();
    let state = if tamper_state {
        "forged-state".to_string()
    } else {
        q["state"].clone()
    };
    callback(server, b, code, &state).await
}

crate::per_database! {
    async fn first_and_returning_sign_in_with_github(backend) {
        let (server, gh) = start(backend).await;
        {
            let mut g = gh.lock().unwrap();
            g.id = 4242;
            g.email = "Octo@Example.com".into();
            g.verified = true;
        }
        let b = browser(&server);
        assert_eq!(
            round(&server, &b, &gh, "good-code", false).await,
            "/welcome",
            "a new user goes to the new-user page"
        );
        let user = session_user(&b, &server).await;
        assert_eq!(
            (user["email"].as_str(), user["emailVerified"].as_bool()),
            (Some("octo@example.com"), Some(true))
        );
        assert_eq!(user["name"], "Octo Cat");
        assert_eq!(user["image"], "https://avatars.example/octo.png");
        let (token,): (Option<String>,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT access_token FROM account WHERE provider_id = 'github'").fetch_one(pool).await.unwrap());
        let token = token.unwrap();
        assert!(
            !token.contains("gho_secret_token"),
            "provider tokens are stored encrypted"
        );

        let again = browser(&server);
        assert_eq!(
            round(&server, &again, &gh, "good-code", false).await,
            "/dashboard"
        );
        assert_eq!(
            session_user(&again, &server).await["id"],
            user["id"],
            "the same account"
        );
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(r#"SELECT COUNT(*) FROM "user""#).fetch_one(pool).await.unwrap());
        assert_eq!(n, 1);
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM auth_event_log WHERE event_type = 'login_success' AND details LIKE '%github%'").fetch_one(pool).await.unwrap());
        assert_eq!(n, 2);
        server.stop().await;
    }
}

crate::per_database! {
    async fn linking_follows_the_verification_rules(backend) {
        let (server, gh) = start(backend).await;
        // A verified local account links to a GitHub account with the same verified email.
        let local = verified_user(&server, "dev@example.com").await;
        let local_id = session_user(&local, &server).await["id"].clone();
        {
            let mut g = gh.lock().unwrap();
            g.id = 1;
            g.email = "dev@example.com".into();
            g.verified = true;
        }
        let b = browser(&server);
        assert_eq!(
            round(&server, &b, &gh, "good-code", false).await,
            "/dashboard"
        );
        assert_eq!(session_user(&b, &server).await["id"], local_id);
        let (_, accounts, _) = get(&b, &server, "/api/auth/list-accounts").await;
        let providers: Vec<String> = accounts
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["providerId"].as_str().unwrap().to_string())
            .collect();
        let mut providers = providers;
        providers.sort();
        assert_eq!(providers, vec!["credential", "github"]);
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM auth_event_log WHERE event_type = 'oauth_link'").fetch_one(pool).await.unwrap());
        assert_eq!(n, 1);

        // An unverified local account is not taken over.
        email_sign_up(&plain(), &server, "U", "unverified@example.com", PASSWORD).await;
        {
            let mut g = gh.lock().unwrap();
            g.id = 2;
            g.email = "unverified@example.com".into();
            g.verified = true;
        }
        let c = browser(&server);
        assert_eq!(
            round(&server, &c, &gh, "good-code", false).await,
            "/oops?error=account_not_linked"
        );
        // Nor does an unverified provider email link.
        {
            let mut g = gh.lock().unwrap();
            g.id = 3;
            g.email = "dev@example.com".into();
            g.verified = false;
        }
        let d = browser(&server);
        assert_eq!(
            round(&server, &d, &gh, "good-code", false).await,
            "/oops?error=account_not_linked"
        );
        let (_, s, _) = get(&d, &server, "/api/auth/get-session").await;
        assert_eq!(s, Value::Null);
        server.stop().await;
    }
}

crate::per_database! {
    async fn bad_state_wrong_or_missing_verifier_and_foreign_urls_are_refused(backend) {
        let (server, gh) = start(backend).await;
        {
            let mut g = gh.lock().unwrap();
            g.id = 7;
            g.email = "seven@example.com".into();
            g.verified = true;
        }
        let b = browser(&server);
        assert_eq!(
            round(&server, &b, &gh, "good-code", true).await,
            format!("{}/api/auth/error?error=state_mismatch", server.url)
        );
        // A code the provider refuses (wrong code or verifier) ends in invalid_code.
        let c = browser(&server);
        assert_eq!(
            round(&server, &c, &gh, "stolen-code", false).await,
            "/oops?error=invalid_code"
        );
        // The right code with another flow's verifier: the provider refuses it.
        let w = browser(&server);
        let (_, body, _) = post(
            &w,
            &server,
            "/api/auth/sign-in/social",
            json!({"provider": "github", "errorCallbackURL": "/oops"}),
        )
        .await;
        let state = query_param(body["url"].as_str().unwrap(), "state");
        gh.lock().unwrap().challenge = "challenge-of-another-flow".into();
        assert_eq!(
            callback(&server, &w, "good-code", &state).await,
            "/oops?error=invalid_code"
        );
        // With the stored verifier gone, the callback stops before the provider.
        let m = browser(&server);
        let (_, body, _) = post(
            &m,
            &server,
            "/api/auth/sign-in/social",
            json!({"provider": "github"}),
        )
        .await;
        let url = body["url"].as_str().unwrap().to_string();
        let state = query_param(&url, "state");
        gh.lock().unwrap().challenge = query_param(&url, "code_challenge");
        let row = format!(
            "{}:{}",
            ::auth::social::STATE_PURPOSE,
            ::auth::crypto::token_hash(&state)
        );
        let gone = common::on_db!(&server.db, pool => sqlx::query(
            "DELETE FROM verification WHERE identifier = $1").bind(&row).execute(pool).await.unwrap().rows_affected());
        assert_eq!(
            gone, 1,
            "the verifier lives in the state's verification row"
        );
        assert_eq!(
            callback(&server, &m, "good-code", &state).await,
            format!("{}/api/auth/error?error=state_mismatch", server.url)
        );
        let (_, session, _) = get(&m, &server, "/api/auth/get-session").await;
        assert!(session.is_null(), "no session without the verifier");
        // The state cookie must come from the same browser.
        let (_, body, _) = post(
            &browser(&server),
            &server,
            "/api/auth/sign-in/social",
            json!({"provider": "github"}),
        )
        .await;
        let url = url::Url::parse(body["url"].as_str().unwrap()).unwrap();
        let state = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .to_string();
        assert_eq!(
            callback(&server, &browser(&server), "good-code", &state).await,
            format!("{}/api/auth/error?error=state_mismatch", server.url)
        );
        // Redirect targets are allow-listed; unknown providers are 404.
        for (field, code) in [
            ("callbackURL", "INVALID_CALLBACK_URL"),
            ("errorCallbackURL", "INVALID_ERROR_CALLBACK_URL"),
            ("newUserCallbackURL", "INVALID_NEW_USER_CALLBACK_URL"),
        ] {
            let (s, body, _) = post(
                &browser(&server),
                &server,
                "/api/auth/sign-in/social",
                json!({"provider": "github", field: "https://evil.example/x"}),
            )
            .await;
            assert_eq!((s, body["code"].as_str()), (403, Some(code)));
        }
        let (s, body, _) = post(
            &browser(&server),
            &server,
            "/api/auth/sign-in/social",
            json!({"provider": "myspace"}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (404, Some("PROVIDER_NOT_FOUND"))
        );
        let res = browser(&server)
            .get(server.at("/api/auth/callback/github?code=x"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.headers()["location"].to_str().unwrap(),
            format!("{}/api/auth/error?error=state_not_found", server.url)
        );
        let page = text_at(&plain(), server.at("/api/auth/error?error=state_mismatch")).await;
        assert!(page.contains("state_mismatch"));
        server.stop().await;
    }
}

async fn link_round(server: &TestServer, b: &reqwest::Client, gh: &Shared) -> String {
    let (s, body, _) = post(
        b,
        server,
        "/api/auth/link-social",
        json!({"provider": "github", "callbackURL": "/account", "errorCallbackURL": "/account"}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let url = url::Url::parse(body["url"].as_str().unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    gh.lock().unwrap().challenge = q["code_challenge"].clone();
    callback(server, b, "good-code", &q["state"]).await
}

crate::per_database! {
    async fn a_signed_in_user_links_and_unlinks_but_never_the_last_method(backend) {
        let (server, gh) = start(backend).await;
        let b = verified_user(&server, "linker@example.com").await;
        {
            let mut g = gh.lock().unwrap();
            g.id = 99;
            g.email = "someone-else@example.com".into();
            g.verified = true;
        }
        assert_eq!(
            link_round(&server, &b, &gh).await,
            "/account?error=email_does_not_match"
        );
        gh.lock().unwrap().email = "linker@example.com".into();
        assert_eq!(link_round(&server, &b, &gh).await, "/account");
        let (_, accounts, _) = get(&b, &server, "/api/auth/list-accounts").await;
        let github = accounts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["providerId"] == "github")
            .expect("linked")
            .clone();
        let credential = accounts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["providerId"] == "credential")
            .unwrap()
            .clone();
        assert_eq!(github["accountId"], "99");

        // The GitHub account cannot be linked to a second user.
        let other = verified_user(&server, "other@example.com").await;
        gh.lock().unwrap().email = "other@example.com".into();
        assert_eq!(
            link_round(&server, &other, &gh).await,
            "/account?error=account_already_linked_to_different_user"
        );

        let (s, body, _) = post(
            &b,
            &server,
            "/api/auth/unlink-account",
            json!({"accountId": "missing"}),
        )
        .await;
        assert_eq!((s, body["code"].as_str()), (400, Some("ACCOUNT_NOT_FOUND")));
        let (s, _, _) = post(
            &b,
            &server,
            "/api/auth/unlink-account",
            json!({"accountId": github["id"]}),
        )
        .await;
        assert_eq!(s, 200);
        let (s, body, _) = post(
            &b,
            &server,
            "/api/auth/unlink-account",
            json!({"accountId": credential["id"]}),
        )
        .await;
        assert_eq!(
            (s, body["code"].as_str()),
            (400, Some("FAILED_TO_UNLINK_LAST_ACCOUNT"))
        );
        let (_, accounts, _) = get(&b, &server, "/api/auth/list-accounts").await;
        assert_eq!(accounts.as_array().unwrap().len(), 1);
        let (n,): (i64,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM auth_event_log WHERE event_type IN ('oauth_link', 'oauth_unlink')").fetch_one(pool).await.unwrap());
        assert_eq!(n, 2);
        let (s, _, _) = post(
            &plain(),
            &server,
            "/api/auth/link-social",
            json!({"provider": "github"}),
        )
        .await;
        assert_eq!(s, 401);
        server.stop().await;
    }
}

crate::per_database! {
    async fn linked_github_tokens_are_handed_out_and_refreshed(backend) {
        let (server, gh) = start(backend).await;
        {
            let mut g = gh.lock().unwrap();
            g.id = 77;
            g.email = "octo@example.com".into();
            g.verified = true;
        }
        let b = browser(&server);
        assert_eq!(round(&server, &b, &gh, "good-code", false).await, "/welcome");
        let (_, accounts, _) = get(&b, &server, "/api/auth/list-accounts").await;
        let account_id = accounts[0]["id"].as_str().unwrap().to_string();
        assert_eq!(accounts[0]["providerId"], "github");

        let (s, t, _) = post(&b, &server, "/api/auth/get-access-token", json!({"accountId": account_id})).await;
        assert_eq!(s, 200, "{t}");
        assert_eq!(t["accessToken"], "gho_secret_token");
        assert_eq!(t["scopes"], json!(["read:user", "user:email"]));
        assert!(t["accessTokenExpiresAt"].as_str().unwrap().ends_with('Z'));
        assert_eq!(gh.lock().unwrap().refreshes, 0, "a live token is not refreshed");

        // Eight hours on, GitHub's token has expired: it is refreshed first.
        server.clock.advance(chrono::Duration::hours(9));
        let (s, t, _) = post(&b, &server, "/api/auth/get-access-token", json!({"accountId": account_id})).await;
        assert_eq!(s, 200, "{t}");
        assert_eq!(t["accessToken"], "gho_refreshed_1");
        assert_eq!(gh.lock().unwrap().refreshes, 1);
        // 1.6 clients name the provider instead.
        let (s, t, _) = post(&b, &server, "/api/auth/get-access-token", json!({"providerId": "github"})).await;
        assert_eq!((s, t["accessToken"].as_str()), (200, Some("gho_refreshed_1")));

        let (s, r, _) = post(&b, &server, "/api/auth/refresh-token", json!({"accountId": account_id})).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["accessToken"], "gho_refreshed_2");
        assert_eq!(r["refreshToken"], "ghr_refresh_3");
        assert_eq!(r["providerId"], "github");
        assert_eq!(r["accountId"], account_id.as_str());
        assert!(r["accessTokenExpiresAt"].is_string() && r["refreshTokenExpiresAt"].is_string());
        let (stored,): (Option<String>,) = common::on_db!(&server.db, pool => sqlx::query_as(
            "SELECT refresh_token FROM account WHERE provider_id = 'github'").fetch_one(pool).await.unwrap());
        assert!(!stored.unwrap().contains("ghr_refresh"), "refresh tokens are stored encrypted");

        let (s, info, _) = get(&b, &server, &format!("/api/auth/account-info?accountId={account_id}")).await;
        assert_eq!(s, 200, "{info}");
        assert_eq!(info["user"]["email"], "octo@example.com");
        assert_eq!(info["user"]["emailVerified"], true);
        assert_eq!(info["user"]["id"], "77");
        assert_eq!(info["data"]["login"], "octo");
        assert_eq!(info["account"]["providerId"], "github");
        assert_eq!(info["account"]["accountId"], "77");

        // Refusals, in Better-Auth's codes.
        let (s, e, _) = post(&b, &server, "/api/auth/get-access-token", json!({"accountId": "nope"})).await;
        assert_eq!((s, e["code"].as_str()), (400, Some("ACCOUNT_NOT_FOUND")));
        let (s, e, _) = post(&b, &server, "/api/auth/get-access-token", json!({"accountId": account_id, "extra": 1})).await;
        assert_eq!((s, e["code"].as_str()), (400, Some("VALIDATION_ERROR")));
        let (s, _, _) = post(&plain(), &server, "/api/auth/get-access-token", json!({"accountId": account_id})).await;
        assert_eq!(s, 401);
        let (s, e, _) = get(&b, &server, "/api/auth/account-info?accountId=nope").await;
        assert_eq!((s, e["code"].as_str()), (400, Some("ACCOUNT_NOT_FOUND")));
        let (s, e, _) = get(&b, &server, "/api/auth/account-info").await;
        assert_eq!((s, e["code"].as_str()), (400, Some("VALIDATION_ERROR")));

        // A refresh GitHub refuses, and an expired token with no way to refresh it.
        gh.lock().unwrap().refuse_refresh = true;
        let (s, e, _) = post(&b, &server, "/api/auth/refresh-token", json!({"accountId": account_id})).await;
        assert_eq!((s, e["code"].as_str()), (400, Some("FAILED_TO_REFRESH_ACCESS_TOKEN")));
        server.clock.advance(chrono::Duration::hours(9));
        let (s, e, _) = post(&b, &server, "/api/auth/get-access-token", json!({"accountId": account_id})).await;
        assert_eq!((s, e["code"].as_str()), (400, Some("FAILED_TO_GET_ACCESS_TOKEN")));
    }
}
