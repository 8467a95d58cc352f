//! The process as procfs sees it.

use serde::{Deserialize, Serialize};

/// Memory, threads and descriptors of one process.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProcessStats {
    pub pid: i32,
    pub rss_bytes: u64,
    pub peak_rss_bytes: u64,
    pub vms_bytes: u64,
    /// OS threads, Python's and native ones alike.
    pub threads: u64,
    pub open_files: u64,
}

/// Reads `/proc/PID/status` and `/proc/PID/fd`.
pub fn read_process(pid: i32) -> Result<ProcessStats, crate::EnvError> {
    let wrap = |source| crate::EnvError::Procfs { pid, source };
    let process = procfs::process::Process::new(pid).map_err(wrap)?;
    let status = process.status().map_err(wrap)?;
    let kib = |v: Option<u64>| v.unwrap_or(0) * 1024;
    Ok(ProcessStats {
        pid,
        rss_bytes: kib(status.vmrss),
        peak_rss_bytes: kib(status.vmhwm),
        vms_bytes: kib(status.vmsize),
        threads: status.threads,
        open_files: process.fd_count().map_err(wrap)? as u64,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        let me = super::read_process(std::process::id() as i32).expect("own /proc entry");
        assert!(me.rss_bytes > 0);
        assert!(me.peak_rss_bytes >= me.rss_bytes);
        assert!(me.vms_bytes >= me.rss_bytes);
        assert!(me.threads >= 1);
        assert!(me.open_files >= 1);
    }

    #[test]
    fn missing_process_is_an_error() {
        let err = super::read_process(i32::MAX).unwrap_err();
        assert!(err.to_string().contains("cannot read /proc"), "{err}");
    }
}
