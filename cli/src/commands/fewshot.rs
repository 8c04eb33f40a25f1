//! `asklake fewshot list | add | eval | search`: the verified question → SQL library.

use std::process::ExitCode;

use asklake::Error;
use asklake::config::{self, Config};
use asklake::fewshot::RetrieverKind;
use asklake::fewshot::library::{self, NewExample};

use super::note;
use crate::args::{FewshotAction, Format, GlobalArgs};
use crate::output::{clean, print, records};

pub async fn run(g: &GlobalArgs, action: FewshotAction) -> asklake::Result<ExitCode> {
    let cfg = g.resolve()?.config;
    let lib = config::library(&cfg.retrieval)?;
    match action {
        FewshotAction::List { format } => {
            let rows: Vec<Vec<String>> = lib
                .entries
                .iter()
                .map(|e| vec![e.example.id.clone(), e.example.question.clone()])
                .collect();
            print(&records(&["id", "question"], &rows, format));
        }
        FewshotAction::Add {
            question,
            question_ko,
            sql,
            id,
            tags,
        } => {
            let dir = cfg.retrieval.library_dir();
            let engine = config::build_engine(&cfg).await?;
            let (entry, rows) = library::add_verified(
                engine.as_ref(),
                &dir,
                NewExample {
                    question,
                    question_ko,
                    sql,
                    id,
                    tags: tags
                        .split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(String::from)
                        .collect(),
                    origin: "user".into(),
                },
            )
            .await?;
            print(&format!(
                "added {} ({rows} rows on this lake) to {}",
                clean(&entry.example.id),
                dir.join("custom.jsonl").display()
            ));
            update_index(&cfg, &dir).await?;
        }
        FewshotAction::Eval { dataset } => {
            let cases = match dataset {
                Some(p) => library::parse_cases(
                    &std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?,
                )?,
                None => library::builtin_retrieval_cases()?,
            };
            // Every retriever the configuration allows: lexical always; dense and hybrid when the embedding
            // model loads (an explicit --retriever dense|hybrid makes a failure an error).
            let mut kinds = vec![RetrieverKind::Lexical];
            let mut skipped = None;
            let dense_ok = match cfg.retrieval.retriever {
                RetrieverKind::Lexical => false,
                RetrieverKind::Auto => {
                    match asklake::fewshot::load_embedder(&config::retriever_config(&cfg.retrieval))
                        .await
                    {
                        Ok(_) => true,
                        Err(e) => {
                            skipped = Some(e.to_string());
                            false
                        }
                    }
                }
                _ => true,
            };
            if dense_ok {
                kinds.extend([RetrieverKind::Dense, RetrieverKind::Hybrid]);
            }
            print("retriever  lang  n    recall@1  recall@3  MRR");
            for kind in kinds {
                let mut rc = cfg.retrieval.clone();
                rc.retriever = kind;
                let (r, _) = config::build_retriever(&rc, &lib).await?;
                for s in library::evaluate(r.as_ref(), &cases).await? {
                    print(&format!(
                        "{:<9}  {:<4}  {:<3}  {:.3}     {:.3}     {:.3}",
                        kind.to_string(),
                        s.lang,
                        s.n,
                        s.recall_at_1,
                        s.recall_at_3,
                        s.mrr
                    ));
                }
            }
            if let Some(n) = skipped {
                print(&format!("dense, hybrid: not run ({n})"));
            }
        }
        FewshotAction::Search {
            question,
            k,
            format,
            json,
        } => {
            let (r, n) = config::build_retriever(&cfg.retrieval, &lib).await?;
            if let Some(n) = n {
                note(&n);
            }
            let hits = r.retrieve(&question, k).await?;
            if json || format == Format::Json {
                let v: Vec<serde_json::Value> = hits.iter().map(|h| h.hit()).collect();
                print(&serde_json::Value::Array(v).to_string());
            } else {
                let rows: Vec<Vec<String>> = hits
                    .iter()
                    .map(|h| {
                        vec![
                            format!("{:.3}", h.score),
                            h.example.id.clone(),
                            h.example.question.clone(),
                        ]
                    })
                    .collect();
                print(&records(&["score", "id", "question"], &rows, format));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Embeds a library folder's new questions into the embedding cache now, so the next start-up finds them
/// (retrievers rebuild their index from the cache).
pub async fn update_index(cfg: &Config, dir: &std::path::Path) -> asklake::Result<()> {
    let configured = cfg.retrieval.retriever;
    if configured == RetrieverKind::Lexical {
        return Ok(());
    }
    let lib = library::Library::builtin_with(Some(dir))?;
    let mut rc = cfg.retrieval.clone();
    if configured == RetrieverKind::Auto {
        rc.retriever = RetrieverKind::Hybrid;
    }
    match config::build_retriever(&rc, &lib).await {
        Ok(_) => eprintln!("embedding index updated ({} examples)", lib.entries.len()),
        Err(e) if configured == RetrieverKind::Auto => eprintln!("lexical index only: {e}"),
        Err(e) => return Err(e),
    }
    Ok(())
}
