//! Few-shot examples: verified question → SQL pairs put in the prompt as prior turns.
//!
//! [`FewShotRetriever`] ranks examples for a question. This module ships [`FixedExamples`] (the same list
//! for every question); the retrieval issue adds embedding and hybrid retrievers over `fewshot/`.

pub mod library;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A verified question with its SQL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub id: String,
    pub question: String,
    /// The Korean question, when the library has one.
    #[serde(default)]
    pub question_ko: Option<String>,
    pub sql: String,
    /// Tables the SQL reads, as written in it.
    #[serde(default)]
    pub tables: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// An example with its similarity to the question (higher is closer; scale depends on the retriever).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredExample {
    pub example: Example,
    pub score: f32,
}

/// Ranks examples for a question.
#[async_trait]
pub trait FewShotRetriever: std::fmt::Debug + Send + Sync {
    /// A short name for traces and reports (`fixed`, `embedding`, `hybrid`).
    fn name(&self) -> &str;

    /// Up to `k` examples, best first.
    async fn retrieve(&self, question: &str, k: usize) -> Result<Vec<ScoredExample>>;
}

/// The same examples for every question, in order (score 1.0): the original system's static few-shot.
#[derive(Debug, Clone, Default)]
pub struct FixedExamples {
    examples: Vec<Example>,
}

impl FixedExamples {
    pub fn new(examples: Vec<Example>) -> Self {
        FixedExamples { examples }
    }
}

#[async_trait]
impl FewShotRetriever for FixedExamples {
    fn name(&self) -> &str {
        "fixed"
    }

    async fn retrieve(&self, _question: &str, k: usize) -> Result<Vec<ScoredExample>> {
        Ok(self
            .examples
            .iter()
            .take(k)
            .map(|e| ScoredExample {
                example: e.clone(),
                score: 1.0,
            })
            .collect())
    }
}
