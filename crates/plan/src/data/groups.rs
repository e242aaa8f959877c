//! `[[data]] groups`: which `[[group]]`s' users draw a source (by name, checked), when two
//! groups' sources may set one variable, and the check that a group uses no variable only other
//! groups draw.

use super::super::build::Checker;
use super::DataSource;

/// `data[i].groups`: the `[[group]]`s named, as indices (None: not set, every group draws).
pub(super) fn bind_groups(
    c: &mut Checker<'_>,
    p: &str,
    raw: Option<&[String]>,
    groups: Option<&[String]>,
) -> Option<Vec<usize>> {
    let raw = raw?;
    let field = format!("{p}.groups");
    let Some(groups) = groups else {
        c.err(
            &field,
            "applies only with [[group]]s (with [load] every user is in the one group)",
        );
        return None;
    };
    if raw.is_empty() {
        c.err(
            &field,
            "names no group: name at least one, or leave groups out for every group",
        );
        return None;
    }
    let mut bound = Vec::new();
    for name in raw {
        match groups.iter().position(|g| g == name) {
            Some(i) if bound.contains(&i) => c.err(&field, format!("names {name:?} twice")),
            Some(i) => bound.push(i),
            None => c.err(
                &field,
                format!(
                    "no [[group]] is named {name:?}; the groups are {}{}",
                    groups
                        .iter()
                        .map(|g| format!("{g:?}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    surge_record::text::did_you_mean(name, groups.iter().map(String::as_str))
                ),
            ),
        }
    }
    Some(bound)
}

/// A group that uses a data variable in a request template must draw a source that sets it:
/// else the request would be sent with an empty value. Variables an extractor sets or a setup
/// group exports may come from there and are not checked.
pub(crate) fn check_group_draws(
    c: &mut Checker<'_>,
    data: &[DataSource],
    vars: &[String],
    requests: &[crate::plan::RequestSpec],
    groups: &[crate::plan::Group],
) {
    let set_elsewhere = |v: usize| {
        requests
            .iter()
            .any(|r| r.extract.iter().any(|e| e.var == v))
            || groups.iter().any(|g| g.export.contains(&v))
    };
    // Group `gi` draws a source that sets `v` (its own, or one every group draws).
    let drawn = |gi: usize, v: usize| {
        data.iter()
            .any(|s| s.vars.contains(&v) && s.groups.as_ref().is_none_or(|g| g.contains(&gi)))
    };
    for (di, src) in data.iter().enumerate() {
        let Some(bound) = &src.groups else { continue };
        for (gi, g) in groups.iter().enumerate() {
            if bound.contains(&gi) {
                continue;
            }
            for &ri in &g.steps {
                let r = &requests[ri];
                let used = r
                    .path
                    .vars()
                    .chain(r.headers.iter().flat_map(|h| h.1.vars()))
                    .chain(r.body.iter().flat_map(|b| b.vars()))
                    .find(|v| src.vars.contains(v) && !set_elsewhere(*v) && !drawn(gi, *v));
                if let Some(v) = used {
                    c.err(
                        &format!("data[{di}].groups"),
                        format!(
                            "group {:?} does not draw from this source, yet its request {:?} uses {{{}}}: add the group, or give it a source of its own",
                            g.name, r.name, vars[v]
                        ),
                    );
                    break;
                }
            }
        }
    }
}

/// Whether a source bound to `bound` may set variable `k` too: every earlier source that sets
/// it is bound to other groups only.
pub(super) fn apart(earlier: &[DataSource], k: usize, bound: Option<&[usize]>) -> bool {
    let Some(bound) = bound else { return false };
    earlier.iter().filter(|s| s.vars.contains(&k)).all(|s| {
        s.groups
            .as_ref()
            .is_some_and(|g| !g.iter().any(|x| bound.contains(x)))
    })
}
