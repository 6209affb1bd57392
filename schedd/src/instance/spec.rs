//! A pending job's parsed request: one jobspec, or (under the flexible
//! traverser, `--traverser flexible`) the alternative shapes a jobspec
//! with several sibling slots stands for, in order of preference.
use matcher::flexible;
use matcher::jobspec::Jobspec;

use super::InstanceError;

/// What a pending job asks for.
#[derive(Debug, Clone)]
pub(crate) enum Spec {
    /// One shape.
    Plain(Jobspec),
    /// Alternatives, the preferred first; the first that can start is the
    /// job. They share the jobspec's tasks, duration and attributes.
    Flexible(Vec<Jobspec>),
}

impl Spec {
    /// `js` as the instance reads it: with `flexible`, sibling slots are
    /// alternatives (a jobspec without them stays plain).
    pub(crate) fn new(js: Jobspec, flexible: bool) -> Result<Spec, InstanceError> {
        if !flexible {
            return Ok(Spec::Plain(js));
        }
        let mut alts = flexible::alternatives(&js)
            .map_err(|e| InstanceError::BadRequest(format!("jobspec: {e}")))?;
        Ok(match alts.len() {
            0 | 1 => Spec::Plain(alts.pop().unwrap_or(js)),
            _ => Spec::Flexible(alts),
        })
    }

    /// The preferred shape (tasks, duration and attributes are every
    /// shape's).
    pub(crate) fn first(&self) -> &Jobspec {
        match self {
            Spec::Plain(js) => js,
            Spec::Flexible(alts) => &alts[0],
        }
    }

    /// The job started as shape `i` of [`Spec::shapes`]: it is that
    /// shape from now on.
    pub(crate) fn settle(&mut self, i: usize) {
        if let Spec::Flexible(alts) = self {
            if i < alts.len() {
                let js = alts.swap_remove(i);
                *self = Spec::Plain(js);
            }
        }
    }

    /// Every shape, the preferred first.
    pub(crate) fn shapes(&self) -> &[Jobspec] {
        match self {
            Spec::Plain(js) => std::slice::from_ref(js),
            Spec::Flexible(alts) => alts,
        }
    }
}
