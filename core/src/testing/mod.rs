//! Test doubles, in one place (feature `test-utils`; the shipped CLI and wheel are built without it).
//!
//! - [`scripted::Scripted`]: an [`LlmBackend`](crate::llm::LlmBackend) that replays responses and records
//!   requests, for tests that exercise the pipeline without any wire.
//! - [`llm_server::FakeLlm`]: a loopback server speaking Bedrock Runtime's Converse/ConverseStream and
//!   OpenAI's chat-completions and embeddings wire protocols, for the real SDK and HTTP clients.
//! - [`athena::FakeAthena`] (with feature `athena`): a loopback Athena API that runs queries on a local lake.
//!
//! Servers bind 127.0.0.1 only.

#[cfg(feature = "athena")]
pub mod athena;
pub mod llm_server;
pub mod scripted;

#[cfg(feature = "athena")]
pub use athena::{FakeAthena, Faults};
pub use llm_server::{FakeLlm, Reply};
pub use scripted::Scripted;
