// One question (or one query opened from a link) and everything the server sends back for it, as it
// arrives: retrieved examples, attempts and their errors, the SQL (editable, re-runnable through the
// guard), the result table and chart, the streamed explanation, and where the answer came from.
import { useEffect, useState } from "preact/hooks";
import { api, ask, ApiError, type Answer, type Attempt, type Example, type ResultSet } from "../api";
import { ResultChart } from "./Chart";
import { ResultTable } from "./ResultTable";
import { SqlEditor, type Replacement } from "./SqlEditor";

export type TurnSpec = { id: number; question: string; session?: string } | { id: number; sql: string };

function shareLink(param: "q" | "sql", value: string): string {
  const u = new URL(window.location.href);
  u.search = new URLSearchParams({ [param]: value }).toString();
  u.hash = "";
  return u.toString();
}

function message(e: unknown): string {
  if (e instanceof ApiError) return e.code ? `${e.message} (${e.kind}: ${e.code})` : e.message;
  return e instanceof Error ? e.message : String(e);
}

function Meta({ answer }: { answer: Answer }) {
  const u = answer.usage;
  const t = answer.timings_ms;
  return (
    <dl class="meta" data-testid="answer-meta">
      <dt>source</dt>
      <dd>{answer.source === "library" ? "library example" : "LLM"}</dd>
      {answer.model && (
        <>
          <dt>model</dt>
          <dd>{answer.model}</dd>
        </>
      )}
      <dt>tokens</dt>
      <dd>
        {u.input_tokens} in / {u.output_tokens} out
        {u.cache_read_tokens ? ` / ${u.cache_read_tokens} cached` : ""}
      </dd>
      <dt>cost</dt>
      <dd>{u.cost_usd == null ? "—" : `$${u.cost_usd.toFixed(4)}`}</dd>
      <dt>time</dt>
      <dd>
        {t.total} ms (LLM {t.llm} ms, engine {t.engine} ms)
      </dd>
      {answer.tables.length > 0 && (
        <>
          <dt>tables</dt>
          <dd>{answer.tables.join(", ")}</dd>
        </>
      )}
    </dl>
  );
}

export function Turn({ spec }: { spec: TurnSpec }) {
  const question = "question" in spec ? spec.question : null;
  const [examples, setExamples] = useState<Example[]>([]);
  const [attempts, setAttempts] = useState<Attempt[]>([]);
  const [result, setResult] = useState<ResultSet | null>(null);
  const [explanation, setExplanation] = useState("");
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(true);
  // `sql` is what the editor holds now; `shown` is what the page last put in it (an attempt, the answer).
  const [sql, setSql] = useState("sql" in spec ? spec.sql : "");
  const [shown, setShown] = useState<Replacement>({ text: sql, seq: 0 });
  const show = (text: string) => {
    setSql(text);
    setShown((r) => ({ text, seq: r.seq + 1 }));
  };
  const [edited, setEdited] = useState(false);
  const [verified, setVerified] = useState<string | null>(null);

  const run = async (text = sql) => {
    setBusy(true);
    setError(null);
    try {
      setResult(await api.sql(text));
      setEdited(question !== null);
    } catch (e) {
      setResult(null);
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    if (question === null) {
      void run();
      return;
    }
    const abort = new AbortController();
    ask(
      question,
      "session" in spec ? spec.session : undefined,
      (e) => {
        switch (e.type) {
          case "examples":
            return setExamples(e.examples);
          case "attempt":
            setAttempts((a) => [...a, e.attempt]);
            return show(e.attempt.sql);
          case "result":
            return setResult(e.result);
          case "explanation":
            return setExplanation((x) => x + e.delta);
          case "done":
            setAnswer(e.answer);
            if (e.answer.sql) show(e.answer.sql);
            if (e.answer.explanation) setExplanation(e.answer.explanation);
            if (e.answer.error) setError(e.answer.error);
            else if (e.answer.refusal) setError(e.answer.refusal);
            return;
          case "error":
            return setError(message(e.error));
        }
      },
      abort.signal,
    )
      .catch((e) => {
        if (!abort.signal.aborted) setError(message(e));
      })
      .finally(() => setBusy(false));
    return () => abort.abort();
  }, [spec.id]);

  const promote = async () => {
    if (question === null) return;
    try {
      const r = await api.promote(question, sql);
      setVerified(r.id);
    } catch (e) {
      setError(message(e));
    }
  };

  const repaired = attempts.length > 1 || attempts.some((a) => a.error);
  // Once there is a query it stays editable, even when the user clears it to write another.
  const showSql = question === null || attempts.length > 0 || Boolean(answer?.sql);
  return (
    <article class="turn" data-testid="turn" aria-busy={busy}>
      <header>
        <h2>{question ?? "SQL"}</h2>
        <span class="grow" />
        {busy && <span class="spinner" data-testid="busy">working…</span>}
        <button type="button" class="link" onClick={() => navigator.clipboard.writeText(question !== null && !edited ? shareLink("q", question) : shareLink("sql", sql))}>
          Copy link
        </button>
      </header>
      {examples.length > 0 && (
        <details class="examples">
          <summary>{examples.length} similar verified examples</summary>
          <ol>
            {examples.map((x) => (
              <li key={x.id}>
                {x.question} <span class="dim">({x.score.toFixed(2)})</span>
              </li>
            ))}
          </ol>
        </details>
      )}
      {repaired && (
        <details class="attempts" open data-testid="attempts">
          <summary>{attempts.length} attempts</summary>
          <ol>
            {attempts.map((a) => (
              <li key={a.attempt}>
                <pre class="sql-text">{a.sql}</pre>
                {a.error && <p class="error">{a.error}</p>}
              </li>
            ))}
          </ol>
        </details>
      )}
      {showSql && (
        <section class="sql">
          <SqlEditor replace={shown} onChange={setSql} onRun={() => void run()} />
          <div class="toolbar">
            <button type="button" class="primary" disabled={busy || !sql.trim()} onClick={() => void run()} title="Ctrl-Enter">
              Run ▸
            </button>
            {edited && <span class="dim">edited query</span>}
            <span class="grow" />
            {question !== null && answer && !answer.error && result && (
              <button type="button" disabled={verified !== null} onClick={promote} title="Add this question and query to the verified library">
                {verified ? `Verified ✓ (${verified})` : "Verified ✓"}
              </button>
            )}
          </div>
        </section>
      )}
      {error && (
        <p class="error" role="alert" data-testid="error">
          {error}
        </p>
      )}
      {result && (
        <>
          <ResultTable columns={result.columns} rows={result.rows} truncated={result.truncated} name={`asklake-${spec.id}`} />
          <ResultChart columns={result.columns} rows={result.rows} />
        </>
      )}
      {explanation && (
        <section class="explanation" data-testid="explanation">
          {explanation}
        </section>
      )}
      {answer && <Meta answer={answer} />}
    </article>
  );
}
