//! The prompt's context: the tables a question needs (with frequent values and sanitized samples, read
//! from the engine and cached per table), one line for every other table, glossary terms, few-shot turns
//! and session history.

use std::collections::HashMap;

use serde_json::Value;

use super::plan::Prepared;
use super::{Text2Sql, Turn, prompt};
use crate::engine::{QueryOptions, format};
use crate::error::Result;
use crate::fewshot::ScoredExample;
use crate::llm::{ChatRequest, Message};
use crate::schema::context::{self, ColumnValues, sanitize_row};
use crate::schema::security_lake::SourceVersion;
use crate::schema::{DataType, TableInfo};

impl Text2Sql {
    pub(super) fn query_options(&self, max_rows: u64) -> QueryOptions {
        QueryOptions {
            max_rows,
            timeout: Some(self.inner.options.query_timeout),
            as_of: self.inner.options.as_of,
        }
    }

    /// Frequent values of the table's low-cardinality columns, in one query.
    async fn column_values(&self, t: &TableInfo) -> Vec<ColumnValues> {
        let source = t.security_lake.as_ref().map(|sl| sl.source);
        let paths: Vec<&str> = context::enumerable_columns(source)
            .into_iter()
            .filter(|p| matches!(t.column_type(p), Some(DataType::String)))
            .collect();
        if paths.is_empty() {
            return Vec::new();
        }
        let filter = match t.security_lake.as_ref().map(|sl| sl.version) {
            Some(SourceVersion::V2) => {
                "WHERE time_dt >= current_timestamp - INTERVAL '30' DAY".to_string()
            }
            Some(SourceVersion::V1) => {
                "WHERE eventday >= date_format(current_date - INTERVAL '30' DAY, '%Y%m%d')"
                    .to_string()
            }
            None => String::new(),
        };
        let parts: Vec<String> = paths
            .iter()
            .map(|p| {
                format!(
                    "SELECT '{p}' AS k, CAST({p} AS varchar) AS v, count(*) AS n FROM {} {filter} GROUP BY 1, 2",
                    t.qualified_name()
                )
            })
            .collect();
        let sql = parts.join(" UNION ALL ");
        // Values only sharpen the prompt: an engine that cannot count them leaves them out.
        let Ok(result) = self
            .inner
            .engine
            .execute(&sql, &self.query_options(5000))
            .await
        else {
            return Vec::new();
        };
        let mut by_path: HashMap<String, Vec<(String, u64)>> = HashMap::new();
        for row in format::rows_json(&result) {
            let (Some(k), Some(v), Some(n)) = (row[0].as_str(), row[1].as_str(), row[2].as_u64())
            else {
                continue;
            };
            by_path
                .entry(k.to_string())
                .or_default()
                .push((v.to_string(), n));
        }
        let mut out = Vec::new();
        for p in paths {
            let Some(mut values) = by_path.remove(p) else {
                continue;
            };
            values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let more = values.len() > 15;
            values.truncate(15);
            out.push(ColumnValues {
                path: p.to_string(),
                values,
                more,
            });
        }
        out
    }

    /// The most recent rows (deterministic: newest first, ties by event id), sanitized.
    async fn samples(&self, t: &TableInfo) -> Vec<String> {
        let n = self.inner.options.sample_rows;
        if n == 0 {
            return Vec::new();
        }
        let mut order: Vec<&str> = Vec::new();
        let filter = match t.security_lake.as_ref().map(|sl| sl.version) {
            Some(SourceVersion::V2) => "WHERE time_dt >= current_timestamp - INTERVAL '1' DAY",
            Some(SourceVersion::V1) => {
                "WHERE eventday >= date_format(current_date - INTERVAL '1' DAY, '%Y%m%d')"
            }
            None => "",
        };
        for c in ["time", "metadata.uid"] {
            if t.column_type(c).is_some() {
                order.push(c);
            }
        }
        let order_by = if order.is_empty() {
            String::new()
        } else {
            format!("ORDER BY {} DESC", order.join(" DESC, "))
        };
        let sql = format!(
            "SELECT * FROM {} {filter} {order_by} LIMIT {n}",
            t.qualified_name()
        );
        let r = match self
            .inner
            .engine
            .execute(&sql, &self.query_options(n))
            .await
        {
            Ok(r) if r.row_count > 0 => r,
            _ => match self.inner.engine.sample_rows(&t.qualified_name(), n).await {
                Ok(r) => r,
                Err(_) => return Vec::new(),
            },
        };
        let names: Vec<String> = r.schema.fields().iter().map(|f| f.name().clone()).collect();
        format::rows_json(&r)
            .into_iter()
            .map(|row| {
                let m: serde_json::Map<String, Value> = names.iter().cloned().zip(row).collect();
                sanitize_row(&m)
            })
            .collect()
    }

    pub(super) async fn section(&self, t: &TableInfo) -> String {
        let key = t.qualified_name();
        if let Some(s) = self.inner.sections.lock().await.get(&key) {
            return s.clone();
        }
        let values = self.column_values(t).await;
        let samples = self.samples(t).await;
        let s = context::render_table(t, &values, &samples);
        self.inner.sections.lock().await.insert(key, s.clone());
        s
    }

    pub(super) async fn prepare(&self, question: &str, history: &[Turn]) -> Result<Prepared> {
        let o = &self.inner.options;
        let want = if o.rerank {
            o.rerank_pool.max(o.examples)
        } else {
            o.examples
        };
        let pool = match &self.inner.retriever {
            Some(r) if o.examples > 0 => r.retrieve(question, want).await?,
            _ => Vec::new(),
        };
        let examples = pool.iter().take(o.examples).cloned().collect();
        self.prepare_with(question, history, examples, pool).await
    }

    pub(super) async fn prepare_with(
        &self,
        question: &str,
        history: &[Turn],
        examples: Vec<ScoredExample>,
        pool: Vec<ScoredExample>,
    ) -> Result<Prepared> {
        let catalog = self.catalog().await?;
        let o = &self.inner.options;
        // Tables of close examples join the prompt; a weak match's tables would only add noise.
        let mut extra: Vec<String> = examples
            .iter()
            .filter(|e| e.score >= o.library_threshold)
            .flat_map(|e| e.example.tables.clone())
            .collect();
        extra.extend(history.iter().flat_map(|t| t.tables.clone()));
        let tables = context::select_tables(
            &catalog,
            &self.inner.glossary,
            question,
            &extra,
            o.max_tables,
        );
        let mut sections = Vec::new();
        for t in &tables {
            sections.push(self.section(t).await);
        }
        let sources: Vec<_> = tables
            .iter()
            .filter_map(|t| t.security_lake.as_ref().map(|s| s.source))
            .collect();
        let terms = self.inner.glossary.terms_for(&sources);
        // Every other table in one line, so the model can name the one it needs (its columns then come in
        // the repair turn).
        // Grouped by database, names unqualified: the line costs a few tokens per table.
        let mut others: Vec<String> = Vec::new();
        for (db, in_db) in catalog.by_database() {
            let rest: Vec<String> = in_db
                .iter()
                .filter(|t| {
                    !tables
                        .iter()
                        .any(|s| s.qualified_name() == t.qualified_name())
                })
                .map(|t| format!("  - {}: {}", t.name, t.description.as_deref().unwrap_or("")))
                .collect();
            if !rest.is_empty() {
                others.push(format!("in \"{db}\":\n{}", rest.join("\n")));
            }
        }
        let system = prompt::SystemPrompt {
            max_rows: o.max_rows,
            tables: &sections,
            others: &others,
            terms: &terms,
            has_v1: tables.iter().any(|t| {
                t.security_lake
                    .as_ref()
                    .is_some_and(|s| s.version == SourceVersion::V1)
            }),
        }
        .render();
        let mut messages = prompt::example_turns(&examples);
        let keep = history.len().saturating_sub(o.max_history);
        for turn in &history[keep..] {
            messages.push(Message::user(turn.question.clone()));
            messages.push(Message::assistant(prompt::sql_block(&turn.sql)));
        }
        let mut base = ChatRequest::new(system, messages);
        base.cache_system = true;
        base.max_tokens = o.max_tokens;
        base.temperature = Some(o.temperature);
        Ok(Prepared {
            base,
            tables: tables.iter().map(|t| t.qualified_name()).collect(),
            examples,
            pool,
        })
    }

    /// The system prompt and turns the model would get for `question` (for inspection and snapshots).
    pub async fn render_prompt(&self, question: &str) -> Result<ChatRequest> {
        // The same checks as a real question: a prompt is never rendered for one the pipeline would refuse.
        let question = self.check_question(question)?;
        let mut p = self.prepare(&question, &[]).await?.base;
        p.messages.push(Message::user(question));
        Ok(p)
    }
}
