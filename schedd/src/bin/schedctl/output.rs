//! `schedctl output ID [--follow]`: a job's standard output to stdout and
//! its standard error to stderr, as the Output stream brings them (with
//! `--follow`, until the job ends). A reader that went away (a closed
//! pipe) ends it quietly.
use std::io::Write;
use std::process::ExitCode;

use sched_proto::v1 as pb;
use schedd::client::Client;

use crate::Failure;

/// Print job `id`'s output (see the module documentation).
pub async fn print(client: &mut Client, id: u64, follow: bool) -> Result<ExitCode, Failure> {
    let mut stream = client
        .output(pb::OutputRequest { job_id: id, follow })
        .await?
        .into_inner();
    while let Some(chunk) = stream.message().await? {
        let wrote = if chunk.stream == pb::OutputStream::Stderr as i32 {
            let mut e = std::io::stderr().lock();
            e.write_all(&chunk.data).and_then(|()| e.flush())
        } else {
            let mut o = std::io::stdout().lock();
            o.write_all(&chunk.data).and_then(|()| o.flush())
        };
        match wrote {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Err(e) => return Err(Failure::Other(format!("cannot write the output: {e}"))),
        }
    }
    Ok(ExitCode::SUCCESS)
}
