//! Reading a journal back: every job, what each holds, where it was
//! handed or pulled from, the statuses set, the process groups, and the
//! next job id ([`Recovered`]). The jobs table is read in one scan: all
//! of that lives in the jobs' own rows.
use std::collections::HashMap;
use std::sync::Arc;

use super::{JobRecord, Journal, JournalError, ProcessRecord, Recovered};

impl Journal {
    /// Read everything back. The jobs' texts are shared as they were
    /// written, and from now on known by the `Arc`s returned.
    pub fn load(&mut self) -> Result<Recovered, JournalError> {
        let path = self.path.clone();
        let corrupt = |what: String| JournalError::Corrupt {
            path: path.clone(),
            what,
        };
        let specs = self.load_specs()?;
        // How many jobs name each text.
        let mut named: HashMap<i64, u64> = HashMap::new();
        let mut jobs = Vec::new();
        let (mut allocations, mut handed, mut pulled) = (Vec::new(), Vec::new(), Vec::new());
        {
            let mut s = self
                .conn
                .prepare(
                    "SELECT id, name, owner, submit_time, jobspec, duration, kind, state,
                     start_time, end_time, reason, exit_code, spec,
                     held, held_at, held_for, lease, origin FROM jobs ORDER BY id",
                )
                .map_err(|e| self.err(e))?;
            let rows = s
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, String>(6)?,
                        (
                            r.get::<_, String>(7)?,
                            r.get::<_, i64>(8)?,
                            r.get::<_, i64>(9)?,
                            r.get::<_, String>(10)?,
                            r.get::<_, i64>(11)?,
                        ),
                        r.get::<_, i64>(12)?,
                        (
                            r.get::<_, Option<String>>(13)?,
                            r.get::<_, i64>(14)?,
                            r.get::<_, i64>(15)?,
                            r.get::<_, i64>(16)?,
                            r.get::<_, i64>(17)?,
                        ),
                    ))
                })
                .map_err(|e| self.err(e))?;
            // Rows from before the `jobspecs` table carry their own text:
            // the jobs of one text share it too.
            let mut texts: std::collections::HashSet<Arc<str>> = Default::default();
            for row in rows {
                let (id, name, owner, submit_time, jobspec, duration, kind, rest, spec, links) =
                    row.map_err(|e| self.err(e))?;
                let bad = |what: &str| corrupt(format!("job {id}: {what}"));
                let job_id = u64::try_from(id).map_err(|_| bad("negative id"))?;
                let (held, held_at, held_for, lease, origin) = links;
                if let Some(text) = held {
                    allocations.push(self.decode_held(job_id, held_at, held_for, &text)?);
                }
                let link = |what: &str, n: i64| {
                    u64::try_from(n).map_err(|_| bad(&format!("negative {what} {n}")))
                };
                if lease != 0 {
                    handed.push((job_id, link("lease", lease)?));
                }
                if origin != 0 {
                    pulled.push((job_id, link("origin", origin)?));
                }
                let jobspec = if spec != 0 {
                    *named.entry(spec).or_default() += 1;
                    match specs.get(&spec) {
                        Some(t) => t.clone(),
                        None => return Err(bad(&format!("its jobspec {spec} is missing"))),
                    }
                } else {
                    match texts.get(jobspec.as_str()) {
                        Some(t) => t.clone(),
                        None => {
                            let t: Arc<str> = Arc::from(jobspec);
                            texts.insert(t.clone());
                            t
                        }
                    }
                };
                let (state, start_time, end_time, reason, exit_code) = rest;
                jobs.push(JobRecord {
                    id: job_id,
                    name,
                    owner: u32::try_from(owner).map_err(|_| bad("owner is not a uid"))?,
                    submit_time,
                    jobspec,
                    duration: u64::try_from(duration).map_err(|_| bad("negative duration"))?,
                    by_match: match kind.as_str() {
                        "queue" => false,
                        "match" => true,
                        other => return Err(bad(&format!("unknown kind '{other}'"))),
                    },
                    state,
                    start_time,
                    end_time,
                    reason,
                    exit_code: i32::try_from(exit_code).unwrap_or(i32::MAX),
                });
            }
        }
        self.spec_counts(&specs, &named)?;
        let mut statuses = Vec::new();
        {
            let mut s = self
                .conn
                .prepare("SELECT path, up FROM vertex_status ORDER BY path")
                .map_err(|e| self.err(e))?;
            let rows = s
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))
                .map_err(|e| self.err(e))?;
            for row in rows {
                statuses.push(row.map_err(|e| self.err(e))?);
            }
        }
        let mut processes = Vec::new();
        {
            let mut s = self
                .conn
                .prepare("SELECT job_id, boot_id, groups FROM processes ORDER BY job_id")
                .map_err(|e| self.err(e))?;
            let rows = s
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(|e| self.err(e))?;
            for row in rows {
                let (job_id, boot_id, text) = row.map_err(|e| self.err(e))?;
                let groups = serde_json::from_str(&text)
                    .map_err(|e| corrupt(format!("processes of job {job_id}: {e}")))?;
                processes.push(ProcessRecord {
                    job_id: u64::try_from(job_id)
                        .map_err(|_| corrupt("processes: negative job id".into()))?,
                    boot_id,
                    groups,
                });
            }
        }
        // Ids are never reused and every id handed out has a row.
        // Forgotten jobs' ids are never handed out again either.
        let floor = self
            .meta("next_job_id")?
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(1);
        let next_job_id = jobs.last().map_or(1, |j| j.id + 1).max(floor);
        Ok(Recovered {
            jobs,
            allocations,
            handed,
            pulled,
            statuses,
            processes,
            next_job_id,
        })
    }
}
