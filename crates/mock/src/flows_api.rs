//! Handlers of `/api/v2/flows...`: listing with paging and filters, CRUD, the flow actions (publish is
//! asynchronous and passes the HYPOTHESIS compile backlog), latest configuration and versions.

use super::errors::ApiError;
use super::flows_store::{Flow, Op};
use super::limits::{retry_after_secs, LimitKind};
use super::router::Caller;
use super::state::MockState;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::time::{Duration, Instant};

type ApiResult = Result<Response, ApiError>;

/// Decodes `a=1&b=x%20y+z` into pairs.
///
/// A query string and a login form body are both `application/x-www-form-urlencoded`, so this is
/// `form_urlencoded::parse`, as a real server (and a browser's `URLSearchParams`) reads them: `+`
/// is a space, a bad or cut-short escape (`%zz`, `%4`) stays as written, and bytes that are not
/// UTF-8 once decoded become U+FFFD.
pub fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// All values of `key`, comma lists split.
fn values(q: &[(String, String)], key: &str) -> Vec<String> {
    q.iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()))
        .filter(|s| !s.is_empty())
        .collect()
}

fn first(q: &[(String, String)], key: &str) -> Option<String> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

fn paging(q: &[(String, String)]) -> Result<(usize, usize), ApiError> {
    let num = |key: &str, default: usize| -> Result<usize, ApiError> {
        match first(q, key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| ApiError::bad_request(format!("Invalid value for {key}: {v}"))),
        }
    };
    let size = num("pageSize", 25)?;
    let number = num("pageNumber", 1)?;
    if size == 0 || size > 500 || number == 0 {
        return Err(ApiError::bad_request(
            "pageSize must be 1..500 and pageNumber at least 1",
        ));
    }
    Ok((number, size))
}

/// A Genesys entity listing of `entities` (already filtered and sorted) for `base` with the query `extra`.
fn listing(entities: Vec<Value>, number: usize, size: usize, base: &str, extra: &str) -> Value {
    let total = entities.len();
    let page: Vec<Value> = entities
        .into_iter()
        .skip((number - 1) * size)
        .take(size)
        .collect();
    listing_page(page, total, number, size, base, extra)
}

/// A Genesys entity listing of one page of `total` entities.
fn listing_page(
    page: Vec<Value>,
    total: usize,
    number: usize,
    size: usize,
    base: &str,
    extra: &str,
) -> Value {
    let page_count = total.div_ceil(size).max(1);
    let uri = |n: usize| format!("{base}?pageNumber={n}&pageSize={size}{extra}");
    let mut v = json!({
        "entities": page,
        "pageSize": size,
        "pageNumber": number,
        "total": total,
        "pageCount": page_count,
        "firstUri": uri(1),
        "selfUri": uri(number),
        "lastUri": uri(page_count),
    });
    if number < page_count {
        v["nextUri"] = json!(uri(number + 1));
    }
    if number > 1 {
        v["previousUri"] = json!(uri(number - 1));
    }
    v
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Flow {id} not found."))
}

/// `GET /api/v2/flows`: filters `type`, `id`, `name` (case-insensitive substring, a modelling choice),
/// `sortBy` (`name`|`id`|`type`), `sortOrder` (`asc`|`desc`), paging.
pub async fn list(State(st): State<MockState>, RawQuery(q): RawQuery) -> ApiResult {
    let q = parse_query(q.as_deref());
    let (number, size) = paging(&q)?;
    let types: Vec<String> = values(&q, "type")
        .into_iter()
        .map(|t| t.to_ascii_uppercase())
        .collect();
    let ids = values(&q, "id");
    let name = first(&q, "name").map(|n| n.trim_matches('*').to_lowercase());
    let now = Instant::now();
    let store = st.0.flows.read().unwrap_or_else(|e| e.into_inner());
    let mut flows: Vec<&Flow> = store
        .order
        .iter()
        .filter_map(|id| store.by_id.get(id))
        .filter(|f| types.is_empty() || types.contains(&f.kind))
        .filter(|f| ids.is_empty() || ids.contains(&f.id))
        .filter(|f| {
            name.as_ref()
                .is_none_or(|n| f.name.to_lowercase().contains(n.as_str()))
        })
        .collect();
    match first(&q, "sortBy").as_deref() {
        Some("id") => flows.sort_by(|a, b| a.id.cmp(&b.id)),
        Some("type") => flows.sort_by(|a, b| a.kind.cmp(&b.kind).then(a.name.cmp(&b.name))),
        _ => flows.sort_by(|a, b| a.name.cmp(&b.name)),
    }
    if first(&q, "sortOrder").is_some_and(|o| o.eq_ignore_ascii_case("desc")) {
        flows.reverse();
    }
    let mut extra = String::new();
    for t in &types {
        extra += &format!("&type={t}");
    }
    // render only the requested page
    let total = flows.len();
    let page: Vec<Value> = flows
        .into_iter()
        .skip((number - 1) * size)
        .take(size)
        .map(|f| f.json(now))
        .collect();
    Ok(Json(listing_page(
        page,
        total,
        number,
        size,
        "/api/v2/flows",
        &extra,
    ))
    .into_response())
}

fn body_json(body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))
}

/// `POST /api/v2/flows`: `name` and `type` required.
pub async fn create(State(st): State<MockState>, body: Bytes) -> ApiResult {
    let v = body_json(&body)?;
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let (Some(name), Some(kind)) = (name, kind) else {
        return Err(ApiError::bad_request("A flow needs a name and a type."));
    };
    let now = Instant::now();
    let mut store = st.0.flows.write().unwrap_or_else(|e| e.into_inner());
    let id = store.new_id();
    let mut f = Flow {
        id: id.clone(),
        name: name.to_string(),
        description: v
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        kind: kind.to_ascii_uppercase(),
        locked_client: None,
        active: false,
        versions: vec![],
        next_version: 0,
        saved: None,
        checked_in: None,
        published: None,
        op: None,
    };
    let v = f.new_version("SAVE", st.wall_ms(now));
    f.saved = Some(v);
    let out = f.json(now);
    store.insert(f);
    Ok(Json(out).into_response())
}

pub async fn get_flow(State(st): State<MockState>, Path(id): Path<String>) -> ApiResult {
    let store = st.0.flows.read().unwrap_or_else(|e| e.into_inner());
    let f = store.by_id.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(Json(f.json(Instant::now())).into_response())
}

/// `PUT /api/v2/flows/{flowId}`: updates `name` and `description`.
pub async fn update(State(st): State<MockState>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let v = body_json(&body)?;
    let mut store = st.0.flows.write().unwrap_or_else(|e| e.into_inner());
    let f = store.by_id.get_mut(&id).ok_or_else(|| not_found(&id))?;
    if let Some(n) = v.get("name").and_then(Value::as_str) {
        f.name = n.to_string();
    }
    if let Some(d) = v.get("description").and_then(Value::as_str) {
        f.description = d.to_string();
    }
    Ok(Json(f.json(Instant::now())).into_response())
}

pub async fn delete(State(st): State<MockState>, Path(id): Path<String>) -> ApiResult {
    let mut store = st.0.flows.write().unwrap_or_else(|e| e.into_inner());
    store.remove(&id).ok_or_else(|| not_found(&id))?;
    Ok(StatusCode::OK.into_response())
}

/// `POST /api/v2/flows/actions/{action}?flow=ID`. The body is ignored (SDKs send `null`).
pub async fn action(
    State(st): State<MockState>,
    Path(action): Path<String>,
    RawQuery(q): RawQuery,
    caller: Option<Extension<Caller>>,
) -> ApiResult {
    let q = parse_query(q.as_deref());
    let id = first(&q, "flow").filter(|s| !s.is_empty()).ok_or_else(|| {
        ApiError::bad_request("The query parameter flow (the flow id) is required.")
    })?;
    let client = caller.map(|Extension(c)| c.client_id).unwrap_or_default();
    let now = Instant::now();
    if action == "publish" {
        return publish(&st, &id, &client, now);
    }
    let mut store = st.0.flows.write().unwrap_or_else(|e| e.into_inner());
    let wall = st.wall_ms(now);
    let f = store.by_id.get_mut(&id).ok_or_else(|| not_found(&id))?;
    match action.as_str() {
        "checkout" => {
            if f.locked_client.as_ref().is_some_and(|c| *c != client) {
                return Err(ApiError::conflict(format!(
                    "Flow {id} is locked by another client."
                )));
            }
            f.locked_client = Some(client);
        }
        "checkin" => {
            let v = f.new_version("CHECKIN", wall);
            f.checked_in = Some(v.clone());
            f.locked_client = None;
            let op = Op {
                id: uuid::Uuid::from_u64_pair(st.0.draws.next_u64(), st.0.draws.next_u64())
                    .to_string(),
                action: "CHECKIN",
                client,
                compile_start: now,
                compile_end: now,
                done: now,
                fails: false,
                version: v.id,
            };
            let out = op.json(now);
            store.set_op(&id, op, now);
            return Ok(Json(out).into_response());
        }
        "unlock" | "revert" => f.locked_client = None,
        "deactivate" => f.active = false,
        _ => {
            return Err(ApiError::not_found(format!(
                "No flow action named {action}."
            )))
        }
    }
    Ok(Json(f.json(now)).into_response())
}

/// Publish: 404 for an unknown flow, 409 while this flow's previous publish runs (a modelling choice),
/// 429 when the HYPOTHESIS compile backlog is full, else an Operation in STARTED.
fn publish(st: &MockState, id: &str, client: &str, now: Instant) -> ApiResult {
    let mut store = st.0.flows.write().unwrap_or_else(|e| e.into_inner());
    let f = store.by_id.get_mut(id).ok_or_else(|| not_found(id))?;
    if let Some(op) =
        f.op.as_ref()
            .filter(|o| o.action == "PUBLISH" && !o.complete(now))
    {
        return Err(ApiError::conflict(format!(
            "Flow {id} has a publish in progress (operation {}, {}); retry when it completes.",
            op.id,
            op.status(now)
        )));
    }
    let cfg = &st.cfg().compile_backlog;
    let compile = st.0.draws.duration(cfg.compile);
    let slot =
        st.0.backlog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admit(now, compile);
    let slot = match slot {
        Ok(s) => s,
        Err(wait) => {
            let kind = LimitKind::CompileBacklog;
            st.count_throttled(kind);
            let ra = st.cfg().retry_after;
            let secs = retry_after_secs(wait, ra.min_s, ra.override_s);
            return Err(ApiError::too_many(
                secs,
                kind.key(),
                kind.namespace(),
                u64::from(cfg.capacity),
            ));
        }
    };
    let fails = cfg.failure_rate > 0.0 && st.0.draws.unit() < cfg.failure_rate;
    let done = slot.end + Duration::from_millis(cfg.notify_ms);
    let mut v = f.new_version("PUBLISH", st.wall_ms(now));
    v.published_ms = Some(st.wall_ms(done));
    if let Some(last) = f.versions.last_mut() {
        last.published_ms = v.published_ms;
    }
    f.active = true;
    let op = Op {
        id: uuid::Uuid::from_u64_pair(st.0.draws.next_u64(), st.0.draws.next_u64()).to_string(),
        action: "PUBLISH",
        client: client.to_string(),
        compile_start: slot.start.max(now + Duration::from_nanos(1)),
        compile_end: slot.end.max(now + Duration::from_nanos(1)),
        done: done.max(now + Duration::from_nanos(1)),
        fails,
        version: v.id,
    };
    let out = op.json(now);
    store.set_op(id, op, now);
    Ok(Json(out).into_response())
}

/// `GET /api/v2/flows/{flowId}/latestconfiguration`: free-form JSON.
pub async fn latest_configuration(
    State(st): State<MockState>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = st.0.flows.read().unwrap_or_else(|e| e.into_inner());
    let f = store.by_id.get(&id).ok_or_else(|| not_found(&id))?;
    let version = f.versions.last().map(|v| v.id.clone());
    Ok(Json(json!({
        "id": f.id, "name": f.name, "type": f.kind, "version": version,
        "settings": {"startUpRef": "./menus/menu[mainMenu]", "defaultLanguage": "en-us"},
        "mock": true,
    }))
    .into_response())
}

/// `GET /api/v2/flows/{flowId}/versions`: FlowVersionEntityListing, newest first.
pub async fn versions(
    State(st): State<MockState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let q = parse_query(q.as_deref());
    let (number, size) = paging(&q)?;
    let store = st.0.flows.read().unwrap_or_else(|e| e.into_inner());
    let f = store.by_id.get(&id).ok_or_else(|| not_found(&id))?;
    let entities = f.versions.iter().rev().map(|v| f.version_json(v)).collect();
    Ok(Json(listing(
        entities,
        number,
        size,
        &format!("/api/v2/flows/{id}/versions"),
        "",
    ))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::parse_query;

    #[test]
    fn queries_and_forms_decode_as_a_server_reads_them() {
        let pairs = |q: &str| parse_query(Some(q));
        let one = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        let table = [
            ("name=x%20y+z", one("name", "x y z")),
            ("name=a+b", one("name", "a b")),
            ("name=%2B", one("name", "+")),
            ("name=%zz", one("name", "%zz")),
            ("name=%4", one("name", "%4")),
            ("name=50%", one("name", "50%")),
            ("name=%+1", one("name", "% 1")),
            ("name=%C3%A9", one("name", "é")),
            ("name=%ff", one("name", "\u{FFFD}")),
            ("name=a%3Db=c", one("name", "a=b=c")),
            ("na%6De=1", one("name", "1")),
            ("name", one("name", "")),
            ("&&name=1&", one("name", "1")),
        ];
        for (q, want) in table {
            assert_eq!(pairs(q), want, "{q}");
        }
        assert_eq!(
            pairs("pageSize=2&name=a"),
            vec![
                ("pageSize".to_string(), "2".to_string()),
                ("name".to_string(), "a".to_string())
            ]
        );
        assert!(parse_query(None).is_empty());
    }
}
