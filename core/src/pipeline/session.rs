//! [`Session`]: follow-up questions that see the previous ones, saved and restored as JSON.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Answer, Text2Sql};
use crate::error::{Error, Result};

/// A prior question in a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub question: String,
    pub sql: String,
    #[serde(default)]
    pub tables: Vec<String>,
    #[serde(default)]
    pub row_count: usize,
}

/// A conversation: follow-ups see the previous questions and their SQL (bounded by `max_history`).
#[derive(Debug, Clone)]
pub struct Session {
    pub(super) t2s: Text2Sql,
    pub history: Vec<Turn>,
}

impl Session {
    pub async fn ask(&mut self, question: &str) -> Result<Answer> {
        let mut a = self.run(question).await?;
        match a.error.take() {
            Some(e) => Err(e),
            None => Ok(a),
        }
    }

    /// Like [`Session::ask`], keeping a failure inside the answer.
    pub async fn run(&mut self, question: &str) -> Result<Answer> {
        let a = self.t2s.run(question, &self.history).await?;
        self.record(&a);
        Ok(a)
    }

    pub async fn run_streaming(
        &mut self,
        question: &str,
        on_delta: &mut (dyn FnMut(&str) + Send),
    ) -> Result<Answer> {
        let a = self
            .t2s
            .run_streaming(question, &self.history, on_delta)
            .await?;
        self.record(&a);
        Ok(a)
    }

    fn record(&mut self, a: &Answer) {
        if let Some(sql) = &a.sql {
            self.history.push(Turn {
                question: a.question.clone(),
                sql: sql.clone(),
                tables: a.tables.clone(),
                row_count: a.result.as_ref().map_or(0, |r| r.row_count),
            });
            let max = self.t2s.inner.options.max_history.max(1);
            if self.history.len() > max {
                self.history.drain(..self.history.len() - max);
            }
        }
    }

    /// Restores a session saved by [`Session::save`]; a missing file starts a new one.
    pub fn load(t2s: &Text2Sql, path: &Path) -> Result<Session> {
        let history = match std::fs::read_to_string(path) {
            Ok(text) => {
                serde_json::from_str::<SessionFile>(&text)
                    .map_err(|e| Error::Config(format!("session file {}: {e}", path.display())))?
                    .history
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(path, e)),
        };
        Ok(Session {
            t2s: t2s.clone(),
            history,
        })
    }

    /// Writes the history (questions and SQL only) atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(&SessionFile {
            format: "asklake-session".into(),
            history: self.history.clone(),
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        crate::io::write_atomic(path, text.as_bytes())
    }
}

#[derive(Serialize, Deserialize)]
struct SessionFile {
    format: String,
    history: Vec<Turn>,
}
