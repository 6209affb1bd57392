//! What schedctl prints: the jobs table, a job's `info`, event lines,
//! `key: value` summaries and their JSON forms, server errors; instance
//! times as UTC (wall clock) or seconds (simulated), owners by name.
use std::collections::HashMap;
use std::ffi::CStr;
use std::io::Write;

use sched_proto::v1 as pb;
use schedd::client::error_chain;
use serde_json::{json, Map, Value};
use tonic::{Code, Status};

use crate::Failure;

/// Write to stdout; a closed pipe (`schedctl jobs | head`) is not an error.
pub fn emit(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Other(format!("cannot write the output: {e}"))),
    }
}

/// Text that ends with exactly one newline (none added to empty text).
pub fn line_ended(mut s: String) -> String {
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Pretty JSON plus a newline.
pub fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    s.push('\n');
    s
}

/// A server error as schedctl prints it: the message (with its causes,
/// without repeats) and the code's name, as in `no job 9 (NOT_FOUND)`.
pub fn status_text(s: &Status) -> String {
    let mut msg = s.message().to_string();
    if msg.is_empty() {
        msg = s.code().description().to_string();
    }
    if let Some(src) = std::error::Error::source(s) {
        let chain = error_chain(src);
        if chain.starts_with(&msg) {
            msg = chain;
        } else if !msg.contains(&chain) {
            msg = format!("{msg}: {chain}");
        }
    }
    format!("{msg} ({})", code_name(s.code()))
}

/// The canonical gRPC name of a status code.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// `PENDING`, `RUNNING`, ... for a proto job state.
pub fn state_name(state: i32) -> String {
    match pb::JobState::try_from(state) {
        Ok(pb::JobState::Unspecified) | Err(_) => format!("unknown({state})"),
        Ok(s) => s.as_str_name().trim_start_matches("JOB_STATE_").to_string(),
    }
}

/// `SUBMIT`, `ALLOC`, ... for a proto event kind.
fn kind_name(kind: i32) -> String {
    match pb::EventKind::try_from(kind) {
        Ok(pb::EventKind::Unspecified) | Err(_) => format!("unknown({kind})"),
        Ok(k) => k
            .as_str_name()
            .trim_start_matches("EVENT_KIND_")
            .to_string(),
    }
}

/// The name of a user, when this host knows it.
fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: passwd is plain data (pointers into `buf` once filled);
    // getpwuid_r writes only into `pwd`, `buf` (of the length given) and
    // `result`, and `pw_name` is read only when it succeeded.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        Some(CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned())
    }
}

/// A time column: `-` for 0 (not yet).
fn time_cell(t: i64) -> String {
    if t == 0 {
        "-".into()
    } else {
        instant(t)
    }
}

/// A job's start: 0 is a real start under a simulated clock, so it shows
/// whenever the job ran.
fn start_cell(j: &pb::JobInfo) -> String {
    let ran = j.state == pb::JobState::Running as i32 || j.state == pb::JobState::Finished as i32;
    if ran {
        instant(j.start_time)
    } else {
        time_cell(j.start_time)
    }
}

/// Instance time as people read it: Unix times (the wall clock) as UTC
/// date and time, simulated seconds as they are.
fn instant(t: i64) -> String {
    if t < 1_000_000_000 {
        return t.to_string();
    }
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The `jobs` table: ID NAME OWNER STATE SUBMIT START END REASON.
pub fn jobs_table(jobs: &[pb::JobInfo]) -> String {
    let mut names: HashMap<u32, String> = HashMap::new();
    let mut rows: Vec<[String; 8]> = vec![[
        "ID".into(),
        "NAME".into(),
        "OWNER".into(),
        "STATE".into(),
        "SUBMIT".into(),
        "START".into(),
        "END".into(),
        "REASON".into(),
    ]];
    for j in jobs {
        let owner = names
            .entry(j.owner_uid)
            .or_insert_with(|| user_name(j.owner_uid).unwrap_or_else(|| j.owner_uid.to_string()))
            .clone();
        rows.push([
            j.job_id.to_string(),
            if j.name.is_empty() {
                "-".into()
            } else {
                j.name.clone()
            },
            owner,
            state_name(j.state),
            instant(j.submit_time),
            start_cell(j),
            time_cell(j.end_time),
            j.reason.replace('\n', " "),
        ]);
    }
    let mut widths = [0usize; 8];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i == 7 {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                // Numbers right-aligned, text left-aligned.
                if matches!(i, 0 | 4 | 5 | 6) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                }
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A job as JSON; `full` adds R and the jobspec (Info has them, List not),
/// as the strings the protocol carries.
pub fn job_json(j: &pb::JobInfo, full: bool) -> Value {
    let mut m = Map::new();
    m.insert("job_id".into(), json!(j.job_id));
    m.insert("name".into(), json!(j.name));
    m.insert("owner_uid".into(), json!(j.owner_uid));
    m.insert("state".into(), json!(state_name(j.state)));
    m.insert("submit_time".into(), json!(j.submit_time));
    m.insert("start_time".into(), json!(j.start_time));
    m.insert("end_time".into(), json!(j.end_time));
    m.insert("duration".into(), json!(j.duration));
    m.insert("reason".into(), json!(j.reason));
    m.insert("reserved_at".into(), json!(j.reserved_at));
    m.insert("exit_code".into(), json!(j.exit_code));
    if full {
        m.insert("r".into(), json!(j.r));
        m.insert("jobspec".into(), json!(j.jobspec));
    }
    Value::Object(m)
}

/// `info` as text: a field per line, then the jobspec and R.
pub fn job_text(j: &pb::JobInfo) -> String {
    let owner = match user_name(j.owner_uid) {
        Some(n) => format!("{} ({n})", j.owner_uid),
        None => j.owner_uid.to_string(),
    };
    let mut out = String::new();
    let mut field = |k: &str, v: String| {
        let line = format!("{k:<12} {v}");
        out.push_str(line.trim_end());
        out.push('\n');
    };
    field("job_id:", j.job_id.to_string());
    field("name:", j.name.clone());
    field("owner:", owner);
    field("state:", state_name(j.state));
    field("submit_time:", instant(j.submit_time));
    field("start_time:", start_cell(j));
    field("end_time:", time_cell(j.end_time));
    field("duration:", j.duration.to_string());
    field("reserved_at:", time_cell(j.reserved_at));
    field("exit_code:", j.exit_code.to_string());
    field("reason:", j.reason.clone());
    let block = |title: &str, text: &str| {
        let mut s = format!("{title}\n");
        for l in text.trim_end().lines() {
            s.push_str("  ");
            s.push_str(l);
            s.push('\n');
        }
        s
    };
    if !j.jobspec.is_empty() {
        out.push_str(&block("jobspec:", &j.jobspec));
    }
    if !j.r.is_empty() {
        let r = match serde_json::from_str::<Value>(&j.r) {
            Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_else(|_| j.r.clone()),
            Err(_) => j.r.clone(),
        };
        out.push_str(&block("R:", &r));
    }
    out
}

/// An event as a line: TIME JOB KIND STATE [at=AT] [DETAIL].
pub fn event_line(ev: &pb::JobEvent) -> String {
    let mut s = format!(
        "{} {} {} {}",
        ev.time,
        ev.job_id,
        kind_name(ev.kind),
        state_name(ev.state)
    );
    if ev.at != 0 {
        s.push_str(&format!(" at={}", ev.at));
    }
    if !ev.detail.is_empty() {
        s.push(' ');
        s.push_str(&ev.detail.replace('\n', " "));
    }
    s.push('\n');
    s
}

/// An event as a JSON object.
pub fn event_json(ev: &pb::JobEvent) -> Value {
    json!({
        "job_id": ev.job_id,
        "kind": kind_name(ev.kind),
        "time": ev.time,
        "state": state_name(ev.state),
        "at": ev.at,
        "detail": ev.detail,
    })
}

/// A match's answer as JSON.
pub fn match_json(r: &pb::MatchResponse) -> Value {
    json!({
        "job_id": r.job_id,
        "at": r.at,
        "reserved": r.reserved,
        "r": r.r,
        "elapsed": r.elapsed,
    })
}

/// What a match booked, when and how fast, for stderr beside its R.
pub fn match_note(r: &pb::MatchResponse) -> String {
    let what = if r.job_id == 0 {
        "matched (nothing booked)".to_string()
    } else if r.reserved {
        format!("job {} reserved", r.job_id)
    } else {
        format!("job {} allocated", r.job_id)
    };
    format!("{what} at {} ({:.6} s)", r.at, r.elapsed)
}

/// How a job ended, for `wait`: `job ID STATE[: DETAIL]`.
pub fn end_note(ev: &pb::JobEvent) -> String {
    let detail = if ev.detail.is_empty() {
        String::new()
    } else {
        format!(": {}", ev.detail)
    };
    format!("job {} {}{detail}", ev.job_id, state_name(ev.state))
}

/// Stats as JSON.
pub fn stats_json(s: &pb::StatsResponse) -> Value {
    json!({
        "depend": s.depend,
        "pending": s.pending,
        "running": s.running,
        "finished": s.finished,
        "canceled": s.canceled,
        "failed": s.failed,
        "submitted_total": s.submitted_total,
        "allocated_total": s.allocated_total,
        "released_total": s.released_total,
        "submit_rate": s.submit_rate,
        "alloc_rate": s.alloc_rate,
        "match_p50_us": s.match_p50_us,
        "match_p90_us": s.match_p90_us,
        "match_p99_us": s.match_p99_us,
        "match_max_us": s.match_max_us,
        "queue_depth": s.queue_depth,
        "uptime_s": s.uptime_s,
    })
}

/// Status as JSON.
pub fn status_json(s: &pb::StatusResponse) -> Value {
    json!({
        "version": s.version,
        "owner_uid": s.owner_uid,
        "clock": s.clock,
        "now": s.now,
        "policy": s.policy,
        "queue_policy": s.queue_policy,
        "vertices": s.vertices,
        "nodes": s.nodes,
        "nodes_up": s.nodes_up,
        "pending": s.pending,
        "running": s.running,
        "source": s.source,
    })
}

/// A flat JSON object as aligned `key: value` lines.
pub fn key_values(v: &Value) -> String {
    let Some(m) = v.as_object() else {
        return pretty(v);
    };
    let width = m.keys().map(|k| k.len()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    for (k, v) in m {
        let shown = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => match n.as_f64() {
                Some(f) if !n.is_i64() && !n.is_u64() => format!("{f:.3}"),
                _ => n.to_string(),
            },
            other => other.to_string(),
        };
        let line = format!("{:<width$} {shown}", format!("{k}:"));
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_as_utc_or_as_simulated_seconds() {
        assert_eq!(instant(0), "0");
        assert_eq!(instant(3600), "3600");
        assert_eq!(instant(1_000_000_000), "2001-09-09T01:46:40Z");
        assert_eq!(instant(1_795_312_486), "2026-11-22T01:54:46Z");
        assert_eq!(instant(1_078_012_800), "2004-02-29T00:00:00Z");
    }

    #[test]
    fn names_and_json() {
        assert_eq!(state_name(pb::JobState::Canceled as i32), "CANCELED");
        assert_eq!(state_name(42), "unknown(42)");
        assert_eq!(kind_name(pb::EventKind::Exception as i32), "EXCEPTION");
        assert_eq!(code_name(Code::FailedPrecondition), "FAILED_PRECONDITION");
        let f = Failure::Rpc(Status::not_found("job 9: no such job"));
        assert_eq!(f.to_string(), "job 9: no such job (NOT_FOUND)");
        let info = pb::JobInfo {
            job_id: 3,
            state: pb::JobState::Running as i32,
            r: r#"{"version": 1}"#.into(),
            ..Default::default()
        };
        let v = job_json(&info, true);
        assert_eq!(v["state"], json!("RUNNING"));
        assert_eq!(v["r"], json!(r#"{"version": 1}"#));
        assert!(job_json(&info, false).get("r").is_none());
        let table = jobs_table(&[info]);
        let mut lines = table.lines();
        assert!(lines.next().unwrap().starts_with("ID  NAME"), "{table}");
        assert!(lines.next().unwrap().contains("RUNNING"), "{table}");
    }
}
