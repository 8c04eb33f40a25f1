"""Jupyter's rich display of an answer. Every value (question, SQL, result cells, explanation) is data from
the lake or a model and is escaped: it is shown as text, never interpreted as HTML."""

from __future__ import annotations

from html import escape
from typing import Any


def _text(v: Any) -> str:
    return escape(v if isinstance(v, str) else "" if v is None else str(v), quote=True)


def answer_html(d: dict[str, Any], max_rows: int = 10) -> str:
    """Question, SQL, the first ``max_rows`` rows, the explanation, attempts and cost, as escaped HTML."""
    h = ['<div class="asklake-answer">', f"<p><b>Q:</b> {_text(d.get('question'))}</p>"]
    if d.get("refusal"):
        h.append(f"<p><i>Declined:</i> {_text(d['refusal'])}</p>")
    if d.get("sql"):
        h.append(
            '<pre style="background:#f6f8fa;padding:6px"><code class="language-sql">'
            f"{_text(d['sql'])}</code></pre>"
        )
    if d.get("columns") and d.get("rows") is not None:
        h.append("<table><thead><tr>")
        h.extend(f"<th>{_text(c.get('name'))}</th>" for c in d["columns"])
        h.append("</tr></thead><tbody>")
        for row in d["rows"][:max_rows]:
            h.append("<tr>" + "".join(f"<td>{_text(v)}</td>" for v in row) + "</tr>")
        h.append(f"</tbody></table><p>{_text(d.get('row_count'))} row(s)</p>")
    if d.get("explanation"):
        h.append(f"<p>{_text(d['explanation']).replace(chr(10), '<br>')}</p>")
    usage = d.get("usage") or {}
    cost = usage.get("cost_usd")
    h.append(
        f'<p style="color:#666">{_text(d.get("model"))} · {len(d.get("attempts") or [])} attempt(s) · '
        f"{_text(usage.get('input_tokens'))} in / {_text(usage.get('output_tokens'))} out tokens"
        f"{'' if cost is None else f', ${cost:.4f}'} · {_text((d.get('timings_ms') or {}).get('total'))} ms</p></div>"
    )
    return "".join(h)
