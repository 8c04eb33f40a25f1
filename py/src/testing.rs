//! Loopback fakes of Athena and Bedrock / OpenAI-compatible servers (127.0.0.1 only), for notebooks in CI
//! and tests.

use asklake::engine::LocalEngine;
use asklake::engine::duckdb::LocalOptions;
use pyo3::prelude::*;

use crate::engine::LocalLake;
use crate::error::ResultExt;
use crate::runtime::block_on;

/// Loopback fakes of the AWS services, for notebooks in CI and tests (127.0.0.1 only).
#[pyclass(module = "asklake._native", frozen)]
pub struct FakeAthena {
    _server: asklake::testing::athena::FakeAthena,
    #[pyo3(get)]
    url: String,
}

#[pymethods]
impl FakeAthena {
    /// Serves Athena's API over a local lake; queries run on it.
    #[new]
    #[pyo3(signature = (lake, queued_polls=0, fail_with=None))]
    fn new(
        py: Python<'_>,
        lake: &LocalLake,
        queued_polls: u32,
        fail_with: Option<String>,
    ) -> PyResult<Self> {
        let engine = LocalEngine::open(&lake.path, LocalOptions::default()).py()?;
        let faults = asklake::testing::athena::Faults {
            queued_polls,
            fail_with,
            ..Default::default()
        };
        let server = block_on(py, async move {
            asklake::testing::athena::FakeAthena::start(engine, faults)
                .await
                .map_err(|e| asklake::Error::Internal(e.to_string()))
        })?;
        Ok(FakeAthena {
            url: server.url(),
            _server: server,
        })
    }
}

/// A fake Bedrock Runtime / OpenAI server replaying `responses` (Converse, ConverseStream, chat completions).
#[pyclass(module = "asklake._native", frozen)]
pub struct FakeLlmServer {
    server: asklake::testing::llm_server::FakeLlm,
    #[pyo3(get)]
    url: String,
}

#[pymethods]
impl FakeLlmServer {
    #[new]
    fn new(py: Python<'_>, responses: Vec<String>) -> PyResult<Self> {
        let replies = responses
            .into_iter()
            .map(asklake::testing::llm_server::Reply::Text);
        let server = block_on(py, async move {
            Ok(asklake::testing::llm_server::FakeLlm::start(replies).await)
        })?;
        Ok(FakeLlmServer {
            url: server.url(),
            server,
        })
    }

    /// Request paths received so far.
    fn paths(&self) -> Vec<String> {
        self.server.seen().into_iter().map(|s| s.path).collect()
    }
}

/// A scripted LLM replaying `responses` in order (tests, notebooks in CI).
#[pyfunction]
pub fn scripted(responses: Vec<String>) -> crate::llm::Llm {
    crate::llm::Llm {
        inner: Some(std::sync::Arc::new(
            asklake::testing::scripted::Scripted::new(responses),
        )),
    }
}
