//! A headless Chromium driven over WebDriver (chromedriver), with
//! screenshots: on failure, and of every page at desktop and phone widths.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use serde_json::{Value, json};

use crate::support::auth::PASSWORD;

pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);
const WAIT: Duration = Duration::from_secs(15);

/// Where screenshots go: `e2e/screenshots` at the top of the repository.
pub fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../e2e/screenshots"
    ));
    std::fs::create_dir_all(&dir).expect("create e2e/screenshots");
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A chromedriver process; killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: std::sync::Arc<Driver>,
}

fn chromium_binary() -> Option<&'static str> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
}

impl Browser {
    pub async fn start(base: &str) -> Browser {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver is not installed: run scripts/test (it installs Debian's chromium and chromium-driver), or apt-get install chromium chromium-driver",
            );
        let driver = Driver(child);
        let mut options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     format!("--window-size={},{}", DESKTOP.0, DESKTOP.1)],
        });
        if let Some(bin) = chromium_binary() {
            options["binary"] = json!(bin);
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::rustls()
                .expect("TLS roots")
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        base: base.to_string(),
                        driver: std::sync::Arc::new(driver),
                    };
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot start a Chromium session through chromedriver: {last:?}");
    }

    pub async fn goto(&self, path: &str) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        self.client.goto(&url).await.expect("navigate");
    }

    pub async fn path(&self) -> String {
        let u = self.client.current_url().await.expect("current url");
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    pub async fn wait(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
    }

    /// Waits until `script` (a JS expression) is truthy.
    pub async fn wait_js(&self, what: &str, script: &str) -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let v = self
                .client
                .execute(&format!("return ({script});"), vec![])
                .await
                .expect("run script");
            if !(v.is_null() || v == json!(false) || v == json!("") || v == json!(0)) {
                return v;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `script` is truthy and checks that it came out `true`
    /// itself.
    pub async fn wait_true(&self, what: &str, script: &str) {
        let v = self.wait_js(what, script).await;
        assert_eq!(v, json!(true), "{what}");
    }

    pub async fn wait_path(&self, prefix: &str) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let p = self.path().await;
            if p.starts_with(prefix) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still at {p}, expected {prefix}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.wait(css).await;
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.wait(css).await.click().await.expect("click");
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Fills the sign-in form on the current page and sends it.
    pub async fn submit_sign_in(&self, email: &str, password: &str) {
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("#login-form button[type=submit]").await;
    }

    /// Signs in with the test password from the login page and lands on the
    /// dashboard.
    pub async fn sign_in(&self, email: &str) {
        self.goto("/login").await;
        self.submit_sign_in(email, PASSWORD).await;
        self.wait_path("/dashboard").await;
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait(css).await.text().await.expect("text")
    }

    /// Types `keys` (text or `fantoccini::key::Key`s) into whatever has focus.
    pub async fn press(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .expect("the focused element")
            .send_keys(keys)
            .await
            .expect("send keys");
    }

    /// Answers "OK" to every confirm() dialog on the current page.
    pub async fn accept_confirms(&self) {
        self.client
            .execute("window.confirm = () => true;", vec![])
            .await
            .expect("replace confirm");
    }

    /// Saves a screenshot at the current width.
    pub async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(shots_dir().join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// The checks a screen-reader user depends on, on the current page: a
    /// language, one h1, a name for every control, link and button, alt text
    /// on images, and charts described as images.
    pub async fn check_accessible(&self, name: &str) {
        let problems = self
            .client
            .execute(
                r#"const problems = [];
                   if (!document.documentElement.lang) problems.push("<html> has no lang");
                   const h1 = document.querySelectorAll("h1").length;
                   if (h1 !== 1) problems.push(`${h1} h1 elements`);
                   const byId = (id) => document.getElementById(id);
                   const named = (e) =>
                     (e.getAttribute("aria-label") || "").trim() ||
                     (e.getAttribute("aria-labelledby") || "").split(" ").map(byId).some((l) => l && l.textContent.trim()) ||
                     [...(e.labels || [])].some((l) => l.textContent.trim()) ||
                     (e.title || "").trim();
                   for (const e of document.querySelectorAll("input:not([type=hidden]), select, textarea"))
                     if (!named(e)) problems.push(`unlabelled ${e.tagName.toLowerCase()}#${e.id || e.name}`);
                   for (const e of document.querySelectorAll("button, a[href]"))
                     if (!e.textContent.trim() && !named(e)) problems.push(`nameless ${e.outerHTML.slice(0, 80)}`);
                   for (const e of document.querySelectorAll("img"))
                     if (!e.hasAttribute("alt")) problems.push(`img without alt: ${e.src}`);
                   for (const e of document.querySelectorAll("svg.chart"))
                     if (e.getAttribute("role") !== "img" || !named(e)) problems.push("a chart without role=img and a name");
                   return problems.length ? problems : null;"#,
                vec![],
            )
            .await
            .expect("check the page");
        assert!(problems.is_null(), "{name}: {problems}");
    }

    /// Screenshots of the current page at desktop and phone widths: the first
    /// screen, and the whole page (each width starts from its own window size,
    /// and the window returns to the desktop size at the end). At both widths the page must fit across:
    /// nothing may make the whole page scroll sideways.
    pub async fn shots(&self, name: &str) {
        self.check_accessible(name).await;
        for (label, (w, h)) in [("desktop", DESKTOP), ("phone", PHONE)] {
            self.client.set_window_size(w, h).await.expect("resize");
            tokio::time::sleep(Duration::from_millis(150)).await;
            let overflow = self
                .client
                .execute(
                    "const d = document.documentElement; \
                     return d.scrollWidth > d.clientWidth \
                       ? [...document.body.querySelectorAll('*')] \
                           .filter(e => e.getBoundingClientRect().right > d.clientWidth + 1) \
                           .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className) \
                       : null;",
                    vec![],
                )
                .await
                .expect("measure the page");
            assert!(
                overflow.is_null(),
                "{name} scrolls sideways at the {label} width; too wide: {overflow}"
            );
            self.shot(&format!("{name}-{label}")).await;
            let full = self
                .client
                .execute("return document.documentElement.scrollHeight", vec![])
                .await
                .expect("measure the page")
                .as_u64()
                .unwrap_or(u64::from(h));
            if full > u64::from(h) {
                let tall = u32::try_from(full.min(6000)).unwrap_or(6000);
                self.client.set_window_size(w, tall).await.expect("resize");
                tokio::time::sleep(Duration::from_millis(150)).await;
                self.shot(&format!("{name}-{label}-full")).await;
            }
        }
        self.client
            .set_window_size(DESKTOP.0, DESKTOP.1)
            .await
            .expect("resize");
    }

    /// Runs axe-core on the current page and fails on any violation of
    /// serious or critical impact. axe-core comes from npm (`scripts/test`
    /// installs it); `AXE_CORE_JS` names its `axe.min.js`.
    pub async fn check_axe(&self, name: &str) {
        let path = std::env::var("AXE_CORE_JS").unwrap_or_else(|_| {
            format!(
                "{}/.cache/intellistack/axe-core/node_modules/axe-core/axe.min.js",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("axe-core is not installed at {path} ({e}): run scripts/test, or npm install axe-core and set AXE_CORE_JS")
        });
        self.client
            .execute(&format!("{source}\n;return true;"), vec![])
            .await
            .expect("load axe-core");
        let result = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                   axe.run(document, {resultTypes: ["violations"]})
                     .then((r) => done(r.violations
                       .filter((v) => v.impact === "serious" || v.impact === "critical")
                       .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`)))
                     .catch((e) => done([`axe failed: ${e}`]));"#,
                vec![],
            )
            .await
            .expect("run axe-core");
        let found = result.as_array().cloned().unwrap_or_default();
        assert!(found.is_empty(), "{name}: axe-core found {found:#?}");
    }

    /// [`Browser::shots`] with axe-core at both widths as well.
    pub async fn shots_checked(&self, name: &str) {
        self.check_axe(name).await;
        self.client
            .set_window_size(PHONE.0, PHONE.1)
            .await
            .expect("resize");
        tokio::time::sleep(Duration::from_millis(150)).await;
        self.check_axe(&format!("{name} (phone)")).await;
        self.client
            .set_window_size(DESKTOP.0, DESKTOP.1)
            .await
            .expect("resize");
        self.shots(name).await;
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Runs a browser test; on a panic, saves a screenshot named after the test.
pub async fn run<F, Fut>(name: &str, base: &str, body: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: std::future::Future<Output = Browser>,
{
    let browser = Browser::start(base).await;
    let client = browser.client.clone();
    // Keeps chromedriver alive for the failure screenshot.
    let _driver = browser.driver.clone();
    let outcome = std::panic::AssertUnwindSafe(body(browser))
        .catch_unwind()
        .await;
    match outcome {
        Ok(b) => b.close().await,
        Err(panic) => {
            if let Ok(png) = client.screenshot().await {
                let _ = std::fs::write(shots_dir().join(format!("FAILED-{name}.png")), png);
            }
            let _ = client.close().await;
            std::panic::resume_unwind(panic);
        }
    }
}
