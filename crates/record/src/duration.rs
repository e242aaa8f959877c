//! The one duration grammar of surge, strict, and the only checked conversions from numbers of
//! seconds to [`Duration`]: every duration a user writes (scenario fields, `--set`, flags such
//! as `--start-tolerance`) is read by [`parse`] or [`from_secs`], and every internal conversion
//! from a float goes through [`from_secs`] or [`saturating_secs`], so no value can panic
//! converting or overflow an `Instant` later.
//!
//! The grammar ([`GRAMMAR`]): a number of seconds (`30`, `0.5`), or one or more
//! `<number><unit>` parts from the largest unit down, with units `h`, `m`, `s` and `ms`
//! (`250ms`, `10s`, `5m`, `1h30m`, `1m 30s`, `1.5s`). Nothing else: no `sec`, `min`, days or
//! spaces inside a part. At most [`MAX`] (30 days).
//!
//! Imports nothing of surge: scenarios, the command line and results all read it.

use std::time::Duration;

/// The longest duration surge accepts anywhere: 30 days.
pub const MAX: Duration = Duration::from_secs(30 * 24 * 3600);

/// What [`parse`] accepts, for error messages and `--help`.
pub const GRAMMAR: &str =
    "a number of seconds (30, 0.5) or \"250ms\", \"10s\", \"5m\", \"1h30m\" (units h, m, s, ms)";

/// A duration surge cannot use. Every message shows the grammar.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DurationError {
    /// A number of seconds below 0.
    #[error("must not be negative, got {0}; write {GRAMMAR}")]
    Negative(f64),
    /// Not a finite number (NaN, infinity).
    #[error("{0} is not a number of seconds; write {GRAMMAR}")]
    NotFinite(f64),
    /// Longer than [`MAX`].
    #[error("{given} is longer than the longest duration surge takes (720h, 30 days)")]
    TooLong {
        /// As given.
        given: String,
    },
    /// Text outside the grammar.
    #[error("{text:?} is not a duration ({reason}); write {GRAMMAR}")]
    Text {
        /// As written.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A number of seconds as a duration: finite, not negative, at most [`MAX`].
///
/// # Errors
/// [`DurationError::Negative`], [`DurationError::NotFinite`], [`DurationError::TooLong`].
pub fn from_secs(s: f64) -> Result<Duration, DurationError> {
    if s.is_nan() || s.is_infinite() && s > 0.0 {
        return Err(if s.is_nan() {
            DurationError::NotFinite(s)
        } else {
            DurationError::TooLong {
                given: show_secs(s),
            }
        });
    }
    if s < 0.0 {
        return Err(DurationError::Negative(s));
    }
    if s > MAX.as_secs_f64() {
        return Err(DurationError::TooLong {
            given: show_secs(s),
        });
    }
    Ok(Duration::from_secs_f64(s))
}

/// `1e300 s`, `90 s`: a number of seconds as a person reads it.
fn show_secs(s: f64) -> String {
    if s.abs() >= 1e7 {
        format!("{s:e} s")
    } else {
        format!("{s} s")
    }
}

/// A number of seconds from a source surge does not control (a server's `expires_in`, a
/// computed offset): NaN and negatives are 0, anything above [`MAX`] is [`MAX`]. Never panics.
pub fn saturating_secs(s: f64) -> Duration {
    if s.is_nan() || s <= 0.0 {
        Duration::ZERO
    } else if s >= MAX.as_secs_f64() {
        MAX
    } else {
        Duration::from_secs_f64(s)
    }
}

/// Parses [`GRAMMAR`]: `"30"`, `"0.5"`, `"250ms"`, `"10s"`, `"5m"`, `"1h30m"`, `"1m 30s"`.
///
/// # Errors
/// [`DurationError`], whose message shows the grammar.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(surge_record::duration::parse("1h30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(surge_record::duration::parse("250ms").unwrap(), Duration::from_millis(250));
/// assert!(surge_record::duration::parse("10 sec").is_err());
/// ```
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    let bad = |reason: &str| DurationError::Text {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    if t.is_empty() {
        return Err(bad("empty"));
    }
    if let Some(n) = plain_number(t) {
        return from_secs(n);
    }
    if let Some(abs) = t.strip_prefix('-') {
        return Err(DurationError::Negative(
            plain_number(abs).map_or(-1.0, |n| -n),
        ));
    }
    // Units from the largest down; each may appear once.
    const UNITS: [(&str, f64); 4] = [("h", 3600.0), ("m", 60.0), ("s", 1.0), ("ms", 0.001)];
    let mut total = 0.0f64;
    let mut last_rank: Option<usize> = None;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(digits);
        let n = plain_number(num).ok_or_else(|| {
            if num.is_empty() {
                bad("each part starts with a number")
            } else {
                bad(&format!("{num:?} is not a number"))
            }
        })?;
        let unit_len = tail
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(tail.len());
        let (unit, after) = tail.split_at(unit_len);
        if unit.is_empty() {
            return Err(bad(&if after.starts_with(char::is_whitespace) {
                format!("no space between {num} and its unit")
            } else {
                format!("{num} has no unit; a bare number must stand alone")
            }));
        }
        let Some(rank) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(bad(&format!("unknown unit {unit:?}")));
        };
        if last_rank.is_some_and(|r| rank <= r) {
            return Err(bad("write each unit once, from the largest down (1h30m)"));
        }
        last_rank = Some(rank);
        total += n * UNITS[rank].1;
        rest = after.trim_start();
    }
    from_secs(total).map_err(|e| match e {
        DurationError::TooLong { .. } => DurationError::TooLong {
            given: format!("{t:?}"),
        },
        e => e,
    })
}

/// `123`, `1.5`, `.5`: digits with at most one decimal point; None for anything else.
fn plain_number(s: &str) -> Option<f64> {
    let ok = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_digit() || c == '.')
        && s.chars().filter(|c| *c == '.').count() <= 1
        && s.chars().any(|c| c.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten()
}

/// `d` in the grammar [`parse`] reads back (whole milliseconds): `1h30m`, `2m5s`, `250ms`, `0s`.
/// Every duration surge shows or writes into a command line is written so.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(surge_record::duration::format(Duration::from_millis(5_405_250)), "1h30m5s250ms");
/// ```
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000u128), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        let n = (ms / size)
            % if unit == "h" {
                u128::MAX
            } else if unit == "ms" {
                1000
            } else {
                60
            };
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    out
}

/// `value_parser` for command-line flags that take a duration.
///
/// # Errors
/// The [`DurationError`] as text (clap prefixes the flag).
pub fn parse_flag(s: &str) -> Result<Duration, String> {
    parse(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_table() {
        let ms = Duration::from_millis;
        let ok: &[(&str, Duration)] = &[
            ("30", Duration::from_secs(30)),
            ("0.5", ms(500)),
            (" 10s ", Duration::from_secs(10)),
            ("250ms", ms(250)),
            ("5m", Duration::from_secs(300)),
            ("1h30m", Duration::from_secs(5400)),
            ("1m 30s", Duration::from_secs(90)),
            ("1.5s", ms(1500)),
            ("2h 1m 1s 5ms", ms(7_261_005)),
            ("0", Duration::ZERO),
            ("720h", MAX),
        ];
        for (t, want) in ok {
            assert_eq!(parse(t), Ok(*want), "{t}");
        }
        for t in [
            "", "10 sec", "10min", "10sec", "1d", "s", "10", "1.2.3s", "30m1h", "1s1s", "1 s",
            "-5s", "-1", "721h", "1e3", "NaN", "inf", "10s!", "1h30", "ms",
        ] {
            if t == "10" {
                continue;
            }
            let e = parse(t).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("\"10s\"") || msg.contains("720h"),
                "{t}: {msg} must show the grammar or the limit"
            );
        }
    }

    #[test]
    fn format_reads_back() {
        for ms in [
            0u64,
            1,
            999,
            1000,
            61_001,
            3_600_000,
            5_405_250,
            86_400_000 * 30,
        ] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse(&format(d)), Ok(d), "{}", format(d));
        }
    }

    #[test]
    fn conversions_never_panic() {
        for s in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1.0,
            1e300,
            2e19,
            1e-300,
            0.0,
        ] {
            let _ = from_secs(s);
            assert!(saturating_secs(s) <= MAX);
        }
        assert_eq!(from_secs(1.5), Ok(Duration::from_millis(1500)));
        assert!(matches!(
            from_secs(2e19),
            Err(DurationError::TooLong { .. })
        ));
        assert!(matches!(from_secs(-5.0), Err(DurationError::Negative(_))));
    }
}
