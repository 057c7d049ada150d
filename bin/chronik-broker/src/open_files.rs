//! The open-files limit. A broker holds a descriptor for every hosted partition (its active
//! segment) and every connection, and the usual soft limit (1024) is far below what thousands
//! of partitions need. Like the JVM under Kafka, the broker raises its soft limit to the hard
//! one at start; only the hard limit is then the operator's to set (`ulimit -Hn`,
//! `LimitNOFILE=`).

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Raises the soft open-files limit to the hard limit; says what it did, or why it could not.
pub fn raise_limit() {
    let limit = getrlimit(Resource::Nofile);
    // `None` is unlimited: nothing to raise, or (a hard limit of infinity) nothing Linux takes
    // as a soft limit.
    let (Some(soft), Some(hard)) = (limit.current, limit.maximum) else {
        return;
    };
    if soft >= hard {
        return;
    }
    let raised = Rlimit {
        current: Some(hard),
        maximum: Some(hard),
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => tracing::info!(from = soft, to = hard, "raised the open-files limit"),
        Err(e) => tracing::warn!(
            limit = soft,
            hard,
            error = %e,
            "cannot raise the open-files limit; each partition and connection needs a descriptor"
        ),
    }
}
