//! This process's resident memory, from /proc/self/status (Linux only: elsewhere the figures
//! are absent rather than wrong).

/// A `/proc/self/status` field in bytes (the file gives kB).
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Resident memory now (VmRSS).
pub fn current() -> Option<u64> {
    status_bytes("VmRSS:")
}

/// The most resident memory since start or the last [`reset_peak`] (VmHWM).
pub fn peak() -> Option<u64> {
    status_bytes("VmHWM:")
}

/// Starts VmHWM over from the current RSS (Linux 4.0+: writing 5 to clear_refs), so a peak
/// can be taken over one phase of a run; false when the kernel refused.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn figures_are_present_on_linux() {
        if cfg!(target_os = "linux") {
            let now = super::current().expect("VmRSS");
            assert!(now > 0);
            assert!(super::peak().expect("VmHWM") >= now / 2);
        }
    }
}
