//! Operator requests (rsm-media-and-mounts §7, the minimal form): raised, listed, satisfied,
//! refused, withdrawn; a call waiting on one wakes when its state changes.
//!
//! They live in memory: a request belongs to a call that waits on it, and a restart ends every
//! waiting call, so a stored request would outlive the only one who cares [design].

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `NtmsOpreqCommand` types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpReqType {
    /// NEWMEDIA 1: insert media for a pool.
    Newmedia,
    /// CLEANER 2.
    Cleaner,
    /// DEVICESERVICE 3.
    Deviceservice,
    /// MOVEMEDIA 4.
    Movemedia,
    /// MESSAGE 5.
    Message,
}

/// `NtmsOpreqState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpReqState {
    /// SUBMITTED 1.
    Submitted,
    /// ACTIVE 2.
    Active,
    /// INPROGRESS 3.
    InProgress,
    /// REFUSED 4.
    Refused,
    /// COMPLETE 5.
    Complete,
}

/// One operator request as `reel opreq` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorRequest {
    /// Its id.
    pub id: Uuid,
    /// What the operator is asked.
    #[serde(rename = "type")]
    pub kind: OpReqType,
    /// Its state.
    pub state: OpReqState,
    /// What to do, for a person.
    pub message: String,
    /// When it was raised, ms since the Unix epoch.
    pub submitted_ms: i64,
    /// The submitting application.
    pub application: String,
    /// The submitting user, `uid:N`.
    pub user: String,
    /// The pool it is for (NEWMEDIA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<Uuid>,
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitEnd {
    /// Satisfied by an operator.
    Satisfied,
    /// Refused by an operator.
    Refused,
    /// The time ran out; the request was withdrawn.
    TimedOut,
}

/// The open requests.
#[derive(Debug, Default)]
pub(crate) struct OpReqs {
    list: Mutex<Vec<OperatorRequest>>,
    changed: Condvar,
}

impl OpReqs {
    fn lock(&self) -> MutexGuard<'_, Vec<OperatorRequest>> {
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Raises a request; returns its id.
    pub fn submit(&self, r: OperatorRequest) -> Uuid {
        let id = r.id;
        self.lock().push(r);
        self.changed.notify_all();
        id
    }

    /// Every request still open (submitted, active, in progress).
    pub fn open(&self) -> Vec<OperatorRequest> {
        self.lock()
            .iter()
            .filter(|r| {
                matches!(
                    r.state,
                    OpReqState::Submitted | OpReqState::Active | OpReqState::InProgress
                )
            })
            .cloned()
            .collect()
    }

    /// Ends an open request as `state`; `false` when it is not open.
    pub fn finish(&self, id: Uuid, state: OpReqState) -> bool {
        let mut list = self.lock();
        let Some(r) = list.iter_mut().find(|r| r.id == id) else {
            return false;
        };
        if matches!(r.state, OpReqState::Refused | OpReqState::Complete) {
            return false;
        }
        r.state = state;
        // A MESSAGE nobody waits on is forgotten at once.
        if r.kind == OpReqType::Message {
            list.retain(|r| r.id != id);
        }
        drop(list);
        self.changed.notify_all();
        true
    }

    /// Waits until the request is satisfied or refused, or until `limit` (`None`: forever);
    /// removes it from the list when the wait ends.
    pub fn wait(&self, id: Uuid, limit: Option<Duration>) -> WaitEnd {
        let deadline = limit.map(|l| Instant::now() + l);
        let mut list = self.lock();
        loop {
            let state = list.iter().find(|r| r.id == id).map(|r| r.state);
            let end = match state {
                Some(OpReqState::Complete) => Some(WaitEnd::Satisfied),
                Some(OpReqState::Refused) => Some(WaitEnd::Refused),
                None => Some(WaitEnd::Refused),
                _ => None,
            };
            if let Some(end) = end {
                list.retain(|r| r.id != id);
                return end;
            }
            match deadline {
                None => {
                    list = self.changed.wait(list).unwrap_or_else(|p| p.into_inner());
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        list.retain(|r| r.id != id);
                        return WaitEnd::TimedOut;
                    }
                    list = self
                        .changed
                        .wait_timeout(list, d - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }
}
