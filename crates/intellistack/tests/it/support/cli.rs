//! Helpers for tests that run the `intellistack` binary.

use std::process::Output;

/// Asserts that the command exited successfully (showing what it printed
/// when not) and returns its standard output.
pub fn succeeded(out: &Output) -> String {
    let stdout = String::from_utf8(out.stdout.clone()).expect("the command prints UTF-8");
    assert!(
        out.status.success(),
        "{}: {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
