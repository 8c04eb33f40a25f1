//! End-to-end tests of the `asklake` binary: each runs the command as a user would, against the demo lake and
//! the loopback fakes of Athena, Bedrock and OpenAI-compatible servers.

#[path = "../../core/tests/common/mod.rs"]
mod common;

mod athena;
mod basics;
mod browser;
mod eval;
mod fewshot;
mod llm_wire;
mod mcp;
mod retrieval;
mod serve;

/// The stdout and stderr of a test client that must have succeeded, as one text (shown if it did not).
fn client_output(out: &std::process::Output) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}
