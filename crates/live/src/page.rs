//! The live page (`surge run --live`): one self-contained page (inline CSS and script, no
//! external asset, the report's Content-Security-Policy plus `connect-src 'self'` for its feed)
//! that draws the timeline rows the hub holds, fed by Server-Sent Events at every tick, and
//! links the run's report.html once it is written.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures::Stream;

use super::hub::{Hub, Snapshot};

/// The page's policy: the report's (nothing fetched; inline style and script; data: images),
/// and its own feed.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; connect-src 'self'";

/// report.html's own policy, sent with it when the live server hands it out.
const REPORT_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

const HTML: &str = include_str!("live.html");
const JS: &str = include_str!("live.js");

/// `GET /` (the page), `GET /events` (its feed), `GET /report.html` (once written).
pub fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/events", get(events))
        .route("/report.html", get(report))
        .with_state(hub)
}

/// The page, its script inlined, with the run so far (`initial`, a feed message) inside it:
/// it draws at once, and its feed brings what follows.
pub fn html(initial: &str) -> String {
    // JSON in a script element: only `</` could end it early.
    let initial = initial.replace("</", "<\\/");
    HTML.replace("{CSP}", CSP)
        .replace("/*{JS}*/", JS)
        .replace("{INITIAL}", &initial)
}

async fn page(State(hub): State<Arc<Hub>>) -> impl IntoResponse {
    let (initial, _, _) = hub.read(|s| message(s, None));
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CONTENT_SECURITY_POLICY, CSP),
            (CACHE_CONTROL, "no-store"),
        ],
        html(&initial),
    )
}

async fn report(State(hub): State<Arc<Hub>>) -> impl IntoResponse {
    let Some(path) = hub.read(|s| s.report.clone()) else {
        return (
            StatusCode::NOT_FOUND,
            [
                (CONTENT_TYPE, "text/plain; charset=utf-8"),
                (CONTENT_SECURITY_POLICY, REPORT_CSP),
            ],
            "report.html is written when the run ends".to_string(),
        );
    };
    match tokio::fs::read_to_string(&path).await {
        Ok(text) => (
            StatusCode::OK,
            [
                (CONTENT_TYPE, "text/html; charset=utf-8"),
                (CONTENT_SECURITY_POLICY, REPORT_CSP),
            ],
            text,
        ),
        Err(e) => (
            StatusCode::NOT_FOUND,
            [
                (CONTENT_TYPE, "text/plain; charset=utf-8"),
                (CONTENT_SECURITY_POLICY, REPORT_CSP),
            ],
            format!("report.html: {e}"),
        ),
    }
}

/// Where one feed is: the next row it owes and whether it has said the end.
struct Feed {
    hub: Arc<Hub>,
    rx: tokio::sync::watch::Receiver<u64>,
    next_t: Option<u32>,
    said_end: bool,
    ended: bool,
}

/// `/events?from=T`: the rows from second T on (the page asks from the row after those it
/// was served with).
#[derive(Debug, serde::Deserialize)]
struct From {
    from: Option<u32>,
}

async fn events(
    State(hub): State<Arc<Hub>>,
    Query(q): Query<From>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut rx = hub.subscribe();
    rx.mark_changed();
    let feed = Feed {
        hub,
        rx,
        next_t: q.from,
        said_end: false,
        ended: false,
    };
    let stream = futures::stream::unfold(feed, |mut f| async move {
        if f.ended {
            return None;
        }
        if f.rx.changed().await.is_err() {
            return None;
        }
        // The first message after the end sends every row again: the result's own, with the
        // late answers merged into seconds already sent.
        let from = if f.said_end || !f.hub.read(|s| s.finished) {
            f.next_t
        } else {
            None
        };
        let (msg, next_t, end) = f.hub.read(|s| message(s, from));
        f.next_t = next_t;
        // One message after the end (with the report's link when written), then the feed ends
        // so that the server can stop.
        f.ended = end && (f.said_end || f.hub.read(|s| s.report.is_some() || s.closed));
        f.said_end |= end;
        Some((Ok(Event::default().data(msg)), f))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The feed's message: the rows from `next_t` on, and the run's state. Returns it, the next
/// row owed, and whether the run has ended.
pub fn message(s: &Snapshot, next_t: Option<u32>) -> (String, Option<u32>, bool) {
    let rows: Vec<_> = s
        .rows
        .iter()
        .filter(|r| next_t.is_none_or(|n| r.t >= n))
        .collect();
    let next = s.rows.back().map(|r| r.t + 1).or(next_t);
    let end = s.finished || s.closed;
    let msg = serde_json::json!({
        "scenario": s.info.scenario,
        "run_id": s.info.run_id,
        "segment": s.info.segment,
        "elapsed_s": s.elapsed.as_secs_f64(),
        "active_users": s.active_users,
        "finished": s.finished,
        "closed": s.closed,
        "report": s.report.is_some(),
        "rows": rows,
    });
    (msg.to_string(), next, end)
}
