//! A completion cache keyed by a hash of the model and the whole prompt, kept as JSON lines on disk, so an
//! interrupted or repeated evaluation does not pay for the same completion twice.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::llm::{Capabilities, ChatRequest, ChatResponse, LlmBackend, Pricing, Usage};

#[derive(Serialize, Deserialize)]
struct Line {
    key: String,
    text: String,
    usage: Usage,
    stop_reason: Option<String>,
}

/// Wraps a backend; cached answers keep their original usage, so reported costs stay comparable.
pub struct CachedLlm {
    inner: Arc<dyn LlmBackend>,
    path: PathBuf,
    entries: Mutex<HashMap<String, ChatResponse>>,
    hits: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for CachedLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedLlm")
            .field("inner", &self.inner)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The cache key of a request to `model`.
pub fn key(model: &str, req: &ChatRequest) -> String {
    let mut text = format!(
        "{model}\u{0}{}\u{0}{}\u{0}{:?}\u{0}{:?}",
        req.transcript(),
        req.max_tokens,
        req.temperature,
        req.stop
    );
    // Sample 0 keeps the key it always had.
    if req.sample > 0 {
        text.push_str(&format!("\u{0}sample {}", req.sample));
    }
    // 128 bits make accidental collisions negligible for evaluation-sized caches.
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(text.as_bytes()))
}

impl CachedLlm {
    /// Loads `path` if it exists (a truncated last line from an interrupted run is ignored).
    pub fn open(inner: Arc<dyn LlmBackend>, path: &Path) -> Result<Self> {
        let mut entries = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(path) {
            for line in text.lines() {
                if let Ok(l) = serde_json::from_str::<Line>(line) {
                    entries.insert(
                        l.key,
                        ChatResponse {
                            text: l.text,
                            usage: l.usage,
                            stop_reason: l.stop_reason,
                        },
                    );
                }
            }
        }
        Ok(CachedLlm {
            inner,
            path: path.to_path_buf(),
            entries: Mutex::new(entries),
            hits: Default::default(),
        })
    }

    /// Completions served from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[async_trait]
impl LlmBackend for CachedLlm {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn model(&self) -> &str {
        self.inner.model()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn pricing(&self) -> Option<Pricing> {
        self.inner.pricing()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        let k = key(self.inner.model(), request);
        if let Some(hit) = self.entries.lock().ok().and_then(|e| e.get(&k).cloned()) {
            self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Ok(hit);
        }
        let r = self.inner.chat(request).await?;
        let line = serde_json::to_string(&Line {
            key: k.clone(),
            text: r.text.clone(),
            usage: r.usage,
            stop_reason: r.stop_reason.clone(),
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?;
        writeln!(f, "{line}").map_err(|e| Error::io(&self.path, e))?;
        if let Ok(mut e) = self.entries.lock() {
            e.insert(k, r.clone());
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Message;
    use crate::testing::scripted::Scripted;

    #[tokio::test]
    async fn second_run_is_served_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.jsonl");
        let req = ChatRequest::new("sys", vec![Message::user("q1")]);
        let first = Arc::new(Scripted::new(["SELECT 1"]));
        let c = CachedLlm::open(first.clone(), &path).unwrap();
        assert_eq!(c.chat(&req).await.unwrap().text, "SELECT 1");
        assert_eq!(c.chat(&req).await.unwrap().text, "SELECT 1");
        assert_eq!((first.requests().len(), c.hits()), (1, 1));
        // A new process: the script is empty, so any call would fail; the cache answers.
        let c2 = CachedLlm::open(Arc::new(Scripted::new(Vec::<String>::new())), &path).unwrap();
        let r = c2.chat(&req).await.unwrap();
        assert_eq!(r.text, "SELECT 1");
        assert!(r.usage.input_tokens > 0, "original usage kept");
        let other = ChatRequest::new("sys", vec![Message::user("q2")]);
        assert!(c2.chat(&other).await.is_err());
        assert_ne!(key("m", &req), key("m", &other));
        assert_ne!(key("a", &req), key("b", &req));
    }
}
