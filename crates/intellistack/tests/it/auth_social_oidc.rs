//! Sign-in with Google (or any OpenID Connect issuer). The "Google" here is a
//! second IntelliStack instance acting as the OpenID Connect provider — a
//! real implementation of discovery, PKCE, ID tokens and JWKS.

use serde_json::{Value, json};

use crate::support::auth::*;
use crate::support::{Backend, Options, TestServer};

/// The issuer (a second server) with a trusted client for the relying party.
struct Issuer {
    server: TestServer,
    admin: reqwest::Client,
    client_id: String,
    client_secret: String,
}

async fn issuer() -> Issuer {
    let server = TestServer::start(Backend::Sqlite).await;
    let admin = admin(&server, "root@issuer.example").await;
    let (s, reg, _) = post(
        &admin,
        &server,
        "/api/auth/oauth2/register",
        json!({
            "redirect_uris": ["http://127.0.0.1/placeholder"],
            "token_endpoint_auth_method": "client_secret_basic",
            "skip_consent": true,
        }),
    )
    .await;
    assert_eq!(s, 201, "{reg}");
    Issuer {
        client_id: reg["client_id"].as_str().unwrap().into(),
        client_secret: reg["client_secret"].as_str().unwrap().into(),
        server,
        admin,
    }
}

/// The relying party, configured for the issuer as "google", and the
/// issuer's client pointed at its callback.
async fn relying_party(backend: Backend, idp: &Issuer, extra: &[(&str, &str)]) -> TestServer {
    let mut opts = Options::default()
        .var("GOOGLE_CLIENT_ID", &idp.client_id)
        .var("GOOGLE_CLIENT_SECRET", &idp.client_secret)
        .var("GOOGLE_ISSUER", idp.server.at("/api/auth"));
    for (k, v) in extra {
        opts = opts.var(k, *v);
    }
    let rp = TestServer::start_with(backend, opts).await;
    let (s, body, _) = post(
        &idp.admin,
        &idp.server,
        "/api/auth/oauth2/update-client",
        json!({"client_id": idp.client_id, "update": {"redirect_uris": [rp.at("/api/auth/callback/google")]}}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    rp
}

/// A person signed in at the issuer.
async fn person(idp: &Issuer, email: &str) -> reqwest::Client {
    verified_user(&idp.server, email).await
}

fn location(h: &reqwest::header::HeaderMap) -> String {
    h.get("location").unwrap().to_str().unwrap().to_string()
}

/// Runs the browser's part: start at the RP, authorize at the issuer, come
/// back. Returns the RP's final redirect and the RP browser.
async fn sign_in_with_google(
    rp: &TestServer,
    idp: &Issuer,
    at_idp: &reqwest::Client,
    rp_browser: reqwest::Client,
    path: &str,
) -> (String, reqwest::Client) {
    let (s, body, _) = post(
        &rp_browser,
        rp,
        path,
        json!({"provider": "google", "callbackURL": "/dashboard", "errorCallbackURL": "/login"}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let authorize = body["url"].as_str().unwrap();
    assert!(
        authorize.starts_with(&idp.server.at("/api/auth/oauth2/authorize?")),
        "{authorize}"
    );
    assert!(authorize.contains("nonce="), "an OIDC nonce is sent");
    let res = at_idp.get(authorize).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let back = location(res.headers());
    assert!(
        back.starts_with(&rp.at("/api/auth/callback/google?")),
        "{back}"
    );
    let res = rp_browser.get(&back).send().await.unwrap();
    assert_eq!(res.status(), 302);
    (location(res.headers()), rp_browser)
}

/// Starts signing in with `provider` in a fresh RP browser and lets the
/// issuer authorize it; returns the browser and the issuer's redirect back.
async fn authorized_at_issuer(
    rp: &TestServer,
    at_idp: &reqwest::Client,
    provider: &str,
) -> (reqwest::Client, String) {
    let b = browser(rp);
    let (_, body, _) = post(
        &b,
        rp,
        "/api/auth/sign-in/social",
        json!({"provider": provider, "callbackURL": "/dashboard"}),
    )
    .await;
    let res = at_idp
        .get(body["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    (b, location(res.headers()))
}

async fn rp_user(rp: &TestServer, b: &reqwest::Client) -> Value {
    let (_, body, _) = get(b, rp, "/api/auth/get-session").await;
    body["user"].clone()
}

#[tokio::test]
async fn first_and_returning_sign_in_with_an_oidc_issuer() {
    let idp = issuer().await;
    for backend in Backend::ALL {
        let rp = relying_party(backend, &idp, &[]).await;
        let email = format!("grace-{backend:?}@example.com").to_lowercase();
        let at_idp = person(&idp, &email).await;

        let (to, b) =
            sign_in_with_google(&rp, &idp, &at_idp, browser(&rp), "/api/auth/sign-in/social").await;
        assert_eq!(to, "/dashboard");
        let user = rp_user(&rp, &b).await;
        assert_eq!(user["email"], email.as_str());
        assert_eq!(
            user["emailVerified"], true,
            "the issuer vouched for the email"
        );
        assert_eq!(user["name"], "Test User");

        let (to, b2) =
            sign_in_with_google(&rp, &idp, &at_idp, browser(&rp), "/api/auth/sign-in/social").await;
        assert_eq!(to, "/dashboard");
        assert_eq!(
            rp_user(&rp, &b2).await["id"],
            user["id"],
            "a returning user gets the same account"
        );
        let (_, accounts, _) = get(&b2, &rp, "/api/auth/list-accounts").await;
        assert_eq!(accounts.as_array().unwrap().len(), 1);
        assert_eq!(accounts[0]["providerId"], "google");
        rp.stop().await;
    }
}

#[tokio::test]
async fn linking_to_existing_accounts_and_refusals() {
    let idp = issuer().await;
    let rp = relying_party(Backend::Sqlite, &idp, &[]).await;

    // A verified local account with the same email is linked.
    let local = verified_user(&rp, "linus@example.com").await;
    let local_id = rp_user(&rp, &local).await["id"].clone();
    let at_idp = person(&idp, "linus@example.com").await;
    let (to, b) =
        sign_in_with_google(&rp, &idp, &at_idp, browser(&rp), "/api/auth/sign-in/social").await;
    assert_eq!(to, "/dashboard");
    assert_eq!(rp_user(&rp, &b).await["id"], local_id);

    // An unverified local account is not taken over.
    let fresh = browser(&rp);
    let (s, _, _) = email_sign_up(&fresh, &rp, "Mallory", "mal@example.com", PASSWORD).await;
    assert_eq!(s, 200);
    let at_idp = person(&idp, "mal@example.com").await;
    let (to, _) =
        sign_in_with_google(&rp, &idp, &at_idp, browser(&rp), "/api/auth/sign-in/social").await;
    assert_eq!(to, "/login?error=account_not_linked");

    // link-social adds the provider to the signed-in account.
    let other = verified_user(&rp, "olga@example.com").await;
    let at_idp = person(&idp, "olga@example.com").await;
    let (to, other) = sign_in_with_google(&rp, &idp, &at_idp, other, "/api/auth/link-social").await;
    assert_eq!(to, "/dashboard");
    let (_, accounts, _) = get(&other, &rp, "/api/auth/list-accounts").await;
    let providers: Vec<&str> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["providerId"].as_str().unwrap())
        .collect();
    assert!(
        providers.contains(&"google") && providers.contains(&"credential"),
        "{providers:?}"
    );
    rp.stop().await;
}

#[tokio::test]
async fn tampered_callbacks_are_refused() {
    let idp = issuer().await;
    let rp = relying_party(Backend::Sqlite, &idp, &[]).await;
    let at_idp = person(&idp, "eve@example.com").await;
    let (b, back) = authorized_at_issuer(&rp, &at_idp, "google").await;

    // A response claiming another issuer (mix-up attack).
    let mixed = back.replace("iss=http", "iss=https%3A%2F%2Fevil.example%2F&x=http");
    let res = b.get(&mixed).send().await.unwrap();
    assert!(
        location(res.headers()).contains("error=issuer_mismatch"),
        "{}",
        location(res.headers())
    );

    // The state was consumed by that attempt: the genuine callback fails too.
    let res = b.get(&back).send().await.unwrap();
    assert!(location(res.headers()).contains("error=state_mismatch"));

    // A foreign callback URL is refused up front.
    let (s, body, _) = post(
        &b,
        &rp,
        "/api/auth/sign-in/social",
        json!({"provider": "google", "callbackURL": "https://evil.example/"}),
    )
    .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (403, Some("INVALID_CALLBACK_URL"))
    );
    rp.stop().await;
}

#[tokio::test]
async fn generic_oidc_providers_are_configured_by_issuer() {
    let idp = issuer().await;
    let entry = format!(
        "acme|{}|{}|{}",
        idp.server.at("/api/auth"),
        idp.client_id,
        idp.client_secret
    );
    let rp = TestServer::start_with(
        Backend::Sqlite,
        Options::default().var("SOCIAL_OIDC_PROVIDERS", entry),
    )
    .await;
    let (s, body, _) = post(
        &idp.admin,
        &idp.server,
        "/api/auth/oauth2/update-client",
        json!({"client_id": idp.client_id, "update": {"redirect_uris": [rp.at("/api/auth/callback/acme")]}}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let at_idp = person(&idp, "ann@example.com").await;
    let (b, back) = authorized_at_issuer(&rp, &at_idp, "acme").await;
    let res = b.get(back).send().await.unwrap();
    assert_eq!(location(res.headers()), "/dashboard");
    assert_eq!(rp_user(&rp, &b).await["email"], "ann@example.com");
    rp.stop().await;
}

crate::per_database! {
    async fn an_oidc_account_hands_out_and_refreshes_its_tokens(backend) {
        let idp = issuer().await;
        let rp = relying_party(backend, &idp, &[]).await;
        let at_idp = person(&idp, "tokens@example.com").await;
        let (to, b) =
            sign_in_with_google(&rp, &idp, &at_idp, browser(&rp), "/api/auth/sign-in/social").await;
        assert_eq!(to, "/dashboard");
        let (_, accounts, _) = get(&b, &rp, "/api/auth/list-accounts").await;
        let account_id = accounts[0]["id"].as_str().unwrap().to_string();

        let (s, t, _) = post(&b, &rp, "/api/auth/get-access-token", json!({"accountId": account_id})).await;
        assert_eq!(s, 200, "{t}");
        let first = t["accessToken"].as_str().unwrap().to_string();
        assert!(t["idToken"].as_str().unwrap().split('.').count() == 3, "the ID token is kept");
        // The issuer's userinfo answers for the stored token.
        let (s, info, _) = get(&b, &rp, &format!("/api/auth/account-info?accountId={account_id}")).await;
        assert_eq!(s, 200, "{info}");
        assert_eq!(info["user"]["email"], "tokens@example.com");
        assert_eq!(info["account"]["providerId"], "google");

        // offline_access was asked for, so the issuer gave a refresh token.
        let (s, r, _) = post(&b, &rp, "/api/auth/refresh-token", json!({"accountId": account_id})).await;
        assert_eq!(s, 200, "{r}");
        let refreshed = r["accessToken"].as_str().unwrap().to_string();
        assert_ne!(refreshed, first);
        assert!(r["refreshToken"].is_string());
        let (s, info, _) = get(&b, &rp, &format!("/api/auth/account-info?accountId={account_id}")).await;
        assert_eq!(s, 200, "the new access token works at the issuer: {info}");
        // Past the access token's hour, get-access-token refreshes by itself.
        rp.clock.advance(chrono::Duration::hours(2));
        idp.server.clock.advance(chrono::Duration::hours(2));
        let (s, t, _) = post(&b, &rp, "/api/auth/get-access-token", json!({"accountId": account_id})).await;
        assert_eq!(s, 200, "{t}");
        assert_ne!(t["accessToken"].as_str().unwrap(), refreshed);
    }
}
