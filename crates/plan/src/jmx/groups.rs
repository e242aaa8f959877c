//! Thread groups → `[[group]]`s: JMeter's Thread Group, setUp and tearDown Thread Groups
//! (`phase`), and the plugins' Ultimate, Concurrency and Stepping Thread Groups (a `stages`
//! users curve) and Arrivals and Free-Form Arrivals Thread Groups (a `ramping_arrival_rate`).

use super::model::GroupOut;
use super::walk::{place_of, Ctx, Scope, Walker};
use super::xml::Element;

/// What kind of thread group a tag is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GroupKind {
    /// ThreadGroup, SetupThreadGroup, PostThreadGroup.
    Plain(Option<&'static str>),
    /// kg.apc.jmeter.threads.UltimateThreadGroup.
    Ultimate,
    /// com.blazemeter.jmeter.threads.concurrency.ConcurrencyThreadGroup.
    Concurrency,
    /// kg.apc.jmeter.threads.SteppingThreadGroup.
    Stepping,
    /// com.blazemeter.jmeter.threads.arrivals.ArrivalsThreadGroup.
    Arrivals,
    /// com.blazemeter.jmeter.threads.arrivals.FreeFormArrivalsThreadGroup.
    FreeForm,
}

impl GroupKind {
    /// The kind of a tag, None for one surge does not map.
    pub(super) fn of(tag: &str) -> Option<GroupKind> {
        let last = tag.rsplit('.').next().unwrap_or(tag);
        Some(match last {
            "ThreadGroup" => GroupKind::Plain(None),
            "SetupThreadGroup" => GroupKind::Plain(Some("setup")),
            "PostThreadGroup" => GroupKind::Plain(Some("teardown")),
            "UltimateThreadGroup" => GroupKind::Ultimate,
            "ConcurrencyThreadGroup" => GroupKind::Concurrency,
            "SteppingThreadGroup" => GroupKind::Stepping,
            "ArrivalsThreadGroup" => GroupKind::Arrivals,
            "FreeFormArrivalsThreadGroup" => GroupKind::FreeForm,
            _ => return None,
        })
    }
}

/// `"10s"`, `"1500ms"` as TOML.
fn dur(secs: f64) -> String {
    let ms = (secs * 1000.0).round().max(0.0) as u64;
    if ms % 1000 == 0 {
        format!("\"{}s\"", ms / 1000)
    } else {
        format!("\"{ms}ms\"")
    }
}

/// A curve given as points (two at one time make a jump), read at `t` from the left or the
/// right.
fn at(points: &[(f64, f64)], t: f64, right: bool) -> f64 {
    let Some(first) = points.first() else {
        return 0.0;
    };
    if t < first.0 {
        return 0.0;
    }
    let mut value = 0.0;
    for w in points.windows(2) {
        let ((t0, v0), (t1, v1)) = (w[0], w[1]);
        if t > t0 && t < t1 {
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0);
        }
    }
    for &(pt, pv) in points {
        if pt == t {
            value = pv;
            if !right {
                return value;
            }
        } else if pt < t {
            value = pv;
        }
    }
    if t > points.last().map_or(0.0, |p| p.0) {
        return points.last().map_or(0.0, |p| p.1);
    }
    value
}

/// The sum of several curves, as points.
fn sum(curves: &[Vec<(f64, f64)>]) -> Vec<(f64, f64)> {
    let mut times: Vec<f64> = curves.iter().flatten().map(|p| p.0).collect();
    times.push(0.0);
    times.sort_by(f64::total_cmp);
    times.dedup();
    let mut out = Vec::new();
    for t in times {
        let left: f64 = curves.iter().map(|c| at(c, t, false)).sum();
        let right: f64 = curves.iter().map(|c| at(c, t, true)).sum();
        out.push((t, left));
        if right != left {
            out.push((t, right));
        }
    }
    out
}

/// `[group.load]` lines of a curve given as points from t = 0.
fn stages(points: &[(f64, f64)], profile: &str, start_key: &str) -> Vec<String> {
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    let mut lines = vec![
        format!("profile = \"{profile}\""),
        format!(
            "{start_key} = {}",
            round(points.first().map_or(0.0, |p| p.1))
        ),
    ];
    let st: Vec<String> = points
        .windows(2)
        .map(|w| {
            format!(
                "{{ duration = {}, target = {} }}",
                dur(w[1].0 - w[0].0),
                round(w[1].1)
            )
        })
        .collect();
    lines.push(format!("stages = [{}]", st.join(", ")));
    lines
}

impl Walker<'_> {
    fn num(&mut self, el: &Element, prop: &str, place: &str) -> f64 {
        self.number(el, prop, place).unwrap_or(0.0).max(0.0)
    }

    /// A thread group of any kind: its `[[group]]`, then its samplers and controllers.
    pub(super) fn thread_group<'e>(
        &mut self,
        el: &'e Element,
        sub: Option<&'e Element>,
        scope: &Scope<'e>,
        path: &str,
        kind: GroupKind,
    ) {
        let place = place_of(path, el);
        let mut name = el.testname().trim().to_string();
        if name.is_empty() {
            name = "Thread Group".into();
        }
        let base = name.clone();
        let mut n = 2;
        while self.m.groups.iter().any(|g| g.name == name) {
            name = format!("{base} {n}");
            n += 1;
        }
        let mut gout = GroupOut {
            name,
            comments: vec![place.clone()],
            on_error: "continue",
            ..GroupOut::default()
        };
        let ok = match kind {
            GroupKind::Plain(phase) => {
                gout.phase = phase;
                if phase == Some("setup") {
                    let mut found = Vec::new();
                    if let Some(sub) = sub {
                        super::state::set_properties(sub, &mut found);
                    }
                    gout.export = found.into_iter().map(|(_, v)| v).collect();
                    gout.export.dedup();
                }
                self.plain_group(el, &place, &mut gout)
            }
            _ => self.plugin_group(el, &place, &mut gout, kind),
        };
        if !ok {
            return;
        }
        gout.on_error = self.on_error(el, &place);
        if el.prop_bool("ThreadGroup.same_user_on_next_iteration") == Some(false) {
            gout.comments.push("same_user_on_next_iteration = false: a new user each iteration in JMeter; surge keeps the user (its cookies are cleared only with [cookies] clear_each_iteration)".into());
        }
        self.m.groups.push(gout);
        self.steps.push(Vec::new());
        self.tree.push(Vec::new());
        self.group_places.push(place.clone());
        self.group_elements.push(super::walk::element_id(el));
        let g = self.m.groups.len() - 1;
        let _ = self.level(
            sub,
            scope,
            &format!("{path}/{}", el.testname()),
            Ctx::Group(g),
        );
        if self.steps[g].is_empty() {
            self.warn(&place, "no HTTP sampler surge can run: group not imported");
            self.m.groups.pop();
            self.steps.pop();
            self.tree.pop();
            self.group_places.pop();
            self.group_elements.pop();
        }
    }

    fn on_error(&mut self, el: &Element, place: &str) -> &'static str {
        match el
            .prop("ThreadGroup.on_sample_error")
            .as_deref()
            .unwrap_or("continue")
        {
            "continue" => "continue",
            "startnextloop" | "startnextithread" => "next_loop",
            "stopthread" => "stop_thread",
            "stoptest" => "stop_test",
            "stoptestnow" => {
                self.note(
                    place,
                    "stoptestnow: surge stops the test and gives requests in flight a short grace",
                );
                "stop_test"
            }
            other => {
                self.warn(
                    place,
                    format!("on_sample_error {other:?} is not known: continue"),
                );
                "continue"
            }
        }
    }

    /// JMeter's Thread Group (and setUp/tearDown): threads, ramp-up, loops, scheduler.
    fn plain_group(&mut self, el: &Element, place: &str, gout: &mut GroupOut) -> bool {
        let threads = self
            .number(el, "ThreadGroup.num_threads", place)
            .unwrap_or(1.0);
        if threads < 1.0 {
            self.warn(place, format!("ThreadGroup.num_threads = {threads}: JMeter starts no thread; group not imported"));
            return false;
        }
        if threads > 100_000.0 || threads.fract() != 0.0 {
            self.warn(
                place,
                format!("ThreadGroup.num_threads = {threads} is not a thread count surge runs (a whole number from 1 to 100000)"),
            );
        }
        gout.threads = threads as i64;
        gout.ramp_up_s = self
            .number(el, "ThreadGroup.ramp_time", place)
            .unwrap_or(0.0)
            .max(0.0);
        let main = el.prop_el("ThreadGroup.main_controller");
        let loops = main.and_then(|m| self.number(m, "LoopController.loops", place));
        let forever_flag = main
            .and_then(|m| m.prop_bool("LoopController.continue_forever"))
            .unwrap_or(false);
        gout.loops = match loops.map(|l| l as i64) {
            Some(-1) => None,
            Some(l) if l < 0 && forever_flag => None,
            Some(l) if l >= 1 => Some(l),
            Some(l) => {
                self.warn(
                    place,
                    format!(
                        "LoopController.loops = {l}: JMeter runs no iteration; group not imported"
                    ),
                );
                return false;
            }
            None => Some(1),
        };
        let scheduler = el.prop_bool("ThreadGroup.scheduler").unwrap_or(false);
        if scheduler {
            gout.duration_s = self
                .number(el, "ThreadGroup.duration", place)
                .filter(|d| *d > 0.0);
            gout.delay_s = self
                .number(el, "ThreadGroup.delay", place)
                .filter(|d| *d > 0.0);
            if gout.duration_s.is_none() && el.prop_nonempty("ThreadGroup.end_time").is_some() {
                self.warn(
                    place,
                    "the scheduler's absolute start/end times are not supported: set a duration",
                );
            }
        } else if el.prop_nonempty("ThreadGroup.duration").is_some()
            || el.prop_nonempty("ThreadGroup.delay").is_some()
        {
            self.note(
                place,
                "the scheduler is off: duration and delay are ignored, as JMeter does",
            );
        }
        if gout.loops.is_none() && gout.duration_s.is_none() {
            self.warn(place, "loops forever with no scheduler duration (JMeter runs until stopped); surge needs an end: add --set limits.max_duration=10m");
        }
        true
    }

    /// The plugins' thread groups as a users curve or an arrival rate.
    fn plugin_group(
        &mut self,
        el: &Element,
        place: &str,
        gout: &mut GroupOut,
        kind: GroupKind,
    ) -> bool {
        let unit = if el.prop("Unit").as_deref() == Some("M") {
            60.0
        } else {
            1.0
        };
        let (points, arrivals) = match kind {
            GroupKind::Ultimate => (self.ultimate(el, place), false),
            GroupKind::Stepping => (self.stepping(el, place), false),
            GroupKind::Concurrency | GroupKind::Arrivals => {
                let target = match self.feedback_max(el) {
                    Some(max) => {
                        self.warn(place, format!("TargetLevel from __tstFeedback (concurrency driven by a Throughput Shaping Timer): approximated as its most users, {max}"));
                        max
                    }
                    None => self.num(el, "TargetLevel", place),
                };
                let ramp = self.num(el, "RampUp", place) * unit;
                let steps = self.num(el, "Steps", place).floor();
                let hold = self.num(el, "Hold", place) * unit;
                let arrivals = kind == GroupKind::Arrivals;
                // Arrivals: TargetLevel is per Unit.
                let level = if arrivals { target / unit } else { target };
                let mut pts = vec![(0.0, 0.0)];
                if ramp > 0.0 && steps >= 1.0 {
                    // The plugin's rule: step k (from 0) holds level × (k + 1) / steps.
                    let len = ramp / steps;
                    for k in 0..steps as u64 {
                        let t = k as f64 * len;
                        let v = level * (k as f64 + 1.0) / steps;
                        let v = if arrivals { v } else { v.round() };
                        pts.push((t, v));
                        pts.push((t + len, v));
                    }
                } else if ramp > 0.0 {
                    pts.push((ramp, level));
                } else {
                    pts.push((0.0, level));
                }
                pts.push((ramp + hold, level));
                if el.prop_nonempty("Iterations").is_some() {
                    self.warn(place, "Iterations (a limit on all iterations) is not supported: the group runs its whole schedule");
                }
                (pts, arrivals)
            }
            GroupKind::FreeForm => (self.free_form(el, place, unit), true),
            GroupKind::Plain(_) => return false,
        };
        let end = points.last().map_or(0.0, |p| p.0);
        if end <= 0.0 || points.iter().all(|p| p.1 <= 0.0) {
            self.warn(
                place,
                "its schedule is empty (no users or no time): group not imported",
            );
            return false;
        }
        let peak = points.iter().map(|p| p.1).fold(0.0, f64::max);
        gout.threads = peak.ceil() as i64;
        gout.profile = Some(if arrivals {
            let limit = self
                .number(el, "ConcurrencyLimit", place)
                .filter(|c| *c >= 1.0);
            let mut l = stages(&points, "ramping_arrival_rate", "start_rate");
            let max = limit.unwrap_or_else(|| (peak * 10.0).ceil().max(10.0));
            l.push(format!("max_users = {}", max as u64));
            if limit.is_none() {
                gout.comments.push(format!("no concurrency limit in the plan: at most {} users (raise max_users if arrivals are dropped)", max as u64));
            }
            l
        } else {
            stages(&points, "stages", "start_users")
        });
        let tag = el.tag.rsplit('.').next().unwrap_or(&el.tag);
        gout.comments.push(format!(
            "{tag}: its schedule as {}",
            if arrivals {
                "an arrival rate"
            } else {
                "a users curve"
            }
        ));
        let loops = el
            .prop_el("ThreadGroup.main_controller")
            .and_then(|m| m.prop("LoopController.loops"))
            .and_then(|l| l.trim().parse::<i64>().ok());
        if !arrivals && loops.is_some_and(|l| l >= 0) {
            self.warn(place, format!("LoopController.loops = {}: surge's users loop until the schedule stops them (the plugin's threads end earlier after their loops)", loops.unwrap_or(0)));
        }
        true
    }

    /// The most users of a `${__tstFeedback(timer, start, max, spare)}` target level.
    fn feedback_max(&self, el: &Element) -> Option<f64> {
        let raw = el.prop("TargetLevel")?;
        let args = raw
            .trim()
            .strip_prefix("${__tstFeedback(")?
            .strip_suffix(")}")?;
        args.split(',')
            .nth(2)?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|m| *m >= 1.0)
    }

    /// Ultimate Thread Group rows: threads, initial delay, startup, hold, shutdown (seconds).
    fn ultimate(&mut self, el: &Element, place: &str) -> Vec<(f64, f64)> {
        let mut curves = Vec::new();
        for row in el.collection("ultimatethreadgroupdata") {
            let cells: Vec<f64> = row
                .children
                .iter()
                .map(|c| c.text.trim().parse::<f64>().unwrap_or(0.0).max(0.0))
                .collect();
            let [n, delay, startup, hold, shutdown] = cells[..] else {
                self.warn(place, "a schedule row without its five values: ignored");
                continue;
            };
            if n < 1.0 {
                continue;
            }
            // Thread i (from 0) starts at delay + i × startup / n, as the plugin starts them.
            let up_end = delay + startup * (n - 1.0) / n;
            let mut c = vec![(delay, 0.0), (delay, 1.0)];
            if n > 1.0 {
                c.push((up_end, n));
            }
            c.push((delay + startup + hold, n));
            c.push((delay + startup + hold + shutdown, 0.0));
            curves.push(c);
        }
        if el.collection("ultimatethreadgroupdata").is_empty() {
            self.warn(place, "no schedule rows (ultimatethreadgroupdata)");
        }
        sum(&curves)
    }

    /// Stepping Thread Group: after the initial delay, a burst, then `Start users count` more
    /// every `Start users period` (each over `rampUp`) up to the total; hold `flighttime`; then
    /// `Stop users count` fewer every `Stop users period`.
    fn stepping(&mut self, el: &Element, place: &str) -> Vec<(f64, f64)> {
        let total = self.num(el, "ThreadGroup.num_threads", place);
        let delay = self.num(el, "Threads initial delay", place);
        let step = self.num(el, "Start users count", place).max(1.0);
        let burst = self.num(el, "Start users count burst", place);
        let period = self.num(el, "Start users period", place);
        let ramp = self.num(el, "rampUp", place).min(period);
        let hold = self.num(el, "flighttime", place);
        let stop = self.num(el, "Stop users count", place);
        let stop_period = self.num(el, "Stop users period", place);
        let mut pts = vec![(0.0, 0.0), (delay, 0.0)];
        let (mut t, mut n) = (delay, 0.0f64);
        if burst > 0.0 {
            n = burst.min(total);
            pts.push((t, n));
            t += period;
            pts.push((t, n));
        }
        while n < total {
            let next = (n + step).min(total);
            pts.push((t + ramp, next));
            n = next;
            t += period.max(ramp);
            if n < total {
                pts.push((t, n));
            }
        }
        t = pts.last().map_or(t, |p| p.0) + hold;
        pts.push((t, n));
        if stop > 0.0 {
            while n > 0.0 {
                n = (n - stop).max(0.0);
                pts.push((t, n));
                t += stop_period;
                if n > 0.0 {
                    pts.push((t, n));
                }
            }
        } else {
            pts.push((t, 0.0));
        }
        pts
    }

    /// Free-Form Arrivals: rows of (start rate, end rate, duration) per Unit.
    fn free_form(&mut self, el: &Element, place: &str, unit: f64) -> Vec<(f64, f64)> {
        let mut pts = vec![(0.0, 0.0)];
        let mut t = 0.0;
        for row in el.collection("Schedule") {
            let cells: Vec<f64> = row
                .children
                .iter()
                .map(|c| c.text.trim().parse::<f64>().unwrap_or(0.0).max(0.0))
                .collect();
            let [from, to, d] = cells[..] else {
                self.warn(place, "a schedule row without its three values: ignored");
                continue;
            };
            pts.push((t, from / unit));
            t += d * unit;
            pts.push((t, to / unit));
        }
        pts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_add_up_with_their_jumps() {
        let a = vec![
            (0.0, 0.0),
            (0.0, 1.0),
            (10.0, 5.0),
            (20.0, 5.0),
            (20.0, 0.0),
        ];
        let b = vec![(5.0, 0.0), (5.0, 2.0), (15.0, 2.0), (15.0, 0.0)];
        let s = sum(&[a, b]);
        assert_eq!(
            s,
            [
                (0.0, 0.0),
                (0.0, 1.0),
                (5.0, 3.0),
                (5.0, 5.0),
                (10.0, 7.0),
                (15.0, 7.0),
                (15.0, 5.0),
                (20.0, 5.0),
                (20.0, 0.0)
            ]
        );
        let l = stages(&s, "stages", "start_users");
        assert_eq!(l[1], "start_users = 0");
        assert!(
            l[2].starts_with(
                "stages = [{ duration = \"0s\", target = 1 }, { duration = \"5s\", target = 3 }"
            ),
            "{l:?}"
        );
    }
}
