//! Performs what the plan and the loop ask for (model calls, engine queries, prompt rebuilds), assembles
//! the [`Answer`], writes the audit log and streams the explanation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;

use super::answer::audit_line;
use super::machine::{self, Step};
use super::plan::{Plan, PlanStep};
use super::{Answer, AnswerSource, Outcome, Text2Sql, Timings, Turn, prompt};
use crate::engine::format;
use crate::error::{Error, Result};
use crate::fewshot::ScoredExample;
use crate::llm::{self, ChatRequest, ChatStream, LlmBackend, Message, Usage};
use crate::schema::context::sanitize_value;
use crate::sql::guard::GuardConfig;

impl Text2Sql {
    /// Answers `question`; the error of a failed question is returned as `Err`.
    pub async fn ask(&self, question: &str) -> Result<Answer> {
        let mut a = self.run(question, &[]).await?;
        match a.error.take() {
            Some(e) => Err(e),
            None => Ok(a),
        }
    }

    /// Runs the loop and returns the answer with its trace, failed or not. `Err` only for bad input or
    /// configuration (empty question, no LLM, catalog unavailable).
    pub async fn run(&self, question: &str, history: &[Turn]) -> Result<Answer> {
        self.run_inner(question, history, &mut |_| {}).await
    }

    /// Like [`Text2Sql::run`], streaming the explanation through `on_delta` as it arrives.
    pub async fn run_streaming(
        &self,
        question: &str,
        history: &[Turn],
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Answer> {
        self.run_inner(question, history, on_delta).await
    }

    /// One question, written to the audit log however it ends (an answer, a failure inside it, or an early
    /// error such as a refused question).
    async fn run_inner(
        &self,
        question: &str,
        history: &[Turn],
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Answer> {
        let started = Instant::now();
        let out = self
            .answer_question(question, history, on_delta, started)
            .await;
        if let Some(path) = &self.inner.options.audit_log {
            let engine = self.inner.engine.name();
            let line = match &out {
                Ok(answer) => audit_line(answer, engine),
                Err(e) => json!({
                    "time": Utc::now().to_rfc3339(),
                    "question": crate::untrusted::clean(question, 2000),
                    "error": e.to_string(),
                    "engine": engine,
                    "total_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                }),
            };
            crate::io::append_json_line(path, &line)?;
        }
        out
    }

    async fn answer_question(
        &self,
        question: &str,
        history: &[Turn],
        on_delta: &mut (dyn FnMut(&str) + Send),
        started: Instant,
    ) -> Result<Answer> {
        let question = self.check_question(question)?;
        if self.inner.llm.is_none() {
            return self.library_answer(&question, started).await;
        }
        let llm = self.require_llm()?.clone();
        let o = &self.inner.options;
        let prepared = self.prepare(&question, history).await?;
        let catalog = self.catalog().await?;
        let limits = machine::Limits {
            max_attempts: o.max_attempts.max(1),
            empty_result: o.empty_result,
            guard: GuardConfig {
                max_rows: o.max_rows,
                ..Default::default()
            },
        };
        let mut plan = Plan::new(catalog, limits, o, &question, prepared);
        let mut step = plan.start();
        loop {
            step = match step {
                PlanStep::Draft(req) => {
                    let t = Instant::now();
                    let r = llm.chat(&req).await;
                    plan.on_draft(r, t.elapsed())
                }
                PlanStep::Reprompt(examples) => {
                    let prepared = self
                        .prepare_with(&question, history, examples, Vec::new())
                        .await?;
                    plan.on_reprompted(prepared)
                }
                PlanStep::Loops(loops) => {
                    let runs = loops.into_iter().map(|(m, s)| self.drive(&llm, m, s));
                    plan.on_loops(futures_util::future::join_all(runs).await)
                }
                PlanStep::Finish => break,
            };
        }
        let f = plan
            .finish()
            .ok_or_else(|| Error::Internal("the pipeline stopped without an outcome".into()))?;
        let mut answer = Answer {
            question: question.clone(),
            sql: None,
            result: None,
            refusal: None,
            error: None,
            attempts: f.attempts,
            explanation: None,
            source: AnswerSource::Llm,
            model: llm.model().to_string(),
            tables: f.tables,
            examples: f.examples,
            usage: f.usage,
            cost_usd: None,
            timings: Timings {
                llm: f.llm_time,
                engine: f.engine_time,
                total: Duration::ZERO,
            },
            trace: f.trace,
            prompt_chars: f.prompt_chars,
        };
        match f.outcome {
            Outcome::Answered { sql, result } => {
                answer.sql = Some(sql);
                answer.result = Some(result);
            }
            Outcome::Refused(r) => answer.refusal = Some(r),
            Outcome::Failed(e) => answer.error = Some(e),
        }
        if o.explain && answer.result.is_some() {
            let t = Instant::now();
            match self.explain_inner(&answer, on_delta).await {
                Ok((text, usage)) => {
                    answer.explanation = Some(text);
                    answer.usage += usage;
                }
                // The query answered; a failed explanation is noted, not fatal.
                Err(e) => answer.explanation = Some(format!("(no explanation: {e})")),
            }
            answer.timings.llm += t.elapsed();
        }
        answer.cost_usd = llm.pricing().map(|p| llm::cost_usd(&p, &answer.usage));
        answer.timings.total = started.elapsed();
        Ok(answer)
    }

    /// Runs one generate → execute → repair loop from `step` to its end.
    async fn drive(
        &self,
        llm: &Arc<dyn LlmBackend>,
        mut m: machine::Machine,
        mut step: Step,
    ) -> machine::Machine {
        let o = &self.inner.options;
        loop {
            step = match step {
                Step::Generate(req) => {
                    let t = Instant::now();
                    let r = llm.chat(&req).await;
                    m.on_response(r, t.elapsed())
                }
                Step::Execute(sql) => {
                    let t = Instant::now();
                    let r = self
                        .inner
                        .engine
                        .execute(&sql, &self.query_options(o.max_rows))
                        .await;
                    m.on_executed(r, t.elapsed())
                }
                Step::Finish => return m,
            };
        }
    }

    /// Without an LLM: the best library example's SQL, run on the engine and labelled with its id and score,
    /// when the score reaches `library_threshold`; otherwise how to configure an LLM.
    async fn library_answer(&self, question: &str, started: Instant) -> Result<Answer> {
        let o = &self.inner.options;
        let hits = match &self.inner.retriever {
            Some(r) => r.library_candidates(question, 2).await?,
            None => Vec::new(),
        };
        // A two-word question ("top IPs") is too vague to answer from someone else's verified question.
        let specific = {
            let mut t = crate::fewshot::library::terms(question);
            t.sort();
            t.dedup();
            t.len() >= 3
        };
        let best = match library_pick(&hits, o.library_threshold).filter(|_| specific) {
            Some(b) => b.clone(),
            None => {
                let other = hits.first();
                let why = match other {
                    Some(b) => format!(
                        "the closest library example ({}, score {:.2}) is not a close enough match (needs {:.2} and \
                         a clear lead over the next); ",
                        b.example.id, b.score, o.library_threshold
                    ),
                    None if self.inner.retriever.is_some() => "no library example matches; ".into(),
                    None => String::new(),
                };
                let how = self
                    .require_llm()
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                return Err(Error::Config(format!(
                    "{why}{}",
                    how.trim_start_matches("configuration error: ")
                )));
            }
        };
        let catalog = self.catalog().await?;
        let guard = crate::sql::Guard::new(
            &catalog,
            GuardConfig {
                max_rows: o.max_rows,
                ..Default::default()
            },
        );
        let guarded = guard.check(&best.example.sql)?;
        let t = Instant::now();
        let result = self
            .inner
            .engine
            .execute(&guarded.sql, &self.query_options(o.max_rows))
            .await;
        let engine_time = t.elapsed();
        let (result, error) = match result {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        };
        let answer = Answer {
            question: question.to_string(),
            sql: Some(guarded.sql.clone()),
            result,
            refusal: None,
            error,
            attempts: Vec::new(),
            explanation: Some(format!(
                "Answered from the verified query library: example {} (\"{}\"), retrieval score {:.2}.",
                best.example.id, best.example.question, best.score
            )),
            source: AnswerSource::Library,
            model: format!("library:{}", best.example.id),
            tables: guarded.tables.clone(),
            examples: vec![best],
            usage: Usage::default(),
            cost_usd: Some(0.0),
            timings: Timings {
                llm: Duration::ZERO,
                engine: engine_time,
                total: started.elapsed(),
            },
            trace: Vec::new(),
            prompt_chars: 0,
        };
        Ok(answer)
    }

    /// The explanation call for an answer (for callers that stream it themselves).
    pub fn explanation_request(&self, answer: &Answer) -> Result<ChatRequest> {
        let (Some(sql), Some(result)) = (&answer.sql, &answer.result) else {
            return Err(Error::Config(
                "this answer has no query result to explain".into(),
            ));
        };
        let names: Vec<String> = result
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut table = names.join(" | ");
        for row in format::rows_text(result).into_iter().take(30) {
            table.push('\n');
            table.push_str(
                &row.iter()
                    .map(|c| sanitize_value(c, 80))
                    .collect::<Vec<_>>()
                    .join(" | "),
            );
        }
        if result.row_count > 30 {
            table.push_str(&format!("\n… {} more rows", result.row_count - 30));
        }
        let (system, user) = prompt::explanation(
            &answer.question,
            sql,
            &table,
            result.row_count,
            result.truncated,
        );
        let mut req = ChatRequest::new(system, vec![Message::user(user)]);
        req.max_tokens = 700;
        req.temperature = Some(0.2);
        Ok(req)
    }

    async fn explain_inner(
        &self,
        answer: &Answer,
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(String, Usage)> {
        let llm = self.require_llm()?;
        let req = self.explanation_request(answer)?;
        let stream = llm.chat_stream(&req).await?;
        let r = llm::collect_stream(stream, on_delta).await?;
        Ok((r.text, r.usage))
    }

    /// The explanation of an answer as a stream of text deltas.
    pub async fn explain_stream(&self, answer: &Answer) -> Result<ChatStream> {
        let llm = self.require_llm()?;
        llm.chat_stream(&self.explanation_request(answer)?).await
    }
}

/// The library example to answer with, if any: the best hit must reach `threshold` and lead the runner-up
/// by 0.1, so two near-equal candidates (neighbouring questions) never produce a confident library answer.
pub fn library_pick(hits: &[ScoredExample], threshold: f32) -> Option<&ScoredExample> {
    let best = hits.first()?;
    let lead = hits.get(1).map_or(1.0, |second| best.score - second.score);
    (best.score >= threshold && lead >= 0.1).then_some(best)
}
