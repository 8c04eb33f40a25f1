//! SQL skeletons (DAIL-SQL): a query's shape with its literals masked, and how alike two shapes are. Used to
//! rerank few-shot examples by the shape of a draft query.

/// The SQL's skeleton: keywords, identifiers and punctuation lower-cased, every string and number literal
/// replaced by `?` (DAIL-SQL's "query skeleton"), so two queries with the same shape but other values match.
pub fn sql_skeleton(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '\'' {
            // A string literal ('' escapes a quote).
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                    }
                    Some('\'') | None => break,
                    _ => {}
                }
            }
            out.push("?".into());
        } else if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|d| d.is_ascii_alphanumeric() || *d == '.')
            {
                chars.next();
            }
            out.push("?".into());
        } else if c.is_alphanumeric() || c == '_' || c == '"' {
            let mut w = String::new();
            if c != '"' {
                w.push(c.to_ascii_lowercase());
            }
            while let Some(&d) = chars.peek() {
                if d.is_alphanumeric() || d == '_' || d == '.' || (c == '"' && d != '"') {
                    w.push(d.to_ascii_lowercase());
                    chars.next();
                } else {
                    break;
                }
            }
            if c == '"' {
                chars.next();
            }
            out.push(w);
        } else {
            out.push(c.to_string());
        }
    }
    out
}

/// Similarity of two skeletons in [0, 1]: Jaccard similarity of their token bigram multisets.
pub fn skeleton_similarity(a: &[String], b: &[String]) -> f32 {
    use std::collections::HashMap;
    let grams = |s: &[String]| {
        let mut m: HashMap<(String, String), usize> = HashMap::new();
        for w in s.windows(2) {
            *m.entry((w[0].clone(), w[1].clone())).or_default() += 1;
        }
        m
    };
    let (ga, gb) = (grams(a), grams(b));
    let inter: usize = ga
        .iter()
        .map(|(g, n)| gb.get(g).map_or(0, |m| (*n).min(*m)))
        .sum();
    let union: usize = ga.values().sum::<usize>() + gb.values().sum::<usize>() - inter;
    if union == 0 {
        0.0
    } else {
        inter as f32 / union as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skeleton_masks_literals_only() {
        let a = sql_skeleton(
            "SELECT src_endpoint.ip, count(*) FROM t WHERE api.operation = 'ConsoleLogin' AND time_dt > now() - INTERVAL '7' DAY LIMIT 10",
        );
        let b = sql_skeleton(
            "select src_endpoint.ip, COUNT(*) from t where api.operation = 'Decrypt' and time_dt > now() - interval '1' day limit 5",
        );
        assert_eq!(a, b);
        assert!(a.contains(&"api.operation".to_string()));
        assert_eq!(sql_skeleton("'it''s' 3.5"), vec!["?", "?"]);
        assert!((skeleton_similarity(&a, &b) - 1.0).abs() < 1e-6);
        let c = sql_skeleton("SELECT * FROM u JOIN v ON u.x = v.y");
        assert!(skeleton_similarity(&a, &c) < 0.3);
    }
}
