//! One process's part of a distributed run: which segment it runs under which run id, the start
//! barrier every segment sleeps until (`--start-at`), and the `distributed` record its result
//! carries for `surge merge`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::RunError;
use surge_plan::schedule::Segment;
use surge_record::distributed::{host_name, Distributed, Member, SecondHists};

/// How late a segment may begin after the barrier before it refuses to run (default).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5);

/// A segment of a distributed run, as `surge run --segment I/N --run-id ID` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRun {
    /// Which part of the plan.
    pub segment: Segment,
    /// Shared by the run's N segments.
    pub run_id: String,
}

impl SegmentRun {
    /// The run id to use: the one given, else one derived from the scenario's name and the
    /// barrier (the same in every segment).
    ///
    /// # Errors
    /// Neither a run id nor a barrier: segments started apart cannot agree on an id.
    pub fn new(
        segment: Segment,
        run_id: Option<&str>,
        barrier: Option<&Barrier>,
        scenario: &str,
    ) -> Result<SegmentRun, RunError> {
        let run_id = match (run_id, barrier) {
            (Some(id), _) => {
                check_run_id(id)?;
                id.to_string()
            }
            (None, Some(b)) => format!("{}-{}", slug(scenario), compact(b.at)),
            (None, None) => {
                return Err(RunError::Usage(
                    "--segment: give --run-id ID (or --start-at TIME): the N segments of one run must share a run id".into(),
                ))
            }
        };
        Ok(SegmentRun { segment, run_id })
    }

    /// `reports/<run id>/segment-<I>`: every segment of a run side by side, for `surge merge`.
    pub fn default_out(&self) -> PathBuf {
        Path::new("reports")
            .join(&self.run_id)
            .join(format!("segment-{}", self.segment.index))
    }

    /// The result's `distributed` section.
    pub fn record(
        &self,
        started: &Started,
        run: MemberRun<'_>,
        second_hists: Vec<SecondHists>,
        plan_fingerprint: String,
    ) -> Distributed {
        Distributed {
            run_id: self.run_id.clone(),
            segments: self.segment.count,
            segment: Some(self.segment.index),
            start_at: started.barrier.map(rfc3339),
            members: vec![Member {
                segment: self.segment.index,
                host: host_name(),
                started_unix_ms: started.unix_ms,
                late_ms: started.late.map(|d| d.as_secs_f64() * 1e3),
                clock_offset_ms: (self.segment.index == 1).then_some(0.0),
                duration_s: run.duration_s,
                requests: run.requests,
                stop_reason: run.stop_reason.clone(),
                partial: run.partial,
            }],
            missing: Vec::new(),
            plan_fingerprint: Some(plan_fingerprint),
            second_hists,
        }
    }
}

/// A digest (MD5, hex) of everything in `plan` that makes a run what it is: its target,
/// requests (methods, paths, headers, bodies), steps, data, load, policy, limits and checks;
/// not the scenario's file name nor its description, nor a secret's value (never serialized).
/// It tells segments of different plans apart (a mistake, not an attack: a file can be edited).
pub fn fingerprint(plan: &surge_plan::Plan) -> String {
    use md5::Digest;
    #[derive(serde::Serialize)]
    struct Whole<'a> {
        target: &'a surge_plan::Target,
        auth: &'a surge_plan::Auth,
        data: &'a [surge_plan::DataSource],
        vars: &'a [String],
        requests: &'a [surge_plan::RequestSpec],
        groups: &'a [surge_plan::Group],
        serialize_groups: bool,
        limits: &'a surge_plan::Limits,
        on_429: &'a surge_plan::policy::Policy,
        transactions: &'a [surge_plan::steps::TransactionSpec],
        conditions: &'a [surge_plan::cond::Cond],
        checks: &'a [String],
        cookies: &'a surge_plan::Cookies,
        cache: &'a surge_plan::HttpCache,
    }
    struct Hashing(md5::Md5);
    impl std::io::Write for Hashing {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.update(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let whole = Whole {
        target: &plan.target,
        auth: &plan.auth,
        data: &plan.data,
        vars: &plan.vars,
        requests: &plan.requests,
        groups: &plan.groups,
        serialize_groups: plan.serialize_groups,
        limits: &plan.limits,
        on_429: &plan.on_429,
        transactions: &plan.transactions,
        conditions: &plan.conditions,
        checks: &plan.checks,
        cookies: &plan.cookies,
        cache: &plan.cache,
    };
    let mut h = Hashing(md5::Md5::new());
    // Streamed into the digest: a plan with a large CSV is never held twice.
    let _ = serde_json::to_writer(&mut h, &whole);
    h.0.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What a finished segment reports about itself.
#[derive(Debug, Clone, Copy)]
pub struct MemberRun<'a> {
    /// Wall duration, seconds.
    pub duration_s: f64,
    /// Attempts recorded.
    pub requests: u64,
    /// Why it ended.
    pub stop_reason: &'a surge_record::StopReason,
    /// True when it stopped early.
    pub partial: bool,
}

/// The global ids of the users segment `seg` may start (every user of the plan for the whole
/// run): user `u` runs in segment `1 + u mod N`, as the schedules split them. The tokens primed
/// before the start are those these users use.
pub fn users(plan: &surge_plan::Plan, seg: Segment) -> impl Iterator<Item = u32> {
    (0..seg.share(plan.total_users().into())).map(move |j| seg.nth(j) as u32)
}

/// A warning when N segments cannot hold the plan's OAuth tokens one-to-one: user `u` uses
/// token slot `u mod tokens` in every segment, as in one process, but each segment fetches its
/// own token for a slot, so a slot shared by users of several segments becomes several tokens
/// (and per-token rate limits apply to each). With `tokens` a multiple of N, every slot's users
/// are in one segment and the platform sees exactly the tokens one process would use.
pub fn token_warning(plan: &surge_plan::Plan, segments: u32) -> Option<String> {
    let surge_plan::Auth::ClientCredentials { tokens, .. } = plan.auth else {
        return None;
    };
    let tokens = tokens.max(1);
    (segments > 1 && tokens % segments != 0).then(|| {
        format!(
            "auth.tokens = {tokens} is not a multiple of {segments} segments: each segment fetches its own token for the slots its users share, so the platform sees up to {} tokens where one process uses {tokens}, and per-token limits apply to each; set tokens to a multiple of {segments} for the same limits as one process",
            u64::from(tokens) * u64::from(segments) / u64::from(gcd(tokens, segments)),
        )
    })
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A run id: letters, digits, `-`, `_` and `.`, at most 100 characters (it names a directory).
fn check_run_id(id: &str) -> Result<(), RunError> {
    let ok = !id.is_empty()
        && id.len() <= 100
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(RunError::Usage(format!(
            "--run-id {id:?}: use letters, digits, '-', '_' and '.' (at most 100, not starting with '.')"
        )))
    }
}

/// A scenario name as a run-id prefix.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-');
    if s.is_empty() {
        "run".into()
    } else {
        s.chars().take(60).collect()
    }
}

fn compact(t: OffsetDateTime) -> String {
    t.format(time::macros::format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .unwrap_or_else(|_| "start".into())
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A start barrier: every segment sleeps until `at` (UTC), and refuses to begin more than
/// `tolerance` after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Barrier {
    /// When to start.
    pub at: OffsetDateTime,
    /// How late a start may be.
    pub tolerance: Duration,
}

impl Barrier {
    /// Parses `--start-at` (RFC 3339, e.g. `2026-03-01T12:00:00Z`).
    ///
    /// # Errors
    /// Not an RFC 3339 time, naming the flag.
    pub fn parse(s: &str, tolerance: Duration) -> Result<Barrier, RunError> {
        let at = OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|e| {
            RunError::Usage(format!(
                "--start-at {s:?}: not an RFC 3339 time such as 2026-03-01T12:00:00Z ({e})"
            ))
        })?;
        Ok(Barrier {
            at: at.to_offset(time::UtcOffset::UTC),
            tolerance,
        })
    }

    /// How long to wait from `now`, or an error when `now` is past the barrier by more than
    /// the tolerance.
    ///
    /// # Errors
    /// Too late, saying by how much.
    pub fn wait_from(&self, now: OffsetDateTime) -> Result<Duration, RunError> {
        let ahead = self.at - now;
        if ahead.is_positive() {
            return Ok(ahead.unsigned_abs());
        }
        let late = (-ahead).unsigned_abs();
        if late > self.tolerance {
            return Err(RunError::Usage(format!(
                "--start-at {}: that was {:.1} s ago, more than the {} s tolerance (--start-tolerance); the other segments have started without this one",
                rfc3339(self.at),
                late.as_secs_f64(),
                self.tolerance.as_secs_f64()
            )));
        }
        Ok(Duration::ZERO)
    }

    /// Sleeps until the barrier by the wall clock (re-reading it just before, so a long wait
    /// ends on time), and says how late it woke.
    ///
    /// # Errors
    /// Too late (see [`Barrier::wait_from`]), or cancelled while waiting.
    pub async fn wait(&self, cancel: &CancellationToken) -> Result<Duration, RunError> {
        loop {
            let left = self.wait_from(OffsetDateTime::now_utc())?;
            if left.is_zero() {
                break;
            }
            // Sleep most of it, then look at the clock again.
            let nap = if left > Duration::from_millis(200) {
                left - Duration::from_millis(100)
            } else {
                left
            };
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    return Err(RunError::Usage("cancelled while waiting for --start-at; nothing was sent".into()))
                }
                _ = tokio::time::sleep(nap) => {}
            }
        }
        Ok((OffsetDateTime::now_utc() - self.at).unsigned_abs())
    }
}

/// Refuses what cannot make a distributed run: a segment against the built-in mock (each
/// process would throttle against its own mock), a barrier on virtual time.
///
/// # Errors
/// [`RunError::Usage`] naming the flag.
pub(super) fn check(opts: &super::RunOptions, builtin_mock: bool) -> Result<(), RunError> {
    if opts.segment.is_some() && builtin_mock {
        return Err(RunError::Usage(
            "--segment: the target is the built-in mock, which each process would start on its own (N mocks, N separate rate limits); start one with `surge mock --port 8080` and pass --target http://127.0.0.1:8080".into(),
        ));
    }
    if opts.start_at.is_some() && opts.simulate {
        return Err(RunError::Usage(
            "--start-at: a simulated run has no wall clock to wait for; drop --simulate or --start-at".into(),
        ));
    }
    if let Some(b) = &opts.start_at {
        b.wait_from(OffsetDateTime::now_utc())?;
    }
    Ok(())
}

/// Refuses to write a segment over an earlier result (a re-run of the same run id would mix
/// two runs in one merge).
///
/// # Errors
/// [`RunError::Usage`] naming the file.
pub(super) fn check_out(opts: &super::RunOptions, out: &Path) -> Result<(), RunError> {
    let existing = out.join("result.json");
    match &opts.segment {
        Some(s) if existing.exists() => Err(RunError::Usage(format!(
            "--segment {}: {} already holds a result of run {:?}; give a new --run-id (or --out), or remove it",
            s.segment,
            existing.display(),
            s.run_id
        ))),
        _ => Ok(()),
    }
}

/// Waits for the barrier, if any; how late the start was.
///
/// # Errors
/// Too late, or cancelled while waiting.
pub(super) async fn at_start(opts: &super::RunOptions) -> Result<Option<Duration>, RunError> {
    match &opts.start_at {
        Some(b) => b.wait(&opts.cancel).await.map(Some),
        None => Ok(None),
    }
}

/// Adds the `distributed` record to a segment's result.
pub(super) fn with_record(
    mut r: surge_record::RunResult,
    opts: &super::RunOptions,
    late: Option<Duration>,
    second_hists: Vec<SecondHists>,
    plan: &surge_plan::Plan,
) -> surge_record::RunResult {
    if let Some(seg) = &opts.segment {
        let started = Started {
            barrier: opts.start_at.map(|b| b.at),
            unix_ms: r.started_unix_ms,
            late,
        };
        let run = MemberRun {
            duration_s: r.duration_s,
            requests: r.totals.requests,
            stop_reason: &r.stop_reason,
            partial: r.partial,
        };
        r.distributed = Some(seg.record(&started, run, second_hists, fingerprint(plan)));
    }
    r
}

/// When the measurement began: the barrier (if any) and how late this process was for it.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    /// The barrier.
    pub barrier: Option<OffsetDateTime>,
    /// Ms since the Unix epoch at the start, by this host's clock.
    pub unix_ms: u64,
    /// How late after the barrier it began.
    pub late: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> OffsetDateTime {
        OffsetDateTime::parse(s, &Rfc3339).unwrap()
    }

    #[test]
    fn barrier_waits_refuses_late_and_names_the_flag() {
        let b = Barrier::parse("2026-03-01T12:00:00+01:00", Duration::from_secs(5)).unwrap();
        assert_eq!(b.at, t("2026-03-01T11:00:00Z"));
        let table: &[(&str, Result<u64, &str>)] = &[
            ("2026-03-01T10:59:00Z", Ok(60_000)),
            ("2026-03-01T10:59:59.750Z", Ok(250)),
            ("2026-03-01T11:00:00Z", Ok(0)),
            ("2026-03-01T11:00:04.900Z", Ok(0)),
            ("2026-03-01T11:00:05.100Z", Err("5.1 s ago")),
        ];
        for (now, want) in table {
            let got = b.wait_from(t(now));
            match (got, want) {
                (Ok(d), Ok(ms)) => assert_eq!(d.as_millis() as u64, *ms, "{now}"),
                (Err(e), Err(part)) => assert!(e.to_string().contains(part), "{now}: {e}"),
                (g, w) => panic!("{now}: got {g:?}, want {w:?}"),
            }
        }
        let e = Barrier::parse("tomorrow", DEFAULT_TOLERANCE).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("--start-at \"tomorrow\": not an RFC 3339 time"));
    }

    #[test]
    fn run_ids_are_given_or_derived_from_the_barrier() {
        let seg = Segment::new(2, 4).unwrap();
        let b = Barrier::parse("2026-03-01T12:00:00Z", DEFAULT_TOLERANCE).unwrap();
        let r = SegmentRun::new(seg, None, Some(&b), "Architect: publish burst").unwrap();
        assert_eq!(r.run_id, "architect--publish-burst-20260301T120000Z");
        assert_eq!(
            r.default_out(),
            Path::new("reports/architect--publish-burst-20260301T120000Z/segment-2")
        );
        assert_eq!(
            SegmentRun::new(seg, Some("nightly-42"), None, "x")
                .unwrap()
                .run_id,
            "nightly-42"
        );
        for bad in ["", "../x", "a b", ".hidden"] {
            assert!(
                SegmentRun::new(seg, Some(bad), None, "x").is_err(),
                "{bad:?}"
            );
        }
        let e = SegmentRun::new(seg, None, None, "x")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--segment: give --run-id ID"), "{e}");
    }
}
