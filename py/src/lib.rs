//! The `asklake._native` Python module: type conversion, error mapping and the runtime. No prompt text,
//! retry policy, SQL logic or configuration of its own lives here; everything is the Rust core's, built
//! through its configuration layer (`asklake::config`).

mod config;
mod engine;
mod error;
mod eval;
mod llm;
mod pipeline;
mod runtime;
#[cfg(feature = "test-utils")]
mod testing;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    error::register(m)?;
    m.add_class::<engine::ArrowResult>()?;
    m.add_class::<engine::Engine>()?;
    m.add_class::<engine::LocalLake>()?;
    m.add_class::<engine::Athena>()?;
    m.add_class::<llm::Llm>()?;
    m.add_class::<pipeline::Answer>()?;
    m.add_class::<pipeline::Text2Sql>()?;
    m.add_class::<pipeline::Session>()?;
    m.add_class::<pipeline::ExplainStream>()?;
    m.add_function(wrap_pyfunction!(llm::llm_from_env, m)?)?;
    m.add_function(wrap_pyfunction!(llm::bedrock, m)?)?;
    m.add_function(wrap_pyfunction!(llm::openai_compatible, m)?)?;
    m.add_function(wrap_pyfunction!(llm::no_llm, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::search_library, m)?)?;
    m.add_function(wrap_pyfunction!(eval::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(eval::benchmark, m)?)?;
    m.add_function(wrap_pyfunction!(config::config_show, m)?)?;
    // The test doubles ship only in test builds (`maturin build --features test-utils`), never in the wheel.
    #[cfg(feature = "test-utils")]
    {
        m.add_class::<testing::FakeAthena>()?;
        m.add_class::<testing::FakeLlmServer>()?;
        m.add_function(wrap_pyfunction!(testing::scripted, m)?)?;
    }
    Ok(())
}
