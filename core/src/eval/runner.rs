//! The benchmark runner: every question × model × pipeline variant, scored by execution accuracy against the
//! gold SQL on the same engine and clock, with per-question diagnostics, usage, latency and cost.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::compare::{Comparison, columns_match, compare, compare_with_ties};
use crate::engine::{QueryEngine, QueryOptions, QueryResult};
use crate::error::{Error, Result};
use crate::fewshot::library::{LexicalRetriever, Library};
use crate::fewshot::{Example, FixedExamples};
use crate::llm::LlmBackend;
use crate::pipeline::{Options, Text2Sql, TraceStep};
use crate::sql::dialect;
use crate::sql::validate::referenced_tables;

/// One benchmark question.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BenchQuestion {
    pub id: String,
    pub question: String,
    pub question_ko: String,
    pub sql: String,
    pub tables: Vec<String>,
    pub difficulty: String,
    #[serde(default)]
    pub order_matters: bool,
}

/// Reads a benchmark JSONL file.
pub fn load_benchmark(path: &Path) -> Result<Vec<BenchQuestion>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_benchmark(&text, &path.display().to_string())
}

/// The benchmark shipped with asklake (`fewshot/eval/benchmark.jsonl`: 149 questions over the demo lake).
pub fn builtin_benchmark() -> Result<Vec<BenchQuestion>> {
    parse_benchmark(
        include_str!("../../../fewshot/eval/benchmark.jsonl"),
        "fewshot/eval/benchmark.jsonl",
    )
}

fn parse_benchmark(text: &str, name: &str) -> Result<Vec<BenchQuestion>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::Config(format!("{name} line {}: {e}", i + 1)))
        })
        .collect()
}

/// A pipeline variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Schema only, one attempt.
    ZeroShot,
    /// The same three library examples for every question, one attempt.
    FewShot,
    /// The three retrieved library examples, one attempt.
    Rag,
    /// Retrieved examples and the repair loop (three attempts).
    RagRepair,
    /// `rag+repair` with the SQL-skeleton rerank of a 10-example pool by a draft query.
    RagRepairRerank,
    /// `rag+repair` run N times (the first greedy, the rest sampled), majority vote by result.
    SelfConsistency(usize),
}

impl std::str::FromStr for Variant {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "zero-shot" => Ok(Variant::ZeroShot),
            "few-shot" => Ok(Variant::FewShot),
            "rag" => Ok(Variant::Rag),
            "rag+repair" => Ok(Variant::RagRepair),
            "rag+repair+rerank" => Ok(Variant::RagRepairRerank),
            other => match other
                .strip_prefix("self-consistency:")
                .map(str::parse::<usize>)
            {
                Some(Ok(n)) if (2..=20).contains(&n) => Ok(Variant::SelfConsistency(n)),
                Some(_) => Err(Error::Config(format!(
                    "{other:?}: self-consistency needs a sample count from 2 to 20, e.g. self-consistency:5"
                ))),
                None => Err(Error::Config(format!(
                    "unknown variant {other:?}; use zero-shot, few-shot, rag, rag+repair, rag+repair+rerank or \
                     self-consistency:N"
                ))),
            },
        }
    }
}

impl Variant {
    pub fn name(self) -> String {
        match self {
            Variant::ZeroShot => "zero-shot".into(),
            Variant::FewShot => "few-shot".into(),
            Variant::Rag => "rag".into(),
            Variant::RagRepair => "rag+repair".into(),
            Variant::RagRepairRerank => "rag+repair+rerank".into(),
            Variant::SelfConsistency(n) => format!("self-consistency:{n}"),
        }
    }

    /// Whether the variant retrieves examples for each question.
    pub fn retrieves(self) -> bool {
        !matches!(self, Variant::ZeroShot | Variant::FewShot)
    }

    /// The pipeline options of the variant, from the base options.
    pub fn options(self, base: &Options) -> Options {
        let mut o = Options {
            explain: false,
            ..base.clone()
        };
        let repair = matches!(
            self,
            Variant::RagRepair | Variant::RagRepairRerank | Variant::SelfConsistency(_)
        );
        o.max_attempts = if repair { base.max_attempts.max(1) } else { 1 };
        o.examples = if self == Variant::ZeroShot { 0 } else { 3 };
        o.rerank = self == Variant::RagRepairRerank;
        o.self_consistency = match self {
            Variant::SelfConsistency(n) => n,
            _ => 0,
        };
        o
    }
}

impl Serialize for Variant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

/// The outcome of one question under one model and variant.
#[derive(Debug, Clone, Serialize)]
pub struct QuestionResult {
    pub id: String,
    pub lang: String,
    pub difficulty: String,
    pub model: String,
    pub variant: String,
    pub predicted_sql: Option<String>,
    pub correct: bool,
    pub correct_relaxed: bool,
    pub parses: bool,
    /// The final SQL passed the guard and static validation (it reached the engine).
    pub passes_guard: bool,
    pub executes: bool,
    pub tables_match: bool,
    /// Every gold column has a predicted column with the same values, and no more columns (value-based,
    /// so aliases do not matter).
    pub columns_match: bool,
    /// Correct only thanks to ties at the gold query's LIMIT boundary (another equally ranked row chosen).
    pub tie_at_limit: bool,
    pub attempts: usize,
    pub latency_ms: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: Option<f64>,
    pub error: Option<String>,
}

/// Accuracy and costs of one model × variant.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub model: String,
    pub variant: String,
    pub n: usize,
    pub accuracy: f64,
    /// 95% Wilson interval.
    pub accuracy_ci: (f64, f64),
    pub accuracy_relaxed: f64,
    pub mean_attempts: f64,
    pub p50_latency_ms: u64,
    pub p95_latency_ms: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: Option<f64>,
    pub by_difficulty: BTreeMap<String, f64>,
    pub by_lang: BTreeMap<String, f64>,
    /// Share of questions whose final SQL parses, passes the guard, executes, reads the gold tables, selects
    /// the gold columns; and of answers correct only by a tie at the LIMIT boundary.
    pub diagnostics: BTreeMap<String, f64>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The retriever of the retrieval variants (`lexical`, `dense`, `hybrid`).
    pub retriever: String,
    pub summary: Vec<Summary>,
    pub results: Vec<QuestionResult>,
}

/// How a run is carried out, beyond what it measures.
#[derive(Debug, Clone)]
pub struct RunSetup {
    /// Questions in flight at once.
    pub concurrency: usize,
    /// The retriever of the retrieval variants (default: lexical over the built-in library).
    pub retriever: Option<Arc<dyn crate::fewshot::FewShotRetriever>>,
}

impl Default for RunSetup {
    fn default() -> Self {
        RunSetup {
            concurrency: 1,
            retriever: None,
        }
    }
}

/// Wilson score interval for `k` successes out of `n` at 95%.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 0.0);
    }
    let (k, n, z) = (k as f64, n as f64, 1.96f64);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) + z * z / (4.0 * n)) / n).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs the benchmark. `langs`: `en`, `ko` or both. Gold results are computed once on the same engine and clock.
pub async fn run(
    engine: Arc<dyn QueryEngine>,
    models: &[Arc<dyn LlmBackend>],
    variants: &[Variant],
    questions: &[BenchQuestion],
    langs: &[&str],
    base: &Options,
) -> Result<Report> {
    run_setup(
        engine,
        models,
        variants,
        questions,
        langs,
        base,
        &RunSetup::default(),
        &mut |_, _, _| {},
    )
    .await
}

/// What every variant's pipeline is built from: the retriever and the fixed few-shot examples.
struct Pipelines {
    retriever: Arc<dyn crate::fewshot::FewShotRetriever>,
    fixed: Vec<Example>,
}

impl Pipelines {
    fn new(setup: &RunSetup) -> Result<Self> {
        let library = Library::builtin()?;
        Ok(Pipelines {
            retriever: match &setup.retriever {
                Some(r) => r.clone(),
                None => Arc::new(LexicalRetriever::from_library(&library)),
            },
            fixed: library
                .entries
                .iter()
                .take(3)
                .map(|e| e.example.clone())
                .collect(),
        })
    }

    fn build(
        &self,
        engine: Arc<dyn QueryEngine>,
        llm: Option<Arc<dyn LlmBackend>>,
        variant: Variant,
        base: &Options,
    ) -> Text2Sql {
        let mut b = Text2Sql::builder(engine).options(variant.options(base));
        if let Some(l) = llm {
            b = b.llm(l);
        }
        if variant == Variant::FewShot {
            b = b.retriever(Arc::new(FixedExamples::new(self.fixed.clone())));
        } else if variant.retrieves() {
            b = b.retriever(self.retriever.clone());
        }
        b.build()
    }
}

/// Writes `report.json`, `report.md` and `accuracy_vs_cost.png` into `dir` (created if needed); returns
/// their paths.
pub fn write_reports(report: &Report, dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let json = serde_json::to_vec_pretty(report).map_err(|e| Error::Internal(e.to_string()))?;
    let files = [
        ("report.json", json),
        ("report.md", markdown(report).into_bytes()),
        (
            "accuracy_vs_cost.png",
            super::plot::accuracy_vs_cost(&report.summary)?,
        ),
    ];
    let mut written = Vec::new();
    for (name, bytes) in files {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))?;
        written.push(p);
    }
    Ok(written)
}

/// [`run`] with the setup's concurrency (questions in flight; throttling is retried with backoff by the
/// backends) and retriever, calling `progress(result, done, total)` as each question finishes. Results keep
/// input order.
#[allow(clippy::too_many_arguments)]
pub async fn run_setup(
    engine: Arc<dyn QueryEngine>,
    models: &[Arc<dyn LlmBackend>],
    variants: &[Variant],
    questions: &[BenchQuestion],
    langs: &[&str],
    base: &Options,
    setup: &RunSetup,
    progress: &mut (dyn FnMut(&QuestionResult, usize, usize) + Send),
) -> Result<Report> {
    use futures_util::StreamExt;
    let concurrency = setup.concurrency;
    let total = models.len() * variants.len() * questions.len() * langs.len();
    let pipelines = Pipelines::new(setup)?;
    let qopts = QueryOptions {
        max_rows: base.max_rows,
        timeout: Some(base.query_timeout),
        as_of: base.as_of,
    };
    let catalog = engine.catalog().await?;
    let mut gold: Vec<Gold> = Vec::new();
    for q in questions {
        gold.push(Gold::compute(engine.as_ref(), q, &qopts).await?);
    }
    let mut results = Vec::new();
    for model in models {
        for &variant in variants {
            let t2s = pipelines.build(engine.clone(), Some(model.clone()), variant, base);
            let items: Vec<(usize, &BenchQuestion, &Gold, &str)> = questions
                .iter()
                .zip(&gold)
                .flat_map(|(q, g)| langs.iter().map(move |l| (q, g, *l)))
                .enumerate()
                .map(|(i, (q, g, l))| (i, q, g, l))
                .collect();
            let catalog = &catalog;
            let model_name = model.model().to_string();
            // The futures are built before the stream (not by a closure it holds), so the run's future is
            // Send without higher-ranked lifetime trouble (callers spawn it, e.g. the Python binding).
            let futures: Vec<_> = items
                .into_iter()
                .map(|(i, q, g, lang)| {
                    let t2s = t2s.clone();
                    let model_name = model_name.clone();
                    Box::pin(async move {
                        (
                            i,
                            score_one(&t2s, q, g, lang, catalog, &model_name, variant).await,
                        )
                    })
                })
                .collect();
            let mut stream =
                futures_util::stream::iter(futures).buffer_unordered(concurrency.max(1));
            let mut batch: Vec<(usize, QuestionResult)> = Vec::new();
            while let Some((i, r)) = stream.next().await {
                let r = r?;
                progress(&r, results.len() + batch.len() + 1, total);
                batch.push((i, r));
            }
            batch.sort_by_key(|(i, _)| *i);
            results.extend(batch.into_iter().map(|(_, r)| r));
        }
    }
    Ok(Report {
        retriever: pipelines.retriever.name().to_string(),
        summary: summarize(&results),
        results,
    })
}

/// Output tokens assumed per SQL-generating call when estimating (a fenced query of a few lines).
pub const ESTIMATED_OUTPUT_TOKENS: u64 = 120;

/// The minimum LLM traffic of a run, from the prompts it would send (no model is called): one call per
/// question (N for self-consistency); repairs and rerank regenerations only add to it.
#[derive(Debug, Clone, Serialize)]
pub struct CallEstimate {
    pub variant: String,
    pub questions: usize,
    pub calls: usize,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Tokens of a prompt, estimated: 4 characters of ASCII a token, one token per other character (Hangul).
pub fn estimate_tokens(text: &str) -> u64 {
    let (ascii, other) = text.chars().fold((0u64, 0u64), |(a, o), c| {
        if c.is_ascii() { (a + 1, o) } else { (a, o + 1) }
    });
    ascii.div_ceil(4) + other
}

/// [`CallEstimate`]s for each variant over `questions` × `langs`.
pub async fn estimate(
    engine: Arc<dyn QueryEngine>,
    variants: &[Variant],
    questions: &[BenchQuestion],
    langs: &[&str],
    base: &Options,
    setup: &RunSetup,
) -> Result<Vec<CallEstimate>> {
    let pipelines = Pipelines::new(setup)?;
    let mut out = Vec::new();
    for &variant in variants {
        let t2s = pipelines.build(engine.clone(), None, variant, base);
        let per_question = match variant {
            Variant::SelfConsistency(n) => n,
            _ => 1,
        };
        let mut e = CallEstimate {
            variant: variant.name(),
            questions: 0,
            calls: 0,
            input_tokens: 0,
            output_tokens: 0,
        };
        for q in questions {
            for lang in langs {
                let text = if *lang == "ko" {
                    &q.question_ko
                } else {
                    &q.question
                };
                let prompt = t2s.render_prompt(text).await?;
                e.questions += 1;
                e.calls += per_question;
                e.input_tokens += per_question as u64 * estimate_tokens(&prompt.transcript());
                e.output_tokens += per_question as u64 * ESTIMATED_OUTPUT_TOKENS;
            }
        }
        out.push(e);
    }
    Ok(out)
}

/// The gold result of a question, and for a top-N query the rows tied with its last row just past the LIMIT.
pub struct Gold {
    pub result: QueryResult,
    /// The gold query with its LIMIT raised, when the gold result fills the LIMIT and may cut a tie.
    pub extended: Option<QueryResult>,
    /// Result columns of the ORDER BY keys (when every key is an output column).
    pub order_keys: Vec<usize>,
}

impl Gold {
    pub async fn compute(
        engine: &dyn QueryEngine,
        q: &BenchQuestion,
        opts: &QueryOptions,
    ) -> Result<Gold> {
        let fail = |e: Error| Error::Config(format!("gold SQL of {} fails: {e}", q.id));
        let result = engine.execute(&q.sql, opts).await.map_err(fail)?;
        let mut gold = Gold {
            result,
            extended: None,
            order_keys: Vec::new(),
        };
        let columns: Vec<String> = gold
            .result
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        if let Some((limit, keys, extended_sql)) =
            crate::engine::compare::limit_and_order(&q.sql, &columns)
            && gold.result.row_count as u64 == limit
            && !keys.is_empty()
        {
            // The extension only widens what counts as right; if it cannot run, plain comparison stands.
            if let Ok(ext) = engine.execute(&extended_sql, opts).await {
                gold.order_keys = keys;
                gold.extended = Some(ext);
            }
        }
        Ok(gold)
    }
}

/// Asks one question and scores the answer against the gold result.
async fn score_one(
    t2s: &Text2Sql,
    q: &BenchQuestion,
    gold: &Gold,
    lang: &str,
    catalog: &crate::schema::Catalog,
    model: &str,
    variant: Variant,
) -> Result<QuestionResult> {
    let text = if lang == "ko" {
        &q.question_ko
    } else {
        &q.question
    };
    let a = t2s.run(text, &[]).await?;
    let predicted = a
        .attempts
        .last()
        .and_then(|x| x.sql.clone())
        .or(a.sql.clone());
    let parses = predicted
        .as_deref()
        .is_some_and(|s| dialect::parse(s).is_ok());
    let tables_match = predicted
        .as_deref()
        .and_then(|s| dialect::parse(s).ok())
        .and_then(|st| st.into_iter().next())
        .is_some_and(|st| {
            let mut got: Vec<String> = referenced_tables(&st, catalog)
                .iter()
                .map(|t| t.name.to_lowercase())
                .collect();
            let mut want: Vec<String> = q
                .tables
                .iter()
                .map(|t| t.rsplit('.').next().unwrap_or(t).to_lowercase())
                .collect();
            got.sort();
            got.dedup();
            want.sort();
            want.dedup();
            got == want
        });
    let (cmp, tie_at_limit) = match &a.result {
        Some(r) => {
            let c = compare(&gold.result, r, q.order_matters);
            match &gold.extended {
                Some(ext) if !c.strict || !c.relaxed => {
                    let t = compare_with_ties(&gold.result, ext, &gold.order_keys, r);
                    (
                        Comparison {
                            strict: c.strict || t.strict,
                            relaxed: c.relaxed || t.relaxed,
                        },
                        !c.relaxed && t.relaxed,
                    )
                }
                _ => (c, false),
            }
        }
        None => (
            Comparison {
                strict: false,
                relaxed: false,
            },
            false,
        ),
    };
    let columns_match = a
        .result
        .as_ref()
        .is_some_and(|r| columns_match(&gold.result, r));
    let passes_guard = a.trace.iter().any(|t| {
        matches!(
            t,
            TraceStep::Executed { .. } | TraceStep::EngineError { .. }
        )
    });
    Ok(QuestionResult {
        id: q.id.clone(),
        lang: lang.to_string(),
        difficulty: q.difficulty.clone(),
        model: model.to_string(),
        variant: variant.name(),
        predicted_sql: a.sql.clone().or(predicted),
        correct: cmp.strict,
        correct_relaxed: cmp.relaxed,
        parses,
        passes_guard,
        executes: a.result.is_some(),
        tables_match,
        columns_match,
        tie_at_limit,
        attempts: a.attempts.len(),
        latency_ms: u64::try_from(a.timings.total.as_millis()).unwrap_or(u64::MAX),
        input_tokens: a.usage.input_tokens,
        output_tokens: a.usage.output_tokens,
        cost_usd: a.cost_usd,
        error: a
            .error
            .as_ref()
            .map(|e| e.to_string())
            .or(a.refusal.clone()),
    })
}

/// One summary per model × variant, in first-seen order.
pub fn summarize(results: &[QuestionResult]) -> Vec<Summary> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for r in results {
        let k = (r.model.clone(), r.variant.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .map(|(model, variant)| {
            let rs: Vec<&QuestionResult> = results
                .iter()
                .filter(|r| r.model == model && r.variant == variant)
                .collect();
            let n = rs.len();
            let k = rs.iter().filter(|r| r.correct).count();
            let rate = |f: &dyn Fn(&QuestionResult) -> bool, sel: &[&QuestionResult]| {
                if sel.is_empty() {
                    0.0
                } else {
                    sel.iter().filter(|r| f(r)).count() as f64 / sel.len() as f64
                }
            };
            let group = |key: &dyn Fn(&QuestionResult) -> String| {
                let mut m: BTreeMap<String, Vec<&QuestionResult>> = BTreeMap::new();
                for r in &rs {
                    m.entry(key(r)).or_default().push(r);
                }
                m.into_iter()
                    .map(|(k, v)| (k, rate(&|r| r.correct, &v)))
                    .collect::<BTreeMap<_, _>>()
            };
            let mut lat: Vec<u64> = rs.iter().map(|r| r.latency_ms).collect();
            lat.sort_unstable();
            let costs: Vec<f64> = rs.iter().filter_map(|r| r.cost_usd).collect();
            Summary {
                n,
                accuracy: if n == 0 { 0.0 } else { k as f64 / n as f64 },
                accuracy_ci: wilson(k, n),
                accuracy_relaxed: rate(&|r| r.correct_relaxed, &rs),
                mean_attempts: if n == 0 {
                    0.0
                } else {
                    rs.iter().map(|r| r.attempts as f64).sum::<f64>() / n as f64
                },
                p50_latency_ms: percentile(&lat, 0.5),
                p95_latency_ms: percentile(&lat, 0.95),
                input_tokens: rs.iter().map(|r| r.input_tokens).sum(),
                output_tokens: rs.iter().map(|r| r.output_tokens).sum(),
                cost_usd: (costs.len() == n && n > 0).then(|| costs.iter().sum()),
                by_difficulty: group(&|r| r.difficulty.clone()),
                by_lang: group(&|r| r.lang.clone()),
                diagnostics: [
                    ("parses", rate(&|r| r.parses, &rs)),
                    ("passes_guard", rate(&|r| r.passes_guard, &rs)),
                    ("executes", rate(&|r| r.executes, &rs)),
                    ("tables_match", rate(&|r| r.tables_match, &rs)),
                    ("columns_match", rate(&|r| r.columns_match, &rs)),
                    ("tie_at_limit", rate(&|r| r.tie_at_limit, &rs)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
                model,
                variant,
            }
        })
        .collect()
}

/// `report.md`: accuracy with 95% intervals, by difficulty and language, attempts, latency, tokens, cost.
pub fn markdown(report: &Report) -> String {
    let mut s = format!(
        "# asklake evaluation\n\nRetrieval variants use the `{}` retriever. Accuracy is execution accuracy (strict: \
         same rows and columns; relaxed: extra predicted columns allowed).\n\n| model",
        report.retriever
    );
    s.push_str(
        " | variant | n | accuracy (95% CI) | relaxed | mean attempts | p50 / p95 ms | tokens in / out | $ total | $ / question |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for x in &report.summary {
        let cost = x.cost_usd.map_or("n/a".into(), |c| format!("{c:.4}"));
        let per = x
            .cost_usd
            .map_or("n/a".into(), |c| format!("{:.5}", c / x.n.max(1) as f64));
        s.push_str(&format!(
            "| {} | {} | {} | {:.1}% ({:.1}–{:.1}) | {:.1}% | {:.2} | {} / {} | {} / {} | {} | {} |\n",
            x.model, x.variant, x.n, 100.0 * x.accuracy, 100.0 * x.accuracy_ci.0, 100.0 * x.accuracy_ci.1,
            100.0 * x.accuracy_relaxed, x.mean_attempts, x.p50_latency_ms, x.p95_latency_ms, x.input_tokens,
            x.output_tokens, cost, per
        ));
    }
    s.push_str(
        "\n## By difficulty and language\n\n| model | variant | breakdown |\n|---|---|---|\n",
    );
    for x in &report.summary {
        let parts: Vec<String> = x
            .by_difficulty
            .iter()
            .chain(x.by_lang.iter())
            .map(|(k, v)| format!("{k} {:.0}%", 100.0 * v))
            .collect();
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            x.model,
            x.variant,
            parts.join(", ")
        ));
    }
    s.push_str(
        "\n## Diagnostics (share of questions)\n\n| model | variant | parses | passes guard | executes | tables match | \
         columns match | correct by a LIMIT tie |\n|---|---|---|---|---|---|---|---|\n",
    );
    for x in &report.summary {
        let d = |k: &str| {
            format!(
                "{:.0}%",
                100.0 * x.diagnostics.get(k).copied().unwrap_or(0.0)
            )
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            x.model,
            x.variant,
            d("parses"),
            d("passes_guard"),
            d("executes"),
            d("tables_match"),
            d("columns_match"),
            d("tie_at_limit")
        ));
    }
    s
}
