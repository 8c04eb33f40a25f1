//! `accuracy_vs_cost.png`: one point per model × variant, accuracy (with its 95% interval) against dollars
//! per question, drawn with `plotters` on an RGB buffer and written with the `png` crate. Text is DejaVu Sans
//! from the `dejavu` crate (registered with plotters' `ab_glyph` fonts): no system fonts, nothing fetched.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use super::runner::Summary;
use crate::error::{Error, Result};

const W: usize = 960;
const H: usize = 600;
/// Width of the legend column on the right.
const RIGHT: usize = 300;

type Rgb = [u8; 3];

const PALETTE: [Rgb; 8] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
];

/// Dollars with as many decimals as the first significant digit needs: `$1.30`, `$0.08`, `$0.0012`.
fn money(x: f64) -> String {
    if x <= 0.0 {
        return "$0".into();
    }
    if x >= 1.0 {
        return format!("${x:.2}");
    }
    let decimals = ((-x.log10().floor()) as usize + 1).clamp(2, 8);
    let mut s = format!("{x:.decimals$}");
    while decimals > 2 && s.ends_with('0') && s.len() > 4 {
        s.pop();
    }
    format!("${s}")
}

fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("accuracy_vs_cost.png: {e}"))
}

/// DejaVu Sans as plotters' "sans-serif", once per process.
fn fonts() -> Result<()> {
    static DONE: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .and_then(|_| register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold()))
            .map_err(|_| "the bundled DejaVu Sans did not load".to_string())
    })
    .clone()
    .map_err(plot_error)
}

/// The plot as PNG bytes. Points without a price (models with no pricing data) are listed, not plotted.
pub fn accuracy_vs_cost(summary: &[Summary]) -> Result<Vec<u8>> {
    fonts()?;
    let priced: Vec<(&Summary, f64)> = summary
        .iter()
        .filter_map(|s| Some((s, s.cost_usd? / s.n.max(1) as f64)))
        .collect();
    let (lo, hi) = priced.iter().fold((f64::INFINITY, 0f64), |(a, b), (_, x)| {
        (a.min(*x), b.max(*x))
    });
    // Costs spanning more than a factor of 20 go on a log scale: x is then log10(dollars).
    let log = lo > 0.0 && hi / lo > 20.0;
    let (xmin, xmax) = if priced.is_empty() {
        (0.0, 1.0)
    } else if log {
        (lo.log10().floor(), hi.log10().ceil())
    } else {
        (0.0, if hi > 0.0 { hi * 1.15 } else { 1.0 })
    };
    let to_x = |v: f64| if log { v.max(1e-12).log10() } else { v };
    let mut models: Vec<&str> = Vec::new();
    for s in summary {
        if !models.contains(&s.model.as_str()) {
            models.push(&s.model);
        }
    }
    let colour = |m: &str| {
        let [r, g, b] = PALETTE[models.iter().position(|x| *x == m).unwrap_or(0) % PALETTE.len()];
        RGBColor(r, g, b)
    };

    let mut buf = vec![255u8; W * H * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (W as u32, H as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let (plot, legend) = root.split_horizontally((W - RIGHT) as u32);
        let mut chart = ChartBuilder::on(&plot)
            .caption(
                "asklake: execution accuracy vs cost per question",
                ("sans-serif", 22).into_font().style(FontStyle::Bold),
            )
            .margin(16)
            .x_label_area_size(46)
            .y_label_area_size(64)
            .build_cartesian_2d(xmin..xmax, 0f64..1f64)
            .map_err(plot_error)?;
        let x_label = |v: &f64| money(if log { 10f64.powf(*v) } else { *v });
        let y_label = |v: &f64| format!("{:.0}%", v * 100.0);
        chart
            .configure_mesh()
            .x_desc(if log {
                "$ per question (log scale)"
            } else {
                "$ per question"
            })
            .y_desc("accuracy (95% CI)")
            .x_labels(if log { (xmax - xmin) as usize + 1 } else { 5 })
            .y_labels(6)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .light_line_style(WHITE)
            .draw()
            .map_err(plot_error)?;
        for (s, cost) in &priced {
            let c = colour(&s.model);
            let x = to_x(*cost);
            chart
                .draw_series([ErrorBar::new_vertical(
                    x,
                    s.accuracy_ci.0,
                    s.accuracy,
                    s.accuracy_ci.1,
                    c.stroke_width(2),
                    10,
                )])
                .map_err(plot_error)?;
            // The label sits right of the point, or left of it near the right edge so it stays in the plot.
            let right_edge = (x - xmin) / (xmax - xmin) > 0.8;
            let (dx, h) = if right_edge {
                (-10, HPos::Right)
            } else {
                (10, HPos::Left)
            };
            let label = ("sans-serif", 14)
                .into_font()
                .color(&c)
                .pos(Pos::new(h, VPos::Center));
            chart
                .draw_series([EmptyElement::at((x, s.accuracy))
                    + Circle::new((0, 0), 6, c.filled())
                    + Text::new(s.variant.clone(), (dx, 0), label)])
                .map_err(plot_error)?;
        }

        // Legend: models, then what could not be plotted (pixel coordinates of the legend area).
        let text = |t: &str, at: (i32, i32), c: &RGBColor| {
            Text::new(t.to_string(), at, ("sans-serif", 15).into_font().color(c))
        };
        let mut y = 64i32;
        legend
            .draw(&text("models", (16, y), &BLACK))
            .map_err(plot_error)?;
        y += 26;
        for m in &models {
            let name: String = m.chars().take(32).collect();
            legend
                .draw(&Circle::new((22, y + 8), 6, colour(m).filled()))
                .map_err(plot_error)?;
            legend
                .draw(&text(&name, (36, y), &BLACK))
                .map_err(plot_error)?;
            y += 24;
        }
        let unpriced: Vec<&Summary> = summary.iter().filter(|s| s.cost_usd.is_none()).collect();
        if !unpriced.is_empty() {
            y += 14;
            legend
                .draw(&text("no price (not plotted):", (16, y), &BLACK))
                .map_err(plot_error)?;
            y += 22;
            for s in unpriced {
                let line: String = format!("{:.0}% {} {}", 100.0 * s.accuracy, s.model, s.variant)
                    .chars()
                    .take(36)
                    .collect();
                legend
                    .draw(&text(&line, (16, y), &colour(&s.model)))
                    .map_err(plot_error)?;
                y += 20;
            }
        }
        root.present().map_err(plot_error)?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, W as u32, H as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(plot_error)?;
        w.write_image_data(&buf).map_err(plot_error)?;
        w.finish().map_err(plot_error)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(model: &str, variant: &str, acc: f64, cost: Option<f64>) -> Summary {
        Summary {
            model: model.into(),
            variant: variant.into(),
            n: 100,
            accuracy: acc,
            accuracy_ci: super::super::runner::wilson((acc * 100.0) as usize, 100),
            accuracy_relaxed: acc,
            mean_attempts: 1.0,
            p50_latency_ms: 0,
            p95_latency_ms: 0,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: cost,
            by_difficulty: Default::default(),
            by_lang: Default::default(),
            diagnostics: Default::default(),
        }
    }

    #[test]
    fn money_labels_read_as_dollars() {
        assert_eq!(money(0.0), "$0");
        assert_eq!(money(0.0001), "$0.0001");
        assert_eq!(money(0.0012), "$0.0012");
        assert_eq!(money(0.01), "$0.01");
        assert_eq!(money(0.5), "$0.50");
        assert_eq!(money(6.5), "$6.50");
    }

    #[test]
    fn plots_one_point_per_model_and_variant() {
        let s = vec![
            summary("haiku", "rag", 0.40, Some(0.08)),
            summary("haiku", "rag+repair", 0.48, Some(0.11)),
            summary("sonnet", "rag+repair", 0.62, Some(1.3)),
            summary("opus", "rag+repair", 0.66, Some(6.5)),
            summary("local", "rag", 0.30, None),
        ];
        let png_bytes = accuracy_vs_cost(&s).unwrap();
        if let Some(p) = std::env::var_os("ASKLAKE_PLOT_OUT") {
            std::fs::write(p, &png_bytes).unwrap();
        }
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (W as u32, H as u32));
        // Each priced model's colour appears in the plot area (its point).
        let in_plot = |c: Rgb| {
            (60..H - 50).any(|y| {
                (80..W - RIGHT).any(|x| {
                    let i = (y * W + x) * 3;
                    buf[i..i + 3] == c
                })
            })
        };
        for (m, colour) in PALETTE.iter().enumerate().take(3) {
            assert!(in_plot(*colour), "model {m} not plotted");
        }
        // The unpriced model is listed in the legend only.
        assert!(!in_plot(PALETTE[3]));
    }
}
