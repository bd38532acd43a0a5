//! Replacing a file so that readers see the old content or the new, never
//! a mix, with or without the fsyncs that make it survive a power cut.

use std::fs;
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
/// content is written (and fsynced), before it takes `name`. The temp file
/// is created exclusively under an unpredictable name (`.NAME.tmp-XXXXXX`):
/// in a directory others can write (a Prometheus textfile directory,
/// `$TMPDIR`) a symlink or file planted there is never followed nor
/// written through, and a failed write removes it.
pub(super) fn replace_then(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    sync_file: bool,
    sync_dir: bool,
    before_rename: impl FnOnce(&Path),
) -> io::Result<()> {
    let prefix = format!(".{name}.tmp-");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).rand_bytes(12);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The mode a plain create gives (the umask applies): a textfile
        // collector or a reader of the reports still reads what it did.
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut file = builder.tempfile_in(dir)?;
    file.write_all(bytes)?;
    if sync_file {
        file.as_file().sync_all()?;
    }
    let temp = file.into_temp_path();
    before_rename(&temp);
    fs::rename(&temp, dir.join(name))?;
    // The temp name is gone (renamed): nothing to clean.
    let _ = temp.keep();
    if sync_dir {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// Make a rename in `dir` durable. Windows cannot open a directory as a
/// file; NTFS journals the rename itself.
#[cfg(unix)]
fn fsync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(windows)]
fn fsync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_file_holds_the_new_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_unsynced(d, "f.json", b"first").unwrap();
        assert_eq!(fs::read(d.join("f.json")).unwrap(), b"first");
        // A second name of the old content (as state.json.synced is) keeps it.
        fs::hard_link(d.join("f.json"), d.join("kept")).unwrap();
        write_unsynced(d, "f.json", b"second").unwrap();
        write_atomically(d, "f.json", b"third").unwrap();
        assert_eq!(fs::read(d.join("f.json")).unwrap(), b"third");
        assert_eq!(fs::read(d.join("kept")).unwrap(), b"first");
        let mut names: Vec<_> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["f.json", "kept"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_planted_at_the_temp_name_was_followed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let victim = d.join("victim");
        fs::write(&victim, b"precious").unwrap();
        // The names a writer could be expected to use, with this pid and
        // without: each one a link to the victim.
        for name in [
            format!(".f.prom.tmp-{}", std::process::id()),
            ".f.prom.tmp".to_string(),
        ] {
            std::os::unix::fs::symlink(&victim, d.join(name)).unwrap();
        }
        write_atomically(d, "f.prom", b"metrics").unwrap();
        write_unsynced(d, "f.prom", b"metrics again").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(d.join("f.prom")).unwrap(), b"metrics again");
        assert!(
            !fs::symlink_metadata(d.join("f.prom")).unwrap().is_symlink(),
            "the file itself is replaced, not written through"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_replaced_file_keeps_the_mode_a_plain_create_gives() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        write_unsynced(dir.path(), "f.prom", b"x").unwrap();
        let mode = fs::metadata(dir.path().join("f.prom"))
            .unwrap()
            .permissions()
            .mode();
        let status = fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .map(|m| u32::from_str_radix(m.trim(), 8).unwrap())
            .unwrap();
        assert_eq!(mode & 0o777, 0o666 & !umask);
    }
}
