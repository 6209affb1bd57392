//! The Output call's stream: a job's standard output and error read from
//! their files and sent in chunks of at most [`CHUNK`] bytes, through a
//! bounded channel (a slow reader slows the reading, never the daemon's
//! memory).
//!
//! Without `follow` it sends what the files hold now and ends. With it,
//! it first waits for a job that has not started, then sends what is
//! written every [`POLL`] until the job ends, and last what was written up
//! to its end (the job's state is read *before* each read, so nothing
//! written before the end is missed). Files the job named are opened with
//! its owner's permissions (see [`crate::as_owner`]); the instance's own
//! are in its private state directory and opened as the daemon. A file
//! not there yet counts as empty until it appears.
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use sched_proto::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tonic::Status;

use crate::actor::{Command, Handle};
use crate::credentials::Credentials;
use crate::instance::{OutputFile, OutputFiles};
use crate::service::status_of;

/// The most bytes one chunk carries.
pub const CHUNK: usize = 64 * 1024;

/// How often a followed job's files are read again.
pub const POLL: Duration = Duration::from_millis(100);

/// The most bytes read from one file before the other gets its turn.
const ROUND: usize = 16 * CHUNK;

/// The stream the Output call answers with.
pub type OutputStream = Pin<Box<dyn Stream<Item = Result<pb::OutputChunk, Status>> + Send>>;

/// One file being read: where, as whom, and how far.
struct Reader {
    stream: pb::OutputStream,
    file: OutputFile,
    open: Option<File>,
}

/// Stream job `files.job`'s output to a caller already allowed to read
/// it. `busy` marks the connection as in use while the stream lasts.
pub fn stream<B: Send + 'static>(
    handle: Handle,
    files: OutputFiles,
    follow: bool,
    busy: B,
) -> Result<OutputStream, Status> {
    let id = files.job;
    if files.state.is_waiting() && !follow {
        return Err(Status::failed_precondition(format!(
            "job {id} has not started ({}): no output yet; follow waits for it",
            files.state.as_str()
        )));
    }
    let (tx, rx) = mpsc::channel::<Result<pb::OutputChunk, Status>>(8);
    tokio::spawn(async move {
        let _busy = busy;
        let mut files = files;
        // A job that has not started: wait until it has (or ended). Its
        // files are known already; only its state is asked for (Info
        // parses nothing on the instance thread).
        while files.state.is_waiting() {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = tx.closed() => return,
            }
            match handle.call(|reply| Command::Info { id, reply }).await {
                Ok(j) => files.state = j.state,
                Err(e) => {
                    let _ = tx.send(Err(status_of(e))).await;
                    return;
                }
            }
        }
        let owner = match owner_of(&files).await {
            Ok(o) => o,
            Err(s) => {
                let _ = tx.send(Err(s)).await;
                return;
            }
        };
        let mut readers = vec![Reader {
            stream: pb::OutputStream::Stdout,
            file: files.stdout.clone(),
            open: None,
        }];
        if let Some(e) = &files.stderr {
            readers.push(Reader {
                stream: pb::OutputStream::Stderr,
                file: e.clone(),
                open: None,
            });
        }
        let mut state = files.state;
        loop {
            let ended = state.is_ended();
            let mut more = false;
            for r in &mut readers {
                let path = r.file.path.clone();
                let who = if r.file.named { owner.clone() } else { None };
                let open = r.open.take();
                let got =
                    tokio::task::spawn_blocking(move || read_round(open, &path, who.as_ref()))
                        .await
                        .unwrap_or_else(|_| Err("the reading thread panicked".into()));
                let (open, chunks, full) = match got {
                    Ok(g) => g,
                    Err(why) => {
                        let _ = tx
                            .send(Err(Status::internal(format!(
                                "job {id}: cannot read {}: {why}",
                                r.file.path.display()
                            ))))
                            .await;
                        return;
                    }
                };
                r.open = open;
                more |= full;
                for data in chunks {
                    let chunk = pb::OutputChunk {
                        stream: r.stream as i32,
                        data,
                    };
                    if tx.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
            }
            if more {
                continue; // a file had more than one round's worth
            }
            if !follow || ended {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = tx.closed() => return,
            }
            match handle.call(|reply| Command::Info { id, reply }).await {
                Ok(j) => state = j.state,
                Err(e) => {
                    let _ = tx.send(Err(status_of(e))).await;
                    return;
                }
            }
        }
    });
    Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
}

/// The identity named files are opened as: the owner's, when this daemon
/// is root and the job is another user's; `None`: the daemon's own.
async fn owner_of(files: &OutputFiles) -> Result<Option<Credentials>, Status> {
    let me = crate::auth::effective_uid();
    let named = files.stdout.named || files.stderr.as_ref().is_some_and(|e| e.named);
    if !named || me != 0 || files.owner == me {
        return Ok(None);
    }
    let uid = files.owner;
    tokio::task::spawn_blocking(move || Credentials::of_uid(uid))
        .await
        .map_err(|_| Status::internal("the user lookup panicked"))?
        .map(Some)
        .map_err(|e| Status::failed_precondition(format!("job {}: {e}", files.job)))
}

/// What one round of reading gives: the file (`None`: not there yet),
/// the chunks read, and whether more is waiting.
type Round = (Option<File>, Vec<Vec<u8>>, bool);

/// One round of reading a file: open it if it is not yet (a file not
/// there yet is empty), then read up to [`ROUND`] bytes in chunks.
/// Returns the file, the chunks, and whether the round was cut short
/// (more is waiting).
fn read_round(
    open: Option<File>,
    path: &Path,
    owner: Option<&Credentials>,
) -> Result<Round, String> {
    let mut f = match open {
        Some(f) => f,
        None => {
            let mut o = OpenOptions::new();
            o.read(true);
            match crate::as_owner::open(path, &o, owner) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok((None, Vec::new(), false))
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    };
    let mut chunks = Vec::new();
    let mut total = 0;
    while total < ROUND {
        let mut buf = vec![0u8; CHUNK];
        let n = f.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok((Some(f), chunks, false));
        }
        buf.truncate(n);
        total += n;
        chunks.push(buf);
    }
    Ok((Some(f), chunks, true))
}
