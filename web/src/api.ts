// The only way the page talks to asklake: the JSON API under /api (documented in the README). The bearer
// token comes once from the URL fragment (#token=…), which browsers never send to a server, and is kept in
// this module's memory only: not in a cookie, not in storage, and it is removed from the address bar.
import { EventSourceParserStream } from "eventsource-parser/stream";

let token: string | null = null;

/** Takes `#token=…` out of the address bar into memory. Called once, before any request. */
export function takeTokenFromFragment(): void {
  const hash = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const t = hash.get("token");
  if (t) {
    token = t;
    hash.delete("token");
    const rest = hash.toString();
    const url = window.location.pathname + window.location.search + (rest ? `#${rest}` : "");
    window.history.replaceState(null, "", url);
  }
}

/** An error as the API reports it: `{"error": {"kind", "code"?, "message"}}` with its HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly kind: string;
  readonly code?: string;
  constructor(status: number, kind: string, message: string, code?: string) {
    super(message);
    this.status = status;
    this.kind = kind;
    this.code = code;
  }
}

function headers(json: boolean): HeadersInit {
  const h: Record<string, string> = {};
  if (json) h["Content-Type"] = "application/json";
  if (token) h["Authorization"] = `Bearer ${token}`;
  return h;
}

async function failure(r: Response): Promise<ApiError> {
  try {
    const body = await r.json();
    const e = body?.error ?? {};
    return new ApiError(r.status, String(e.kind ?? "http"), String(e.message ?? r.statusText), e.code);
  } catch {
    return new ApiError(r.status, "http", `${r.status} ${r.statusText}`);
  }
}

async function call<T>(path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const r = await fetch(`/api${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  if (!r.ok) throw await failure(r);
  return (await r.json()) as T;
}

export interface Column {
  name: string;
  type: string;
}
export type Cell = string | number | boolean | null | object;
export interface ResultSet {
  columns: Column[];
  rows: Cell[][];
  row_count: number;
  truncated: boolean;
  elapsed_ms: number;
  bytes_scanned?: number | null;
  cost_usd?: number | null;
}
export interface Example {
  id: string;
  question: string;
  sql: string;
  score: number;
}
export interface Attempt {
  attempt: number;
  sql: string;
  stage?: string;
  error?: string | null;
}
export interface Answer {
  question: string;
  sql: string;
  columns: Column[];
  rows: Cell[][];
  row_count: number;
  truncated: boolean;
  attempts: { sql: string; error?: string | null }[];
  explanation?: string | null;
  refusal?: string | null;
  error?: string | null;
  source: "llm" | "library";
  model?: string | null;
  tables: string[];
  usage: {
    input_tokens: number;
    output_tokens: number;
    cache_read_tokens: number;
    cache_write_tokens: number;
    cost_usd?: number | null;
  };
  timings_ms: { llm: number; engine: number; total: number };
}
export interface Health {
  status: string;
  engine: string;
  llm: string;
  model?: string | null;
}
export interface TableSummary {
  name: string;
  source?: string | null;
  version?: number | null;
  description?: string | null;
  rows?: number | null;
  time_column?: string | null;
}
export interface ColumnInfo {
  path: string;
  data_type: string;
  description?: string | null;
}
export interface TableDescription {
  table: TableSummary;
  columns: ColumnInfo[];
}
export interface HistoryEntry {
  time: string;
  question: string;
  sql?: string | null;
  rows?: number | null;
  source?: string | null;
  error?: string | null;
}

export const api = {
  health: () => call<Health>("/health"),
  tables: () => call<{ tables: TableSummary[] }>("/tables").then((r) => r.tables),
  table: (name: string) => call<TableDescription>(`/tables/${encodeURIComponent(name)}`),
  sql: (sql: string, maxRows?: number) => call<ResultSet>("/sql", { sql, max_rows: maxRows }),
  examples: (q: string, k = 20) =>
    call<{ examples: Example[] }>(`/examples?q=${encodeURIComponent(q)}&k=${k}`).then((r) => r.examples),
  history: () => call<{ history: HistoryEntry[] }>("/history").then((r) => r.history),
  promote: (question: string, sql: string) =>
    call<{ id: string; tables: string[]; rows: number }>("/promote", { question, sql }),
};

/** What `/api/ask` streams, stage by stage. */
export type AskEvent =
  | { type: "examples"; examples: Example[] }
  | { type: "attempt"; attempt: Attempt }
  | { type: "result"; result: ResultSet }
  | { type: "explanation"; delta: string }
  | { type: "done"; answer: Answer }
  | { type: "error"; error: ApiError };

/** Asks a question; calls `on` for each event as the server sends it. Resolves when the stream ends. */
export async function ask(
  question: string,
  session: string | undefined,
  on: (e: AskEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const r = await fetch("/api/ask", {
    method: "POST",
    headers: headers(true),
    body: JSON.stringify({ question, session }),
    signal,
  });
  if (!r.ok || !r.body) throw await failure(r);
  const events = r.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  const reader = events.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const data = JSON.parse(value.data);
    switch (value.event) {
      case "examples":
        on({ type: "examples", examples: data.examples ?? [] });
        break;
      case "attempt":
        on({ type: "attempt", attempt: data });
        break;
      case "result":
        on({ type: "result", result: data });
        break;
      case "explanation":
        on({ type: "explanation", delta: String(data.delta ?? "") });
        break;
      case "done":
        on({ type: "done", answer: data });
        break;
      case "error": {
        const e = data.error ?? {};
        on({ type: "error", error: new ApiError(200, String(e.kind ?? "error"), String(e.message ?? "failed"), e.code) });
        break;
      }
    }
  }
}
