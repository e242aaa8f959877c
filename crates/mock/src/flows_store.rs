//! The flow store: deterministic initial flows, versions, lock state and the publish Operation life
//! cycle, computed lazily from the compile slot's times (no background task: it works on a paused clock).

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use tokio::time::Instant;

/// Versions kept per flow (older ones are dropped, a modelling choice that bounds memory).
pub const MAX_VERSIONS: usize = 50;

/// The deterministic id of initial flow `n` (1-based) for `seed`: UUID-shaped.
pub fn flow_id(seed: u64, n: u32) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", seed as u32, n)
}

/// The name of initial flow `n` (1-based).
pub fn flow_name(n: u32) -> String {
    format!("surge-flow-{n:04}")
}

#[derive(Debug, Clone)]
pub struct Version {
    pub id: String,
    pub kind: &'static str,
    pub created_ms: i128,
    pub published_ms: Option<i128>,
}

/// An asynchronous operation (PUBLISH or CHECKIN).
#[derive(Debug, Clone)]
pub struct Op {
    pub id: String,
    pub action: &'static str,
    pub client: String,
    /// PENDING_GENERATION from here (compile starts on a worker).
    pub compile_start: Instant,
    /// PENDING_BACKEND_NOTIFICATION from here.
    pub compile_end: Instant,
    /// SUCCESS / FAILURE from here.
    pub done: Instant,
    pub fails: bool,
    /// The version this publish makes the published one.
    pub version: String,
}

impl Op {
    pub fn status(&self, now: Instant) -> &'static str {
        if now >= self.done {
            if self.fails {
                "FAILURE"
            } else {
                "SUCCESS"
            }
        } else if now >= self.compile_end {
            "PENDING_BACKEND_NOTIFICATION"
        } else if now >= self.compile_start {
            "PENDING_GENERATION"
        } else {
            "STARTED"
        }
    }

    pub fn complete(&self, now: Instant) -> bool {
        now >= self.done
    }

    pub fn json(&self, now: Instant) -> Value {
        let status = self.status(now);
        let failed = status == "FAILURE";
        json!({
            "id": self.id,
            "complete": self.complete(now),
            "user": null,
            "client": {"id": self.client, "name": self.client, "selfUri": format!("/api/v2/oauth/clients/{}", self.client)},
            "errorMessage": if failed { json!("Flow publish failed (mock-injected compile failure)") } else { Value::Null },
            "errorCode": if failed { json!("flow.publish.failed") } else { Value::Null },
            "errorDetails": [],
            "actionName": self.action,
            "actionStatus": status,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Flow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub kind: String,
    pub locked_client: Option<String>,
    pub active: bool,
    pub versions: Vec<Version>,
    pub next_version: u32,
    pub saved: Option<Version>,
    pub checked_in: Option<Version>,
    /// Published version before the current publish operation (if any) completes.
    pub published: Option<Version>,
    pub op: Option<Op>,
}

impl Flow {
    /// The published version as of `now` (a completed successful publish counts).
    pub fn published_at(&self, now: Instant) -> Option<&Version> {
        match &self.op {
            Some(op) if op.action == "PUBLISH" && op.status(now) == "SUCCESS" => self
                .versions
                .iter()
                .rev()
                .find(|v| v.id == op.version)
                .or(self.published.as_ref()),
            _ => self.published.as_ref(),
        }
    }

    pub fn version_json(&self, v: &Version) -> Value {
        json!({
            "id": v.id,
            "name": v.id,
            "commitVersion": v.id,
            "configurationVersion": v.id,
            "type": v.kind,
            "secure": false,
            "debug": false,
            "createdBy": null,
            "dateCreated": v.created_ms as i64,
            "datePublished": v.published_ms.map(iso),
            "selfUri": format!("/api/v2/flows/{}/versions/{}", self.id, v.id),
        })
    }

    pub fn json(&self, now: Instant) -> Value {
        let client = self
            .locked_client
            .as_ref()
            .map(|c| json!({"id": c, "name": c}));
        json!({
            "id": self.id,
            "name": self.name,
            "division": {"id": "00000000-0000-4000-8000-0000000000d1", "name": "Home", "selfUri": "/api/v2/authorization/divisions/00000000-0000-4000-8000-0000000000d1"},
            "description": self.description,
            "type": self.kind,
            "lockedUser": null,
            "lockedClient": client,
            "active": self.active,
            "system": false,
            "deleted": false,
            "publishedVersion": self.published_at(now).map(|v| self.version_json(v)),
            "savedVersion": self.saved.as_ref().map(|v| self.version_json(v)),
            "checkedInVersion": self.checked_in.as_ref().map(|v| self.version_json(v)),
            "publishedBy": null,
            "currentOperation": self.op.as_ref().map(|o| o.json(now)),
            "selfUri": format!("/api/v2/flows/{}", self.id),
        })
    }

    /// Adds a version of `kind`, keeping at most [`MAX_VERSIONS`].
    pub fn new_version(&mut self, kind: &'static str, created_ms: i128) -> Version {
        self.next_version += 1;
        let v = Version {
            id: format!("{}.0", self.next_version),
            kind,
            created_ms,
            published_ms: None,
        };
        self.versions.push(v.clone());
        if self.versions.len() > MAX_VERSIONS {
            self.versions.remove(0);
        }
        v
    }
}

/// ISO-8601 (UTC, ms) of Unix ms.
pub fn iso(ms: i128) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// All flows, in creation order, plus finished-operation counts.
#[derive(Debug)]
pub struct FlowStore {
    pub order: Vec<String>,
    pub by_id: HashMap<String, Flow>,
    /// Final statuses of publish operations that a later operation replaced.
    pub finished: BTreeMap<String, u64>,
    created: u64,
    seed: u64,
}

impl FlowStore {
    pub fn new(seed: u64, n: u32, wall_ms: i128) -> FlowStore {
        let mut s = FlowStore {
            order: vec![],
            by_id: HashMap::new(),
            finished: BTreeMap::new(),
            created: 0,
            seed,
        };
        for i in 1..=n {
            let mut f = Flow {
                id: flow_id(seed, i),
                name: flow_name(i),
                description: format!("surge mock flow {i}"),
                kind: "INBOUNDCALL".into(),
                locked_client: None,
                active: true,
                versions: vec![],
                next_version: 0,
                saved: None,
                checked_in: None,
                published: None,
                op: None,
            };
            let v = f.new_version("CHECKIN", wall_ms);
            f.checked_in = Some(v);
            s.insert(f);
        }
        s
    }

    pub fn insert(&mut self, f: Flow) {
        self.order.push(f.id.clone());
        self.by_id.insert(f.id.clone(), f);
    }

    /// A new id for a flow created through the API.
    pub fn new_id(&mut self) -> String {
        self.created += 1;
        format!(
            "{:08x}-0000-4000-9000-{:012x}",
            self.seed as u32, self.created
        )
    }

    pub fn remove(&mut self, id: &str) -> Option<Flow> {
        let f = self.by_id.remove(id)?;
        self.order.retain(|x| x != id);
        Some(f)
    }

    /// Replaces the flow's operation, folding a finished publish into the counts and the published version.
    pub fn set_op(&mut self, id: &str, op: Op, now: Instant) {
        let Some(f) = self.by_id.get_mut(id) else {
            return;
        };
        if let Some(old) = f.op.take() {
            if old.action == "PUBLISH" {
                let st = old.status(now);
                *self.finished.entry(st.to_string()).or_default() += 1;
                if st == "SUCCESS" {
                    if let Some(v) = f.versions.iter().find(|v| v.id == old.version) {
                        f.published = Some(v.clone());
                    }
                }
            }
        }
        f.op = Some(op);
    }

    pub fn operations_by_status(&self, now: Instant) -> BTreeMap<String, u64> {
        let mut m = self.finished.clone();
        for f in self.by_id.values() {
            if let Some(op) = f.op.as_ref().filter(|o| o.action == "PUBLISH") {
                *m.entry(op.status(now).to_string()).or_default() += 1;
            }
        }
        m
    }
}
