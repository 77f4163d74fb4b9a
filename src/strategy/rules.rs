//! User rules (SPEC 9.2): named SQL queries in a file, evaluated by SQLite over the store.
//!
//! The file holds one or more rules, each a line `-- name: NAME` followed by one query:
//!
//! ```sql
//! -- name: heavy_bar
//! SELECT ts, close AS price, volume AS value FROM bars
//! WHERE instrument = :instrument AND window_s = :window_s AND ts >= :from AND ts < :to
//!   AND volume > 100;
//! ```
//!
//! A query returns `ts` and optionally `price`, `value` and `detail`; it may use `:instrument`,
//! `:window_s`, `:from` and `:to` (the closed bars being evaluated, `[from, to)`), and rows
//! outside that range are left out.

use std::path::{Path, PathBuf};

use crate::store::repository::Store;

/// One user rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub sql: String,
    /// The line of its `-- name:` in the file.
    pub line: usize,
}

/// A rules file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read the rules file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} line {line}: {message}")]
    Format {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("rule `{name}` ({path} line {line}) cannot be used: {message}")]
    Rule {
        name: String,
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// The rules of a file, checked against `store` (SQLite prepares each one: a syntax error
/// names its rule).
///
/// # Errors
/// [`RulesError`]: the file cannot be read, is not a list of named queries, or a query is not
/// one SQLite accepts as a read-only query returning `ts`.
pub fn load(path: &Path, store: &Store) -> Result<Vec<Rule>, RulesError> {
    let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
        path: path.to_owned(),
        source,
    })?;
    let rules = parse(&text).map_err(|(line, message)| RulesError::Format {
        path: path.to_owned(),
        line,
        message,
    })?;
    for rule in &rules {
        store
            .check_rule(&rule.sql)
            .map_err(|error| RulesError::Rule {
                name: rule.name.clone(),
                path: path.to_owned(),
                line: rule.line,
                message: error.to_string(),
            })?;
    }
    Ok(rules)
}

/// The rules in `text`, or the line and reason it is not a rules file.
pub fn parse(text: &str) -> Result<Vec<Rule>, (usize, String)> {
    let mut rules: Vec<Rule> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix("--")
            .map(str::trim_start)
            .and_then(|rest| rest.strip_prefix("name:"))
        {
            let name = name.trim();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err((
                    number,
                    format!("rule name {name:?}: use letters, digits, `_` and `-`"),
                ));
            }
            if rules.iter().any(|rule| rule.name == name) {
                return Err((number, format!("rule `{name}` is named twice")));
            }
            rules.push(Rule {
                name: name.to_owned(),
                sql: String::new(),
                line: number,
            });
            continue;
        }
        match rules.last_mut() {
            Some(rule) => {
                rule.sql.push_str(line);
                rule.sql.push('\n');
            }
            None if trimmed.is_empty() || trimmed.starts_with("--") => {}
            None => {
                return Err((
                    number,
                    "a query before any `-- name: NAME` line: name each rule".to_owned(),
                ));
            }
        }
    }
    for rule in &mut rules {
        let sql = rule.sql.trim().trim_end_matches(';').trim().to_owned();
        if sql
            .lines()
            .all(|line| line.trim().is_empty() || line.trim().starts_with("--"))
        {
            return Err((rule.line, format!("rule `{}` has no query", rule.name)));
        }
        rule.sql = sql;
    }
    if rules.is_empty() {
        return Err((
            1,
            "no rule: start each with a line `-- name: NAME`".to_owned(),
        ));
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_named_queries() {
        let rules = parse(
            "-- my rules\n\n-- name: heavy\nSELECT ts FROM bars\nWHERE volume > 1;\n\n-- name: quiet\nSELECT ts FROM bars WHERE volume < 1\n",
        )
        .unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!((rules[0].name.as_str(), rules[0].line), ("heavy", 3));
        assert_eq!(rules[0].sql, "SELECT ts FROM bars\nWHERE volume > 1");
        assert!(parse("SELECT 1").is_err());
        assert!(parse("-- name: a\n").is_err());
        assert!(parse("-- name: a\nSELECT 1\n-- name: a\nSELECT 2").is_err());
    }

    #[test]
    fn a_syntax_error_names_its_rule() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.sql");
        std::fs::write(
            &path,
            "-- name: good\nSELECT ts FROM bars\n-- name: broken\nSELEC ts FROM bars\n",
        )
        .unwrap();
        let store = Store::in_memory().unwrap();
        let error = load(&path, &store).unwrap_err().to_string();
        assert!(error.contains("rule `broken`"), "{error}");
        assert!(error.contains("line 3"), "{error}");
        assert!(error.contains("syntax error"), "{error}");
        std::fs::write(&path, "-- name: writer\nDELETE FROM bars\n").unwrap();
        let error = load(&path, &store).unwrap_err().to_string();
        assert!(
            error.contains("rule `writer`") && error.contains("may only read"),
            "{error}"
        );
        std::fs::write(&path, "-- name: no_ts\nSELECT close FROM bars\n").unwrap();
        let error = load(&path, &store).unwrap_err().to_string();
        assert!(error.contains("`ts`"), "{error}");
    }
}
