// asklake's web app: ask a question in English or Korean, see the SQL, the result, a chart and an
// explanation; follow up in the same conversation; re-run edited SQL; browse the schema and the library.
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, takeTokenFromFragment, type Health } from "./api";
import { Sidebar } from "./components/Sidebar";
import { Turn, type TurnSpec } from "./components/Turn";
import "./style.css";

const STARTERS = [
  "Which source IPs made the most API calls last week?",
  "Which 5 S3 buckets were accessed most?",
  "How many console logins failed in the last 7 days?",
  "지난주 API 호출이 가장 많은 소스 IP는?",
  "이번 달 거부된 VPC 흐름이 가장 많은 목적지 포트는?",
];

function newSession(): string {
  return crypto.randomUUID();
}

function App() {
  const [health, setHealth] = useState<Health | null>(null);
  const [healthError, setHealthError] = useState<string | null>(null);
  const [turns, setTurns] = useState<TurnSpec[]>([]);
  const [session, setSession] = useState(newSession);
  const [question, setQuestion] = useState("");
  const nextId = useRef(1);
  const end = useRef<HTMLDivElement>(null);

  const askQuestion = (q: string) => {
    const text = q.trim();
    if (!text) return;
    setTurns((t) => [...t, { id: nextId.current++, question: text, session }]);
    setQuestion("");
  };
  const openSql = (sql: string) => setTurns((t) => [...t, { id: nextId.current++, sql }]);

  useEffect(() => {
    api.health().then(setHealth, (e) =>
      setHealthError(e.status === 401 ? "This server needs its token: open the address it printed, ending in #token=…" : String(e.message ?? e)),
    );
    // Deep links: /?q=QUESTION asks it; /?sql=SQL opens the editor with it and runs it.
    const params = new URLSearchParams(window.location.search);
    const q = params.get("q");
    const sql = params.get("sql");
    if (q) askQuestion(q);
    if (sql) openSql(sql);
  }, []);

  useEffect(() => end.current?.scrollIntoView({ block: "end" }), [turns.length]);

  const submit = (e: Event) => {
    e.preventDefault();
    askQuestion(question);
  };
  const onKey = (e: KeyboardEvent) => {
    // Enter asks; Shift-Enter is a new line.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      askQuestion(question);
    }
  };

  return (
    <div class="app">
      <header class="top">
        <h1>asklake</h1>
        <span class="dim" data-testid="health">
          {health ? `${health.engine} · ${health.llm === "none" ? "no LLM (library answers only)" : `${health.llm} ${health.model ?? ""}`}` : healthError ?? "connecting…"}
        </span>
        <span class="grow" />
        <button type="button" onClick={() => openSql("SELECT ")}>
          New SQL
        </button>
        <button
          type="button"
          onClick={() => {
            setTurns([]);
            setSession(newSession());
          }}
        >
          New conversation
        </button>
      </header>
      {healthError && <p class="error banner" role="alert">{healthError}</p>}
      <main class="main">
        <div class="conversation">
          {turns.length === 0 && (
            <div class="welcome">
              <p>Ask your security lake a question, in English or Korean. Try one:</p>
              <ul class="starters">
                {STARTERS.map((s) => (
                  <li key={s}>
                    <button type="button" class="chip" onClick={() => askQuestion(s)}>
                      {s}
                    </button>
                  </li>
                ))}
              </ul>
            </div>
          )}
          {turns.map((t) => (
            <Turn key={t.id} spec={t} />
          ))}
          <div ref={end} />
          <form class="ask" onSubmit={submit}>
            <textarea
              value={question}
              onInput={(e) => setQuestion(e.currentTarget.value)}
              onKeyDown={onKey}
              rows={2}
              maxLength={4000}
              placeholder={turns.length ? "Ask a follow-up…" : "Which source IPs made the most API calls last week?"}
              aria-label="Question"
              data-testid="question"
            />
            <button type="submit" class="primary" disabled={!question.trim()}>
              Ask
            </button>
          </form>
        </div>
        <Sidebar onAsk={askQuestion} onSql={openSql} />
      </main>
    </div>
  );
}

takeTokenFromFragment();
render(<App />, document.getElementById("app")!);
