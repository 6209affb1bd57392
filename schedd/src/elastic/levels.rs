//! The shape of a tree of instances (`schedd --hierarchy`): how many
//! children each level has, and what each child leases.
//!
//! Written inline as `2x4` (two children, each with four of its own; each
//! child leases an equal share of its parent's nodes) or `2:512x4:64`
//! (children and cores per child at each level), or as a levels file, in
//! YAML, with Flux's names:
//!
//! ```yaml
//! levels:
//!   - num_children: 2
//!     cores_per_child: 512
//!   - num_children: 4
//!     cores_per_child: 64
//! ```
//!
//! (a bare list of levels reads the same). Either every level names its
//! cores or none does: a child holding cores cannot share out nodes.
//! [`Levels::check_fit`] refuses a shape the resources cannot hold,
//! naming the level.
use std::path::Path;

use super::shape::Shape;

/// Levels at most, and a levels file's size at most.
const MAX_LEVELS: usize = 16;
const MAX_FILE: u64 = 64 * 1024;
/// Children one instance starts at most.
pub const MAX_CHILDREN: u32 = 1024;

/// One level of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    /// Children each instance of the level above starts.
    pub num_children: u32,
    /// Cores each child leases (None: an equal share of the nodes).
    #[serde(default)]
    pub cores_per_child: Option<u64>,
}

/// A levels file: `levels: [...]`, or the list alone.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum LevelsFile {
    Map { levels: Vec<Level> },
    List(Vec<Level>),
}

/// Why a tree's shape was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LevelsError {
    #[error("--hierarchy {0}")]
    Syntax(String),
    #[error("--hierarchy {path}: {why}")]
    File { path: String, why: String },
    #[error("--hierarchy: {0}")]
    Fit(String),
}

/// The levels below one instance, the first level its own children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Levels(pub Vec<Level>);

impl Levels {
    /// `arg` inline (`2x4`, `2:512x4:64`), or the path of a levels file.
    pub fn parse(arg: &str) -> Result<Levels, LevelsError> {
        let looks_inline = !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_digit() || c == 'x' || c == ':');
        if looks_inline {
            return Self::inline(arg);
        }
        Self::read(Path::new(arg))
    }

    fn inline(arg: &str) -> Result<Levels, LevelsError> {
        let bad = |why: &str| LevelsError::Syntax(format!("'{arg}': {why}"));
        let mut levels = Vec::new();
        for part in arg.split('x') {
            let (n, cores) = match part.split_once(':') {
                Some((n, c)) => (n, Some(c)),
                None => (part, None),
            };
            let num_children: u32 = n.parse().map_err(|_| {
                bad("each level is CHILDREN or CHILDREN:CORES, e.g. 2x4 or 2:512x4:64")
            })?;
            let cores_per_child = match cores {
                Some(c) => Some(
                    c.parse()
                        .map_err(|_| bad("cores per child must be a number"))?,
                ),
                None => None,
            };
            levels.push(Level {
                num_children,
                cores_per_child,
            });
        }
        Self::checked(levels).map_err(|why| bad(&why))
    }

    fn read(path: &Path) -> Result<Levels, LevelsError> {
        let file_err = |why: String| LevelsError::File {
            path: path.display().to_string(),
            why,
        };
        let meta = std::fs::metadata(path)
            .map_err(|e| file_err(format!("{e} (give a shape such as 2x4, or a levels file)")))?;
        if meta.len() > MAX_FILE {
            return Err(file_err(format!(
                "{} bytes; a levels file is at most {MAX_FILE}",
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
        let levels = match serde_yaml::from_str::<LevelsFile>(&text) {
            Ok(LevelsFile::Map { levels }) | Ok(LevelsFile::List(levels)) => levels,
            Err(_) => {
                // Say what is wrong with the expected form.
                let why =
                    serde_yaml::from_str::<std::collections::BTreeMap<String, Vec<Level>>>(&text)
                        .err()
                        .map_or_else(
                            || {
                                "expected `levels:` and a list of {num_children, cores_per_child}"
                                    .into()
                            },
                            |e| e.to_string(),
                        );
                return Err(file_err(why));
            }
        };
        Self::checked(levels).map_err(file_err)
    }

    fn checked(levels: Vec<Level>) -> Result<Levels, String> {
        if levels.is_empty() {
            return Err("no level".into());
        }
        if levels.len() > MAX_LEVELS {
            return Err(format!("{} levels; at most {MAX_LEVELS}", levels.len()));
        }
        for (k, l) in levels.iter().enumerate() {
            if l.num_children == 0 || l.num_children > MAX_CHILDREN {
                return Err(format!(
                    "level {}: num_children {} is not in 1..={MAX_CHILDREN}",
                    k + 1,
                    l.num_children
                ));
            }
            if l.cores_per_child == Some(0) {
                return Err(format!(
                    "level {}: cores_per_child must be at least 1",
                    k + 1
                ));
            }
        }
        let with_cores = levels
            .iter()
            .filter(|l| l.cores_per_child.is_some())
            .count();
        if with_cores != 0 && with_cores != levels.len() {
            return Err(
                "either every level gives cores_per_child or none does (a child holding cores cannot share out nodes)"
                    .into(),
            );
        }
        Ok(Levels(levels))
    }

    /// The inline form (what a child is started with).
    pub fn to_inline(&self) -> String {
        self.0
            .iter()
            .map(|l| match l.cores_per_child {
                Some(c) => format!("{}:{c}", l.num_children),
                None => l.num_children.to_string(),
            })
            .collect::<Vec<_>>()
            .join("x")
    }

    /// The levels below a child (None: the child is a leaf).
    pub fn below(&self) -> Option<Levels> {
        (self.0.len() > 1).then(|| Levels(self.0[1..].to_vec()))
    }

    /// What each child of the first level leases, on a graph of `nodes`
    /// nodes and `cores` cores; Err naming the level that does not fit,
    /// checking every level below.
    pub fn share(&self, nodes: u64, cores: u64) -> Result<Shape, LevelsError> {
        let (mut nodes, mut cores) = (nodes, cores);
        let mut first = None;
        let mut instances: u64 = 1;
        for (k, l) in self.0.iter().enumerate() {
            let n = u64::from(l.num_children);
            instances = instances.saturating_mul(n);
            let shape = match l.cores_per_child {
                Some(c) => {
                    if n.saturating_mul(c) > cores {
                        return Err(LevelsError::Fit(format!(
                            "level {}: {n} children of {c} cores need {} cores; each instance above has {cores}",
                            k + 1,
                            n.saturating_mul(c)
                        )));
                    }
                    cores = c;
                    Shape {
                        cores: c,
                        ..Shape::default()
                    }
                }
                None => {
                    let each = nodes / n;
                    if each == 0 {
                        return Err(LevelsError::Fit(format!(
                            "level {}: {n} children need a node each; each instance above has {nodes} nodes ({instances} instances at this level)",
                            k + 1
                        )));
                    }
                    cores = cores.checked_div(nodes).unwrap_or(0) * each;
                    nodes = each;
                    Shape {
                        nodes: each,
                        ..Shape::default()
                    }
                }
            };
            first.get_or_insert(shape);
        }
        first.ok_or_else(|| LevelsError::Syntax("no level".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_shapes_parse_and_print_back() {
        let l = Levels::parse("2x4").unwrap();
        assert_eq!(l.0.len(), 2);
        assert_eq!(l.to_inline(), "2x4");
        assert_eq!(l.below().unwrap().to_inline(), "4");
        assert!(l.below().unwrap().below().is_none());
        let c = Levels::parse("2:512x4:64").unwrap();
        assert_eq!(c.0[1].cores_per_child, Some(64));
        assert_eq!(c.to_inline(), "2:512x4:64");
    }

    #[test]
    fn bad_shapes_are_refused_with_the_reason() {
        for (arg, says) in [
            ("0x4", "num_children 0"),
            ("2x", "each level is"),
            ("2:0", "at least 1"),
            ("2:64x4", "every level"),
        ] {
            let e = Levels::parse(arg).unwrap_err().to_string();
            assert!(e.contains(says), "{arg}: {e}");
        }
        let e = Levels::parse("/no/such/levels.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/no/such/levels.yaml"), "{e}");
    }

    #[test]
    fn a_levels_file_reads_as_flux_names_it() {
        let dir = std::env::temp_dir().join(format!("quiver-levels-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("levels.yaml");
        std::fs::write(
            &f,
            "levels:\n  - num_children: 2\n    cores_per_child: 8\n  - num_children: 2\n    cores_per_child: 4\n",
        )
        .unwrap();
        let l = Levels::parse(f.to_str().unwrap()).unwrap();
        assert_eq!(l.to_inline(), "2:8x2:4");
        std::fs::write(&f, "- num_children: 3\n").unwrap();
        assert_eq!(Levels::parse(f.to_str().unwrap()).unwrap().to_inline(), "3");
        std::fs::write(&f, "levels:\n  - children: 3\n").unwrap();
        let e = Levels::parse(f.to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains("children"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shares_split_the_graph_and_refuse_what_does_not_fit() {
        let l = Levels::parse("2x4").unwrap();
        assert_eq!(l.share(16, 256).unwrap().nodes, 8);
        let e = l.share(4, 64).unwrap_err().to_string();
        assert!(e.contains("level 2"), "{e}");
        let c = Levels::parse("2:64x4:16").unwrap();
        assert_eq!(c.share(4, 128).unwrap().cores, 64);
        let e = c.share(4, 100).unwrap_err().to_string();
        assert!(e.contains("level 1") && e.contains("128 cores"), "{e}");
        let e = Levels::parse("2:64x4:32")
            .unwrap()
            .share(4, 128)
            .unwrap_err()
            .to_string();
        assert!(e.contains("level 2"), "{e}");
    }
}
