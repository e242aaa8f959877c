//! `surge run`'s distributed-run flags: which segment this process runs (`--segment I/N`, or
//! `--segments N` with the index a Kubernetes Indexed Job gives in `JOB_COMPLETION_INDEX`),
//! the run id the segments share, and the start barrier.

use std::time::Duration;

use clap::Args;

use crate::run::segment::{Barrier, SegmentRun, DEFAULT_TOLERANCE};
use crate::run::RunError;
use surge_plan::schedule::Segment;

/// The variable a Kubernetes Indexed Job sets in each pod (0 to N-1).
pub const JOB_INDEX_VAR: &str = "JOB_COMPLETION_INDEX";

/// Distributed-run flags of `surge run`.
#[derive(Debug, Args, Default, Clone)]
pub struct DistArgs {
    /// Run segment I of N of every profile (I from 1): its share of users, arrivals, data rows
    /// and max_requests, at the times the whole plan gives them. Merge with `surge merge`.
    #[arg(
        long,
        value_name = "I/N",
        conflicts_with = "segments",
        help_heading = "Distributed runs"
    )]
    pub segment: Option<String>,
    /// Run one of N segments, the one $JOB_COMPLETION_INDEX names (0 to N-1, as a Kubernetes
    /// Indexed Job sets it).
    #[arg(long, value_name = "N", help_heading = "Distributed runs")]
    pub segments: Option<u32>,
    /// The id the segments of one run share [default: <scenario>-<--start-at>].
    #[arg(
        long,
        value_name = "ID",
        env = "SURGE_RUN_ID",
        help_heading = "Distributed runs"
    )]
    pub run_id: Option<String>,
    /// Sleep until this time (RFC 3339, e.g. 2026-03-01T12:00:00Z) before the first request,
    /// so every segment starts together; refuse to start later than --start-tolerance after it.
    #[arg(
        long,
        value_name = "TIME",
        env = "SURGE_START_AT",
        help_heading = "Distributed runs"
    )]
    pub start_at: Option<String>,
    /// How late a start after --start-at is still accepted.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = surge_record::duration::parse_flag, help_heading = "Distributed runs")]
    pub start_tolerance: Option<Duration>,
}

impl DistArgs {
    /// The segment and barrier these flags ask for (`None`s for a plain run).
    ///
    /// # Errors
    /// A bad flag or `JOB_COMPLETION_INDEX`, naming it.
    pub fn resolve(
        &self,
        scenario: &str,
    ) -> Result<(Option<SegmentRun>, Option<Barrier>), RunError> {
        self.resolve_with(scenario, std::env::var(JOB_INDEX_VAR).ok().as_deref())
    }

    /// [`DistArgs::resolve`] with the job index given (tests).
    ///
    /// # Errors
    /// As [`DistArgs::resolve`].
    pub fn resolve_with(
        &self,
        scenario: &str,
        job_index: Option<&str>,
    ) -> Result<(Option<SegmentRun>, Option<Barrier>), RunError> {
        let tolerance = self.start_tolerance.unwrap_or(DEFAULT_TOLERANCE);
        let barrier = self
            .start_at
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| Barrier::parse(s, tolerance))
            .transpose()?;
        let segment = match (&self.segment, self.segments) {
            (Some(s), _) => {
                Some(Segment::parse(s).map_err(|e| RunError::Usage(format!("--segment: {e}")))?)
            }
            (None, Some(n)) => {
                let Some(v) = job_index else {
                    return Err(RunError::Usage(format!(
                        "--segments {n}: {JOB_INDEX_VAR} is not set (a Kubernetes Indexed Job sets it); give --segment I/{n} instead"
                    )));
                };
                if n == 0 {
                    return Err(RunError::Usage("--segments: N must be at least 1".into()));
                }
                Some(
                    Segment::from_job_index(v, n)
                        .map_err(|e| RunError::Usage(format!("--segments: {e}")))?,
                )
            }
            (None, None) => None,
        };
        let seg = segment
            .map(|s| SegmentRun::new(s, self.run_id.as_deref(), barrier.as_ref(), scenario))
            .transpose()?;
        Ok((seg, barrier))
    }
}

/// Before a segment's run: which segment of which run this is, and when it starts (every
/// segment starts at the barrier), so a pod's log says what it waits for.
pub fn start_note(
    segment: Option<&SegmentRun>,
    barrier: Option<&Barrier>,
    now: time::OffsetDateTime,
) -> Option<String> {
    let s = segment?;
    let when = match barrier {
        Some(b) => {
            let ahead = (b.at - now).max(time::Duration::ZERO).unsigned_abs();
            format!(
                "starts at {} (in {}), as every segment does",
                b.at.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                surge_report::format::duration(ahead.as_secs_f64())
            )
        }
        None => "starts now (no --start-at: the segments start as they are launched)".into(),
    };
    Some(format!("segment {} of run {}: {when}", s.segment, s.run_id))
}

/// For a segment's run: which segment of which run it was, and how to merge the run.
pub fn merge_note(rep: &crate::run::RunReport) -> Option<String> {
    let d = rep.result.distributed.as_ref()?;
    let run_dir = rep.out_dir.parent().unwrap_or(&rep.out_dir);
    Some(format!(
        "segment {}/{} of run {}: once every segment has run, merge with: surge merge {}",
        d.segment.unwrap_or(0),
        d.segments,
        d.run_id,
        run_dir.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(segment: Option<&str>, segments: Option<u32>, run_id: Option<&str>) -> DistArgs {
        DistArgs {
            segment: segment.map(str::to_string),
            segments,
            run_id: run_id.map(str::to_string),
            start_at: None,
            start_tolerance: None,
        }
    }

    #[test]
    fn flags_and_the_job_index_table() {
        let seg = |i, n| Segment::new(i, n).unwrap();
        type Want = Result<Option<Segment>, &'static str>;
        let table: Vec<(DistArgs, Option<&str>, Want)> = vec![
            (args(None, None, None), None, Ok(None)),
            (
                args(Some("2/4"), None, Some("r")),
                None,
                Ok(Some(seg(2, 4))),
            ),
            (
                args(None, Some(4), Some("r")),
                Some("0"),
                Ok(Some(seg(1, 4))),
            ),
            (
                args(None, Some(4), Some("r")),
                Some("3"),
                Ok(Some(seg(4, 4))),
            ),
            (
                args(None, Some(4), Some("r")),
                Some("4"),
                Err("--segments: JOB_COMPLETION_INDEX=\"4\""),
            ),
            (
                args(None, Some(4), Some("r")),
                None,
                Err("--segments 4: JOB_COMPLETION_INDEX is not set"),
            ),
            (
                args(Some("0/4"), None, Some("r")),
                None,
                Err("--segment: segment 0 of 4"),
            ),
            (
                args(Some("2/4"), None, None),
                None,
                Err("--segment: give --run-id"),
            ),
        ];
        for (a, idx, want) in table {
            let got = a.resolve_with("s", idx).map(|(s, _)| s.map(|s| s.segment));
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{a:?} {idx:?}"),
                (Err(e), Err(w)) => assert!(e.to_string().starts_with(w), "{a:?}: {e}"),
                (g, w) => panic!("{a:?} {idx:?}: got {g:?}, want {w:?}"),
            }
        }
        // What a segment says before it waits.
        let r = args(Some("2/4"), None, Some("r"));
        let (seg, _) = r.resolve_with("s", None).unwrap();
        let b = Barrier::parse("2026-03-01T12:00:00Z", DEFAULT_TOLERANCE).unwrap();
        let now = time::macros::datetime!(2026-03-01 11:57:19 UTC);
        assert_eq!(
            start_note(seg.as_ref(), Some(&b), now).unwrap(),
            "segment 2/4 of run r: starts at 2026-03-01T12:00:00Z (in 2 min 41 s), as every segment does"
        );
        assert!(start_note(seg.as_ref(), None, now)
            .unwrap()
            .contains("starts now (no --start-at"));
        assert_eq!(start_note(None, Some(&b), now), None);
        // A barrier alone names the run.
        let mut a = args(None, Some(2), None);
        a.start_at = Some("2026-03-01T12:00:00Z".into());
        let (s, b) = a.resolve_with("Flows", Some("1")).unwrap();
        assert_eq!(s.unwrap().run_id, "flows-20260301T120000Z");
        assert_eq!(b.unwrap().tolerance, DEFAULT_TOLERANCE);
    }
}
