//! `[tool.fluoro]` in `pyproject.toml`, found by walking up from the advised path.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The `[tool.fluoro]` table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Rules to enable (codes, prefixes, names, `ALL`); every rule when absent.
    #[serde(default)]
    pub select: Vec<String>,
    /// Rules to disable.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Glob patterns (gitignore syntax) of files and directories to skip.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// The directory holding the `pyproject.toml`, to which `exclude` is relative.
    #[serde(skip)]
    pub root: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid [tool.fluoro] in {path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<Tool>,
}

#[derive(Deserialize)]
struct Tool {
    fluoro: Option<Config>,
}

impl Config {
    /// The nearest `pyproject.toml` at or above `start` that has a `[tool.fluoro]` table.
    pub fn discover(start: &Path) -> Result<Option<Config>, ConfigError> {
        let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
        let mut dir = if start.is_dir() {
            Some(start.as_path())
        } else {
            start.parent()
        };
        while let Some(d) = dir {
            let candidate = d.join("pyproject.toml");
            if candidate.is_file() {
                if let Some(config) = Config::load(&candidate)? {
                    return Ok(Some(config));
                }
            }
            dir = d.parent();
        }
        Ok(None)
    }

    /// The `[tool.fluoro]` table of one `pyproject.toml`, if it has one.
    pub fn load(path: &Path) -> Result<Option<Config>, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        // Only a file that mentions the table is parsed: other tools' pyproject.toml
        // syntax is not fluoro's business.
        if !text.contains("tool.fluoro") {
            return Ok(None);
        }
        let parsed: Pyproject = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: shown.clone(),
            message: e.message().to_owned(),
        })?;
        Ok(parsed.tool.and_then(|t| t.fluoro).map(|mut c| {
            c.root = path.parent().map(Path::to_path_buf);
            c
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_walking_up_and_unknown_keys_rejected() {
        let dir = std::env::temp_dir().join(format!("fluoro-advise-config-{}", std::process::id()));
        let sub = dir.join("pkg/sub");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(
            dir.join("pyproject.toml"),
            "[project]\nname = 'x'\n[tool.fluoro]\nselect = ['FLU1']\nignore = ['FLU104']\nexclude = ['build/']\n",
        )
        .unwrap();
        let config = Config::discover(&sub).unwrap().unwrap();
        assert_eq!(config.select, vec!["FLU1"]);
        assert_eq!(config.ignore, vec!["FLU104"]);
        assert_eq!(config.exclude, vec!["build/"]);
        std::fs::write(dir.join("pyproject.toml"), "[tool.fluoro]\nselekt = []\n").unwrap();
        let err = Config::discover(&sub).unwrap_err().to_string();
        assert!(err.contains("selekt"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
