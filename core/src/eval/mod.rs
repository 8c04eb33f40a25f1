//! Evaluation: how often the pipeline's answers match gold answers. The execution-accuracy metric is
//! [`crate::engine::compare`] (results are compared where results live, so the pipeline's self-consistency
//! vote uses it without depending on evaluation); the benchmark runner and reports build on it.

pub mod cache;
pub mod plan;
pub mod plot;
pub mod runner;
