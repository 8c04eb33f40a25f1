//! Honesty checks for the evaluation harness: an oracle that answers the gold SQL for a known subset and a
//! wrong but valid query for the rest must score exactly that accuracy, for every variant and over the wire.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use asklake::eval::runner::{BenchQuestion, Variant, load_benchmark, markdown, run, wilson};
use asklake::llm::LlmBackend;
use asklake::pipeline::Options;
use asklake::testing::llm_server::{FakeLlm, Reply};
use asklake::testing::scripted::Scripted;
use common::*;

fn questions(n: usize) -> Vec<BenchQuestion> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fewshot/eval/benchmark.jsonl");
    load_benchmark(&path).unwrap().into_iter().take(n).collect()
}

fn options() -> Options {
    Options {
        as_of: Some(as_of()),
        ..Options::default()
    }
}

const WRONG: &str = "```sql\nSELECT 1 AS wrong\n```";

#[tokio::test]
async fn oracle_accuracy_is_reported_exactly() {
    let qs = questions(12);
    // Gold for every third question, a valid wrong query for the others.
    let answers: HashMap<String, String> = qs
        .iter()
        .enumerate()
        .flat_map(|(i, q)| {
            let a = if i % 3 == 0 {
                format!("```sql\n{}\n```", q.sql)
            } else {
                WRONG.to_string()
            };
            [(q.question.clone(), a.clone()), (q.question_ko.clone(), a)]
        })
        .collect();
    let oracle = Scripted::from_fn(move |req| {
        let q = &req
            .messages
            .last()
            .map(|m| m.content.clone())
            .unwrap_or_default();
        Ok(answers.get(q).cloned().unwrap_or_else(|| WRONG.to_string()))
    })
    .with_model("oracle");
    let models: Vec<Arc<dyn LlmBackend>> = vec![Arc::new(oracle)];
    let variants = [
        Variant::ZeroShot,
        Variant::FewShot,
        Variant::Rag,
        Variant::RagRepair,
        Variant::RagRepairRerank,
        Variant::SelfConsistency(3),
    ];
    let report = run(
        Arc::new(engine()),
        &models,
        &variants,
        &qs,
        &["en", "ko"],
        &options(),
    )
    .await
    .unwrap();
    assert_eq!(report.summary.len(), 6);
    for s in &report.summary {
        assert_eq!(s.n, 24, "{}", s.variant);
        assert!(
            (s.accuracy - 8.0 / 24.0).abs() < 1e-9,
            "{} {}",
            s.variant,
            s.accuracy
        );
        assert_eq!(s.accuracy_relaxed, s.accuracy);
        // Self-consistency runs the loop once per sample.
        let attempts = if s.variant == "self-consistency:3" {
            3.0
        } else {
            1.0
        };
        assert_eq!(s.mean_attempts, attempts, "{}", s.variant);
        assert_eq!(s.by_lang["en"], s.by_lang["ko"]);
        assert_eq!(s.diagnostics["executes"], 1.0);
        assert!((s.diagnostics["columns_match"] - 8.0 / 24.0).abs() < 1e-9);
    }
    for r in &report.results {
        assert!(r.parses && r.passes_guard && r.executes);
        let idx = qs.iter().position(|q| q.id == r.id).unwrap();
        assert_eq!(r.correct, idx % 3 == 0, "{}", r.id);
        assert_eq!(r.tables_match, idx % 3 == 0, "{}", r.id);
        assert_eq!(r.columns_match, idx % 3 == 0, "{}", r.id);
    }
    let md = markdown(&report);
    assert!(md.contains("| oracle | rag+repair | 24 | 33.3% ("), "{md}");
}

#[tokio::test]
async fn oracle_through_the_fake_bedrock_wire() {
    let qs = questions(6);
    let replies: Vec<Reply> = qs
        .iter()
        .enumerate()
        .map(|(i, q)| {
            Reply::Text(if i < 4 {
                format!("```sql\n{}\n```", q.sql)
            } else {
                WRONG.into()
            })
        })
        .collect();
    let fake = FakeLlm::start(replies).await;
    let conf = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(aws_sdk_bedrockruntime::config::BehaviorVersion::latest())
        .region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"))
        .endpoint_url(fake.url())
        .credentials_provider(aws_sdk_bedrockruntime::config::Credentials::new(
            "AKID", "s", None, None, "t",
        ))
        .timeout_config(asklake::llm::bedrock::default_timeouts(
            Duration::from_secs(10),
        ))
        .build();
    let bedrock = asklake::llm::bedrock::Bedrock::with_client(
        aws_sdk_bedrockruntime::Client::from_conf(conf),
        "haiku",
    )
    .unwrap();
    let models: Vec<Arc<dyn LlmBackend>> = vec![Arc::new(bedrock)];
    let report = run(
        Arc::new(engine()),
        &models,
        &[Variant::ZeroShot],
        &qs,
        &["en"],
        &options(),
    )
    .await
    .unwrap();
    let s = &report.summary[0];
    assert_eq!((s.n, s.accuracy), (6, 4.0 / 6.0));
    assert!(
        s.cost_usd.unwrap() > 0.0,
        "Claude 3 Haiku has catalog prices"
    );
    assert_eq!(s.model, "anthropic.claude-3-haiku-20240307-v1:0");
}

/// Self-consistency votes by result: with samples answering A, B, B the answer is B, whatever sample 0 said.
#[tokio::test]
async fn self_consistency_takes_the_majority_result() {
    use asklake::pipeline::{Text2Sql, TraceStep};
    let a = format!("```sql\nSELECT count(*) AS n FROM {CT2} WHERE status = 'Failure'\n```");
    let b = format!("```sql\nSELECT count(*) AS n FROM {CT2}\n```");
    let replies = std::sync::Mutex::new(vec![a.clone(), b.clone(), b.clone()]);
    let llm = Scripted::from_fn(move |req| {
        // Sample i answers replies[i] (samples run concurrently, so key by the sample number).
        Ok(replies.lock().unwrap()[req.sample as usize].clone())
    });
    let t2s = Text2Sql::builder(Arc::new(engine()))
        .llm(Arc::new(llm))
        .options(Options {
            self_consistency: 3,
            explain: false,
            ..options()
        })
        .build();
    let ans = t2s
        .ask("How many CloudTrail events are there?")
        .await
        .unwrap();
    assert!(
        ans.sql.as_deref().unwrap().contains("FROM")
            && !ans.sql.as_deref().unwrap().contains("Failure")
    );
    assert_eq!(ans.attempts.len(), 3);
    let vote = ans.trace.iter().find_map(|t| match t {
        TraceStep::Vote { groups, chosen, .. } => Some((groups.clone(), *chosen)),
        _ => None,
    });
    assert_eq!(vote, Some((vec![1, 2], 1)));
    // Samples after the first are sampled at the sampling temperature.
    let temps: Vec<f32> = ans
        .trace
        .iter()
        .filter_map(|t| match t {
            TraceStep::Sample { temperature, .. } => Some(*temperature),
            _ => None,
        })
        .collect();
    assert_eq!(temps, vec![0.0, 0.7, 0.7]);
}

/// Rerank: a draft whose SQL has the shape of a lower-ranked pool example pulls that example into the prompt.
#[tokio::test]
async fn rerank_regenerates_with_examples_like_the_draft() {
    use asklake::fewshot::FewShotRetriever;
    use asklake::fewshot::library::{LexicalRetriever, Library};
    use asklake::pipeline::{Text2Sql, TraceStep};
    let question = "Are there logs of root account usage?";
    let lib = Library::builtin().unwrap();
    let lexical = Arc::new(LexicalRetriever::from_library(&lib));
    let pool = lexical.retrieve(question, 10).await.unwrap();
    let target = pool[pool.len() - 1].example.clone();
    assert!(pool.len() > 3);
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let draft = format!("```sql\n{}\n```", target.sql);
    let llm = Scripted::from_fn(move |_| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(draft.clone())
    });
    let t2s = Text2Sql::builder(Arc::new(engine()))
        .llm(Arc::new(llm))
        .retriever(lexical)
        .options(Options {
            rerank: true,
            explain: false,
            ..options()
        })
        .build();
    let ans = t2s.ask(question).await.unwrap();
    let (before, after) = ans
        .trace
        .iter()
        .find_map(|t| match t {
            TraceStep::Rerank { before, after, .. } => Some((before.clone(), after.clone())),
            _ => None,
        })
        .expect("a rerank step");
    let ids = |v: &[asklake::fewshot::ScoredExample]| -> Vec<String> {
        v.iter().map(|e| e.example.id.clone()).collect()
    };
    assert_eq!(before, ids(&pool[..3]));
    assert!(!before.contains(&target.id));
    assert!(after.contains(&target.id), "{after:?}");
    assert_eq!(
        ids(&ans.examples),
        after,
        "the prompt used the reranked examples"
    );
    // The draft, then the generation with the new examples.
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(ans.attempts.len(), 1);
}

/// Ties at a LIMIT boundary: either tied row is right, a row below the tie is not.
#[tokio::test]
async fn ties_at_the_limit_boundary_count_as_correct() {
    let gold_sql = "SELECT x, n FROM (VALUES ('a', 3), ('b', 2), ('c', 2), ('d', 1)) AS t(x, n) ORDER BY n DESC LIMIT 2";
    let q = |id: &str| BenchQuestion {
        id: id.into(),
        question: format!("question {id}"),
        question_ko: format!("질문 {id}"),
        sql: gold_sql.into(),
        tables: vec![],
        difficulty: "aggregate".into(),
        order_matters: false,
    };
    let qs = vec![q("asc"), q("desc"), q("below")];
    let preds: HashMap<String, String> = [
        ("question asc", "SELECT x, n FROM (VALUES ('a', 3), ('b', 2), ('c', 2), ('d', 1)) AS t(x, n) ORDER BY n DESC, x ASC LIMIT 2"),
        ("question desc", "SELECT n, x FROM (VALUES ('a', 3), ('b', 2), ('c', 2), ('d', 1)) AS t(x, n) ORDER BY n DESC, x DESC LIMIT 2"),
        ("question below", "SELECT x, n FROM (VALUES ('a', 3), ('b', 2), ('c', 2), ('d', 1)) AS t(x, n) WHERE x IN ('a', 'd')"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), format!("```sql\n{v}\n```")))
    .collect();
    let oracle = Scripted::from_fn(move |req| {
        let q = req
            .messages
            .last()
            .map(|m| m.content.clone())
            .unwrap_or_default();
        Ok(preds[&q].clone())
    });
    let models: Vec<Arc<dyn LlmBackend>> = vec![Arc::new(oracle)];
    let report = run(
        Arc::new(engine()),
        &models,
        &[Variant::ZeroShot],
        &qs,
        &["en"],
        &options(),
    )
    .await
    .unwrap();
    let by_id = |id: &str| report.results.iter().find(|r| r.id == id).unwrap();
    assert!(by_id("asc").correct && by_id("desc").correct);
    assert!(!by_id("below").correct && !by_id("below").correct_relaxed);
    // Whichever tied row the gold query kept, the other prediction was saved by the tie rule.
    assert!(by_id("asc").tie_at_limit != by_id("desc").tie_at_limit);
}

#[test]
fn wilson_interval() {
    let (lo, hi) = wilson(52, 100);
    assert!(
        (lo - 0.4231).abs() < 1e-3 && (hi - 0.6153).abs() < 1e-3,
        "{lo} {hi}"
    );
    assert_eq!(wilson(0, 0), (0.0, 0.0));
}
