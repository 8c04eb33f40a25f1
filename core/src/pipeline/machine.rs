//! The generate → guard → validate → execute → repair loop as a state machine that does no I/O: it is fed
//! what the LLM and the engine returned and says what to do next. Bounded by `max_attempts` LLM calls.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::engine::QueryResult;
use crate::error::Error;
use crate::llm::{ChatRequest, ChatResponse, Message, Usage};
use crate::schema::Catalog;
use crate::sql::extract::{Extracted, extract_sql};
use crate::sql::guard::{Guard, GuardConfig};
use crate::sql::validate::validate;

use super::prompt;

/// What to do when a query runs and returns no rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum EmptyResultPolicy {
    /// No rows is an answer.
    Accept,
    /// One more try with a hint to check filters, value casing and the time window; then "no rows" is
    /// the answer.
    #[default]
    RetryOnce,
    /// Keep regenerating until rows come back or attempts run out (the original system).
    Regenerate,
}

impl std::str::FromStr for EmptyResultPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "accept" => Ok(Self::Accept),
            "retry_once" | "retry-once" => Ok(Self::RetryOnce),
            "regenerate" => Ok(Self::Regenerate),
            other => Err(Error::Config(format!(
                "unknown empty-result policy {other:?}; use accept, retry_once or regenerate"
            ))),
        }
    }
}

/// The next thing the driver must do.
#[derive(Debug)]
pub enum Step {
    /// Call the LLM with this request.
    Generate(ChatRequest),
    /// Run this (guarded) SQL on the engine.
    Execute(String),
    /// Stop; the outcome is ready.
    Finish,
}

/// One LLM attempt: the SQL it produced (if any) and why it did not become the answer.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub sql: Option<String>,
    pub error: Option<String>,
    /// `guard`, `validation`, `engine`, `extraction`, `empty` — where the attempt stopped.
    pub stage: Option<&'static str>,
}

/// A recorded step, for notebooks, the audit log and evaluation diagnostics.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum TraceStep {
    Prompt {
        attempt: usize,
        prompt: String,
    },
    Response {
        attempt: usize,
        text: String,
        usage: Usage,
        latency_ms: u64,
    },
    Extracted {
        attempt: usize,
        sql: String,
    },
    Refusal {
        attempt: usize,
        reason: String,
    },
    Rejected {
        attempt: usize,
        stage: &'static str,
        error: String,
    },
    Executed {
        attempt: usize,
        sql: String,
        rows: usize,
        truncated: bool,
        latency_ms: u64,
    },
    EngineError {
        attempt: usize,
        sql: String,
        error: String,
        latency_ms: u64,
    },
    /// Skeleton rerank: the draft SQL and the examples before and after (ids).
    Rerank {
        draft: String,
        before: Vec<String>,
        after: Vec<String>,
    },
    /// The trace of one self-consistency sample starts here.
    Sample {
        sample: usize,
        temperature: f32,
    },
    /// Self-consistency vote: the size of each group of samples with the same result, and the sample chosen.
    Vote {
        samples: usize,
        groups: Vec<usize>,
        chosen: usize,
    },
}

/// How the loop ended.
#[derive(Debug)]
pub enum Outcome {
    /// A query ran; its SQL (as guarded) and result.
    Answered { sql: String, result: QueryResult },
    /// The model said the question is not about the data.
    Refused(String),
    /// No query ran within the attempts, or a non-repairable error stopped the loop.
    Failed(Error),
}

/// Limits of one question.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_attempts: usize,
    pub empty_result: EmptyResultPolicy,
    pub guard: GuardConfig,
}

/// The loop's state.
pub struct Machine {
    catalog: Arc<Catalog>,
    /// Tables whose columns the conversation shows (the prompt's, then those repairs added).
    shown: Vec<String>,
    limits: Limits,
    base: ChatRequest,
    /// Turns added by this question: the question, each response and each repair request.
    turns: Vec<Message>,
    pub attempts: Vec<Attempt>,
    pub trace: Vec<TraceStep>,
    pub usage: Usage,
    pub llm_time: Duration,
    pub engine_time: Duration,
    pending_sql: Option<String>,
    empty_retry_used: bool,
    /// An empty result kept as the answer in case a retry fails.
    fallback: Option<(String, QueryResult)>,
    outcome: Option<Outcome>,
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("attempts", &self.attempts)
            .field("shown", &self.shown)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl Machine {
    /// The tables of the catalog a query names that the conversation has not described yet.
    fn unseen_tables(&self, sql: &str) -> Vec<&crate::schema::TableInfo> {
        let Ok(mut statements) = crate::sql::dialect::parse(sql) else {
            return Vec::new();
        };
        if statements.len() != 1 {
            return Vec::new();
        }
        let statement = statements.remove(0);
        crate::sql::validate::referenced_tables(&statement, &self.catalog)
            .into_iter()
            .filter(|t| !self.shown.contains(&t.qualified_name()))
            .collect()
    }

    /// Tables whose columns the prompt already shows (qualified names), so repairs add only the others.
    pub fn with_shown_tables(mut self, tables: Vec<String>) -> Self {
        self.shown = tables;
        self
    }

    /// `base` holds the system prompt and prior turns (few-shot examples, session history); `question` is
    /// appended as the last user turn.
    pub fn new(catalog: Arc<Catalog>, limits: Limits, base: ChatRequest, question: &str) -> Self {
        Machine {
            shown: Vec::new(),
            catalog,
            limits,
            base,
            turns: vec![Message::user(question)],
            attempts: Vec::new(),
            trace: Vec::new(),
            usage: Usage::default(),
            llm_time: Duration::ZERO,
            engine_time: Duration::ZERO,
            pending_sql: None,
            empty_retry_used: false,
            fallback: None,
            outcome: None,
        }
    }

    /// The first step.
    pub fn start(&mut self) -> Step {
        self.generate()
    }

    fn request(&self) -> ChatRequest {
        let mut r = self.base.clone();
        r.messages.extend(self.turns.iter().cloned());
        r
    }

    fn generate(&mut self) -> Step {
        let req = self.request();
        self.trace.push(TraceStep::Prompt {
            attempt: self.attempts.len() + 1,
            prompt: req.transcript(),
        });
        Step::Generate(req)
    }

    fn attempt_no(&self) -> usize {
        self.attempts.len()
    }

    fn finish(&mut self, outcome: Outcome) -> Step {
        self.outcome = Some(outcome);
        Step::Finish
    }

    /// Records a failed attempt and asks for a repair, or finishes when attempts are used up.
    fn reject(&mut self, stage: &'static str, sql: Option<String>, err: Error) -> Step {
        let error = err.to_string();
        self.trace.push(TraceStep::Rejected {
            attempt: self.attempt_no(),
            stage,
            error: error.clone(),
        });
        if let Some(a) = self.attempts.last_mut() {
            a.error = Some(error.clone());
            a.stage = Some(stage);
        }
        if self.attempts.len() >= self.limits.max_attempts {
            if let Some((sql, result)) = self.fallback.take() {
                return self.finish(Outcome::Answered { sql, result });
            }
            return self.finish(Outcome::Failed(Error::Unresolved {
                attempts: self.attempts.len(),
                last: Box::new(err),
            }));
        }
        let mut text = prompt::repair(sql.as_deref(), &error, stage == "engine");
        // A table the query uses whose columns the prompt did not show: its schema comes with the repair.
        if let Some(sql) = sql.as_deref() {
            let unseen: Vec<crate::schema::TableInfo> =
                self.unseen_tables(sql).into_iter().cloned().collect();
            for t in unseen {
                text.push_str(&format!(
                    "\n\nThe query uses a table whose columns were not listed; here they are:\n{}",
                    crate::schema::context::render_table(&t, &[], &[])
                ));
                self.shown.push(t.qualified_name());
            }
        }
        self.turns.push(Message::user(text));
        self.generate()
    }

    /// The LLM answered (or failed: LLM errors are not repairable and end the loop).
    pub fn on_response(
        &mut self,
        response: Result<ChatResponse, Error>,
        latency: Duration,
    ) -> Step {
        self.llm_time += latency;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                if let Some((sql, result)) = self.fallback.take() {
                    return self.finish(Outcome::Answered { sql, result });
                }
                return self.finish(Outcome::Failed(e));
            }
        };
        self.usage += response.usage;
        self.attempts.push(Attempt {
            sql: None,
            error: None,
            stage: None,
        });
        let n = self.attempt_no();
        self.trace.push(TraceStep::Response {
            attempt: n,
            text: response.text.clone(),
            usage: response.usage,
            latency_ms: latency.as_millis() as u64,
        });
        self.turns.push(Message::assistant(response.text.clone()));
        let sql = match extract_sql(&response.text) {
            Extracted::Sql(sql) => sql,
            Extracted::Refusal(reason) => {
                self.trace.push(TraceStep::Refusal {
                    attempt: n,
                    reason: reason.clone(),
                });
                if let Some(a) = self.attempts.last_mut() {
                    a.stage = Some("refusal");
                    a.error = Some(format!("refused: {reason}"));
                }
                return self.finish(Outcome::Refused(reason));
            }
            Extracted::Nothing => {
                return self.reject(
                    "extraction",
                    None,
                    Error::Extraction("No SQL query was found in your answer.".into()),
                );
            }
        };
        if let Some(a) = self.attempts.last_mut() {
            a.sql = Some(sql.clone());
        }
        self.trace.push(TraceStep::Extracted {
            attempt: n,
            sql: sql.clone(),
        });
        let guard = Guard::new(&self.catalog, self.limits.guard.clone());
        let guarded = match guard.check(&sql) {
            Ok(g) => g,
            Err(e) => return self.reject("guard", Some(sql), e),
        };
        if let Err(e) = validate(&guarded.statement, &self.catalog) {
            return self.reject("validation", Some(sql), e);
        }
        self.pending_sql = Some(guarded.sql.clone());
        Step::Execute(guarded.sql)
    }

    /// The engine ran the pending SQL.
    pub fn on_executed(&mut self, result: Result<QueryResult, Error>, latency: Duration) -> Step {
        self.engine_time += latency;
        let sql = self.pending_sql.take().unwrap_or_default();
        let n = self.attempt_no();
        match result {
            Ok(result) => {
                self.trace.push(TraceStep::Executed {
                    attempt: n,
                    sql: sql.clone(),
                    rows: result.row_count,
                    truncated: result.truncated,
                    latency_ms: latency.as_millis() as u64,
                });
                if result.row_count > 0 {
                    return self.finish(Outcome::Answered { sql, result });
                }
                let retry = match self.limits.empty_result {
                    EmptyResultPolicy::Accept => false,
                    EmptyResultPolicy::RetryOnce => !self.empty_retry_used,
                    EmptyResultPolicy::Regenerate => true,
                };
                // A retry that returns the same SQL again confirms the empty answer.
                let repeated = self
                    .fallback
                    .as_ref()
                    .is_some_and(|(prev, _)| normalize(prev) == normalize(&sql));
                if !retry || repeated || self.attempts.len() >= self.limits.max_attempts {
                    return self.finish(Outcome::Answered { sql, result });
                }
                self.empty_retry_used = true;
                if let Some(a) = self.attempts.last_mut() {
                    a.stage = Some("empty");
                    a.error = Some("no rows".into());
                }
                self.turns.push(Message::user(prompt::empty_hint(&sql)));
                self.fallback = Some((sql, result));
                self.generate()
            }
            Err(e) if e.is_repairable() => {
                let msg = e.to_string();
                self.trace.push(TraceStep::EngineError {
                    attempt: n,
                    sql: sql.clone(),
                    error: msg.clone(),
                    latency_ms: latency.as_millis() as u64,
                });
                let original = self
                    .attempts
                    .last()
                    .and_then(|a| a.sql.clone())
                    .unwrap_or(sql);
                self.reject("engine", Some(original), e)
            }
            Err(e) => {
                self.trace.push(TraceStep::EngineError {
                    attempt: n,
                    sql,
                    error: e.to_string(),
                    latency_ms: latency.as_millis() as u64,
                });
                if let Some(a) = self.attempts.last_mut() {
                    a.stage = Some("engine");
                    a.error = Some(e.to_string());
                }
                if let Some((sql, result)) = self.fallback.take() {
                    return self.finish(Outcome::Answered { sql, result });
                }
                self.finish(Outcome::Failed(e))
            }
        }
    }

    /// The outcome once [`Step::Finish`] was returned.
    pub fn take_outcome(&mut self) -> Option<Outcome> {
        self.outcome.take()
    }

    /// The result, when the loop ended with one.
    pub fn answered(&self) -> Option<&QueryResult> {
        match &self.outcome {
            Some(Outcome::Answered { result, .. }) => Some(result),
            _ => None,
        }
    }

    /// The question's turns (question, final answer) for a session's history.
    pub fn turns(&self) -> &[Message] {
        &self.turns
    }
}

fn normalize(sql: &str) -> String {
    sql.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
pub(super) mod tests {
    //! The loop as a table: each case feeds scripted model responses and engine outcomes and checks the
    //! steps asked for, the attempts recorded and how the loop ends. No servers, no engine.

    use std::sync::Arc;

    use super::*;
    use crate::arrow::array::Int64Array;
    use crate::arrow::datatypes::{DataType as ArrowType, Field as ArrowField, Schema};
    use crate::arrow::record_batch::RecordBatch;
    use crate::engine::QueryStats;
    use crate::error::{QueryErrorKind, ServiceError, ServiceErrorKind};
    use crate::schema::security_lake::{SecurityLakeTable, Source};
    use crate::schema::{TableInfo, security_lake_columns};

    pub(in crate::pipeline) const CT: &str = "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0";

    pub(in crate::pipeline) fn catalog() -> Arc<Catalog> {
        let sl = SecurityLakeTable::new(
            Source::CloudTrailMgmt,
            crate::schema::security_lake::SourceVersion::V2,
            "us-east-1",
        );
        let cols = security_lake_columns(
            Source::CloudTrailMgmt,
            crate::schema::security_lake::SourceVersion::V2,
        )
        .unwrap();
        let mut t = TableInfo::new(sl.database(), sl.table(), cols);
        t.security_lake = Some(sl);
        Arc::new(Catalog::new(vec![t]))
    }

    pub(in crate::pipeline) fn rows(n: usize) -> QueryResult {
        let schema = Arc::new(Schema::new(vec![ArrowField::new(
            "n",
            ArrowType::Int64,
            false,
        )]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![1i64; n]))],
        )
        .unwrap();
        QueryResult {
            schema,
            batches: vec![batch],
            row_count: n,
            truncated: false,
            stats: QueryStats::default(),
        }
    }

    /// What the driver hands back after each step.
    enum Event {
        /// The model's text.
        Says(String),
        /// The model call failed.
        LlmFails,
        /// The engine returned this many rows.
        Rows(usize),
        /// The engine failed with a repairable (binder) error.
        EngineBinder,
        /// The engine failed with a non-repairable error (timeout).
        EngineTimeout,
    }
    use Event::*;

    fn sql(q: &str) -> Event {
        Says(format!("```sql\n{q}\n```"))
    }
    fn good() -> Event {
        sql(&format!("SELECT count(*) AS n FROM {CT}"))
    }
    fn other_good() -> Event {
        sql(&format!(
            "SELECT count(*) AS n FROM {CT} WHERE status = 'Failure'"
        ))
    }

    #[derive(Debug, PartialEq)]
    enum End {
        Answered(usize),
        Refused,
        Unresolved,
        Failed,
    }

    /// Runs the machine over `events`; returns the kinds of steps it asked for ('G'enerate, 'E'xecute,
    /// 'F'inish), the attempts' stages and the end.
    fn run(
        policy: EmptyResultPolicy,
        max_attempts: usize,
        events: Vec<Event>,
    ) -> (String, Vec<Option<&'static str>>, End) {
        let limits = Limits {
            max_attempts,
            empty_result: policy,
            guard: GuardConfig::default(),
        };
        let mut m = Machine::new(
            catalog(),
            limits,
            ChatRequest::new("system", vec![]),
            "question?",
        );
        let mut steps = String::new();
        let mut step = m.start();
        let mut events = events.into_iter();
        loop {
            match &step {
                Step::Generate(_) => steps.push('G'),
                Step::Execute(_) => steps.push('E'),
                Step::Finish => {
                    steps.push('F');
                    break;
                }
            }
            let ev = events
                .next()
                .unwrap_or_else(|| panic!("machine wants more after {steps}"));
            let d = Duration::from_millis(1);
            step = match (ev, &step) {
                (Says(t), Step::Generate(_)) => m.on_response(
                    Ok(ChatResponse {
                        text: t,
                        ..Default::default()
                    }),
                    d,
                ),
                (LlmFails, Step::Generate(_)) => m.on_response(
                    Err(Error::Llm(ServiceError::new(
                        "test",
                        ServiceErrorKind::Transport,
                        "down",
                    ))),
                    d,
                ),
                (Rows(n), Step::Execute(_)) => m.on_executed(Ok(rows(n)), d),
                (EngineBinder, Step::Execute(_)) => m.on_executed(
                    Err(Error::Query {
                        engine: "duckdb".into(),
                        kind: QueryErrorKind::Binder,
                        message: "no such column".into(),
                    }),
                    d,
                ),
                (EngineTimeout, Step::Execute(_)) => {
                    m.on_executed(Err(Error::Timeout(Duration::from_secs(1))), d)
                }
                (_, s) => panic!("event does not fit step {s:?} after {steps}"),
            };
        }
        assert!(events.next().is_none(), "unused events after {steps}");
        let stages = m.attempts.iter().map(|a| a.stage).collect();
        let end = match m.take_outcome().unwrap() {
            Outcome::Answered { result, .. } => End::Answered(result.row_count),
            Outcome::Refused(_) => End::Refused,
            Outcome::Failed(Error::Unresolved { .. }) => End::Unresolved,
            Outcome::Failed(_) => End::Failed,
        };
        (steps, stages, end)
    }

    #[test]
    fn the_loop_as_a_table() {
        use EmptyResultPolicy::*;
        // (name, empty-result policy, max attempts, events, steps, attempt stages, end)
        type Case = (
            &'static str,
            EmptyResultPolicy,
            usize,
            Vec<Event>,
            &'static str,
            Vec<Option<&'static str>>,
            End,
        );
        let cases: Vec<Case> = vec![
            (
                "first try",
                RetryOnce,
                3,
                vec![good(), Rows(5)],
                "GEF",
                vec![None],
                End::Answered(5),
            ),
            (
                "refusal ends at once",
                RetryOnce,
                3,
                vec![Says("CANNOT_ANSWER: not about logs".into())],
                "GF",
                vec![Some("refusal")],
                End::Refused,
            ),
            (
                "no SQL, then repaired",
                RetryOnce,
                3,
                vec![Says("I think so.".into()), good(), Rows(1)],
                "GGEF",
                vec![Some("extraction"), None],
                End::Answered(1),
            ),
            (
                "guard rejection is repaired",
                RetryOnce,
                3,
                vec![sql(&format!("DELETE FROM {CT}")), good(), Rows(2)],
                "GGEF",
                vec![Some("guard"), None],
                End::Answered(2),
            ),
            (
                "unknown column is caught before the engine",
                RetryOnce,
                3,
                vec![
                    sql(&format!("SELECT sourceipaddress FROM {CT}")),
                    good(),
                    Rows(2),
                ],
                "GGEF",
                vec![Some("validation"), None],
                End::Answered(2),
            ),
            (
                "engine error is repaired",
                RetryOnce,
                3,
                vec![good(), EngineBinder, other_good(), Rows(3)],
                "GEGEF",
                vec![Some("engine"), None],
                End::Answered(3),
            ),
            (
                "attempts run out",
                RetryOnce,
                2,
                vec![Says("no".into()), Says("still no".into())],
                "GGF",
                vec![Some("extraction"), Some("extraction")],
                End::Unresolved,
            ),
            (
                "LLM failure is not repaired",
                RetryOnce,
                3,
                vec![LlmFails],
                "GF",
                vec![],
                End::Failed,
            ),
            (
                "engine timeout is not repaired",
                RetryOnce,
                3,
                vec![good(), EngineTimeout],
                "GEF",
                vec![Some("engine")],
                End::Failed,
            ),
            (
                "empty accepted",
                Accept,
                3,
                vec![good(), Rows(0)],
                "GEF",
                vec![None],
                End::Answered(0),
            ),
            (
                "empty retried once, rows found",
                RetryOnce,
                3,
                vec![good(), Rows(0), other_good(), Rows(4)],
                "GEGEF",
                vec![Some("empty"), None],
                End::Answered(4),
            ),
            (
                "empty retried once, still empty",
                RetryOnce,
                3,
                vec![good(), Rows(0), other_good(), Rows(0)],
                "GEGEF",
                vec![Some("empty"), None],
                End::Answered(0),
            ),
            (
                "the same SQL again confirms the empty answer",
                Regenerate,
                3,
                vec![good(), Rows(0), good(), Rows(0)],
                "GEGEF",
                vec![Some("empty"), None],
                End::Answered(0),
            ),
            (
                "empty kept when the retry fails",
                RetryOnce,
                2,
                vec![good(), Rows(0), Says("hmm".into())],
                "GEGF",
                vec![Some("empty"), Some("extraction")],
                End::Answered(0),
            ),
            (
                "empty kept when the model fails on the retry",
                RetryOnce,
                3,
                vec![good(), Rows(0), LlmFails],
                "GEGF",
                vec![Some("empty")],
                End::Answered(0),
            ),
        ];
        for (name, policy, max, events, steps, stages, end) in cases {
            let (s, st, e) = run(policy, max, events);
            assert_eq!((s.as_str(), st, e), (steps, stages, end), "{name}");
        }
    }
}
