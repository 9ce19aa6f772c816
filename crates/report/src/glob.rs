//! A tiny glob matcher for suppression patterns.

/// A whole-string glob: `*` matches any run of characters (including `/` and `::`),
/// `?` matches exactly one character, everything else matches itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: Vec<char>,
}

impl Glob {
    /// Compiles `pattern`; every string is a valid pattern.
    pub fn new(pattern: &str) -> Glob {
        Glob {
            pattern: pattern.chars().collect(),
        }
    }

    /// Whether `text` matches the whole pattern.
    ///
    /// Linear-space greedy matching with backtracking to the last `*` only, which is
    /// complete for `*`/`?` globs and O(pattern × text) in the worst case.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let p = &self.pattern;
        let (mut pi, mut ti) = (0usize, 0usize);
        // Position after the last `*` seen, and the text position it was tried at.
        let mut backtrack: Option<(usize, usize)> = None;
        while ti < text.len() {
            match p.get(pi) {
                Some('*') => {
                    pi += 1;
                    backtrack = Some((pi, ti));
                }
                Some(&c) if c == '?' || c == text[ti] => {
                    pi += 1;
                    ti += 1;
                }
                _ => match backtrack {
                    // Let the last `*` swallow one more character and retry.
                    Some((star_p, star_t)) => {
                        pi = star_p;
                        ti = star_t + 1;
                        backtrack = Some((star_p, star_t + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p).matches(t)
    }

    #[test]
    fn literal_is_whole_string() {
        assert!(m("racy::bump", "racy::bump"));
        assert!(!m("racy::bump", "racy::bump2"));
        assert!(!m("racy::bump", "xracy::bump"));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn star_spans_anything() {
        assert!(m("racy::*", "racy::main::{{closure}}"));
        assert!(m("*::bump", "racy::bump"));
        assert!(m("*/src/*.rs", "/home/u/racy/src/main.rs"));
        assert!(m("*", ""));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "aXbYbZ"));
        assert!(m("**", "x"));
    }

    #[test]
    fn question_mark_is_one_char() {
        assert!(m("f?o", "foo"));
        assert!(!m("f?o", "fo"));
        assert!(!m("f?o", "fooo"));
        assert!(m("?*", "é"));
    }
}
