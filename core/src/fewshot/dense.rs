//! Dense and hybrid retrieval over the library, and the DAIL-style SQL-skeleton rerank of examples
//! (skeletons themselves are [`crate::sql::skeleton`]'s).
//!
//! [`DenseRetriever`] embeds every example's English and Korean questions (cached on disk by
//! [`EmbeddingCache`]) into a [`VectorIndex`] and ranks examples by their best cosine similarity to the
//! question. [`HybridRetriever`] fuses the dense and lexical rankings by reciprocal rank fusion (RRF, k = 60):
//! the lexical channel's Hangul bigrams carry Korean questions that an English embedding model cannot read,
//! and the dense channel carries English paraphrases that share few words with the example.

use std::sync::Arc;

use async_trait::async_trait;

use super::embed::{Embedder, EmbeddingCache};
use super::index::{VectorIndex, index_by_name};
use super::library::{LexicalRetriever, Library};
use super::{Example, FewShotRetriever, ScoredExample};
use crate::error::{Error, Result};

/// Ranks examples by cosine similarity of embeddings.
pub struct DenseRetriever {
    examples: Vec<Example>,
    embedder: Arc<dyn Embedder>,
    index: Box<dyn VectorIndex>,
    /// Which example each indexed vector belongs to.
    owner: Vec<usize>,
    /// The most vectors any one example has (its English and Korean questions).
    per_example: usize,
    /// Synonym groups: questions are embedded with their canonical words added (an English model then has
    /// "Lambda" to read in "람다 함수 오류").
    glossary: Arc<crate::schema::context::Glossary>,
}

impl std::fmt::Debug for DenseRetriever {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DenseRetriever")
            .field("examples", &self.examples.len())
            .field("embedder", &self.embedder.id())
            .field("index", &self.index.name())
            .finish()
    }
}

/// The texts indexed for an example: its question, and its Korean question when present.
fn texts_of(e: &Example) -> impl Iterator<Item = &str> {
    std::iter::once(e.question.as_str()).chain(e.question_ko.as_deref())
}

fn texts_per_example(examples: &[Example]) -> usize {
    examples
        .iter()
        .map(|e| texts_of(e).count())
        .max()
        .unwrap_or(1)
}

impl DenseRetriever {
    /// Embeds the examples (only those not already in the cache at `cache_dir`, which is then saved) into
    /// the index named `index` (`flat`, or `faiss…` with that feature).
    pub async fn build(
        examples: Vec<Example>,
        embedder: Arc<dyn Embedder>,
        index: &str,
        cache_dir: Option<&std::path::Path>,
    ) -> Result<Self> {
        let mut texts = Vec::new();
        let mut owner = Vec::new();
        for (i, e) in examples.iter().enumerate() {
            for t in texts_of(e) {
                texts.push(t.to_string());
                owner.push(i);
            }
        }
        let vectors = match cache_dir {
            Some(dir) => {
                let mut cache = EmbeddingCache::open(dir, embedder.id(), embedder.dim());
                let v = cache.embed_all(embedder.as_ref(), &texts).await?;
                // A cache that cannot be written (read-only home) costs start-up time, not correctness.
                if let Err(e) = cache.save() {
                    tracing::warn!("embedding cache not saved: {e}");
                }
                v
            }
            None => embedder.embed(&texts).await?,
        };
        let mut idx = index_by_name(index, embedder.dim())?;
        let flat: Vec<f32> = vectors.into_iter().flatten().collect();
        if !flat.is_empty() {
            idx.add(&flat)?;
        }
        Ok(DenseRetriever {
            per_example: texts_per_example(&examples),
            examples,
            embedder,
            index: idx,
            owner,
            glossary: crate::schema::context::Glossary::shared(),
        })
    }

    pub fn from_library(
        lib: &Library,
        embedder: Arc<dyn Embedder>,
        index: &str,
        cache_dir: Option<&std::path::Path>,
    ) -> impl Future<Output = Result<Self>> {
        let examples = lib.entries.iter().map(|e| e.example.clone()).collect();
        Self::build(examples, embedder, index, cache_dir)
    }

    pub fn index_name(&self) -> String {
        self.index.name()
    }

    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// The best `limit` examples as (example number, best cosine similarity), best first. An example has at
    /// most `per_example` vectors, so the best `limit` examples' best vectors are among the top
    /// `limit × per_example` vectors: only that many are searched (an approximate index over a large
    /// library is never asked for all of it).
    pub async fn scores(&self, question: &str, limit: usize) -> Result<Vec<(usize, f32)>> {
        if question.trim().is_empty() {
            return Ok(Vec::new());
        }
        // Only questions the model cannot fully read get the glossary's canonical words: an English question
        // already says what it means, and extra words only blur its embedding.
        let text = if self.embedder.reads(question) < 1.0 {
            self.glossary.expand(question)
        } else {
            question.to_string()
        };
        let q = self
            .embedder
            .embed(&[text])
            .await?
            .pop()
            .ok_or_else(|| Error::Embedding("no vector for the question".into()))?;
        let hits = self
            .index
            .search(&q, limit.saturating_mul(self.per_example))?;
        let mut best: Vec<Option<f32>> = vec![None; self.examples.len()];
        for (row, s) in hits {
            let e = self.owner[row];
            if best[e].is_none_or(|b| s > b) {
                best[e] = Some(s);
            }
        }
        let mut out: Vec<(usize, f32)> = best
            .into_iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, s?)))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(limit);
        Ok(out)
    }
}

#[async_trait]
impl FewShotRetriever for DenseRetriever {
    fn name(&self) -> &str {
        "dense"
    }

    /// None: cosine similarity is not the coverage score library answers are calibrated on.
    async fn library_candidates(&self, _question: &str, _k: usize) -> Result<Vec<ScoredExample>> {
        Ok(Vec::new())
    }

    async fn retrieve(&self, question: &str, k: usize) -> Result<Vec<ScoredExample>> {
        Ok(super::top_k(
            &self.examples,
            self.scores(question, k).await?,
            k,
        ))
    }
}

/// Reciprocal rank fusion's constant (Cormack et al. 2009).
pub const RRF_K: f32 = 60.0;

/// Dense and lexical rankings fused by weighted reciprocal rank fusion. Scores are normalized so that an
/// example ranked first by both channels scores 1.0.
#[derive(Debug)]
pub struct HybridRetriever {
    lexical: LexicalRetriever,
    dense: DenseRetriever,
    /// How far down each ranking counts.
    depth: usize,
    /// RRF weight of the lexical channel, and of the dense one on text the embedding model reads.
    lexical_weight: f32,
    dense_weight: f32,
}

impl HybridRetriever {
    /// Both channels must rank the same examples in the same order.
    pub fn new(lexical: LexicalRetriever, dense: DenseRetriever) -> Result<Self> {
        if lexical.examples().len() != dense.examples.len()
            || lexical
                .examples()
                .iter()
                .zip(&dense.examples)
                .any(|(a, b)| a.id != b.id)
        {
            return Err(Error::Internal(
                "hybrid retrieval over different example lists".into(),
            ));
        }
        let dense_weight = dense.embedder.hybrid_weight();
        Ok(HybridRetriever {
            lexical,
            dense,
            depth: 20,
            lexical_weight: 1.0,
            dense_weight,
        })
    }

    /// RRF weights of the lexical and dense channels (default 1 and the model's
    /// [`Embedder::hybrid_weight`]: 2 for MiniLM, chosen on `fewshot/eval/retrieval_dev.jsonl`, not on the test
    /// set `retrieval.jsonl`: on English paraphrases the dense channel is the stronger one). The dense weight is further scaled by how well the model reads
    /// the question ([`Embedder::reads`]): an English-only model gets no say on Hangul.
    pub fn with_weights(mut self, lexical: f32, dense: f32) -> Self {
        self.lexical_weight = lexical;
        self.dense_weight = dense;
        self
    }

    pub fn dense(&self) -> &DenseRetriever {
        &self.dense
    }

    pub async fn scores(&self, question: &str) -> Result<Vec<(usize, f32)>> {
        let lex = self.lexical.scores(question);
        let dense = self.dense.scores(question, self.depth).await?;
        // How much the model reads the question as asked: canonical words added by the glossary do not make
        // an English model understand the rest of a Korean sentence.
        let reads = self.dense.embedder.reads(question);
        Ok(rrf(
            &[
                (&lex, self.lexical_weight),
                (&dense, self.dense_weight * reads),
            ],
            self.depth,
        ))
    }
}

/// Fuses weighted rankings: each item scores Σ w/(k + rank) over the rankings that place it within `depth`,
/// divided by the most it could score (first in every ranking).
pub fn rrf(rankings: &[(&[(usize, f32)], f32)], depth: usize) -> Vec<(usize, f32)> {
    let mut score: std::collections::HashMap<usize, f32> = Default::default();
    for (ranking, w) in rankings {
        if *w <= 0.0 {
            continue;
        }
        for (rank, (i, _)) in ranking.iter().take(depth).enumerate() {
            *score.entry(*i).or_default() += w / (RRF_K + rank as f32 + 1.0);
        }
    }
    let max = rankings
        .iter()
        .map(|(_, w)| w.max(0.0))
        .sum::<f32>()
        .max(f32::EPSILON)
        / (RRF_K + 1.0);
    let mut out: Vec<(usize, f32)> = score.into_iter().map(|(i, s)| (i, s / max)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[async_trait]
impl FewShotRetriever for HybridRetriever {
    fn name(&self) -> &str {
        "hybrid"
    }

    async fn retrieve(&self, question: &str, k: usize) -> Result<Vec<ScoredExample>> {
        Ok(super::top_k(
            &self.dense.examples,
            self.scores(question).await?,
            k,
        ))
    }

    async fn library_candidates(&self, question: &str, k: usize) -> Result<Vec<ScoredExample>> {
        self.lexical.retrieve(question, k).await
    }
}

/// Reorders retrieved examples by a mix of their retrieval score (normalized to the best one) and the
/// similarity of their SQL skeleton to a draft query's: `(1 - weight) * question + weight * skeleton`.
pub fn rerank_by_skeleton(
    mut candidates: Vec<ScoredExample>,
    draft_sql: &str,
    weight: f32,
) -> Vec<ScoredExample> {
    use crate::sql::skeleton::{skeleton_similarity, sql_skeleton};
    let draft = sql_skeleton(draft_sql);
    let best = candidates
        .iter()
        .map(|c| c.score)
        .fold(f32::MIN, f32::max)
        .max(f32::EPSILON);
    for c in &mut candidates {
        let sk = skeleton_similarity(&draft, &sql_skeleton(&c.example.sql));
        c.score = (1.0 - weight) * (c.score / best) + weight * sk;
    }
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_prefers_agreement() {
        let a = [(1, 0.9), (2, 0.8), (3, 0.1)];
        let b = [(2, 0.7), (1, 0.6), (4, 0.5)];
        let fused = rrf(&[(&a, 1.0), (&b, 1.0)], 10);
        assert_eq!(fused.len(), 4);
        // 1 and 2 each rank first once and second once: tied, lower number first.
        assert_eq!(fused[0].0, 1);
        assert_eq!(fused[1].0, 2);
        assert!(fused[0].1 < 1.0 && fused[0].1 > 0.9);
        assert_eq!(rrf(&[(&a, 1.0), (&a, 1.0)], 10)[0].1, 1.0);
        // A zero-weight channel is ignored.
        assert_eq!(rrf(&[(&a, 1.0), (&b, 0.0)], 10)[0], (1, 1.0));
    }

    #[test]
    fn rerank_moves_the_matching_shape_up() {
        let ex = |id: &str, sql: &str, score: f32| ScoredExample {
            example: Example {
                id: id.into(),
                question: id.into(),
                question_ko: None,
                sql: sql.into(),
                tables: vec![],
                tags: vec![],
            },
            score,
        };
        let cands = vec![
            ex("a", "SELECT count(*) FROM t WHERE x = 'y'", 0.9),
            ex(
                "b",
                "SELECT ip, count(*) FROM t GROUP BY ip ORDER BY 2 DESC LIMIT 5",
                0.8,
            ),
        ];
        let r = rerank_by_skeleton(
            cands,
            "SELECT ip, count(*) FROM t GROUP BY ip ORDER BY 2 DESC LIMIT 10",
            0.5,
        );
        assert_eq!(r[0].example.id, "b");
    }
}
