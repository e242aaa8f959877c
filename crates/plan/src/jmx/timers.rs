//! A group's timers: the timers in scope of each sampler added up into the group's one think
//! time (exact when every sampler has the same), and throughput timers into its pace.

use super::model::ThinkOut;
use super::walk::{Timer, Walker};

impl Walker<'_> {
    /// Turns each group's per-step timers into one think time, and throughput timers into a
    /// pace.
    pub(super) fn finish_groups(&mut self) {
        for (g, steps) in self.steps.clone().iter().enumerate() {
            let place = self.group_places[g].clone();
            self.m.groups[g].steps = steps.iter().map(|s| s.label.clone()).collect();
            if self.tree[g].iter().any(|s| {
                matches!(
                    s,
                    super::model::StepOut::Block(..) | super::model::StepOut::Single(..)
                )
            }) {
                self.m.groups[g].program = Some(self.tree[g].clone());
            }
            self.group_pace(g, &place, steps);
            let per_step: Vec<Vec<Timer>> = steps
                .iter()
                .map(|s| {
                    s.timers
                        .iter()
                        .filter(|t| {
                            matches!(
                                t,
                                Timer::Range(..) | Timer::Gaussian(..) | Timer::Poisson(..)
                            )
                        })
                        .cloned()
                        .collect()
                })
                .collect();
            if per_step.iter().all(Vec::is_empty) {
                continue;
            }
            let same = per_step.windows(2).all(|w| w[0] == w[1]);
            let think = if same {
                self.one_think(&per_step[0], g, &place)
            } else {
                // Different timers before different samplers: their average before each.
                let means: Vec<(f64, f64)> = per_step.iter().map(|ts| bounds(ts)).collect();
                let n = means.len() as f64;
                let lo = means.iter().map(|p| p.0).sum::<f64>() / n;
                let hi = means.iter().map(|p| p.1).sum::<f64>() / n;
                self.warn(&place, format!("timers differ between samplers; surge pauses the same before every request: approximated by their average ({} ms to {} ms), which keeps each iteration as long", lo.round(), hi.round()));
                self.m.groups[g].think_comments.push("approximated: the average of the timers of each sampler (JMeter's timers differ by sampler)".into());
                ThinkOut::Range(lo, hi)
            };
            self.m.groups[g].think = Some(think);
        }
    }

    /// The timers before one sampler, added up, as one think time.
    fn one_think(&mut self, ts: &[Timer], g: usize, place: &str) -> ThinkOut {
        let constant: f64 = ts
            .iter()
            .map(|t| match t {
                Timer::Range(a, b) if a == b => *a,
                _ => 0.0,
            })
            .sum();
        let random: Vec<&Timer> = ts
            .iter()
            .filter(|t| !matches!(t, Timer::Range(a, b) if a == b))
            .collect();
        match random.as_slice() {
            [] => ThinkOut::Range(constant, constant),
            [Timer::Range(a, b)] => ThinkOut::Range(a + constant, b + constant),
            [Timer::Gaussian(off, dev)] => ThinkOut::Gaussian(off + constant, *dev),
            [Timer::Poisson(off, lambda)] => ThinkOut::Poisson(*lambda, off + constant),
            _ => {
                let (lo, hi) = bounds(ts);
                self.warn(place, format!("several random timers before the same samplers: approximated by one uniform pause from {} ms to {} ms (their sum's range)", lo.round(), hi.round()));
                self.m.groups[g].think_comments.push(
                    "approximated: several random timers added up as one uniform pause".into(),
                );
                ThinkOut::Range(lo, hi)
            }
        }
    }

    /// Constant and Precise Throughput Timers: the group's pace.
    fn group_pace(&mut self, g: usize, place: &str, steps: &[super::walk::Step]) {
        let paces: Vec<Option<(f64, &'static str, bool)>> = steps
            .iter()
            .map(|s| {
                s.timers.iter().find_map(|t| match *t {
                    Timer::Throughput(per_min, mode) => Some((
                        per_min / 60.0,
                        match mode {
                            1 | 3 => "all",
                            2 | 4 => "group",
                            _ => "user",
                        },
                        false,
                    )),
                    Timer::Precise(per_sec) => Some((per_sec, "all", true)),
                    _ => None,
                })
            })
            .collect();
        let Some((rate, per, precise)) = paces.iter().flatten().next().copied() else {
            return;
        };
        if paces
            .iter()
            .any(|p| p.map(|x| (x.0, x.1)) != Some((rate, per)))
        {
            self.warn(place, "a throughput timer applies to only some samplers (or differs between them); surge paces every request of the group at one rate: approximated");
        }
        let gout = &mut self.m.groups[g];
        gout.pace = Some((rate, per));
        gout.pace_comments.push(if precise {
            "Precise Throughput Timer: its rate as a pace shared by every user (approximated: even spacing instead of its random arrivals)".into()
        } else {
            format!("Constant Throughput Timer ({} per minute, calcMode as per = \"{per}\")", rate * 60.0)
        });
    }
}

/// The smallest and largest pause of some timers added up (a Gaussian as ± 3 deviations).
fn bounds(ts: &[Timer]) -> (f64, f64) {
    ts.iter().fold((0.0, 0.0), |(lo, hi), t| match *t {
        Timer::Range(a, b) => (lo + a, hi + b),
        Timer::Gaussian(off, dev) => (lo + (off - 3.0 * dev).max(0.0), hi + off + 3.0 * dev),
        Timer::Poisson(off, lambda) => (lo + off, hi + off + 2.0 * lambda),
        _ => (lo, hi),
    })
}
