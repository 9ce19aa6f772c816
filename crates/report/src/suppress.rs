//! Suppression files: `race:<function glob>` and `src:<file glob>` rules that hide
//! findings.

use std::path::Path;

use crate::error::ReportError;
use crate::finding::Finding;
use crate::glob::Glob;
use crate::source_path::display_path;

/// What a suppression rule matches against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressionKind {
    /// `race:` — data races with a frame whose function name matches.
    Race,
    /// `deadlock:` — lock-order inversions and lock misuse with a frame whose
    /// function name matches.
    Deadlock,
    /// `src:` — findings of any kind with a frame whose source file matches, either as
    /// DWARF recorded it or as reports print it (`src/main.rs`).
    Src,
}

/// One rule of a suppressions file.
#[derive(Debug, Clone)]
pub struct Suppression {
    /// What the pattern is matched against.
    pub kind: SuppressionKind,
    /// The pattern as written.
    pub pattern: String,
    /// 1-based line in the file it came from.
    pub line: usize,
    glob: Glob,
}

impl Suppression {
    /// Whether this rule hides `finding`: some frame of any of its stacks matches.
    pub fn matches(&self, finding: &Finding) -> bool {
        match self.kind {
            SuppressionKind::Race => {
                matches!(finding, Finding::DataRace(_))
                    && finding
                        .frames()
                        .any(|f| self.glob.matches(&f.function_display()))
            }
            SuppressionKind::Deadlock => {
                matches!(
                    finding,
                    Finding::LockOrderInversion(_) | Finding::LockMisuse(_)
                ) && finding
                    .frames()
                    .any(|f| self.glob.matches(&f.function_display()))
            }
            SuppressionKind::Src => finding.frames().any(|f| {
                f.file.as_deref().is_some_and(|file| {
                    self.glob.matches(file) || self.glob.matches(&display_path(file))
                })
            }),
        }
    }
}

/// A parsed suppressions file.
///
/// Format: one rule per line, `race:<glob>`, `deadlock:<glob>` or `src:<glob>`; blank lines and lines
/// starting with `#` are ignored; surrounding whitespace is trimmed. Globs match the
/// whole string, with `*` (any run of characters) and `?` (one character).
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    rules: Vec<Suppression>,
}

impl Suppressions {
    /// Reads and parses a suppressions file.
    pub fn from_file(path: &Path) -> Result<Suppressions, ReportError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Suppressions::parse(&text, &path.display().to_string())
    }

    /// Parses suppressions text; `source` names it in errors (usually the file path).
    pub fn parse(text: &str, source: &str) -> Result<Suppressions, ReportError> {
        let mut rules = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let error = |message: String| ReportError::Suppression {
                file: source.to_string(),
                line: i + 1,
                message,
            };
            let Some((kind, pattern)) = line.split_once(':') else {
                return Err(error(format!(
                    "expected `race:<function glob>` or `src:<file glob>`, found `{line}`"
                )));
            };
            let kind = match kind.trim() {
                "race" => SuppressionKind::Race,
                "src" => SuppressionKind::Src,
                "deadlock" => SuppressionKind::Deadlock,
                other => {
                    return Err(error(format!(
                        "unknown suppression type `{other}` (expected `race`, `deadlock` or `src`)"
                    )))
                }
            };
            let pattern = pattern.trim();
            if pattern.is_empty() {
                return Err(error("empty pattern".to_string()));
            }
            rules.push(Suppression {
                kind,
                pattern: pattern.to_string(),
                line: i + 1,
                glob: Glob::new(pattern),
            });
        }
        Ok(Suppressions { rules })
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Suppression] {
        &self.rules
    }

    /// The first rule hiding `finding`, if any.
    pub fn matching(&self, finding: &Finding) -> Option<&Suppression> {
        self.rules.iter().find(|r| r.matches(finding))
    }

    /// Whether some rule hides `finding`.
    pub fn is_suppressed(&self, finding: &Finding) -> bool {
        self.matching(finding).is_some()
    }
}
