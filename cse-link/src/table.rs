//! Text tables of the `cse` output (the demo's attack table, `cse inspect`'s rows) on
//! `comfy-table`: cells aligned, and, given a width, wrapped so that no line is wider.

use comfy_table::{CellAlignment, ContentArrangement, LineStyle, Table, TableStyle};

/// Header row underlined with `-`, columns separated by spaces, no borders.
const STYLE: TableStyle = TableStyle::new().header_separator(LineStyle::none().fill('-'));

/// The width to wrap tables to: the terminal's when standard output is one, else `$COLUMNS`
/// when set, else none (no wrapping: a file gets whole cells).
pub fn output_width() -> Option<u16> {
    let term = console::Term::stdout();
    if term.is_term()
        && let Some((_, cols)) = term.size_checked()
    {
        return Some(cols);
    }
    std::env::var("COLUMNS").ok()?.trim().parse().ok()
}

/// A table of `header` and `rows`; columns listed in `right` are right-aligned. With `width`,
/// cells wrap (at spaces where they can, inside a word where they must) so that every line
/// fits in `width` columns.
pub fn render(
    header: &[&str],
    rows: Vec<Vec<String>>,
    right: &[usize],
    width: Option<u16>,
) -> String {
    let mut t = Table::new();
    t.load_style(STYLE);
    t.set_header(header.iter().copied());
    for r in rows {
        t.add_row(r);
    }
    for &i in right {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    match width {
        Some(w) => {
            t.set_width(w);
            t.set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    let mut s = String::new();
    for line in t.lines() {
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_and_wraps_to_the_width() {
        let long = "rejected: tag mismatch, scope failed, frame counter gap, ".repeat(4);
        let unbroken = "x".repeat(150);
        let rows = vec![
            vec!["a".into(), long.clone(), "ok".into()],
            vec!["bb".into(), unbroken.clone(), "FAIL".into()],
        ];
        for w in [40u16, 60, 80, 120] {
            let t = render(&["k", "observed", "result"], rows.clone(), &[], Some(w));
            for line in t.lines() {
                assert!(line.chars().count() <= usize::from(w), "{w}: {line:?}\n{t}");
            }
            // Nothing lost to wrapping.
            assert_eq!(t.matches('x').count(), unbroken.len(), "{t}");
            assert_eq!(
                t.matches("scope failed").count() + t.matches("scope\n").count(),
                4
            );
        }
        // Without a width nothing wraps: one line per row plus header and rule.
        let t = render(&["k", "observed", "result"], rows, &[], None);
        assert_eq!(t.lines().count(), 4, "{t}");
        // The cells of a column start at the same place.
        let col = |l: &str| l.find("ok").or_else(|| l.find("FAIL")).unwrap_or(0);
        let lines: Vec<&str> = t.lines().skip(2).collect();
        assert!(col(lines[0]) > 0);
        assert_eq!(col(lines[0]), col(lines[1]), "{t}");
    }
}
