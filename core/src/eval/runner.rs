//! The benchmark runner: every question × model × pipeline variant, scored by execution accuracy against the
//! gold SQL on the same engine and clock, with per-question diagnostics, usage, latency and cost.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::compare::{Comparison, compare};
use crate::engine::{QueryEngine, QueryOptions, QueryResult};
use crate::error::{Error, Result};
use crate::fewshot::library::{LexicalRetriever, Library};
use crate::fewshot::{Example, FixedExamples};
use crate::llm::LlmBackend;
use crate::pipeline::{Options, Text2Sql};
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
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::Config(format!("{} line {}: {e}", path.display(), i + 1)))
        })
        .collect()
}

/// A pipeline variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// Schema only, one attempt.
    ZeroShot,
    /// The same three library examples for every question, one attempt.
    FewShot,
    /// The three retrieved library examples, one attempt.
    Rag,
    /// Retrieved examples and the repair loop (three attempts).
    RagRepair,
}

impl std::str::FromStr for Variant {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "zero-shot" => Ok(Variant::ZeroShot),
            "few-shot" => Ok(Variant::FewShot),
            "rag" => Ok(Variant::Rag),
            "rag+repair" => Ok(Variant::RagRepair),
            other => Err(Error::Config(format!(
                "unknown variant {other:?}; use zero-shot, few-shot, rag or rag+repair"
            ))),
        }
    }
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::ZeroShot => "zero-shot",
            Variant::FewShot => "few-shot",
            Variant::Rag => "rag",
            Variant::RagRepair => "rag+repair",
        }
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
    pub executes: bool,
    pub tables_match: bool,
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
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub summary: Vec<Summary>,
    pub results: Vec<QuestionResult>,
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
    run_with_progress(
        engine,
        models,
        variants,
        questions,
        langs,
        base,
        1,
        &mut |_, _, _| {},
    )
    .await
}

/// [`run`] with up to `concurrency` questions in flight (throttling is retried with backoff by the
/// backends), calling `progress(result, done, total)` as each question finishes. Results keep input order.
#[allow(clippy::too_many_arguments)]
pub async fn run_with_progress(
    engine: Arc<dyn QueryEngine>,
    models: &[Arc<dyn LlmBackend>],
    variants: &[Variant],
    questions: &[BenchQuestion],
    langs: &[&str],
    base: &Options,
    concurrency: usize,
    progress: &mut (dyn FnMut(&QuestionResult, usize, usize) + Send),
) -> Result<Report> {
    use futures_util::StreamExt;
    let total = models.len() * variants.len() * questions.len() * langs.len();
    let library = Library::builtin()?;
    let fixed: Vec<Example> = library
        .entries
        .iter()
        .take(3)
        .map(|e| e.example.clone())
        .collect();
    let qopts = QueryOptions {
        max_rows: base.max_rows,
        timeout: Some(base.query_timeout),
        as_of: base.as_of,
    };
    let catalog = engine.catalog().await?;
    let mut gold: Vec<QueryResult> = Vec::new();
    for q in questions {
        gold.push(
            engine
                .execute(&q.sql, &qopts)
                .await
                .map_err(|e| Error::Config(format!("gold SQL of {} fails: {e}", q.id)))?,
        );
    }
    let mut results = Vec::new();
    for model in models {
        for &variant in variants {
            let mut options = Options {
                explain: false,
                ..base.clone()
            };
            options.max_attempts = if variant == Variant::RagRepair {
                base.max_attempts.max(1)
            } else {
                1
            };
            options.examples = if variant == Variant::ZeroShot { 0 } else { 3 };
            let mut b = Text2Sql::builder(engine.clone())
                .llm(model.clone())
                .options(options);
            match variant {
                Variant::ZeroShot => {}
                Variant::FewShot => b = b.retriever(Arc::new(FixedExamples::new(fixed.clone()))),
                Variant::Rag | Variant::RagRepair => {
                    b = b.retriever(Arc::new(LexicalRetriever::from_library(&library)))
                }
            }
            let t2s = b.build();
            let items: Vec<(usize, &BenchQuestion, &QueryResult, &str)> = questions
                .iter()
                .zip(&gold)
                .flat_map(|(q, g)| langs.iter().map(move |l| (q, g, *l)))
                .enumerate()
                .map(|(i, (q, g, l))| (i, q, g, l))
                .collect();
            let catalog = &catalog;
            let model_name = model.model().to_string();
            let mut stream =
                futures_util::stream::iter(items.into_iter().map(|(i, q, g, lang)| {
                    let t2s = t2s.clone();
                    let model_name = model_name.clone();
                    async move {
                        (
                            i,
                            score_one(&t2s, q, g, lang, catalog, &model_name, variant).await,
                        )
                    }
                }))
                .buffer_unordered(concurrency.max(1));
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
        summary: summarize(&results),
        results,
    })
}

/// Asks one question and scores the answer against the gold result.
async fn score_one(
    t2s: &Text2Sql,
    q: &BenchQuestion,
    gold: &QueryResult,
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
    let cmp = match &a.result {
        Some(r) => compare(gold, r, q.order_matters),
        None => Comparison {
            strict: false,
            relaxed: false,
        },
    };
    Ok(QuestionResult {
        id: q.id.clone(),
        lang: lang.to_string(),
        difficulty: q.difficulty.clone(),
        model: model.to_string(),
        variant: variant.name().to_string(),
        predicted_sql: a.sql.clone().or(predicted),
        correct: cmp.strict,
        correct_relaxed: cmp.relaxed,
        parses,
        executes: a.result.is_some(),
        tables_match,
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
                model,
                variant,
            }
        })
        .collect()
}

/// `report.md`: accuracy with 95% intervals, by difficulty and language, attempts, latency, tokens, cost.
pub fn markdown(report: &Report) -> String {
    let mut s = String::from(
        "# asklake evaluation\n\n| model | variant | n | accuracy (95% CI) | relaxed | mean attempts | p50 / p95 ms | tokens in / out | $ total | $ / question |\n|---|---|---|---|---|---|---|---|---|---|\n",
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
    s
}
