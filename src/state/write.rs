//! Replacing a file so that readers see the old content or the new, never
//! a mix, with or without the fsyncs that make it survive a power cut.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Create `dir` (and parents) readable only by its owner.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Write `dir/name` so that readers see the old content or the new, never a
/// mix: a temp file in the same directory, fsync, rename over, fsync dir.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    replace(dir, name, bytes, true, true)
}

/// Write `dir/name` through a temp file renamed over it, without fsync: for
/// files that the next run writes again (the reports). Readers see the old
/// content or the new; a power cut may lose the newest file.
pub fn write_unsynced(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    replace(dir, name, bytes, false, false)
}

/// A temp file in `dir`, written (fsynced when `sync_file`), renamed over
/// `name`, then the directory fsynced when `sync_dir`.
fn replace(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    sync_file: bool,
    sync_dir: bool,
) -> io::Result<()> {
    replace_then(dir, name, bytes, sync_file, sync_dir, |_| {})
}

/// `replace`, calling `before_rename` with the temp file's path once its
/// content is written (and fsynced), before it takes `name`.
pub(super) fn replace_then(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    sync_file: bool,
    sync_dir: bool,
    before_rename: impl FnOnce(&Path),
) -> io::Result<()> {
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = File::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        f.write_all(bytes)?;
        if sync_file {
            f.sync_all()?;
        }
        before_rename(&temp);
        fs::rename(&temp, dir.join(name))?;
        if sync_dir {
            fsync_dir(dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Make a rename in `dir` durable. Windows cannot open a directory as a
/// file; NTFS journals the rename itself.
#[cfg(unix)]
fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(windows)]
fn fsync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
