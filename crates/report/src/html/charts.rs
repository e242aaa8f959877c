//! The report's charts, built from a [`RunResult`]: responses by status, latency over time per
//! outcome, users and throughput, the latency distribution, Retry-After and rate-limit headers.

use std::collections::BTreeMap;

use super::svg::{Chart, Kind, Marker, Series, Side, XAxis, YAxis};
use surge_analysis::figures::Figures;
use surge_record::result::{Quantiles, RunResult, Second};
use surge_record::{Hist, Outcome, StatusKey};

/// Colours per outcome class; the first is the class colour, the rest tell codes (or labels) apart.
pub fn palette(o: Outcome) -> &'static [&'static str] {
    match o {
        Outcome::Success => &["#2f9e44", "#74c69d", "#087f5b", "#b7e4c7"],
        Outcome::Throttled => &["#f08c00", "#ffc078", "#d9480f", "#ffe8cc"],
        Outcome::ClientError => &["#d6336c", "#f783ac", "#a61e4d", "#fcc2d7"],
        Outcome::ServerError => &["#e03131", "#ff8787", "#a51111", "#ffc9c9"],
        Outcome::Other => &["#868e96", "#adb5bd", "#495057", "#dee2e6"],
        Outcome::TransportError => &["#7048e8", "#b197fc", "#5f3dc4", "#d0bfff"],
        Outcome::Assertion => &["#c2255c", "#e64980", "#862e9c", "#eebefa"],
        Outcome::Extract => &["#5c940d", "#94d82d", "#2b8a3e", "#d8f5a2"],
        Outcome::Timeout => &["#364fc7", "#748ffc", "#1864ab", "#bac8ff"],
    }
}

/// A colour for the `k`-th status (or label) within its class.
pub fn shade(o: Outcome, k: usize) -> &'static str {
    let p = palette(o);
    p[k % p.len()]
}

/// Reads one quantile.
type Pick = fn(&Quantiles) -> u64;

const BLUE: &str = "#1c7ed6";
const INK: &str = "#495057";

/// One row per second from 0 to the last second, gaps as `None`.
fn dense(r: &RunResult) -> Vec<Option<&Second>> {
    let n = r
        .timeline
        .iter()
        .map(|s| s.t as usize + 1)
        .max()
        .unwrap_or(0);
    let mut rows = vec![None; n];
    for s in &r.timeline {
        rows[s.t as usize] = Some(s);
    }
    rows
}

fn first_429(r: &RunResult) -> Vec<Marker> {
    r.totals
        .first_429_s
        .map(|f| Marker {
            x: f,
            label: format!("first 429 · {f:.1} s"),
        })
        .into_iter()
        .collect()
}

fn counts(rows: &[Option<&Second>], f: impl Fn(&Second) -> u64) -> Vec<Option<f64>> {
    rows.iter().map(|s| Some(s.map_or(0, &f) as f64)).collect()
}

fn outcome_order(k: &StatusKey) -> (usize, StatusKey) {
    (k.outcome().index(), *k)
}

/// Every chart of the report, in page order; `f` are the figures of `r`.
pub fn all(r: &RunResult, f: &Figures) -> Vec<Chart> {
    let rows = dense(r);
    let mut all = vec![
        statuses(r, &rows),
        latency(r, f, &rows, Outcome::Success),
        latency(r, f, &rows, Outcome::Throttled),
    ];
    if !r.transactions.is_empty() {
        all.push(transaction_time(r, &rows));
        all.push(in_flight(r, f));
    }
    all.extend([
        users_throughput(r, &rows),
        distribution(r, f),
        retry_after(r, &rows),
        rate_limit(&rows),
    ]);
    all
}

/// Transaction time (median, p95, of those that succeeded) against the requests' 2xx time.
fn transaction_time(r: &RunResult, rows: &[Option<&Second>]) -> Chart {
    let mut c = time_chart(
        "c-txn-time",
        "2c · Transaction time against request time",
        "Time of each transaction that succeeded (begin → its last step's end), per second it ended, against the          requests' own 2xx service time: a transaction time that climbs while the requests stay fast is work queued          behind the API.",
        rows.len(),
        "time (s)",
    );
    let shades = ["#364fc7", "#748ffc", "#862e9c", "#cc5de8"];
    for (k, t) in r.transactions.iter().enumerate() {
        for (i, (q, f)) in [("p50", (|x: &Quantiles| x.p50) as Pick), ("p95", |x| x.p95)]
            .into_iter()
            .enumerate()
        {
            let values: Vec<Option<f64>> = rows
                .iter()
                .map(|s| {
                    s.and_then(|s| s.transactions.get(&t.name))
                        .and_then(|x| x.duration.get(&Outcome::Success))
                        .map(|x| f(x) as f64 / 1e6)
                })
                .collect();
            // A transaction that ends every few seconds (a canary) is dots: a line would
            // draw nothing between its ends.
            let held: Vec<usize> = (0..values.len()).filter(|i| values[*i].is_some()).collect();
            let sparse = held.len() * 2 < held.last().map_or(0, |l| l + 1 - held[0]);
            let kind = if sparse { Kind::Dots } else { Kind::Line };
            let mut s = Series::new(
                format!("{} {q}", t.name),
                shades[(2 * k + i) % shades.len()],
                kind,
                values,
            );
            s.unit = "s";
            s.width = 1.6 + 0.4 * i as f64;
            c.series.push(s);
        }
    }
    let mut s = Series::new(
        "requests 2xx p50 (all labels)",
        "#2f9e44",
        Kind::Line,
        rows.iter()
            .map(|s| s.and_then(|s| s.latency.get(&Outcome::Success).map(|x| x.p50 as f64 / 1e6)))
            .collect(),
    );
    s.unit = "s";
    s.dash = true;
    c.series.push(s);
    c.markers = first_429(r);
    c
}

/// Operations in flight at each second's end: begun, not yet ended.
fn in_flight(r: &RunResult, f: &Figures) -> Chart {
    let mut c = time_chart(
        "c-in-flight",
        "2d · Operations in flight",
        "Transactions begun and not yet ended at the end of each second (e.g. publishes sent whose operation has not          completed yet).",
        r.timeline.len(),
        "in flight",
    );
    for (k, x) in f.in_flight.iter().enumerate() {
        let mut s = Series::new(
            x.name.clone(),
            ["#1c7ed6", "#e8590c", "#5f3dc4"][k % 3],
            Kind::Step,
            x.per_second.iter().map(|v| Some(*v as f64)).collect(),
        );
        s.decimals = Some(0);
        c.series.push(s);
    }
    c.markers = first_429(r);
    c
}

fn time_chart(id: &str, title: &str, caption: &str, seconds: usize, left: &str) -> Chart {
    Chart {
        id: id.into(),
        title: title.into(),
        caption: caption.into(),
        x: XAxis::Time { seconds },
        left: YAxis {
            title: left.into(),
            log: false,
        },
        right: None,
        series: vec![],
        markers: vec![],
        empty: None,
    }
}

fn statuses(r: &RunResult, rows: &[Option<&Second>]) -> Chart {
    let mut c = time_chart(
        "c-status",
        "1 · Responses per second by status",
        "Responses counted in the second they completed, stacked by status code: green is served, amber is 429 \
         (throttled); the dashed line marks the first 429.",
        rows.len(),
        "responses / s",
    );
    let mut keys: Vec<StatusKey> = r
        .timeline
        .iter()
        .flat_map(|s| s.by_status.keys().copied())
        .collect();
    keys.sort_by_key(outcome_order);
    keys.dedup();
    let mut within: BTreeMap<Outcome, usize> = BTreeMap::new();
    for k in keys {
        let o = k.outcome();
        let idx = within.entry(o).or_default();
        let mut s = Series::new(
            k.label(),
            shade(o, *idx),
            Kind::Step,
            counts(rows, |s| s.by_status.get(&k).copied().unwrap_or(0)),
        );
        *idx += 1;
        s.stack = true;
        s.unit = "/s";
        s.decimals = Some(0);
        c.series.push(s);
    }
    if c.series.is_empty() {
        c.empty = Some("No response was recorded in this run.".into());
    }
    c.markers = first_429(r);
    c
}

/// When labels of very different speed share outcome `o` (a fast poll beside a slow publish),
/// the per-second percentiles of all labels follow whichever is sending: a caption sentence
/// naming the fastest and slowest medians, so a drop when the slow ones end is read as such.
fn mixed_speeds(f: &Figures, o: Outcome) -> Option<String> {
    let rows: Vec<_> = f
        .outcome_rows
        .iter()
        .filter(|x| x.outcome == o && x.count > 0)
        .collect();
    let fast = rows.iter().min_by_key(|x| x.service.p50_us)?;
    let slow = rows.iter().max_by_key(|x| x.service.p50_us)?;
    (slow.service.p50_us > 5 * fast.service.p50_us.max(1)).then(|| {
        format!(
            " All labels together: {} (p50 {} ms) and {} (p50 {} ms) share these lines, so they \
             fall to the fast label's times while the slow one is not sending; the table below \
             gives each label's own.",
            slow.label,
            crate::format::ms(slow.service.p50_us),
            fast.label,
            crate::format::ms(fast.service.p50_us)
        )
    })
}

fn latency(r: &RunResult, f: &Figures, rows: &[Option<&Second>], o: Outcome) -> Chart {
    let (id, title, what) = match o {
        Outcome::Throttled => (
            "c-lat-429",
            "2b · Latency over time: 429 responses",
            "429 responses",
        ),
        _ => (
            "c-lat-2xx",
            "2a · Latency over time: 2xx responses",
            "successful (2xx) responses",
        ),
    };
    let mut c = time_chart(
        id,
        title,
        &format!(
            "Service time (request sent → response read) of {what}, per second, drawn at the end of the second; \
             dashed: p99 response time from the intended start (corrected for coordinated omission; the legend says \
             when it equals p99 throughout). Never mixed with other outcomes.{}",
            mixed_speeds(f, o).unwrap_or_default()
        ),
        rows.len(),
        "service time (ms)",
    );
    // p50 light and thin, p95 the outcome's colour, p99 dark and thickest, the response time
    // from the intended start dashed in violet: four hues, so lines that meet stay apart.
    let shades: [&str; 4] = match o {
        Outcome::Throttled => ["#ffc078", "#f08c00", "#862e06", "#7048e8"],
        _ => ["#8ce99a", "#2f9e44", "#0b3d20", "#7048e8"],
    };
    let q = |s: &Second, f: Pick| s.latency.get(&o).map(|x| f(x) as f64 / 1000.0);
    let fns: [(&str, Pick); 3] = [("p50", |x| x.p50), ("p95", |x| x.p95), ("p99", |x| x.p99)];
    for (i, (name, f)) in fns.into_iter().enumerate() {
        let mut s = Series::new(
            name,
            shades[i],
            Kind::Line,
            rows.iter().map(|s| s.and_then(|s| q(s, f))).collect(),
        );
        s.unit = "ms";
        s.width = 1.2 + 0.6 * i as f64;
        c.series.push(s);
    }
    let mut s = Series::new(
        "p99 from intended start",
        shades[3],
        Kind::Line,
        rows.iter()
            .map(|s| s.and_then(|s| s.response_latency.get(&o).map(|x| x.p99 as f64 / 1000.0)))
            .collect(),
    );
    s.unit = "ms";
    s.dash = true;
    s.width = 1.6;
    c.series.push(s);
    if r.outcome_count(o) == 0 {
        c.empty = Some(format!("No {what} in this run."));
    }
    c.markers = first_429(r);
    c
}

fn users_throughput(r: &RunResult, rows: &[Option<&Second>]) -> Chart {
    let mut c = time_chart(
        "c-users",
        "3 · Active users and throughput",
        "Users active each second (left axis) against responses completed per second, all and 2xx only (right \
         axis): 2xx that stop rising while users rise mean a limit.",
        rows.len(),
        "active users",
    );
    c.right = Some(YAxis {
        title: "responses / s".into(),
        log: false,
    });
    let mut users = Series::new(
        "active users",
        BLUE,
        Kind::Step,
        counts(rows, |s| u64::from(s.active_users)),
    );
    users.width = 2.0;
    users.decimals = Some(0);
    let mut all = Series::new(
        "responses / s",
        INK,
        Kind::Step,
        counts(rows, |s| s.completed),
    );
    all.side = Side::Right;
    all.unit = "/s";
    all.decimals = Some(0);
    all.width = 1.2;
    let mut ok = Series::new(
        "2xx / s",
        shade(Outcome::Success, 0),
        Kind::Step,
        counts(rows, |s| {
            s.by_outcome.get(&Outcome::Success).copied().unwrap_or(0)
        }),
    );
    ok.side = Side::Right;
    ok.unit = "/s";
    ok.decimals = Some(0);
    c.series = vec![users, all, ok];
    if rows.is_empty() {
        c.empty = Some("The timeline is empty.".into());
    }
    c.markers = first_429(r);
    c
}

/// Percentile grid positions: log10(1/(1-q)) in steps of 0.05 up to what `max_count` supports.
fn grid(max_count: u64) -> Vec<f64> {
    let top = (max_count.max(10) as f64).log10().min(6.0);
    let steps = (top / 0.05).floor() as usize;
    (0..=steps).map(|k| k as f64 * 0.05).collect()
}

fn distribution(r: &RunResult, f: &Figures) -> Chart {
    // label × outcome → (service, response)
    let groups: Vec<(&String, Outcome, &Hist, &Hist)> = f
        .outcome_rows
        .iter()
        .map(|x| (&x.label, x.outcome, &x.service_hist, &x.response_hist))
        .collect();
    let max_count = groups.iter().map(|g| g.2.len()).max().unwrap_or(0);
    let xs = grid(max_count);
    let mut c = Chart {
        id: "c-dist".into(),
        title: "4 · Latency distribution per label and outcome".into(),
        caption: "Service time at each percentile from the run's HDR histograms (exact, whole run), one line per label \
                  and outcome, both axes logarithmic; dashed: 2xx response time from the intended start."
            .into(),
        x: XAxis::Percentile { xs: xs.clone() },
        left: YAxis { title: "latency (ms, log scale)".into(), log: true },
        right: None,
        series: vec![],
        markers: vec![],
        empty: None,
    };
    let multi = r.labels.len() > 1;
    let mut per_outcome: BTreeMap<Outcome, usize> = BTreeMap::new();
    for (label, o, sv, rs) in &groups {
        let k = per_outcome.entry(*o).or_default();
        let color = shade(*o, *k);
        *k += 1;
        // HDR quantiles are defined for any count; draw at least to p90 so a rare outcome still shows.
        let limit = (sv.len().max(1) as f64).log10().max(1.0);
        let at = |h: &Hist| -> Vec<Option<f64>> {
            xs.iter()
                .map(|x| {
                    (*x <= limit + 1e-9).then(|| h.quantile(1.0 - 10f64.powf(-x)) as f64 / 1000.0)
                })
                .collect()
        };
        let name = if multi {
            format!("{label} · {}", o.name())
        } else {
            o.name().to_string()
        };
        let mut s = Series::new(name.clone(), color, Kind::Line, at(sv));
        s.unit = "ms";
        s.width = 2.0;
        c.series.push(s);
        if *o == Outcome::Success {
            let mut s = Series::new(
                format!("{name} (from intended start)"),
                color,
                Kind::Line,
                at(rs),
            );
            s.unit = "ms";
            s.dash = true;
            s.width = 1.2;
            c.series.push(s);
        }
    }
    if c.series.is_empty() {
        c.empty = Some("No response was recorded in this run.".into());
    }
    c
}

fn retry_after(r: &RunResult, rows: &[Option<&Second>]) -> Chart {
    let pick = |f: fn(&BTreeMap<u32, u64>) -> Option<u32>| -> Vec<Option<f64>> {
        rows.iter()
            .map(|s| s.and_then(|s| f(&s.retry_after)).map(f64::from))
            .collect()
    };
    let hi_v = pick(|m| m.keys().next_back().copied());
    let lo_v = pick(|m| m.keys().next().copied());
    // When every second's 429s carried one value, largest and smallest are one series: draw it
    // once and say so, rather than hide one dot under the other.
    let one_value = hi_v == lo_v;
    let mut c = time_chart(
        "c-retry",
        "5 · Retry-After over time",
        if one_value {
            "The Retry-After value the 429s carried, per second (every 429 in a second carried the same value), \
             drawn at the end of its second: a server that counts down to its window's reset draws a sawtooth."
        } else {
            "The Retry-After values the 429s carried, per second: the largest (large light dot) and the smallest \
             (small dark dot, inside the large one when they agree), drawn at the end of their second. A server \
             that counts down to its window's reset draws a sawtooth."
        },
        rows.len(),
        "Retry-After (s)",
    );
    if one_value {
        let mut s = Series::new(
            "Retry-After",
            shade(Outcome::Throttled, 2),
            Kind::Dots,
            hi_v,
        );
        s.unit = "s";
        s.width = 5.0;
        c.series = vec![s];
    } else {
        let mut hi = Series::new("largest", shade(Outcome::Throttled, 1), Kind::Dots, hi_v);
        hi.unit = "s";
        hi.width = 9.0;
        let mut lo = Series::new("smallest", shade(Outcome::Throttled, 2), Kind::Dots, lo_v);
        lo.unit = "s";
        lo.width = 4.0;
        c.series = vec![hi, lo];
    }
    if r.totals.retry_after.is_empty() {
        let thr = r.outcome_count(Outcome::Throttled);
        c.empty = Some(if thr == 0 {
            "No 429 in this run, so no Retry-After.".into()
        } else {
            format!("None of the {thr} 429 responses carried a usable Retry-After header.")
        });
    }
    c.markers = first_429(r);
    c
}

fn rate_limit(rows: &[Option<&Second>]) -> Chart {
    let mut c = time_chart(
        "c-ratelimit",
        "6 · Rate-limit headers",
        "inin-ratelimit-count (highest each second) against inin-ratelimit-allowed: when the count meets the allowance, \
         requests get 429 until the reset (right axis).",
        rows.len(),
        "requests in the window",
    );
    c.right = Some(YAxis {
        title: "seconds to reset".into(),
        log: false,
    });
    let rl = |f: fn(&surge_record::result::RateLimitSecond) -> u32| -> Vec<Option<f64>> {
        rows.iter()
            .map(|s| {
                s.and_then(|s| s.rate_limit)
                    .filter(|l| l.responses > 0)
                    .map(|l| f64::from(f(&l)))
            })
            .collect()
    };
    let mut allowed = Series::new(
        "allowed",
        shade(Outcome::ServerError, 0),
        Kind::Step,
        rl(|l| l.allowed),
    );
    allowed.dash = true;
    allowed.decimals = Some(0);
    let mut count = Series::new("count", BLUE, Kind::Step, rl(|l| l.count_max));
    count.width = 2.0;
    count.decimals = Some(0);
    let mut reset = Series::new("reset", "#adb5bd", Kind::Dots, rl(|l| l.reset_min));
    reset.side = Side::Right;
    reset.unit = "s";
    reset.width = 3.0;
    let any = count.values.iter().any(Option::is_some);
    c.series = vec![allowed, count, reset];
    if !any {
        c.empty = Some("The server sent no inin-ratelimit-* headers in this run.".into());
    }
    c
}

#[cfg(test)]
mod tests;
