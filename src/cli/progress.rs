//! The progress bar shown while a run goes on (hidden when stdout is not a terminal or with
//! `--quiet`). It reads the aggregate once a second, never the hot path.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use surge_plan::Plan;
use surge_record::{Outcome, Tick};

/// A progress bar sized by the plan: by requests when bounded, else by time.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
    by_requests: bool,
    planned: String,
}

/// Creates the bar for `plan`.
pub fn bar(plan: &Plan) -> Progress {
    let (len, by_requests) = match (plan.planned_requests(), plan.planned_duration()) {
        (Some(n), _) => (n, true),
        (None, Some(d)) => (d.as_secs().max(1), false),
        (None, None) => (0, false),
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stdout());
    let style =
        ProgressStyle::with_template("{elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    let planned = plan
        .planned_duration()
        .map_or(String::new(), |d| format!("/{}s", d.as_secs()));
    Progress {
        bar,
        by_requests,
        planned,
    }
}

impl crate::run::RunObserver for Progress {
    /// Shows a tick.
    fn tick(&self, t: &Tick) {
        if self.by_requests {
            self.bar.set_position(t.completed);
        } else {
            self.bar.set_position(t.elapsed.as_secs());
        }
        self.bar.set_message(line(t, &self.planned));
    }

    /// Removes the bar.
    fn finished(&self) {
        self.bar.finish_and_clear();
    }
}

/// The message beside the bar: the last full second (its rate of 2xx and 429, the p95 of its
/// 2xx) and the run so far.
fn line(t: &Tick, planned: &str) -> String {
    let (ok_s, thr_s, p95) = t.second.as_ref().map_or((0, 0, None), |s| {
        (
            s.by_outcome.get(&Outcome::Success).copied().unwrap_or(0),
            s.by_outcome.get(&Outcome::Throttled).copied().unwrap_or(0),
            s.latency.get(&Outcome::Success).map(|q| q.p95),
        )
    });
    let p95 = p95.map_or("–".to_string(), |us| {
        format!("{} ms", surge_report::format::ms(us))
    });
    format!(
        "{}s{planned} · {} users · {} req/s (2xx {ok_s}/s, 429 {thr_s}/s) · p95 2xx {p95} · so far 2xx {} · 429 {} · err {}",
        t.elapsed.as_secs(),
        t.active_users,
        t.last_second,
        t.ok,
        t.throttled,
        t.errors
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use surge_record::result::{Quantiles, Second};

    use super::*;

    #[test]
    fn the_line_shows_the_last_seconds_rates_and_p95_and_the_totals() {
        let t = Tick {
            elapsed: Duration::from_millis(12_100),
            active_users: 50,
            completed: 2_890,
            ok: 2_400,
            throttled: 480,
            errors: 10,
            last_second: 240,
            second: Some(Second {
                t: 11,
                by_outcome: BTreeMap::from([(Outcome::Success, 200), (Outcome::Throttled, 40)]),
                latency: BTreeMap::from([(
                    Outcome::Success,
                    Quantiles {
                        p95: 180_400,
                        ..Quantiles::default()
                    },
                )]),
                ..Second::default()
            }),
            cells: Vec::new(),
        };
        assert_eq!(
            line(&t, "/60s"),
            "12s/60s · 50 users · 240 req/s (2xx 200/s, 429 40/s) · p95 2xx 180 ms · so far 2xx 2400 · 429 480 · err 10"
        );
        let first = Tick::default();
        assert_eq!(
            line(&first, ""),
            "0s · 0 users · 0 req/s (2xx 0/s, 429 0/s) · p95 2xx – · so far 2xx 0 · 429 0 · err 0"
        );
    }
}
