//! Retrieval costs: embedding a question with the default model (all-MiniLM-L6-v2 on ONNX Runtime), embedding
//! the whole library (start-up without the cache), a hybrid retrieval, and vector search over 100, 10k and 1M
//! 384-dimensional vectors with the exact flat index and (feature `faiss`) FAISS IndexFlatIP and HNSW.
//!
//!   . scripts/env.sh   # the model and ONNX Runtime
//!   cargo bench -p asklake-benches --bench retrieval [--features faiss]
//!
//! HNSW over 1M vectors takes minutes to build: set ASKLAKE_BENCH_HNSW_1M=1 to include it.

use std::sync::Arc;

use asklake::fewshot::FewShotRetriever;
use asklake::fewshot::dense::{DenseRetriever, HybridRetriever};
use asklake::fewshot::embed::{OnnxEmbedder, default_model_dir};
use asklake::fewshot::index::{VectorIndex, index_by_name};
use asklake::fewshot::library::{LexicalRetriever, Library};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

const DIM: usize = 384;

fn embedding(c: &mut Criterion) {
    let dir = default_model_dir().expect("ASKLAKE_EMBED_MODEL");
    let model = Arc::new(OnnxEmbedder::load(&dir).expect("the embedding model (. scripts/env.sh)"));
    let mut g = c.benchmark_group("embed");
    g.bench_function("query", |b| {
        b.iter(|| model.embed_sync(&["Which source IPs made the most API calls last week?"]))
    });
    let lib = Library::builtin().unwrap();
    let texts: Vec<&str> = lib
        .entries
        .iter()
        .flat_map(|e| {
            std::iter::once(e.example.question.as_str()).chain(e.example.question_ko.as_deref())
        })
        .collect();
    g.sample_size(10);
    g.bench_function(format!("library_{}_texts", texts.len()), |b| {
        b.iter(|| model.embed_sync(&texts))
    });
    g.finish();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let hybrid = rt.block_on(async {
        HybridRetriever::new(
            LexicalRetriever::from_library(&lib),
            DenseRetriever::from_library(&lib, model.clone(), "flat", None)
                .await
                .unwrap(),
        )
        .unwrap()
    });
    c.bench_function("retrieve/hybrid_top3", |b| {
        b.iter(|| {
            rt.block_on(hybrid.retrieve("who used the root account last week", 3))
                .unwrap()
        })
    });
}

fn random_unit(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v: Vec<f32> = (0..n * DIM)
        .map(|_| {
            // xorshift64*: fast and deterministic; uniform in [-1, 1).
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            ((state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32) * 2.0
                - 1.0
        })
        .collect();
    for row in v.chunks_exact_mut(DIM) {
        let n = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        row.iter_mut().for_each(|x| *x /= n);
    }
    v
}

fn search(c: &mut Criterion) {
    let mut kinds = vec!["flat"];
    if cfg!(feature = "faiss") {
        kinds.extend(["faiss", "faiss:HNSW32,Flat"]);
    }
    let queries = random_unit(64, 99);
    let mut g = c.benchmark_group("search");
    for n in [100usize, 10_000, 1_000_000] {
        let data = random_unit(n, n as u64);
        if n >= 1_000_000 {
            g.sample_size(10);
        }
        for kind in &kinds {
            if kind.contains("HNSW")
                && n >= 1_000_000
                && std::env::var_os("ASKLAKE_BENCH_HNSW_1M").is_none()
            {
                continue;
            }
            let mut index: Box<dyn VectorIndex> = index_by_name(kind, DIM).unwrap();
            let t = std::time::Instant::now();
            index.add(&data).unwrap();
            eprintln!("{kind} n={n}: built in {:.2?}", t.elapsed());
            let mut qi = 0;
            g.bench_with_input(BenchmarkId::new(kind.replace(':', "_"), n), &n, |b, _| {
                b.iter(|| {
                    qi = (qi + 1) % 64;
                    index.search(&queries[qi * DIM..(qi + 1) * DIM], 3).unwrap()
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, embedding, search);
criterion_main!(benches);
