//! How files are made durable: `fdatasync` one file at a time, or, when many logs on one
//! filesystem are due together, one `syncfs` for all of them.

use std::fs::File;

/// How a file is made durable. Tests and fault injection replace it; production uses
/// [`FdataSync`].
pub trait Syncer: Send + Sync + 'static {
    fn sync(&self, file: &File) -> std::io::Result<()>;

    /// Makes every one of `files` (all on one filesystem) durable with a single call, when this
    /// syncer has one; `None` when it has not, and each is then synced with [`Syncer::sync`].
    /// The flusher decides when a round is worth it. The call must also make the filesystem's
    /// directory entries durable (renames, new files), as `syncfs` does: epoch checkpoints are
    /// renamed into place and then made durable this way. An error counts against every file.
    fn sync_together(&self, _files: &[&File]) -> Option<std::io::Result<()>> {
        None
    }
}

/// `fdatasync(2)`: data and the metadata needed to read it back. Files synced together are
/// made durable with one `syncfs(2)`: with fsync on every append, each partition would
/// otherwise cost its own journal commit, and a thousand partitions a thousand of them.
pub struct FdataSync;

impl Syncer for FdataSync {
    fn sync(&self, file: &File) -> std::io::Result<()> {
        file.sync_data()
    }

    fn sync_together(&self, files: &[&File]) -> Option<std::io::Result<()>> {
        let first = files.first()?;
        if !syncfs_reports_errors() {
            return None;
        }
        Some(rustix::fs::syncfs(first).map_err(std::io::Error::from))
    }
}

/// Whether the kernel's `syncfs` returns writeback errors (Linux 5.8 and later); before that
/// it could report success after a failed write, and only `fdatasync` is trusted.
fn syncfs_reports_errors() -> bool {
    static REPORTS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REPORTS.get_or_init(|| {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        kernel_at_least(&release, (5, 8))
    })
}

/// Whether a kernel release string ("6.1.0-18-amd64") is at least `(major, minor)`.
fn kernel_at_least(release: &str, wanted: (u32, u32)) -> bool {
    let mut parts = release.trim().split(['.', '-']);
    let mut next = || parts.next().and_then(|p| p.parse::<u32>().ok());
    match (next(), next()) {
        (Some(major), Some(minor)) => (major, minor) >= wanted,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_releases_are_compared_by_major_and_minor() {
        assert!(kernel_at_least("6.18.44-fc-v1272\n", (5, 8)));
        assert!(kernel_at_least("5.8.0", (5, 8)));
        assert!(!kernel_at_least("5.4.0-150-generic", (5, 8)));
        assert!(!kernel_at_least("4.19.0", (5, 8)));
        assert!(!kernel_at_least("garbage", (5, 8)));
    }

    #[test]
    fn files_are_synced_together_only_where_syncfs_reports_errors() {
        let file = tempfile::tempfile().unwrap();
        assert!(FdataSync.sync_together(&[]).is_none());
        let together = FdataSync.sync_together(&[&file; 2]);
        assert_eq!(together.is_some(), syncfs_reports_errors());
        assert!(together.is_none_or(|r| r.is_ok()));
    }
}
