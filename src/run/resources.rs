//! The load machine's own limits a run can hit: the open-files limit. At the start of a run the
//! soft limit is raised to the hard one when the plan's users may need more descriptors than the
//! soft limit allows (a connection each, twice for the in-process mock, plus a margin); after
//! the run, requests that failed for lack of a local resource (`error:resource`) are explained
//! with the limit in force and what to raise.

use surge_record::{ErrorClass, RunResult, StatusKey};

/// Descriptors a run needs besides its connections (files, the runtime, the samples writer).
const MARGIN: u64 = 256;

/// The open-files limit during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit in force during the run.
    pub soft: u64,
    /// The hard limit (the most the soft limit can be raised to without privileges).
    pub hard: u64,
    /// The soft limit before surge raised it, when it did.
    pub raised_from: Option<u64>,
}

/// Descriptors a plan of `users` may hold at once: one connection per user, twice when the
/// server is the in-process mock (both ends are this process), plus a margin.
pub fn needed(users: u32, in_process_mock: bool) -> u64 {
    u64::from(users) * if in_process_mock { 2 } else { 1 } + MARGIN
}

/// Raises the soft open-files limit to the hard one when `needed` exceeds it. None where the
/// limit cannot be read (not Unix).
pub fn raise_open_files(needed: u64) -> Option<OpenFiles> {
    #[cfg(unix)]
    {
        use rlimit::Resource;
        let (soft, hard) = Resource::NOFILE.get().ok()?;
        if needed <= soft || soft >= hard {
            return Some(OpenFiles {
                soft,
                hard,
                raised_from: None,
            });
        }
        // Raising the soft limit up to the hard one needs no privilege.
        let ok = Resource::NOFILE.set(hard, hard).is_ok();
        Some(OpenFiles {
            soft: if ok { hard } else { soft },
            hard,
            raised_from: ok.then_some(soft),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = needed;
        None
    }
}

/// Why requests failed with `error:resource`, and what to do; None when none did.
pub fn explain(r: &RunResult, open_files: Option<OpenFiles>) -> Option<String> {
    let n = r
        .totals
        .by_status
        .get(&StatusKey::Error(ErrorClass::Resource))
        .copied()
        .filter(|n| *n > 0)?;
    let limit = match open_files {
        Some(f) if f.soft < f.hard => format!(
            "the open-files limit is {} (hard limit {}); raise it with `ulimit -n {}`",
            f.soft, f.hard, f.hard
        ),
        Some(f) => format!(
            "the open-files limit {} was reached (it is also the hard limit); raise `ulimit -Hn` (or nofile in /etc/security/limits.conf, LimitNOFILE for a service)",
            f.soft
        ),
        None => "raise the open-files limit (`ulimit -n`)".to_string(),
    };
    Some(format!(
        "{} failed on this machine before reaching the server (error:resource: out of open files or local ports); {limit}, or run fewer users per process (surge run --segment); users backed off meanwhile",
        surge_record::plural(n, "request")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_only_when_needed() {
        let before = raise_open_files(0).unwrap();
        assert_eq!(before.raised_from, None);
        let after = raise_open_files(u64::MAX).unwrap();
        assert_eq!(after.soft, after.hard);
        assert!(after.soft >= before.soft);
        assert_eq!(needed(1000, true), 2256);
    }
}
