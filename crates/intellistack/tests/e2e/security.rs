//! Second factors in a real browser: turning two-factor on from the account
//! page and signing in with it; registering a passkey and signing in with it
//! through Chromium's WebDriver virtual authenticator; the impersonation
//! banner. Each new page and state goes through the page checks and is
//! photographed.

use common::Clock as _;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{Value, json};

use crate::browser::{Browser, run};
use crate::support::auth::{PASSWORD, admin as signed_in_admin, verified_user};
use crate::support::{Backend, Options, TestServer};

async fn sign_in_with_password(b: &Browser, email: &str) {
    b.goto("/login").await;
    b.submit_sign_in(email, PASSWORD).await;
}

#[tokio::test]
async fn two_factor_is_turned_on_from_the_account_page_and_asked_at_sign_in() {
    let server = TestServer::start(Backend::Sqlite).await;
    verified_user(&server, "totp.user@example.com").await;
    let srv = &server;
    run("two-factor", &server.url, |b| async move {
        sign_in_with_password(&b, "totp.user@example.com").await;
        b.wait_path("/dashboard").await;
        b.goto("/account#two-factor").await;
        b.wait("#tf-enable").await;
        b.shots("account-two-factor-off").await;
        b.fill("#tf-password", PASSWORD).await;
        b.click("#tf-enable button[type=submit]").await;
        b.wait_path("/account/two-factor").await;
        b.wait_js(
            "the backup codes",
            "document.querySelectorAll('#backup-codes li').length === 10",
        )
        .await;
        b.wait("figure.qr svg").await;
        b.shots("totp-setup").await;
        // The test is the authenticator app: it reads the key it was shown.
        let key = b.text("code.key").await;
        let uri = format!("otpauth://totp/IntelliStack:x?secret={key}");
        let code = auth::two_factor::code_for_uri(&uri, srv.clock.now()).unwrap();
        b.fill("#code", &code).await;
        b.click("#confirm-form button[type=submit]").await;
        b.wait_path("/account?two-factor=on").await;
        b.wait("#tf-disable").await;
        b.shots("account-two-factor-on").await;

        b.click("[data-action=sign-out]").await;
        b.wait_path("/login").await;
        sign_in_with_password(&b, "totp.user@example.com").await;
        b.wait_path("/two-factor").await;
        b.wait("#code-form").await;
        b.shots("two-factor-step").await;
        // A wrong code is refused on the page.
        b.fill("#code", "000000").await;
        b.click("#code-form button[type=submit]").await;
        b.wait_js(
            "the refusal",
            "!document.getElementById('form-error').hidden",
        )
        .await;
        // The next step's code (the enrolment one is spent).
        srv.clock.advance(chrono::Duration::seconds(30));
        let code = auth::two_factor::code_for_uri(&uri, srv.clock.now()).unwrap();
        b.fill("#code", &code).await;
        b.click("#code-form button[type=submit]").await;
        b.wait_path("/dashboard").await;
        b
    })
    .await;
}

/// A WebDriver extension command (WebAuthn virtual authenticators).
#[derive(Debug)]
struct WebAuthnCommand {
    path: String,
    body: Option<Value>,
    method: axum::http::Method,
}

impl WebDriverCompatibleCommand for WebAuthnCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}

/// Adds a platform authenticator that holds passkeys and verifies the user.
async fn virtual_authenticator(b: &Browser) -> String {
    let answer = b
        .client
        .issue_cmd(WebAuthnCommand {
            path: "authenticator".into(),
            method: axum::http::Method::POST,
            body: Some(json!({
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserConsenting": true,
                "isUserVerified": true,
            })),
        })
        .await
        .expect("chromedriver adds a virtual authenticator");
    answer.as_str().expect("an authenticator id").to_string()
}

async fn stored_credentials(b: &Browser, id: &str) -> Vec<Value> {
    b.client
        .issue_cmd(WebAuthnCommand {
            path: format!("authenticator/{id}/credentials"),
            method: axum::http::Method::GET,
            body: None,
        })
        .await
        .expect("list the virtual authenticator's credentials")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The signed-in page's passkeys, read as its own script would.
async fn passkeys_of(b: &Browser) -> Vec<Value> {
    let list = b
        .js("return fetch('/api/auth/passkey/list-user-passkeys').then(r => r.json());")
        .await;
    list.as_array().cloned().unwrap_or_default()
}

async fn set_user_verified(b: &Browser, id: &str, verified: bool) {
    b.client
        .issue_cmd(WebAuthnCommand {
            path: format!("authenticator/{id}/uv"),
            method: axum::http::Method::POST,
            body: Some(json!({"isUserVerified": verified})),
        })
        .await
        .expect("set user verification on the virtual authenticator");
}

#[tokio::test]
async fn a_passkey_is_registered_and_signs_in_through_the_virtual_authenticator() {
    // WebAuthn wants a host name: the browser visits http://localhost:PORT.
    let server = TestServer::start_with(
        Backend::Sqlite,
        Options {
            host: Some("localhost".into()),
            ..Default::default()
        },
    )
    .await;
    verified_user(&server, "passkey.user@example.com").await;
    run("passkey", &server.url, |b| async move {
        let authenticator = virtual_authenticator(&b).await;
        sign_in_with_password(&b, "passkey.user@example.com").await;
        b.wait_path("/dashboard").await;
        b.goto("/account#passkeys").await;
        b.fill("#pk-name", "Test laptop").await;
        b.click("#pk-add button[type=submit]").await;
        b.wait("#passkey-list li").await;
        assert!(b.text("#passkey-list").await.contains("Test laptop"));
        let creds = stored_credentials(&b, &authenticator).await;
        assert_eq!(creds.len(), 1, "the authenticator holds the new passkey");
        assert_eq!(creds[0]["isResidentCredential"], true);
        b.shots("account-passkeys").await;
        let registered = passkeys_of(&b).await[0]["counter"].as_i64().unwrap();

        // Renaming from the list.
        b.js("window.prompt = () => 'Work laptop';").await;
        b.click("[data-rename-passkey]").await;
        b.wait_js(
            "the new name",
            "document.getElementById('passkey-list').textContent.includes('Work laptop')",
        )
        .await;

        // Signed out, the login page offers the passkey in the email field's
        // autofill (conditional UI); the virtual authenticator picks it at once.
        b.click("[data-action=sign-out]").await;
        b.wait_path("/dashboard").await;
        let after_autofill = passkeys_of(&b).await[0]["counter"].as_i64().unwrap();
        assert!(
            after_autofill > registered,
            "signed in with the passkey from the autofill"
        );

        // With the device unable to verify the user, the autofill cannot
        // finish and the button is there; once it can, the button signs in.
        set_user_verified(&b, &authenticator, false).await;
        b.click("[data-action=sign-out]").await;
        b.wait_path("/login").await;
        b.wait("#passkey-button").await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(b.path().await.starts_with("/login"), "still signed out");
        b.shots("login-with-passkey").await;
        set_user_verified(&b, &authenticator, true).await;
        b.click("#passkey-button").await;
        b.wait_path("/dashboard").await;
        let list = passkeys_of(&b).await;
        assert!(
            list[0]["counter"].as_i64().unwrap() > after_autofill,
            "signed in with the passkey from the button"
        );
        assert_eq!(list[0]["name"], "Work laptop");
        b
    })
    .await;
}

#[tokio::test]
async fn an_admin_acting_as_a_student_sees_a_banner_with_the_way_back() {
    let server = TestServer::start(Backend::Sqlite).await;
    let admin = signed_in_admin(&server, "head@example.com").await;
    drop(admin);
    let student = verified_user(&server, "acted.on@example.com").await;
    let (_, who, _) = crate::support::auth::get(&student, &server, "/api/auth/get-session").await;
    let student_id = who["user"]["id"].as_str().unwrap().to_string();
    run("impersonation", &server.url, |b| async move {
        sign_in_with_password(&b, "head@example.com").await;
        b.wait_path("/dashboard").await;
        b.goto("/admin").await;
        b.accept_confirms().await;
        b.click(&format!("[data-impersonate='{student_id}']")).await;
        b.wait_path("/dashboard").await;
        b.wait("#acting-banner").await;
        assert!(
            b.text("#acting-banner")
                .await
                .contains("acted.on@example.com")
        );
        b.shots("impersonation-banner").await;
        b.click("[data-action=stop-impersonating]").await;
        b.wait_path("/admin").await;
        assert!(
            b.client
                .find(fantoccini::Locator::Css("#acting-banner"))
                .await
                .is_err(),
            "back as the admin"
        );
        b
    })
    .await;
}
