//! The Text2SQL orchestrator: question → prompt → LLM → SQL → guard → validate → execute → repair → answer
//! → explanation. [`machine::Machine`] decides; [`Text2Sql`] performs the I/O and assembles the [`Answer`].
//!
//! ```no_run
//! # async fn demo() -> asklake::Result<()> {
//! use std::sync::Arc;
//! use asklake::engine::LocalEngine;
//! use asklake::pipeline::Text2Sql;
//! let engine = Arc::new(LocalEngine::open("asklake-demo", Default::default())?);
//! # #[cfg(feature = "bedrock")] {
//! let llm = Arc::new(asklake::llm::bedrock::Bedrock::from_env("sonnet").await?);
//! let t2s = Text2Sql::builder(engine).llm(llm).build();
//! let answer = t2s.ask("Which source IPs made the most API calls last week?").await?;
//! println!("{}\n{:?}", answer.sql.unwrap_or_default(), answer.explanation);
//! # }
//! # Ok(()) }
//! ```

pub mod machine;
pub mod prompt;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::engine::{QueryEngine, QueryOptions, QueryResult, format};
use crate::error::{Error, Result};
use crate::fewshot::{FewShotRetriever, ScoredExample};
use crate::llm::{self, ChatRequest, ChatStream, LlmBackend, Message, Usage};
use crate::schema::context::{self, ColumnValues, Glossary, sanitize_row, sanitize_value};
use crate::schema::security_lake::SourceVersion;
use crate::schema::{Catalog, DataType, TableInfo};
use crate::sql::guard::GuardConfig;
pub use machine::{Attempt, EmptyResultPolicy, Outcome, Step, TraceStep};

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
    /// Why no answer was produced (attempts exhausted, LLM or engine failure). [`Text2Sql::ask`] returns it
    /// as the error; [`Text2Sql::run`] keeps it here with the trace.
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

/// Self-consistency's vote over finished loops: the sample whose result most samples share (compared as
/// execution accuracy compares, strictly), ties to the earliest; with one sample, that one. Samples without
/// a result vote for nothing; if none has one, the first sample's outcome stands.
fn vote(runs: &[machine::Machine]) -> (usize, Option<TraceStep>) {
    if runs.len() < 2 {
        return (0, None);
    }
    let results: Vec<Option<&QueryResult>> = runs.iter().map(|m| m.answered()).collect();
    // groups[g] = (representative sample, size)
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let Some(r) = r else { continue };
        match groups.iter_mut().find(|(rep, _)| {
            results[*rep].is_some_and(|g| crate::engine::compare::compare(g, r, false).strict)
        }) {
            Some(g) => g.1 += 1,
            None => groups.push((i, 1)),
        }
    }
    // max_by_key keeps the last maximum; iterate in reverse so ties go to the earliest sample.
    let chosen = groups
        .iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .map_or(0, |(rep, _)| *rep);
    (
        chosen,
        Some(TraceStep::Vote {
            samples: runs.len(),
            groups: groups.iter().map(|(_, n)| *n).collect(),
            chosen,
        }),
    )
}

/// A prior question in a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub question: String,
    pub sql: String,
    #[serde(default)]
    pub tables: Vec<String>,
    #[serde(default)]
    pub row_count: usize,
}

struct Inner {
    engine: Arc<dyn QueryEngine>,
    llm: Option<Arc<dyn LlmBackend>>,
    retriever: Option<Arc<dyn FewShotRetriever>>,
    options: Options,
    glossary: Glossary,
    catalog: tokio::sync::OnceCell<Arc<Catalog>>,
    /// Rendered table sections, by qualified name (they cost engine queries).
    sections: tokio::sync::Mutex<HashMap<String, String>>,
}

/// The orchestrator. Cheap to clone; share it across tasks.
#[derive(Clone)]
pub struct Text2Sql {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Text2Sql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Text2Sql")
            .field("engine", &self.inner.engine.name())
            .field(
                "llm",
                &self.inner.llm.as_ref().map(|l| l.model().to_string()),
            )
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Text2Sql`].
pub struct Builder {
    engine: Arc<dyn QueryEngine>,
    llm: Option<Arc<dyn LlmBackend>>,
    retriever: Option<Arc<dyn FewShotRetriever>>,
    options: Options,
    glossary: Option<Glossary>,
}

impl Builder {
    pub fn llm(mut self, llm: Arc<dyn LlmBackend>) -> Self {
        self.llm = Some(llm);
        self
    }
    pub fn retriever(mut self, retriever: Arc<dyn FewShotRetriever>) -> Self {
        self.retriever = Some(retriever);
        self
    }
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }
    pub fn max_attempts(mut self, n: usize) -> Self {
        self.options.max_attempts = n.max(1);
        self
    }
    pub fn empty_result(mut self, p: EmptyResultPolicy) -> Self {
        self.options.empty_result = p;
        self
    }
    pub fn explain(mut self, on: bool) -> Self {
        self.options.explain = on;
        self
    }
    pub fn as_of(mut self, t: Option<DateTime<Utc>>) -> Self {
        self.options.as_of = t;
        self
    }
    pub fn max_rows(mut self, n: u64) -> Self {
        self.options.max_rows = n;
        self
    }
    pub fn audit_log(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.audit_log = Some(path.into());
        self
    }
    /// Few-shot examples per question (from the retriever).
    pub fn examples(mut self, k: usize) -> Self {
        self.options.examples = k;
        self
    }
    /// The SQL-skeleton rerank of retrieved examples by a draft query ([`Options::rerank`]).
    pub fn rerank(mut self, on: bool) -> Self {
        self.options.rerank = on;
        self
    }
    /// Self-consistency over `n` samples ([`Options::self_consistency`]; 0 or 1: off).
    pub fn self_consistency(mut self, n: usize) -> Self {
        self.options.self_consistency = n;
        self
    }
    pub fn glossary(mut self, g: Glossary) -> Self {
        self.glossary = Some(g);
        self
    }
    pub fn build(self) -> Text2Sql {
        Text2Sql {
            inner: Arc::new(Inner {
                engine: self.engine,
                llm: self.llm,
                retriever: self.retriever,
                options: self.options,
                glossary: self.glossary.unwrap_or_else(Glossary::builtin),
                catalog: tokio::sync::OnceCell::new(),
                sections: tokio::sync::Mutex::new(HashMap::new()),
            }),
        }
    }
}

/// A prompt ready for the loop.
struct Prepared {
    base: ChatRequest,
    tables: Vec<String>,
    examples: Vec<ScoredExample>,
    /// Rerank candidates (more than `examples` when reranking).
    pool: Vec<ScoredExample>,
}

impl Text2Sql {
    pub fn builder(engine: Arc<dyn QueryEngine>) -> Builder {
        Builder {
            engine,
            llm: None,
            retriever: None,
            options: Options::default(),
            glossary: None,
        }
    }

    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    pub fn engine(&self) -> &Arc<dyn QueryEngine> {
        &self.inner.engine
    }

    /// The same pipeline with another retriever (a library that grew); the catalog and table sections
    /// are kept.
    pub async fn with_retriever(&self, retriever: Arc<dyn FewShotRetriever>) -> Text2Sql {
        let catalog = tokio::sync::OnceCell::new();
        if let Some(c) = self.inner.catalog.get() {
            let _ = catalog.set(c.clone());
        }
        let sections = self.inner.sections.lock().await.clone();
        Text2Sql {
            inner: Arc::new(Inner {
                engine: self.inner.engine.clone(),
                llm: self.inner.llm.clone(),
                retriever: Some(retriever),
                options: self.inner.options.clone(),
                glossary: self.inner.glossary.clone(),
                catalog,
                sections: tokio::sync::Mutex::new(sections),
            }),
        }
    }

    /// The few-shot retriever (the verified library), when one is configured.
    pub fn retriever(&self) -> Option<&Arc<dyn FewShotRetriever>> {
        self.inner.retriever.as_ref()
    }

    /// A table's context exactly as prompts carry it: columns with OCSF descriptions, frequent values and
    /// sanitized sample rows, the data fenced ([`crate::untrusted::fence`]). Cached per table.
    pub async fn table_context(&self, table: &TableInfo) -> String {
        self.section(table).await
    }

    /// The tables a question's prompt would describe, by qualified name (the pipeline's own selection,
    /// retrieved examples' tables included).
    pub async fn tables_for(&self, question: &str) -> Result<Vec<String>> {
        let question = self.check_question(question)?;
        Ok(self.prepare(&question, &[]).await?.tables)
    }

    pub fn llm(&self) -> Option<&Arc<dyn LlmBackend>> {
        self.inner.llm.as_ref()
    }

    /// A conversation whose follow-up questions see the previous ones.
    pub fn session(&self) -> Session {
        Session {
            t2s: self.clone(),
            history: Vec::new(),
        }
    }

    /// The engine's catalog, read once and shared (cheap to call per request).
    pub async fn catalog(&self) -> Result<Arc<Catalog>> {
        self.inner
            .catalog
            .get_or_try_init(|| async { self.inner.engine.catalog().await.map(Arc::new) })
            .await
            .cloned()
    }

    fn query_options(&self, max_rows: u64) -> QueryOptions {
        QueryOptions {
            max_rows,
            timeout: Some(self.inner.options.query_timeout),
            as_of: self.inner.options.as_of,
        }
    }

    /// Frequent values of the table's low-cardinality columns, in one query.
    async fn column_values(&self, t: &TableInfo) -> Vec<ColumnValues> {
        let source = t.security_lake.as_ref().map(|sl| sl.source);
        let paths: Vec<&str> = context::enumerable_columns(source)
            .into_iter()
            .filter(|p| matches!(t.column_type(p), Some(DataType::String)))
            .collect();
        if paths.is_empty() {
            return Vec::new();
        }
        let filter = match t.security_lake.as_ref().map(|sl| sl.version) {
            Some(SourceVersion::V2) => {
                "WHERE time_dt >= current_timestamp - INTERVAL '30' DAY".to_string()
            }
            Some(SourceVersion::V1) => {
                "WHERE eventday >= date_format(current_date - INTERVAL '30' DAY, '%Y%m%d')"
                    .to_string()
            }
            None => String::new(),
        };
        let parts: Vec<String> = paths
            .iter()
            .map(|p| {
                format!(
                    "SELECT '{p}' AS k, CAST({p} AS varchar) AS v, count(*) AS n FROM {} {filter} GROUP BY 1, 2",
                    t.qualified_name()
                )
            })
            .collect();
        let sql = parts.join(" UNION ALL ");
        // Values only sharpen the prompt: an engine that cannot count them leaves them out.
        let Ok(result) = self
            .inner
            .engine
            .execute(&sql, &self.query_options(5000))
            .await
        else {
            return Vec::new();
        };
        let mut by_path: HashMap<String, Vec<(String, u64)>> = HashMap::new();
        for row in format::rows_json(&result) {
            let (Some(k), Some(v), Some(n)) = (row[0].as_str(), row[1].as_str(), row[2].as_u64())
            else {
                continue;
            };
            by_path
                .entry(k.to_string())
                .or_default()
                .push((v.to_string(), n));
        }
        let mut out = Vec::new();
        for p in paths {
            let Some(mut values) = by_path.remove(p) else {
                continue;
            };
            values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let more = values.len() > 15;
            values.truncate(15);
            out.push(ColumnValues {
                path: p.to_string(),
                values,
                more,
            });
        }
        out
    }

    /// The most recent rows (deterministic: newest first, ties by event id), sanitized.
    async fn samples(&self, t: &TableInfo) -> Vec<String> {
        let n = self.inner.options.sample_rows;
        if n == 0 {
            return Vec::new();
        }
        let mut order: Vec<&str> = Vec::new();
        let filter = match t.security_lake.as_ref().map(|sl| sl.version) {
            Some(SourceVersion::V2) => "WHERE time_dt >= current_timestamp - INTERVAL '1' DAY",
            Some(SourceVersion::V1) => {
                "WHERE eventday >= date_format(current_date - INTERVAL '1' DAY, '%Y%m%d')"
            }
            None => "",
        };
        for c in ["time", "metadata.uid"] {
            if t.column_type(c).is_some() {
                order.push(c);
            }
        }
        let order_by = if order.is_empty() {
            String::new()
        } else {
            format!("ORDER BY {} DESC", order.join(" DESC, "))
        };
        let sql = format!(
            "SELECT * FROM {} {filter} {order_by} LIMIT {n}",
            t.qualified_name()
        );
        let r = match self
            .inner
            .engine
            .execute(&sql, &self.query_options(n))
            .await
        {
            Ok(r) if r.row_count > 0 => r,
            _ => match self.inner.engine.sample_rows(&t.qualified_name(), n).await {
                Ok(r) => r,
                Err(_) => return Vec::new(),
            },
        };
        let names: Vec<String> = r.schema.fields().iter().map(|f| f.name().clone()).collect();
        format::rows_json(&r)
            .into_iter()
            .map(|row| {
                let m: serde_json::Map<String, Value> = names.iter().cloned().zip(row).collect();
                sanitize_row(&m)
            })
            .collect()
    }

    async fn section(&self, t: &TableInfo) -> String {
        let key = t.qualified_name();
        if let Some(s) = self.inner.sections.lock().await.get(&key) {
            return s.clone();
        }
        let values = self.column_values(t).await;
        let samples = self.samples(t).await;
        let s = context::render_table(t, &values, &samples);
        self.inner.sections.lock().await.insert(key, s.clone());
        s
    }

    async fn prepare(&self, question: &str, history: &[Turn]) -> Result<Prepared> {
        let o = &self.inner.options;
        let want = if o.rerank {
            o.rerank_pool.max(o.examples)
        } else {
            o.examples
        };
        let pool = match &self.inner.retriever {
            Some(r) if o.examples > 0 => r.retrieve(question, want).await?,
            _ => Vec::new(),
        };
        let examples = pool.iter().take(o.examples).cloned().collect();
        self.prepare_with(question, history, examples, pool).await
    }

    async fn prepare_with(
        &self,
        question: &str,
        history: &[Turn],
        examples: Vec<ScoredExample>,
        pool: Vec<ScoredExample>,
    ) -> Result<Prepared> {
        let catalog = self.catalog().await?;
        let o = &self.inner.options;
        // Tables of close examples join the prompt; a weak match's tables would only add noise.
        let mut extra: Vec<String> = examples
            .iter()
            .filter(|e| e.score >= o.library_threshold)
            .flat_map(|e| e.example.tables.clone())
            .collect();
        extra.extend(history.iter().flat_map(|t| t.tables.clone()));
        let tables = context::select_tables(
            &catalog,
            &self.inner.glossary,
            question,
            &extra,
            o.max_tables,
        );
        let mut sections = Vec::new();
        for t in &tables {
            sections.push(self.section(t).await);
        }
        let sources: Vec<_> = tables
            .iter()
            .filter_map(|t| t.security_lake.as_ref().map(|s| s.source))
            .collect();
        let terms = self.inner.glossary.terms_for(&sources);
        // Every other table in one line, so the model can name the one it needs (its columns then come in
        // the repair turn).
        // Grouped by database, names unqualified: the line costs a few tokens per table.
        let mut others: Vec<String> = Vec::new();
        for (db, in_db) in catalog.by_database() {
            let rest: Vec<String> = in_db
                .iter()
                .filter(|t| {
                    !tables
                        .iter()
                        .any(|s| s.qualified_name() == t.qualified_name())
                })
                .map(|t| format!("  - {}: {}", t.name, t.description.as_deref().unwrap_or("")))
                .collect();
            if !rest.is_empty() {
                others.push(format!("in \"{db}\":\n{}", rest.join("\n")));
            }
        }
        let system = prompt::SystemPrompt {
            max_rows: o.max_rows,
            tables: &sections,
            others: &others,
            terms: &terms,
            has_v1: tables.iter().any(|t| {
                t.security_lake
                    .as_ref()
                    .is_some_and(|s| s.version == SourceVersion::V1)
            }),
        }
        .render();
        let mut messages = prompt::example_turns(&examples);
        let keep = history.len().saturating_sub(o.max_history);
        for turn in &history[keep..] {
            messages.push(Message::user(turn.question.clone()));
            messages.push(Message::assistant(prompt::sql_block(&turn.sql)));
        }
        let mut base = ChatRequest::new(system, messages);
        base.cache_system = true;
        base.max_tokens = o.max_tokens;
        base.temperature = Some(o.temperature);
        Ok(Prepared {
            base,
            tables: tables.iter().map(|t| t.qualified_name()).collect(),
            examples,
            pool,
        })
    }

    /// The system prompt and turns the model would get for `question` (for inspection and snapshots).
    pub async fn render_prompt(&self, question: &str) -> Result<ChatRequest> {
        // The same checks as a real question: a prompt is never rendered for one the pipeline would refuse.
        let question = self.check_question(question)?;
        let mut p = self.prepare(&question, &[]).await?.base;
        p.messages.push(Message::user(question));
        Ok(p)
    }

    fn check_question(&self, question: &str) -> Result<String> {
        let q = question.trim();
        if q.is_empty() {
            return Err(Error::Config("the question is empty".into()));
        }
        let n = q.chars().count();
        if n > self.inner.options.max_question_chars {
            return Err(Error::Config(format!(
                "the question is {n} characters long; the limit is {}",
                self.inner.options.max_question_chars
            )));
        }
        Ok(q.chars()
            .filter(|c| !c.is_control() || *c == '\n')
            .collect())
    }

    fn require_llm(&self) -> Result<&Arc<dyn LlmBackend>> {
        self.inner.llm.as_ref().ok_or_else(|| {
            Error::Config(
                "no LLM configured: use `--llm bedrock --model sonnet` (AWS credentials and region from the usual \
                 AWS settings) or `--llm openai --base-url http://localhost:11434/v1 --model llama3.1` (any \
                 OpenAI-compatible server; key from OPENAI_API_KEY), or set ASKLAKE_LLM / ASKLAKE_MODEL"
                    .into(),
            )
        })
    }

    /// Answers `question`; the error of a failed question is returned as `Err`.
    pub async fn ask(&self, question: &str) -> Result<Answer> {
        let mut a = self.run(question, &[]).await?;
        match a.error.take() {
            Some(e) => Err(e),
            None => Ok(a),
        }
    }

    /// Runs the loop and returns the answer with its trace, failed or not. `Err` only for bad input or
    /// configuration (empty question, no LLM, catalog unavailable).
    pub async fn run(&self, question: &str, history: &[Turn]) -> Result<Answer> {
        self.run_inner(question, history, &mut |_| {}).await
    }

    /// Like [`Text2Sql::run`], streaming the explanation through `on_delta` as it arrives.
    pub async fn run_streaming(
        &self,
        question: &str,
        history: &[Turn],
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Answer> {
        self.run_inner(question, history, on_delta).await
    }

    /// One question, written to the audit log however it ends (an answer, a failure inside it, or an early
    /// error such as a refused question).
    async fn run_inner(
        &self,
        question: &str,
        history: &[Turn],
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Answer> {
        let started = Instant::now();
        let out = self
            .answer_question(question, history, on_delta, started)
            .await;
        if let Some(path) = &self.inner.options.audit_log {
            let engine = self.inner.engine.name();
            let line = match &out {
                Ok(answer) => audit_line(answer, engine),
                Err(e) => json!({
                    "time": Utc::now().to_rfc3339(),
                    "question": crate::untrusted::clean(question, 2000),
                    "error": e.to_string(),
                    "engine": engine,
                    "total_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                }),
            };
            crate::io::append_json_line(path, &line)?;
        }
        out
    }

    async fn answer_question(
        &self,
        question: &str,
        history: &[Turn],
        on_delta: &mut (dyn FnMut(&str) + Send),
        started: Instant,
    ) -> Result<Answer> {
        let question = self.check_question(question)?;
        if self.inner.llm.is_none() {
            return self.library_answer(&question, started).await;
        }
        let llm = self.require_llm()?.clone();
        let o = &self.inner.options;
        let mut prepared = self.prepare(&question, history).await?;
        let catalog = self.catalog().await?;
        let limits = machine::Limits {
            max_attempts: o.max_attempts.max(1),
            empty_result: o.empty_result,
            guard: GuardConfig {
                max_rows: o.max_rows,
                ..Default::default()
            },
        };
        let new_machine = |base: ChatRequest, shown: &[String]| {
            machine::Machine::new(catalog.clone(), limits.clone(), base, &question)
                .with_shown_tables(shown.to_vec())
        };
        // Work done before the loop (the rerank draft), counted in the answer.
        let mut pre_usage = Usage::default();
        let mut pre_time = Duration::ZERO;
        let mut pre_trace = Vec::new();
        let mut first_response = None;
        if o.rerank && prepared.pool.len() > prepared.examples.len() {
            let mut m0 = new_machine(prepared.base.clone(), &prepared.tables);
            if let Step::Generate(req) = m0.start() {
                let t = Instant::now();
                let r = llm.chat(&req).await;
                let dt = t.elapsed();
                let draft = match &r {
                    Ok(resp) => match crate::sql::extract::extract_sql(&resp.text) {
                        crate::sql::extract::Extracted::Sql(s) => Some(s),
                        _ => None,
                    },
                    Err(_) => None,
                };
                let ids = |v: &[ScoredExample]| -> Vec<String> {
                    v.iter().map(|e| e.example.id.clone()).collect()
                };
                match draft {
                    Some(draft) => {
                        let reranked: Vec<ScoredExample> =
                            crate::fewshot::dense::rerank_by_skeleton(
                                prepared.pool.clone(),
                                &draft,
                                0.5,
                            )
                            .into_iter()
                            .take(o.examples)
                            .collect();
                        let (before, after) = (ids(&prepared.examples), ids(&reranked));
                        pre_trace.push(TraceStep::Rerank {
                            draft,
                            before: before.clone(),
                            after: after.clone(),
                        });
                        if before == after {
                            first_response = Some((r, dt));
                        } else {
                            if let Ok(resp) = &r {
                                pre_usage += resp.usage;
                            }
                            pre_time += dt;
                            let pool = std::mem::take(&mut prepared.pool);
                            prepared = self
                                .prepare_with(&question, history, reranked, pool)
                                .await?;
                        }
                    }
                    // No draft to rerank by: the response is the first attempt as usual.
                    None => first_response = Some((r, dt)),
                }
            }
        }
        let prompt_chars = prepared.base.system.chars().count();
        let samples = o.self_consistency.max(1);
        let runs: Vec<machine::Machine> = if samples == 1 {
            vec![
                self.drive(
                    &llm,
                    new_machine(prepared.base.clone(), &prepared.tables),
                    first_response,
                )
                .await,
            ]
        } else {
            let mut first_response = first_response;
            let futures = (0..samples).map(|i| {
                let mut base = prepared.base.clone();
                if i > 0 {
                    base.temperature = Some(o.sample_temperature);
                    base.sample = i as u32;
                }
                let mut m = new_machine(base, &prepared.tables);
                m.trace.push(TraceStep::Sample {
                    sample: i,
                    temperature: if i == 0 {
                        o.temperature
                    } else {
                        o.sample_temperature
                    },
                });
                let pre = if i == 0 { first_response.take() } else { None };
                self.drive(&llm, m, pre)
            });
            futures_util::future::join_all(futures).await
        };
        let (chosen, vote) = vote(&runs);
        let mut answer = Answer {
            question: question.clone(),
            sql: None,
            result: None,
            refusal: None,
            error: None,
            attempts: Vec::new(),
            explanation: None,
            source: AnswerSource::Llm,
            model: llm.model().to_string(),
            tables: prepared.tables,
            examples: prepared.examples,
            usage: pre_usage,
            cost_usd: None,
            timings: Timings {
                llm: pre_time,
                engine: Duration::ZERO,
                total: Duration::ZERO,
            },
            trace: pre_trace,
            prompt_chars,
        };
        let mut outcome = None;
        for (i, mut m) in runs.into_iter().enumerate() {
            answer.usage += m.usage;
            answer.timings.llm += m.llm_time;
            answer.timings.engine += m.engine_time;
            answer.trace.append(&mut m.trace);
            if i == chosen {
                // The chosen sample's attempts come first: they are how the answer was reached.
                let mut mine = std::mem::take(&mut m.attempts);
                mine.append(&mut answer.attempts);
                answer.attempts = mine;
                outcome = m.take_outcome();
            } else {
                answer.attempts.append(&mut m.attempts);
            }
        }
        if let Some(v) = vote {
            answer.trace.push(v);
        }
        match outcome {
            Some(Outcome::Answered { sql, result }) => {
                answer.sql = Some(sql);
                answer.result = Some(result);
            }
            Some(Outcome::Refused(r)) => answer.refusal = Some(r),
            Some(Outcome::Failed(e)) => answer.error = Some(e),
            None => {
                answer.error = Some(Error::Internal(
                    "the pipeline stopped without an outcome".into(),
                ))
            }
        }
        if o.explain && answer.result.is_some() {
            let t = Instant::now();
            match self.explain_inner(&answer, on_delta).await {
                Ok((text, usage)) => {
                    answer.explanation = Some(text);
                    answer.usage += usage;
                }
                // The query answered; a failed explanation is noted, not fatal.
                Err(e) => answer.explanation = Some(format!("(no explanation: {e})")),
            }
            answer.timings.llm += t.elapsed();
        }
        answer.cost_usd = llm.pricing().map(|p| llm::cost_usd(&p, &answer.usage));
        answer.timings.total = started.elapsed();
        Ok(answer)
    }

    /// Runs one generate → execute → repair loop to its end. `first` is a response already obtained for the
    /// machine's first request (the rerank draft), used instead of calling the model again.
    async fn drive(
        &self,
        llm: &Arc<dyn LlmBackend>,
        mut m: machine::Machine,
        mut first: Option<(Result<llm::ChatResponse>, Duration)>,
    ) -> machine::Machine {
        let o = &self.inner.options;
        let mut step = m.start();
        loop {
            step = match step {
                Step::Generate(req) => match first.take() {
                    Some((r, dt)) => m.on_response(r, dt),
                    None => {
                        let t = Instant::now();
                        let r = llm.chat(&req).await;
                        m.on_response(r, t.elapsed())
                    }
                },
                Step::Execute(sql) => {
                    let t = Instant::now();
                    let r = self
                        .inner
                        .engine
                        .execute(&sql, &self.query_options(o.max_rows))
                        .await;
                    m.on_executed(r, t.elapsed())
                }
                Step::Finish => return m,
            };
        }
    }

    /// Without an LLM: the best library example's SQL, run on the engine and labelled with its id and score,
    /// when the score reaches `library_threshold`; otherwise how to configure an LLM.
    async fn library_answer(&self, question: &str, started: Instant) -> Result<Answer> {
        let o = &self.inner.options;
        let hits = match &self.inner.retriever {
            Some(r) => r.library_candidates(question, 2).await?,
            None => Vec::new(),
        };
        // A two-word question ("top IPs") is too vague to answer from someone else's verified question.
        let specific = {
            let mut t = crate::fewshot::library::terms(question);
            t.sort();
            t.dedup();
            t.len() >= 3
        };
        let best = match library_pick(&hits, o.library_threshold).filter(|_| specific) {
            Some(b) => b.clone(),
            None => {
                let other = hits.first();
                let why = match other {
                    Some(b) => format!(
                        "the closest library example ({}, score {:.2}) is not a close enough match (needs {:.2} and \
                         a clear lead over the next); ",
                        b.example.id, b.score, o.library_threshold
                    ),
                    None if self.inner.retriever.is_some() => "no library example matches; ".into(),
                    None => String::new(),
                };
                let how = self
                    .require_llm()
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                return Err(Error::Config(format!(
                    "{why}{}",
                    how.trim_start_matches("configuration error: ")
                )));
            }
        };
        let catalog = self.catalog().await?;
        let guard = crate::sql::Guard::new(
            &catalog,
            GuardConfig {
                max_rows: o.max_rows,
                ..Default::default()
            },
        );
        let guarded = guard.check(&best.example.sql)?;
        let t = Instant::now();
        let result = self
            .inner
            .engine
            .execute(&guarded.sql, &self.query_options(o.max_rows))
            .await;
        let engine_time = t.elapsed();
        let (result, error) = match result {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        };
        let answer = Answer {
            question: question.to_string(),
            sql: Some(guarded.sql.clone()),
            result,
            refusal: None,
            error,
            attempts: Vec::new(),
            explanation: Some(format!(
                "Answered from the verified query library: example {} (\"{}\"), retrieval score {:.2}.",
                best.example.id, best.example.question, best.score
            )),
            source: AnswerSource::Library,
            model: format!("library:{}", best.example.id),
            tables: guarded.tables.clone(),
            examples: vec![best],
            usage: Usage::default(),
            cost_usd: Some(0.0),
            timings: Timings {
                llm: Duration::ZERO,
                engine: engine_time,
                total: started.elapsed(),
            },
            trace: Vec::new(),
            prompt_chars: 0,
        };
        Ok(answer)
    }

    /// The explanation call for an answer (for callers that stream it themselves).
    pub fn explanation_request(&self, answer: &Answer) -> Result<ChatRequest> {
        let (Some(sql), Some(result)) = (&answer.sql, &answer.result) else {
            return Err(Error::Config(
                "this answer has no query result to explain".into(),
            ));
        };
        let names: Vec<String> = result
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut table = names.join(" | ");
        for row in format::rows_text(result).into_iter().take(30) {
            table.push('\n');
            table.push_str(
                &row.iter()
                    .map(|c| sanitize_value(c, 80))
                    .collect::<Vec<_>>()
                    .join(" | "),
            );
        }
        if result.row_count > 30 {
            table.push_str(&format!("\n… {} more rows", result.row_count - 30));
        }
        let (system, user) = prompt::explanation(
            &answer.question,
            sql,
            &table,
            result.row_count,
            result.truncated,
        );
        let mut req = ChatRequest::new(system, vec![Message::user(user)]);
        req.max_tokens = 700;
        req.temperature = Some(0.2);
        Ok(req)
    }

    async fn explain_inner(
        &self,
        answer: &Answer,
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(String, Usage)> {
        let llm = self.require_llm()?;
        let req = self.explanation_request(answer)?;
        let stream = llm.chat_stream(&req).await?;
        let r = llm::collect_stream(stream, on_delta).await?;
        Ok((r.text, r.usage))
    }

    /// The explanation of an answer as a stream of text deltas.
    pub async fn explain_stream(&self, answer: &Answer) -> Result<ChatStream> {
        let llm = self.require_llm()?;
        llm.chat_stream(&self.explanation_request(answer)?).await
    }
}

/// The library example to answer with, if any: the best hit must reach `threshold` and lead the runner-up
/// by 0.1, so two near-equal candidates (neighbouring questions) never produce a confident library answer.
pub fn library_pick(hits: &[ScoredExample], threshold: f32) -> Option<&ScoredExample> {
    let best = hits.first()?;
    let lead = hits.get(1).map_or(1.0, |second| best.score - second.score);
    (best.score >= threshold && lead >= 0.1).then_some(best)
}

/// The audit log's line about `answer`: the question, the SQL that ran, every rejected attempt's SQL with
/// its stage and error, counts, cost and time. Never prompts, keys or result rows.
fn audit_line(answer: &Answer, engine: &str) -> Value {
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

/// A conversation: follow-ups see the previous questions and their SQL (bounded by `max_history`).
#[derive(Debug, Clone)]
pub struct Session {
    t2s: Text2Sql,
    pub history: Vec<Turn>,
}

impl Session {
    pub async fn ask(&mut self, question: &str) -> Result<Answer> {
        let mut a = self.run(question).await?;
        match a.error.take() {
            Some(e) => Err(e),
            None => Ok(a),
        }
    }

    /// Like [`Session::ask`], keeping a failure inside the answer.
    pub async fn run(&mut self, question: &str) -> Result<Answer> {
        let a = self.t2s.run(question, &self.history).await?;
        self.record(&a);
        Ok(a)
    }

    pub async fn run_streaming(
        &mut self,
        question: &str,
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Answer> {
        let a = self
            .t2s
            .run_streaming(question, &self.history, on_delta)
            .await?;
        self.record(&a);
        Ok(a)
    }

    fn record(&mut self, a: &Answer) {
        if let Some(sql) = &a.sql {
            self.history.push(Turn {
                question: a.question.clone(),
                sql: sql.clone(),
                tables: a.tables.clone(),
                row_count: a.result.as_ref().map_or(0, |r| r.row_count),
            });
            let max = self.t2s.inner.options.max_history.max(1);
            if self.history.len() > max {
                self.history.drain(..self.history.len() - max);
            }
        }
    }

    /// Restores a session saved by [`Session::save`]; a missing file starts a new one.
    pub fn load(t2s: &Text2Sql, path: &Path) -> Result<Session> {
        let history = match std::fs::read_to_string(path) {
            Ok(text) => {
                serde_json::from_str::<SessionFile>(&text)
                    .map_err(|e| Error::Config(format!("session file {}: {e}", path.display())))?
                    .history
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(path, e)),
        };
        Ok(Session {
            t2s: t2s.clone(),
            history,
        })
    }

    /// Writes the history (questions and SQL only) atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(&SessionFile {
            format: "asklake-session".into(),
            history: self.history.clone(),
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        crate::io::write_atomic(path, text.as_bytes())
    }
}

#[derive(Serialize, Deserialize)]
struct SessionFile {
    format: String,
    history: Vec<Turn>,
}
