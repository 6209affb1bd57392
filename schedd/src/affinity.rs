//! Where a job's tasks may run: the CPU set of the cores allocated to it,
//! in the kernel's CPU numbers.
//!
//! The graph names cores by hwloc's logical index; the kernel wants the
//! CPU numbers of each core's hardware threads, which sysfs gives.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The CPU set of the allocated cores this process may run on, or `None`
/// (no affinity) when none of them can be used here.
pub(crate) fn cpu_set(job: u64, cores: &[i64]) -> Option<libc::cpu_set_t> {
    if cores.is_empty() {
        return None;
    }
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set,
    // and sched_getaffinity writes at most size_of::<cpu_set_t>() bytes.
    let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let got =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed) };
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let mut any = false;
    let mut skipped = Vec::new();
    // Core ids are hwloc's logical indexes; the kernel wants CPU numbers
    // (each core's hardware threads).
    // The host's layout does not change under a running daemon: read
    // sysfs once, not at every launch.
    static HOST: std::sync::OnceLock<Option<Vec<Vec<usize>>>> = std::sync::OnceLock::new();
    let host = HOST.get_or_init(|| core_cpus(Path::new("/sys/devices/system/cpu")));
    let cpus: Vec<i64> = match host {
        Some(map) => cores
            .iter()
            .flat_map(
                |&c| match usize::try_from(c).ok().and_then(|i| map.get(i)) {
                    Some(threads) => threads.iter().map(|&t| t as i64).collect(),
                    None => vec![c],
                },
            )
            .collect(),
        None => cores.to_vec(),
    };
    for &c in &cpus {
        let usable = usize::try_from(c)
            .ok()
            .filter(|&c| c < libc::CPU_SETSIZE as usize)
            // SAFETY: c < CPU_SETSIZE, the capacity of the set.
            .filter(|&c| got != 0 || unsafe { libc::CPU_ISSET(c, &allowed) });
        match usable {
            Some(c) => {
                // SAFETY: as above.
                unsafe { libc::CPU_SET(c, &mut set) };
                any = true;
            }
            None => skipped.push(c),
        }
    }
    if !skipped.is_empty() {
        tracing::warn!(
            job_id = job,
            ?skipped,
            "allocated cores not usable on this host; skipped"
        );
    }
    any.then_some(set)
}

/// The hardware threads (CPU numbers) of each core, in hwloc's logical
/// core order (packages in order of their first CPU, cores in each in
/// order of theirs), read from sysfs at `root`; `None` when it cannot be
/// read.
pub fn core_cpus(root: &Path) -> Option<Vec<Vec<usize>>> {
    let read = |p: PathBuf| std::fs::read_to_string(p).ok();
    // (package, first CPU of the core) -> the core's CPUs
    let mut cores: BTreeMap<(i64, usize), Vec<usize>> = BTreeMap::new();
    let mut package_first: BTreeMap<i64, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(root).ok()?.flatten() {
        let name = entry.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|s| s.strip_prefix("cpu"))
            .and_then(|s| s.parse::<usize>().ok())
        else {
            continue;
        };
        let topo = entry.path().join("topology");
        let (Some(pkg), Some(siblings)) = (
            read(topo.join("physical_package_id")),
            read(topo.join("core_cpus_list")).or_else(|| read(topo.join("thread_siblings_list"))),
        ) else {
            continue;
        };
        let pkg: i64 = pkg.trim().parse().ok()?;
        // A kernel CPU list (`0-3,8`) is an RFC 22 idset.
        let threads: Vec<usize> = resource_graph::idset::decode(siblings.trim())
            .ok()?
            .into_iter()
            .map(|c| c as usize)
            .collect();
        let first = *threads.iter().min()?;
        let p = package_first.entry(pkg).or_insert(n);
        *p = (*p).min(n);
        cores.insert((pkg, first), threads);
    }
    if cores.is_empty() {
        return None;
    }
    let mut ordered: Vec<((usize, usize), Vec<usize>)> = cores
        .into_iter()
        .map(|((pkg, first), t)| ((package_first.get(&pkg).copied().unwrap_or(0), first), t))
        .collect();
    ordered.sort();
    Some(ordered.into_iter().map(|(_, t)| t).collect())
}
