//! Browser end-to-end tests: the real server in-process, a headless Chromium
//! through chromedriver, the fake OpenAI-compatible model. Screenshots land
//! in `e2e/screenshots/` (on failure, and of every page).

#[path = "../it/support/mod.rs"]
#[allow(unused_imports)]
mod support;

mod browser;
mod journeys;
mod security;
mod tutor_panel;
mod workspace;
