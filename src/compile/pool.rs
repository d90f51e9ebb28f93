//! The compile thread pool: a fixed set of threads that run materializations
//! handed over by the jitcore unit (`CompileThreads = N`).
//!
//! Jobs never block on each other: a job compiles one module and hands the
//! object to the linker, whose own lookups continue asynchronously, so N
//! threads can never all wait on work that is queued behind them.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    closing: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

/// A pool of compile threads; dropping it finishes the queued jobs and joins.
pub struct Pool {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `n` (at least 1) threads named `jitcore-compile-<i>`.
    pub fn new(n: usize) -> std::io::Result<Pool> {
        let shared = Arc::new(Shared::default());
        let mut threads = Vec::with_capacity(n.max(1));
        for i in 0..n.max(1) {
            let mine = shared.clone();
            let t = std::thread::Builder::new().name(format!("jitcore-compile-{i}")).spawn(move || worker(&mine));
            match t {
                Ok(t) => threads.push(t),
                Err(e) => {
                    // Stop the threads already started before reporting.
                    drop(Pool { shared, threads });
                    return Err(e);
                }
            }
        }
        Ok(Pool { shared, threads })
    }

    /// Queues `job`; it runs on one of the pool's threads.
    pub fn spawn(&self, job: impl FnOnce() + Send + 'static) {
        let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.jobs.push_back(Box::new(job));
        drop(q);
        self.shared.ready.notify_one();
    }
}

fn worker(shared: &Shared) {
    loop {
        let job = {
            let mut q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(job) = q.jobs.pop_front() {
                    break job;
                }
                if q.closing {
                    return;
                }
                q = shared.ready.wait(q).unwrap_or_else(|p| p.into_inner());
            }
        };
        // A job guards its own panics (it must fail its materialization);
        // this is the last line of defence so the thread survives.
        let _ = crate::guard::catch(job);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.queue.lock().unwrap_or_else(|p| p.into_inner()).closing = true;
        self.shared.ready.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn runs_every_job_on_its_threads() {
        let pool = Pool::new(2).unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let c = count.clone();
            pool.spawn(move || {
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
        drop(pool);
        assert_eq!(count.load(Ordering::SeqCst), 100);
    }

    #[test]
    fn survives_a_panicking_job() {
        let pool = Pool::new(1).unwrap();
        pool.spawn(|| panic!("boom"));
        let (tx, rx) = std::sync::mpsc::channel();
        pool.spawn(move || tx.send(7).unwrap());
        assert_eq!(rx.recv().unwrap(), 7);
    }
}
