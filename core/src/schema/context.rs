//! What a prompt says about the data: which tables a question needs, their columns with OCSF descriptions,
//! frequent values, sanitized sample rows, and the glossary (`fewshot/glossary.yaml`).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Deserialize;

use super::security_lake::{Source, SourceVersion};
use super::{Catalog, DataType, TableInfo, ocsf};
use crate::error::{Error, Result};

/// One glossary entry.
#[derive(Debug, Clone, Deserialize)]
pub struct Term {
    pub term: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub meaning: String,
    /// Sources the term is about; empty = every source.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// Synonyms and the keywords that select each source's table.
#[derive(Debug, Clone, Deserialize)]
pub struct Glossary {
    pub terms: Vec<Term>,
    pub sources: BTreeMap<String, Vec<String>>,
    /// Groups of words meaning the same thing, in English and Korean; the first of a group is what the
    /// library's questions say. Retrieval adds it to questions that use another member.
    #[serde(default)]
    pub synonyms: Vec<Vec<String>>,
}

impl Glossary {
    /// The shipped glossary, parsed once per process (retrievers share it).
    pub fn shared() -> std::sync::Arc<Glossary> {
        static G: std::sync::OnceLock<std::sync::Arc<Glossary>> = std::sync::OnceLock::new();
        G.get_or_init(|| std::sync::Arc::new(Self::builtin()))
            .clone()
    }

    /// The glossary shipped with asklake.
    pub fn builtin() -> Self {
        // Checked by a unit test; an empty glossary only weakens prompts.
        Self::from_yaml(include_str!("../../../fewshot/glossary.yaml")).unwrap_or(Glossary {
            terms: Vec::new(),
            sources: BTreeMap::new(),
            synonyms: Vec::new(),
        })
    }

    pub fn from_yaml(text: &str) -> Result<Self> {
        serde_yaml_ng::from_str(text).map_err(|e| Error::Config(format!("glossary: {e}")))
    }

    /// The question with the canonical words of every synonym group it uses another member of ("람다 함수
    /// 오류" → "람다 함수 오류 Lambda"): cross-lingual query expansion for retrieval. ASCII members match whole
    /// words (case-insensitive), Hangul ones as substrings (Korean attaches particles).
    pub fn expand(&self, question: &str) -> String {
        let lower = question.to_lowercase();
        let has = |phrase: &str| -> bool {
            let p = phrase.to_lowercase();
            if p.is_empty() {
                return false;
            }
            if !p.is_ascii() {
                return lower.contains(&p);
            }
            lower.match_indices(&p).any(|(i, _)| {
                let before = lower[..i].chars().next_back();
                let after = lower[i + p.len()..].chars().next();
                !before.is_some_and(|c| c.is_ascii_alphanumeric())
                    && !after.is_some_and(|c| c.is_ascii_alphanumeric())
            })
        };
        let mut out = question.to_string();
        for group in &self.synonyms {
            let Some(canonical) = group.first() else {
                continue;
            };
            if !has(canonical) && group[1..].iter().any(|m| has(m)) {
                out.push(' ');
                out.push_str(canonical);
            }
        }
        out
    }

    /// Terms relevant to the selected sources (or to all).
    pub fn terms_for(&self, sources: &[Source]) -> Vec<&Term> {
        self.terms
            .iter()
            .filter(|t| {
                t.sources.is_empty()
                    || t.sources
                        .iter()
                        .any(|s| sources.iter().any(|x| x.as_str() == s))
            })
            .collect()
    }
}

/// Whether `haystack` (lower-cased) contains `needle` as a word or phrase. Non-ASCII keywords (Korean)
/// match as substrings: Korean attaches particles to words (로그인을, 로그인한).
fn mentions(haystack: &str, needle: &str) -> bool {
    let needle = needle.to_lowercase();
    if !needle.is_ascii() {
        return haystack.contains(&needle);
    }
    let bytes = haystack.as_bytes();
    let mut from = 0;
    while let Some(i) = haystack[from..].find(&needle) {
        let start = from + i;
        let end = start + needle.len();
        let before = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        // Allow plurals and -ed/-ing endings after the keyword.
        let after = end >= bytes.len()
            || !bytes[end].is_ascii_alphanumeric()
            || haystack[end..].starts_with('s')
            || haystack[end..].starts_with("ed")
            || haystack[end..].starts_with("ing");
        if before && after {
            return true;
        }
        from = start + 1;
    }
    false
}

/// The tables a question needs: sources whose keywords (or glossary terms) it mentions, best first, at most
/// `max`; tables named by `extra` (e.g. from retrieved examples) are added. One table per source, the highest
/// source version present, unless the question asks for version 1 (`eventday`). Falls back to CloudTrail.
pub fn select_tables<'c>(
    catalog: &'c Catalog,
    glossary: &Glossary,
    question: &str,
    extra: &[String],
    max: usize,
) -> Vec<&'c TableInfo> {
    let q = question.to_lowercase();
    let mut scores: BTreeMap<Source, usize> = BTreeMap::new();
    for (source, words) in &glossary.sources {
        let Ok(s) = source.parse::<Source>() else {
            continue;
        };
        let n = words.iter().filter(|w| mentions(&q, w)).count();
        if n > 0 {
            *scores.entry(s).or_default() += n;
        }
    }
    for t in &glossary.terms {
        if std::iter::once(&t.term)
            .chain(&t.aliases)
            .any(|w| mentions(&q, w))
        {
            for s in t.sources.iter().filter_map(|s| s.parse::<Source>().ok()) {
                *scores.entry(s).or_default() += 1;
            }
        }
    }
    // Entities in the question point at the sources that record them: an address at network flows and
    // API callers, a domain name at DNS queries, a URL path (`/login`, `/.aws/credentials`) at web requests.
    for token in
        q.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '/' | '_')))
    {
        if is_url_path(token) {
            *scores.entry(Source::Waf).or_default() += 2;
            continue;
        }
        let token = token.trim_matches(|c: char| matches!(c, '.' | ':' | '-' | '/'));
        let address = token.split('/').next().unwrap_or(token);
        if token.contains(['.', ':']) && address.parse::<std::net::IpAddr>().is_ok() {
            *scores.entry(Source::VpcFlow).or_default() += 1;
            *scores.entry(Source::CloudTrailMgmt).or_default() += 1;
        } else if is_domain_name(token) {
            *scores.entry(Source::Route53).or_default() += 2;
        }
    }
    let want_v1 = q.contains("eventday") || q.contains("version 1") || q.contains("ocsf 1.0");
    let pick = |source: Source| -> Option<&'c TableInfo> {
        let mut candidates: Vec<&TableInfo> = catalog
            .tables
            .iter()
            .filter(|t| {
                t.security_lake
                    .as_ref()
                    .is_some_and(|sl| sl.source == source)
            })
            .collect();
        candidates.sort_by_key(|t| {
            let v = t.security_lake.as_ref().map(|sl| sl.version);
            let is_v1 = v == Some(SourceVersion::V1);
            (is_v1 != want_v1, std::cmp::Reverse(v))
        });
        candidates.first().copied()
    };
    let mut ranked: Vec<(Source, usize)> = scores.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out: Vec<&TableInfo> = Vec::new();
    let push = |t: &'c TableInfo, out: &mut Vec<&'c TableInfo>| {
        if !out.iter().any(|o| std::ptr::eq(*o, t)) {
            out.push(t);
        }
    };
    for (s, _) in ranked.iter().take(max) {
        if let Some(t) = pick(*s) {
            push(t, &mut out);
        }
    }
    for name in extra {
        if let Some(t) = catalog.find(name) {
            push(t, &mut out);
        }
    }
    // Tables named outright (custom sources too).
    for t in &catalog.tables {
        if q.contains(&t.name.to_lowercase()) {
            push(t, &mut out);
        }
    }
    if out.is_empty()
        && let Some(t) = pick(Source::CloudTrailMgmt).or_else(|| catalog.tables.first())
    {
        out.push(t);
    }
    out
}

/// A URL path as questions write one: `/` then a letter or a dot-file name (`/login`, `/.env`,
/// `/api/v1/orders`); not a CIDR suffix (`/24`) or a lone slash.
fn is_url_path(token: &str) -> bool {
    let Some(rest) = token.strip_prefix('/') else {
        return false;
    };
    let rest = rest.trim_start_matches('.');
    rest.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

/// A host name as questions write one (`update.x0r-cdn.top`, `s3.amazonaws.com`): two or more labels of
/// letters, digits and hyphens, ending in an alphabetic top-level label. Table names (with `_`) are not.
fn is_domain_name(token: &str) -> bool {
    let labels: Vec<&str> = token.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels.last().is_some_and(|t| {
            (2..=24).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphabetic())
        })
}

/// Frequent values of a low-cardinality column, most frequent first.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnValues {
    pub path: String,
    pub values: Vec<(String, u64)>,
    /// True when there were more distinct values than shown.
    pub more: bool,
}

/// Columns worth enumerating for a source (those present in the table are used).
pub fn enumerable_columns(source: Option<Source>) -> Vec<&'static str> {
    let mut v = vec!["class_name", "activity_name", "status", "severity"];
    v.extend_from_slice(match source {
        Some(Source::CloudTrailMgmt) => &[
            "api.service.name",
            "api.operation",
            "actor.user.type",
            "api.response.error",
            "cloud.region",
        ],
        Some(Source::LambdaExecution) | Some(Source::S3Data) => {
            &["api.operation", "actor.user.type"]
        }
        Some(Source::VpcFlow) => &[
            "action",
            "disposition",
            "connection_info.direction",
            "connection_info.protocol_name",
        ],
        Some(Source::Route53) => &["rcode", "query.type", "disposition"],
        Some(Source::ShFindings) => &["metadata.product.name", "compliance.status"],
        Some(Source::EksAudit) => &["api.operation", "actor.user.type"],
        Some(Source::Waf) => &["action", "disposition", "http_request.http_method"],
        None => &[],
    });
    v
}

/// Leaf column paths worth listing: everything but the raw `unmapped` map's internals and the bulky
/// enrichment/observable arrays, which analysts rarely query.
fn listed_paths(t: &TableInfo) -> Vec<(String, &DataType)> {
    t.column_paths()
        .into_iter()
        .filter(|(p, ty)| {
            let root = p.split('.').next().unwrap_or("");
            let nested_in_struct = matches!(ty, DataType::Struct { .. });
            !nested_in_struct
                && !matches!(root, "enrichments" | "observables")
                && !p.starts_with("metadata.extensions")
        })
        .collect()
}

/// A table's section of the prompt.
pub fn render_table(t: &TableInfo, values: &[ColumnValues], samples: &[String]) -> String {
    let mut s = String::new();
    let source = t.security_lake.as_ref().map(|sl| sl.source);
    let _ = writeln!(s, "### {}", t.qualified_name());
    if let Some(sl) = &t.security_lake {
        let _ = writeln!(
            s,
            "{} (OCSF {}, Security Lake source version {}; time filter column: {}).",
            sl.source.description(),
            sl.version.ocsf_version(),
            sl.version.number(),
            sl.version.time_column()
        );
    } else if let Some(d) = &t.description {
        let _ = writeln!(s, "{d}");
    }
    let _ = writeln!(s, "Columns (path type: meaning):");
    for (path, ty) in listed_paths(t) {
        let leaf_of_array = path.contains('.')
            && t.column_type(path.rsplit_once('.').map_or("", |p| p.0))
                .is_some_and(|p| matches!(p, DataType::Array { .. }));
        let note = if leaf_of_array {
            " (field of array elements)"
        } else {
            ""
        };
        match ocsf::describe(source, &path) {
            Some(d) => {
                let _ = writeln!(s, "- {path} {}{note}: {d}", ty.hive_name());
            }
            None => {
                let _ = writeln!(s, "- {path} {}{note}", ty.hive_name());
            }
        }
    }
    if !values.is_empty() {
        let _ = writeln!(
            s,
            "Values in the data (most frequent first; use them exactly, they are case-sensitive):"
        );
        let mut body = String::new();
        for v in values {
            let list: Vec<String> = v
                .values
                .iter()
                .map(|(x, _)| sql_literal(&sanitize_value(x, 60)))
                .collect();
            let _ = writeln!(
                body,
                "- {}: {}{}",
                v.path,
                list.join(", "),
                if v.more { ", …" } else { "" }
            );
        }
        let _ = writeln!(s, "{}", crate::untrusted::fence("frequent values", &body));
    }
    if !samples.is_empty() {
        let _ = writeln!(s, "Sample rows (JSON, nulls omitted, long values cut):");
        let _ = writeln!(
            s,
            "{}",
            crate::untrusted::fence("sample rows", &samples.join("\n"))
        );
    }
    s
}

/// Cuts a value to `max` characters and neutralizes it for a prompt ([`crate::untrusted::clean`]).
pub fn sanitize_value(v: &str, max: usize) -> String {
    crate::untrusted::clean(v, max)
}

/// A value as a SQL string literal (quotes doubled), as the model should write it.
fn sql_literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// A sample row as compact JSON: nulls and empty containers dropped, strings cleaned and cut, `unmapped`,
/// `raw_data`, messages and request/response bodies left out (bulky free text, attacker-controlled).
pub fn sanitize_row(row: &serde_json::Map<String, serde_json::Value>) -> String {
    fn clean(v: &serde_json::Value) -> Option<serde_json::Value> {
        use serde_json::Value;
        match v {
            Value::Null => None,
            Value::String(s) => Some(Value::String(sanitize_value(s, 80))),
            Value::Array(a) => {
                let items: Vec<Value> = a.iter().filter_map(clean).take(3).collect();
                (!items.is_empty()).then_some(Value::Array(items))
            }
            Value::Object(o) => {
                // `data` (api.request.data, api.response.data): free-text request bodies, bulky and
                // attacker-controlled; `message`: free text.
                let m: serde_json::Map<String, Value> = o
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "data" | "message" | "raw_data"))
                    .filter_map(|(k, v)| clean(v).map(|v| (k.clone(), v)))
                    .collect();
                (!m.is_empty()).then_some(Value::Object(m))
            }
            other => Some(other.clone()),
        }
    }
    let m: serde_json::Map<String, serde_json::Value> = row
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "unmapped" | "raw_data" | "message" | "enrichments" | "observables"
            )
        })
        .filter_map(|(k, v)| clean(v).map(|v| (k.clone(), v)))
        .collect();
    let mut s = serde_json::Value::Object(m).to_string();
    if s.len() > 1500 {
        let mut cut = 1500;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {

    #[test]
    fn url_paths_are_told_from_cidr_suffixes() {
        for p in [
            "/login",
            "/.env",
            "/.aws/credentials",
            "/api/v1/orders",
            "/wp-config.php",
        ] {
            assert!(super::is_url_path(p), "{p}");
        }
        for p in ["/24", "/", "10.0.0.0/8", "tcp/udp", "login", "/..", "/_"] {
            assert!(!super::is_url_path(p), "{p}");
        }
    }

    #[test]
    fn synonyms_expand_questions_across_languages() {
        let g = Glossary::builtin();
        assert!(g.synonyms.len() >= 20);
        // Hangul members match inside words (particles attach), and add the library's word once.
        assert_eq!(
            g.expand("람다 함수 실행 오류"),
            "람다 함수 실행 오류 Lambda errors invocations"
        );
        assert!(g.expand("웹 방화벽이 막은 IP").contains("WAF"));
        // ASCII members match whole words only: "tags" is not "tag" inside "stage", and "IP" not "zip".
        assert_eq!(g.expand("which stage zipped"), "which stage zipped");
        assert!(g.expand("logins without a second factor").ends_with("MFA"));
        // A question already using the canonical word is left alone.
        assert_eq!(g.expand("root usage"), "root usage");
    }

    use super::*;
    use crate::schema::security_lake::SecurityLakeTable;
    use crate::schema::security_lake_columns;

    fn catalog() -> Catalog {
        let mut tables = Vec::new();
        for (s, v) in [
            (Source::CloudTrailMgmt, SourceVersion::V2),
            (Source::CloudTrailMgmt, SourceVersion::V1),
            (Source::VpcFlow, SourceVersion::V2),
            (Source::Route53, SourceVersion::V2),
            (Source::ShFindings, SourceVersion::V2),
        ] {
            let sl = SecurityLakeTable::new(s, v, "us-east-1");
            let mut t = TableInfo::new(
                sl.database(),
                sl.table(),
                security_lake_columns(s, v).unwrap(),
            );
            t.security_lake = Some(sl);
            tables.push(t);
        }
        Catalog::new(tables)
    }

    fn picked(q: &str) -> Vec<String> {
        let c = catalog();
        select_tables(&c, &Glossary::builtin(), q, &[], 3)
            .iter()
            .map(|t| {
                t.name
                    .trim_start_matches("amazon_security_lake_table_us_east_1_")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn glossary_parses() {
        let g = Glossary::builtin();
        assert!(g.terms.len() >= 15);
        assert_eq!(g.sources.len(), 8);
        for s in g.sources.keys() {
            s.parse::<Source>().unwrap();
        }
    }

    #[test]
    fn tables_follow_the_question() {
        assert_eq!(
            picked("Which source IPs made the most API calls last week?"),
            ["cloud_trail_mgmt_2_0"]
        );
        assert_eq!(picked("top talkers by traffic yesterday"), ["vpc_flow_2_0"]);
        assert_eq!(
            picked("어제 로그인 시도는 몇 번이었나요?"),
            ["cloud_trail_mgmt_2_0"]
        );
        assert_eq!(
            picked("high severity GuardDuty findings"),
            ["sh_findings_2_0"]
        );
        assert_eq!(picked("hello"), ["cloud_trail_mgmt_2_0"]);
        assert_eq!(
            picked("console logins by eventday"),
            ["cloud_trail_mgmt_1_0"]
        );
        let both = picked("DNS queries to suspicious domains and the flows to those IPs");
        assert!(
            both.contains(&"route53_2_0".to_string()) && both.contains(&"vpc_flow_2_0".to_string()),
            "{both:?}"
        );
    }
}
