//! `asklake eval`: models × pipeline variants by execution accuracy, latency, tokens and cost.

use std::process::ExitCode;
use std::sync::Arc;

use asklake::Error;
use asklake::eval::plan::{self, Plan};
use asklake::eval::runner;
use asklake::llm::LlmBackend;

use super::note;
use crate::args::{EvalArgs, GlobalArgs, value_name};
use crate::output::print;

pub async fn run(g: &GlobalArgs, a: EvalArgs) -> asklake::Result<ExitCode> {
    let config = g
        .loader()?
        .set_opt("pipeline.as_of", a.as_of.clone(), "--as-of")?
        .load()?
        .config;
    let plan = Plan {
        dataset: Some(a.dataset.clone()),
        variants: plan::variants(&[a.variants.as_str()])?,
        langs: plan::languages(&value_name(&a.lang))?,
        limit: a.limit,
        concurrency: a.concurrency,
        out: Some(a.out.clone()),
    };
    let model_names: Vec<String> = config
        .llm
        .model
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(String::from)
        .collect();
    if model_names.is_empty() {
        return Err(Error::Config(
            "eval needs --model (comma-separated aliases or ids)".into(),
        ));
    }
    let engine = asklake::config::build_engine(&config).await?;
    if a.estimate {
        return estimate(&plan, &config, engine, &model_names).await;
    }
    if config.llm.provider == asklake::config::LlmProvider::None {
        return Err(Error::Config(
            "eval needs --llm bedrock or openai (or --estimate)".into(),
        ));
    }
    let mut models: Vec<Arc<dyn LlmBackend>> = Vec::new();
    for m in &model_names {
        let mut llm = config.llm.clone();
        llm.model = Some(m.clone());
        models.extend(asklake::config::build_llm(&llm).await?);
    }
    let questions = plan.questions()?.len();
    eprintln!(
        "evaluating {questions} questions × {} language(s) × {} model(s) × {} variant(s)",
        plan.langs.len(),
        models.len(),
        plan.variants.len()
    );
    // A bar redrawn in place on a terminal; one line per question otherwise (CI logs, files).
    let total = questions * plan.langs.len() * models.len() * plan.variants.len();
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let bar = indicatif::ProgressBar::new(total as u64);
    if tty {
        bar.set_style(
            indicatif::ProgressStyle::with_template("[{bar:30}] {pos}/{len} {msg} ({eta} left)")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("#>."),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut correct = 0usize;
    let outcome = plan
        .run(&config, engine, models, &mut |r, done, _total| {
            correct += usize::from(r.correct);
            if tty {
                bar.set_position(done as u64);
                bar.set_message(format!(
                    "{:.0}% correct so far  {} {}",
                    100.0 * correct as f64 / done.max(1) as f64,
                    r.model,
                    r.variant
                ));
            } else {
                eprintln!(
                    "[{done}/{}] {} {} {} ({}) {}",
                    total,
                    r.model,
                    r.variant,
                    r.id,
                    r.lang,
                    if r.correct { "correct" } else { "wrong" }
                );
            }
        })
        .await?;
    bar.finish_and_clear();
    if let Some(n) = &outcome.note {
        note(n);
    }
    eprintln!(
        "{} completion(s) served from {}",
        outcome.cache_hits,
        a.out.join("completions.jsonl").display()
    );
    print(&runner::markdown(&outcome.report));
    let names: Vec<String> = outcome
        .written
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    eprintln!("wrote {}", names.join(", "));
    Ok(ExitCode::SUCCESS)
}

async fn estimate(
    plan: &Plan,
    config: &asklake::config::Config,
    engine: Arc<dyn asklake::engine::QueryEngine>,
    model_names: &[String],
) -> asklake::Result<ExitCode> {
    let est = plan.estimate(config, engine).await?;
    print(&format!(
        "Minimum cost (first attempts only; repairs, rerank regenerations and explanations add to it), \
         {} output tokens assumed per call, catalog prices:\n",
        runner::ESTIMATED_OUTPUT_TOKENS
    ));
    print(
        "| model | variant | questions | LLM calls | input tokens | output tokens | $ total | $ / question |",
    );
    print("|---|---|---|---|---|---|---|---|");
    for m in model_names {
        let (id, info) = asklake::llm::models::resolve(m)?;
        for e in &est {
            let cost = info.map(|i| {
                let p = i.pricing();
                (e.input_tokens as f64 * p.input + e.output_tokens as f64 * p.output) / 1e6
            });
            let money = |c: Option<f64>, n: usize| {
                c.map_or("n/a".to_string(), |c| format!("{:.4}", c / n.max(1) as f64))
            };
            print(&format!(
                "| {id} | {} | {} | {} | {} | {} | {} | {} |",
                e.variant,
                e.questions,
                e.calls,
                e.input_tokens,
                e.output_tokens,
                money(cost, 1),
                money(cost, e.questions)
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}
