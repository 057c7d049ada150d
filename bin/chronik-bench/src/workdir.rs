//! The directory a benchmark writes to, checked up front so that a typo or a read-only mount
//! fails at once with a clear message instead of halfway through a run.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// A directory that exists and accepts new files.
pub struct WorkDir {
    path: PathBuf,
    created: bool,
}

impl WorkDir {
    /// Uses `path` if it is a directory, or creates it when its parent exists. A missing parent
    /// is refused rather than created, so a mistyped path does not grow a directory tree.
    pub fn prepare(path: &Path) -> Result<Self> {
        let created = match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => false,
            Ok(_) => bail!("{} exists but is not a directory", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let parent = match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                if !parent.is_dir() {
                    bail!(
                        "cannot create {}: its parent {} does not exist (create it first)",
                        path.display(),
                        parent.display()
                    );
                }
                std::fs::create_dir(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                true
            }
            Err(e) => return Err(e).with_context(|| format!("cannot access {}", path.display())),
        };
        let dir = Self {
            path: path.to_path_buf(),
            created,
        };
        if let Err(e) = tempfile::tempfile_in(path) {
            dir.remove_if_created();
            return Err(e).with_context(|| format!("{} is not writable", path.display()));
        }
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the directory if this run created it and nothing else was left in it.
    pub fn remove_if_created(self) {
        if self.created {
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}
