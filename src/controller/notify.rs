//! Notifications (`rsm-media-and-mounts.md` §10): channels opened per object type that receive
//! every committed change, in commit order, and the end of every asynchronous request.
//!
//! A channel holds at most [`BUFFER`] undelivered events; one more closes it (the next wait
//! answers [`Overflowed`], `ERROR_NO_DATA`) and it must be opened again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Undelivered events a channel holds before it is closed.
pub const BUFFER: usize = 1024;

/// `NtmsNotificationOperations` (with reel's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyOperation {
    /// OBJ_UPDATE 1.
    Update,
    /// OBJ_INSERT 2.
    Insert,
    /// OBJ_DELETE 3.
    Delete,
    /// EVENT_COMPLETE 5: an asynchronous request ended.
    Complete,
}

/// `NtmsObjectsTypes` a channel can follow (cli.md names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// Physical media.
    PhysicalMedia,
    /// Sides.
    Partition,
    /// Logical media.
    LogicalMedia,
    /// Media pools.
    MediaPool,
    /// Drives.
    Drive,
    /// Libraries.
    Library,
    /// Library requests.
    Request,
    /// Operator requests.
    Opreq,
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// What happened.
    pub operation: NotifyOperation,
    /// To what kind of object.
    #[serde(rename = "type")]
    pub kind: ObjectKind,
    /// The object's id (the request's id for `complete`).
    pub id: Uuid,
}

/// The channel fell more than [`BUFFER`] events behind and was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the notification channel fell more than {BUFFER} events behind and was closed; open it again"
)]
pub struct Overflowed;

#[derive(Debug)]
struct Channel {
    kinds: Vec<ObjectKind>,
    queue: VecDeque<Notification>,
    overflowed: bool,
}

/// Every open channel.
#[derive(Debug, Default)]
pub struct Hub {
    channels: Mutex<HashMap<Uuid, Channel>>,
    arrived: Condvar,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Channel>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a channel for `kinds` (empty: every kind).
    pub fn open(&self, kinds: Vec<ObjectKind>) -> Uuid {
        let id = Uuid::new_v4();
        self.lock().insert(
            id,
            Channel {
                kinds,
                queue: VecDeque::new(),
                overflowed: false,
            },
        );
        id
    }

    /// Closes a channel; `false` when it was not open.
    pub fn close(&self, id: Uuid) -> bool {
        let gone = self.lock().remove(&id).is_some();
        self.arrived.notify_all();
        gone
    }

    /// Delivers `n` to every channel following its kind.
    pub fn publish(&self, n: Notification) {
        let mut channels = self.lock();
        if channels.is_empty() {
            return;
        }
        for c in channels.values_mut() {
            if c.overflowed || !(c.kinds.is_empty() || c.kinds.contains(&n.kind)) {
                continue;
            }
            if c.queue.len() >= BUFFER {
                c.overflowed = true;
                c.queue.clear();
            } else {
                c.queue.push_back(n.clone());
            }
        }
        drop(channels);
        self.arrived.notify_all();
    }

    /// Waits up to `timeout` for events on channel `id` and takes them all (empty on timeout).
    /// `Ok(None)`: no such channel.
    ///
    /// # Errors
    /// [`Overflowed`]: the channel is closed (and removed).
    pub fn wait(
        &self,
        id: Uuid,
        timeout: Duration,
    ) -> Result<Option<Vec<Notification>>, Overflowed> {
        let deadline = Instant::now() + timeout;
        let mut channels = self.lock();
        loop {
            let Some(c) = channels.get_mut(&id) else {
                return Ok(None);
            };
            if c.overflowed {
                channels.remove(&id);
                return Err(Overflowed);
            }
            if !c.queue.is_empty() {
                return Ok(Some(c.queue.drain(..).collect()));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Some(Vec::new()));
            }
            channels = self
                .arrived
                .wait_timeout(channels, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(kind: ObjectKind) -> Notification {
        Notification {
            operation: NotifyOperation::Update,
            kind,
            id: Uuid::new_v4(),
        }
    }

    #[test]
    fn delivers_in_order_to_the_kinds_followed() {
        let hub = Hub::default();
        let drives = hub.open(vec![ObjectKind::Drive]);
        let all = hub.open(Vec::new());
        let events = [
            n(ObjectKind::Drive),
            n(ObjectKind::Request),
            n(ObjectKind::Drive),
        ];
        for e in &events {
            hub.publish(e.clone());
        }
        let got = hub.wait(drives, Duration::ZERO).unwrap().unwrap();
        assert_eq!(got, vec![events[0].clone(), events[2].clone()]);
        assert_eq!(hub.wait(all, Duration::ZERO).unwrap().unwrap(), events);
        assert_eq!(hub.wait(all, Duration::ZERO).unwrap().unwrap(), vec![]);
        assert!(hub.close(all));
        assert_eq!(hub.wait(all, Duration::ZERO), Ok(None));
    }

    #[test]
    fn a_channel_past_its_buffer_is_closed() {
        let hub = Hub::default();
        let c = hub.open(Vec::new());
        for _ in 0..BUFFER {
            hub.publish(n(ObjectKind::Drive));
        }
        assert_eq!(hub.wait(c, Duration::ZERO).unwrap().unwrap().len(), BUFFER);
        for _ in 0..=BUFFER {
            hub.publish(n(ObjectKind::Drive));
        }
        assert_eq!(hub.wait(c, Duration::ZERO), Err(Overflowed));
        assert_eq!(hub.wait(c, Duration::ZERO), Ok(None), "closed for good");
    }

    #[test]
    fn a_waiter_wakes_when_an_event_arrives() {
        let hub = std::sync::Arc::new(Hub::default());
        let c = hub.open(Vec::new());
        let h = hub.clone();
        let t = std::thread::spawn(move || h.wait(c, Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        hub.publish(n(ObjectKind::Library));
        assert_eq!(t.join().unwrap().unwrap().unwrap().len(), 1);
    }
}
