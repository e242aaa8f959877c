//! The progress bar shown while a run goes on (hidden when stdout is not a terminal or with
//! `--quiet`). It reads the aggregate once a second, never the hot path.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use surge_plan::Plan;
use surge_record::Tick;

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
        self.bar.set_message(format!(
            "{}s{} users {} · {} req/s · 2xx {} · 429 {} · err {}",
            t.elapsed.as_secs(),
            self.planned,
            t.active_users,
            t.last_second,
            t.ok,
            t.throttled,
            t.errors
        ));
    }

    /// Removes the bar.
    fn finished(&self) {
        self.bar.finish_and_clear();
    }
}
