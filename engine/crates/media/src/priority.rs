//! Scheduling priority of the media worker threads.
//!
//! A media tick that runs late costs every call on its worker a frame, while
//! a call set-up, a script or a SIP request that waits a few milliseconds
//! costs nothing anyone hears. On a box shared with other work, the media
//! workers can ask the kernel for a higher priority than the rest of the
//! process (a lower nice value, as FreeSWITCH does for its whole process).
//! Raising priority needs `CAP_SYS_NICE` or an `RLIMIT_NICE` that allows it;
//! without either the workers stay at the process's priority and say so once.
//!
//! The engine asks for it by default (nice -10): a surge of set-ups would
//! otherwise take the CPU from the calls already up in its first second,
//! before any load figure could close the gate. A prioritised worker shows
//! the squeeze late, so overload control does not wait for its lateness
//! alone: the set-up rate it lends shrinks as media or signalling get busy
//! (docs/PERFORMANCE.md, "Overload control").

/// Sets the calling thread's nice value.
#[cfg(target_os = "linux")]
pub fn set_thread_nice(nice: i32) -> std::io::Result<()> {
    // SAFETY: gettid has no arguments and cannot fail.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    let tid = libc::id_t::try_from(tid).map_err(|_| std::io::Error::other("bad thread id"))?;
    // SAFETY: setpriority takes plain integers; PRIO_PROCESS with a thread id
    // applies to that thread alone on Linux.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, nice) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere thread priorities are left as they are.
#[cfg(not(target_os = "linux"))]
pub fn set_thread_nice(_nice: i32) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "thread priorities are only set on Linux",
    ))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn thread_nice() -> i32 {
        // SAFETY: as above; getpriority returns the nice value (errno aside).
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::getpriority(libc::PRIO_PROCESS, tid)
        }
    }

    #[test]
    fn lowering_priority_is_always_allowed_and_only_for_this_thread() {
        let before = thread_nice();
        let after = std::thread::spawn(move || {
            set_thread_nice((before + 1).min(19)).unwrap();
            thread_nice()
        })
        .join()
        .unwrap();
        assert_eq!(after, (before + 1).min(19));
        assert_eq!(thread_nice(), before, "the caller's thread is untouched");
    }
}
