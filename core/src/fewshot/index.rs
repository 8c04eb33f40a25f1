//! Vector indexes for inner-product (cosine, on unit vectors) search.
//!
//! [`FlatIndex`] is exact and the default: a brute-force scan, split across threads for large indexes, is as
//! fast as FAISS's IndexFlatIP at library sizes (see `benches/retrieval.rs`). `FaissIndex` (feature `faiss`)
//! wraps any FAISS index factory string, e.g. `Flat` (exact) or `HNSW32,Flat` (approximate, for very large
//! libraries).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::error::{Error, Result};

/// Stores vectors of one dimension and finds the `k` with the largest inner product with a query.
pub trait VectorIndex: std::fmt::Debug + Send + Sync {
    /// `flat`, `faiss:Flat`, `faiss:HNSW32,Flat`, …
    fn name(&self) -> String;

    fn dim(&self) -> usize;

    /// Number of vectors; they are numbered from 0 in the order added.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends vectors given row-major (`vectors.len()` a multiple of `dim`).
    fn add(&mut self, vectors: &[f32]) -> Result<()>;

    /// Up to `k` (vector number, inner product), best first; ties by lower number.
    fn search(&self, query: &[f32], k: usize) -> Result<Vec<(usize, f32)>>;
}

fn check_dim(dim: usize, n: usize, what: &str) -> Result<()> {
    if dim == 0 || !n.is_multiple_of(dim) {
        return Err(Error::Embedding(format!(
            "{what} has {n} values, not a multiple of the index dimension {dim}"
        )));
    }
    Ok(())
}

fn check_query(dim: usize, query: &[f32]) -> Result<()> {
    if query.len() != dim {
        return Err(Error::Embedding(format!(
            "query has dimension {}, the index {dim}",
            query.len()
        )));
    }
    Ok(())
}

/// Exact inner-product search over all vectors.
#[derive(Debug, Clone)]
pub struct FlatIndex {
    dim: usize,
    data: Vec<f32>,
    threads: usize,
}

/// Below this many multiply-adds a scan runs on one thread (spawning costs more than it saves).
const PARALLEL_WORK: usize = 2_000_000;

impl FlatIndex {
    pub fn new(dim: usize) -> Self {
        FlatIndex {
            dim,
            data: Vec::new(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// Threads used for large scans (default: the machine's parallelism).
    pub fn with_threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    fn scan(&self, query: &[f32], k: usize, first: usize, rows: &[f32]) -> TopK {
        let mut top = TopK::new(k);
        for (i, row) in rows.chunks_exact(self.dim).enumerate() {
            top.push(first + i, dot(query, row));
        }
        top
    }
}

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent accumulators let the compiler vectorize without reassociation flags.
    let mut acc = [0f32; 8];
    let (ca, ra) = a.as_chunks::<8>();
    let (cb, rb) = b.as_chunks::<8>();
    for (x, y) in ca.iter().zip(cb) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

impl VectorIndex for FlatIndex {
    fn name(&self) -> String {
        "flat".into()
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn len(&self) -> usize {
        self.data.len() / self.dim.max(1)
    }

    fn add(&mut self, vectors: &[f32]) -> Result<()> {
        check_dim(self.dim, vectors.len(), "the added block")?;
        self.data.extend_from_slice(vectors);
        Ok(())
    }

    fn search(&self, query: &[f32], k: usize) -> Result<Vec<(usize, f32)>> {
        check_query(self.dim, query)?;
        let n = self.len();
        let k = k.min(n);
        if k == 0 {
            return Ok(Vec::new());
        }
        let threads = if n * self.dim < PARALLEL_WORK {
            1
        } else {
            self.threads
        };
        if threads <= 1 {
            return Ok(self.scan(query, k, 0, &self.data).into_sorted());
        }
        let per = n.div_ceil(threads);
        let parts: Vec<TopK> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .data
                .chunks(per * self.dim)
                .enumerate()
                .map(|(t, rows)| s.spawn(move || self.scan(query, k, t * per, rows)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .map_err(|_| Error::Internal("index scan thread panicked".into()))
                })
                .collect::<Result<Vec<TopK>>>()
        })?;
        let mut top = TopK::new(k);
        for p in parts {
            for (i, s) in p.heap.into_iter().map(|e| (e.idx, e.score)) {
                top.push(i, s);
            }
        }
        Ok(top.into_sorted())
    }
}

/// A min-heap of the best `k` (the worst kept on top, so it is the one replaced).
struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

#[derive(Debug, PartialEq)]
struct Entry {
    score: f32,
    idx: usize,
}

impl Eq for Entry {}

impl Ord for Entry {
    // "Greater" = worse: lower score, or equal score and higher index.
    fn cmp(&self, o: &Self) -> Ordering {
        o.score.total_cmp(&self.score).then(self.idx.cmp(&o.idx))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl TopK {
    fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    #[inline]
    fn push(&mut self, idx: usize, score: f32) {
        let e = Entry { score, idx };
        if self.heap.len() < self.k {
            self.heap.push(e);
        } else if let Some(worst) = self.heap.peek()
            && e < *worst
        {
            self.heap.pop();
            self.heap.push(e);
        }
    }

    fn into_sorted(self) -> Vec<(usize, f32)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|e| (e.idx, e.score))
            .collect()
    }
}

#[cfg(feature = "faiss")]
pub use faiss_index::FaissIndex;

#[cfg(feature = "faiss")]
mod faiss_index {
    use std::sync::Mutex;

    use faiss::index::IndexImpl;
    use faiss::{Index, MetricType};

    use super::{VectorIndex, check_dim, check_query};
    use crate::error::{Error, Result};

    /// A FAISS index made by `index_factory` with the inner-product metric.
    pub struct FaissIndex {
        description: String,
        dim: usize,
        // FAISS's search takes `&mut self` in the Rust bindings.
        index: Mutex<IndexImpl>,
    }

    impl std::fmt::Debug for FaissIndex {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "FaissIndex({}, dim {})", self.description, self.dim)
        }
    }

    impl FaissIndex {
        /// `description` is a FAISS factory string (`Flat`, `HNSW32,Flat`, `IVF1024,Flat`; IVF needs enough
        /// vectors in the first block to train on), optionally followed by `;name=value` search parameters
        /// (`HNSW32,Flat;efSearch=256`). HNSW indexes search with `efSearch=128` unless told otherwise
        /// (FAISS's default of 16 misses many neighbours).
        pub fn new(dim: usize, description: &str) -> Result<Self> {
            let mut parts = description.split(';');
            let factory = parts.next().unwrap_or("Flat").trim();
            let index = faiss::index_factory(dim as u32, factory, MetricType::InnerProduct)
                .map_err(|e| Error::Embedding(format!("FAISS index {factory:?}: {e}")))?;
            let mut params: Vec<(String, f64)> = Vec::new();
            if factory.contains("HNSW") {
                params.push(("efSearch".into(), 128.0));
            }
            for p in parts {
                let (name, value) = p
                    .split_once('=')
                    .and_then(|(n, v)| Some((n.trim().to_string(), v.trim().parse::<f64>().ok()?)))
                    .ok_or_else(|| {
                        Error::Config(format!("FAISS parameter {p:?} is not name=number"))
                    })?;
                params.retain(|(n, _)| *n != name);
                params.push((name, value));
            }
            let space = faiss::index::autotune::ParameterSpace::new()
                .map_err(|e| Error::Embedding(format!("FAISS parameters: {e}")))?;
            for (name, value) in params {
                space
                    .set_index_parameter(&index, &name, value)
                    .map_err(|e| Error::Embedding(format!("FAISS parameter {name}: {e}")))?;
            }
            Ok(FaissIndex {
                description: description.to_string(),
                dim,
                index: Mutex::new(index),
            })
        }
    }

    impl VectorIndex for FaissIndex {
        fn name(&self) -> String {
            format!("faiss:{}", self.description)
        }

        fn dim(&self) -> usize {
            self.dim
        }

        fn len(&self) -> usize {
            self.index.lock().map_or(0, |i| i.ntotal() as usize)
        }

        fn add(&mut self, vectors: &[f32]) -> Result<()> {
            check_dim(self.dim, vectors.len(), "the added block")?;
            let index = self
                .index
                .get_mut()
                .map_err(|_| Error::Internal("FAISS index poisoned".into()))?;
            if !index.is_trained() {
                index
                    .train(vectors)
                    .map_err(|e| Error::Embedding(format!("FAISS train: {e}")))?;
            }
            index
                .add(vectors)
                .map_err(|e| Error::Embedding(format!("FAISS add: {e}")))
        }

        fn search(&self, query: &[f32], k: usize) -> Result<Vec<(usize, f32)>> {
            check_query(self.dim, query)?;
            let mut index = self
                .index
                .lock()
                .map_err(|_| Error::Internal("FAISS index poisoned".into()))?;
            let k = k.min(index.ntotal() as usize);
            if k == 0 {
                return Ok(Vec::new());
            }
            let r = index
                .search(query, k)
                .map_err(|e| Error::Embedding(format!("FAISS search: {e}")))?;
            Ok(r.labels
                .into_iter()
                .zip(r.distances)
                .filter_map(|(l, d)| Some((l.get()? as usize, d)))
                .collect())
        }
    }
}

/// An index by name: `flat` (default), or with feature `faiss`, `faiss` / `faiss:<factory string>`.
pub fn index_by_name(name: &str, dim: usize) -> Result<Box<dyn VectorIndex>> {
    match name {
        "" | "flat" => Ok(Box::new(FlatIndex::new(dim))),
        #[cfg(feature = "faiss")]
        "faiss" => Ok(Box::new(FaissIndex::new(dim, "Flat")?)),
        #[cfg(feature = "faiss")]
        n if n.starts_with("faiss:") => Ok(Box::new(FaissIndex::new(dim, &n["faiss:".len()..])?)),
        n if n.starts_with("faiss") => Err(Error::Config(format!(
            "index {n:?} needs asklake built with the `faiss` feature"
        ))),
        n => Err(Error::Config(format!(
            "unknown index {n:?} (flat, faiss, faiss:<factory string>)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_unit(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut v: Vec<f32> = (0..n * dim).map(|_| rng.f32() * 2.0 - 1.0).collect();
        for row in v.chunks_exact_mut(dim) {
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            row.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }

    fn brute(data: &[f32], q: &[f32], dim: usize, k: usize) -> Vec<usize> {
        let mut s: Vec<(usize, f32)> = data
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, r)| (i, r.iter().zip(q).map(|(a, b)| a * b).sum()))
            .collect();
        s.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        s.into_iter().take(k).map(|x| x.0).collect()
    }

    #[test]
    fn flat_index_is_exact_single_and_multi_threaded() {
        let dim = 48;
        let data = random_unit(50_000, dim, 1);
        let queries = random_unit(5, dim, 2);
        let mut one = FlatIndex::new(dim).with_threads(1);
        one.add(&data).unwrap();
        let mut many = FlatIndex::new(dim).with_threads(3);
        many.add(&data[..dim * 20_000]).unwrap();
        many.add(&data[dim * 20_000..]).unwrap();
        assert_eq!(one.len(), 50_000);
        for q in queries.chunks_exact(dim) {
            let want = brute(&data, q, dim, 10);
            let a: Vec<usize> = one.search(q, 10).unwrap().iter().map(|x| x.0).collect();
            let b: Vec<usize> = many.search(q, 10).unwrap().iter().map(|x| x.0).collect();
            assert_eq!(a, want);
            assert_eq!(b, want);
        }
        let r = one.search(&queries[..dim], 3).unwrap();
        assert!(r[0].1 >= r[1].1 && r[1].1 >= r[2].1);
    }

    #[test]
    fn flat_index_edge_cases() {
        let mut idx = FlatIndex::new(4);
        assert!(idx.search(&[1.0, 0.0, 0.0, 0.0], 3).unwrap().is_empty());
        assert!(idx.add(&[1.0, 2.0, 3.0]).is_err());
        idx.add(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]).unwrap();
        // Ties keep the lower number first; k larger than the index is clamped.
        assert_eq!(
            idx.search(&[1.0, 0.0, 0.0, 0.0], 5).unwrap(),
            vec![(0, 1.0), (1, 1.0)]
        );
        assert!(idx.search(&[1.0], 1).is_err());
        assert!(index_by_name("annoy", 4).is_err());
    }

    #[cfg(feature = "faiss")]
    #[test]
    fn faiss_flat_matches_exact_and_hnsw_recalls() {
        let dim = 64;
        let data = random_unit(10_000, dim, 3);
        let queries = random_unit(20, dim, 4);
        let mut flat = FlatIndex::new(dim);
        flat.add(&data).unwrap();
        let mut ff = index_by_name("faiss", dim).unwrap();
        ff.add(&data).unwrap();
        let mut hnsw = index_by_name("faiss:HNSW32,Flat", dim).unwrap();
        hnsw.add(&data).unwrap();
        assert_eq!(ff.len(), 10_000);
        let (mut found, mut total) = (0, 0);
        for q in queries.chunks_exact(dim) {
            let exact: Vec<usize> = flat.search(q, 10).unwrap().iter().map(|x| x.0).collect();
            let f: Vec<usize> = ff.search(q, 10).unwrap().iter().map(|x| x.0).collect();
            assert_eq!(f[0], exact[0]);
            let overlap = f.iter().filter(|i| exact.contains(i)).count();
            assert!(
                overlap >= 9,
                "faiss flat top-10 differs: {f:?} vs {exact:?}"
            );
            let h: Vec<usize> = hnsw.search(q, 10).unwrap().iter().map(|x| x.0).collect();
            found += h.iter().filter(|i| exact.contains(i)).count();
            total += 10;
        }
        let recall = found as f64 / total as f64;
        assert!(recall >= 0.8, "HNSW recall@10 {recall}");
    }
}
