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

const CT: &str = "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0";

/// A CTE is visible only inside the query of its WITH (and to later CTEs of it): a CTE declared in a
/// subquery, a later sibling or a union branch does not whitelist the same name elsewhere, where it would
/// resolve to a system view or a file.
#[test]
fn cte_names_are_scoped() {
    let g = guard();
    let refused = [
        "SELECT name, setting FROM pg_settings, (WITH pg_settings AS (SELECT 1 AS x) SELECT x FROM pg_settings) q".to_string(),
        "SELECT * FROM x, (WITH x AS (SELECT 1 AS a) SELECT a FROM x) q".to_string(),
        format!("SELECT 1 FROM {CT} WHERE EXISTS (SELECT 1 FROM hidden) AND 1 IN (WITH hidden AS (SELECT 1 AS a) SELECT a FROM hidden)"),
        format!("SELECT (WITH v AS (SELECT 1 AS a) SELECT a FROM v) AS a FROM {CT} UNION ALL SELECT a FROM v"),
        "WITH a AS (SELECT * FROM b), b AS (SELECT 1 AS x) SELECT * FROM a".to_string(),
        "WITH a AS (SELECT * FROM a) SELECT * FROM a".to_string(),
        "SELECT * FROM duckdb_views".to_string(),
        "SELECT * FROM information_schema.tables".to_string(),
        "SELECT * FROM sqlite_master".to_string(),
        "SELECT * FROM pg_catalog.pg_proc".to_string(),
        "WITH duckdb_settings AS (SELECT 1 AS x) SELECT x FROM duckdb_settings".to_string(),
        "SELECT * FROM 'manifest.json'".to_string(),
        "SELECT * FROM \"manifest.json\"".to_string(),
        "SELECT * FROM \".tmp/x.parquet\"".to_string(),
        format!("SELECT version() FROM {CT}"),
        format!("SELECT current_query() FROM {CT}"),
        format!("SELECT current_setting('memory_limit') FROM {CT}"),
        format!("SELECT * FROM duckdb_settings() , {CT}"),
    ];
    for sql in &refused {
        assert!(
            matches!(g.check(sql), Err(Error::Guard { .. })),
            "accepted: {sql}"
        );
    }
    let allowed = [
        format!("WITH a AS (SELECT * FROM {CT}), b AS (SELECT * FROM a) SELECT count(*) FROM b"),
        format!("SELECT * FROM (WITH a AS (SELECT * FROM {CT}) SELECT * FROM a) q"),
        format!("WITH a AS (SELECT 1 AS x FROM {CT}) SELECT x FROM a UNION ALL SELECT x FROM a"),
        format!("WITH a AS (SELECT 1 AS x FROM {CT}) SELECT x FROM a WHERE x IN (SELECT x FROM a)"),
        format!(
            "WITH RECURSIVE r AS (SELECT 1 AS n FROM {CT} UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r"
        ),
    ];
    for sql in &allowed {
        assert!(
            g.check(sql).is_ok(),
            "refused: {sql}: {:?}",
            g.check(sql).err()
        );
    }
}

mod scoping_property {
    //! Random nested queries (CTEs, derived tables, scalar and EXISTS subqueries, unions) whose table
    //! references are drawn from a few CTE names and the lake's table; the guard's verdict must equal that of
    //! a resolver written on the generator's own tree with SQL's scoping rules.
    use proptest::prelude::*;

    use super::{CT, guard};

    #[derive(Debug, Clone)]
    enum Source {
        Name(&'static str),
        Derived(Box<Q>),
    }

    #[derive(Debug, Clone)]
    struct Q {
        ctes: Vec<(&'static str, Q)>,
        from: Vec<Source>,
        exists: Option<Box<Q>>,
        union: Option<Box<Q>>,
    }

    const NAMES: &[&str] = &["a", "b", "c", "lake"];

    fn name() -> impl Strategy<Value = &'static str> {
        prop::sample::select(NAMES)
    }

    fn query() -> impl Strategy<Value = Q> {
        let leaf = prop::collection::vec(name().prop_map(Source::Name), 1..3).prop_map(|from| Q {
            ctes: vec![],
            from,
            exists: None,
            union: None,
        });
        leaf.prop_recursive(4, 24, 3, |inner| {
            (
                prop::collection::vec(
                    (prop::sample::select(&["a", "b", "c"][..]), inner.clone()),
                    0..3,
                ),
                prop::collection::vec(
                    prop_oneof![
                        name().prop_map(Source::Name),
                        inner.clone().prop_map(|q| Source::Derived(Box::new(q)))
                    ],
                    1..3,
                ),
                prop::option::of(inner.clone().prop_map(Box::new)),
                prop::option::of(inner.prop_map(Box::new)),
            )
                .prop_map(|(ctes, from, exists, union)| Q {
                    ctes,
                    from,
                    exists,
                    union,
                })
        })
    }

    fn render(q: &Q, n: &mut usize) -> String {
        let mut s = String::new();
        if !q.ctes.is_empty() {
            let defs: Vec<String> = q
                .ctes
                .iter()
                .map(|(name, def)| format!("{name} AS ({})", render(def, n)))
                .collect();
            s.push_str(&format!("WITH {} ", defs.join(", ")));
        }
        let from: Vec<String> = q
            .from
            .iter()
            .map(|src| match src {
                Source::Name("lake") => CT.to_string(),
                Source::Name(t) => t.to_string(),
                Source::Derived(d) => {
                    *n += 1;
                    format!("({}) AS d{n}", render(d, n))
                }
            })
            .collect();
        s.push_str(&format!("SELECT 1 AS x FROM {}", from.join(", ")));
        if let Some(e) = &q.exists {
            s.push_str(&format!(" WHERE EXISTS ({})", render(e, n)));
        }
        if let Some(u) = &q.union {
            s.push_str(&format!(" UNION ALL ({})", render(u, n)));
        }
        s
    }

    /// SQL's rules, on the tree: a CTE is visible in its WITH's query and in the later CTEs of that WITH.
    fn resolves(q: &Q, outer: &[&str]) -> bool {
        let mut visible: Vec<&str> = outer.to_vec();
        for (name, def) in &q.ctes {
            if !resolves(def, &visible) {
                return false;
            }
            visible.push(name);
        }
        q.from.iter().all(|src| match src {
            Source::Name("lake") => true,
            Source::Name(t) => visible.contains(t),
            Source::Derived(d) => resolves(d, &visible),
        }) && q.exists.as_ref().is_none_or(|e| resolves(e, &visible))
            && q.union.as_ref().is_none_or(|u| resolves(u, &visible))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn the_guard_scopes_ctes_like_sql(q in query()) {
            let sql = render(&q, &mut 0);
            let expected = resolves(&q, &[]);
            let verdict = guard().check(&sql);
            prop_assert_eq!(verdict.is_ok(), expected, "{}: {:?}", sql, verdict.err());
        }
    }
}
