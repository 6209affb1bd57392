//! One graph loader for every source: GRUG recipes (GraphML or YAML), JGF,
//! RFC 20 R, hwloc XML exports and discovery of this machine. Both binaries
//! (resource-query, schedd) and the library's users load graphs here, so a
//! format is read the same way wherever it is named.
use std::path::{Path, PathBuf};

use crate::allowlist::Allowlist;
use crate::error::{read_text, GraphError};
use crate::graph::ResourceGraph;
use crate::grug::Recipe;
use crate::limits::Limits;

/// A graph file's format, as users name it (`-f`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A GRUG recipe: GraphML (Fluxion's), or our YAML by extension.
    Grug,
    /// JSON Graph Format, as Fluxion writes it.
    Jgf,
    /// RFC 20 R version 1 (R_lite and optional JGF scheduling key).
    Rv1exec,
    /// An hwloc XML export (`lstopo file.xml`).
    Hwloc,
}

impl Format {
    /// Every format with its name, in the order `--help` lists them.
    pub const ALL: [(Format, &'static str); 4] = [
        (Format::Grug, "grug"),
        (Format::Jgf, "jgf"),
        (Format::Rv1exec, "rv1exec"),
        (Format::Hwloc, "hwloc"),
    ];

    /// The format called `name`.
    pub fn parse(name: &str) -> Result<Format, GraphError> {
        Format::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(f, _)| *f)
            .ok_or_else(|| {
                GraphError::Invalid(format!(
                    "unsupported load format '{name}' (expected grug, jgf, rv1exec or hwloc)"
                ))
            })
    }

    /// The name users give.
    pub fn name(self) -> &'static str {
        Format::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("grug", |(_, n)| n)
    }
}

/// Where a graph comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file in a given format.
    File(Format, PathBuf),
    /// This machine, through hwloc and NVML.
    Discover,
}

impl std::fmt::Display for Source {
    /// For logs: "grug FILE", "jgf FILE", ... or "discovered".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(Format::Rv1exec, p) => write!(f, "R {}", p.display()),
            Source::File(fmt, p) => write!(f, "{} {}", fmt.name(), p.display()),
            Source::Discover => f.write_str("discovered"),
        }
    }
}

/// How to load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Types hwloc XML and discovery build (all by default); the other
    /// formats have no allowlist.
    pub allowlist: Allowlist,
    /// Keep the units (`unit`) a JGF gives its vertices. Fluxion reads
    /// JGF without units, so its drop-in (resource-query) clears them.
    pub jgf_units: bool,
    /// How much a document may expand to: every reader that builds a
    /// graph (GRUG, JGF, R) refuses more than `limits.max_vertices`
    /// vertices before making them (`--max-vertices`).
    pub limits: Limits,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            allowlist: Allowlist::all(),
            jgf_units: true,
            limits: Limits::default(),
        }
    }
}

/// Load the graph `source` names.
pub fn load(source: &Source, opts: &LoadOptions) -> Result<ResourceGraph, GraphError> {
    match source {
        Source::Discover => crate::discover::discover(&crate::discover::DiscoverOptions {
            allowlist: opts.allowlist.clone(),
            ..Default::default()
        }),
        Source::File(Format::Grug, path) => read_recipe(path)?.generate_with(&opts.limits),
        Source::File(Format::Jgf, path) => {
            let mut g = crate::jgf::read_path_with(path, &opts.limits)?;
            if !opts.jgf_units {
                g.clear_units();
            }
            Ok(g)
        }
        Source::File(Format::Rv1exec, path) => crate::rv1exec::read_path_with(path, &opts.limits),
        Source::File(Format::Hwloc, path) => crate::hwloc::read_xml(path, &opts.allowlist),
    }
}

/// Read a GRUG recipe file, choosing its reader by extension (`.yaml` or
/// `.yml` for our YAML format, anything else for GraphML).
pub fn read_recipe(path: &Path) -> Result<Recipe, GraphError> {
    let text = read_text(path)?;
    let origin = path.display().to_string();
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml") | Some("yml") => crate::grug_yaml::parse(&text, &origin),
        _ => crate::grug_graphml::parse(&text, &origin),
    }
}

/// Load a GRUG recipe from a file and expand it into a graph, within the
/// default [`Limits`].
pub fn load_grug(path: &Path) -> Result<ResourceGraph, GraphError> {
    read_recipe(path)?.generate()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip_their_names_and_unknown_ones_are_named() {
        for (f, n) in Format::ALL {
            assert_eq!(Format::parse(n).unwrap(), f);
            assert_eq!(f.name(), n);
        }
        let e = Format::parse("xml").unwrap_err().to_string();
        assert!(e.contains("'xml'"), "{e}");
    }

    #[test]
    fn jgf_units_are_kept_unless_asked_not_to() {
        let dir = std::env::temp_dir().join(format!("quiver-loader-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let recipe = dir.join("r.yaml");
        std::fs::write(
            &recipe,
            "name: t\nroot:\n  type: cluster\n  with:\n    - {type: node, count: 1, with: [{type: memory, count: 1, size: 4, unit: GB}]}\n",
        )
        .unwrap();
        let g = load(&Source::File(Format::Grug, recipe), &LoadOptions::default()).unwrap();
        let jgf = dir.join("g.json");
        std::fs::write(&jgf, crate::jgf::write(&g).to_string()).unwrap();
        let unit_of_memory = |g: &ResourceGraph| {
            let m =
                g.g.node_indices()
                    .find(|&v| g.name_of(g.g[v].typ) == "memory")
                    .unwrap();
            g.name_of(g.g[m].unit).to_owned()
        };
        let kept = load(
            &Source::File(Format::Jgf, jgf.clone()),
            &LoadOptions::default(),
        )
        .unwrap();
        assert_eq!(unit_of_memory(&kept), "GB");
        let opts = LoadOptions {
            jgf_units: false,
            ..Default::default()
        };
        let cleared = load(&Source::File(Format::Jgf, jgf.clone()), &opts).unwrap();
        assert_eq!(unit_of_memory(&cleared), "");
        // Every reader honours the vertex cap (this graph has 3 vertices).
        let r = dir.join("r.json");
        std::fs::write(
            &r,
            r#"{"version": 1, "execution": {"R_lite": [{"rank": "0", "children": {"core": "0"}}], "nodelist": ["n0"]}}"#,
        )
        .unwrap();
        let capped = LoadOptions {
            limits: Limits { max_vertices: 2 },
            ..Default::default()
        };
        for (format, path) in [
            (Format::Grug, dir.join("r.yaml")),
            (Format::Jgf, jgf),
            (Format::Rv1exec, r),
        ] {
            let e = load(&Source::File(format, path.clone()), &capped).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "{}: would make 3 vertices, more than the cap of 2 (--max-vertices)",
                    path.display()
                ),
                "{format:?}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
