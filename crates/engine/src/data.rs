//! Data sources at run time: shared cursors (one atomic per source) and per-user cursors. A
//! user draws only from the sources bound to its group (`[[data]] groups`), so a group's draws
//! never move another group's shared cursor.

use std::sync::atomic::{AtomicU64, Ordering};

use surge_plan::schedule::Segment;
use surge_plan::{DataKind, DataSource, OnEof, Share};

/// What a user must do when a source ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// This user stops.
    StopThread,
    /// The whole test stops.
    StopTest,
}

/// The shared part: one cursor per source (used by `share = "all"` sources).
#[derive(Debug)]
pub struct SharedData {
    sources: Vec<DataSource>,
    cursors: Vec<AtomicU64>,
    /// A segment draws only its share of a shared source's draws (every N-th, interleaved), so
    /// N segments together hand out each value exactly once, as one process would.
    segment: Segment,
}

impl SharedData {
    /// Cursors for `sources`.
    pub fn new(sources: &[DataSource]) -> SharedData {
        SharedData::for_segment(sources, Segment::WHOLE)
    }

    /// Cursors for `sources` in segment `segment` of a distributed run.
    pub fn for_segment(sources: &[DataSource], segment: Segment) -> SharedData {
        SharedData {
            sources: sources.to_vec(),
            cursors: sources.iter().map(|_| AtomicU64::new(0)).collect(),
            segment,
        }
    }

    /// Number of variables set by all sources together (one that several groups' sources set
    /// counts once).
    pub fn var_count(&self) -> usize {
        let mut v: Vec<usize> = self.sources.iter().flat_map(|s| s.vars.clone()).collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    }
}

/// One user's view: its own cursors and the current values of every variable.
#[derive(Debug)]
pub struct UserData {
    cursors: Vec<u64>,
    /// Current values, indexed like `Plan::vars`.
    pub values: Vec<String>,
    /// Every match of an extractor with `match = "all"`, indexed like `Plan::vars` (empty for
    /// the others): what `foreach` goes over.
    pub lists: Vec<Vec<String>>,
    /// The user's group (index into `Plan::groups`): it draws only the sources bound to it.
    /// None: every source.
    group: Option<usize>,
}

impl UserData {
    /// A fresh user that draws from every source.
    pub fn new(shared: &SharedData, nvars: usize) -> UserData {
        UserData {
            cursors: vec![0; shared.sources.len()],
            values: vec![String::new(); nvars],
            lists: vec![Vec::new(); nvars],
            group: None,
        }
    }

    /// A fresh user of group `group`: it draws only from the sources bound to that group.
    pub fn in_group(shared: &SharedData, nvars: usize, group: usize) -> UserData {
        UserData {
            group: Some(group),
            ..UserData::new(shared, nvars)
        }
    }

    /// Draws the next value of every source into `values` (once per iteration), random values
    /// from entropy.
    ///
    /// # Errors
    /// A finite source ran out and its `on_eof` says to stop.
    pub fn draw(&mut self, shared: &SharedData) -> Result<(), Exhausted> {
        self.draw_with(shared, &mut rand::make_rng(), 1)
    }

    /// As [`UserData::draw`], for user `number` (from 1, in its group; per-user rows read it),
    /// random values from `rng`.
    ///
    /// # Errors
    /// A finite source ran out and its `on_eof` says to stop.
    pub fn draw_with(
        &mut self,
        shared: &SharedData,
        rng: &mut rand::rngs::StdRng,
        number: u32,
    ) -> Result<(), Exhausted> {
        use rand::RngExt as _;
        for (i, src) in shared.sources.iter().enumerate() {
            if !src.drawn_by(self.group) {
                continue;
            }
            if let DataKind::PerUser { rows } = &src.kind {
                let row = &rows[(number.max(1) as usize - 1) % rows.len()];
                for (col, var) in src.vars.iter().enumerate() {
                    set(&mut self.values[*var], &row[col]);
                }
                continue;
            }
            if let DataKind::Random { min, max, format } = &src.kind {
                let n = rng.random_range(*min..=*max);
                write_number(&mut self.values[src.vars[0]], n, format.as_ref());
                continue;
            }
            let n = match src.share {
                Share::All => shared
                    .segment
                    .nth(shared.cursors[i].fetch_add(1, Ordering::Relaxed)),
                Share::PerThread => {
                    let n = self.cursors[i];
                    self.cursors[i] += 1;
                    n
                }
            };
            let len = match &src.kind {
                DataKind::Csv { data, .. } => Some(data.len() as u64),
                DataKind::List { values } => Some(values.len() as u64),
                _ => None,
            };
            let idx = match len {
                Some(len) if n >= len => match src.on_eof {
                    OnEof::Recycle => (n % len) as usize,
                    OnEof::StopThread => return Err(Exhausted::StopThread),
                    OnEof::StopTest => return Err(Exhausted::StopTest),
                },
                _ => n as usize,
            };
            match &src.kind {
                DataKind::Csv { data, .. } => {
                    for (col, var) in src.vars.iter().enumerate() {
                        set(
                            &mut self.values[*var],
                            data[idx].get(col).map_or("", String::as_str),
                        );
                    }
                }
                DataKind::List { values } => set(&mut self.values[src.vars[0]], &values[idx]),
                DataKind::Env { value, .. } => set(
                    &mut self.values[src.vars[0]],
                    value.as_ref().map_or("", |v| v.0.as_str()),
                ),
                DataKind::Uuid => {
                    let v = &mut self.values[src.vars[0]];
                    v.clear();
                    v.push_str(
                        uuid::Uuid::new_v4()
                            .hyphenated()
                            .encode_lower(&mut uuid::Uuid::encode_buffer()),
                    );
                }
                DataKind::Counter {
                    start,
                    step,
                    end,
                    format,
                } => {
                    // After `end`, back to `start` (JMeter's counter maximum).
                    let n = match end {
                        Some(e) if *step != 0 && (e - start) / step >= 0 => {
                            n % ((e - start) / step + 1) as u64
                        }
                        _ => n,
                    };
                    let value = start.saturating_add((n as i64).saturating_mul(*step));
                    write_number(&mut self.values[src.vars[0]], value, format.as_ref());
                }
                DataKind::Random { .. } | DataKind::PerUser { .. } => {}
            }
        }
        Ok(())
    }
}

fn write_number(dst: &mut String, n: i64, format: Option<&surge_plan::data::NumFormat>) {
    dst.clear();
    match format {
        Some(f) => f.write(n, dst),
        None => {
            use std::fmt::Write as _;
            let _ = write!(dst, "{n}");
        }
    }
}

fn set(dst: &mut String, v: &str) {
    dst.clear();
    dst.push_str(v);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn csv(rows: &[&str], share: Share, on_eof: OnEof) -> DataSource {
        DataSource {
            kind: DataKind::Csv {
                file: "f.csv".into(),
                rows: rows.len(),
                data: Arc::new(
                    rows.iter()
                        .map(|r| vec![r.to_string(), format!("{r}-name")])
                        .collect(),
                ),
            },
            share,
            on_eof,
            vars: vec![0, 1],
            groups: None,
        }
    }

    fn draws(shared: &SharedData, u: &mut UserData, n: usize) -> Vec<Result<String, Exhausted>> {
        (0..n)
            .map(|_| u.draw(shared).map(|_| u.values[0].clone()))
            .collect()
    }

    #[test]
    fn shared_cursor_hands_each_row_to_one_user_then_recycles() {
        let shared = SharedData::new(&[csv(&["a", "b", "c"], Share::All, OnEof::Recycle)]);
        let mut u1 = UserData::new(&shared, 2);
        let mut u2 = UserData::new(&shared, 2);
        assert_eq!(
            draws(&shared, &mut u1, 2),
            vec![Ok("a".into()), Ok("b".into())]
        );
        assert_eq!(
            draws(&shared, &mut u2, 2),
            vec![Ok("c".into()), Ok("a".into())]
        );
        assert_eq!(u2.values[1], "a-name");
    }

    #[test]
    fn per_thread_cursors_start_over_for_each_user() {
        let shared = SharedData::new(&[csv(&["a", "b"], Share::PerThread, OnEof::Recycle)]);
        let mut u1 = UserData::new(&shared, 2);
        let mut u2 = UserData::new(&shared, 2);
        assert_eq!(
            draws(&shared, &mut u1, 3),
            vec![Ok("a".into()), Ok("b".into()), Ok("a".into())]
        );
        assert_eq!(draws(&shared, &mut u2, 1), vec![Ok("a".into())]);
    }

    #[test]
    fn exhaustion_stops_thread_or_test() {
        let shared = SharedData::new(&[csv(&["a"], Share::All, OnEof::StopThread)]);
        let mut u = UserData::new(&shared, 2);
        assert_eq!(
            draws(&shared, &mut u, 2),
            vec![Ok("a".into()), Err(Exhausted::StopThread)]
        );
        let shared = SharedData::new(&[csv(&["a"], Share::PerThread, OnEof::StopTest)]);
        let mut u = UserData::new(&shared, 2);
        assert_eq!(
            draws(&shared, &mut u, 2),
            vec![Ok("a".into()), Err(Exhausted::StopTest)]
        );
    }

    #[test]
    fn a_source_bound_to_a_group_is_drawn_by_its_users_only() {
        // Group 0 (the batch) reads the rows; group 1 (a canary) its own list: the canary's
        // draws never move the batch's shared cursor.
        let mut rows = csv(&["a", "b", "c"], Share::All, OnEof::StopThread);
        rows.groups = Some(vec![0]);
        let mut own = DataSource {
            kind: DataKind::List {
                values: Arc::new(vec!["x".into()]),
            },
            share: Share::All,
            on_eof: OnEof::Recycle,
            vars: vec![2],
            groups: Some(vec![1]),
        };
        let shared = SharedData::new(&[rows.clone(), own.clone()]);
        let mut canary = UserData::in_group(&shared, 3, 1);
        for _ in 0..5 {
            canary.draw(&shared).unwrap();
            assert_eq!(canary.values, vec!["", "", "x"]);
        }
        let mut batch = UserData::in_group(&shared, 3, 0);
        assert_eq!(
            draws(&shared, &mut batch, 4),
            vec![
                Ok("a".into()),
                Ok("b".into()),
                Ok("c".into()),
                Err(Exhausted::StopThread)
            ]
        );
        assert_eq!(
            batch.values[2], "",
            "the batch never draws the canary's list"
        );
        // A user of no group (a unit test's) draws every source.
        own.groups = Some(vec![5]);
        let shared = SharedData::new(&[rows, own]);
        let mut any = UserData::new(&shared, 3);
        any.draw(&shared).unwrap();
        assert_eq!(any.values, vec!["a", "a-name", "x"]);
    }

    #[test]
    fn each_group_draws_its_own_source_of_one_variable() {
        // JMeter's CSV Data Set inside each thread group: both set variable 0.
        let list = |v: &[&str], g: usize| DataSource {
            kind: DataKind::List {
                values: Arc::new(v.iter().map(|s| s.to_string()).collect()),
            },
            share: Share::All,
            on_eof: OnEof::Recycle,
            vars: vec![0],
            groups: Some(vec![g]),
        };
        let shared = SharedData::new(&[list(&["a1", "a2"], 0), list(&["b1"], 1)]);
        let mut a = UserData::in_group(&shared, 1, 0);
        let mut b = UserData::in_group(&shared, 1, 1);
        assert_eq!(shared.var_count(), 1);
        let mut seen = Vec::new();
        for _ in 0..3 {
            a.draw(&shared).unwrap();
            b.draw(&shared).unwrap();
            seen.push((a.values[0].clone(), b.values[0].clone()));
        }
        let s = |x: &str, y: &str| (x.to_string(), y.to_string());
        assert_eq!(seen, vec![s("a1", "b1"), s("a2", "b1"), s("a1", "b1")]);
    }

    #[test]
    fn generated_sources() {
        let sources = vec![
            DataSource {
                kind: DataKind::Counter {
                    start: 10,
                    step: 5,
                    end: None,
                    format: None,
                },
                share: Share::All,
                on_eof: OnEof::Recycle,
                vars: vec![0],
                groups: None,
            },
            DataSource {
                kind: DataKind::List {
                    values: Arc::new(vec!["x".into(), "y".into()]),
                },
                share: Share::PerThread,
                on_eof: OnEof::Recycle,
                vars: vec![1],
                groups: None,
            },
            DataSource {
                kind: DataKind::Uuid,
                share: Share::All,
                on_eof: OnEof::Recycle,
                vars: vec![2],
                groups: None,
            },
        ];
        let shared = SharedData::new(&sources);
        assert_eq!(shared.var_count(), 3);
        let mut u = UserData::new(&shared, 3);
        let mut seen = Vec::new();
        for _ in 0..3 {
            u.draw(&shared).unwrap();
            seen.push((u.values[0].clone(), u.values[1].clone()));
            assert_eq!(u.values[2].len(), 36);
        }
        assert_eq!(
            seen,
            vec![
                ("10".into(), "x".into()),
                ("15".into(), "y".into()),
                ("20".into(), "x".into())
            ]
        );
    }

    #[test]
    fn segments_of_a_shared_source_hand_out_each_value_once() {
        // 10 rows, stop at the end; and a counter: N segments draw until dry (or 7 draws).
        for n in 1..=5u32 {
            let rows: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
            let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
            let sources = vec![csv(&refs, Share::All, OnEof::StopThread)];
            let mut seen = Vec::new();
            let mut counted = Vec::new();
            for i in 1..=n {
                let seg = Segment::new(i, n).unwrap();
                let shared = SharedData::for_segment(&sources, seg);
                let mut u = UserData::new(&shared, 2);
                while u.draw(&shared).is_ok() {
                    seen.push(u.values[0].clone());
                }
                let counter = SharedData::for_segment(
                    &[DataSource {
                        kind: DataKind::Counter {
                            start: 1,
                            step: 1,
                            end: None,
                            format: None,
                        },
                        share: Share::All,
                        on_eof: OnEof::Recycle,
                        vars: vec![0],
                        groups: None,
                    }],
                    seg,
                );
                let mut c = UserData::new(&counter, 1);
                // Each segment draws its share of 23 draws, as it would with 23 iterations.
                for _ in 0..seg.share(23) {
                    c.draw(&counter).unwrap();
                    counted.push(c.values[0].parse::<u64>().unwrap());
                }
            }
            seen.sort();
            assert_eq!(seen, rows, "N = {n}: every row exactly once");
            counted.sort_unstable();
            assert_eq!(counted, (1..=23).collect::<Vec<u64>>(), "N = {n}");
        }
    }

    #[test]
    fn counters_random_values_and_per_user_rows() {
        use rand::SeedableRng as _;
        let text = r#"
    name = "t"
    [target]
    base_url = "http://127.0.0.1:1"
    [[data]]
    kind = "counter"
    var = "n"
    start = 1
    step = 2
    end = 5
    format = "id_000"
    share = "per_thread"
    [[data]]
    kind = "random"
    var = "r"
    min = 1
    max = 3
    format = "00"
    [[data]]
    kind = "per_user"
    columns = ["user", "pass"]
    rows = [["alice", "a1"], ["bob", "b2"]]
    [[request]]
    name = "a"
    path = "/{n}/{r}/{user}"
    [load]
    threads = 1
    "#;
        let plan = surge_plan::load_str(text, std::path::Path::new("t.toml"), &[])
            .unwrap_or_else(|e| panic!("{e}"));
        let shared = SharedData::new(&plan.data);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut u3 = UserData::new(&shared, plan.vars.len());
        let mut seen = Vec::new();
        for _ in 0..4 {
            u3.draw_with(&shared, &mut rng, 3).unwrap();
            seen.push(u3.values[0].clone());
            let r: i64 = u3.values[1].parse().unwrap();
            assert!((1..=3).contains(&r) && u3.values[1].len() == 2);
            assert_eq!(
                (u3.values[2].as_str(), u3.values[3].as_str()),
                ("alice", "a1")
            );
        }
        assert_eq!(seen, ["id_001", "id_003", "id_005", "id_001"]);
        let mut u2 = UserData::new(&shared, plan.vars.len());
        u2.draw_with(&shared, &mut rng, 2).unwrap();
        assert_eq!(u2.values[2], "bob");
        let bad = text
            .replace("end = 5", "end = -5")
            .replace("rows = [[\"alice\", \"a1\"], [\"bob\"]]", "")
            .replace("kind = \"random\"", "kind = \"randon\"");
        let e = surge_plan::load_str(&bad, std::path::Path::new("t.toml"), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("data[0].end: -5 is never reached"), "{e}");
        assert!(e.contains("did you mean \"random\""), "{e}");
    }
}
