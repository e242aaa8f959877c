//! How numbers are written, for every output: the terminal, `report.html`, `compare.html` and the
//! CSV files format figures only through these functions, so one value never prints two ways.
//!
//! Human text (terminal, HTML) rounds to what a reader can use; CSV keeps full precision
//! ([`ms_exact`]), and a human value is always the CSV value rounded ([`ms`] of the same µs).

use surge_analysis::figures::Share;
use surge_plan::threshold::Kind;

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Milliseconds for people, from µs: at least three significant digits, at most three decimals
/// (`4776`, `17.5`, `4.00`, `0.250`).
pub fn ms(us: u64) -> String {
    ms_f(us as f64)
}

/// [`ms`] of a fractional µs value (a mean).
pub fn ms_f(us: f64) -> String {
    let v = us / 1000.0;
    if !v.is_finite() {
        return "–".into();
    }
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Milliseconds for machines (CSV), from µs: microsecond precision (`4776.000`).
pub fn ms_exact(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

/// [`ms_exact`] of a fractional µs value (a mean).
pub fn ms_exact_f(us: f64) -> String {
    format!("{:.3}", us / 1000.0)
}

/// A rate (or any positive quantity) with at most three significant digits: `4.7`, `0.475`,
/// `12.3`, `123`; `0` for zero or less.
pub fn rate(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        return "0".into();
    }
    trim(if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    })
}

/// A fraction in [0, 1] as a percentage with one decimal: `16.8%`, `<0.1%` for a tiny non-zero
/// share, `0.0%`.
pub fn pct(x: f64) -> String {
    let p = 100.0 * x;
    if !p.is_finite() {
        "–".into()
    } else if p > 0.0 && p < 0.1 {
        "<0.1%".into()
    } else if p < 100.0 && p > 99.95 {
        ">99.9%".into()
    } else {
        format!("{p:.1}%")
    }
}

/// A share as [`pct`]; `–` over an empty whole.
pub fn share(s: Share) -> String {
    s.value().map_or("–".into(), pct)
}

/// A share for CSV: a fraction with four decimals (`0.8320`); empty over an empty whole.
pub fn share_exact(s: Share) -> String {
    s.value().map_or(String::new(), |v| format!("{v:.4}"))
}

/// A rate for CSV: three decimals.
pub fn rate_exact(v: f64) -> String {
    format!("{v:.3}")
}

/// A point in time or a short span, seconds with one decimal: `25.4 s`.
pub fn secs(s: f64) -> String {
    format!("{s:.1} s")
}

/// A duration: `44.3 s` under two minutes, then `3 min 05 s`, `1 h 02 min 00 s`.
pub fn duration(s: f64) -> String {
    if s < 120.0 {
        return secs(s);
    }
    let t = s.round() as u64;
    if t >= 3600 {
        format!("{} h {:02} min {:02} s", t / 3600, t % 3600 / 60, t % 60)
    } else {
        format!("{} min {:02} s", t / 60, t % 60)
    }
}

/// What answered a run, as the terminal says it before the run: `built-in mock, preset seed`,
/// or the host (with the preset of a `surge mock` that answered there).
pub fn target(t: &surge_record::result::TargetInfo) -> String {
    match (t.kind, t.mock_preset) {
        (surge_record::result::TargetKind::Mock, Some(p)) => mock_target(p),
        (surge_record::result::TargetKind::Mock, None) => "built-in mock".into(),
        (surge_record::result::TargetKind::Url, Some(p)) => {
            format!("{} (surge mock, preset {p})", t.host)
        }
        (surge_record::result::TargetKind::Url, None) => t.host.clone(),
    }
}

/// `built-in mock, preset seed`.
pub fn mock_target(preset: impl std::fmt::Display) -> String {
    format!("built-in mock, preset {preset}")
}

/// An RFC 3339 time as people read it, to the second: `2026-12-07 04:28:22 UTC` (as it is when
/// it does not parse).
pub fn when(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(rfc3339, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        Err(_) => rfc3339.to_string(),
    }
}

/// A number with at most three decimals, trailing zeros dropped (`12.5`, `0.333`, `40`): the
/// full-precision form CSV files and gate values share.
pub fn decimal(v: f64) -> String {
    trim(format!("{v:.3}"))
}

/// A threshold's or a baseline's value in its metric's unit: `912ms`, `4.2s`, `3.1%`, `12.5/s`,
/// `0.03`; `never` for an infinitely late time, `∞` for an unbounded number.
pub fn gate_value(v: f64, kind: Kind) -> String {
    match kind {
        Kind::Time if v.is_infinite() => "never".into(),
        Kind::Time if v < 1.0 => trim(format!("{:.1}", v * 1e3)) + "ms",
        Kind::Time => decimal(v) + "s",
        Kind::Share => decimal(v * 100.0) + "%",
        Kind::PerSecond => trim(format!("{v:.2}")) + "/s",
        Kind::Number if v.is_infinite() => "∞".into(),
        Kind::Number => decimal(v),
    }
}

/// A change in a metric's unit, signed (`+12ms`, `-0.4s`); a share's in percentage points
/// (`+1.20pp`).
pub fn gate_change(d: f64, kind: Kind) -> String {
    let s = match kind {
        Kind::Share => format!("{:.2}pp", d.abs() * 100.0),
        _ => gate_value(d.abs(), kind),
    };
    format!("{}{s}", if d < 0.0 { "-" } else { "+" })
}

/// A compared figure: integers plain, else three significant digits at most two decimals
/// (`500`, `71.2`, `0.40`, `114`); `–` where it does not apply.
pub fn figure(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v.fract() == 0.0 || v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// [`figure`] with its unit (`71.2 %`, `54.6 s`).
pub fn figure_with_unit(v: f64, unit: &str) -> String {
    let s = figure(v);
    if unit.is_empty() || !v.is_finite() {
        s
    } else {
        format!("{s} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_for_people_and_machines() {
        for (us, want) in [
            (4_776_000, "4776"),
            (17_500, "17.5"),
            (4_000, "4.00"),
            (250, "0.250"),
            (100_000, "100"),
        ] {
            assert_eq!(ms(us), want, "{us}");
        }
        assert_eq!(ms_exact(4_776_123), "4776.123");
        assert_eq!(
            when("2026-12-07T04:28:22.116072064Z"),
            "2026-12-07 04:28:22 UTC"
        );
        // The human value is the machine value rounded.
        let exact: f64 = ms_exact(17_549).parse().unwrap();
        assert_eq!(format!("{exact:.1}"), ms(17_549));
    }

    #[test]
    fn rates_shares_and_durations() {
        for (v, want) in [
            (4.7, "4.7"),
            (5.0, "5"),
            (12.25, "12.2"),
            (123.4, "123"),
            (0.475, "0.475"),
            (0.0, "0"),
        ] {
            assert_eq!(rate(v), want, "{v}");
        }
        assert_eq!(share(Share::new(416, 500)), "83.2%");
        assert_eq!(share(Share::new(1, 5000)), "<0.1%");
        assert_eq!(share(Share::new(0, 0)), "–");
        assert_eq!(share_exact(Share::new(1, 3)), "0.3333");
        assert_eq!(duration(44.31), "44.3 s");
        assert_eq!(duration(185.0), "3 min 05 s");
    }
}
