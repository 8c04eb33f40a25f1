//! Dense and hybrid retrieval from the command line: fallbacks, index updates, FAISS.

use std::sync::Arc;

#[cfg(feature = "faiss")]
use asklake::fewshot::FewShotRetriever;
#[cfg(feature = "faiss")]
use asklake::fewshot::dense::DenseRetriever;
use asklake::fewshot::embed::{Embedder, EmbeddingCache, OnnxEmbedder, default_model_dir};
use asklake::fewshot::library::Library;
#[cfg(feature = "faiss")]
use asklake::fewshot::library::builtin_retrieval_cases;
use asklake::fewshot::{RetrieverConfig, RetrieverKind, build_retriever, load_embedder};

use crate::common::*;

fn model() -> Arc<OnnxEmbedder> {
    static M: std::sync::OnceLock<Arc<OnnxEmbedder>> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let dir = default_model_dir().unwrap();
        Arc::new(OnnxEmbedder::load(&dir).unwrap_or_else(|e| {
            panic!("{e}\n(the embedding tests need the model: `. scripts/env.sh` makes it)")
        }))
    })
    .clone()
}

#[tokio::test]
async fn missing_model_or_runtime_is_a_clear_error_and_auto_falls_back() {
    let lib = Library::builtin().unwrap();
    let missing = RetrieverConfig {
        kind: RetrieverKind::Dense,
        model: Some("/nonexistent/model".into()),
        no_cache: true,
        ..Default::default()
    };
    let e = build_retriever(&lib, &missing)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/nonexistent/model/model.onnx not found") && e.contains("setup-embeddings.sh"),
        "{e}"
    );
    let auto = RetrieverConfig {
        kind: RetrieverKind::Auto,
        ..missing.clone()
    };
    let (r, note) = build_retriever(&lib, &auto).await.unwrap();
    assert_eq!(r.name(), "lexical");
    assert!(note.unwrap().contains("lexical retrieval only"));
    assert!(
        load_embedder(&RetrieverConfig {
            model: Some("/nonexistent".into()),
            ..Default::default()
        })
        .await
        .is_err()
    );

    // ONNX Runtime is loaded once per process, so its absence is checked in a child process (the CLI).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
        .args(["fewshot", "search", "root usage", "--retriever", "dense"])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ORT_DYLIB_PATH=/nonexistent/libonnxruntime.so does not exist")
            && err.contains("pip install"),
        "{err}"
    );
    // auto: a warning, and lexical results.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
        .args(["fewshot", "search", "root account usage", "--json"])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("lexical retrieval only"));
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hits[0]["id"], "ct-root-usage");
}

#[test]
fn fewshot_add_updates_the_embedding_index() {
    let lib_dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
            .args(["--lake", lake_dir().to_str().unwrap()])
            .args(args)
            .env("ASKLAKE_CACHE_DIR", cache.path())
            .env("ASKLAKE_LIBRARY", lib_dir.path())
            .output()
            .unwrap()
    };
    let question = "How many times was the GetObject API invoked?";
    let out = cli(&[
        "fewshot",
        "add",
        "--question",
        question,
        "--id",
        "user-getobject-count",
        "--sql",
        &format!("SELECT count(*) AS n FROM {CT2} WHERE api.operation = 'GetObject'"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("embedding index updated (81 examples)"));
    // The new question's vector is in the on-disk cache the retrievers start from.
    let c = EmbeddingCache::open(
        &cache.path().join("embeddings"),
        model().id(),
        model().dim(),
    );
    assert!(c.get(question).is_some());
    assert_eq!(c.len(), 161);
    let out = cli(&[
        "fewshot",
        "search",
        "number of GetObject requests",
        "--retriever",
        "dense",
        "--json",
    ]);
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hits[0]["id"], "user-getobject-count", "{hits}");
}

#[cfg(feature = "faiss")]
#[tokio::test]
async fn faiss_indexes_rank_the_library_like_the_flat_index() {
    let lib = Library::builtin().unwrap();
    let cases = builtin_retrieval_cases().unwrap();
    let flat = DenseRetriever::from_library(&lib, model(), "flat", None)
        .await
        .unwrap();
    for (index, name) in [
        ("faiss", "faiss:Flat"),
        ("faiss:HNSW32,Flat", "faiss:HNSW32,Flat"),
    ] {
        let r = DenseRetriever::from_library(&lib, model(), index, None)
            .await
            .unwrap();
        assert_eq!(r.index_name(), name);
        for c in &cases {
            let a = flat.retrieve(&c.question, 3).await.unwrap();
            let b = r.retrieve(&c.question, 3).await.unwrap();
            let ids = |v: &[asklake::fewshot::ScoredExample]| -> Vec<String> {
                v.iter().map(|e| e.example.id.clone()).collect()
            };
            assert_eq!(ids(&a), ids(&b), "{index}: {}", c.question);
        }
    }
    // Through the CLI too.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
        .args([
            "fewshot",
            "search",
            "root account usage",
            "--retriever",
            "dense",
            "--index",
            "faiss",
            "--json",
        ])
        .env("ASKLAKE_CACHE_DIR", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hits[0]["id"], "ct-root-usage");
}

/// `--embed-model openai:<model> --embed-base-url URL` from the command line, over the loopback fake's
/// `/v1/embeddings` (real HTTP): the key comes from ASKLAKE_EMBED_API_KEY, `config show` names where each
/// setting came from and says whether a key is set, never its value.
#[tokio::test]
async fn openai_compatible_embeddings_from_the_command_line() {
    use asklake::testing::llm_server::{FakeLlm, Reply};
    let fake = FakeLlm::start_with(|_| Reply::Text(String::new())).await;
    let url = format!("{}/v1", fake.url());
    let run = |args: &[&str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_asklake"))
            .args(args)
            .env("ASKLAKE_EMBED_API_KEY", "sk-embed-secret")
            .env("ASKLAKE_EMBED_BASE_URL", &url)
            .env_remove("ASKLAKE_EMBED_MODEL")
            .output()
    };
    let out = run(&[
        "fewshot",
        "search",
        "Are there logs of root account usage?",
        "--retriever",
        "dense",
        "--embed-model",
        "openai:text-embedding-3-small",
        "--no-embedding-cache",
        "--json",
    ])
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hits[0]["id"], "ct-root-usage");
    let seen = fake.seen();
    assert!(seen.iter().all(|s| s.path == "/v1/embeddings"));
    assert_eq!(seen[0].headers["authorization"], "Bearer sk-embed-secret");
    assert_eq!(seen[0].body["model"], "text-embedding-3-small");

    let out = run(&[
        "config",
        "show",
        "--embed-model",
        "openai:e5",
        "--embed-prefix",
        "e5",
    ])
    .await
    .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("embed_base_url = \"http://127.0.0.1:"),
        "{shown}"
    );
    assert!(shown.contains("# env ASKLAKE_EMBED_BASE_URL"), "{shown}");
    assert!(
        shown.contains("embed_prefix = \"e5\"  # --embed-prefix"),
        "{shown}"
    );
    assert!(
        shown.contains("embeddings api key: set (ASKLAKE_EMBED_API_KEY)"),
        "{shown}"
    );
    assert!(!shown.contains("sk-embed-secret"), "{shown}");
    // A bad prefix is a clear error from clap.
    let out = run(&["fewshot", "search", "x", "--embed-prefix", "query"])
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'query'"));
}
