//! Config elements, read once where they sit: user-defined variables, CSV data sets, timers
//! and Response Assertions on the response code.

use super::expr;
use super::model::DataOut;
use super::walk::{Timer, Walker};
use super::xml::Element;

impl Walker<'_> {
    /// Reads an `Arguments` element (the test plan's, or a User Defined Variables element).
    pub(super) fn udvs(&mut self, args: &Element, place: &str) {
        for a in args.collection("Arguments.arguments") {
            let (Some(name), value) = (
                a.prop("Argument.name"),
                a.prop("Argument.value").unwrap_or_default(),
            ) else {
                continue;
            };
            let v = self.expr(&value, place);
            if !expr::is_constant(&v) {
                self.warn(place, format!("variable {name:?} = {value:?}: JMeter evaluates it once at the start; surge evaluates it at each use"));
            }
            self.env.udvs.insert(name.trim().to_string(), v);
        }
    }

    pub(super) fn csv(&mut self, el: &Element, place: &str) {
        let Some(raw) = el.prop_nonempty("filename") else {
            self.warn(place, "no filename: not imported");
            return;
        };
        let Some(file) = self.constant(&raw, place, "filename") else {
            return;
        };
        let file = self.jmx_dir.join(file.trim());
        let delimiter = el
            .prop("delimiter")
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| ",".into());
        let names_raw = el.prop("variableNames").unwrap_or_default();
        let ignore_first = el.prop_bool("ignoreFirstLine").unwrap_or(false);
        let (columns, names) = if names_raw.trim().is_empty() {
            // JMeter reads the names from the file's first line.
            let first =
                surge_record::limits::read_to_string(&file, surge_record::limits::DATA_FILE_BYTES)
                    .ok()
                    .and_then(|t| t.lines().next().map(str::to_string));
            let Some(first) = first else {
                self.warn(place, format!("{} cannot be read to learn its column names (variableNames is empty): not imported", file.display()));
                return;
            };
            let d = if delimiter == "\\t" {
                "\t".to_string()
            } else {
                delimiter.clone()
            };
            (
                None,
                first
                    .split(d.as_str())
                    .map(|s| s.trim().to_string())
                    .collect::<Vec<_>>(),
            )
        } else {
            let n: Vec<String> = names_raw.split(',').map(|s| s.trim().to_string()).collect();
            (Some(n.clone()), n)
        };
        let group_element = self.prepass_group;
        // JMeter reads a CSV data set inside a thread group in that group only: two groups may
        // each read their own file into the same variables.
        let clash = names.iter().find(|n| {
            self.env.data_vars.contains(n)
                && !(group_element.is_some()
                    && self
                        .m
                        .data
                        .iter()
                        .filter(|d| d.vars.contains(n))
                        .all(|d| d.group_element.is_some() && d.group_element != group_element))
        });
        if let Some(dup) = clash {
            self.warn(place, format!("variable {dup:?} is already set by an earlier CSV data set that the same threads read: not imported"));
            return;
        }
        let mut comments = vec![format!("{place}")];
        let recycle = el.prop_bool("recycle").unwrap_or(true);
        let stop_thread = el.prop_bool("stopThread").unwrap_or(false);
        let on_eof = match (recycle, stop_thread) {
            (true, _) => "recycle",
            (false, true) => "stop_thread",
            (false, false) => {
                self.warn(place, "recycle = false and stopThread = false: JMeter goes on with \"<EOF>\" values; surge stops the thread at the end of the file instead");
                comments.push(
                    "approximated: JMeter would go on with \"<EOF>\" values at the end of the file"
                        .into(),
                );
                "stop_thread"
            }
        };
        let mode = el
            .prop("shareMode")
            .unwrap_or_else(|| "shareMode.all".into());
        let share = match mode.as_str() {
            "shareMode.all" | "" => "all",
            "shareMode.thread" => "per_thread",
            // Inside a thread group, only its threads read it: shared by them, as JMeter.
            "shareMode.group" if group_element.is_some() => "all",
            "shareMode.group" => {
                comments.push("approximated: JMeter shares this file within each thread group; surge shares it across all".into());
                self.note(place, "shareMode.group: surge shares the file across all threads (the same when there is one thread group)");
                "all"
            }
            other => {
                self.warn(
                    place,
                    format!("shareMode {other:?} is not supported: shared by all threads"),
                );
                "all"
            }
        };
        if columns.is_none() && ignore_first {
            self.note(place, "ignoreFirstLine with empty variableNames: the first line names the variables, as in JMeter");
        }
        for n in &names {
            if !self.env.data_vars.contains(n) {
                self.env.data_vars.push(n.clone());
            }
        }
        self.m.data.push(DataOut {
            vars: names,
            group_element,
            group: None,
            file,
            skip_header: columns.is_some() && ignore_first,
            columns,
            delimiter,
            share,
            on_eof,
            comments,
        });
    }

    /// Reads one timer element.
    pub(super) fn timer(&mut self, el: &Element, place: &str) -> Option<Timer> {
        let delay = self
            .number(el, "ConstantTimer.delay", place)
            .unwrap_or(0.0)
            .max(0.0);
        let range = self
            .number(el, "RandomTimer.range", place)
            .unwrap_or(0.0)
            .max(0.0);
        match el.tag.as_str() {
            "ConstantTimer" => Some(Timer::Range(delay, delay)),
            "UniformRandomTimer" => Some(Timer::Range(delay, delay + range)),
            "GaussianRandomTimer" => Some(Timer::Gaussian(delay, range)),
            "PoissonRandomTimer" => Some(Timer::Poisson(delay, range)),
            "ConstantThroughputTimer" => {
                let per_min = self.number(el, "throughput", place).unwrap_or(0.0);
                let mode = match el.prop("calcMode").unwrap_or_default().trim() {
                    // JMeter 2.x wrote the mode's words.
                    m if m.starts_with("this thread") => 0,
                    m if m.starts_with("all active threads in current") => 2,
                    m if m.starts_with("all active threads") => 1,
                    m => m.parse::<i64>().unwrap_or(0),
                };
                if per_min <= 0.0 {
                    self.note(
                        place,
                        "throughput is 0 (JMeter then does not pace): nothing to pace",
                    );
                    return None;
                }
                Some(Timer::Throughput(per_min, mode))
            }
            "SyncTimer" => {
                let size = self.number(el, "groupSize", place).unwrap_or(0.0).max(0.0) as u64;
                let timeout = self
                    .number(el, "timeoutInMs", place)
                    .unwrap_or(0.0)
                    .max(0.0) as u64;
                let q = |s: &str| toml_edit::Value::from(s).to_string().trim().to_string();
                let mut head = format!("rendezvous = {}", q(el.testname().trim()));
                if size > 0 {
                    head.push_str(&format!(", users = {size}"));
                }
                if timeout > 0 {
                    head.push_str(&format!(", timeout = \"{timeout}ms\""));
                } else {
                    self.note(place, "no timeout: users wait until the group's number arrives (or the run stops)");
                }
                Some(Timer::Sync(head))
            }
            t if t.ends_with("PreciseThroughputTimer") => {
                let n = self.number(el, "throughput", place).unwrap_or(0.0);
                let period = self.number(el, "throughputPeriod", place).unwrap_or(3600.0);
                if n <= 0.0 || period <= 0.0 {
                    self.note(place, "throughput is 0: nothing to pace");
                    return None;
                }
                Some(Timer::Precise(n / period))
            }
            t => {
                self.warn(place, format!("{t} is not supported: no pause"));
                None
            }
        }
    }

    /// Reads a Response Assertion into the scope's accepted codes.
    pub(super) fn assertion(&mut self, el: &Element, place: &str, codes: &mut Option<Vec<u16>>) {
        let field = el.prop("Assertion.test_field").unwrap_or_default();
        if field != "Assertion.response_code" {
            self.warn(place, format!("checks {field:?}, not the response code: not imported (surge checks status codes only)"));
            return;
        }
        let ty = self.number(el, "Assertion.test_type", place).unwrap_or(8.0) as i64;
        if ty & 4 != 0 {
            self.warn(
                place,
                "a NOT assertion on the response code is not supported: not imported",
            );
            return;
        }
        let strings = test_strings(el);
        let mut sets: Vec<Vec<u16>> = Vec::new();
        for s in strings {
            let Some(s) = self.constant(&s, place, "pattern") else {
                continue;
            };
            match super::http::codes_matching(s.trim(), ty) {
                Some(c) => sets.push(c),
                None => self.warn(place, format!("pattern {s:?} is not understood (digits, \\d, . and [..] only): not imported")),
            }
        }
        if sets.is_empty() {
            return;
        }
        let or = ty & 32 != 0;
        let mut acc = sets[0].clone();
        for s in &sets[1..] {
            if or {
                acc.extend(s);
                acc.sort_unstable();
                acc.dedup();
            } else {
                acc.retain(|c| s.contains(c));
            }
        }
        if el.prop_bool("Assertion.assume_success") != Some(true) && acc.iter().any(|c| *c >= 400) {
            self.note(place, "JMeter still fails a 4xx/5xx sample unless \"Ignore Status\" is ticked; surge counts the listed codes as success");
        }
        *codes = Some(match codes.take() {
            None => acc,
            Some(outer) => outer.into_iter().filter(|c| acc.contains(c)).collect(),
        });
        if codes.as_ref().is_some_and(Vec::is_empty) {
            self.warn(place, "no response code passes every assertion in scope");
        }
    }
}

/// A Response Assertion's patterns (JMeter keeps its old misspelt property name too).
pub(super) fn test_strings(el: &Element) -> Vec<String> {
    el.collection("Asserion.test_strings")
        .iter()
        .chain(el.collection("Assertion.test_strings"))
        .map(|s| s.text.clone())
        .collect()
}
