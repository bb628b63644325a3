//! The tutor panel as a stage-1 student uses it, in Chromium: without a
//! model (retrieval-only) for what the tutor finds, and with a model double
//! that streams slowly for what the panel paints.

use serde_json::{Value, json};

use crate::browser::{Browser, PHONE, run};
use crate::support::auth::verified_user;
use crate::support::fake_llm::{Script, server_with_model};
use crate::support::{Backend, TestServer};

async fn sign_in_and_enrol(b: &Browser, email: &str) {
    b.sign_in(email).await;
    b.click("[data-enrol]").await;
    b.wait(".stages").await;
}

/// Records the `X-RateLimit-Remaining` of every tutor response.
async fn watch_headers(b: &Browser) {
    b.js(r#"window.lastRemaining = null;
           const real = window.fetch;
           window.fetch = async (url, init) => {
             const res = await real(url, init);
             if (String(url).includes('/api/v1/chatkit')) window.lastRemaining = res.headers.get('x-ratelimit-remaining');
             return res;
           };"#,
    )
    .await;
}

async fn ask(b: &Browser, text: &str, replies: usize) -> String {
    b.fill("#chat-input", text).await;
    b.click("#chat-send").await;
    b.wait_js(
        "the reply",
        &format!(
            "document.querySelectorAll('.msg.assistant[data-done]').length === {replies} && !document.getElementById('chat-send').disabled"
        ),
    )
    .await;
    b.js("return [...document.querySelectorAll('.msg.assistant')].pop().textContent")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Page controls that something fixed on top of the page covers, after each
/// is scrolled to `block` ("center" or "start"), or where they are ("none":
/// only those in view).
async fn covered_controls(b: &Browser, block: &str) -> Value {
    b.js(&format!(
            r#"const covered = [];
               for (const el of document.querySelectorAll('main a[href], main button, main input, main textarea, main select')) {{
                 if (el.closest('#chat-panel') || el.id === 'ask-ai') continue;
                 const r0 = el.getBoundingClientRect();
                 if (!r0.width || !r0.height) continue;
                 if ('{block}' !== 'none') el.scrollIntoView({{block: '{block}', behavior: 'instant'}});
                 const r = el.getBoundingClientRect();
                 if ('{block}' === 'none' && (r.bottom <= 0 || r.top >= innerHeight)) continue;
                 const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
                 const y = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
                 const top = document.elementFromPoint(x, y);
                 if (!top || !(top === el || el.contains(top) || top.contains(el) && top.tagName === 'LABEL'))
                   covered.push((el.id || el.textContent.trim().slice(0, 30)) + ' under ' + (top ? top.tagName + '#' + top.id + '.' + top.className : 'nothing'));
               }}
               return covered;"#
        ),
    )
    .await
}

#[tokio::test]
async fn the_tutor_panel_without_a_model() {
    let server = TestServer::start(Backend::Sqlite).await;
    verified_user(&server, "panel@example.com").await;
    run("tutor-panel", &server.url, |b| async move {
        sign_in_and_enrol(&b, "panel@example.com").await;
        b.goto("/learn/sensors/imus-and-encoders").await;
        b.wait("#lesson").await;
        watch_headers(&b).await;

        // The empty panel greets, offers three questions from this lesson,
        // and says how many messages are left today.
        b.click("#chat-toggle").await;
        b.wait_js("the count of messages left", "document.getElementById('chat-left').textContent")
            .await;
        assert!(b.text("#chat-empty .greeting").await.starts_with("Hi!"));
        let suggested = b.js("return [...document.querySelectorAll('#chat-suggestions button')].map(b => b.textContent)").await;
        assert_eq!(suggested.as_array().unwrap().len(), 3, "{suggested}");
        assert!(suggested[0].as_str().unwrap().contains("How encoders count"), "{suggested}");
        assert!(b.text("#chat-privacy").await.contains("instructors can read"));
        // Docked: the lesson reflows beside the panel, nothing is covered.
        let beside = b.js("return document.getElementById('lesson').getBoundingClientRect().right <= document.getElementById('chat-panel').getBoundingClientRect().left").await;
        assert_eq!(beside, json!(true), "the lesson sits beside the panel");
        assert_eq!(covered_controls(&b, "center").await, json!([]));
        b.shots("tutor-empty").await;

        // The selection's own section is cited first.
        b.js(r#"const p = [...document.querySelectorAll('.lesson-body p')].find(p => p.textContent.includes('rarely reads exactly zero'));
               const node = [...p.childNodes].find(n => n.nodeType === 3 && n.textContent.includes('rarely reads'));
               const at = node.textContent.indexOf('A gyroscope at rest');
               const r = document.createRange(); r.setStart(node, at); r.setEnd(node, node.textContent.indexOf('zero.') + 5);
               const s = getSelection(); s.removeAllRanges(); s.addRange(r);"#,
        )
        .await;
        b.wait_js("the Ask AI button", "!document.getElementById('ask-ai').hidden").await;
        b.click("#ask-ai").await;
        let text = ask(&b, "Can you help me understand this?", 1).await;
        let first = b.js("return document.querySelector('.msg.assistant .sources a').getAttribute('href')").await;
        assert_eq!(first, json!("/learn/sensors/imus-and-encoders#bias-and-drift"), "{text}");
        assert!(text.contains("rarely reads exactly zero"), "{text}");
        // The count matches the answer's header.
        let left = b.js("return [document.getElementById('chat-left').dataset.left, window.lastRemaining]").await;
        assert_eq!(left[0], left[1], "{left}");
        assert!(left[0].as_str().is_some_and(|n| n.parse::<u32>().is_ok()), "{left}");

        // A citation opens its section beside the chat and highlights it.
        b.js("window.scrollTo(0, 0)").await;
        b.click(".msg.assistant .sources a").await;
        b.wait_js("the highlighted passage", "document.querySelector('#bias-and-drift.cited') && document.querySelector('#bias-and-drift + p.cited')").await;
        let state = b.js(r#"const h = document.getElementById('bias-and-drift').getBoundingClientRect();
               return {open: !document.getElementById('chat-panel').hidden,
                       messages: document.querySelectorAll('#chat-messages .msg').length,
                       visible: h.top >= 0 && h.top < innerHeight, path: location.pathname};"#,
        )
        .await;
        assert_eq!(state, json!({"open": true, "messages": 2, "visible": true, "path": "/learn/sensors/imus-and-encoders"}));
        b.shots("tutor-citation").await;

        // A locked topic names its stage and shows none of its text.
        let text = ask(&b, "How does inverse kinematics work?", 2).await;
        assert!(text.contains("stage 2, Kinematics"), "{text}");
        assert!(text.contains("Sensing the World"), "{text}");
        for locked in ["Solving the two-link arm", "Elbow up", "end effector", "cos θ2"] {
            assert!(!text.contains(locked), "{text}");
        }
        // A nonsense question says nothing was found.
        let text = ask(&b, "blorf snargle wizzpop?", 3).await;
        assert!(text.contains("couldn't find anything about that"), "{text}");
        let left = b.js("return [document.getElementById('chat-left').dataset.left, window.lastRemaining]").await;
        assert_eq!(left[0], left[1], "{left}");

        // The thread survives a reload …
        b.client.refresh().await.unwrap();
        b.wait_js(
            "the thread after the reload",
            "!document.getElementById('chat-panel').hidden && document.querySelectorAll('#chat-messages .msg.assistant').length === 3",
        )
        .await;
        // … and a move to the next lesson.
        b.click(".lesson-actions a.button[href$='cameras-and-lidar']").await;
        b.wait_path("/learn/physical-ai/sensors/cameras-and-lidar").await;
        b.wait_js(
            "the thread on the next lesson",
            "!document.getElementById('chat-panel').hidden && document.querySelectorAll('#chat-messages .msg.user').length === 3",
        )
        .await;
        let titles = b.js("return [...document.querySelectorAll('#chat-threads button.open')].map(b => b.textContent)").await;
        assert!(titles[0].as_str().unwrap().starts_with("Bias and drift: Can you help me understand this?"), "{titles}");

        // A citation to another lesson opens it with the chat, highlighted.
        b.fill("#chat-input", "why does a gyroscope drift?").await;
        b.click("#chat-send").await;
        b.wait_js("the reply", "document.querySelectorAll('.msg.assistant[data-done]').length === 4").await;
        b.click(".msg.assistant:last-of-type .sources a").await;
        b.wait_path("/learn/sensors/imus-and-encoders").await;
        b.wait_js(
            "the passage highlighted, the chat open",
            "document.querySelector('.lesson-body .cited') && !document.getElementById('chat-panel').hidden && document.querySelectorAll('#chat-messages .msg.assistant').length === 4",
        )
        .await;

        // On a phone, neither the sheet nor the tutor button covers a page control.
        b.client.set_window_size(PHONE.0, PHONE.1).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(covered_controls(&b, "start").await, json!([]), "sheet open");
        b.shots("tutor-sheet").await;
        b.click("#chat-close").await;
        assert_eq!(covered_controls(&b, "center").await, json!([]), "sheet closed");
        b.js("window.scrollTo(0, document.documentElement.scrollHeight)").await;
        let next = b.js("const r = document.querySelector('.lesson-actions a.button').getBoundingClientRect(); return r.bottom <= innerHeight && r.top >= 0").await;
        assert_eq!(next, json!(true), "the lesson's buttons are in view at the end of the page");
        assert_eq!(covered_controls(&b, "none").await, json!([]), "at the end of the page");
        b
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_slow_stream_paints_several_times_and_is_announced_once() {
    let (server, fake) = server_with_model(Backend::Sqlite, &[]).await;
    fake.push(Script::Text(
        vec![
            "A gyroscope reports a rate. ",
            "If that rate is a little off, ",
            "integrating it adds the error every second.\n\n",
            "So the heading **wanders**: ",
            "that is drift. ",
            "What do you expect ",
            "after one minute? [1]",
        ],
        250,
    ));
    verified_user(&server, "stream@example.com").await;
    run("tutor-stream", &server.url, |b| async move {
        sign_in_and_enrol(&b, "stream@example.com").await;
        b.goto("/learn/sensors/imus-and-encoders").await;
        b.wait("#lesson").await;
        b.click("#chat-toggle").await;
        // Every frame: the reply's visible length, and what is announced.
        b.js(r#"window.frames_seen = [];
               const tick = () => {
                 const m = document.querySelector('.msg.assistant');
                 window.frames_seen.push({len: m ? m.textContent.length : 0, done: !!(m && m.dataset.done),
                                          said: document.getElementById('chat-announce').textContent});
                 requestAnimationFrame(tick);
               };
               requestAnimationFrame(tick);"#,
        )
        .await;
        b.fill("#chat-input", "why does a gyroscope drift?").await;
        b.click("#chat-send").await;
        b.wait_js("the end of the reply", "document.querySelector('.msg.assistant[data-done]')").await;
        let seen = b.js("return window.frames_seen").await;
        let frames = seen.as_array().unwrap();
        let streaming: Vec<u64> = frames
            .iter()
            .filter(|f| f["done"] == json!(false) && f["len"].as_u64().unwrap_or(0) > 0)
            .map(|f| f["len"].as_u64().unwrap())
            .collect();
        let mut lengths = streaming.clone();
        lengths.dedup();
        assert!(lengths.len() >= 4, "the text grew in several paints before the end: {lengths:?}");
        assert!(
            frames.iter().filter(|f| f["done"] == json!(false)).all(|f| f["said"] == json!("")),
            "nothing is announced while the reply is written"
        );
        let paints = b.js("return Number(document.querySelector('.msg.assistant').dataset.paints)").await;
        assert!(paints.as_u64().unwrap() >= 4, "{paints}");
        // The finished first block was rendered once and kept: its element is the same node.
        let said = b.text("#chat-announce").await;
        assert!(said.starts_with("Tutor: A gyroscope reports a rate."), "{said}");
        assert!(said.contains("after one minute?"), "{said}");
        let html = b.js("return document.querySelector('.msg.assistant').innerHTML").await;
        assert!(html.as_str().unwrap().contains("<strong>wanders</strong>"), "{html}");
        b
    })
    .await;
    server.stop().await;
}
