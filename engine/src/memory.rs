//! The machine's memory, for the default session limit: sessions are the
//! engine's main memory cost (a QuickJS runtime and its call, about a quarter
//! of a MiB each, docs/PERFORMANCE.md), so with no `max_sessions` set the
//! engine admits as many as fit in half the memory it may use at 512 KiB
//! each, leaving the rest for media, caches and the system.

use std::path::Path;

/// Memory budgeted per live session.
const PER_SESSION: u64 = 512 * 1024;
/// The limit never goes below this (a small container still takes calls)
/// nor above this.
const FLOOR: usize = 100;
const CEILING: usize = 1_000_000;

/// The memory this process may use: the machine's, or its cgroup's limit
/// when that is lower. `None` when neither can be read.
pub fn available_bytes() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| meminfo_total(&t));
    let cgroup = cgroup_limit(Path::new("/sys/fs/cgroup"));
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    }
}

/// The default `max_sessions` for `bytes` of memory.
pub fn default_session_limit(bytes: Option<u64>) -> usize {
    match bytes {
        Some(b) => usize::try_from(b / 2 / PER_SESSION)
            .unwrap_or(CEILING)
            .clamp(FLOOR, CEILING),
        None => 10_000,
    }
}

fn meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// cgroup v2 `memory.max`, else v1 `memory/memory.limit_in_bytes`; "max" or
/// absurd values mean no limit.
fn cgroup_limit(root: &Path) -> Option<u64> {
    let read = |p: &Path| std::fs::read_to_string(p).ok();
    let v2 = read(&root.join("memory.max"));
    let v1 = read(&root.join("memory/memory.limit_in_bytes"));
    v2.or(v1)
        .and_then(|t| t.trim().parse::<u64>().ok())
        .filter(|b| *b < (1u64 << 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_follows_memory_within_bounds() {
        let gib = 1024 * 1024 * 1024;
        assert_eq!(default_session_limit(Some(24 * gib)), 24_576);
        assert_eq!(default_session_limit(Some(2 * gib)), 2_048);
        assert_eq!(default_session_limit(Some(10 * 1024 * 1024)), FLOOR);
        assert_eq!(default_session_limit(None), 10_000);
    }

    #[test]
    fn meminfo_and_cgroup_files_are_read() {
        assert_eq!(
            meminfo_total("MemTotal:       24575804 kB\nMemFree: 1 kB\n"),
            Some(24_575_804 * 1024)
        );
        assert_eq!(meminfo_total("nothing"), None);
        let dir = std::env::temp_dir().join(format!("dialtone-cgroup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("memory.max"), "max\n").unwrap();
        assert_eq!(cgroup_limit(&dir), None);
        std::fs::write(dir.join("memory.max"), "1073741824\n").unwrap();
        assert_eq!(cgroup_limit(&dir), Some(1 << 30));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
