//! Library requests (`rsm-media-and-mounts.md` §8): every physical operation the controller
//! carries out has an id, an operation, a state, a priority, its times, the drive and medium
//! involved and its error. Queued ones can be cancelled; finished ones are kept (the last
//! [`KEEP_FINISHED`]) for `reel requests --all`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use uuid::Uuid;

use crate::pool::Win32Code;

/// Finished requests kept for listing.
pub const KEEP_FINISHED: usize = 1024;

/// Priorities (§3): HIGHEST 15 … LOWEST −15, NORMAL 0.
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i32> = -15..=15;

/// What a request does (`NtmsLmOperation`, with reel's technician move added).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// MOUNT (17).
    Mount,
    /// DISMOUNT (16).
    Dismount,
    /// INVENTORY (8): a re-read of element status.
    Inventory,
    /// A technician's element move (reel's addition).
    Move,
    /// UPDATEOMID (7): writing the on-media identifier.
    UpdateOmid,
}

impl Operation {
    /// The `NtmsLmOperation` number (the move has none: reel uses 0x100).
    pub fn value(self) -> u32 {
        match self {
            Operation::Mount => 17,
            Operation::Dismount => 16,
            Operation::Inventory => 8,
            Operation::Move => 0x100,
            Operation::UpdateOmid => 7,
        }
    }
}

/// `NtmsLmState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// QUEUED 0.
    Queued,
    /// INPROCESS 1.
    InProcess,
    /// PASSED 2.
    Passed,
    /// FAILED 3.
    Failed,
    /// WAITING 5 (for a drive or a medium).
    Waiting,
    /// CANCELLED 7.
    Cancelled,
}

impl RequestState {
    /// True once the request is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RequestState::Passed | RequestState::Failed | RequestState::Cancelled
        )
    }
}

/// The error member of a finished request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestError {
    /// Win32 name.
    pub name: String,
    /// Win32 number.
    pub code: u32,
}

impl From<Win32Code> for RequestError {
    fn from(c: Win32Code) -> Self {
        RequestError {
            name: c.name().unwrap_or("ERROR_UNKNOWN").to_owned(),
            code: c.0,
        }
    }
}

/// One library request, as `reel requests` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibraryRequest {
    /// Request id.
    pub id: Uuid,
    /// What it does.
    pub operation: Operation,
    /// Where it stands.
    pub state: RequestState,
    /// −15 … 15.
    pub priority: i32,
    /// When it was queued (ms since the epoch).
    pub queued_ms: u64,
    /// When it finished (ms since the epoch).
    pub completed_ms: Option<u64>,
    /// The drive involved (its serial, else `drive:ADDRESS`).
    pub drive: Option<String>,
    /// The medium involved (its barcode, else its element).
    pub medium: Option<String>,
    /// The library (changer serial).
    pub library: Option<String>,
    /// Its error, once failed or cancelled.
    pub error: Option<RequestError>,
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A request's cancel flag, shared with the work carrying it out.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// True once cancelled.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Cancels.
    pub fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Live and recently finished requests.
#[derive(Debug, Default)]
pub struct RequestTable {
    live: Vec<(LibraryRequest, CancelFlag)>,
    finished: VecDeque<LibraryRequest>,
}

impl RequestTable {
    /// Adds a queued request.
    pub fn add(&mut self, r: LibraryRequest) -> CancelFlag {
        let flag = CancelFlag::default();
        self.live.push((r, flag.clone()));
        flag
    }

    /// A request by id, live or finished.
    pub fn get(&self, id: Uuid) -> Option<&LibraryRequest> {
        self.live
            .iter()
            .map(|(r, _)| r)
            .chain(&self.finished)
            .find(|r| r.id == id)
    }

    /// Updates a live request.
    pub fn update(&mut self, id: Uuid, f: impl FnOnce(&mut LibraryRequest)) {
        if let Some((r, _)) = self.live.iter_mut().find(|(r, _)| r.id == id) {
            f(r);
        }
    }

    /// Ends a live request with `state` (and `error`), moving it to the finished list.
    pub fn finish(&mut self, id: Uuid, state: RequestState, error: Option<Win32Code>) {
        if let Some(i) = self.live.iter().position(|(r, _)| r.id == id) {
            let (mut r, _) = self.live.swap_remove(i);
            r.state = state;
            r.completed_ms = Some(now_ms());
            r.error = error.map(RequestError::from);
            if self.finished.len() == KEEP_FINISHED {
                self.finished.pop_front();
            }
            self.finished.push_back(r);
        }
    }

    /// Cancels a request that has not started its device work: `Ok(true)` cancelled,
    /// `Ok(false)` unknown id, `Err(state)` when it is already in process or over.
    pub fn cancel(&mut self, id: Uuid) -> Result<bool, RequestState> {
        let Some((r, flag)) = self.live.iter().find(|(r, _)| r.id == id) else {
            return match self.finished.iter().find(|r| r.id == id) {
                Some(r) => Err(r.state),
                None => Ok(false),
            };
        };
        match r.state {
            RequestState::Queued | RequestState::Waiting => {
                flag.set();
                Ok(true)
            }
            s => Err(s),
        }
    }

    /// Live requests in queue order, then (with `all`) finished ones, oldest first.
    pub fn list(&self, all: bool) -> Vec<LibraryRequest> {
        let mut out: Vec<LibraryRequest> = self.live.iter().map(|(r, _)| r.clone()).collect();
        out.sort_by_key(|r| (r.queued_ms, r.id));
        if all {
            out.extend(self.finished.iter().cloned());
        }
        out
    }

    /// Live requests of `library` not yet finished.
    pub fn queued(&self, library: &str) -> usize {
        self.live
            .iter()
            .filter(|(r, _)| r.library.as_deref() == Some(library))
            .count()
    }

    /// Every live request's cancel flag set (service stop): queued work is dropped.
    pub fn cancel_all(&self) {
        for (_, f) in &self.live {
            f.set();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(op: Operation) -> LibraryRequest {
        LibraryRequest {
            id: Uuid::new_v4(),
            operation: op,
            state: RequestState::Queued,
            priority: 0,
            queued_ms: now_ms(),
            completed_ms: None,
            drive: None,
            medium: None,
            library: Some("L".into()),
            error: None,
        }
    }

    #[test]
    fn cancel_only_what_has_not_started() {
        let mut t = RequestTable::default();
        let (a, b) = (req(Operation::Mount), req(Operation::Dismount));
        let (ida, idb) = (a.id, b.id);
        let fa = t.add(a);
        t.add(b);
        t.update(idb, |r| r.state = RequestState::InProcess);
        // (request, expected answer)
        let cases: [(Uuid, Result<bool, RequestState>); 3] = [
            (ida, Ok(true)),
            (idb, Err(RequestState::InProcess)),
            (Uuid::nil(), Ok(false)),
        ];
        for (id, want) in cases {
            assert_eq!(t.cancel(id), want, "{id}");
        }
        assert!(fa.is_set());
        t.finish(
            ida,
            RequestState::Cancelled,
            Some(Win32Code::ERROR_CANCELLED),
        );
        assert_eq!(t.cancel(ida), Err(RequestState::Cancelled));
        assert_eq!(t.queued("L"), 1);
        assert_eq!(t.list(false).len(), 1);
        let all = t.list(true);
        assert_eq!(all.len(), 2);
        assert_eq!(
            all[1].error,
            Some(RequestError {
                name: "ERROR_CANCELLED".into(),
                code: 1223
            })
        );
        assert!(all[1].completed_ms.is_some());
    }

    #[test]
    fn finished_list_is_bounded() {
        let mut t = RequestTable::default();
        for _ in 0..KEEP_FINISHED + 10 {
            let r = req(Operation::Move);
            let id = r.id;
            t.add(r);
            t.finish(id, RequestState::Passed, None);
        }
        assert_eq!(t.list(true).len(), KEEP_FINISHED);
    }
}
