//! `schedctl submit --cc IDSET`: a copy of one job per id, sent in few
//! bulk calls, `{cc}` standing for each copy's id.
use std::process::ExitCode;

use resource_graph::IdSet;
use schedd::bulk_submit::submit_all;
use schedd::client::Client;

use crate::render::emit;
use crate::Failure;

/// Parse `--cc`'s IDSET; a bad one is a usage error naming it.
pub fn parse_cc(text: &str) -> Result<IdSet, Failure> {
    let ids = IdSet::parse(text).map_err(|e| Failure::Usage(format!("--cc {text}: {e}")))?;
    if ids.is_empty() {
        return Err(Failure::Usage(format!("--cc {text}: no ids")));
    }
    Ok(ids)
}

/// Submit a copy of `jobspec` named `name` for each id of `cc`, `{cc}`
/// in either replaced by the id; print the job ids, one per line, as
/// each call answers.
pub async fn submit_copies(
    client: &mut Client,
    cc: &IdSet,
    name: &str,
    jobspec: &str,
) -> Result<ExitCode, Failure> {
    let copies = cc.iter().map(|id| {
        let id = id.to_string();
        (name.replace("{cc}", &id), jobspec.replace("{cc}", &id))
    });
    let mut out_err = None;
    let result = submit_all(client, copies, |ids| {
        let mut text = String::with_capacity(ids.len() * 8);
        for id in ids {
            text.push_str(&id.to_string());
            text.push('\n');
        }
        if let Err(e) = emit(&text) {
            out_err.get_or_insert(e);
        }
    })
    .await;
    if let Some(e) = out_err {
        return Err(e);
    }
    match result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err((0, status)) => Err(Failure::Rpc(status)),
        Err((queued, status)) => Err(Failure::Other(format!(
            "{}; the {queued} jobs printed above are queued, the rest are not",
            crate::render::status_text(&status)
        ))),
    }
}
