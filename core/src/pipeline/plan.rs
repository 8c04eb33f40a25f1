//! One question from its prompt to its outcome, as a state machine that does no I/O: an optional draft whose
//! SQL reranks the few-shot examples (DAIL-SQL), then one or more generate → repair loops ([`Machine`]; more
//! than one is self-consistency), then the vote between them. The driver performs each [`PlanStep`] and hands
//! back what it got.

use std::sync::Arc;
use std::time::Duration;

use super::Options;
use super::machine::{Attempt, Limits, Machine, Outcome, Step, TraceStep};
use crate::engine::QueryResult;
use crate::error::Error;
use crate::fewshot::ScoredExample;
use crate::llm::{ChatRequest, ChatResponse, Usage};
use crate::schema::Catalog;
use crate::sql::extract::{Extracted, extract_sql};

/// A prompt ready for the loops: the system prompt with its example and history turns, the tables it
/// describes, the examples it shows and the rerank candidates.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub base: ChatRequest,
    pub tables: Vec<String>,
    pub examples: Vec<ScoredExample>,
    /// Rerank candidates (more than `examples` when reranking).
    pub pool: Vec<ScoredExample>,
}

/// The next thing the driver must do for the question.
#[derive(Debug)]
pub enum PlanStep {
    /// Ask the model for a draft (the first loop's first request); hand the response to [`Plan::on_draft`].
    Draft(ChatRequest),
    /// The rerank changed the examples: build the prompt again with these and hand it to
    /// [`Plan::on_reprompted`].
    Reprompt(Vec<ScoredExample>),
    /// Drive each loop from the step given to [`Step::Finish`] (they are independent: run them concurrently)
    /// and hand them back, in order, to [`Plan::on_loops`].
    Loops(Vec<(Machine, Step)>),
    /// Done: [`Plan::finish`] has the outcome.
    Finish,
}

/// What the question came to: the chosen loop's outcome, every attempt (the chosen loop's first), the whole
/// trace and what it cost.
#[derive(Debug)]
pub struct Finished {
    pub outcome: Outcome,
    pub attempts: Vec<Attempt>,
    pub trace: Vec<TraceStep>,
    pub usage: Usage,
    pub llm_time: Duration,
    pub engine_time: Duration,
    pub tables: Vec<String>,
    pub examples: Vec<ScoredExample>,
    /// Characters of the final system prompt.
    pub prompt_chars: usize,
}

/// The question's state.
pub struct Plan {
    catalog: Arc<Catalog>,
    limits: Limits,
    question: String,
    rerank: bool,
    examples: usize,
    samples: usize,
    temperature: f32,
    sample_temperature: f32,
    prepared: Prepared,
    /// The first loop, started for the draft, while its response is awaited.
    draft: Option<Machine>,
    /// Work done before the loops (a draft that was not kept), counted in the answer.
    usage: Usage,
    llm_time: Duration,
    trace: Vec<TraceStep>,
    finished: Option<Finished>,
}

impl Plan {
    pub fn new(
        catalog: Arc<Catalog>,
        limits: Limits,
        options: &Options,
        question: &str,
        prepared: Prepared,
    ) -> Self {
        Plan {
            catalog,
            limits,
            question: question.to_string(),
            rerank: options.rerank,
            examples: options.examples,
            samples: options.self_consistency.max(1),
            temperature: options.temperature,
            sample_temperature: options.sample_temperature,
            prepared,
            draft: None,
            usage: Usage::default(),
            llm_time: Duration::ZERO,
            trace: Vec::new(),
            finished: None,
        }
    }

    /// The first step: a draft when reranking has candidates to reorder, else the loops.
    pub fn start(&mut self) -> PlanStep {
        if self.rerank && self.prepared.pool.len() > self.prepared.examples.len() {
            let mut m = self.new_loop(0);
            if let Step::Generate(req) = m.start() {
                self.draft = Some(m);
                return PlanStep::Draft(req);
            }
        }
        self.loops(None)
    }

    /// Loop `i`: the first at the configured temperature, the others sampled.
    fn new_loop(&self, i: usize) -> Machine {
        let mut base = self.prepared.base.clone();
        if i > 0 {
            base.temperature = Some(self.sample_temperature);
            base.sample = i as u32;
        }
        let mut m = Machine::new(
            self.catalog.clone(),
            self.limits.clone(),
            base,
            &self.question,
        )
        .with_shown_tables(self.prepared.tables.clone());
        if self.samples > 1 {
            m.trace.push(TraceStep::Sample {
                sample: i,
                temperature: if i == 0 {
                    self.temperature
                } else {
                    self.sample_temperature
                },
            });
        }
        m
    }

    fn loops(&mut self, first: Option<(Machine, Step)>) -> PlanStep {
        let mut first = first;
        let loops = (0..self.samples)
            .map(|i| match (i, first.take()) {
                (0, Some(started)) => started,
                _ => {
                    let mut m = self.new_loop(i);
                    let step = m.start();
                    (m, step)
                }
            })
            .collect();
        PlanStep::Loops(loops)
    }

    /// The draft's response. Its SQL's skeleton reorders the candidates; when the examples shown stay the
    /// same (or there is no SQL to rerank by), the response is the first loop's first attempt, otherwise the
    /// prompt is built again and the draft only counts as cost.
    pub fn on_draft(
        &mut self,
        response: Result<ChatResponse, Error>,
        latency: Duration,
    ) -> PlanStep {
        let Some(mut m) = self.draft.take() else {
            return self.loops(None);
        };
        let draft = match &response {
            Ok(r) => match extract_sql(&r.text) {
                Extracted::Sql(s) => Some(s),
                _ => None,
            },
            Err(_) => None,
        };
        if let Some(draft) = draft {
            let reranked: Vec<ScoredExample> =
                crate::fewshot::dense::rerank_by_skeleton(self.prepared.pool.clone(), &draft, 0.5)
                    .into_iter()
                    .take(self.examples)
                    .collect();
            let ids = |v: &[ScoredExample]| -> Vec<String> {
                v.iter().map(|e| e.example.id.clone()).collect()
            };
            let (before, after) = (ids(&self.prepared.examples), ids(&reranked));
            let changed = before != after;
            self.trace.push(TraceStep::Rerank {
                draft,
                before,
                after,
            });
            if changed {
                if let Ok(r) = &response {
                    self.usage += r.usage;
                }
                self.llm_time += latency;
                return PlanStep::Reprompt(reranked);
            }
        }
        let step = m.on_response(response, latency);
        self.loops(Some((m, step)))
    }

    /// The prompt rebuilt with the reranked examples (the candidates are kept).
    pub fn on_reprompted(&mut self, mut prepared: Prepared) -> PlanStep {
        if prepared.pool.is_empty() {
            prepared.pool = std::mem::take(&mut self.prepared.pool);
        }
        self.prepared = prepared;
        self.loops(None)
    }

    /// The loops, finished, in the order [`PlanStep::Loops`] gave them. With more than one, the vote picks
    /// the answer.
    pub fn on_loops(&mut self, runs: Vec<Machine>) -> PlanStep {
        let (chosen, vote) = vote(&runs);
        let mut f = Finished {
            outcome: Outcome::Failed(Error::Internal(
                "the pipeline stopped without an outcome".into(),
            )),
            attempts: Vec::new(),
            trace: std::mem::take(&mut self.trace),
            usage: self.usage,
            llm_time: self.llm_time,
            engine_time: Duration::ZERO,
            tables: self.prepared.tables.clone(),
            examples: self.prepared.examples.clone(),
            prompt_chars: self.prepared.base.system.chars().count(),
        };
        for (i, mut m) in runs.into_iter().enumerate() {
            f.usage += m.usage;
            f.llm_time += m.llm_time;
            f.engine_time += m.engine_time;
            f.trace.append(&mut m.trace);
            if i == chosen {
                // The chosen loop's attempts come first: they are how the answer was reached.
                let mut mine = std::mem::take(&mut m.attempts);
                mine.append(&mut f.attempts);
                f.attempts = mine;
                if let Some(o) = m.take_outcome() {
                    f.outcome = o;
                }
            } else {
                f.attempts.append(&mut m.attempts);
            }
        }
        if let Some(v) = vote {
            f.trace.push(v);
        }
        self.finished = Some(f);
        PlanStep::Finish
    }

    /// The outcome once [`PlanStep::Finish`] was returned.
    pub fn finish(&mut self) -> Option<Finished> {
        self.finished.take()
    }
}

/// Self-consistency's vote over finished loops: the sample whose result most samples share (compared as
/// execution accuracy compares, strictly), ties to the earliest; with one sample, that one. Samples without
/// a result vote for nothing; if none has one, the first sample's outcome stands.
fn vote(runs: &[Machine]) -> (usize, Option<TraceStep>) {
    if runs.len() < 2 {
        return (0, None);
    }
    let results: Vec<Option<&QueryResult>> = runs.iter().map(|m| m.answered()).collect();
    // groups[g] = (representative sample, size)
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let Some(r) = r else { continue };
        match groups.iter_mut().find(|(rep, _)| {
            results[*rep].is_some_and(|g| crate::engine::compare::compare(g, r, false).strict)
        }) {
            Some(g) => g.1 += 1,
            None => groups.push((i, 1)),
        }
    }
    // max_by_key keeps the last maximum; iterate in reverse so ties go to the earliest sample.
    let chosen = groups
        .iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .map_or(0, |(rep, _)| *rep);
    (
        chosen,
        Some(TraceStep::Vote {
            samples: runs.len(),
            groups: groups.iter().map(|(_, n)| *n).collect(),
            chosen,
        }),
    )
}
#[cfg(test)]
mod tests {
    //! The question's plan as tables: rerank drafts that keep or change the examples, and self-consistency
    //! votes. The loops are driven by scripted responses and engine results; no servers, no engine.

    use super::*;
    use crate::fewshot::Example;
    use crate::pipeline::machine::tests::{CT, catalog, rows};
    use crate::sql::guard::GuardConfig;

    fn example(id: &str, score: f32, sql: &str) -> ScoredExample {
        ScoredExample {
            example: Example {
                id: id.into(),
                question: format!("question {id}"),
                question_ko: None,
                sql: sql.into(),
                tables: vec![],
                tags: vec![],
            },
            score,
        }
    }

    fn count_sql() -> String {
        format!("SELECT count(*) AS n FROM {CT}")
    }
    fn top_sql() -> String {
        format!(
            "SELECT src_endpoint.ip, count(*) AS n FROM {CT} GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
        )
    }
    fn says(text: &str, output_tokens: u64) -> Result<ChatResponse, Error> {
        Ok(ChatResponse {
            text: text.into(),
            usage: Usage {
                output_tokens,
                ..Default::default()
            },
            stop_reason: None,
        })
    }
    fn block(sql: &str) -> String {
        format!("```sql\n{sql}\n```")
    }

    /// A plan over a pool of three examples (the first shown) with `rerank` and `samples`.
    fn plan(rerank: bool, samples: usize) -> Plan {
        let pool = vec![
            example("count", 1.0, &count_sql()),
            example("top", 0.95, &top_sql()),
            example("weak", 0.5, &count_sql()),
        ];
        let options = Options {
            rerank,
            examples: 1,
            self_consistency: samples,
            ..Options::default()
        };
        let prepared = Prepared {
            base: ChatRequest::new("system", vec![]),
            tables: vec![CT.into()],
            examples: pool[..1].to_vec(),
            pool,
        };
        let limits = Limits {
            max_attempts: 3,
            empty_result: Default::default(),
            guard: GuardConfig::default(),
        };
        Plan::new(catalog(), limits, &options, "question?", prepared)
    }

    /// Drives one loop from `step`: each Generate gets the next of `texts`, each Execute `n` rows.
    fn drive(mut m: Machine, mut step: Step, texts: &[String], n: usize) -> Machine {
        let mut texts = texts.iter();
        for _ in 0..10 {
            step = match step {
                Step::Generate(_) => {
                    let t = texts.next().expect("the loop wants another response");
                    m.on_response(says(t, 1), Duration::from_millis(1))
                }
                Step::Execute(_) => m.on_executed(Ok(rows(n)), Duration::from_millis(1)),
                Step::Finish => return m,
            };
        }
        panic!("the loop did not finish");
    }

    fn kind(s: &Step) -> char {
        match s {
            Step::Generate(_) => 'G',
            Step::Execute(_) => 'E',
            Step::Finish => 'F',
        }
    }

    #[test]
    fn rerank_as_a_table() {
        // (name, draft response, what the plan asks next, the loop's first step, examples after)
        type Case = (&'static str, String, &'static str, char, Vec<&'static str>);
        let cases: Vec<Case> = vec![
            (
                "a draft like the shown example keeps it and becomes the first attempt",
                block(&count_sql()),
                "loops",
                'E',
                vec!["count"],
            ),
            (
                "a draft like another candidate reprompts with that one",
                block(&top_sql()),
                "reprompt",
                'G',
                vec!["top"],
            ),
            (
                "a draft without SQL is the first (failed) attempt",
                "I am not sure.".into(),
                "loops",
                'G',
                vec!["count"],
            ),
        ];
        for (name, draft, next, first, after) in cases {
            let mut p = plan(true, 1);
            assert!(matches!(p.start(), PlanStep::Draft(_)), "{name}");
            let mut step = p.on_draft(says(&draft, 7), Duration::from_millis(5));
            let asked = match &step {
                PlanStep::Reprompt(ex) => {
                    let ids: Vec<&str> = ex.iter().map(|e| e.example.id.as_str()).collect();
                    assert_eq!(ids, after, "{name}");
                    let mut prepared = p.prepared.clone();
                    prepared.examples = ex.clone();
                    prepared.pool = Vec::new();
                    step = p.on_reprompted(prepared);
                    "reprompt"
                }
                PlanStep::Loops(_) => "loops",
                other => panic!("{name}: unexpected {other:?}"),
            };
            assert_eq!(asked, next, "{name}");
            let PlanStep::Loops(mut loops) = step else {
                panic!("{name}: no loops");
            };
            assert_eq!(loops.len(), 1, "{name}");
            let (m, s) = loops.remove(0);
            assert_eq!(kind(&s), first, "{name}");
            let m = drive(m, s, &[block(&count_sql()), block(&count_sql())], 3);
            assert!(matches!(p.on_loops(vec![m]), PlanStep::Finish), "{name}");
            let f = p.finish().unwrap();
            assert!(matches!(f.outcome, Outcome::Answered { .. }), "{name}");
            let ids: Vec<&str> = f.examples.iter().map(|e| e.example.id.as_str()).collect();
            assert_eq!(ids, after, "{name}");
            // A rerank step when the draft had SQL to rerank by. The draft is paid for whether or not it is kept: when kept it is the first
            // attempt (7 tokens), otherwise it comes on top of the attempts (1 token each).
            assert_eq!(
                f.trace
                    .iter()
                    .filter(|t| matches!(t, TraceStep::Rerank { .. }))
                    .count(),
                usize::from(draft.starts_with("```sql")),
                "{name}"
            );
            let kept = next == "loops";
            assert_eq!(
                f.usage.output_tokens,
                7 + f.attempts.len() as u64 - u64::from(kept),
                "{name}"
            );
            assert_eq!(p.prepared.pool.len(), 3, "{name}: the candidates are kept");
        }
    }

    #[test]
    fn no_rerank_without_spare_candidates() {
        let mut p = plan(true, 1);
        p.prepared.pool.truncate(1);
        assert!(matches!(p.start(), PlanStep::Loops(l) if l.len() == 1));
        let mut p = plan(false, 1);
        assert!(matches!(p.start(), PlanStep::Loops(l) if l.len() == 1));
    }

    #[test]
    fn self_consistency_as_a_table() {
        // (name, rows each sample's query returns (None: the sample never gets SQL), chosen, group sizes,
        // answered rows)
        type Case = (
            &'static str,
            Vec<Option<usize>>,
            usize,
            Vec<usize>,
            Option<usize>,
        );
        let cases: Vec<Case> = vec![
            (
                "the majority wins",
                vec![Some(1), Some(2), Some(2)],
                1,
                vec![1, 2],
                Some(2),
            ),
            (
                "a tie goes to the earliest",
                vec![Some(1), Some(2)],
                0,
                vec![1, 1],
                Some(1),
            ),
            (
                "failed samples do not vote",
                vec![None, Some(4), None],
                1,
                vec![1],
                Some(4),
            ),
            (
                "nothing answered: the first sample's failure",
                vec![None, None],
                0,
                vec![],
                None,
            ),
        ];
        for (name, results, chosen, groups, answered) in cases {
            let mut p = plan(false, results.len());
            let PlanStep::Loops(loops) = p.start() else {
                panic!("{name}: no loops");
            };
            assert_eq!(loops.len(), results.len(), "{name}");
            let mut runs = Vec::new();
            for (i, ((m, s), r)) in loops.into_iter().zip(&results).enumerate() {
                let Step::Generate(req) = &s else {
                    panic!("{name}: loop {i} does not start with a request");
                };
                // The first sample at the configured temperature, the others sampled.
                let t = if i == 0 { 0.0 } else { 0.7 };
                assert_eq!((req.temperature, req.sample), (Some(t), i as u32), "{name}");
                let texts = match r {
                    Some(_) => vec![block(&count_sql())],
                    None => vec!["no".to_string(); 3],
                };
                runs.push(drive(m, s, &texts, r.unwrap_or(0)));
            }
            assert!(matches!(p.on_loops(runs), PlanStep::Finish), "{name}");
            let f = p.finish().unwrap();
            let vote = f.trace.iter().find_map(|t| match t {
                TraceStep::Vote {
                    samples,
                    groups,
                    chosen,
                } => Some((*samples, groups.clone(), *chosen)),
                _ => None,
            });
            assert_eq!(vote, Some((results.len(), groups, chosen)), "{name}");
            let got = match &f.outcome {
                Outcome::Answered { result, .. } => Some(result.row_count),
                _ => None,
            };
            assert_eq!(got, answered, "{name}");
            // Every sample's attempts are kept; each sample's trace starts with its Sample step.
            let expected: usize = results
                .iter()
                .map(|r| if r.is_some() { 1 } else { 3 })
                .sum();
            assert_eq!(f.attempts.len(), expected, "{name}");
            let samples = f
                .trace
                .iter()
                .filter(|t| matches!(t, TraceStep::Sample { .. }))
                .count();
            assert_eq!(samples, results.len(), "{name}");
        }
    }
}
