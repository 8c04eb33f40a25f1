//! Rendering results for a terminal or a pipe: text tables, JSON, CSV. Text from the lake, the model or the
//! question is attacker-controlled, so what goes to a terminal has its control characters (ANSI escapes,
//! carriage returns, bidi overrides) made visible or removed.

use std::io::Write;

use asklake::engine::QueryResult;
use asklake::engine::format;
use comfy_table::{ContentArrangement, Table, presets};

use crate::args::Format;

/// Writes `text` and a newline to stdout. A closed pipe (`asklake tables | head -1`) ends the program
/// quietly, as Unix tools do.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// Like [`print`] without the newline, flushed (streamed explanations).
pub fn print_part(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// `s` safe to show on a terminal: control characters other than newline and tab, ANSI escape sequences,
/// and Unicode bidi / zero-width format characters are replaced by `�`-free visible escapes.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// One line of a cell: newlines and tabs become spaces, long text is cut to `max_width` characters.
fn cell(s: &str, max_width: usize) -> String {
    let s = clean(s).replace(['\n', '\t'], " ");
    if s.chars().count() > max_width {
        let mut t: String = s.chars().take(max_width.saturating_sub(1)).collect();
        t.push('…');
        t
    } else {
        s
    }
}

/// A text table of `headers` and `rows`, aligned by display width (Korean and other wide characters take
/// two columns), in Markdown-compatible ASCII.
pub fn table(headers: &[String], rows: &[Vec<String>], max_width: usize) -> String {
    let mut t = Table::new();
    t.load_preset(presets::ASCII_MARKDOWN)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.iter().map(|h| cell(h, max_width)));
    for r in rows {
        t.add_row(r.iter().map(|c| cell(c, max_width)));
    }
    t.to_string()
}

/// A query result as a text table.
pub fn result_table(result: &QueryResult, max_width: usize) -> String {
    let headers: Vec<String> = result
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    table(&headers, &format::rows_text(result), max_width)
}

/// `(N rows[, truncated at M], T ms)`.
pub fn result_footer(result: &QueryResult) -> String {
    format!(
        "({} row{}{}, {} ms)",
        result.row_count,
        if result.row_count == 1 { "" } else { "s" },
        if result.truncated { ", truncated" } else { "" },
        result.stats.elapsed.as_millis()
    )
}

/// A query result in `fmt`.
pub fn result(result: &QueryResult, fmt: Format) -> String {
    match fmt {
        Format::Json => format::to_json(result).to_string(),
        Format::Csv => format::to_csv(result).trim_end().to_string(),
        Format::Table => format!("{}\n{}", result_table(result, 60), result_footer(result)),
    }
}

/// Rows of text in `fmt`: a table, a JSON list of objects keyed by `headers`, or CSV.
pub fn records(headers: &[&str], rows: &[Vec<String>], fmt: Format) -> String {
    match fmt {
        Format::Table => {
            let h: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
            table(&h, rows, 160)
        }
        Format::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::Value::Object(
                        headers
                            .iter()
                            .zip(r)
                            .map(|(h, c)| (h.to_string(), serde_json::Value::String(c.clone())))
                            .collect(),
                    )
                })
                .collect();
            serde_json::Value::Array(v).to_string()
        }
        Format::Csv => format::csv_records(
            std::iter::once(headers.to_vec())
                .chain(rows.iter().map(|r| r.iter().map(String::as_str).collect())),
        )
        .trim_end()
        .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_align() {
        let t = table(
            &["질문".to_string(), "n".to_string()],
            &[
                vec!["어제 콘솔 로그인".to_string(), "1".to_string()],
                vec!["abc".to_string(), "22".to_string()],
            ],
            60,
        );
        let widths: Vec<usize> = t
            .lines()
            .map(|l| {
                l.chars()
                    .map(|c| {
                        if ('\u{ac00}'..='\u{d7a3}').contains(&c) {
                            2
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{t}\n{widths:?}");
    }

    #[test]
    fn terminal_escapes_are_neutralized() {
        let s = clean("a\u{1b}[31mred\u{7}\r\u{202e}x\u{200b}y\nz");
        assert!(
            !s.contains('\u{1b}') && !s.contains('\r') && !s.contains('\u{202e}'),
            "{s}"
        );
        assert!(s.contains("\\u{1b}[31mred") && s.ends_with("\nz"), "{s}");
    }

    #[test]
    fn long_cells_are_cut() {
        let t = table(&["c".into()], &[vec!["x".repeat(100)]], 10);
        assert!(t.contains(&format!("{}…", "x".repeat(9))), "{t}");
    }
}
