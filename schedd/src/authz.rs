//! Who may do what: every authorisation rule of an instance, in one place.
//!
//! Who the caller *is* is [`crate::auth`]'s business: the peer's uid on
//! the Unix socket (SO_PEERCRED), the instance owner for a TCP caller that
//! passed the listener's TLS or token check. Given that, the rules are:
//!
//! - a call whose identity is unknown (a Unix-socket peer without
//!   credentials) is refused;
//! - anyone else may submit, match, read and list jobs, watch events, and
//!   read resources, find, stats and status; a job belongs to the uid that
//!   submitted (or matched) it;
//! - a job may be cancelled, and its output read, by its owner, the
//!   instance owner or root;
//! - only the instance owner or root may set vertex status or move the
//!   clock;
//! - a lease (at a parent) belongs to the uid that opened it: its owner,
//!   the instance owner or root may read, grow, release or close it;
//! - only a child instance's owner or root may grow or shrink it.
//!
//! The gRPC service asks [`Authz::caller`] on every call and
//! [`Authz::may_advance`] before moving the clock; the instance asks
//! [`Authz::may_cancel`], [`Authz::may_read_output`] and
//! [`Authz::may_set_status`], so tests that
//! drive an instance directly meet the same rules. (`Instance::advance`
//! itself trusts its caller: tests and harnesses move a simulated clock.)
use crate::auth::Identity;
use crate::instance::job::JobId;

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// A Unix-socket call whose peer credentials could not be read.
    #[error("the caller's identity is unknown (no peer credentials)")]
    UnknownCaller,
    /// Cancelling a job of another uid, without administering the
    /// instance.
    #[error("job {job} belongs to uid {owner}; uid {caller} may not cancel it")]
    Cancel { job: JobId, owner: u32, caller: u32 },
    /// Reading the output of a job of another uid, without administering
    /// the instance.
    #[error("job {job} belongs to uid {owner}; uid {caller} may not read its output")]
    Output { job: JobId, owner: u32, caller: u32 },
    /// Setting vertex status without administering the instance.
    #[error("only the instance owner (uid {owner}) sets vertex status; uid {caller} may not")]
    SetStatus { owner: u32, caller: u32 },
    /// Moving the clock without administering the instance.
    #[error("only the instance owner moves the clock")]
    Advance,
    /// Growing or shrinking an instance without administering it.
    #[error("only the instance owner (uid {owner}) grows or shrinks it; uid {caller} may not")]
    Resize { owner: u32, caller: u32 },
}

/// The rules of one instance (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authz {
    /// The uid the instance runs as.
    owner: u32,
}

impl Authz {
    /// The rules of an instance owned by uid `owner`.
    pub fn new(owner: u32) -> Self {
        Authz { owner }
    }

    /// The instance owner's uid.
    pub fn owner(&self) -> u32 {
        self.owner
    }

    /// Whether `caller` administers the instance: its owner or root.
    pub fn is_admin(&self, caller: u32) -> bool {
        caller == self.owner || caller == 0
    }

    /// The uid a call acts as; refused when its identity is unknown.
    pub fn caller(&self, identity: Identity) -> Result<u32, Denied> {
        match identity {
            Identity::Uid(u) => Ok(u),
            Identity::Unknown => Err(Denied::UnknownCaller),
        }
    }

    /// Whether `caller` may act on a job owned by `job_owner`: its owner,
    /// the instance owner, or root.
    pub fn may_act_on(&self, caller: u32, job_owner: u32) -> bool {
        caller == job_owner || self.is_admin(caller)
    }

    /// Whether `caller` may cancel job `job` of uid `job_owner`.
    pub fn may_cancel(&self, caller: u32, job: JobId, job_owner: u32) -> Result<(), Denied> {
        if self.may_act_on(caller, job_owner) {
            return Ok(());
        }
        Err(Denied::Cancel {
            job,
            owner: job_owner,
            caller,
        })
    }

    /// Whether `caller` may read the output of job `job` of uid
    /// `job_owner` (its commands' output is private to its owner).
    pub fn may_read_output(&self, caller: u32, job: JobId, job_owner: u32) -> Result<(), Denied> {
        if self.may_act_on(caller, job_owner) {
            return Ok(());
        }
        Err(Denied::Output {
            job,
            owner: job_owner,
            caller,
        })
    }

    /// Whether `caller` may mark vertices up or down.
    pub fn may_set_status(&self, caller: u32) -> Result<(), Denied> {
        if self.is_admin(caller) {
            return Ok(());
        }
        Err(Denied::SetStatus {
            owner: self.owner,
            caller,
        })
    }

    /// Whether `caller` may move the (simulated) clock.
    pub fn may_advance(&self, caller: u32) -> Result<(), Denied> {
        if self.is_admin(caller) {
            return Ok(());
        }
        Err(Denied::Advance)
    }

    /// Whether `caller` may grow or shrink this (child) instance.
    pub fn may_resize(&self, caller: u32) -> Result<(), Denied> {
        if self.is_admin(caller) {
            Ok(())
        } else {
            Err(Denied::Resize {
                owner: self.owner,
                caller,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: u32 = 1000;
    const ALICE: u32 = 1001;
    const BOB: u32 = 1002;

    #[test]
    fn jobs_are_their_owners_and_the_administrators() {
        let a = Authz::new(OWNER);
        assert!(a.may_cancel(ALICE, 7, ALICE).is_ok());
        assert!(a.may_cancel(OWNER, 7, ALICE).is_ok());
        assert!(a.may_cancel(0, 7, ALICE).is_ok(), "root");
        assert!(a.may_read_output(ALICE, 7, ALICE).is_ok());
        assert!(a.may_read_output(OWNER, 7, ALICE).is_ok());
        let e = a.may_read_output(BOB, 7, ALICE).unwrap_err();
        assert!(e.to_string().contains("may not read its output"), "{e}");
        let e = a.may_cancel(BOB, 7, ALICE).unwrap_err();
        assert_eq!(
            e.to_string(),
            "job 7 belongs to uid 1001; uid 1002 may not cancel it"
        );
    }

    #[test]
    fn only_administrators_set_status_or_move_the_clock() {
        let a = Authz::new(OWNER);
        for admin in [OWNER, 0] {
            assert!(a.may_set_status(admin).is_ok() && a.may_advance(admin).is_ok());
        }
        assert_eq!(
            a.may_set_status(ALICE).unwrap_err().to_string(),
            "only the instance owner (uid 1000) sets vertex status; uid 1001 may not"
        );
        assert_eq!(a.may_advance(ALICE), Err(Denied::Advance));
    }

    #[test]
    fn unknown_callers_are_refused() {
        let a = Authz::new(OWNER);
        assert_eq!(a.caller(Identity::Uid(ALICE)), Ok(ALICE));
        assert_eq!(a.caller(Identity::Unknown), Err(Denied::UnknownCaller));
    }
}
