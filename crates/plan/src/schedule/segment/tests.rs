use std::time::Duration;

use super::*;
use crate::{ArrivalCurve, ArrivalShape, ThreadGroup, UserCurve, UserShape};

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn tg(threads: u32, ramp_ms: u64, delay_ms: u64, duration_ms: Option<u64>) -> Profile {
    Profile::ThreadGroup(ThreadGroup {
        threads,
        ramp_up: ms(ramp_ms),
        loops: Some(2),
        duration: duration_ms.map(ms),
        delay: ms(delay_ms),
    })
}

fn users(shape: UserShape, points: &[(u64, f64)]) -> Profile {
    Profile::Users(UserCurve {
        shape,
        points: points.iter().map(|&(t, v)| (ms(t), v)).collect(),
    })
}

fn arrivals(points: &[(u64, f64)], pre: u32, max: u32) -> Profile {
    Profile::Arrivals(ArrivalCurve {
        shape: ArrivalShape::RampingArrivalRate,
        points: points.iter().map(|&(t, v)| (ms(t), v)).collect(),
        pre_allocated_users: pre,
        max_users: max,
    })
}

/// Every profile kind the scenario file can express, with odd sizes so shares are uneven.
fn profiles() -> Vec<(&'static str, Profile)> {
    vec![
        ("thread group, ramp", tg(7, 3_000, 0, None)),
        ("thread group, no ramp", tg(5, 0, 0, None)),
        (
            "thread group, delay and scheduler end",
            tg(11, 10_000, 500, Some(6_000)),
        ),
        ("thread group, 1 user", tg(1, 1_000, 0, None)),
        (
            "stepping",
            users(
                UserShape::Stepping,
                &[(0, 2.0), (10_000, 2.0), (10_000, 5.0), (20_000, 5.0)],
            ),
        ),
        (
            "spike",
            users(
                UserShape::Spike,
                &[
                    (0, 3.0),
                    (5_000, 3.0),
                    (5_000, 13.0),
                    (7_000, 13.0),
                    (7_000, 3.0),
                    (10_000, 3.0),
                ],
            ),
        ),
        (
            "stages",
            users(
                UserShape::Stages,
                &[(0, 0.0), (4_000, 9.0), (9_000, 2.5), (12_000, 6.0)],
            ),
        ),
        (
            "constant arrival rate",
            arrivals(&[(0, 7.3), (10_000, 7.3)], 3, 9),
        ),
        (
            "ramping arrival rate",
            arrivals(
                &[
                    (0, 0.0),
                    (6_000, 13.0),
                    (9_000, 13.0),
                    (9_000, 2.0),
                    (12_000, 2.0),
                ],
                1,
                17,
            ),
        ),
    ]
}

fn drain(mut s: impl Schedule) -> Vec<Event> {
    std::iter::from_fn(|| s.next_event()).collect()
}

fn sorted(mut v: Vec<Event>) -> Vec<Event> {
    v.sort_by_key(|e| match *e {
        Event::StartUser { at, user } => (at, 0, u64::from(user)),
        Event::StopUser { at, user } => (at, 1, u64::from(user)),
        Event::Arrival { at } => (at, 2, 0),
        Event::StopAll { at } => (at, 3, 0),
    });
    v
}

#[test]
fn the_union_of_n_segments_is_the_whole_plan_for_every_profile() {
    for (name, p) in profiles() {
        for base in [0u32, 3] {
            let whole = drain(super::super::for_profile(&p));
            let (stops, rest): (Vec<Event>, Vec<Event>) = whole
                .iter()
                .partition(|e| matches!(e, Event::StopAll { .. }));
            for n in 1..=5u32 {
                let mut union = Vec::new();
                for i in 1..=n {
                    let seg = Segment::new(i, n).unwrap();
                    let mine = drain(for_segment(&p, seg, base));
                    assert!(
                        mine.windows(2).all(|w| w[0].at() <= w[1].at()),
                        "{name}, segment {seg}: events out of order"
                    );
                    let (s, r): (Vec<Event>, Vec<Event>) = mine
                        .into_iter()
                        .partition(|e| matches!(e, Event::StopAll { .. }));
                    // Every segment ends when the whole plan does.
                    assert_eq!(s, stops, "{name}, segment {seg}: the end");
                    union.extend(r);
                }
                assert_eq!(
                    sorted(union),
                    sorted(rest.clone()),
                    "{name}, user base {base}, N = {n}: union of segments ≠ whole plan"
                );
            }
        }
    }
}

#[test]
fn users_and_arrivals_are_interleaved_not_blocked() {
    // 8 users over 8 s in 2 segments: each starts a user every 2 s from its first second.
    let p = tg(8, 8_000, 0, None);
    let starts = |i| -> Vec<(u64, u32)> {
        drain(for_segment(&p, Segment::new(i, 2).unwrap(), 0))
            .into_iter()
            .filter_map(|e| match e {
                Event::StartUser { at, user } => Some((at.as_millis() as u64, user)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(starts(1), vec![(0, 0), (2_000, 2), (4_000, 4), (6_000, 6)]);
    assert_eq!(
        starts(2),
        vec![(1_000, 1), (3_000, 3), (5_000, 5), (7_000, 7)]
    );
    // 4 arrivals a second in 2 segments: 2 a second each, half a period apart.
    let a = arrivals(&[(0, 4.0), (1_000, 4.0)], 1, 4);
    let at = |i| -> Vec<u64> {
        drain(for_segment(&a, Segment::new(i, 2).unwrap(), 0))
            .into_iter()
            .filter_map(|e| match e {
                Event::Arrival { at } => Some(at.as_millis() as u64),
                _ => None,
            })
            .collect()
    };
    assert_eq!(at(1), vec![0, 500]);
    assert_eq!(at(2), vec![250, 750]);
}

#[test]
fn open_model_pools_split_into_the_whole_pool() {
    // (pre_allocated, max_users, user_base)
    for (pre, max, base) in [(3u32, 9u32, 0u32), (1, 17, 5), (0, 4, 2), (2, 2, 1)] {
        let p = arrivals(&[(0, 1.0), (1_000, 1.0)], pre, max);
        for n in 1..=5u32 {
            let mut slots = Vec::new();
            let (mut pres, mut maxes) = (0, 0);
            for i in 1..=n {
                let seg = Segment::new(i, n).unwrap();
                let Model::Open {
                    pre_allocated,
                    max_users,
                } = for_segment(&p, seg, base).model()
                else {
                    panic!("open model expected")
                };
                pres += pre_allocated;
                maxes += max_users;
                for j in 0..max_users {
                    let local = pool_user(seg, base, j);
                    assert!(seg.owns(u64::from(base + local)));
                    slots.push(local);
                }
                // Its pre-allocated users are its first pool slots, all below the whole's.
                for j in 0..pre_allocated {
                    assert!(pool_user(seg, base, j) < pre);
                }
            }
            slots.sort_unstable();
            assert_eq!(
                slots,
                (0..max).collect::<Vec<_>>(),
                "pre {pre} max {max} N {n}"
            );
            assert_eq!((pres, maxes), (pre, max));
        }
    }
}

#[test]
fn shares_add_up_and_indices_map_back() {
    for n in 1..=5u32 {
        for total in [0u64, 1, 4, 5, 499, 500, 1_000_003] {
            let segs: Vec<Segment> = (1..=n).map(|i| Segment::new(i, n).unwrap()).collect();
            assert_eq!(segs.iter().map(|s| s.share(total)).sum::<u64>(), total);
            for s in &segs {
                for j in 0..s.share(total).min(50) {
                    assert!(s.owns(s.nth(j)) && s.nth(j) < total);
                }
                for base in [0u64, 1, 7] {
                    let owned = (base..base + total.min(40)).filter(|k| s.owns(*k)).count();
                    assert_eq!(s.share_from(base, total.min(40)), owned as u64);
                    if owned > 0 {
                        assert!(s.owns(base + s.nth_from(base, 0)));
                    }
                }
            }
        }
    }
}

#[test]
fn segment_syntax_table() {
    let ok: &[(&str, (u32, u32))] = &[("1/1", (1, 1)), ("2/4", (2, 4)), (" 3 / 3 ", (3, 3))];
    for (s, (i, n)) in ok {
        assert_eq!(
            Segment::parse(s),
            Ok(Segment {
                index: *i,
                count: *n
            }),
            "{s}"
        );
    }
    for bad in ["", "2", "0/4", "5/4", "1/0", "a/b", "-1/2", "1/99999999999"] {
        assert!(Segment::parse(bad).is_err(), "{bad:?} should be refused");
    }
    assert_eq!(
        Segment::parse("5/4").unwrap_err().to_string(),
        "segment 5 of 4: I must be between 1 and N (and N at least 1)"
    );
    assert_eq!(Segment::from_job_index("0", 4), Segment::new(1, 4));
    assert_eq!(Segment::from_job_index("3", 4), Segment::new(4, 4));
    assert_eq!(
        Segment::from_job_index("4", 4).unwrap_err().to_string(),
        "JOB_COMPLETION_INDEX=\"4\" is not an index from 0 to 3 (--segments 4)"
    );
    assert!(Segment::from_job_index("x", 4).is_err());
    assert_eq!(Segment::new(2, 4).unwrap().to_string(), "2/4");
}
