//! The cluster a broker's data belongs to. On its first start against an external quorum a
//! broker writes the quorum's cluster id into its data dir; on every later start a quorum with
//! another id is refused, so a broker pointed at the wrong quorum cannot serve, or overwrite,
//! partitions of a cluster they do not belong to (Kafka refuses the same in `meta.properties`).

use std::path::Path;

use crate::BrokerError;

/// File in the broker's data dir holding the cluster id of its external quorum.
pub(crate) const FILE: &str = "cluster.id";

/// Records `cluster_id` in `data_dir` the first time; afterwards, refuses any other id.
pub(crate) fn check(data_dir: &Path, cluster_id: &str, meta: &[String]) -> Result<(), BrokerError> {
    let path = data_dir.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(stored) if stored.trim() == cluster_id => Ok(()),
        Ok(stored) => Err(BrokerError::Config(format!(
            "the data in {} belongs to cluster '{}', but the meta quorum at {} is cluster \
             '{cluster_id}'; point --meta at this broker's own quorum, or start it with an \
             empty --data-dir to join the other cluster",
            data_dir.display(),
            stored.trim(),
            meta.join(","),
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write(&path, cluster_id),
        Err(e) => Err(BrokerError::Config(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Writes the id durably: a temp file, fsynced, renamed into place.
fn write(path: &Path, cluster_id: &str) -> Result<(), BrokerError> {
    let failed = |e: std::io::Error| {
        BrokerError::Config(format!(
            "cannot record the cluster id in {}: {e}",
            path.display()
        ))
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{cluster_id}\n")).map_err(failed)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(failed)?;
    std::fs::rename(&tmp, path).map_err(failed)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_id_is_kept_and_another_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let meta = ["127.0.0.1:1".to_owned()];
        check(dir.path(), "blue", &meta).expect("first start records the id");
        check(dir.path(), "blue", &meta).expect("the same cluster again");
        let err = check(dir.path(), "green", &meta).expect_err("another cluster");
        let text = err.to_string();
        assert!(
            text.contains("'blue'") && text.contains("'green'"),
            "{text}"
        );
        let stored = std::fs::read_to_string(dir.path().join(FILE)).expect("stored");
        assert_eq!(stored.trim(), "blue", "a refused start changes nothing");
    }
}
