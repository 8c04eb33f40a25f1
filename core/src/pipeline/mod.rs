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

mod answer;
mod context;
mod driver;
pub mod machine;
mod options;
pub mod plan;
pub mod prompt;
mod session;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::engine::QueryEngine;
use crate::error::{Error, Result};
use crate::fewshot::FewShotRetriever;
use crate::llm::LlmBackend;
use crate::schema::context::Glossary;
use crate::schema::{Catalog, TableInfo};
pub use answer::{Answer, AnswerSource, Timings};
pub use driver::library_pick;
pub use machine::{Attempt, EmptyResultPolicy, Outcome, Step, TraceStep};
pub use options::Options;
pub use session::{Session, Turn};

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
}
