//! Source text for reports: lines read from the profiled program's files, each file once.
//! A file that cannot be read (moved, generated, `<string>`) simply has no text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Reads source lines relative to a root directory, caching whole files.
pub struct SourceFiles {
    root: PathBuf,
    /// The target's working directory: absolute filenames under it are re-rooted at `root`,
    /// so a profile can be reported on another machine next to a checkout of the code.
    cwd: String,
    files: HashMap<String, Option<Vec<String>>>,
}

impl SourceFiles {
    pub fn new(root: PathBuf, cwd: &str) -> Self {
        SourceFiles {
            root,
            cwd: cwd.to_string(),
            files: HashMap::new(),
        }
    }

    /// Where `filename` is read from.
    fn path(&self, filename: &str) -> PathBuf {
        let under_cwd = if self.cwd.is_empty() {
            None
        } else {
            filename
                .strip_prefix(self.cwd.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
        };
        match under_cwd {
            Some(rest) => self.root.join(rest),
            None if Path::new(filename).is_absolute() => PathBuf::from(filename),
            None => self.root.join(filename),
        }
    }

    /// Every line of `filename`, as written; `None` when the file cannot be read.
    pub fn lines(&mut self, filename: &str) -> Option<&[String]> {
        if !self.files.contains_key(filename) {
            let text = std::fs::read(self.path(filename)).ok().map(|bytes| {
                String::from_utf8_lossy(&bytes)
                    .lines()
                    .map(str::to_string)
                    .collect()
            });
            self.files.insert(filename.to_string(), text);
        }
        self.files.get(filename)?.as_deref()
    }

    /// Line `line` (1-based) of `filename`, trimmed; `None` when the file or line is missing.
    pub fn line(&mut self, filename: &str, line: u32) -> Option<&str> {
        let lines = self.lines(filename)?;
        let text = lines.get((line as usize).checked_sub(1)?)?.trim();
        (!text.is_empty()).then_some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn files_under_the_working_directory_resolve_under_the_root() {
        let root = testing::source_root("source");
        let mut files = SourceFiles::new(root, testing::CWD);
        assert_eq!(files.line("/work/app/lib/work.py", 2), Some("if n < 2:"));
        assert_eq!(files.line("app.py", 3), Some("lib.work.setup()"));
        assert_eq!(files.line("app.py", 2), None, "blank line");
        assert_eq!(files.line("app.py", 0), None);
        assert_eq!(files.line("app.py", 999), None);
        assert_eq!(files.line("<string>", 1), None);
        assert_eq!(files.line("/nonexistent/x.py", 1), None);
    }
}
