//! What a student, an instructor and an admin do, in a real browser.

use serde_json::json;

use crate::browser::{Browser, run};
use crate::support::auth::{
    PASSWORD, admin as signed_in_admin, link_in, mails_to, post, verified_user,
};
use crate::support::fake_llm::{Script, server_with_model};
use crate::support::{Backend, Options, TestServer};

/// A verified student with the test password, made through the auth service.
async fn add_student(server: &TestServer, email: &str, name: &str) {
    crate::support::auth::create_verified(server, email, name, "student").await;
}

/// Enrols through the dashboard and opens the first lesson.
async fn open_first_lesson(b: &Browser) {
    b.goto("/dashboard").await;
    if b.client
        .find(fantoccini::Locator::Css("[data-enrol]"))
        .await
        .is_ok()
    {
        b.click("[data-enrol]").await;
        b.wait(".stages").await;
    }
    // Staff find the lessons under the outline of the courses they teach.
    b.js("document.querySelectorAll('details.outline').forEach(d => d.open = true)")
        .await;
    b.click(".lessons a").await;
    b.wait_path("/learn/").await;
    b.wait("#lesson").await;
}

/// Selects the text of the lesson's first paragraph, as a user dragging would.
async fn select_first_paragraph(b: &Browser) -> String {
    b.js(r#"const p = document.querySelector('.lesson-body p');
               const r = document.createRange(); r.selectNodeContents(p);
               const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
               return p.textContent.trim();"#)
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn register_verify_learn_ask_and_sign_out() {
    let (server, fake) = server_with_model(Backend::Sqlite, &[]).await;
    fake.push(Script::Text(
        vec![
            "Before I explain, look again at the paragraph you picked. ",
            "It says every decision rests on measurements. ",
            "Think about a distance sensor on a small robot that drives toward a wall. ",
            "Its readings jump a few centimetres up and down even when nothing moves. ",
            "The controller has to decide when to brake using only those numbers. ",
            "What do you think happens when the **sensor** ",
            "reading is noisy? [1]",
        ],
        300,
    ));
    let email = "new.student@example.com";
    let (srv, model) = (&server, &fake);
    run("journey", &server.url, |b| async move {
        let (server, fake) = (srv, model);
        b.goto("/register").await;
        b.shots("register").await;
        b.fill("#name", "New Student").await;
        b.fill("#email", email).await;
        b.fill("#password", "short").await;
        b.wait_true("the meter shows unmet rules", "document.querySelectorAll('#password-rules li.met').length < 5")
            .await;
        b.fill("#password", PASSWORD).await;
        b.wait_js("every rule met", "document.querySelectorAll('#password-rules li.met').length === 5")
            .await;
        b.click("#register-form button[type=submit]").await;
        b.wait_path("/verify-email").await;
        b.shots("verify-email").await;

        let mails = mails_to(server, email);
        assert_eq!(mails.len(), 1, "one verification mail");
        b.goto(&link_in(&mails[0])).await;
        b.wait_path("/verify-email?verified").await;
        assert!(b.text("h1").await.contains("verified"));

        b.sign_in(email).await;
        b.client.refresh().await.unwrap();
        b.wait_path("/dashboard").await;
        assert!(b.text("h1").await.contains("New Student"), "the session persists");

        open_first_lesson(&b).await;
        let quoted = select_first_paragraph(&b).await;
        b.wait_js("the Ask AI button", "!document.getElementById('ask-ai').hidden")
            .await;
        b.shot("ask-ai-desktop").await;
        b.click("#ask-ai").await;
        b.wait_js("the panel", "!document.getElementById('chat-panel').hidden")
            .await;
        let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(squash(&b.text("#chat-quote").await), squash(&quoted));
        b.click("#chat-send").await;
        b.wait_js(
            "a partial reply, streaming",
            "(t => t.length > 0 && !t.includes('noisy?'))(document.querySelector('.msg.assistant')?.textContent || '')",
        )
        .await;
        b.wait_true(
            "the streamed answer",
            "(document.querySelector('.msg.assistant')?.textContent || '').includes('reading is noisy?')",
        )
        .await;
        let html: String = b.js("return document.querySelector('.msg.assistant').innerHTML").await
            .as_str()
            .unwrap()
            .to_string();
        assert!(html.contains("<strong>sensor</strong>"), "rendered as Markdown: {html}");
        b.wait_js(
            "a citation linking to the lesson",
            "document.querySelector('.msg.assistant .sources a[href^=\"/learn/\"]')",
        )
        .await;
        b.shots("lesson-chat").await;

        // The question went to the model with the selection and the page.
        let sent = fake.requests();
        let prompt = serde_json::to_string(&sent[0]).unwrap();
        let start: String = squash(&quoted).chars().take(40).collect();
        assert!(squash(&prompt.replace("\\n", " ")).contains(&start), "the selection reached the tutor");

        // After a reload the panel is open again on the same thread.
        b.client.refresh().await.unwrap();
        b.wait_js(
            "the thread, back after the reload",
            "!document.getElementById('chat-panel').hidden && document.querySelectorAll('#chat-messages .msg.assistant').length === 1",
        )
        .await;
        b.click("#chat-threads-box summary").await;
        b.wait("#chat-threads li").await;
        b.click("#chat-threads li button.open").await;
        b.wait_js(
            "the history",
            "document.querySelectorAll('#chat-messages .msg.user').length === 1 && document.querySelectorAll('#chat-messages .msg.assistant').length === 1",
        )
        .await;
        assert!(
            b.text("#chat-threads li time").await.len() > 4,
            "each thread shows when it was last active"
        );
        b.shots("chat-threads").await;
        b.accept_confirms().await;
        b.click("#chat-threads li button.secondary").await;
        b.wait_js("the thread is gone", "document.querySelectorAll('#chat-threads li').length === 0")
            .await;

        b.click("#chat-close").await;
        // The lesson completes by answering its exercises.
        assert!(b.client.find(fantoccini::Locator::Css("#mark-complete")).await.is_err());
        b.click("#exercise-sensor-classes input[value=proprioceptive]").await;
        b.click("#exercise-sensor-classes button[type=submit]").await;
        b.click("#exercise-resolution-vs-accuracy input[value=accuracy]").await;
        b.click("#exercise-resolution-vs-accuracy button[type=submit]").await;
        b.wait_js("completed", "document.querySelector('.lesson-actions .done')")
            .await;
        b.client.refresh().await.unwrap();
        assert!(b.text(".lesson-actions .done").await.contains("Completed"), "stored");

        // Leaving the course closes it on the dashboard; coming back keeps the progress.
        b.goto("/dashboard").await;
        b.accept_confirms().await;
        b.click("[data-leave]").await;
        b.wait("[data-enrol]").await;
        assert!(b.text(".course").await.contains("Start this course"));
        b.click("[data-enrol]").await;
        b.wait("[data-leave]").await;
        assert!(b.text(".course").await.contains("1 of "));
        b.click("[data-action=sign-out]").await;
        b.wait_path("/login").await;
        b.goto("/dashboard").await;
        b.wait_path("/login?next=%2Fdashboard").await;
        b
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn an_admin_promotes_a_student_and_the_editor_appears() {
    let (server, _fake) = server_with_model(Backend::Sqlite, &[]).await;
    verified_user(&server, "stu@example.com").await;
    signed_in_admin(&server, "boss@example.com").await;
    let base = server.url.clone();
    run("promote", &server.url, |student| async move {
        student.sign_in("stu@example.com").await;
        open_first_lesson(&student).await;
        let lesson_path = student.path().await;
        assert!(student.client.find(fantoccini::Locator::LinkText("Edit lesson")).await.is_err());
        let author_path = format!("/author/{}", lesson_path.rsplitn(3, '/').take(2).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("/"));
        student.goto(&author_path).await;
        student.wait_path("/dashboard?notice=staff-only").await;
        assert!(student.text(".alert").await.contains("for instructors"));
        student.goto("/admin").await;
        assert!(student.text("h1").await.contains("Not allowed"), "students get a 403 page");

        let admin = Browser::start(&base).await;
        admin.sign_in("boss@example.com").await;
        admin.goto("/admin").await;
        admin.shots("admin").await;
        admin.js(r#"const row = [...document.querySelectorAll('#users tr')].find(r => r.textContent.includes('stu@example.com'));
                   const sel = row.querySelector('select'); sel.value = 'instructor';
                   sel.dispatchEvent(new Event('change', {bubbles: true}));"#).await;
        admin
            .wait_js(
                "the new role",
                "[...document.querySelectorAll('#users tr')].some(r => r.textContent.includes('stu@example.com') && r.querySelector('select')?.value === 'instructor' && performance.getEntriesByType('navigation')[0].type === 'reload')",
            )
            .await;
        // The admin makes them an instructor of the course in its workspace.
        admin.goto("/teach/physical-ai").await;
        admin.fill("#staff-email", "stu@example.com").await;
        admin.click("#add-staff-form button[type=submit]").await;
        admin
            .wait_js("the new instructor", "document.getElementById('staff-list').textContent.includes('stu@example.com')")
            .await;
        admin.close().await;

        student.goto(&lesson_path).await;
        student.click("a[href^='/teach/physical-ai/lessons/']").await;
        student.wait("#editor-form").await;
        student.shots("editor").await;
        student
            .wait_js("the preview", "document.getElementById('preview').innerHTML.length > 20")
            .await;
        student.fill("#title", "What Robots Sense, revised").await;
        student.click("#editor-form button[type=submit]").await;
        student
            .wait_js("saved", "!document.getElementById('form-status').hidden")
            .await;
        student.goto(&lesson_path).await;
        assert_eq!(student.text("#lesson h1").await, "What Robots Sense, revised");
        student
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn the_daily_limit_message_counts_down() {
    let (server, _fake) = server_with_model(Backend::Sqlite, &[("CHAT_DAILY_LIMIT", "2")]).await;
    verified_user(&server, "busy@example.com").await;
    run("limit", &server.url, |b| async move {
        b.sign_in("busy@example.com").await;
        open_first_lesson(&b).await;
        b.click("#chat-toggle").await;
        for i in 1..=2 {
            b.fill("#chat-input", &format!("Question {i}")).await;
            b.click("#chat-send").await;
            b.wait_js(
                "a reply",
                &format!("document.querySelectorAll('.msg.assistant').length === {i}"),
            )
            .await;
        }
        b.fill("#chat-input", "One more").await;
        b.click("#chat-send").await;
        let text = b
            .wait_js(
                "the limit message",
                "document.getElementById('chat-error').textContent",
            )
            .await;
        let text = text.as_str().unwrap();
        let left = text
            .strip_prefix("You've reached your daily message limit (2/2). Resets in ")
            .and_then(|t| t.strip_suffix("m."))
            .and_then(|t| t.split_once("h "))
            .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)));
        let Some((h, m)) = left else {
            panic!("unexpected limit message: {text}")
        };
        // The window rolls from the first message, a moment ago.
        assert!(m < 60 && (1435..=1440).contains(&(h * 60 + m)), "{text}");
        // The countdown is live: move the page's clock on 90 minutes and watch it follow.
        b.js("const real = Date.now.bind(Date); Date.now = () => real() + 90 * 60_000;")
            .await;
        let later = b
            .wait_js(
                "the countdown to move",
                "(t => / 22h [0-9]+m\\.$/.test(t) ? t : null)\
                 (document.getElementById('chat-error').textContent)",
            )
            .await;
        assert!(
            later.as_str().is_some_and(|t| t.contains("(2/2)")),
            "{later}"
        );
        assert_eq!(
            b.js("return document.getElementById('chat-input').value")
                .await,
            json!("One more"),
            "the refused message is kept"
        );
        b.shot("limit-desktop").await;
        b
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn sign_in_with_an_oidc_provider() {
    // The issuer is a second instance: its own login page signs the person in.
    let idp = TestServer::start(Backend::Sqlite).await;
    let idp_admin = signed_in_admin(&idp, "root@issuer.example").await;
    verified_user(&idp, "oidc.person@example.com").await;
    let (s, reg, _) = post(
        &idp_admin,
        &idp,
        "/api/auth/oauth2/register",
        json!({"redirect_uris": ["http://127.0.0.1/placeholder"], "skip_consent": true}),
    )
    .await;
    assert_eq!(s, 201, "{reg}");
    let rp = TestServer::start_with(
        Backend::Sqlite,
        Options::default()
            .var("GOOGLE_CLIENT_ID", reg["client_id"].as_str().unwrap())
            .var(
                "GOOGLE_CLIENT_SECRET",
                reg["client_secret"].as_str().unwrap(),
            )
            .var("GOOGLE_ISSUER", idp.at("/api/auth")),
    )
    .await;
    let (s, _, _) = post(
        &idp_admin,
        &idp,
        "/api/auth/oauth2/update-client",
        json!({"client_id": reg["client_id"], "update": {"redirect_uris": [rp.at("/api/auth/callback/google")]}}),
    )
    .await;
    assert_eq!(s, 200);
    let idp_url = idp.url.clone();
    run("oidc", &rp.url, |b| async move {
        b.goto("/login").await;
        b.shots("login").await;
        b.click("[data-social=google]").await;
        // At the issuer's own login page, carrying the signed request.
        b.wait_path("/login?").await;
        assert!(
            b.client
                .current_url()
                .await
                .unwrap()
                .as_str()
                .starts_with(&idp_url)
        );
        b.submit_sign_in("oidc.person@example.com", PASSWORD).await;
        b.wait_js(
            "back at the relying party",
            &format!("location.href.startsWith('{}/dashboard')", b.base),
        )
        .await;
        assert!(b.text("h1").await.contains("Test User"));
        b
    })
    .await;
    rp.stop().await;
    idp.stop().await;
}

#[tokio::test]
async fn sign_in_explains_lockout_and_unverified_email() {
    let server = TestServer::start(Backend::Sqlite).await;
    let fresh = crate::support::auth::browser(&server);
    let (s, _, _) = post(
        &fresh,
        &server,
        "/api/auth/sign-up/email",
        json!({"name": "Una", "email": "una@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200);
    verified_user(&server, "lock@example.com").await;
    let srv = &server;
    run("sign-in-messages", &server.url, |b| async move {
        b.goto("/login").await;
        b.submit_sign_in("una@example.com", PASSWORD).await;
        b.wait_js(
            "the unverified message",
            "!document.getElementById('resend-box').hidden",
        )
        .await;
        assert!(b.text("#form-error").await.contains("not verified"));
        b.shots("login-unverified").await;
        // The mail this sign-in sent lands on a page that says the address is verified.
        let mail = crate::support::auth::wait_for_mail(srv, "una@example.com", 2).await;
        let link = link_in(&mail);
        b.goto(&link).await;
        b.wait_path("/verify-email?verified").await;
        assert!(b.text("h1").await.contains("verified"));
        b.goto("/login").await;

        b.fill("#email", "lock@example.com").await;
        for _ in 0..5 {
            b.fill("#password", "Wrong-password-123!").await;
            b.click("#login-form button[type=submit]").await;
            b.wait_js(
                "an answer",
                "!document.querySelector('#login-form button[type=submit]').disabled",
            )
            .await;
        }
        b.wait_true(
            "the lockout message",
            "document.getElementById('form-error').textContent.includes('locked')",
        )
        .await;
        assert!(
            b.text("#form-error")
                .await
                .contains("locked for 30 more minutes"),
            "{}",
            b.text("#form-error").await
        );
        b.shots("login-locked").await;
        b
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn every_page_at_desktop_and_phone_widths() {
    let (server, fake) = server_with_model(Backend::Sqlite, &[]).await;
    for _ in 0..3 {
        fake.push(Script::Text(
            vec!["Which quantity would you measure first?"],
            0,
        ));
    }
    signed_in_admin(&server, "admin@example.com").await;
    let idp_admin = crate::support::auth::browser(&server);
    let (s, _, _) = post(
        &idp_admin,
        &server,
        "/api/auth/sign-in/email",
        json!({"email": "admin@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, reg, _) = post(
        &idp_admin,
        &server,
        "/api/auth/oauth2/register",
        json!({"redirect_uris": [server.at("/notebook/cb")], "client_name": "Lab Notebook", "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_eq!(s, 201);
    let client_id = reg["client_id"].as_str().unwrap().to_string();
    let cb: String =
        url::form_urlencoded::byte_serialize(server.at("/notebook/cb").as_bytes()).collect();
    run("pages", &server.url, |b| async move {
        b.goto("/forgot-password").await;
        b.shots("forgot-password").await;
        b.goto("/reset-password?error=INVALID_TOKEN").await;
        assert!(b.text("h1").await.contains("expired"));
        b.shots("reset-password-expired").await;
        b.goto("/reset-password?token=example-token").await;
        b.shots("reset-password").await;

        b.sign_in("admin@example.com").await;
        open_first_lesson(&b).await;
        b.shots("lesson").await;
        b.click("#chat-toggle").await;
        for (i, q) in ["What is a sensor?", "And noise?"].into_iter().enumerate() {
            b.fill("#chat-input", q).await;
            b.click("#chat-send").await;
            b.wait_js(
                "a reply",
                &format!("document.querySelectorAll('.msg.assistant').length === {} && !document.getElementById('chat-send').disabled", i + 1),
            )
            .await;
        }
        b.goto("/dashboard").await;
        b.shots("dashboard").await;
        b.goto("/account").await;
        b.shots("account").await;
        b.goto("/admin").await;
        b.wait_js("a chart with data", "document.querySelectorAll('.chart rect.bar').length > 0")
            .await;
        b.shots("admin-with-usage").await;
        b.goto("/no-such-page").await;
        b.goto("/learn/no-such-stage/nothing").await;
        assert!(b.text("h1").await.contains("not found"));
        b.shots("not-found").await;

        let authorize = format!(
            "/api/auth/oauth2/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20email%20profile&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbkRCvpPQVLQ&code_challenge_method=S256",
            cb
        );
        b.goto(&authorize).await;
        b.wait_path("/consent?").await;
        assert!(b.text("h1").await.contains("Lab Notebook"));
        b.shots("consent").await;
        b.click("#consent-form button[type=submit]").await;
        b.wait_path("/notebook/cb?code=").await;

        // The account page lists the application and disconnects it.
        b.goto("/account").await;
        let apps = b.text(".apps").await;
        assert!(
            apps.contains("Lab Notebook") && apps.contains("See your email address"),
            "{apps}"
        );
        b.shots("account-apps").await;
        b.accept_confirms().await;
        b.click("[data-revoke-consent]").await;
        b.wait_js("the app to go", "!document.querySelector('.apps li')")
            .await;
        b.goto("/account").await;
        assert!(b.text("main").await.contains("No other application"));
        b.goto(&authorize).await;
        b.wait_path("/consent?").await;
        b
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn chat_keeps_a_message_through_a_lost_connection_and_asks_for_verification() {
    let (server, _fake) = server_with_model(
        Backend::Sqlite,
        &[("AUTH_REQUIRE_EMAIL_VERIFICATION", "false")],
    )
    .await;
    add_student(&server, "steady@example.com", "Steady").await;
    let fresh = crate::support::auth::browser(&server);
    let (s, _, _) = post(
        &fresh,
        &server,
        "/api/auth/sign-up/email",
        json!({"name": "Unverified", "email": "later@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, 200);
    run("chat-errors", &server.url, |b| async move {
        b.sign_in("steady@example.com").await;
        open_first_lesson(&b).await;
        b.click("#chat-toggle").await;
        // The next request to the tutor fails at the network level.
        b.js(r#"const real = window.fetch; let failed = false;
                   window.fetch = (url, init) => {
                     if (!failed && String(url).includes('/api/v1/chatkit') && init && String(init.body).includes('threads.create')) {
                       failed = true; return Promise.reject(new TypeError('network down'));
                     }
                     return real(url, init);
                   };"#).await;
        b.fill("#chat-input", "Why do encoders drift?").await;
        b.click("#chat-send").await;
        b.wait_js("the retry offer", "!document.getElementById('chat-retry').hidden")
            .await;
        assert!(b.text("#chat-error").await.contains("Connection lost"));
        assert_eq!(
            b.js("return document.getElementById('chat-input').value").await,
            json!("Why do encoders drift?"),
            "the message is kept"
        );
        b.click("#chat-retry").await;
        b.wait_js("the answer after the retry", "document.querySelectorAll('.msg.assistant').length === 1")
            .await;
        assert!(b.text(".msg.user").await.contains("Why do encoders drift?"));
        b.click("#chat-close").await;
        b.click("[data-action=sign-out]").await;
        b.wait_path("/login").await;

        b.sign_in("later@example.com").await;
        open_first_lesson(&b).await;
        b.click("#chat-toggle").await;
        b.fill("#chat-input", "Hello?").await;
        b.click("#chat-send").await;
        let shown = b
            .wait_js("the verification message", "document.getElementById('chat-error').textContent")
            .await;
        assert_eq!(shown, json!("Email verification required to use AI tutor"));
        b
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn without_the_auth_role_sign_in_is_unavailable_but_sessions_work() {
    // Pages and the API run; the auth role does not.
    let opts = Options {
        roles: [common::Role::Api, common::Role::Web].into_iter().collect(),
        ..Default::default()
    };
    let server = TestServer::start_with(Backend::Sqlite, opts).await;
    let auth = server.auth();
    add_student(&server, "kept@example.com", "Kept Session").await;
    let session = auth
        .sign_in(
            ::auth::accounts::SignIn {
                email: "kept@example.com".into(),
                password: PASSWORD.into(),
                remember_me: true,
                ..Default::default()
            },
            &Default::default(),
        )
        .await
        .unwrap()
        .signed_in()
        .unwrap();
    // The cookie exactly as the auth role would set it (name=value part).
    let set_cookie = auth.cookies.set(
        ::auth::cookies::SESSION_TOKEN,
        &::auth::cookies::sign(auth.secret(), &session.session.token),
        None,
    );
    let pair = set_cookie.split(';').next().unwrap().to_string();
    run("auth-down", &server.url, |b| async move {
        b.goto("/login").await;
        b.submit_sign_in("kept@example.com", PASSWORD).await;
        let msg = b
            .wait_js(
                "the outage message",
                "document.getElementById('form-error').textContent",
            )
            .await;
        assert_eq!(
            msg,
            json!("Sign-in is temporarily unavailable. Please try again in a few minutes.")
        );
        b.shot("auth-down-desktop").await;

        b.client
            .execute(
                "document.cookie = arguments[0] + '; path=/';",
                vec![json!(pair)],
            )
            .await
            .unwrap();
        b.goto("/dashboard").await;
        assert!(
            b.text("h1").await.contains("Kept Session"),
            "a valid session keeps working"
        );
        b
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn the_tutor_works_from_the_keyboard_and_renews_its_token() {
    use fantoccini::key::Key;
    let (server, fake) = server_with_model(Backend::Sqlite, &[]).await;
    fake.push(Script::Text(vec!["What would you measure first?"], 0));
    fake.push(Script::Text(vec!["Try it and see."], 0));
    verified_user(&server, "keys@example.com").await;
    run("keyboard", &server.url, |b| async move {
        b.sign_in("keys@example.com").await;
        open_first_lesson(&b).await;
        let active = "document.activeElement && document.activeElement.id";
        // Tab from the top of the page reaches the tutor button.
        b.js("document.activeElement.blur(); window.scrollTo(0, 0);").await;
        let mut reached = false;
        for _ in 0..80 {
            b.press(&Key::Tab).await;
            if b.js(&format!("return {active}")).await
                == json!("chat-toggle")
            {
                reached = true;
                break;
            }
        }
        assert!(reached, "Tab never reaches the tutor button");
        // Enter opens the panel with the cursor in the message box.
        b.press(&Key::Enter).await;
        b.wait_js("the message box to take focus", &format!("{active} === 'chat-input'"))
            .await;
        b.press(&format!("Why do readings drift?{}", Key::Enter)).await;
        b.wait_js(
            "the reply",
            "[...document.querySelectorAll('.msg.assistant')].some(m => m.textContent.includes('measure first'))",
        )
        .await;
        // Fourteen and a half minutes on, the 15-minute API token is renewed
        // before the next request rather than sent to expire on the way.
        b.js(r#"window.tokenFetches = 0;
                   const realFetch = window.fetch;
                   window.fetch = (url, init) => {
                     if (String(url).includes('/api/auth/token')) window.tokenFetches += 1;
                     return realFetch(url, init);
                   };
                   const real = Date.now.bind(Date); Date.now = () => real() + 870_000;"#).await;
        b.press(&format!("And then?{}", Key::Enter)).await;
        b.wait_js(
            "the second reply",
            "document.querySelectorAll('.msg.assistant').length === 2 && !document.getElementById('chat-send').disabled",
        )
        .await;
        assert_eq!(
            b.js("return window.tokenFetches").await,
            json!(1),
            "one fresh token for the late request"
        );
        // Escape closes it and puts focus back where it was.
        b.press(&Key::Escape).await;
        b.wait_js(
            "the panel to close",
            &format!("document.getElementById('chat-panel').hidden && {active} === 'chat-toggle'"),
        )
        .await;
        assert_eq!(
            b.js("return document.getElementById('chat-toggle').getAttribute('aria-expanded')").await,
            json!("false")
        );
        b
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_next_target_a_browser_would_take_off_site_keeps_it_here() {
    let server = TestServer::start(Backend::Sqlite).await;
    verified_user(&server, "stay@example.com").await;
    let host = url::Url::parse(&server.url)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();
    run("next-stays-on-site", &server.url, |b| async move {
        // A backslash reads as a slash to a browser: "/\evil.example" would
        // be another site. Signing in from such a link lands on the dashboard.
        b.goto("/login?next=/%5Cevil.example").await;
        b.submit_sign_in("stay@example.com", PASSWORD).await;
        b.wait_path("/dashboard").await;
        // Signed in, the same links redirect at once; a tab, which browsers
        // drop, or a line break never make it into a Location header.
        for next in [
            "/%09/evil.example",
            "/%5Cevil.example",
            "/%0d%0a/evil.example",
            "//evil.example",
        ] {
            b.goto(&format!("/login?next={next}")).await;
            let here = b.client.current_url().await.unwrap();
            assert_eq!(here.host_str(), Some(host.as_str()), "{next}: {here}");
        }
        b
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_student_answers_exercises_on_the_lesson_page_by_keyboard() {
    use fantoccini::key::Key;
    let (server, _fake) = server_with_model(Backend::Sqlite, &[]).await;
    verified_user(&server, "answers@example.com").await;
    run("exercises", &server.url, |b| async move {
        b.sign_in("answers@example.com").await;
        open_first_lesson(&b).await;
        b.goto("/learn/sensors/imus-and-encoders").await;
        b.wait("#exercise-gyro-drift").await;
        assert!(b.text("#lesson-status").await.contains("Answer the exercises"));
        // Each answer box has a label naming its unit; the verdict is a live status.
        assert!(b.text("label[for=exercise-gyro-drift-answer]").await.contains("in rad"));
        assert_eq!(
            b.js("return document.getElementById('exercise-gyro-drift-feedback').getAttribute('role')").await,
            json!("status")
        );
        // Typed and sent with Enter, as a keyboard user would.
        b.click("#exercise-gyro-drift-answer").await;
        b.press(&format!("1.5 rad{}", Key::Enter)).await;
        b.wait_js("the verdict", "document.getElementById('exercise-gyro-drift-feedback').textContent.includes('Not yet')")
            .await;
        assert_eq!(
            b.text("#exercise-gyro-drift .hints li").await,
            "Integrating a constant rate multiplies it by the elapsed time.",
            "the first hint after a wrong answer"
        );
        assert_eq!(
            b.js("return document.activeElement.id").await,
            json!("exercise-gyro-drift-answer"),
            "focus stays in the answer box"
        );
        b.fill("#exercise-gyro-drift-answer", "69 degrees").await;
        b.press(&Key::Enter.to_string()).await;
        b.wait_js("right", "document.getElementById('exercise-gyro-drift-feedback').textContent.includes('Right')")
            .await;
        assert!(b.text("#exercise-gyro-drift .explanation").await.contains("0.02 rad/s × 60 s"));
        // A malformed answer is explained, not counted.
        b.fill("#exercise-encoder-distance-answer", "far").await;
        b.press(&Key::Enter.to_string()).await;
        b.wait_js("the reason", "document.getElementById('exercise-encoder-distance-feedback').textContent.includes('not a number')")
            .await;
        b.fill("#exercise-encoder-distance-answer", "62.8 cm").await;
        b.press(&Key::Enter.to_string()).await;
        b.wait_js("the lesson completes", "document.querySelector('#lesson-status.done')")
            .await;
        b.shots("lesson-exercises").await;
        b.client.refresh().await.unwrap();
        b.wait("#exercise-gyro-drift.solved").await;
        assert!(b.text(".lesson-actions .done").await.contains("Completed"), "stored");
        // A choice answered from the keyboard: Tab to the options, arrows to pick, Enter to send.
        b.goto("/learn/sensors/what-robots-sense").await;
        b.click("#exercise-resolution-vs-accuracy input[value=resolution]").await;
        b.press(&Key::Down.to_string()).await;
        b.press(&Key::Enter.to_string()).await;
        b.wait_js("right", "document.getElementById('exercise-resolution-vs-accuracy-feedback').textContent.includes('Right')")
            .await;
        b
    })
    .await;
    server.stop().await;
}
