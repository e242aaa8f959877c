//! The segments of a distributed run as the reports show them, from the result's `distributed`
//! section: for a merged result every segment (its host, how late it started after the barrier,
//! its clock's offset when known, duration, requests and stop reason), the absent ones, and why
//! the merge is partial; for one segment's own result, which segment of which run it is. One
//! set of rows for `surge merge`'s terminal summary and report.html's "Segments" section.

use std::fmt::Write as _;

use super::format::{duration, ms_f};
use super::html::esc;
use surge_record::distributed::{Distributed, Member};
use surge_record::RunResult;

/// One segment, its figures as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Its index, from 1.
    pub segment: u32,
    /// The host (pod) it ran on; `–` when absent.
    pub host: String,
    /// How late it began after the barrier, by its own clock.
    pub late: String,
    /// Its clock's offset from segment 1's.
    pub offset: String,
    /// Its wall duration.
    pub duration: String,
    /// Attempts it recorded.
    pub requests: String,
    /// Why it ended (`missing` for a segment absent from the merge).
    pub stop: String,
    /// Absent from the merge, or stopped early.
    pub short: bool,
}

/// What the reports say about a distributed run.
#[derive(Debug, Clone, PartialEq)]
pub struct Segments {
    /// One line: which segments of which run, and how they started.
    pub heading: String,
    /// Every segment, absent ones included, in order.
    pub rows: Vec<Row>,
    /// Why the merge is partial, one cause per segment at fault (empty when whole).
    pub causes: Vec<String>,
}

/// The column headings, in the rows' order.
pub const COLUMNS: [&str; 7] = [
    "segment",
    "host",
    "start after barrier",
    "clock offset",
    "duration",
    "requests",
    "stop reason",
];

/// How the figures are read, for the reader of the table.
pub const NOTE: &str = "Start after the barrier: by each segment's own clock. Clock offset: from segment 1's clock, 0 for segments on its host; between hosts it is not measured (NTP keeps nodes typically within a few ms).";

fn row(m: &Member) -> Row {
    Row {
        segment: m.segment,
        host: m.host.clone(),
        late: m
            .late_ms
            .map_or_else(|| "no barrier".into(), |l| format!("{} ms", ms_f(l * 1e3))),
        offset: match m.clock_offset_ms {
            None => "not measured".into(),
            Some(0.0) => "0 ms".into(),
            Some(o) => format!("{} ms", ms_f(o * 1e3)),
        },
        duration: duration(m.duration_s),
        requests: m.requests.to_string(),
        stop: m.stop_reason.to_string(),
        short: m.partial,
    }
}

fn missing_row(segment: u32) -> Row {
    let dash = || "–".to_string();
    Row {
        segment,
        host: dash(),
        late: dash(),
        offset: dash(),
        duration: dash(),
        requests: dash(),
        stop: "missing".into(),
        short: true,
    }
}

/// The heading of a merge: segments merged, and how they started: the barrier and the latest
/// start after it (with a barrier every segment's clock starts at the barrier), else how far
/// apart their starts were by their clocks.
fn merge_heading(d: &Distributed) -> String {
    let start = match (&d.start_at, d.latest_late_ms()) {
        (Some(at), Some(l)) => format!("barrier {at}, latest start {l:.1} ms after it"),
        _ => format!(
            "no barrier: starts {} ms apart by their clocks",
            d.start_spread_ms()
        ),
    };
    format!(
        "merged {} of {} segments of run {}: {start}",
        d.members.len(),
        d.segments,
        d.run_id
    )
}

/// Why a merge is partial: each absent segment, each segment that stopped early.
fn causes(d: &Distributed) -> Vec<String> {
    let mut out = Vec::new();
    if !d.missing.is_empty() {
        let which: Vec<String> = d.missing.iter().map(u32::to_string).collect();
        out.push(if which.len() == 1 {
            format!(
                "segment {} is missing (merged with --allow-missing)",
                which[0]
            )
        } else {
            format!(
                "segments {} are missing (merged with --allow-missing)",
                which.join(", ")
            )
        });
    }
    for m in d.members.iter().filter(|m| m.partial) {
        let how = if m.stop_reason.is_failed() {
            "failed"
        } else {
            "stopped early"
        };
        out.push(format!("segment {} {how}: {}", m.segment, m.stop_reason));
    }
    out
}

/// The segments of `r`, when it is a distributed result (a merge or one segment).
pub fn of(r: &RunResult) -> Option<Segments> {
    let d = r.distributed.as_ref()?;
    if let Some(i) = d.segment {
        return Some(Segments {
            heading: format!(
                "segment {i} of {} of run {}: one part of a distributed run; `surge merge` the {} segments' results for the whole run",
                d.segments, d.run_id, d.segments
            ),
            rows: d.members.iter().map(row).collect(),
            causes: Vec::new(),
        });
    }
    let mut rows: Vec<Row> = d.members.iter().map(row).collect();
    rows.extend(d.missing.iter().map(|&i| missing_row(i)));
    rows.sort_by_key(|r| r.segment);
    Some(Segments {
        heading: merge_heading(d),
        rows,
        causes: causes(d),
    })
}

impl Row {
    fn cells(&self) -> [String; 7] {
        [
            self.segment.to_string(),
            self.host.clone(),
            self.late.clone(),
            self.offset.clone(),
            self.duration.clone(),
            self.requests.clone(),
            self.stop.clone(),
        ]
    }
}

/// The terminal's lines: the heading, the table of segments (unless `brief`), and the partial
/// merge's causes.
pub fn terminal(s: &Segments, brief: bool) -> String {
    let mut out = format!("{}\n", s.heading);
    if !brief {
        let cells: Vec<[String; 7]> = s.rows.iter().map(Row::cells).collect();
        let width = |c: usize| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .chain([COLUMNS[c].chars().count()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..7).map(width).collect();
        let line = |cols: [&str; 7]| {
            let mut l = String::new();
            for (c, v) in cols.iter().enumerate() {
                let pad = widths[c] - v.chars().count();
                // Text columns (host, stop reason) to the left, figures to the right.
                if c == 1 || c == 6 {
                    l += v;
                    if c < 6 {
                        l += &" ".repeat(pad);
                    }
                } else {
                    l += &" ".repeat(pad);
                    l += v;
                }
                if c < 6 {
                    l += "  ";
                }
            }
            l.trim_end().to_string() + "\n"
        };
        out += &line(COLUMNS);
        for r in &cells {
            out += &line(std::array::from_fn(|c| r[c].as_str()));
        }
    }
    if !s.causes.is_empty() {
        let _ = writeln!(out, "PARTIAL merge: {}", s.causes.join("; "));
    }
    out
}

/// report.html's "Segments" section, for a distributed result (nothing otherwise).
pub fn html(out: &mut String, r: &RunResult) {
    let Some(s) = of(r) else {
        return;
    };
    let _ = write!(
        out,
        "<section id=\"segments\"><h2>Segments</h2><p class=\"note\">{}.</p>",
        esc(&s.heading)
    );
    if !s.causes.is_empty() {
        let _ = write!(
            out,
            "<p class=\"rec\"><b>Partial merge</b> {}.</p>",
            esc(&s.causes.join("; "))
        );
    }
    out.push_str("<div class=\"scroll\"><table><thead><tr>");
    for (c, h) in COLUMNS.iter().enumerate() {
        let class = if c == 1 || c == 6 { "" } else { " class=\"n\"" };
        let _ = write!(out, "<th{class}>{h}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for row in &s.rows {
        let _ = write!(
            out,
            "<tr{}>",
            if row.short { " class=\"short\"" } else { "" }
        );
        for (c, v) in row.cells().iter().enumerate() {
            let class = if c == 1 || c == 6 { "" } else { " class=\"n\"" };
            let _ = write!(out, "<td{class}>{}</td>", esc(v));
        }
        out.push_str("</tr>");
    }
    let _ = write!(
        out,
        "</tbody></table></div><p class=\"note\">{NOTE}</p></section>"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use surge_record::StopReason;

    fn member(segment: u32, host: &str, late: f64, offset: Option<f64>) -> Member {
        Member {
            segment,
            host: host.into(),
            started_unix_ms: 1_000 + u64::from(segment),
            late_ms: Some(late),
            clock_offset_ms: offset,
            duration_s: 45.125,
            requests: 125,
            stop_reason: StopReason::Completed,
            partial: false,
        }
    }

    fn merged(members: Vec<Member>, missing: Vec<u32>) -> RunResult {
        let mut r = surge_record::synthetic::result(30, &["get"]);
        r.distributed = Some(Distributed {
            run_id: "seed-x4".into(),
            segments: 4,
            segment: None,
            start_at: Some("2026-03-01T12:00:00Z".into()),
            members,
            missing,
            plan_fingerprint: None,
            second_hists: Vec::new(),
        });
        r
    }

    #[test]
    fn a_merge_lists_every_segment_and_says_why_it_is_partial() {
        let mut stopped = member(2, "pod-b", 12.5, None);
        stopped.stop_reason = StopReason::Cancelled;
        stopped.partial = true;
        stopped.requests = 60;
        let r = merged(
            vec![
                member(1, "pod-a", 3.25, Some(0.0)),
                stopped,
                member(4, "pod-a", 1.0, Some(0.0)),
            ],
            vec![3],
        );
        let s = of(&r).unwrap();
        assert_eq!(
            s.heading,
            "merged 3 of 4 segments of run seed-x4: barrier 2026-03-01T12:00:00Z, latest start 12.5 ms after it"
        );
        assert_eq!(
            s.causes,
            [
                "segment 3 is missing (merged with --allow-missing)",
                "segment 2 stopped early: cancelled"
            ]
        );
        let t = terminal(&s, false);
        let want = "\
merged 3 of 4 segments of run seed-x4: barrier 2026-03-01T12:00:00Z, latest start 12.5 ms after it
segment  host   start after barrier  clock offset  duration  requests  stop reason
      1  pod-a              3.25 ms          0 ms    45.1 s       125  completed
      2  pod-b              12.5 ms  not measured    45.1 s        60  cancelled
      3  –                        –             –         –         –  missing
      4  pod-a              1.00 ms          0 ms    45.1 s       125  completed
PARTIAL merge: segment 3 is missing (merged with --allow-missing); segment 2 stopped early: cancelled
";
        assert_eq!(t, want);
        assert_eq!(
            terminal(&s, true).lines().count(),
            2,
            "brief: heading and causes"
        );
        // Without a barrier the heading says how far apart the segments started.
        let mut nb = r.clone();
        let d = nb.distributed.as_mut().unwrap();
        d.start_at = None;
        d.missing = vec![3, 4];
        for m in &mut d.members {
            m.late_ms = None;
        }
        let s2 = of(&nb).unwrap();
        assert!(
            s2.heading
                .ends_with("seed-x4: no barrier: starts 3 ms apart by their clocks"),
            "{}",
            s2.heading
        );
        assert_eq!(
            s2.causes[0],
            "segments 3, 4 are missing (merged with --allow-missing)"
        );
        let t2 = terminal(&s2, false);
        let b = t2.lines().find(|l| l.contains("pod-b")).unwrap();
        assert!(
            b.contains("no barrier") && b.contains("not measured"),
            "{t2}"
        );
        let mut page = String::new();
        html(&mut page, &r);
        assert!(page.starts_with("<section id=\"segments\"><h2>Segments</h2>"));
        assert!(page.contains("<p class=\"rec\"><b>Partial merge</b> segment 3 is missing"));
        assert_eq!(page.matches("<tr class=\"short\">").count(), 2);
        assert!(page.contains(
            "<td>pod-b</td><td class=\"n\">12.5 ms</td><td class=\"n\">not measured</td>"
        ));
    }

    #[test]
    fn only_distributed_results_have_the_section() {
        let plain = surge_record::synthetic::result(30, &["get"]);
        assert!(of(&plain).is_none());
        let mut page = String::new();
        html(&mut page, &plain);
        assert!(page.is_empty());
        let mut seg = merged(vec![member(2, "pod-b", 4.0, None)], vec![]);
        seg.distributed.as_mut().unwrap().segment = Some(2);
        let s = of(&seg).unwrap();
        assert!(s
            .heading
            .starts_with("segment 2 of 4 of run seed-x4: one part"));
        assert_eq!(s.rows.len(), 1);
        assert!(s.causes.is_empty());
    }
}
