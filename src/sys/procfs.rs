//! The units the kernel counts in under /proc: `/proc/<pid>/stat` gives
//! memory in pages and CPU time in clock ticks, whose sizes are asked of
//! the system rather than assumed.

/// The size of a memory page in bytes, as `sysconf(_SC_PAGESIZE)` says;
/// 4096 if it does not say. Never 0.
pub fn page_size() -> u64 {
    // SAFETY: sysconf takes a name and passes no memory; an unknown name
    // is answered with -1.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(page).ok().filter(|p| *p > 0).unwrap_or(4096)
}

/// How many clock ticks make a second (`sysconf(_SC_CLK_TCK)`), the unit
/// of the CPU times in /proc; 100 if it does not say. Never 0.
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: as above.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `getconf NAME` prints, as a number.
    fn getconf(name: &str) -> u64 {
        let out = std::process::Command::new("getconf")
            .arg(name)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    #[test]
    fn the_units_are_the_ones_getconf_reports() {
        assert_eq!(page_size(), getconf("PAGESIZE"));
        assert_eq!(clock_ticks_per_second(), getconf("CLK_TCK"));
    }
}
