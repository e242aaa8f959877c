//! Reading a `[[data]] kind = "csv"` file: bounded in size and line length, its header row or
//! `columns` naming the fields, every problem as `file:line: problem`.

use std::path::{Path, PathBuf};

/// A CSV data file that cannot be used; displays as `file:line: problem`.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The file cannot be opened.
    #[error("cannot read {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: csv::Error,
    },
    /// A row (or the header) is not what the source needs.
    #[error("{}:{line}: {message}", path.display())]
    At {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// Reading failed part-way (a limit, an I/O error): says which.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A header and no data.
    #[error("{}: has no data rows", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// Reads a CSV data file. Without `columns`, the header row names the variables; with them,
/// every row is data (after an optional header row to skip). Every row must have as many
/// fields as there are names.
///
/// # Errors
/// [`CsvError`]: unreadable file, a ragged row (with its line), or no data rows.
pub fn load_csv(
    path: &Path,
    delim: u8,
    columns: Option<&[String]>,
    skip_header: bool,
) -> Result<(Vec<String>, Vec<Vec<String>>), CsvError> {
    let at = |line: u64, message: String| CsvError::At {
        path: path.to_path_buf(),
        line,
        message,
    };
    use surge_record::limits::{Bounded, LimitError, DATA_FILE_BYTES, LINE_BYTES};
    let file = std::fs::File::open(path).map_err(|e| CsvError::Open {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    let limit = |e: &csv::Error| -> Option<CsvError> {
        let csv::ErrorKind::Io(io) = e.kind() else {
            return None;
        };
        Some(CsvError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::new(io.kind(), io.to_string()),
        })
    };
    if file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() > DATA_FILE_BYTES)
    {
        return Err(CsvError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                LimitError::TooLarge(DATA_FILE_BYTES),
            ),
        });
    }
    // Bounded while reading too: a file that never ends (/dev/zero, a pipe) stops at the limit.
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .has_headers(columns.is_none() || skip_header)
        .flexible(true)
        .from_reader(Bounded::new(file, DATA_FILE_BYTES, LINE_BYTES));
    let header: Vec<String> = match columns {
        Some(c) => c.iter().map(|s| s.trim().to_string()).collect(),
        None => rdr
            .headers()
            .map_err(|e| {
                limit(&e).unwrap_or_else(|| at(e.position().map_or(1, |p| p.line()), e.to_string()))
            })?
            .iter()
            .map(|h| h.trim().to_string())
            .collect(),
    };
    if header.is_empty() || header.iter().any(String::is_empty) {
        return Err(at(1, "the header row must name every column".into()));
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            limit(&e).unwrap_or_else(|| at(e.position().map_or(0, |p| p.line()), e.to_string()))
        })?;
        // With `columns`, they name the first fields and a longer line's rest is not read (as
        // JMeter's variableNames); a shorter line is a mistake either way.
        let longer_ok = columns.is_some() && rec.len() > header.len();
        if rec.len() != header.len() && !longer_ok {
            let line = rec.position().map_or(0, |p| p.line());
            return Err(at(
                line,
                format!(
                    "has {} fields, expected {} ({})",
                    rec.len(),
                    header.len(),
                    header.join(", ")
                ),
            ));
        }
        rows.push(rec.iter().take(header.len()).map(str::to_string).collect());
    }
    if rows.is_empty() {
        return Err(CsvError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok((header, rows))
}
