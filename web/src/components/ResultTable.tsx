// A result table: sortable by any column, paginated, with each column's type; copy as tab-separated text
// and download as CSV. Every value is rendered as text (Preact escapes it), never as HTML.
import Papa from "papaparse";
import { useMemo, useState } from "preact/hooks";
import type { Cell, Column } from "../api";
import { cellText, isNumeric } from "../chart";

const PAGE = 25;

interface Props {
  columns: Column[];
  rows: Cell[][];
  truncated: boolean;
  name: string;
}

function compare(a: Cell, b: Cell, numeric: boolean): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  if (numeric) return Number(a) - Number(b);
  return cellText(a).localeCompare(cellText(b));
}

export function ResultTable({ columns, rows, truncated, name }: Props) {
  const [sort, setSort] = useState<{ col: number; desc: boolean } | null>(null);
  const [page, setPage] = useState(0);
  const [copied, setCopied] = useState(false);

  const sorted = useMemo(() => {
    if (!sort) return rows;
    const numeric = isNumeric(columns[sort.col]);
    const out = [...rows].sort((a, b) => compare(a[sort.col], b[sort.col], numeric));
    return sort.desc ? out.reverse() : out;
  }, [rows, columns, sort]);

  const pages = Math.max(1, Math.ceil(sorted.length / PAGE));
  const shown = sorted.slice(page * PAGE, page * PAGE + PAGE);
  const table = () => sorted.map((r) => r.map(cellText));

  const onSort = (col: number) => {
    setSort((s) => (s && s.col === col ? { col, desc: !s.desc } : { col, desc: false }));
    setPage(0);
  };
  const copy = async () => {
    const text = Papa.unparse({ fields: columns.map((c) => c.name), data: table() }, { delimiter: "\t" });
    await navigator.clipboard.writeText(text);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  const download = () => {
    const csv = Papa.unparse({ fields: columns.map((c) => c.name), data: table() });
    const url = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `${name}.csv`;
    a.click();
    URL.revokeObjectURL(url);
  };

  if (columns.length === 0) return null;
  return (
    <div class="result">
      <div class="toolbar">
        <span data-testid="row-count">
          {rows.length} row{rows.length === 1 ? "" : "s"}
          {truncated ? " (truncated)" : ""}
        </span>
        <span class="grow" />
        <button type="button" onClick={copy}>
          {copied ? "Copied" : "Copy"}
        </button>
        <button type="button" onClick={download}>
          CSV
        </button>
      </div>
      <div class="table-wrap">
        <table data-testid="result-table">
          <thead>
            <tr>
              {columns.map((c, i) => (
                <th key={i} onClick={() => onSort(i)} title={`Sort by ${c.name}`} aria-sort={
                  sort?.col === i ? (sort.desc ? "descending" : "ascending") : "none"
                }>
                  <span class="col-name">{c.name}</span>
                  {sort?.col === i ? (sort.desc ? " ▾" : " ▴") : ""}
                  <span class="col-type">{c.type}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((r, i) => (
              <tr key={page * PAGE + i}>
                {r.map((v, j) => (
                  <td key={j} class={v === null ? "null" : isNumeric(columns[j]) ? "num" : ""}>
                    {v === null ? "NULL" : cellText(v)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {pages > 1 && (
        <div class="pager">
          <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
            ‹ Prev
          </button>
          <span>
            page {page + 1} of {pages}
          </span>
          <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
            Next ›
          </button>
        </div>
      )}
    </div>
  );
}
