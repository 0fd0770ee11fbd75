//! Log lines written to standard error in batches.
//!
//! Each request logs a line or more. Writing each line with its own `write` system call was
//! about a tenth of the CPU of a cheap request (`introspect`, see BENCHMARKS.md). Lines are
//! instead appended to a buffer in memory, and a thread of their own writes the buffer out
//! [`FLUSH_DELAY`] after its first line (a single `write` for every line of that interval), as
//! nginx's and Envoy's buffered access logs do:
//!
//! - Order is kept: a batch is taken from the buffer only by the holder of the output, so
//!   batches reach standard error in the order their lines were logged.
//! - The buffer is bounded: past [`MAX_PENDING`] bytes (standard error not keeping up) the
//!   logging thread writes the batch itself, as unbuffered logging would.
//! - Nothing is lost on exit or on a panic: dropping [`Flush`] (at the end of `main`) and the
//!   panic hook write out what is pending. A `kill -9` loses at most the last
//!   [`FLUSH_DELAY`] of lines; the audit trail is in the database, not in the logs.
//! - On a terminal lines are written at once: a person watching sees each as it happens.
//!
//! `tracing-appender`'s non-blocking writer (a channel to a thread that flushes whenever the
//! channel is empty, so it wakes for nearly every line) was measured in its place: with
//! tower-http's `TraceLayer` it cost `userinfo` and `introspect` about a quarter more CPU per
//! request (BENCHMARKS.md, issue 21), so this writer stays.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the first line of a batch waits for others.
pub const FLUSH_DELAY: Duration = Duration::from_millis(20);

/// Above this many pending bytes the logging thread writes the batch itself.
pub const MAX_PENDING: usize = 1 << 20;

/// Where the batches go: standard error in `verity`, any writer in tests.
type Output = Box<dyn Write + Send>;

struct Shared {
    /// Lines not yet written, and whether the writer thread should stop.
    pending: Mutex<Pending>,
    /// Signalled when the buffer receives its first line, and on close.
    wake: Condvar,
    /// Held while a batch is taken and written (this is what keeps batches in order).
    output: Mutex<Output>,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    closed: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while a line was appended leaves at worst a partial line: keep logging.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Writes out everything pending.
    fn flush(&self) {
        let mut output = lock(&self.output);
        let batch = std::mem::take(&mut lock(&self.pending).bytes);
        if !batch.is_empty() {
            // Nowhere to report a failure to write the log.
            let _ = output.write_all(&batch);
            let _ = output.flush();
        }
    }

    fn append(&self, line: &[u8]) {
        let mut pending = lock(&self.pending);
        let was_empty = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(line);
        let over = pending.bytes.len() > MAX_PENDING;
        drop(pending);
        if over {
            self.flush();
        } else if was_empty {
            self.wake.notify_one();
        }
    }
}

/// The [`MakeWriter`] for `tracing_subscriber::fmt`: each event is appended to the buffer.
#[derive(Clone)]
pub struct BatchedWriter {
    shared: Arc<Shared>,
}

/// Writes out pending lines and stops the writer thread when dropped.
pub struct Flush {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BatchedWriter {
    /// A writer into `output`, with its writer thread; keep the [`Flush`] until exit.
    pub fn new(output: Output) -> std::io::Result<(BatchedWriter, Flush)> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            output: Mutex::new(output),
        });
        let thread = std::thread::Builder::new()
            .name("verity-log".into())
            .spawn({
                let shared = shared.clone();
                move || write_batches(&shared)
            })?;
        Ok((
            BatchedWriter {
                shared: shared.clone(),
            },
            Flush {
                shared,
                thread: Some(thread),
            },
        ))
    }

    /// Writes out what is pending now (the panic hook calls this).
    pub fn flush_now(&self) {
        self.shared.flush();
    }
}

/// The writer thread: waits for a first line, lets others join it for [`FLUSH_DELAY`], writes
/// them out; until closed.
fn write_batches(shared: &Shared) {
    loop {
        let mut pending = lock(&shared.pending);
        while pending.bytes.is_empty() && !pending.closed {
            pending = shared
                .wake
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if pending.closed {
            return;
        }
        drop(pending);
        std::thread::sleep(FLUSH_DELAY);
        shared.flush();
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        lock(&self.shared.pending).closed = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.shared.flush();
    }
}

/// One event's writer. Whatever pieces the formatter writes, the event reaches the buffer whole
/// (when the writer is dropped), never interleaved with another thread's.
pub struct EventWriter<'a> {
    shared: &'a Shared,
    event: Vec<u8>,
}

impl Write for EventWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.event.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter<'_> {
    fn drop(&mut self) {
        if !self.event.is_empty() {
            self.shared.append(&self.event);
        }
    }
}

impl<'a> MakeWriter<'a> for BatchedWriter {
    type Writer = EventWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter {
            shared: &self.shared,
            event: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_in_order_and_nothing_is_lost_at_exit() {
        let out = Captured::default();
        let (writer, flush) = BatchedWriter::new(Box::new(out.clone())).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..2_000 {
                        writeln!(writer.make_writer(), "thread {t} line {i}").unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(flush);
        let text = String::from_utf8(lock(&out.0).clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8_000, "every line written, none twice");
        for t in 0..4 {
            let mine: Vec<usize> = lines
                .iter()
                .filter_map(|l| l.strip_prefix(&format!("thread {t} line ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..2_000).collect::<Vec<_>>(), "thread {t} in order");
        }
    }

    #[test]
    fn the_buffer_never_holds_more_than_its_bound() {
        let out = Captured::default();
        let (writer, _flush) = BatchedWriter::new(Box::new(out.clone())).unwrap();
        let line = vec![b'x'; MAX_PENDING / 4];
        for i in 1..=9 {
            writer.make_writer().write_all(&line).unwrap();
            // Past the bound the logging thread wrote the batch itself, before returning
            // (whether or not the writer thread got there first).
            let _no_batch_in_flight = lock(&writer.shared.output);
            let pending = lock(&writer.shared.pending).bytes.len();
            assert!(pending <= MAX_PENDING, "{pending} bytes pending");
            assert_eq!(lock(&out.0).len() + pending, i * line.len(), "nothing lost");
        }
    }

    #[test]
    fn flush_now_writes_what_is_pending() {
        let out = Captured::default();
        let (writer, _flush) = BatchedWriter::new(Box::new(out.clone())).unwrap();
        writer
            .make_writer()
            .write_all(b"before the panic\n")
            .unwrap();
        writer.flush_now();
        assert_eq!(&*lock(&out.0), b"before the panic\n");
    }
}
