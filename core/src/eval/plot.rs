//! `accuracy_vs_cost.png`: one point per model × variant, accuracy (with its 95% interval) against dollars
//! per question. Drawn on a small raster canvas with a public-domain 8×8 bitmap font and written with the
//! `png` crate: no plotting stack, no system fonts.

use super::runner::Summary;
use crate::error::{Error, Result};

const W: usize = 960;
const H: usize = 600;
const LEFT: usize = 80;
const RIGHT: usize = 300;
const TOP: usize = 60;
const BOTTOM: usize = 70;

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

struct Canvas {
    px: Vec<u8>,
}

impl Canvas {
    fn new() -> Self {
        Canvas {
            px: vec![255; W * H * 3],
        }
    }

    fn set(&mut self, x: i64, y: i64, c: Rgb) {
        if x >= 0 && y >= 0 && (x as usize) < W && (y as usize) < H {
            let i = (y as usize * W + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), c: Rgb) {
        // Bresenham.
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.set(x, y, c);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    fn disc(&mut self, cx: i64, cy: i64, r: i64, c: Rgb) {
        for y in -r..=r {
            for x in -r..=r {
                if x * x + y * y <= r * r {
                    self.set(cx + x, cy + y, c);
                }
            }
        }
    }

    /// ASCII text with its top-left corner at (x, y); `scale` pixels per font pixel. Other characters are `?`.
    fn text(&mut self, x: i64, y: i64, s: &str, scale: i64, c: Rgb) {
        for (i, ch) in s.chars().enumerate() {
            let code = if ch.is_ascii() && !ch.is_ascii_control() {
                ch as usize
            } else {
                '?' as usize
            };
            let glyph = font8x8::legacy::BASIC_LEGACY[code];
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        for dy in 0..scale {
                            for dx in 0..scale {
                                self.set(
                                    x + (i as i64 * 8 + col) * scale + dx,
                                    y + row as i64 * scale + dy,
                                    c,
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    fn png(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, W as u32, H as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .map_err(|e| Error::Internal(format!("png: {e}")))?;
        w.write_image_data(&self.px)
            .map_err(|e| Error::Internal(format!("png: {e}")))?;
        w.finish()
            .map_err(|e| Error::Internal(format!("png: {e}")))?;
        Ok(out)
    }
}

fn money(x: f64) -> String {
    if x >= 1.0 {
        format!("${x:.2}")
    } else if x >= 0.01 {
        format!("${x:.3}")
    } else {
        format!("${x:.1e}")
    }
}

/// The plot as PNG bytes. Points without a price (models with no pricing data) are listed, not plotted.
pub fn accuracy_vs_cost(summary: &[Summary]) -> Result<Vec<u8>> {
    let mut c = Canvas::new();
    let black = [0, 0, 0];
    let grey = [200, 200, 200];
    c.text(
        LEFT as i64,
        18,
        "asklake: execution accuracy vs cost per question",
        2,
        black,
    );
    let (x0, x1, y0, y1) = (
        LEFT as i64,
        (W - RIGHT) as i64,
        TOP as i64,
        (H - BOTTOM) as i64,
    );

    let priced: Vec<(&Summary, f64)> = summary
        .iter()
        .filter_map(|s| Some((s, s.cost_usd? / s.n.max(1) as f64)))
        .collect();
    let costs: Vec<f64> = priced.iter().map(|(_, c)| *c).collect();
    let (lo, hi) = costs
        .iter()
        .fold((f64::INFINITY, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
    let log = lo > 0.0 && hi / lo > 20.0;
    let (xmin, xmax) = if costs.is_empty() {
        (0.0, 1.0)
    } else if log {
        (lo.log10().floor(), hi.log10().ceil())
    } else {
        (0.0, if hi > 0.0 { hi * 1.15 } else { 1.0 })
    };
    let to_x = |v: f64| -> i64 {
        let t = if log { v.max(1e-12).log10() } else { v };
        x0 + (((t - xmin) / (xmax - xmin).max(1e-12)) * (x1 - x0) as f64).round() as i64
    };
    let to_y = |acc: f64| -> i64 { y1 - (acc.clamp(0.0, 1.0) * (y1 - y0) as f64).round() as i64 };

    // Grid, axes and ticks.
    for i in 0..=5 {
        let acc = i as f64 / 5.0;
        let y = to_y(acc);
        c.line((x0, y), (x1, y), grey);
        c.text(x0 - 48, y - 4, &format!("{:>4.0}%", acc * 100.0), 1, black);
    }
    let ticks: Vec<f64> = if log {
        (xmin as i64..=xmax as i64)
            .map(|k| 10f64.powi(k as i32))
            .collect()
    } else {
        (0..=4)
            .map(|i| xmin + (xmax - xmin) * i as f64 / 4.0)
            .collect()
    };
    for t in ticks {
        let x = to_x(t);
        c.line((x, y0), (x, y1), grey);
        let label = money(t);
        c.text(x - 4 * label.len() as i64, y1 + 8, &label, 1, black);
    }
    c.line((x0, y1), (x1, y1), black);
    c.line((x0, y0), (x0, y1), black);
    c.text(
        x0 + 120,
        (H - 30) as i64,
        if log {
            "$ per question (log scale)"
        } else {
            "$ per question"
        },
        1,
        black,
    );
    c.text(8, y0 - 16, "accuracy (95% CI)", 1, black);

    // One colour per model, in first-seen order.
    let mut models: Vec<&str> = Vec::new();
    for s in summary {
        if !models.contains(&s.model.as_str()) {
            models.push(&s.model);
        }
    }
    let colour =
        |m: &str| PALETTE[models.iter().position(|x| *x == m).unwrap_or(0) % PALETTE.len()];
    for (s, cost) in &priced {
        let (x, y) = (to_x(*cost), to_y(s.accuracy));
        let col = colour(&s.model);
        let (lo, hi) = (to_y(s.accuracy_ci.0), to_y(s.accuracy_ci.1));
        c.line((x, lo), (x, hi), col);
        c.line((x - 4, lo), (x + 4, lo), col);
        c.line((x - 4, hi), (x + 4, hi), col);
        c.disc(x, y, 5, col);
        c.text(x + 8, y - 12, &s.variant, 1, col);
    }

    // Legend: models, then what could not be plotted.
    let lx = (W - RIGHT + 20) as i64;
    let mut ly = y0;
    for m in &models {
        c.disc(lx + 4, ly + 4, 5, colour(m));
        let name: String = m.chars().take(34).collect();
        c.text(lx + 16, ly, &name, 1, black);
        ly += 18;
    }
    let unpriced: Vec<&Summary> = summary.iter().filter(|s| s.cost_usd.is_none()).collect();
    if !unpriced.is_empty() {
        ly += 10;
        c.text(lx, ly, "no price (not plotted):", 1, black);
        ly += 14;
        for s in unpriced {
            let line: String = format!("{:.0}% {} {}", 100.0 * s.accuracy, s.model, s.variant)
                .chars()
                .take(34)
                .collect();
            c.text(lx, ly, &line, 1, colour(&s.model));
            ly += 12;
        }
    }
    c.png()
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
            (TOP..H - BOTTOM).any(|y| {
                (LEFT..W - RIGHT).any(|x| {
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
