// The result as a chart (Chart.js on a canvas): the kind the result's shape suggests, switchable or off.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import type { Cell, Column } from "../api";
import { cellText, MAX_BARS, planChart, type ChartKind } from "../chart";

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);

const COLORS = ["#2563eb", "#d97706", "#059669"];

interface Props {
  columns: Column[];
  rows: Cell[][];
}

export function ResultChart({ columns, rows }: Props) {
  const auto = planChart(columns, rows);
  const [choice, setChoice] = useState<ChartKind | "off" | "auto">("auto");
  const canvas = useRef<HTMLCanvasElement>(null);
  const group = useId();
  const plan = choice === "off" ? null : choice === "auto" ? auto : planChart(columns, rows, choice);

  useEffect(() => {
    if (!plan || !canvas.current) return;
    // Time series read left to right; bars keep the result's order (usually ranked), capped.
    let data = rows;
    if (plan.kind === "line") data = [...rows].sort((a, b) => cellText(a[plan.x]).localeCompare(cellText(b[plan.x])));
    else data = rows.slice(0, MAX_BARS);
    const chart = new Chart(canvas.current, {
      type: plan.kind,
      data: {
        labels: data.map((r) => cellText(r[plan.x])),
        datasets: plan.ys.map((y, i) => ({
          label: columns[y].name,
          data: data.map((r) => (r[y] === null ? null : Number(r[y]))),
          backgroundColor: COLORS[i % COLORS.length],
          borderColor: COLORS[i % COLORS.length],
          tension: 0.2,
          pointRadius: data.length > 60 ? 0 : 3,
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        plugins: { legend: { display: plan.ys.length > 1 } },
        scales: { x: { ticks: { autoSkip: true, maxRotation: 45 } }, y: { beginAtZero: true } },
      },
    });
    return () => chart.destroy();
  }, [plan?.kind, plan?.x, plan?.ys.join(","), rows, columns]);

  if (!auto) return null;
  return (
    <div class="chart">
      <div class="toolbar">
        <span>Chart</span>
        {(["auto", "line", "bar", "off"] as const).map((k) => (
          <label key={k} class="radio">
            <input type="radio" name={group} checked={choice === k} onChange={() => setChoice(k)} />
            {k}
          </label>
        ))}
      </div>
      {plan && (
        <div class="chart-box">
          <canvas ref={canvas} data-testid="chart" data-kind={plan.kind} role="img" aria-label={`${plan.kind} chart of ${columns[plan.ys[0]].name} by ${columns[plan.x].name}`} />
        </div>
      )}
    </div>
  );
}
