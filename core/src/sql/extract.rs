//! Pulls the SQL out of what a model wrote: fenced blocks with or without a language tag, `<sql>` tags,
//! prose before and after, several blocks, trailing semicolons, or a refusal.

/// What a model's answer contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extracted {
    Sql(String),
    /// The model said the question cannot be answered from the data, with its reason.
    Refusal(String),
    /// Neither SQL nor a refusal.
    Nothing,
}

/// The marker the prompt asks a model to use when the question is not about the data.
pub const REFUSAL_MARKER: &str = "CANNOT_ANSWER:";

/// Extracts one query from `text`. Several candidates: the last SQL block wins (models that correct
/// themselves put the final version last).
pub fn extract_sql(text: &str) -> Extracted {
    let mut candidates = fenced_blocks(text);
    candidates.extend(tagged_blocks(text));
    let mut sql: Option<String> = candidates
        .into_iter()
        .filter(|(tag, body)| tag.as_deref().is_some_and(is_sql_tag) || looks_like_sql(body))
        .map(|(_, body)| clean(&body))
        .rfind(|s| !s.is_empty());
    if sql.is_none() {
        sql = bare_sql(text);
    }
    if let Some(s) = sql {
        return Extracted::Sql(s);
    }
    match refusal(text) {
        Some(r) => Extracted::Refusal(r),
        None => Extracted::Nothing,
    }
}

fn is_sql_tag(tag: &str) -> bool {
    matches!(
        tag.to_ascii_lowercase().as_str(),
        "sql" | "trino" | "presto" | "athena" | "sqlite" | "postgresql" | "mysql" | "duckdb"
    )
}

/// `(language tag, body)` of each ``` or ~~~ block, in order. An unclosed block runs to the end.
fn fenced_blocks(text: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let fence = if trimmed.starts_with("```") {
            "```"
        } else if trimmed.starts_with("~~~") {
            "~~~"
        } else {
            continue;
        };
        let after = trimmed.trim_start_matches(fence.chars().next().unwrap_or('`'));
        // ```sql SELECT 1``` on one line.
        if let Some(end) = after.find(fence) {
            let inner = &after[..end];
            let (tag, body) = split_tag(inner);
            out.push((tag, body.to_string()));
            continue;
        }
        let tag = after.trim();
        let tag =
            (!tag.is_empty()).then(|| tag.split_whitespace().next().unwrap_or("").to_string());
        let mut body = String::new();
        for l in lines.by_ref() {
            if l.trim_start().starts_with(fence) {
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        out.push((tag, body));
    }
    out
}

fn split_tag(inner: &str) -> (Option<String>, &str) {
    let inner = inner.trim();
    match inner.split_once(char::is_whitespace) {
        Some((first, rest)) if is_sql_tag(first) => (Some(first.to_string()), rest),
        _ => (None, inner),
    }
}

/// Bodies of `<sql>…</sql>` (and `<query>…</query>`) tags.
fn tagged_blocks(text: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let lower = text.to_ascii_lowercase();
    for tag in ["sql", "query"] {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let mut from = 0;
        while let Some(start) = lower[from..].find(&open) {
            let body_start = from + start + open.len();
            let Some(end) = lower[body_start..].find(&close) else {
                break;
            };
            out.push((
                Some("sql".into()),
                text[body_start..body_start + end].to_string(),
            ));
            from = body_start + end + close.len();
        }
    }
    out
}

const STARTS: [&str; 3] = ["select", "with", "values"];

fn first_word(s: &str) -> String {
    s.trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn strip_leading_comments(s: &str) -> &str {
    let mut s = s.trim_start();
    loop {
        if s.starts_with("--") {
            s = s.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if s.starts_with("/*") {
            s = s.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            return s;
        }
    }
}

fn looks_like_sql(body: &str) -> bool {
    STARTS.contains(&first_word(strip_leading_comments(body)).as_str())
}

/// SQL written without a fence: from the first line starting with SELECT/WITH to the end of the statement,
/// continuing across blank lines only while the next paragraph still reads as SQL.
fn bare_sql(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = (0..lines.len()).find(|&i| {
        let w = first_word(lines[i]);
        if w != "select" && w != "with" {
            return false;
        }
        // "Select the top IPs by …" is prose: SQL reads FROM a table (or is a tiny SELECT 1).
        let para: String = lines[i..]
            .iter()
            .take_while(|l| !l.trim().is_empty())
            .map(|l| l.to_lowercase())
            .collect::<Vec<_>>()
            .join(" ");
        let words: Vec<&str> = para.split_whitespace().collect();
        if w == "with" {
            return para.contains(" as (") || para.contains(" as(");
        }
        words.contains(&"from") || (words.len() <= 4 && !para.trim_end().ends_with('.'))
    })?;
    const CONTINUE: [&str; 22] = [
        "select",
        "from",
        "where",
        "group",
        "order",
        "limit",
        "having",
        "union",
        "intersect",
        "except",
        "join",
        "left",
        "right",
        "inner",
        "cross",
        "full",
        "and",
        "or",
        "on",
        "with",
        "offset",
        "window",
    ];
    let mut out = Vec::new();
    let mut i = start;
    while i < lines.len() {
        let l = lines[i];
        if l.trim().is_empty() {
            let next = lines[i + 1..].iter().find(|l| !l.trim().is_empty());
            match next {
                Some(n) => {
                    let t = n.trim_start();
                    if !(CONTINUE.contains(&first_word(t).as_str())
                        || t.starts_with(')')
                        || t.starts_with(',')
                        || t.starts_with("--"))
                    {
                        break;
                    }
                }
                None => break,
            }
        }
        if l.trim_end().ends_with(';') {
            out.push(l);
            break;
        }
        out.push(l);
        i += 1;
    }
    let sql = clean(&out.join("\n"));
    (!sql.is_empty()).then_some(sql)
}

/// Trims whitespace and trailing semicolons.
fn clean(s: &str) -> String {
    let mut s = s.trim();
    while let Some(rest) = s.strip_suffix(';') {
        s = rest.trim_end();
    }
    s.to_string()
}

fn refusal(text: &str) -> Option<String> {
    let upper = text.to_ascii_uppercase();
    let at = upper.find(REFUSAL_MARKER)?;
    let reason = text[at + REFUSAL_MARKER.len()..].trim();
    let reason = reason.lines().next().unwrap_or("").trim();
    Some(if reason.is_empty() {
        "the model says the question cannot be answered from these tables".into()
    } else {
        reason.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(text: &str) -> String {
        match extract_sql(text) {
            Extracted::Sql(s) => s,
            other => panic!("no SQL in {text:?}: {other:?}"),
        }
    }

    #[test]
    fn messy_outputs() {
        let cases: &[(&str, &str)] = &[
            ("```sql\nSELECT 1;\n```", "SELECT 1"),
            ("```SQL\nSELECT 1\n```", "SELECT 1"),
            ("```\nSELECT a FROM t\n```", "SELECT a FROM t"),
            (
                "Here is the query:\n\n```sql\nSELECT a\nFROM t\nWHERE b = 1;\n```\n\nIt counts rows.",
                "SELECT a\nFROM t\nWHERE b = 1",
            ),
            ("```sql SELECT 1 ```", "SELECT 1"),
            (
                "First try:\n```sql\nSELECT x FROM t\n```\nActually, better:\n```sql\nSELECT y FROM t\n```",
                "SELECT y FROM t",
            ),
            (
                "```python\nprint(1)\n```\n```sql\nSELECT 2\n```",
                "SELECT 2",
            ),
            (
                "```json\n{\"a\": 1}\n```\nSELECT a, b FROM t;",
                "SELECT a, b FROM t",
            ),
            ("<sql>\nSELECT 3\n</sql>", "SELECT 3"),
            (
                "SELECT a, count(*) FROM t GROUP BY a;\nThis query groups by a.",
                "SELECT a, count(*) FROM t GROUP BY a",
            ),
            (
                "Sure.\nSELECT *\nFROM t\n\nWHERE x = 1\n\nThe WHERE clause filters.",
                "SELECT *\nFROM t\n\nWHERE x = 1",
            ),
            (
                "WITH c AS (SELECT 1 AS x)\nSELECT x FROM c;;",
                "WITH c AS (SELECT 1 AS x)\nSELECT x FROM c",
            ),
            (
                "```sql\n-- top talkers\nSELECT ip FROM t\n```",
                "-- top talkers\nSELECT ip FROM t",
            ),
            (
                "```\n(SELECT 1) UNION ALL (SELECT 2)\n```",
                "(SELECT 1) UNION ALL (SELECT 2)",
            ),
            ("```sql\nSELECT 1\n", "SELECT 1"),
            ("~~~sql\nSELECT 4\n~~~", "SELECT 4"),
            ("  ```sql\n  SELECT 5\n  ```", "SELECT 5"),
        ];
        for (text, want) in cases {
            assert_eq!(sql(text), *want, "{text:?}");
        }
    }

    #[test]
    fn prose_only_and_refusals() {
        assert_eq!(
            extract_sql("CANNOT_ANSWER: the lake has no HR data."),
            Extracted::Refusal("the lake has no HR data.".into())
        );
        assert_eq!(
            extract_sql("I can't help.\ncannot_answer: weather is not in the logs"),
            Extracted::Refusal("weather is not in the logs".into())
        );
        assert_eq!(
            extract_sql("Select the top IPs by looking at the flows table and counting rows."),
            Extracted::Nothing
        );
        assert_eq!(extract_sql(""), Extracted::Nothing);
        assert_eq!(extract_sql("```\nnot sql at all\n```"), Extracted::Nothing);
    }

    #[test]
    fn sql_beats_a_refusal_marker_in_prose() {
        assert_eq!(
            sql("I would otherwise say CANNOT_ANSWER: but here:\n```sql\nSELECT 1\n```"),
            "SELECT 1"
        );
    }
}
