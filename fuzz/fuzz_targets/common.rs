//! Shared by the fuzz targets: run the code under test on a thread with a 2 MiB stack
//! (the default of `std::thread` and tokio workers), so a recursion that would overflow a
//! real caller's stack crashes the fuzzer too.
//!
//! One long-lived worker thread takes the inputs over a channel: spawning a thread per
//! input would cost more than most reads. libfuzzer-sys's panic hook aborts the process
//! on a panic in any thread, and a stack overflow is a deadly signal, so both are found.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Mutex, OnceLock};

type Job = (Vec<u8>, fn(&[u8]));

struct Worker {
    jobs: Mutex<Sender<Job>>,
    done: Mutex<Receiver<()>>,
}

/// Runs `f(data)` on the 2 MiB worker thread and waits for it.
pub fn on_small_stack(data: &[u8], f: fn(&[u8])) {
    static WORKER: OnceLock<Worker> = OnceLock::new();
    let worker = WORKER.get_or_init(|| {
        let (jobs, job_rx) = channel::<Job>();
        let (done_tx, done) = channel();
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                for (data, f) in job_rx {
                    f(&data);
                    if done_tx.send(()).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn the fuzz worker");
        Worker { jobs: Mutex::new(jobs), done: Mutex::new(done) }
    });
    worker.jobs.lock().unwrap().send((data.to_vec(), f)).expect("worker alive");
    worker.done.lock().unwrap().recv().expect("worker finished the input");
}
