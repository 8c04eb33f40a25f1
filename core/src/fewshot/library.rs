//! The verified question → SQL library (`fewshot/library/*.jsonl`, one file per source family; compiled in,
//! or read from a folder) and a lexical retriever over it: BM25 over English words, SQL identifiers and
//! Hangul character bigrams (Korean attaches particles to words, so whole-word matching fails).

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Example, FewShotRetriever, ScoredExample};
use crate::error::{Error, Result};

/// A library entry as stored: an [`Example`] plus whether its SQL returns rows on the demo lake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LibraryEntry {
    #[serde(flatten)]
    pub example: Example,
    #[serde(default = "yes")]
    pub expect_rows: bool,
    /// `original` for the original system's questions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

fn yes() -> bool {
    true
}

const BUILTIN: [(&str, &str); 4] = [
    (
        "cloudtrail.jsonl",
        include_str!("../../../fewshot/library/cloudtrail.jsonl"),
    ),
    (
        "network.jsonl",
        include_str!("../../../fewshot/library/network.jsonl"),
    ),
    (
        "findings.jsonl",
        include_str!("../../../fewshot/library/findings.jsonl"),
    ),
    (
        "other_sources.jsonl",
        include_str!("../../../fewshot/library/other_sources.jsonl"),
    ),
];

/// The library: every entry, in file order.
#[derive(Debug, Clone, Default)]
pub struct Library {
    pub entries: Vec<LibraryEntry>,
}

impl Library {
    /// The library shipped with asklake.
    pub fn builtin() -> Result<Self> {
        let mut entries = Vec::new();
        for (name, text) in BUILTIN {
            entries.extend(parse(name, text)?);
        }
        Ok(Library { entries })
    }

    /// Every `*.jsonl` file of a folder, sorted by name.
    pub fn load(dir: &Path) -> Result<Self> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        let mut entries = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|e| Error::io(&f, e))?;
            entries.extend(parse(&f.display().to_string(), &text)?);
        }
        Ok(Library { entries })
    }

    /// The shipped library plus the entries of a folder (examples added with `asklake fewshot add`).
    pub fn builtin_with(dir: Option<&Path>) -> Result<Self> {
        let mut lib = Self::builtin()?;
        if let Some(d) = dir
            && d.exists()
        {
            lib.entries.extend(Self::load(d)?.entries);
        }
        Ok(lib)
    }

    pub fn get(&self, id: &str) -> Option<&LibraryEntry> {
        self.entries.iter().find(|e| e.example.id == id)
    }
}

fn parse(name: &str, text: &str) -> Result<Vec<LibraryEntry>> {
    let mut out: Vec<LibraryEntry> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: LibraryEntry = serde_json::from_str(line)
            .map_err(|e| Error::Config(format!("{name} line {}: {e}", i + 1)))?;
        if e.example.id.is_empty()
            || e.example.question.trim().is_empty()
            || e.example.sql.trim().is_empty()
        {
            return Err(Error::Config(format!(
                "{name} line {}: id, question and sql are required",
                i + 1
            )));
        }
        out.push(e);
    }
    Ok(out)
}

/// Lower-cased terms: ASCII words (SQL identifiers split on `.` and `_` too) and Hangul bigrams.
pub fn terms(text: &str) -> Vec<String> {
    const STOP: [&str; 24] = [
        "the", "a", "an", "of", "in", "on", "for", "to", "and", "or", "is", "are", "was", "were",
        "what", "which", "who", "show", "me", "list", "there", "any", "by", "with",
    ];
    let mut out = Vec::new();
    let mut word = String::new();
    let mut hangul: Vec<char> = Vec::new();
    let flush_word = |w: &mut String, out: &mut Vec<String>| {
        if !w.is_empty() {
            let lw = w.to_lowercase();
            if !STOP.contains(&lw.as_str()) {
                // Light stemming: logins → login, calls → call.
                let stem = lw
                    .strip_suffix('s')
                    .filter(|s| s.len() > 3)
                    .unwrap_or(&lw)
                    .to_string();
                out.push(stem);
            }
            w.clear();
        }
    };
    let flush_hangul = |h: &mut Vec<char>, out: &mut Vec<String>| {
        if h.len() == 1 {
            out.push(h[0].to_string());
        }
        for pair in h.windows(2) {
            out.push(pair.iter().collect());
        }
        h.clear();
    };
    for c in text.chars() {
        if ('\u{AC00}'..='\u{D7A3}').contains(&c) {
            flush_word(&mut word, &mut out);
            hangul.push(c);
        } else if c.is_ascii_alphanumeric() {
            flush_hangul(&mut hangul, &mut out);
            word.push(c);
        } else {
            flush_word(&mut word, &mut out);
            flush_hangul(&mut hangul, &mut out);
        }
    }
    flush_word(&mut word, &mut out);
    flush_hangul(&mut hangul, &mut out);
    out
}

/// BM25 over each example's English and Korean questions (the SQL's identifiers weigh less: they are shared).
#[derive(Debug, Clone)]
pub struct LexicalRetriever {
    examples: Vec<Example>,
    docs: Vec<HashMap<String, f32>>,
    /// Terms of each example's questions (English and Korean), for the coverage score.
    question_terms: Vec<std::collections::HashSet<String>>,
    lengths: Vec<f32>,
    avg_len: f32,
    idf: HashMap<String, f32>,
    /// Synonym groups for query expansion (`fewshot/glossary.yaml`).
    glossary: std::sync::Arc<crate::schema::context::Glossary>,
}

const K1: f32 = 1.2;
const B: f32 = 0.75;

impl LexicalRetriever {
    pub fn new(examples: Vec<Example>) -> Self {
        let mut docs = Vec::new();
        let mut lengths = Vec::new();
        let mut question_terms = Vec::new();
        for e in &examples {
            let mut tf: HashMap<String, f32> = HashMap::new();
            let mut len = 0.0;
            let text = format!(
                "{} {}",
                e.question,
                e.question_ko.clone().unwrap_or_default()
            );
            question_terms.push(terms(&text).into_iter().collect());
            for t in terms(&text) {
                *tf.entry(t).or_default() += 1.0;
                len += 1.0;
            }
            for t in terms(&e.sql) {
                *tf.entry(t).or_default() += 0.3;
                len += 0.3;
            }
            docs.push(tf);
            lengths.push(len);
        }
        let n = docs.len().max(1) as f32;
        let mut df: HashMap<String, f32> = HashMap::new();
        for d in &docs {
            for t in d.keys() {
                *df.entry(t.clone()).or_default() += 1.0;
            }
        }
        let idf = df
            .into_iter()
            .map(|(t, f)| (t, ((n - f + 0.5) / (f + 0.5) + 1.0).ln()))
            .collect();
        let avg_len = lengths.iter().sum::<f32>() / n;
        LexicalRetriever {
            examples,
            docs,
            question_terms,
            lengths,
            avg_len: avg_len.max(1.0),
            idf,
            glossary: crate::schema::context::Glossary::shared(),
        }
    }

    /// The glossary whose synonyms expand questions.
    pub fn glossary(&self) -> &std::sync::Arc<crate::schema::context::Glossary> {
        &self.glossary
    }

    /// The examples, in the order scores refer to.
    pub fn examples(&self) -> &[Example] {
        &self.examples
    }

    pub fn from_library(lib: &Library) -> Self {
        Self::new(lib.entries.iter().map(|e| e.example.clone()).collect())
    }

    /// Ranked by BM25 (questions, and SQL identifiers at lower weight). Each score in [0, 1] is the example's
    /// coverage of the question: the idf-weighted share of the question's terms found in the example's own
    /// questions (English or Korean). Words no example contains weigh the most.
    pub fn scores(&self, question: &str) -> Vec<(usize, f32)> {
        let mut q: Vec<String> = terms(question);
        q.sort();
        q.dedup();
        if q.is_empty() {
            return Vec::new();
        }
        // Ranking also counts the synonyms' canonical words; coverage stays on the question's own words (the
        // library-answer threshold was calibrated on them).
        let mut ranked: Vec<String> = terms(&self.glossary.expand(question));
        ranked.sort();
        ranked.dedup();
        let unseen = ((self.docs.len() as f32 + 0.5) / 0.5 + 1.0).ln();
        let idf = |t: &String| self.idf.get(t).copied().unwrap_or(unseen);
        let total: f32 = q.iter().map(idf).sum();
        let mut out: Vec<(usize, f32, f32)> = self
            .docs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let norm = K1 * (1.0 - B + B * self.lengths[i] / self.avg_len);
                let raw: f32 = ranked
                    .iter()
                    .filter_map(|t| {
                        let tf = *d.get(t)?;
                        Some(idf(t) * tf * (K1 + 1.0) / (tf + norm))
                    })
                    .sum();
                let covered: f32 = q
                    .iter()
                    .filter(|t| self.question_terms[i].contains(*t))
                    .map(idf)
                    .sum();
                (i, raw, covered / total)
            })
            .filter(|(_, raw, _)| *raw > 0.0)
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.into_iter().map(|(i, _, s)| (i, s)).collect()
    }
}

#[async_trait]
impl FewShotRetriever for LexicalRetriever {
    fn name(&self) -> &str {
        "lexical"
    }

    async fn retrieve(&self, question: &str, k: usize) -> Result<Vec<ScoredExample>> {
        Ok(super::top_k(&self.examples, self.scores(question), k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_library_is_well_formed() {
        let lib = Library::builtin().unwrap();
        assert!(lib.entries.len() >= 80);
        let mut ids: Vec<&str> = lib.entries.iter().map(|e| e.example.id.as_str()).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate ids");
        assert!(lib.entries.iter().all(|e| e.example.question_ko.is_some()));
        assert_eq!(
            lib.entries
                .iter()
                .filter(|e| e.origin.as_deref() == Some("original"))
                .count(),
            22
        );
    }

    #[test]
    fn hangul_bigrams_survive_particles() {
        let a = terms("로그인 시도는");
        let b = terms("로그인을 시도한");
        assert!(a.contains(&"로그".to_string()) && b.contains(&"로그".to_string()));
        assert!(terms("Which logins failed?").contains(&"login".to_string()));
    }

    #[test]
    fn paraphrases_find_their_example() {
        let r = LexicalRetriever::from_library(&Library::builtin().unwrap());
        let top = |q: &str| r.examples[r.scores(q)[0].0].id.clone();
        assert_eq!(top("When was the KMS CMK rotated?"), "ct-cmk-rotation");
        assert_eq!(top("root account usage logs"), "ct-root-usage");
        assert_eq!(top("어제 로그인 시도 횟수"), "ct-login-attempts-yesterday");
        assert_eq!(top("루트 계정을 사용한 기록"), "ct-root-usage");
        assert_eq!(
            top("possible port scan: IPs hitting many ports"),
            "flow-port-scan"
        );
        assert!(r.scores("zzzz qqqq").is_empty());
    }
}

/// One retrieval test case: a paraphrase and the example it should find.
#[derive(Debug, Clone, Deserialize)]
pub struct RetrievalCase {
    pub lang: String,
    pub question: String,
    pub expected: String,
}

/// Recall@1, recall@3 and MRR (over the top 10) for one language.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RetrievalScores {
    pub lang: String,
    pub n: usize,
    pub recall_at_1: f64,
    pub recall_at_3: f64,
    pub mrr: f64,
}

/// The retrieval set shipped with asklake (`fewshot/eval/retrieval.jsonl`).
pub fn builtin_retrieval_cases() -> Result<Vec<RetrievalCase>> {
    parse_cases(include_str!("../../../fewshot/eval/retrieval.jsonl"))
}

pub fn parse_cases(text: &str) -> Result<Vec<RetrievalCase>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::Config(format!("retrieval set line {}: {e}", i + 1)))
        })
        .collect()
}

/// Scores a retriever on cases, per language.
pub async fn evaluate(
    retriever: &dyn FewShotRetriever,
    cases: &[RetrievalCase],
) -> Result<Vec<RetrievalScores>> {
    let mut by_lang: std::collections::BTreeMap<String, (usize, f64, f64, f64)> =
        Default::default();
    for c in cases {
        let hits = retriever.retrieve(&c.question, 10).await?;
        let rank = hits.iter().position(|h| h.example.id == c.expected);
        let e = by_lang.entry(c.lang.clone()).or_default();
        e.0 += 1;
        if rank == Some(0) {
            e.1 += 1.0;
        }
        if rank.is_some_and(|r| r < 3) {
            e.2 += 1.0;
        }
        if let Some(r) = rank {
            e.3 += 1.0 / (r as f64 + 1.0);
        }
    }
    Ok(by_lang
        .into_iter()
        .map(|(lang, (n, r1, r3, mrr))| RetrievalScores {
            lang,
            n,
            recall_at_1: r1 / n as f64,
            recall_at_3: r3 / n as f64,
            mrr: mrr / n as f64,
        })
        .collect())
}

/// Longest question a library example may have, in characters (the pipeline's limit).
const MAX_QUESTION_CHARS: usize = 2000;

/// Checks an id before anything is written: the loader must be able to read the entry back.
fn check_id(id: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
    if id.is_empty() || id.len() > 80 || !id.chars().all(ok_char) {
        return Err(Error::Config(format!(
            "example id {id:?}: use 1 to 80 characters of a-z, 0-9, '-', '_' or '.'"
        )));
    }
    Ok(())
}

/// Appends a verified entry to `file`: under an advisory lock on the folder's library (parallel writers take
/// turns, none loses an entry), checking the id is unique, and rewriting the file atomically. The caller
/// verifies the SQL first.
pub fn append_entry(dir: &Path, file: &str, entry: &LibraryEntry) -> Result<()> {
    check_id(&entry.example.id)?;
    let path = dir.join(file);
    crate::io::with_lock(&dir.join(".library.lock"), || {
        let existing = Library::load(dir)?;
        if existing.get(&entry.example.id).is_some()
            || Library::builtin()?.get(&entry.example.id).is_some()
        {
            return Err(Error::Config(format!(
                "an example with id {:?} already exists",
                entry.example.id
            )));
        }
        let mut text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&serde_json::to_string(entry).map_err(|e| Error::Internal(e.to_string()))?);
        text.push('\n');
        crate::io::write_atomic(&path, text.as_bytes())
    })
}

/// A question and its SQL to add to the library.
#[derive(Debug, Clone, Default)]
pub struct NewExample {
    pub question: String,
    pub question_ko: Option<String>,
    pub sql: String,
    /// Default: `user-` and the question's first words.
    pub id: Option<String>,
    pub tags: Vec<String>,
    /// `user` for `fewshot add`, `ask` for a promoted answer.
    pub origin: String,
}

/// Verifies `new` (its SQL passes the guard and runs on `engine`), then appends it atomically to
/// `dir/custom.jsonl`. Returns the entry as stored and the number of rows the SQL returned.
pub async fn add_verified(
    engine: &dyn crate::engine::QueryEngine,
    dir: &Path,
    new: NewExample,
) -> Result<(LibraryEntry, usize)> {
    if new.question.trim().is_empty() {
        return Err(Error::Config("the question is empty".into()));
    }
    if new.question.chars().count() > MAX_QUESTION_CHARS {
        return Err(Error::Config(format!(
            "the question is longer than {MAX_QUESTION_CHARS} characters"
        )));
    }
    if let Some(id) = &new.id {
        check_id(id)?;
    }
    let (guarded, result) =
        crate::sql::run_guarded(engine, &new.sql, &crate::engine::QueryOptions::default()).await?;
    let id = new.id.unwrap_or_else(|| {
        let slug: String = new
            .question
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let slug: Vec<&str> = slug.split('-').filter(|s| !s.is_empty()).take(6).collect();
        if slug.is_empty() {
            // A question without Latin letters or digits (Korean): a stable id from its text.
            let h = crate::fewshot::embed::hash_parts(&[new.question.trim().as_bytes()]);
            format!("user-{:012x}", h & 0xffff_ffff_ffff)
        } else {
            format!("user-{}", slug.join("-"))
        }
    });
    let entry = LibraryEntry {
        example: Example {
            id,
            question: new.question.trim().to_string(),
            question_ko: new.question_ko,
            sql: new.sql.trim().trim_end_matches(';').to_string(),
            tables: guarded.tables.clone(),
            tags: new.tags,
        },
        expect_rows: result.row_count > 0,
        origin: Some(new.origin),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    append_entry(dir, "custom.jsonl", &entry)?;
    Ok((entry, result.row_count))
}

#[cfg(test)]
mod eval_tests {
    use super::*;

    /// Library answers need a score where wrong matches never reach: every paraphrase whose top hit is wrong
    /// scores below the pipeline's threshold, while the library's own questions (English and Korean) reach it.
    #[test]
    fn library_answer_threshold_separates_exact_from_wrong() {
        let threshold = crate::pipeline::Options::default().library_threshold;
        let lib = Library::builtin().unwrap();
        let r = LexicalRetriever::from_library(&lib);
        let pick = |q: &str| {
            let hits: Vec<ScoredExample> = r
                .scores(q)
                .into_iter()
                .take(2)
                .map(|(i, score)| ScoredExample {
                    example: r.examples[i].clone(),
                    score,
                })
                .collect();
            crate::pipeline::library_pick(&hits, threshold).map(|h| h.example.id.clone())
        };
        for c in builtin_retrieval_cases().unwrap() {
            if let Some(id) = pick(&c.question) {
                assert_eq!(
                    id, c.expected,
                    "{:?} would be answered from the wrong example",
                    c.question
                );
            }
        }
        let mut answered = 0;
        let mut asked = 0;
        for e in &lib.entries {
            for q in [Some(&e.example.question), e.example.question_ko.as_ref()]
                .into_iter()
                .flatten()
            {
                asked += 1;
                match pick(q) {
                    Some(id) => {
                        assert_eq!(id, e.example.id, "{q:?}");
                        answered += 1;
                    }
                    None => eprintln!("not answered from the library: {q}"),
                }
            }
        }
        eprintln!("library questions answered from the library: {answered}/{asked}");
        assert!(answered * 10 >= asked * 9, "{answered}/{asked}");
        for q in ["what is the capital of France?", "show me the weather"] {
            assert!(pick(q).is_none(), "{q}");
        }
    }

    #[tokio::test]
    async fn lexical_retrieval_meets_its_measured_floor() {
        let r = LexicalRetriever::from_library(&Library::builtin().unwrap());
        let cases = builtin_retrieval_cases().unwrap();
        let lib = Library::builtin().unwrap();
        for c in &cases {
            assert!(
                lib.get(&c.expected).is_some(),
                "{} is not in the library",
                c.expected
            );
        }
        let scores = evaluate(&r, &cases).await.unwrap();
        for s in &scores {
            eprintln!("{s:?}");
        }
        let en = scores.iter().find(|s| s.lang == "en").unwrap();
        let ko = scores.iter().find(|s| s.lang == "ko").unwrap();
        assert!(en.recall_at_3 >= 0.8, "{en:?}");
        assert!(ko.recall_at_3 >= 0.7, "{ko:?}");
    }

    #[test]
    fn appends_atomically_and_refuses_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Library::builtin().unwrap().entries[0].clone();
        assert!(
            append_entry(dir.path(), "custom.jsonl", &e).is_err(),
            "duplicate of a builtin id"
        );
        e.example.id = "custom-1".into();
        append_entry(dir.path(), "custom.jsonl", &e).unwrap();
        e.example.id = "custom-2".into();
        append_entry(dir.path(), "custom.jsonl", &e).unwrap();
        let lib = Library::load(dir.path()).unwrap();
        assert_eq!(lib.entries.len(), 2);
        assert!(append_entry(dir.path(), "custom.jsonl", &e).is_err());
    }
}
