//! [`Answer`]: what one question produced, serialized the same way for every front end, and its audit-log
//! line.

use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Attempt, TraceStep};
use crate::engine::{QueryResult, format};
use crate::error::Error;
use crate::fewshot::ScoredExample;
use crate::llm::Usage;

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerSource {
    Llm,
    Library,
}

/// Time spent, split by where it went.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    pub llm: Duration,
    pub engine: Duration,
    pub total: Duration,
}

/// The result of one question.
#[derive(Debug)]
pub struct Answer {
    pub question: String,
    /// The final SQL as run (guarded, with its LIMIT); None when no query ran.
    pub sql: Option<String>,
    pub result: Option<QueryResult>,
    /// The model's reason when it declined (the question is not about the data).
    pub refusal: Option<String>,
    /// Why no answer was produced (attempts exhausted, LLM or engine failure). [`Text2Sql::ask`](super::Text2Sql::ask) returns it
    /// as the error; [`Text2Sql::run`](super::Text2Sql::run) keeps it here with the trace.
    pub error: Option<Error>,
    pub attempts: Vec<Attempt>,
    pub explanation: Option<String>,
    pub source: AnswerSource,
    pub model: String,
    /// Tables the prompt described.
    pub tables: Vec<String>,
    /// Few-shot examples used, with scores.
    pub examples: Vec<ScoredExample>,
    pub usage: Usage,
    pub cost_usd: Option<f64>,
    pub timings: Timings,
    pub trace: Vec<TraceStep>,
    /// Tokens of the system prompt (estimated at 4 characters a token when the backend does not report).
    pub prompt_chars: usize,
}

/// The answer as every front end shows it (`ask --json`, the web API's `done` event, Python's `to_dict()`).
#[derive(Serialize)]
struct AnswerView<'a> {
    question: &'a str,
    sql: &'a Option<String>,
    columns: Value,
    rows: Value,
    row_count: usize,
    truncated: bool,
    attempts: Vec<AttemptView<'a>>,
    explanation: &'a Option<String>,
    refusal: &'a Option<String>,
    error: Option<String>,
    source: AnswerSource,
    model: &'a str,
    tables: &'a [String],
    usage: UsageView,
    timings_ms: TimingsView,
}

#[derive(Serialize)]
struct AttemptView<'a> {
    sql: &'a Option<String>,
    error: &'a Option<String>,
}

#[derive(Serialize)]
struct UsageView {
    input_tokens: u64,
    output_tokens: u64,
    cache_read_tokens: u64,
    cache_write_tokens: u64,
    cost_usd: Option<f64>,
}

#[derive(Serialize)]
struct TimingsView {
    llm: u64,
    engine: u64,
    total: u64,
}

impl Serialize for Answer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let (columns, rows, row_count, truncated) = match &self.result {
            Some(r) => {
                let j = format::to_json(r);
                (
                    j["columns"].clone(),
                    j["rows"].clone(),
                    r.row_count,
                    r.truncated,
                )
            }
            None => (json!([]), json!([]), 0, false),
        };
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        AnswerView {
            question: &self.question,
            sql: &self.sql,
            columns,
            rows,
            row_count,
            truncated,
            attempts: self
                .attempts
                .iter()
                .map(|a| AttemptView {
                    sql: &a.sql,
                    error: &a.error,
                })
                .collect(),
            explanation: &self.explanation,
            refusal: &self.refusal,
            error: self.error.as_ref().map(|e| e.to_string()),
            source: self.source,
            model: &self.model,
            tables: &self.tables,
            usage: UsageView {
                input_tokens: self.usage.input_tokens,
                output_tokens: self.usage.output_tokens,
                cache_read_tokens: self.usage.cache_read_tokens,
                cache_write_tokens: self.usage.cache_write_tokens,
                cost_usd: self.cost_usd,
            },
            timings_ms: TimingsView {
                llm: ms(self.timings.llm),
                engine: ms(self.timings.engine),
                total: ms(self.timings.total),
            },
        }
        .serialize(s)
    }
}

impl Answer {
    /// The serialized answer as a JSON value.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The audit log's line about `answer`: the question, the SQL that ran, every rejected attempt's SQL with
/// its stage and error, counts, cost and time. Never prompts, keys or result rows.
pub(super) fn audit_line(answer: &Answer, engine: &str) -> Value {
    let rejected: Vec<Value> = answer
        .attempts
        .iter()
        .filter(|a| a.error.is_some())
        .map(|a| json!({"sql": a.sql, "stage": a.stage, "error": a.error}))
        .collect();
    json!({
        "time": Utc::now().to_rfc3339(),
        "question": answer.question,
        "sql": answer.sql,
        "source": answer.source,
        "attempts": answer.attempts.len(),
        "rejected": rejected,
        "rows": answer.result.as_ref().map(|r| r.row_count),
        "refusal": answer.refusal,
        "error": answer.error.as_ref().map(|e| e.to_string()),
        "input_tokens": answer.usage.input_tokens,
        "output_tokens": answer.usage.output_tokens,
        "cost_usd": answer.cost_usd,
        "model": answer.model,
        "engine": engine,
        "total_ms": u64::try_from(answer.timings.total.as_millis()).unwrap_or(u64::MAX),
    })
}
