//! [`Options`]: the knobs of one pipeline, with the documented defaults.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::EmptyResultPolicy;

/// Pipeline options. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// LLM calls per question, repairs included.
    pub max_attempts: usize,
    pub empty_result: EmptyResultPolicy,
    /// Row limit the guard enforces.
    pub max_rows: u64,
    /// Ask the model to explain the result (a second call).
    pub explain: bool,
    /// Clock for `current_timestamp`; `None` = the engine's default.
    pub as_of: Option<DateTime<Utc>>,
    pub query_timeout: Duration,
    /// Few-shot examples per question.
    pub examples: usize,
    /// Tables per prompt, at most (selected by the question).
    pub max_tables: usize,
    pub sample_rows: u64,
    pub max_tokens: u32,
    pub temperature: f32,
    /// Prior questions a session keeps in the prompt.
    pub max_history: usize,
    /// Append one JSON line per question here.
    pub audit_log: Option<PathBuf>,
    /// Longest question accepted, in characters.
    pub max_question_chars: usize,
    /// Without an LLM, answer from the best library example when its retrieval score reaches this.
    pub library_threshold: f32,
    /// DAIL-style rerank: retrieve `rerank_pool` examples, let the model draft SQL with the best `examples`,
    /// reorder the pool by similarity of SQL skeletons to the draft, and generate again when the chosen
    /// examples change (one extra LLM call then; the draft is the first attempt otherwise).
    pub rerank: bool,
    pub rerank_pool: usize,
    /// Self-consistency: run the generate/repair loop this many times (the first at `temperature`, the
    /// rest sampled at `sample_temperature`), execute every candidate and answer with the result most
    /// candidates agree on (ties: the earliest sample). 0 or 1: off.
    pub self_consistency: usize,
    pub sample_temperature: f32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_attempts: 3,
            empty_result: EmptyResultPolicy::RetryOnce,
            max_rows: 1000,
            explain: true,
            as_of: None,
            query_timeout: Duration::from_secs(120),
            examples: 3,
            max_tables: 3,
            sample_rows: 3,
            max_tokens: 1024,
            temperature: 0.0,
            max_history: 6,
            audit_log: None,
            max_question_chars: 2000,
            library_threshold: 0.9,
            rerank: false,
            rerank_pool: 10,
            self_consistency: 0,
            sample_temperature: 0.7,
        }
    }
}
