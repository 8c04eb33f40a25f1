// The side panel: recent questions (from the audit log), the schema (tables → nested columns with OCSF
// meanings) and the verified library (search, then ask or open a query).
import { useEffect, useState } from "preact/hooks";
import { api, type ColumnInfo, type Example, type HistoryEntry, type TableSummary } from "../api";

interface Props {
  onAsk: (question: string) => void;
  onSql: (sql: string) => void;
}

type Tab = "history" | "schema" | "library";

function History({ onAsk }: Pick<Props, "onAsk">) {
  const [items, setItems] = useState<HistoryEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api.history().then(setItems, (e) => setError(String(e.message ?? e)));
  useEffect(() => void load(), []);
  if (error) return <p class="error">{error}</p>;
  if (!items) return <p class="dim">loading…</p>;
  return (
    <div>
      <button type="button" class="link" onClick={load}>
        Refresh
      </button>
      {items.length === 0 && <p class="dim">No questions yet (history is read from the audit log).</p>}
      <ul class="list" data-testid="history">
        {items.map((h, i) => (
          <li key={i}>
            <button type="button" class="link" onClick={() => onAsk(h.question)}>
              {h.question}
            </button>
            <div class="dim">
              {h.time} · {h.error ? "failed" : `${h.rows ?? 0} rows`}
              {h.source ? ` · ${h.source}` : ""}
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}

interface Node {
  name: string;
  info?: ColumnInfo;
  children: Map<string, Node>;
}

/** Column paths (`actor.user.name`, `resources[].uid`) as a tree. */
function tree(columns: ColumnInfo[]): Node {
  const root: Node = { name: "", children: new Map() };
  for (const c of columns) {
    let n = root;
    for (const part of c.path.split(".")) {
      let child = n.children.get(part);
      if (!child) {
        child = { name: part, children: new Map() };
        n.children.set(part, child);
      }
      n = child;
    }
    n.info = c;
  }
  return root;
}

function ColumnNode({ node }: { node: Node }) {
  const label = (
    <>
      <code>{node.name}</code> <span class="col-type">{node.info?.data_type ?? ""}</span>
      {node.info?.description && <div class="dim">{node.info.description}</div>}
    </>
  );
  if (node.children.size === 0) return <li>{label}</li>;
  return (
    <li>
      <details>
        <summary>{label}</summary>
        <ul class="tree">
          {[...node.children.values()].map((c) => (
            <ColumnNode key={c.name} node={c} />
          ))}
        </ul>
      </details>
    </li>
  );
}

function Schema({ onSql }: Pick<Props, "onSql">) {
  const [tables, setTables] = useState<TableSummary[] | null>(null);
  const [open, setOpen] = useState<Record<string, ColumnInfo[] | string>>({});
  useEffect(() => void api.tables().then(setTables, (e) => setTables([{ name: String(e.message ?? e) }])), []);
  const toggle = (name: string) => {
    if (open[name]) {
      const { [name]: _, ...rest } = open;
      void _;
      return setOpen(rest);
    }
    api.table(name).then(
      (d) => setOpen((o) => ({ ...o, [name]: d.columns })),
      (e) => setOpen((o) => ({ ...o, [name]: String(e.message ?? e) })),
    );
  };
  if (!tables) return <p class="dim">loading…</p>;
  return (
    <ul class="list" data-testid="schema">
      {tables.map((t) => {
        const cols = open[t.name];
        return (
          <li key={t.name}>
            <button type="button" class="link" onClick={() => toggle(t.name)} aria-expanded={Boolean(cols)} aria-label={t.name} title={t.name}>
              {t.source ? `${t.source}${t.version ? ` v${t.version}` : ""}` : t.name.split(".").pop()}
            </button>
            <span class="dim"> {t.rows == null ? "" : `${t.rows.toLocaleString()} rows`}</span>
            <div class="dim table-name">{t.name.split(".").pop()}</div>
            {t.description && <div class="dim">{t.description}</div>}
            {typeof cols === "string" && <p class="error">{cols}</p>}
            {Array.isArray(cols) && (
              <>
                <button type="button" class="link" onClick={() => onSql(`SELECT * FROM ${t.name} LIMIT 20`)}>
                  Preview rows
                </button>
                <ul class="tree">
                  {[...tree(cols).children.values()].map((c) => (
                    <ColumnNode key={c.name} node={c} />
                  ))}
                </ul>
              </>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function Library({ onAsk, onSql }: Props) {
  const [q, setQ] = useState("");
  const [hits, setHits] = useState<Example[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const search = (e: Event) => {
    e.preventDefault();
    if (!q.trim()) return;
    setError(null);
    api.examples(q).then(setHits, (err) => setError(String(err.message ?? err)));
  };
  return (
    <div>
      <form onSubmit={search} class="row">
        <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} placeholder="Search verified examples" aria-label="Search the library" />
        <button type="submit">Search</button>
      </form>
      {error && <p class="error">{error}</p>}
      <ul class="list" data-testid="library">
        {hits?.map((h) => (
          <li key={h.id}>
            <div>{h.question}</div>
            <pre class="sql-text">{h.sql}</pre>
            <button type="button" class="link" onClick={() => onAsk(h.question)}>
              Ask
            </button>{" "}
            <button type="button" class="link" onClick={() => onSql(h.sql)}>
              Open SQL
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function Sidebar(props: Props) {
  const [tab, setTab] = useState<Tab>("schema");
  return (
    <aside class="sidebar">
      <nav class="tabs" role="tablist">
        {(["history", "schema", "library"] as const).map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
            {t[0].toUpperCase() + t.slice(1)}
          </button>
        ))}
      </nav>
      <div class="tab-body">
        {tab === "history" && <History onAsk={props.onAsk} />}
        {tab === "schema" && <Schema onSql={props.onSql} />}
        {tab === "library" && <Library {...props} />}
      </div>
    </aside>
  );
}
