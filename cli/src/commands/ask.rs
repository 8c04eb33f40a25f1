//! `asklake ask`: a question in plain language → SQL, result and explanation.

use std::process::ExitCode;

use asklake::Error;
use asklake::config::Config;
use asklake::pipeline::{Answer, AnswerSource, Session, Text2Sql};

use super::{EXIT_REFUSED, exit_code, note};
use crate::args::{AskArgs, Format, GlobalArgs, value_name};
use crate::output::{clean, print, print_part};

pub async fn run(g: &GlobalArgs, a: AskArgs) -> asklake::Result<ExitCode> {
    let format = if a.json { Format::Json } else { a.format };
    let resolved = g
        .loader()?
        .set_opt("pipeline.max_attempts", a.max_attempts, "--max-attempts")?
        .set_opt("pipeline.rerank", a.rerank.then_some(true), "--rerank")?
        .set_opt(
            "pipeline.self_consistency",
            a.self_consistency,
            "--self-consistency",
        )?
        .set_opt(
            "pipeline.empty_result",
            a.empty_result.map(|v| value_name(&v)),
            "--empty-result",
        )?
        .set_opt(
            "pipeline.explain",
            a.no_explain.then_some(false),
            "--no-explain",
        )?
        .set_opt("pipeline.as_of", a.as_of.clone(), "--as-of")?
        .set_opt("pipeline.max_rows", a.max_rows, "--max-rows")?
        .set_opt(
            "pipeline.audit_log",
            a.audit_log.as_ref().map(|p| p.display().to_string()),
            "--audit-log",
        )?
        .set_opt("retrieval.examples", a.examples, "--examples")?
        .load()?;
    let mut config = resolved.config;
    // Text output streams the explanation after printing the table; JSON collects it in the run.
    let explain = config.pipeline.explain;
    config.pipeline.explain = explain && format == Format::Json;
    let setup = asklake::config::build_text2sql(&config).await?;
    setup.notes.iter().for_each(|n| note(n));
    let t2s = setup.text2sql;

    if a.show_prompt {
        let req = t2s.render_prompt(&a.question).await?;
        print(&req.transcript());
        let chars = req.transcript().chars().count();
        eprintln!("({chars} characters, about {} tokens)", chars.div_ceil(4));
        return Ok(ExitCode::SUCCESS);
    }
    let mut session = match &a.session {
        Some(p) => Some(Session::load(&t2s, p)?),
        None => None,
    };
    let mut answer = match session.as_mut() {
        Some(s) => s.run(&a.question).await?,
        None => t2s.run(&a.question, &[]).await?,
    };
    if let (Some(s), Some(p)) = (&session, &a.session) {
        s.save(p)?;
    }
    if format == Format::Json {
        print(&answer.to_json().to_string());
        if a.promote && answer.error.is_none() && answer.refusal.is_none() {
            promote(&t2s, &config, &a, &answer).await?;
        }
        return Ok(match (&answer.error, &answer.refusal) {
            (Some(e), _) => ExitCode::from(exit_code(e)),
            (None, Some(_)) => ExitCode::from(EXIT_REFUSED),
            _ => ExitCode::SUCCESS,
        });
    }
    if let Some(reason) = &answer.refusal {
        eprintln!(
            "asklake: the model did not write a query: {}",
            clean(reason)
        );
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    if let Some(e) = answer.error.take() {
        for (i, at) in answer.attempts.iter().enumerate() {
            eprintln!(
                "attempt {}: {}\n  {}",
                i + 1,
                clean(at.sql.as_deref().unwrap_or("(no SQL)")),
                clean(at.error.as_deref().unwrap_or(""))
            );
        }
        return Err(e);
    }
    let (Some(sql), Some(result)) = (&answer.sql, &answer.result) else {
        return Err(Error::Internal("answer without SQL".into()));
    };
    if format == Format::Csv {
        print(asklake::engine::format::to_csv(result).trim_end());
    } else {
        print(&format!("{}\n", clean(sql)));
        print(crate::output::result_table(result, 60).trim_end());
        print(&format!(
            "({} row{}{}; {} attempt{}; llm {} ms, engine {} ms)\n",
            result.row_count,
            if result.row_count == 1 { "" } else { "s" },
            if result.truncated { ", truncated" } else { "" },
            answer.attempts.len(),
            if answer.attempts.len() == 1 { "" } else { "s" },
            answer.timings.llm.as_millis(),
            answer.timings.engine.as_millis()
        ));
        explain_text(&t2s, &answer, explain).await?;
    }
    if a.promote {
        promote(&t2s, &config, &a, &answer).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The explanation, streamed to the terminal as the model writes it (a library answer has its own).
async fn explain_text(t2s: &Text2Sql, answer: &Answer, explain: bool) -> asklake::Result<()> {
    let mut usage = answer.usage;
    if answer.source == AnswerSource::Library {
        print(&clean(answer.explanation.as_deref().unwrap_or_default()));
    } else if explain && let Some(llm) = t2s.llm() {
        let stream = t2s.explain_stream(answer).await?;
        let r = asklake::llm::collect_stream(stream, |d| print_part(&clean(d))).await?;
        usage += r.usage;
        print("");
        let cost = llm.pricing().map(|p| asklake::llm::cost_usd(&p, &usage));
        print(&format!(
            "\n[{} · {} in / {} out tokens{}]",
            answer.model,
            usage.input_tokens,
            usage.output_tokens,
            cost.map(|c| format!(" · ${c:.4}")).unwrap_or_default()
        ));
    }
    Ok(())
}

/// `ask --promote`: the analyst checked the answer; its question and SQL join the library (verified again by
/// the guard and the engine, as `fewshot add` does) and the embedding index.
async fn promote(
    t2s: &Text2Sql,
    config: &Config,
    a: &AskArgs,
    answer: &Answer,
) -> asklake::Result<()> {
    if answer.source == AnswerSource::Library {
        note(&format!(
            "not promoted: the answer already comes from the library ({})",
            answer.model
        ));
        return Ok(());
    }
    let Some(sql) = &answer.sql else {
        return Ok(());
    };
    let dir = config.retrieval.library_dir();
    let (entry, _) = asklake::fewshot::library::add_verified(
        t2s.engine().as_ref(),
        &dir,
        asklake::fewshot::library::NewExample {
            question: answer.question.clone(),
            question_ko: a.question_ko.clone(),
            sql: sql.clone(),
            origin: "ask".into(),
            ..Default::default()
        },
    )
    .await?;
    eprintln!(
        "promoted to the library as {} ({})",
        entry.example.id,
        dir.join("custom.jsonl").display()
    );
    super::fewshot::update_index(config, &dir).await
}
