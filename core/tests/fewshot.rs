//! The verified library: every example's SQL passes the guard and runs on the demo lake, returning rows when
//! it says so; answers come from it when no LLM is configured.

mod common;

use std::sync::Arc;

use asklake::Error;
use asklake::engine::QueryOptions;
use asklake::fewshot::library::{LexicalRetriever, Library};
use asklake::pipeline::{AnswerSource, Text2Sql};
use asklake::sql::run_guarded;
use common::*;

#[tokio::test]
async fn every_library_example_runs_on_the_demo_lake() {
    let lib = Library::builtin().unwrap();
    let engine = engine();
    let opts = QueryOptions {
        as_of: Some(as_of()),
        ..Default::default()
    };
    let mut failures = Vec::new();
    for e in &lib.entries {
        match run_guarded(&engine, &e.example.sql, &opts).await {
            Ok((g, r)) => {
                if (r.row_count > 0) != e.expect_rows {
                    failures.push(format!(
                        "{}: {} rows, expect_rows={}",
                        e.example.id, r.row_count, e.expect_rows
                    ));
                }
                for t in &e.example.tables {
                    assert!(
                        g.tables.iter().any(|x| x.eq_ignore_ascii_case(t)),
                        "{}: {t} not used",
                        e.example.id
                    );
                }
            }
            Err(err) => failures.push(format!("{}: {err}", e.example.id)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn without_an_llm_answers_come_from_the_library() {
    let lib = Library::builtin().unwrap();
    let t = Text2Sql::builder(Arc::new(engine()))
        .retriever(Arc::new(LexicalRetriever::from_library(&lib)))
        .as_of(Some(as_of()))
        .build();
    let a = t
        .ask("Are there logs of root account usage?")
        .await
        .unwrap();
    assert_eq!(a.source, AnswerSource::Library);
    assert_eq!(a.model, "library:ct-root-usage");
    assert_eq!(a.to_json()["source"], "library");
    assert!(a.result.unwrap().row_count > 0);
    assert!(a.explanation.unwrap().contains("ct-root-usage"));
    let e = t.ask("what is the capital of France").await.unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("--llm bedrock")),
        "{e}"
    );
}

/// `fewshot add` never writes an entry the loader would reject, gives Korean-only questions distinct ids,
/// and parallel writers lose nothing.
#[tokio::test]
async fn adding_examples_validates_first_and_parallel_adds_all_survive() {
    use asklake::fewshot::library::{NewExample, add_verified};
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(engine());
    let sql = format!("SELECT count(*) AS n FROM {CT2}");
    let e = add_verified(
        engine.as_ref(),
        dir.path(),
        NewExample {
            question: "How many rows?".into(),
            sql: sql.clone(),
            id: Some(String::new()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
    assert!(!dir.path().join("custom.jsonl").exists());
    let long = "x".repeat(2001);
    assert!(
        add_verified(
            engine.as_ref(),
            dir.path(),
            NewExample {
                question: long,
                sql: sql.clone(),
                ..Default::default()
            }
        )
        .await
        .is_err()
    );

    let mut ids = Vec::new();
    for q in ["지난주 API 호출 수는?", "어제 콘솔 로그인 실패 수는?"] {
        let (entry, _) = add_verified(
            engine.as_ref(),
            dir.path(),
            NewExample {
                question: q.into(),
                sql: sql.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        ids.push(entry.example.id);
    }
    assert_ne!(ids[0], ids[1]);
    assert!(
        ids.iter().all(|i| i.starts_with("user-") && i.len() > 5),
        "{ids:?}"
    );

    let mut tasks = Vec::new();
    for i in 0..6 {
        let engine = engine.clone();
        let dir = dir.path().to_path_buf();
        let sql = sql.clone();
        tasks.push(tokio::spawn(async move {
            add_verified(
                engine.as_ref(),
                &dir,
                NewExample {
                    question: format!("parallel question number {i}"),
                    sql,
                    ..Default::default()
                },
            )
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let lib = Library::load(dir.path()).unwrap();
    assert_eq!(
        lib.entries.len(),
        8,
        "every added example is stored and loads"
    );
}
