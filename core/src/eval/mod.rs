//! Evaluation: how often the pipeline's answers match gold answers. [`compare`] is the execution-accuracy
//! metric; the benchmark runner and reports build on it.

pub mod cache;
pub mod compare;
pub mod plot;
pub mod runner;
