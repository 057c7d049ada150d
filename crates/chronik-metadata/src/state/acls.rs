//! ACLs in the state: applying CreateAcl and DeleteAcl records, and restoring ACLs from a
//! snapshot with the same checks. The set is a sorted vector: a binary search finds an ACL,
//! and readers get a slice.

use chronik_auth::acl::AclBinding;

use crate::Result;
use crate::acls::{MAX_ACLS, acl_label, acl_of, acl_record};
use crate::error::StateError;
use crate::proto::{Acl, CreateAcl, DeleteAcl};
use crate::state::MetadataState;

fn carried(acl: Option<&Acl>) -> Result<AclBinding> {
    acl_of(acl.ok_or_else(|| StateError::InvalidAcl("the record carries no ACL".into()))?)
}

impl MetadataState {
    /// Adds the ACL unless it exists (then nothing changes), within [`MAX_ACLS`].
    pub(crate) fn create_acl(&mut self, r: &CreateAcl) -> Result<()> {
        let acl = carried(r.acl.as_ref())?;
        let Err(at) = self.acls.binary_search(&acl) else {
            return Ok(());
        };
        if self.acls.len() >= MAX_ACLS {
            return Err(StateError::TooMany {
                what: "ACLs",
                count: self.acls.len() + 1,
                max: MAX_ACLS,
            });
        }
        self.acls.insert(at, acl);
        Ok(())
    }

    /// Removes the ACL, which must exist exactly as written.
    pub(crate) fn delete_acl(&mut self, r: &DeleteAcl) -> Result<()> {
        let acl = carried(r.acl.as_ref())?;
        match self.acls.binary_search(&acl) {
            Ok(at) => {
                self.acls.remove(at);
                Ok(())
            }
            Err(_) => Err(StateError::UnknownAcl(acl_label(&acl))),
        }
    }
}

/// The ACLs of a snapshot, in the state's order.
pub(crate) fn acl_snapshots(acls: &[AclBinding]) -> Vec<Acl> {
    acls.iter().map(acl_record).collect()
}

/// Restores ACLs from a snapshot, with the checks a record gets; they must come sorted and
/// once each, as snapshots write them.
pub(crate) fn restore_acls(snapshots: &[Acl]) -> Result<Vec<AclBinding>> {
    if snapshots.len() > MAX_ACLS {
        return Err(StateError::InvalidSnapshot(format!(
            "{} ACLs, more than the limit of {MAX_ACLS}",
            snapshots.len()
        )));
    }
    let mut acls: Vec<AclBinding> = Vec::with_capacity(snapshots.len());
    for s in snapshots {
        let acl = acl_of(s)?;
        if acls.last().is_some_and(|last| *last >= acl) {
            return Err(StateError::InvalidSnapshot(format!(
                "ACL {} is out of order or repeated",
                acl_label(&acl)
            )));
        }
        acls.push(acl);
    }
    Ok(acls)
}
