//! The `asklake` command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use asklake::engine::duckdb::LocalOptions;
use asklake::engine::{LocalEngine, QueryEngine, QueryOptions, format};
use asklake::pipeline::{EmptyResultPolicy, Session, Text2Sql};
use asklake::{Error, demo};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "asklake",
    version,
    about = "Ask an Amazon Security Lake questions; run Athena SQL on a local demo lake"
)]
struct Cli {
    /// The lake folder [env: ASKLAKE_LAKE; default: ./asklake-demo]
    #[arg(long, global = true)]
    lake: Option<PathBuf>,
    /// Where queries run: the local demo lake or Amazon Athena.
    #[arg(long, global = true, env = "ASKLAKE_ENGINE", default_value = "local")]
    engine: String,
    /// Athena: AWS Region (default: the AWS config chain, e.g. AWS_REGION).
    #[arg(long, global = true)]
    region: Option<String>,
    /// Athena workgroup.
    #[arg(
        long,
        global = true,
        env = "ASKLAKE_ATHENA_WORKGROUP",
        default_value = "primary"
    )]
    workgroup: String,
    /// Athena query result location, s3://bucket/prefix/ (default: the workgroup's).
    #[arg(long, global = true, env = "ASKLAKE_ATHENA_OUTPUT")]
    output_location: Option<String>,
    /// Athena database (default: discover every amazon_security_lake_glue_db_* database).
    #[arg(long, global = true, env = "ASKLAKE_ATHENA_DATABASE")]
    database: Option<String>,
    /// Athena: allow queries over Security Lake tables without a time filter (full scans).
    #[arg(long, global = true)]
    allow_full_scan: bool,
    /// Athena: stop queries that scan more than this many bytes.
    #[arg(long, global = true, env = "ASKLAKE_ATHENA_MAX_BYTES")]
    max_bytes_scanned: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a realistic demo Security Lake (deterministic for a seed and as-of time).
    Demo {
        /// Where to write it (defaults to --lake).
        #[arg(long)]
        dir: Option<PathBuf>,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// 1.0 writes about a million source-version-2 rows.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// End of the generated window (RFC 3339 or `YYYY-MM-DD[ HH:MM:SS]`, UTC); default: this hour.
        #[arg(long, value_parser = parse_time)]
        as_of: Option<DateTime<Utc>>,
        /// 1, 2 or all.
        #[arg(long, default_value = "all")]
        source_version: String,
    },
    /// List the lake's tables.
    Tables,
    /// Show a table's nested columns and types.
    Schema {
        table: String,
        /// Print the column tree as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run one read-only Athena (Trino) SQL query through the guard.
    Sql {
        query: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
        #[arg(long, default_value_t = 1000)]
        max_rows: u64,
        /// Evaluate current_timestamp at this instant (default: the lake's as-of time).
        #[arg(long, value_parser = parse_time)]
        as_of: Option<DateTime<Utc>>,
        /// Cancel the query after this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
    /// Ask a question in plain language (English or Korean): SQL, result and explanation.
    Ask(AskArgs),
    /// Benchmark models and pipeline variants by execution accuracy, latency, tokens and cost.
    Eval {
        /// Benchmark JSONL (id, question, question_ko, sql, tables, difficulty, order_matters).
        #[arg(long, default_value = "fewshot/eval/benchmark.jsonl")]
        dataset: PathBuf,
        /// bedrock or openai (not needed with --estimate).
        #[arg(long, env = "ASKLAKE_LLM")]
        llm: Option<String>,
        /// Comma-separated models (aliases or ids).
        #[arg(long, env = "ASKLAKE_MODEL")]
        model: String,
        #[arg(long)]
        base_url: Option<String>,
        /// Comma-separated: zero-shot, few-shot, rag, rag+repair, rag+repair+rerank, self-consistency:N.
        #[arg(long, default_value = "zero-shot,few-shot,rag,rag+repair")]
        variants: String,
        /// en, ko or both.
        #[arg(long, default_value = "en")]
        lang: String,
        /// Only the first N questions.
        #[arg(long)]
        limit: Option<usize>,
        /// Where report.json and report.md go.
        #[arg(long, default_value = "eval-out")]
        out: PathBuf,
        #[arg(long, value_parser = parse_time)]
        as_of: Option<DateTime<Utc>>,
        /// Questions in flight at once (throttling is retried with backoff).
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Print the minimum tokens and dollars the run would cost with each --model (catalog prices), from
        /// the prompts it would send; no model is called.
        #[arg(long)]
        estimate: bool,
        #[command(flatten)]
        retrieval: RetrievalArgs,
    },
    /// The verified question → SQL library: `list`, or `search QUESTION` (lexical retrieval scores).
    Fewshot {
        #[command(subcommand)]
        action: FewshotAction,
        /// A folder of extra examples (`*.jsonl`), added to the shipped library; `add` writes here.
        #[arg(long, env = "ASKLAKE_LIBRARY", global = true)]
        library: Option<PathBuf>,
        #[command(flatten)]
        retrieval: RetrievalArgs,
    },
}

#[derive(Subcommand, Debug)]
enum FewshotAction {
    /// Every example: id and question.
    List,
    /// Verify a question → SQL pair on the lake (guard + execution) and append it to the library folder.
    Add {
        #[arg(long)]
        question: String,
        #[arg(long)]
        question_ko: Option<String>,
        #[arg(long)]
        sql: String,
        /// Default: derived from the question.
        #[arg(long)]
        id: Option<String>,
        /// Comma-separated tags (simple, aggregate, time-window, join, hunting, …).
        #[arg(long, default_value = "")]
        tags: String,
    },
    /// Recall@1, recall@3 and MRR of the retriever on a paraphrase set (default: fewshot/eval/retrieval.jsonl).
    Eval {
        #[arg(long)]
        dataset: Option<PathBuf>,
    },
    /// The examples closest to a question, best first.
    Search {
        question: String,
        #[arg(long, default_value_t = 5)]
        k: usize,
        /// Print a JSON list of {"id", "question", "score"}.
        #[arg(long)]
        json: bool,
    },
}

/// How library examples are retrieved (prompts, `fewshot search`, `fewshot eval`).
#[derive(clap::Args, Debug, Clone)]
struct RetrievalArgs {
    /// auto (hybrid when the embedding model loads, else lexical), lexical, dense or hybrid.
    #[arg(long, env = "ASKLAKE_RETRIEVER", default_value = "auto", global = true)]
    retriever: String,
    /// Sentence-transformers ONNX model directory, or bedrock:<model id> (amazon.titan-embed-text-v2:0,
    /// cohere.embed-multilingual-v3) [env: ASKLAKE_EMBED_MODEL; default:
    /// ~/.cache/asklake/models/all-MiniLM-L6-v2, made by scripts/setup-embeddings.sh].
    #[arg(long, global = true)]
    embed_model: Option<PathBuf>,
    /// Vector index: flat (exact), or with the `faiss` feature faiss / faiss:<factory string> (e.g. faiss:HNSW32,Flat).
    #[arg(long, env = "ASKLAKE_INDEX", default_value = "flat", global = true)]
    index: String,
    /// Do not read or write the on-disk embedding cache.
    #[arg(long, global = true)]
    no_embedding_cache: bool,
}

impl RetrievalArgs {
    fn config(&self) -> asklake::Result<asklake::fewshot::RetrieverConfig> {
        Ok(asklake::fewshot::RetrieverConfig {
            kind: self.retriever.parse()?,
            model: self.embed_model.clone(),
            index: self.index.clone(),
            cache_dir: None,
            no_cache: self.no_embedding_cache,
        })
    }

    async fn build(
        &self,
        lib: &asklake::fewshot::library::Library,
    ) -> asklake::Result<Arc<dyn asklake::fewshot::FewShotRetriever>> {
        let (r, note) = asklake::fewshot::build_retriever(lib, &self.config()?).await?;
        if let Some(n) = note {
            eprintln!("asklake: {n}");
        }
        Ok(r)
    }
}

#[derive(clap::Args, Debug)]
struct AskArgs {
    question: String,
    /// bedrock, openai (any OpenAI-compatible server) or none.
    #[arg(long, env = "ASKLAKE_LLM", default_value = "none")]
    llm: String,
    /// Bedrock: an alias (haiku, sonnet, opus, sonnet-4, nova-pro, …) or a model / inference-profile id.
    /// OpenAI-compatible: the server's model name. [default for bedrock: sonnet]
    #[arg(long, env = "ASKLAKE_MODEL")]
    model: Option<String>,
    /// OpenAI-compatible base URL, e.g. http://localhost:11434/v1 [env: OPENAI_BASE_URL; default: OpenAI]
    #[arg(long)]
    base_url: Option<String>,
    #[arg(long, default_value_t = 3)]
    max_attempts: usize,
    /// Rerank retrieved examples by the SQL skeleton of a draft query (one more LLM call when they change).
    #[arg(long)]
    rerank: bool,
    /// You checked the answer: add the question and its SQL to the library (--library, default
    /// fewshot/library/custom.jsonl), as `fewshot add` does, so similar questions get it as an example.
    #[arg(long)]
    promote: bool,
    /// With --promote: the question in Korean, stored with it.
    #[arg(long, requires = "promote")]
    question_ko: Option<String>,
    /// Sample N candidate queries, run them all and answer with the result most of them agree on.
    #[arg(long, default_value_t = 0, value_name = "N")]
    self_consistency: usize,
    /// accept, retry_once or regenerate.
    #[arg(long, default_value = "retry_once")]
    empty_result: String,
    /// Skip the explanation call.
    #[arg(long)]
    no_explain: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Keep the conversation in this file so follow-up questions work.
    #[arg(long)]
    session: Option<PathBuf>,
    /// Evaluate current_timestamp at this instant (default: the lake's as-of time).
    #[arg(long, value_parser = parse_time)]
    as_of: Option<DateTime<Utc>>,
    #[arg(long, default_value_t = 1000)]
    max_rows: u64,
    /// Append one JSON line per question to this file.
    #[arg(long, env = "ASKLAKE_AUDIT_LOG")]
    audit_log: Option<PathBuf>,
    /// Print the prompt the model would get, and stop (no LLM call).
    #[arg(long)]
    show_prompt: bool,
    /// Library examples retrieved into the prompt (0: none, and no library answers without an LLM).
    #[arg(long, default_value_t = 3)]
    examples: usize,
    /// A folder of extra library examples (`*.jsonl`).
    #[arg(long, env = "ASKLAKE_LIBRARY")]
    library: Option<PathBuf>,
    #[command(flatten)]
    retrieval: RetrievalArgs,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum OutputFormat {
    Table,
    Json,
    Csv,
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err(format!(
        "{s:?} is not a time; use RFC 3339 (2026-11-28T00:00:00Z) or YYYY-MM-DD[ HH:MM:SS]"
    ))
}

fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Guard { .. } | Error::Config(_) => 2,
        _ => 1,
    }
}

/// Exit code of `ask` when the model declined to answer.
const EXIT_REFUSED: u8 = 3;

async fn ask(engine: Arc<dyn QueryEngine>, args: AskArgs) -> asklake::Result<ExitCode> {
    let llm = asklake::llm::from_config(&args.llm, args.model.as_deref(), args.base_url.as_deref())
        .await?;
    let mut builder = Text2Sql::builder(engine)
        .max_attempts(args.max_attempts)
        .rerank(args.rerank)
        .self_consistency(args.self_consistency)
        .empty_result(args.empty_result.parse::<EmptyResultPolicy>()?)
        .as_of(args.as_of)
        .max_rows(args.max_rows)
        // Text output streams the explanation after printing the table; JSON collects it in the run.
        .explain(args.json && !args.no_explain);
    if let Some(l) = llm {
        builder = builder.llm(l);
    }
    // The verified library: few-shot examples in the prompt, and the answer itself when no LLM is configured.
    if args.examples > 0 {
        let lib = asklake::fewshot::library::Library::builtin_with(args.library.as_deref())?;
        builder = builder
            .retriever(args.retrieval.build(&lib).await?)
            .examples(args.examples);
    }
    if let Some(p) = &args.audit_log {
        builder = builder.audit_log(p);
    }
    let t2s = builder.build();
    if args.show_prompt {
        let req = t2s.render_prompt(&args.question).await?;
        println!("{}", req.transcript());
        eprintln!(
            "({} characters, about {} tokens)",
            req.transcript().chars().count(),
            req.transcript().chars().count().div_ceil(4)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut session = match &args.session {
        Some(p) => Some(Session::load(&t2s, p)?),
        None => None,
    };
    let mut answer = match session.as_mut() {
        Some(s) => s.run(&args.question).await?,
        None => t2s.run(&args.question, &[]).await?,
    };
    if let (Some(s), Some(p)) = (&session, &args.session) {
        s.save(p)?;
    }
    if args.json {
        println!("{}", answer.to_json());
        if args.promote && answer.error.is_none() && answer.refusal.is_none() {
            promote(&t2s, &args, &answer).await?;
        }
        return Ok(match (&answer.error, &answer.refusal) {
            (Some(e), _) => ExitCode::from(exit_code(e)),
            (None, Some(_)) => ExitCode::from(EXIT_REFUSED),
            _ => ExitCode::SUCCESS,
        });
    }
    let mut out = std::io::stdout().lock();
    if let Some(reason) = &answer.refusal {
        eprintln!("asklake: the model did not write a query: {reason}");
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    if let Some(e) = answer.error.take() {
        for (i, a) in answer.attempts.iter().enumerate() {
            eprintln!(
                "attempt {}: {}\n  {}",
                i + 1,
                a.sql.as_deref().unwrap_or("(no SQL)"),
                a.error.as_deref().unwrap_or("")
            );
        }
        return Err(e);
    }
    let (Some(sql), Some(result)) = (&answer.sql, &answer.result) else {
        return Err(Error::Internal("answer without SQL".into()));
    };
    let _ = writeln!(out, "{sql}\n");
    let _ = writeln!(out, "{}", format::to_table(result, 60).trim_end());
    let _ = writeln!(
        out,
        "({} row{}{}; {} attempt{}; llm {} ms, engine {} ms)\n",
        result.row_count,
        if result.row_count == 1 { "" } else { "s" },
        if result.truncated { ", truncated" } else { "" },
        answer.attempts.len(),
        if answer.attempts.len() == 1 { "" } else { "s" },
        answer.timings.llm.as_millis(),
        answer.timings.engine.as_millis()
    );
    let _ = out.flush();
    let mut usage = answer.usage;
    if answer.source == asklake::pipeline::AnswerSource::Library {
        let _ = writeln!(out, "{}", answer.explanation.as_deref().unwrap_or_default());
    } else if !args.no_explain
        && let Some(llm) = t2s.llm()
    {
        let stream = t2s.explain_stream(&answer).await?;
        let r = asklake::llm::collect_stream(stream, |d| {
            let _ = out.write_all(d.as_bytes());
            let _ = out.flush();
        })
        .await?;
        usage += r.usage;
        let _ = writeln!(out);
        let cost = llm.pricing().map(|p| asklake::llm::cost_usd(&p, &usage));
        let _ = writeln!(
            out,
            "\n[{} · {} in / {} out tokens{}]",
            answer.model,
            usage.input_tokens,
            usage.output_tokens,
            cost.map(|c| format!(" · ${c:.4}")).unwrap_or_default()
        );
    }
    if args.promote {
        promote(&t2s, &args, &answer).await?;
    }
    Ok(ExitCode::SUCCESS)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("asklake: {e}");
            ExitCode::from(exit_code(&e))
        }
    }
}

async fn run(cli: Cli) -> asklake::Result<ExitCode> {
    let lake_dir = cli.lake.clone().unwrap_or_else(asklake::lake::default_dir);
    let open = async |as_of: Option<DateTime<Utc>>| -> asklake::Result<Arc<dyn QueryEngine>> {
        match cli.engine.as_str() {
            "local" => {
                let e: Arc<dyn QueryEngine> = Arc::new(LocalEngine::open(
                    &lake_dir,
                    LocalOptions {
                        as_of,
                        ..Default::default()
                    },
                )?);
                Ok(e)
            }
            #[cfg(feature = "athena")]
            "athena" => {
                let config = asklake::engine::athena::AthenaConfig {
                    workgroup: cli.workgroup.clone(),
                    output_location: cli.output_location.clone(),
                    database: cli.database.clone(),
                    allow_full_scan: cli.allow_full_scan,
                    max_bytes_scanned: cli.max_bytes_scanned,
                    ..Default::default()
                };
                let e: Arc<dyn QueryEngine> = Arc::new(
                    asklake::engine::athena::AthenaEngine::from_env(cli.region.clone(), config)
                        .await?,
                );
                Ok(e)
            }
            other => Err(Error::Config(format!(
                "unknown --engine {other:?}; use local{}",
                if cfg!(feature = "athena") {
                    " or athena"
                } else {
                    " (this build has no athena feature)"
                }
            ))),
        }
    };
    match cli.command {
        Command::Demo {
            dir,
            seed,
            days,
            scale,
            as_of,
            source_version,
        } => {
            let config = demo::DemoConfig {
                dir: dir.unwrap_or_else(|| lake_dir.clone()),
                seed,
                days,
                scale,
                as_of,
                versions: source_version.parse()?,
                ..Default::default()
            };
            let summary = demo::generate(&config)?;
            for t in &summary.manifest.tables {
                println!(
                    "{:<60} {:>10} rows",
                    t.security_lake(&summary.manifest.rollup_region).table(),
                    t.rows
                );
            }
            println!(
                "wrote {} source-version-2 rows to {} in {:.1}s (as of {})",
                summary.rows,
                config.dir.display(),
                summary.elapsed.as_secs_f64(),
                summary
                    .manifest
                    .as_of
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            );
        }
        Command::Tables => {
            let engine = open(None).await?;
            for t in engine.catalog().await?.tables {
                let desc = t.description.clone().unwrap_or_default();
                println!("{}.{}\t{desc}", t.database, t.name);
            }
        }
        Command::Schema { table, json } => {
            let engine = open(None).await?;
            let info = engine.describe(&table).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&info)
                        .map_err(|e| Error::Internal(e.to_string()))?
                );
            } else {
                println!("{}", info.qualified_name());
                for (path, ty) in info.column_paths() {
                    let depth = path.matches('.').count();
                    let shown = if ty.is_nested() {
                        short_nested(ty)
                    } else {
                        ty.hive_name()
                    };
                    println!("{}{path}  {shown}", "  ".repeat(depth));
                }
            }
        }
        Command::Sql {
            query,
            format: out,
            max_rows,
            as_of,
            timeout,
        } => {
            let engine = open(as_of).await?;
            let options = QueryOptions {
                max_rows,
                timeout: Some(std::time::Duration::from_secs(timeout)),
                as_of,
            };
            let (_guarded, result) =
                asklake::sql::run_guarded(engine.as_ref(), &query, &options).await?;
            let mut stdout = std::io::stdout().lock();
            let text = match out {
                OutputFormat::Json => format::to_json(&result).to_string(),
                OutputFormat::Csv => format::to_csv(&result),
                OutputFormat::Table => {
                    let mut s = format::to_table(&result, 60);
                    s.push_str(&format!(
                        "\n({} row{}{}, {} ms)",
                        result.row_count,
                        if result.row_count == 1 { "" } else { "s" },
                        if result.truncated {
                            format!(", truncated at {max_rows}")
                        } else {
                            String::new()
                        },
                        result.stats.elapsed.as_millis()
                    ));
                    s
                }
            };
            let _ = writeln!(stdout, "{}", text.trim_end());
        }
        Command::Eval {
            dataset,
            llm,
            model,
            base_url,
            variants,
            lang,
            limit,
            out,
            as_of,
            concurrency,
            estimate,
            retrieval,
        } => {
            use asklake::eval::runner;
            let engine = open(as_of).await?;
            let mut questions = runner::load_benchmark(&dataset)?;
            if let Some(n) = limit {
                questions.truncate(n);
            }
            let parsed_variants: Vec<runner::Variant> = variants
                .split(',')
                .map(|v| v.trim().parse())
                .collect::<asklake::Result<_>>()?;
            let langs: Vec<&str> = match lang.as_str() {
                "both" => vec!["en", "ko"],
                "en" => vec!["en"],
                "ko" => vec!["ko"],
                other => {
                    return Err(Error::Config(format!(
                        "--lang {other:?}: use en, ko or both"
                    )));
                }
            };
            let retriever = if parsed_variants.iter().any(|v| v.retrieves()) {
                let lib = asklake::fewshot::library::Library::builtin()?;
                Some(retrieval.build(&lib).await?)
            } else {
                None
            };
            let setup = runner::RunSetup {
                concurrency,
                retriever,
            };
            let options = asklake::pipeline::Options {
                as_of,
                ..Default::default()
            };
            if estimate {
                let est = runner::estimate(
                    engine,
                    &parsed_variants,
                    &questions,
                    &langs,
                    &options,
                    &setup,
                )
                .await?;
                println!(
                    "Minimum cost (first attempts only; repairs, rerank regenerations and explanations add to it), \
                     {} output tokens assumed per call, catalog prices:\n",
                    runner::ESTIMATED_OUTPUT_TOKENS
                );
                println!(
                    "| model | variant | questions | LLM calls | input tokens | output tokens | $ total | $ / question |"
                );
                println!("|---|---|---|---|---|---|---|---|");
                for m in model.split(',').map(str::trim).filter(|m| !m.is_empty()) {
                    let (id, info) = asklake::llm::models::resolve(m)?;
                    for e in &est {
                        let cost = info.map(|i| {
                            let p = i.pricing();
                            (e.input_tokens as f64 * p.input + e.output_tokens as f64 * p.output)
                                / 1e6
                        });
                        let money = |c: Option<f64>, n: usize| {
                            c.map_or("n/a".to_string(), |c| format!("{:.4}", c / n.max(1) as f64))
                        };
                        println!(
                            "| {id} | {} | {} | {} | {} | {} | {} | {} |",
                            e.variant,
                            e.questions,
                            e.calls,
                            e.input_tokens,
                            e.output_tokens,
                            money(cost, 1),
                            money(cost, e.questions)
                        );
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            let llm = llm.ok_or_else(|| {
                Error::Config("eval needs --llm bedrock or openai (or --estimate)".into())
            })?;
            std::fs::create_dir_all(&out).map_err(|e| Error::Io {
                path: out.clone(),
                source: e,
            })?;
            // Completions are cached by prompt hash in the output folder: a repeated or resumed run does not
            // pay twice.
            let mut cached: Vec<Arc<asklake::eval::cache::CachedLlm>> = Vec::new();
            for m in model.split(',').map(str::trim).filter(|m| !m.is_empty()) {
                let backend = asklake::llm::from_config(&llm, Some(m), base_url.as_deref())
                    .await?
                    .ok_or_else(|| Error::Config("eval needs --llm bedrock or openai".into()))?;
                cached.push(Arc::new(asklake::eval::cache::CachedLlm::open(
                    backend,
                    &out.join("completions.jsonl"),
                )?));
            }
            let models: Vec<Arc<dyn asklake::llm::LlmBackend>> = cached
                .iter()
                .map(|c| c.clone() as Arc<dyn asklake::llm::LlmBackend>)
                .collect();
            let variants = parsed_variants;
            eprintln!(
                "evaluating {} questions × {} language(s) × {} model(s) × {} variant(s)",
                questions.len(),
                langs.len(),
                models.len(),
                variants.len()
            );
            // A bar redrawn in place on a terminal; one line per question otherwise (CI logs, files).
            let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let mut correct = 0usize;
            let report = runner::run_setup(
                engine,
                &models,
                &variants,
                &questions,
                &langs,
                &options,
                &setup,
                &mut |r, done, total| {
                    correct += usize::from(r.correct);
                    if tty {
                        let width = 30;
                        let filled = done * width / total.max(1);
                        eprint!(
                            "\r[{}{}] {done}/{total}  {:.0}% correct so far  {} {}          ",
                            "#".repeat(filled),
                            ".".repeat(width - filled),
                            100.0 * correct as f64 / done as f64,
                            r.model,
                            r.variant
                        );
                        if done == total {
                            eprintln!();
                        }
                    } else {
                        eprintln!(
                            "[{done}/{total}] {} {} {} ({}) {}",
                            r.model,
                            r.variant,
                            r.id,
                            r.lang,
                            if r.correct { "correct" } else { "wrong" }
                        );
                    }
                },
            )
            .await?;
            let hits: u64 = cached.iter().map(|c| c.hits()).sum();
            eprintln!(
                "{hits} completion(s) served from {}",
                out.join("completions.jsonl").display()
            );
            let written = runner::write_reports(&report, &out)?;
            println!("{}", runner::markdown(&report));
            let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
            eprintln!("wrote {}", names.join(", "));
        }
        Command::Fewshot {
            action,
            library,
            retrieval,
        } => {
            use asklake::fewshot::library::Library;
            let lib = Library::builtin_with(library.as_deref())?;
            match action {
                FewshotAction::List => {
                    for e in &lib.entries {
                        println!("{}\t{}", e.example.id, e.example.question);
                    }
                }
                FewshotAction::Add {
                    question,
                    question_ko,
                    sql,
                    id,
                    tags,
                } => {
                    let dir = library
                        .clone()
                        .unwrap_or_else(|| PathBuf::from("fewshot/library"));
                    let engine = open(None).await?;
                    let (entry, rows) = asklake::fewshot::library::add_verified(
                        engine.as_ref(),
                        &dir,
                        asklake::fewshot::library::NewExample {
                            question,
                            question_ko,
                            sql,
                            id,
                            tags: tags
                                .split(',')
                                .map(str::trim)
                                .filter(|t| !t.is_empty())
                                .map(String::from)
                                .collect(),
                            origin: "user".into(),
                        },
                    )
                    .await?;
                    println!(
                        "added {} ({rows} rows on this lake) to {}",
                        entry.example.id,
                        dir.join("custom.jsonl").display()
                    );
                    update_index(&retrieval, &dir).await?;
                }
                FewshotAction::Eval { dataset } => {
                    let cases = match dataset {
                        Some(p) => asklake::fewshot::library::parse_cases(
                            &std::fs::read_to_string(&p).map_err(|e| Error::Io {
                                path: p.clone(),
                                source: e,
                            })?,
                        )?,
                        None => asklake::fewshot::library::builtin_retrieval_cases()?,
                    };
                    // Every retriever the configuration allows: lexical always; dense and hybrid when the
                    // embedding model loads (an explicit --retriever dense|hybrid makes a failure an error).
                    let mut kinds = vec!["lexical"];
                    let mut note = None;
                    let dense_ok = match retrieval.retriever.as_str() {
                        "lexical" | "bm25" => false,
                        "auto" => {
                            match asklake::fewshot::load_embedder(retrieval.embed_model.as_deref())
                                .await
                            {
                                Ok(_) => true,
                                Err(e) => {
                                    note = Some(e.to_string());
                                    false
                                }
                            }
                        }
                        _ => true,
                    };
                    if dense_ok {
                        kinds.extend(["dense", "hybrid"]);
                    }
                    println!("retriever  lang  n    recall@1  recall@3  MRR");
                    for kind in kinds {
                        let mut args = retrieval.clone();
                        args.retriever = kind.into();
                        let r = args.build(&lib).await?;
                        for s in asklake::fewshot::library::evaluate(r.as_ref(), &cases).await? {
                            println!(
                                "{kind:<9}  {:<4}  {:<3}  {:.3}     {:.3}     {:.3}",
                                s.lang, s.n, s.recall_at_1, s.recall_at_3, s.mrr
                            );
                        }
                    }
                    if let Some(n) = note {
                        println!("dense, hybrid: not run ({n})");
                    }
                }
                FewshotAction::Search { question, k, json } => {
                    let hits = retrieval.build(&lib).await?.retrieve(&question, k).await?;
                    if json {
                        let v: Vec<serde_json::Value> = hits
                            .iter()
                            .map(|h| serde_json::json!({"id": h.example.id, "question": h.example.question, "score": h.score}))
                            .collect();
                        println!("{}", serde_json::Value::Array(v));
                    } else {
                        for h in hits {
                            println!("{:.3}\t{}\t{}", h.score, h.example.id, h.example.question);
                        }
                    }
                }
            }
        }
        Command::Ask(args) => {
            let engine = open(args.as_of).await?;
            return ask(engine, args).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Embeds a library folder's new questions into the embedding cache now, so the next start-up finds them
/// (retrievers rebuild their index from the cache).
async fn update_index(retrieval: &RetrievalArgs, dir: &std::path::Path) -> asklake::Result<()> {
    if retrieval.retriever == "lexical" {
        return Ok(());
    }
    let lib = asklake::fewshot::library::Library::builtin_with(Some(dir))?;
    let mut args = retrieval.clone();
    if args.retriever == "auto" {
        args.retriever = "hybrid".into();
    }
    match args.build(&lib).await {
        Ok(_) => eprintln!("embedding index updated ({} examples)", lib.entries.len()),
        Err(e) if retrieval.retriever == "auto" => eprintln!("lexical index only: {e}"),
        Err(e) => return Err(e),
    }
    Ok(())
}

/// `ask --promote`: the analyst checked the answer; its question and SQL join the library (verified again by
/// the guard and the engine, as `fewshot add` does) and the embedding index.
async fn promote(
    t2s: &Text2Sql,
    args: &AskArgs,
    answer: &asklake::pipeline::Answer,
) -> asklake::Result<()> {
    if answer.source == asklake::pipeline::AnswerSource::Library {
        eprintln!(
            "asklake: not promoted: the answer already comes from the library ({})",
            answer.model
        );
        return Ok(());
    }
    let Some(sql) = &answer.sql else {
        return Ok(());
    };
    let dir = args
        .library
        .clone()
        .unwrap_or_else(|| PathBuf::from("fewshot/library"));
    let (entry, _) = asklake::fewshot::library::add_verified(
        t2s.engine().as_ref(),
        &dir,
        asklake::fewshot::library::NewExample {
            question: answer.question.clone(),
            question_ko: args.question_ko.clone(),
            sql: sql.clone(),
            origin: "ask".into(),
            ..Default::default()
        },
    )
    .await?;
    eprintln!(
        "promoted to the library as {} ({})",
        entry.example.id,
        dir.join("custom.jsonl").display()
    );
    update_index(&args.retrieval, &dir).await
}

fn short_nested(t: &asklake::schema::DataType) -> String {
    use asklake::schema::DataType;
    match t {
        DataType::Struct { .. } => "struct".into(),
        DataType::Array { element } if matches!(**element, DataType::Struct { .. }) => {
            "array<struct>".into()
        }
        other => other.hive_name(),
    }
}
