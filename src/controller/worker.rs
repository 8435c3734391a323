//! A worker thread that owns one device driver and runs jobs on it one at a time, highest
//! priority first and first-come within a priority.
//!
//! The changer's worker is the only code that touches the picker, so moves never interleave;
//! each drive has its own worker, so drive work (loads, readiness waits, MAM) runs in parallel
//! and never holds the picker. A job whose request was cancelled while it waited is dropped
//! unrun; its caller sees [`Gone`].

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use super::request::CancelFlag;

type Run<D> = Box<dyn FnOnce(&mut D) + Send>;

struct Job<D> {
    priority: i32,
    seq: u64,
    cancel: Option<CancelFlag>,
    run: Run<D>,
}

impl<D> PartialEq for Job<D> {
    fn eq(&self, o: &Self) -> bool {
        self.priority == o.priority && self.seq == o.seq
    }
}
impl<D> Eq for Job<D> {}
impl<D> PartialOrd for Job<D> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<D> Ord for Job<D> {
    /// The heap's maximum is the next job: higher priority, then the earlier one.
    fn cmp(&self, o: &Self) -> Ordering {
        self.priority
            .cmp(&o.priority)
            .then_with(|| o.seq.cmp(&self.seq))
    }
}

struct Queue<D> {
    heap: BinaryHeap<Job<D>>,
    seq: u64,
    stopped: bool,
}

struct Shared<D> {
    queue: Mutex<Queue<D>>,
    ready: Condvar,
}

impl<D> Shared<D> {
    fn lock(&self) -> MutexGuard<'_, Queue<D>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The job was not run: cancelled while queued, or the worker stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

/// A device owned by a thread.
pub struct Worker<D> {
    name: String,
    shared: Arc<Shared<D>>,
}

impl<D> std::fmt::Debug for Worker<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.name)
            .field("queued", &self.depth())
            .finish()
    }
}

impl<D: Send + 'static> Worker<D> {
    /// Starts the thread `name` owning `device`.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(name: &str, mut device: D) -> std::io::Result<Worker<D>> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                heap: BinaryHeap::new(),
                seq: 0,
                stopped: false,
            }),
            ready: Condvar::new(),
        });
        let s = shared.clone();
        thread::Builder::new()
            .name(name.chars().take(15).collect())
            .spawn(move || loop {
                let job = {
                    let mut q = s.lock();
                    loop {
                        if q.stopped {
                            q.heap.clear();
                            return;
                        }
                        if let Some(j) = q.heap.pop() {
                            break j;
                        }
                        q = s.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
                    }
                };
                if job.cancel.as_ref().is_some_and(CancelFlag::is_set) {
                    continue;
                }
                (job.run)(&mut device);
            })?;
        Ok(Worker {
            name: name.to_owned(),
            shared,
        })
    }
}

impl<D> Worker<D> {
    /// Queues `f`; its result arrives on the returned channel (closed unrun: [`Gone`]).
    pub fn submit<R: Send + 'static>(
        &self,
        priority: i32,
        cancel: Option<CancelFlag>,
        f: impl FnOnce(&mut D) -> R + Send + 'static,
    ) -> mpsc::Receiver<R> {
        let (tx, rx) = mpsc::sync_channel(1);
        let run: Run<D> = Box::new(move |d| {
            let _ = tx.send(f(d));
        });
        let mut q = self.shared.lock();
        if !q.stopped {
            q.seq += 1;
            let seq = q.seq;
            q.heap.push(Job {
                priority,
                seq,
                cancel,
                run,
            });
        }
        drop(q);
        self.shared.ready.notify_one();
        rx
    }

    /// Runs `f` on the worker and waits for it.
    ///
    /// # Errors
    /// [`Gone`] when the job was dropped unrun.
    pub fn call<R: Send + 'static>(
        &self,
        priority: i32,
        cancel: Option<CancelFlag>,
        f: impl FnOnce(&mut D) -> R + Send + 'static,
    ) -> Result<R, Gone> {
        self.submit(priority, cancel, f).recv().map_err(|_| Gone)
    }

    /// Jobs waiting.
    pub fn depth(&self) -> usize {
        self.shared.lock().heap.len()
    }

    /// Stops the thread after its current job; queued jobs are dropped unrun.
    pub fn stop(&self) {
        self.shared.lock().stopped = true;
        self.shared.ready.notify_all();
    }
}

impl<D> Drop for Worker<D> {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn higher_priority_first_then_first_come() {
        let w = Worker::start("t", Vec::<&str>::new()).unwrap();
        // Hold the worker so the rest queue up behind it.
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let blocker = w.submit(0, None, move |_| {
            let _ = started_tx.send(());
            let _ = go_rx.recv_timeout(Duration::from_secs(10));
        });
        started_rx.recv().unwrap();
        let jobs: [(i32, &'static str); 6] = [
            (0, "normal-1"),
            (-15, "lowest"),
            (7, "high-1"),
            (0, "normal-2"),
            (15, "highest"),
            (7, "high-2"),
        ];
        let cancelled = CancelFlag::default();
        let skipped = w.submit(15, Some(cancelled.clone()), |v: &mut Vec<&str>| {
            v.push("cancelled")
        });
        cancelled.set();
        for (p, name) in jobs {
            w.submit(p, None, move |v: &mut Vec<&str>| v.push(name));
        }
        assert_eq!(w.depth(), 7);
        go_tx.send(()).unwrap();
        blocker.recv().unwrap();
        let order = w.call(-15, None, |v| v.clone()).unwrap();
        assert_eq!(
            order,
            ["highest", "high-1", "high-2", "normal-1", "normal-2", "lowest"]
        );
        assert!(skipped.recv().is_err(), "a cancelled job is dropped unrun");
        w.stop();
        assert_eq!(w.call(0, None, |_| ()), Err(Gone));
    }
}
