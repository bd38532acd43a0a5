//! The process table where there is no /proc to read (Windows, macOS):
//! sysinfo, refreshed once with only what the `process` check needs.

use super::{Listing, Stat};

/// The process table as sysinfo sees it, refreshed once with only what the
/// check needs.
pub struct Table {
    sys: sysinfo::System,
}

impl Table {
    pub fn read() -> anyhow::Result<Table> {
        use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
        let mut sys = System::new()?;
        let what = ProcessRefreshKind::nothing()
            .without_tasks()
            .with_cmd(UpdateKind::Always)
            .with_memory()
            .with_cpu();
        sys.refresh_processes_specifics(ProcessesToUpdate::All, true, what);
        Ok(Table { sys })
    }

    pub fn listing(&self) -> anyhow::Result<Listing> {
        let line = |p: &sysinfo::Process| {
            if p.cmd().is_empty() {
                p.name().to_string_lossy().into_owned()
            } else {
                p.cmd()
                    .iter()
                    .map(|a| a.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        };
        let lines = self
            .sys
            .processes()
            .iter()
            .map(|(pid, p)| (pid.as_u32(), line(p)))
            .collect();
        Ok(Listing { lines, blind: None })
    }

    /// Not read here: the config accepts `user` on Linux only
    /// (`crate::proc::user::lookup`). Err(false): cannot be read.
    pub fn uid(&self, _pid: u32) -> Result<u32, bool> {
        Err(false)
    }

    pub fn stat(&self, pid: u32) -> Option<Stat> {
        use sysinfo::ProcessStatus;
        let p = self.sys.process(sysinfo::Pid::from_u32(pid))?;
        let state = match p.status() {
            ProcessStatus::Stop => 'T',
            ProcessStatus::Tracing => 't',
            ProcessStatus::Zombie => 'Z',
            ProcessStatus::Run => 'R',
            _ => 'S',
        };
        Some(Stat {
            parent: p.parent().map_or(0, |pp| pp.as_u32()),
            session: p.session_id().map_or(0, |s| s.as_u32()),
            state,
            rss: p.memory(),
            cpu_ms: p.accumulated_cpu_time(),
            start: p.start_time(),
        })
    }
}
