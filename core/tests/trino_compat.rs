//! Athena (Trino) functions on the local engine, each compared with the result Trino documents.

mod common;

use asklake::engine::{QueryEngine, QueryOptions, format};
use serde_json::{Value, json};

async fn eval(expr: &str) -> Value {
    let engine = common::engine();
    let r = engine
        .execute(&format!("SELECT {expr}"), &QueryOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    format::rows_json(&r).remove(0).remove(0)
}

async fn check(expr: &str, expected: Value) {
    assert_eq!(eval(expr).await, expected, "{expr}");
}

#[tokio::test]
async fn date_and_time_functions() {
    check(
        "date_add('day', -7, TIMESTAMP '2024-03-10 12:00:00') = TIMESTAMP '2024-03-03 12:00:00'",
        json!(true),
    )
    .await;
    check(
        "date_add('hour', 5, TIMESTAMP '2024-03-10 22:00:00') = TIMESTAMP '2024-03-11 03:00:00'",
        json!(true),
    )
    .await;
    check(
        "date_add('month', 1, DATE '2024-01-31') = DATE '2024-02-29'",
        json!(true),
    )
    .await;
    // Trino counts whole units: 23:00 → 01:00 next day is 0 days.
    check(
        "date_diff('day', TIMESTAMP '2024-01-01 23:00:00', TIMESTAMP '2024-01-02 01:00:00')",
        json!(0),
    )
    .await;
    check(
        "date_diff('hour', TIMESTAMP '2024-01-01 00:00:00', TIMESTAMP '2024-01-01 05:30:00')",
        json!(5),
    )
    .await;
    check(
        "date_format(TIMESTAMP '2024-03-05 07:08:09', '%Y-%m-%d %H:%i:%s')",
        json!("2024-03-05 07:08:09"),
    )
    .await;
    check(
        "date_format(TIMESTAMP '2024-03-05 07:08:09', '%Y%m%d')",
        json!("20240305"),
    )
    .await;
    check(
        "format_datetime(TIMESTAMP '2024-03-05 07:08:09', 'yyyy-MM-dd HH:mm:ss')",
        json!("2024-03-05 07:08:09"),
    )
    .await;
    check(
        "date_parse('2024-03-05 07:08:09', '%Y-%m-%d %H:%i:%s') = TIMESTAMP '2024-03-05 07:08:09'",
        json!(true),
    )
    .await;
    check(
        "from_iso8601_timestamp('2024-03-05T07:08:09Z') = TIMESTAMP '2024-03-05 07:08:09'",
        json!(true),
    )
    .await;
    check(
        "from_unixtime(1700000000) = TIMESTAMP '2023-11-14 22:13:20'",
        json!(true),
    )
    .await;
    check(
        "to_unixtime(TIMESTAMP '2023-11-14 22:13:20')",
        json!(1700000000.0),
    )
    .await;
    check("day_of_week(DATE '2024-03-10')", json!(7)).await; // a Sunday
    check("hour(TIMESTAMP '2024-03-10 13:45:00')", json!(13)).await;
    check("day(DATE '2024-03-10')", json!(10)).await;
    check("month(DATE '2024-03-10')", json!(3)).await;
    check("year(DATE '2024-03-10')", json!(2024)).await;
    check(
        "TIMESTAMP '2024-03-10 00:00:00' - INTERVAL '7' DAY = TIMESTAMP '2024-03-03 00:00:00'",
        json!(true),
    )
    .await;
    check(
        "TIMESTAMP '2024-03-10 00:00:00 UTC' = TIMESTAMP '2024-03-10 00:00:00'",
        json!(true),
    )
    .await;
    check(
        "date_trunc('hour', TIMESTAMP '2024-03-10 13:45:00') = TIMESTAMP '2024-03-10 13:00:00'",
        json!(true),
    )
    .await;
    // The clock is pinned to the lake's as-of time.
    check(
        "current_timestamp = TIMESTAMP '2026-11-28 00:00:00'",
        json!(true),
    )
    .await;
    check("now() = TIMESTAMP '2026-11-28 00:00:00'", json!(true)).await;
    check("current_date = DATE '2026-11-28'", json!(true)).await;
}

#[tokio::test]
async fn aggregates_regex_json_and_casts() {
    check(
        "(SELECT approx_distinct(x) FROM (VALUES (1), (2), (2), (3)) AS t(x))",
        json!(3),
    )
    .await;
    check("regexp_like('1a 2b 14m', '\\d+b')", json!(true)).await;
    check("regexp_like('abc', '^x')", json!(false)).await;
    check("regexp_extract('1a 2b 14m', '\\d+')", json!("1")).await;
    check(
        "regexp_extract('1a 2b 14m', '(\\d+)([a-z]+)', 2)",
        json!("a"),
    )
    .await;
    check("regexp_extract('abc', '\\d+')", Value::Null).await;
    check(
        "json_extract_scalar('{\"a\": {\"b\": \"x\"}}', '$.a.b')",
        json!("x"),
    )
    .await;
    check(
        "json_extract_scalar('{\"a\": {\"b\": \"x\"}}', '$.a')",
        Value::Null,
    )
    .await;
    check(
        "json_format(json_extract('{\"a\": {\"b\": 1}}', '$.a'))",
        json!("{\"b\":1}"),
    )
    .await;
    check("try_cast('x' AS INTEGER)", Value::Null).await;
    check("try_cast('12' AS INTEGER)", json!(12)).await;
}

#[tokio::test]
async fn arrays_maps_and_lambdas() {
    check("any_match(ARRAY[1, 2, 3], x -> x > 2)", json!(true)).await;
    check("any_match(ARRAY[1, 2, 3], x -> x > 5)", json!(false)).await;
    check("all_match(ARRAY[1, 2, 3], x -> x > 0)", json!(true)).await;
    check("contains(ARRAY['a', 'b'], 'b')", json!(true)).await;
    check("cardinality(ARRAY[1, 2, 3])", json!(3)).await;
    check("cardinality(MAP(ARRAY['a', 'b'], ARRAY[1, 2]))", json!(2)).await;
    check("element_at(ARRAY['a', 'b', 'c'], 2)", json!("b")).await;
    check("element_at(ARRAY['a', 'b', 'c'], -1)", json!("c")).await;
    check("element_at(MAP(ARRAY['k'], ARRAY['v']), 'k')", json!("v")).await;
    check(
        "element_at(MAP(ARRAY['k'], ARRAY['v']), 'missing')",
        Value::Null,
    )
    .await;
    check("array_join(ARRAY['a', 'b'], ',')", json!("a,b")).await;
    check("split('a,b,c', ',')", json!(["a", "b", "c"])).await;
    check("transform(ARRAY[1, 2], x -> x * 10)", json!([10, 20])).await;
    check("filter(ARRAY[1, 2, 3], x -> x <> 2)", json!([1, 3])).await;
}

#[tokio::test]
async fn unnest_of_rows_gives_one_column_per_field() {
    let engine = common::engine();
    let sql = format!(
        "SELECT uid, type FROM {} CROSS JOIN UNNEST(resources) AS t(uid, owner, type) WHERE type = 'AWS::KMS::Key' LIMIT 1",
        common::CT2
    );
    let r = engine
        .execute(&sql, &QueryOptions::default())
        .await
        .unwrap();
    let rows = format::rows_json(&r);
    assert!(
        rows[0][0].as_str().unwrap().starts_with("arn:aws:kms:"),
        "{rows:?}"
    );
    assert_eq!(rows[0][1], json!("AWS::KMS::Key"));
    let sql = "SELECT x, n FROM UNNEST(ARRAY[10, 20]) AS t(x) CROSS JOIN UNNEST(ARRAY[1]) AS u(n) ORDER BY x";
    let r = engine.execute(sql, &QueryOptions::default()).await.unwrap();
    assert_eq!(
        format::rows_json(&r),
        vec![vec![json!(10), json!(1)], vec![json!(20), json!(1)]]
    );
}

/// Trino's IP address functions, with the results its documentation gives (IP Address Functions), IPv4
/// and IPv6, and "traffic from outside our network" over the lake as AWS's published queries ask it.
#[tokio::test]
async fn ip_address_functions() {
    check(
        "contains('10.0.0.0/8', IPADDRESS '10.255.255.255')",
        json!(true),
    )
    .await;
    check(
        "contains('10.0.0.0/8', IPADDRESS '11.255.255.255')",
        json!(false),
    )
    .await;
    check(
        "contains(IPPREFIX '10.0.0.0/8', IPADDRESS '::ffff:10.1.2.3')",
        json!(true),
    )
    .await;
    check(
        "contains('2001:db8::/32', CAST('2001:db8:85a3::8a2e:370:7334' AS IPADDRESS))",
        json!(true),
    )
    .await;
    check(
        "contains('2001:db8::/32', IPADDRESS '2001:db9::1')",
        json!(false),
    )
    .await;
    check("contains('::/0', IPADDRESS '1.2.3.4')", json!(true)).await;
    check(
        "CAST('192.168.255.255/9' AS IPPREFIX)",
        json!("192.128.0.0/9"),
    )
    .await;
    check(
        "ip_prefix(IPADDRESS '192.168.255.255', 9)",
        json!("192.128.0.0/9"),
    )
    .await;
    // IPv6, printed as Trino prints it (RFC 5952: lower case, no leading zeros, the longest zero run as ::).
    check(
        "ip_prefix(CAST('2001:0db8:85a3:0001:0001:8a2e:0370:7334' AS IPADDRESS), 48)",
        json!("2001:db8:85a3::/48"),
    )
    .await;
    check(
        "ip_subnet_min(IPPREFIX '2001:0db8:85a3:0001:0001:8a2e:0370:7334/48')",
        json!("2001:db8:85a3::"),
    )
    .await;
    check(
        "ip_subnet_max(IPPREFIX '2001:0db8:85a3:0001:0001:8a2e:0370:7334/48')",
        json!("2001:db8:85a3:ffff:ffff:ffff:ffff:ffff"),
    )
    .await;
    check(
        "CAST('2001:DB8:0:0:1:0:0:1' AS IPADDRESS)",
        json!("2001:db8::1:0:0:1"),
    )
    .await;
    check("CAST('::ffff:10.1.2.3' AS IPADDRESS)", json!("10.1.2.3")).await;
    check("ip_subnet_min(IPPREFIX '192.64.1.1/9')", json!("192.0.0.0")).await;
    check(
        "ip_subnet_max(IPPREFIX '192.64.1.1/9')",
        json!("192.127.255.255"),
    )
    .await;
    check(
        "is_subnet_of(IPPREFIX '1.2.3.128/26', IPADDRESS '1.2.3.129')",
        json!(true),
    )
    .await;
    check(
        "is_subnet_of(IPPREFIX '64:fa9b::17/64', IPADDRESS '64:ffff::17')",
        json!(false),
    )
    .await;
    check(
        "is_subnet_of(IPPREFIX '64:fa9b::17/32', IPPREFIX '64:fa9b::17/64')",
        json!(true),
    )
    .await;
    check(
        "is_subnet_of(IPPREFIX '64:fa9b::17/64', IPPREFIX '64:ffff::17/32')",
        json!(false),
    )
    .await;
    check("CAST(NULL AS IPADDRESS)", Value::Null).await;
    // The array function keeps its meaning.
    check("contains(ARRAY['10.0.0.0/8'], '10.0.0.0/8')", json!(true)).await;
    // A bad address is an error, as in Trino, not a silent NULL.
    let engine = common::engine();
    let e = engine
        .execute(
            "SELECT CAST('10.0.0.256' AS IPADDRESS)",
            &QueryOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("Cannot cast value to IPADDRESS"),
        "{e}"
    );

    // Flows from outside the private ranges, as AWS's examples write it.
    let sql = format!(
        "SELECT count(*) FILTER (WHERE NOT (contains('10.0.0.0/8', CAST(src_endpoint.ip AS IPADDRESS)) \
         OR contains('172.16.0.0/12', CAST(src_endpoint.ip AS IPADDRESS)) \
         OR contains('192.168.0.0/16', CAST(src_endpoint.ip AS IPADDRESS)))), \
         count(*) FILTER (WHERE NOT (src_endpoint.ip LIKE '10.%' OR src_endpoint.ip LIKE '192.168.%' \
         OR regexp_matches(src_endpoint.ip, '^172\\.(1[6-9]|2[0-9]|3[01])\\.'))) FROM {}",
        common::FLOW2
    );
    let r = engine
        .execute(&sql, &QueryOptions::default())
        .await
        .unwrap();
    let row = format::rows_json(&r).remove(0);
    assert_eq!(row[0], row[1], "{row:?}");
    assert!(row[0].as_i64().unwrap() > 0, "{row:?}");
}

/// `cardinality` of the lake's map column (`unmapped`) and of an array column, as Trino counts both.
#[tokio::test]
async fn cardinality_of_maps_and_arrays() {
    let engine = common::engine();
    let sql = format!(
        "SELECT max(cardinality(unmapped)) > 0, max(cardinality(resources)) > 0, \
         max(cardinality(t.unmapped)) > 0 FROM {} AS t",
        common::CT2
    );
    let r = engine
        .execute(&sql, &QueryOptions::default())
        .await
        .unwrap();
    assert_eq!(
        format::rows_json(&r),
        vec![vec![json!(true), json!(true), json!(true)]]
    );
}

#[tokio::test]
async fn unnest_with_ordinality() {
    let engine = common::engine();
    let sql = "SELECT x, n FROM UNNEST(ARRAY['a', 'b', 'c']) WITH ORDINALITY AS t(x, n) ORDER BY n";
    let r = engine.execute(sql, &QueryOptions::default()).await.unwrap();
    assert_eq!(
        format::rows_json(&r),
        vec![
            vec![json!("a"), json!(1)],
            vec![json!("b"), json!(2)],
            vec![json!("c"), json!(3)]
        ]
    );
}
