//! Snapshots of rendered prompts (reviewed by humans; `cargo insta review` after an intended change), and the
//! prompt size with the question's tables versus the whole catalog.

mod common;

use std::sync::Arc;

use asklake::llm::LlmBackend;
use asklake::pipeline::{Options, Text2Sql};
use asklake::testing::scripted::Scripted;
use common::*;

fn t2s(max_tables: usize) -> Text2Sql {
    Text2Sql::builder(Arc::new(engine()))
        .llm(Arc::new(Scripted::new(Vec::<String>::new())) as Arc<dyn LlmBackend>)
        .options(Options {
            max_tables,
            as_of: Some(as_of()),
            ..Options::default()
        })
        .build()
}

#[tokio::test]
async fn cloudtrail_question_prompt() {
    let p = t2s(3)
        .render_prompt("Which source IPs made the most API calls last week?")
        .await
        .unwrap();
    insta::assert_snapshot!("cloudtrail_top_ips", p.transcript());
}

#[tokio::test]
async fn network_and_dns_question_prompt() {
    let p = t2s(3)
        .render_prompt(
            "Which instances resolved the suspicious domain, and what traffic went to those IPs?",
        )
        .await
        .unwrap();
    let t = p.transcript();
    assert!(t.contains("route53_2_0") && t.contains("vpc_flow_2_0"));
    // CloudTrail is only in the one-line list of other tables, not described.
    assert!(!t.contains("cloud_trail_mgmt_2_0\"\n"));
    assert!(t.contains("  - amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0: "));
    insta::assert_snapshot!("dns_and_flows", t);
}

#[tokio::test]
async fn pruned_prompt_is_much_smaller_than_the_full_schema() {
    let q = "Which source IPs made the most API calls last week?";
    let pruned = t2s(3).render_prompt(q).await.unwrap().transcript();
    // Every table of the catalog, as a prompt without table selection would carry.
    let catalog = asklake::engine::QueryEngine::catalog(&engine())
        .await
        .unwrap();
    let all: Vec<String> = catalog.tables.iter().map(|t| t.name.clone()).collect();
    let full = Text2Sql::builder(Arc::new(engine()))
        .llm(Arc::new(Scripted::new(Vec::<String>::new())) as Arc<dyn LlmBackend>)
        .options(Options {
            max_tables: 20,
            as_of: Some(as_of()),
            ..Options::default()
        })
        .build()
        .render_prompt(&format!("{q} {}", all.join(" ")))
        .await
        .unwrap()
        .transcript();
    let tokens = |s: &str| s.chars().count().div_ceil(4);
    eprintln!(
        "prompt tokens (≈4 chars each): pruned {}, full schema {}",
        tokens(&pruned),
        tokens(&full)
    );
    assert!(
        tokens(&pruned) * 4 < tokens(&full),
        "pruned {} vs full {}",
        tokens(&pruned),
        tokens(&full)
    );
}
