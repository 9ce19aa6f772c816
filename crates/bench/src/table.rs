//! A plain-text table with aligned columns, pasteable into a note or a Markdown file
//! (rows are `|`-separated, with a header rule).

/// Rows of cells under a header; the first column is left-aligned, the rest right-aligned
/// (they hold numbers).
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells print empty, extra cells are kept (widening the table).
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// Renders the table, one line per row, each ending in a newline.
    pub fn render(&self) -> String {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.header.len()])
            .max()
            .unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| cell(r, i).chars().count())
                    .chain([cell(&self.header, i).chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |row: &[String]| {
            let cells: Vec<String> = widths
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    if i == 0 {
                        format!("{:<w$}", cell(row, i))
                    } else {
                        format!("{:>w$}", cell(row, i))
                    }
                })
                .collect();
            format!("| {} |\n", cells.join(" | "))
        };
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        let mut out = line(&self.header);
        out.push_str(&format!("|-{}-|\n", rule.join("-|-")));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// The `i`-th cell of a row, empty when the row is shorter.
fn cell(row: &[String], i: usize) -> &str {
    row.get(i).map(String::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let mut t = Table::new(["workload", "time"]);
        t.row(["a", "1.00"]);
        t.row(["longer", "12.50"]);
        assert_eq!(
            t.render(),
            "| workload |  time |\n\
             |----------|-------|\n\
             | a        |  1.00 |\n\
             | longer   | 12.50 |\n"
        );
    }

    #[test]
    fn ragged_rows_are_padded() {
        let mut t = Table::new(["x"]);
        t.row(["1", "2"]);
        t.row(Vec::<String>::new());
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{text}");
        assert_eq!(lines[2], "| 1 | 2 |");
    }
}
