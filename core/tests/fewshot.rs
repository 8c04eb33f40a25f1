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
