//! `schedctl submit`'s jobspec: a file, or the shorthand `-N/-n/-c/-g/-t/-x
//! -- COMMAND` turned into the RFC 14 jobspec `flux submit` would build.
use clap::Args;
use matcher::dependency::{add_to_jobspec, Dependency};
use matcher::output::{self, OutputPaths};
use serde_json::{json, Value};

use schedd::units::parse_duration;

use crate::{read_text, Failure};

/// `submit`'s arguments: a jobspec FILE, or a shape and a command.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// Nodes to spread the tasks over
    #[arg(short = 'N', long = "nodes", value_name = "N")]
    pub nodes: Option<u64>,
    /// Tasks (slots) to run [default: 1, or one per node]
    #[arg(short = 'n', long = "ntasks", value_name = "N")]
    pub ntasks: Option<u64>,
    /// Cores per task [default: 1]
    #[arg(short = 'c', long = "cores-per-task", value_name = "N")]
    pub cores: Option<u64>,
    /// GPUs per task [default: 0]
    #[arg(short = 'g', long = "gpus-per-task", value_name = "N")]
    pub gpus: Option<u64>,
    /// Time limit: seconds, or 30s, 5m, 2h, 1d [default: the instance's]
    #[arg(short = 't', long = "time-limit", value_name = "DURATION")]
    pub time: Option<String>,
    /// Nodes are allocated whole (with -N)
    #[arg(short = 'x', long)]
    pub exclusive: bool,
    /// A name for the job
    #[arg(long)]
    pub name: Option<String>,
    /// Submit a copy of the job for each id of IDSET (1-100, 0,4-7), in
    /// few calls; `{cc}` in the command, the jobspec FILE or the name
    /// becomes the copy's id. Prints the ids in order; calls of up to
    /// 10,000 jobs are each all or nothing, and a refusal stops the rest
    #[arg(long, value_name = "IDSET", conflicts_with = "instance")]
    pub cc: Option<String>,
    /// Start the job only once DEP is met (RFC 26): afterok:ID,
    /// afterany:ID, afternotok:ID, afterstart:ID, or singleton (one job
    /// of this --name active at a time); repeat for more. It waits in
    /// state DEPEND; one that can never be met fails the job
    #[arg(long = "dependency", value_name = "DEP")]
    pub dependency: Vec<String>,
    /// Write the job's standard output to FILE (appending; relative to
    /// this directory). `{{id}}` in FILE becomes the job id. Standard
    /// error goes there too unless --error is given [default: the
    /// instance keeps it; `schedctl output ID` prints it]
    #[arg(long = "output", value_name = "FILE")]
    pub output: Option<String>,
    /// Write the job's standard error to FILE (as --output)
    #[arg(long = "error", value_name = "FILE")]
    pub error: Option<String>,
    /// The job is a child instance: its allocation (-N nodes whole, or
    /// -n/-c/-g) becomes a lease of this instance, and its command (default
    /// `schedd`; arguments after `--` go to it) is started with the lease.
    /// Its socket: STATE_DIR/jobs/ID.instance/schedd.sock of this instance
    /// (`schedctl leases` shows it).
    #[arg(long, conflicts_with = "file")]
    pub instance: bool,
    /// Jobspec file (YAML or JSON; - = stdin)
    #[arg(value_name = "FILE")]
    pub file: Option<String>,
    /// The command of the task (after `--`)
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// The jobspec text `submit` sends: the file, or the shorthand's, with
/// the `--dependency`s and the `--output`/`--error` files added.
pub fn submit_jobspec(a: &SubmitArgs) -> Result<String, Failure> {
    let deps = a
        .dependency
        .iter()
        .map(|d| Dependency::parse_uri(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Usage)?;
    let paths = OutputPaths {
        stdout: a.output.as_deref().map(absolute).transpose()?,
        stderr: a.error.as_deref().map(absolute).transpose()?,
    };
    let mut text = jobspec_text(a)?;
    if !deps.is_empty() {
        text = add_to_jobspec(&text, &deps).map_err(Failure::Usage)?;
    }
    if !paths.is_empty() {
        text = output::add_to_jobspec(&text, &paths)
            .map_err(|e| Failure::Usage(format!("--output/--error: {e}")))?;
    }
    Ok(text)
}

/// `path` made absolute against the current directory (the daemon opens
/// it, from wherever it runs).
fn absolute(path: &str) -> Result<String, Failure> {
    if path.is_empty() {
        return Err(Failure::Usage("--output/--error: an empty path".into()));
    }
    if path.starts_with('/') {
        return Ok(path.to_owned());
    }
    let here = std::env::current_dir()
        .map_err(|e| Failure::Other(format!("cannot tell the current directory: {e}")))?;
    here.join(path)
        .into_os_string()
        .into_string()
        .map_err(|_| Failure::Usage(format!("{}: not UTF-8", here.display())))
}

/// The file's text, or the shorthand's jobspec.
fn jobspec_text(a: &SubmitArgs) -> Result<String, Failure> {
    let shaped = a.nodes.is_some()
        || a.ntasks.is_some()
        || a.cores.is_some()
        || a.gpus.is_some()
        || a.time.is_some()
        || a.exclusive;
    let mut command = a.command.clone();
    if a.instance && command.first().is_none_or(|c| c.starts_with('-')) {
        command.insert(0, "schedd".into());
    }
    match (&a.file, command.is_empty()) {
        (Some(_), false) => Err(Failure::Usage(
            "submit takes a jobspec FILE or a command after --, not both".into(),
        )),
        (Some(file), true) => {
            if shaped {
                return Err(Failure::Usage(
                    "-N/-n/-c/-g/-t/-x shape a command given after --, not a jobspec FILE".into(),
                ));
            }
            read_text(file)
        }
        (None, true) => Err(Failure::Usage(
            "submit needs a jobspec FILE (- = stdin) or a command after --".into(),
        )),
        (None, false) => {
            let duration = match &a.time {
                Some(t) => parse_duration(t).map_err(Failure::Usage)?,
                None => 0,
            };
            let shape = Shape {
                nodes: a.nodes,
                ntasks: a.ntasks,
                cores_per_task: a.cores.unwrap_or(1),
                gpus_per_task: a.gpus.unwrap_or(0),
                duration,
                exclusive: a.exclusive || (a.instance && a.nodes.is_some()),
            };
            let mut js = shorthand_jobspec(&shape, &command).map_err(Failure::Usage)?;
            if a.instance {
                js["attributes"]["system"]["instance"] = json!(true);
            }
            Ok(serde_json::to_string(&js).unwrap_or_default())
        }
    }
}

/// The shape the `submit` shorthand asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    nodes: Option<u64>,
    ntasks: Option<u64>,
    cores_per_task: u64,
    gpus_per_task: u64,
    /// Seconds; 0 = the instance's default.
    duration: u64,
    exclusive: bool,
}

/// The RFC 14 version 1 jobspec `flux submit` builds for a shape: a slot
/// per task holding its cores (and GPUs); with a node count, nodes holding
/// ceil(ntasks / nodes) slots each, and the tasks counted in total when they
/// do not divide evenly.
fn shorthand_jobspec(shape: &Shape, command: &[String]) -> Result<Value, String> {
    if command.is_empty() {
        return Err("no command given after --".into());
    }
    if shape.cores_per_task == 0 {
        return Err("-c/--cores-per-task must be at least 1".into());
    }
    let ntasks = shape.ntasks.or(shape.nodes).unwrap_or(1);
    if ntasks == 0 {
        return Err("-n/--ntasks must be at least 1".into());
    }
    if shape.exclusive && shape.nodes.is_none() {
        return Err("-x/--exclusive needs -N/--nodes".into());
    }
    let mut with = vec![json!({"type": "core", "count": shape.cores_per_task})];
    if shape.gpus_per_task > 0 {
        with.push(json!({"type": "gpu", "count": shape.gpus_per_task}));
    }
    let (resources, task_count) = match shape.nodes {
        None => (
            json!({"type": "slot", "count": ntasks, "label": "task", "with": with}),
            json!({"per_slot": 1}),
        ),
        Some(0) => return Err("-N/--nodes must be at least 1".into()),
        Some(nodes) => {
            if nodes > ntasks {
                return Err(format!(
                    "node count ({nodes}) must not exceed the task count ({ntasks})"
                ));
            }
            let per_node = ntasks.div_ceil(nodes);
            let count = if per_node * nodes == ntasks {
                json!({"per_slot": 1})
            } else {
                json!({"total": ntasks})
            };
            let slot = json!({"type": "slot", "count": per_node, "label": "task", "with": with});
            let mut node = json!({"type": "node", "count": nodes, "with": [slot]});
            if shape.exclusive {
                node["exclusive"] = json!(true);
            }
            (node, count)
        }
    };
    Ok(json!({
        "version": 1,
        "resources": [resources],
        "tasks": [{"command": command, "slot": "task", "count": task_count}],
        "attributes": {"system": {"duration": shape.duration}},
    }))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::{Cli, Cmd};

    fn shape(nodes: Option<u64>, ntasks: Option<u64>, c: u64, g: u64) -> Shape {
        Shape {
            nodes,
            ntasks,
            cores_per_task: c,
            gpus_per_task: g,
            duration: 0,
            exclusive: false,
        }
    }

    fn cmd(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn slots_only_like_flux_submit() {
        let js = shorthand_jobspec(&shape(None, Some(4), 2, 0), &cmd(&["hostname"])).unwrap();
        assert_eq!(
            js,
            json!({
                "version": 1,
                "resources": [{"type": "slot", "count": 4, "label": "task",
                               "with": [{"type": "core", "count": 2}]}],
                "tasks": [{"command": ["hostname"], "slot": "task", "count": {"per_slot": 1}}],
                "attributes": {"system": {"duration": 0}},
            })
        );
        // The defaults: one task of one core.
        let js = shorthand_jobspec(&shape(None, None, 1, 0), &cmd(&["true"])).unwrap();
        assert_eq!(js["resources"][0]["count"], json!(1));
    }

    #[test]
    fn nodes_tasks_cores_gpus() {
        let mut s = shape(Some(2), Some(4), 2, 1);
        s.duration = 300;
        let js = shorthand_jobspec(&s, &cmd(&["app", "-v"])).unwrap();
        assert_eq!(
            js,
            json!({
                "version": 1,
                "resources": [{"type": "node", "count": 2, "with": [
                    {"type": "slot", "count": 2, "label": "task", "with": [
                        {"type": "core", "count": 2}, {"type": "gpu", "count": 1}]}]}],
                "tasks": [{"command": ["app", "-v"], "slot": "task", "count": {"per_slot": 1}}],
                "attributes": {"system": {"duration": 300}},
            })
        );
        // What schedd parses.
        let text = serde_json::to_string(&js).unwrap();
        let parsed = matcher::Jobspec::parse(&text).expect("a valid jobspec");
        assert_eq!(parsed.duration, 300);
        assert_eq!(parsed.tasks[0].command, cmd(&["app", "-v"]));
    }

    #[test]
    fn uneven_tasks_count_in_total_and_nodes_default_ntasks() {
        let js = shorthand_jobspec(&shape(Some(2), Some(3), 1, 0), &cmd(&["x"])).unwrap();
        assert_eq!(js["resources"][0]["with"][0]["count"], json!(2));
        assert_eq!(js["tasks"][0]["count"], json!({"total": 3}));
        // -N alone: a task per node.
        let js = shorthand_jobspec(&shape(Some(3), None, 1, 0), &cmd(&["x"])).unwrap();
        assert_eq!(js["resources"][0]["count"], json!(3));
        assert_eq!(js["resources"][0]["with"][0]["count"], json!(1));
        assert!(js["resources"][0].get("exclusive").is_none());
        let mut s = shape(Some(1), None, 1, 0);
        s.exclusive = true;
        let js = shorthand_jobspec(&s, &cmd(&["x"])).unwrap();
        assert_eq!(js["resources"][0]["exclusive"], json!(true));
    }

    #[test]
    fn bad_shapes_are_refused() {
        let c = cmd(&["x"]);
        assert!(shorthand_jobspec(&shape(Some(4), Some(2), 1, 0), &c).is_err());
        assert!(shorthand_jobspec(&shape(Some(0), None, 1, 0), &c).is_err());
        assert!(shorthand_jobspec(&shape(None, Some(0), 1, 0), &c).is_err());
        assert!(shorthand_jobspec(&shape(None, None, 0, 0), &c).is_err());
        assert!(shorthand_jobspec(&shape(None, None, 1, 0), &[]).is_err());
        let mut s = shape(None, Some(2), 1, 0);
        s.exclusive = true;
        assert!(shorthand_jobspec(&s, &c).is_err());
    }

    #[test]
    fn an_instance_is_schedd_on_whole_nodes_unless_told() {
        let cli = Cli::try_parse_from([
            "schedctl",
            "submit",
            "--instance",
            "-N2",
            "-t",
            "1h",
            "--",
            "--grow-max",
            "4",
        ])
        .unwrap();
        let Cmd::Submit(a) = &cli.command else {
            panic!("not submit: {cli:?}")
        };
        let v: Value = serde_json::from_str(&submit_jobspec(a).unwrap()).unwrap();
        assert_eq!(v["attributes"]["system"]["instance"], json!(true));
        assert_eq!(v["resources"][0]["exclusive"], json!(true));
        assert_eq!(
            v["tasks"][0]["command"],
            json!(["schedd", "--grow-max", "4"])
        );
        let parsed = matcher::jobspec::Jobspec::parse(&submit_jobspec(a).unwrap()).unwrap();
        assert!(parsed.instance);
        let own = Cli::try_parse_from(["schedctl", "submit", "--instance", "-n1", "--", "./run"])
            .unwrap();
        let Cmd::Submit(a) = &own.command else {
            panic!("not submit")
        };
        let v: Value = serde_json::from_str(&submit_jobspec(a).unwrap()).unwrap();
        assert_eq!(v["tasks"][0]["command"], json!(["./run"]));
        assert!(Cli::try_parse_from(["schedctl", "submit", "--instance", "f.yaml"]).is_err());
    }

    #[test]
    fn command_line_shapes() {
        let cli = Cli::try_parse_from([
            "schedctl", "submit", "-N2", "-n4", "-c2", "-g1", "-t", "5m", "--name", "job", "--",
            "app", "--flag",
        ])
        .unwrap();
        let Cmd::Submit(a) = &cli.command else {
            panic!("not submit: {cli:?}")
        };
        assert_eq!(
            (a.nodes, a.ntasks, a.cores, a.gpus),
            (Some(2), Some(4), Some(2), Some(1))
        );
        assert_eq!(a.command, cmd(&["app", "--flag"]));
        let text = submit_jobspec(a).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["attributes"]["system"]["duration"], json!(300));
        // A file and a command, or neither: usage errors.
        let both = Cli::try_parse_from(["schedctl", "submit", "f.yaml", "--", "x"]).unwrap();
        let Cmd::Submit(a) = &both.command else {
            panic!()
        };
        assert!(matches!(submit_jobspec(a), Err(Failure::Usage(_))));
        let none = Cli::try_parse_from(["schedctl", "submit"]).unwrap();
        let Cmd::Submit(a) = &none.command else {
            panic!()
        };
        assert!(matches!(submit_jobspec(a), Err(Failure::Usage(_))));
        let shaped = Cli::try_parse_from(["schedctl", "submit", "-n2", "f.yaml"]).unwrap();
        let Cmd::Submit(a) = &shaped.command else {
            panic!()
        };
        assert!(matches!(submit_jobspec(a), Err(Failure::Usage(_))));
    }
}
