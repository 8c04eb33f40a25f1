//! Schema linking over the whole benchmark, model-free: for every question (English and Korean, with the
//! library's examples and without), do the tables the pipeline puts in the prompt include every table the
//! gold SQL uses? The figures are printed (`cargo test -p asklake --test schema_linking -- --nocapture`),
//! with the mean number of tables per prompt (each costs tokens). Every question is covered; a change to
//! table selection that loses one fails here.

mod common;

use std::sync::Arc;

use asklake::eval::runner::builtin_benchmark;
use asklake::fewshot::FewShotRetriever;
use asklake::fewshot::library::{LexicalRetriever, Library};
use asklake::pipeline::Text2Sql;
use common::*;

fn unqualified(t: &str) -> String {
    t.rsplit('.')
        .next()
        .unwrap_or(t)
        .trim_matches('"')
        .to_string()
}

/// `(covered, total, misses, tables chosen in all, (covered, total) of the join and hunting questions)` for
/// one language and setup.
async fn coverage(
    t2s: &Text2Sql,
    korean: bool,
) -> (usize, usize, Vec<String>, usize, (usize, usize)) {
    let bench = builtin_benchmark().unwrap();
    let mut hunting = (0, 0);
    let mut covered = 0;
    let mut chosen_total = 0;
    let mut misses = Vec::new();
    for q in &bench {
        let text = if korean { &q.question_ko } else { &q.question };
        let chosen: Vec<String> = t2s
            .tables_for(text)
            .await
            .unwrap()
            .iter()
            .map(|t| unqualified(t))
            .collect();
        chosen_total += chosen.len();
        let ok = q.tables.iter().all(|g| chosen.contains(&unqualified(g)));
        if matches!(q.difficulty.as_str(), "join" | "hunting") {
            hunting.1 += 1;
            hunting.0 += usize::from(ok);
        }
        if ok {
            covered += 1;
        } else {
            misses.push(format!("{}: {text} → {chosen:?}", q.id));
        }
    }
    (covered, bench.len(), misses, chosen_total, hunting)
}

#[tokio::test]
async fn gold_tables_are_in_the_prompt() {
    let engine = Arc::new(engine());
    let lib = Library::builtin().unwrap();
    let with = Text2Sql::builder(engine.clone())
        .retriever(Arc::new(LexicalRetriever::from_library(&lib)) as Arc<dyn FewShotRetriever>)
        .build();
    let without = Text2Sql::builder(engine).examples(0).build();
    let setups = [
        ("English, no examples", &without, false),
        ("Korean, no examples", &without, true),
        ("English, with examples", &with, false),
        ("Korean, with examples", &with, true),
    ];
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (label, t2s, korean) in setups {
        let (ok, total, misses, chosen, (h_ok, h_total)) = coverage(t2s, korean).await;
        report.push(format!(
            "{label}: {ok}/{total} ({:.2} tables per prompt; join and hunting {h_ok}/{h_total})",
            chosen as f64 / total as f64
        ));
        if ok < total {
            failures.push(format!("{label}: {ok}/{total}\n  {}", misses.join("\n  ")));
        }
    }
    eprintln!("schema linking: {}", report.join("; "));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same measure on wording the table selection was not written against: the retrieval paraphrase set
/// (English and Korean rewordings of library questions), each needing its library example's tables.
#[tokio::test]
async fn gold_tables_for_paraphrases() {
    let engine = Arc::new(engine());
    let lib = Library::builtin().unwrap();
    let t2s = Text2Sql::builder(engine).examples(0).build();
    let cases = asklake::fewshot::library::builtin_retrieval_cases().unwrap();
    let mut by_lang: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    let mut misses = Vec::new();
    for c in &cases {
        let Some(ex) = lib
            .entries
            .iter()
            .map(|e| &e.example)
            .find(|e| e.id == c.expected)
        else {
            continue;
        };
        let chosen: Vec<String> = t2s
            .tables_for(&c.question)
            .await
            .unwrap()
            .iter()
            .map(|t| unqualified(t))
            .collect();
        let e = by_lang.entry(c.lang.clone()).or_default();
        e.1 += 1;
        if ex.tables.iter().all(|g| chosen.contains(&unqualified(g))) {
            e.0 += 1;
        } else {
            misses.push(format!("{}: {} → {chosen:?}", c.expected, c.question));
        }
    }
    let report: Vec<String> = by_lang
        .iter()
        .map(|(l, (ok, n))| format!("{l} {ok}/{n}"))
        .collect();
    eprintln!(
        "schema linking on paraphrases: {}\n  {}",
        report.join(", "),
        misses.join("\n  ")
    );
    for (l, (ok, n)) in &by_lang {
        assert_eq!(ok, n, "{l}: {ok}/{n}\n{}", misses.join("\n"));
    }
}
