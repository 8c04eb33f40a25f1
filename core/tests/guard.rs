//! The SQL guard against an adversarial corpus and random input.

use asklake::Error;
use asklake::schema::{
    Catalog, SecurityLakeTable, Source, SourceVersion, TableInfo, security_lake_columns,
};
use asklake::sql::{Guard, GuardConfig};

fn guard() -> Guard {
    let tables = Source::ALL
        .into_iter()
        .map(|s| {
            let t = SecurityLakeTable::new(s, SourceVersion::V2, "us-east-1");
            TableInfo::new(
                t.database(),
                t.table(),
                security_lake_columns(s, SourceVersion::V2).unwrap(),
            )
        })
        .collect();
    Guard::new(&Catalog::new(tables), GuardConfig::default())
}

fn unescape(line: &str) -> String {
    line.replace("\\n", "\n")
        .replace("\\r", "\r")
        .replace("\\t", "\t")
        .replace("\\u0000", "\0")
}

#[test]
fn adversarial_corpus_is_rejected_with_reasons() {
    let corpus = include_str!("data/guard_adversarial.txt");
    let g = guard();
    let cases: Vec<String> = corpus
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(unescape)
        .collect();
    assert!(cases.len() >= 150, "corpus has {} cases", cases.len());
    for sql in &cases {
        match g.check(sql) {
            Err(Error::Guard { code, reason }) => {
                assert!(!reason.is_empty() && !code.as_str().is_empty(), "{sql:?}");
            }
            Ok(ok) => panic!("guard accepted {sql:?} as {}", ok.sql),
            Err(other) => panic!("{sql:?}: unexpected error kind {other}"),
        }
    }
}

#[test]
fn realistic_athena_queries_pass() {
    let g = guard();
    let t = "\"amazon_security_lake_glue_db_us_east_1\".\"amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0\"";
    for sql in [
        format!(
            "SELECT time_dt, api.operation, src_endpoint.ip FROM {t} WHERE time_dt BETWEEN CURRENT_TIMESTAMP - INTERVAL '7' DAY AND CURRENT_TIMESTAMP ORDER BY time DESC LIMIT 25"
        ),
        format!(
            "SELECT actor.user.uid, count(*) FROM {t} WHERE api.operation = 'ConsoleLogin' AND status = 'Failure' GROUP BY 1"
        ),
        format!(
            "WITH top AS (SELECT src_endpoint.ip AS ip, count(*) c FROM {t} GROUP BY 1 ORDER BY 2 DESC LIMIT 5) SELECT t.ip, x.api.operation FROM top t JOIN {t} x ON x.src_endpoint.ip = t.ip"
        ),
        format!(
            "SELECT r.uid FROM {t} CROSS JOIN UNNEST(resources) AS u(r) WHERE any_match(observables, o -> o.type = 'IP Address')"
        ),
        format!(
            "SELECT date_format(time_dt, '%Y-%m-%d %H'), count(*) FROM {t} WHERE time_dt > date_add('day', -1, now()) GROUP BY 1"
        ),
        format!("SELECT unmapped['additionalEventData.MFAUsed'] FROM {t} WHERE is_mfa = false"),
        "SELECT 1".to_string(),
    ] {
        let ok = g.check(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert!(ok.sql.contains("LIMIT"), "{}", ok.sql);
    }
}

#[test]
fn reasons_are_actionable() {
    let g = guard();
    let e = g
        .check("SELECT * FROM amazon_security_lake_table_us_east_1_vpc_flow_20")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("did you mean amazon_security_lake_table_us_east_1_vpc_flow_2_0"),
        "{e}"
    );
    let e = g.check("SELECT 1; DROP TABLE x").unwrap_err();
    assert!(e.to_string().contains("exactly one SELECT"), "{e}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// The guard never panics, whatever the input.
    #[test]
    fn never_panics(s in "\\PC{0,200}") {
        let _ = guard().check(&s);
    }

    /// Nor on SQL-shaped input built from keywords and punctuation.
    #[test]
    fn never_panics_on_sql_soup(parts in proptest::collection::vec(proptest::sample::select(vec![
        "SELECT", "*", "FROM", "amazon_security_lake_table_us_east_1_vpc_flow_2_0", "WHERE", "(", ")", ";", ",",
        "UNION", "WITH", "x", "AS", "LIMIT", "10", "'a'", "\"b\"", "--", "/*", "*/", "\n", "DROP", "read_csv",
        "UNNEST", "->", "[", "]", ".", "=", "JOIN", "ON", "CROSS", "LATERAL", "INTERVAL", "'7'", "DAY",
    ]), 0..40)) {
        let _ = guard().check(&parts.join(" "));
    }
}
