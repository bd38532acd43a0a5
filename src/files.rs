//! What a path is, before it is trusted: checks and the state never open a
//! FIFO or a device, and a root run never trusts a file another user can
//! write.

/// What a path is when it is not a regular file ("a directory", "a FIFO"),
/// so that checks never open a FIFO (it would block) or read a device.
pub fn not_regular_file(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO");
        }
        if t.is_socket() {
            return Some("a socket");
        }
        if t.is_block_device() || t.is_char_device() {
            return Some("a device");
        }
    }
    Some("not a regular file")
}

/// When running as root, a file that another user could write lets that
/// user make root run commands: say why it is unsafe, if it is.
#[cfg(unix)]
pub fn unsafe_for_root(meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    if crate::sys::process::euid() != 0 {
        return None;
    }
    if meta.uid() != 0 {
        return Some(format!("it is owned by uid {}, not root", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Some(format!(
            "it is writable by group or others (mode {:o}); chmod go-w it",
            meta.mode() & 0o7777
        ));
    }
    None
}

#[cfg(not(unix))]
pub fn unsafe_for_root(_meta: &std::fs::Metadata) -> Option<String> {
    None
}

/// A file this process keeps for itself in a directory others can write
/// (the "state cannot be saved" marker in `$TMPDIR`): say why it cannot be
/// trusted when it is not a regular file owned by the running user.
#[cfg(unix)]
pub fn not_ours(meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    if let Some(what) = not_regular_file(meta) {
        return Some(format!("it is {what}"));
    }
    let me = crate::sys::process::euid();
    (meta.uid() != me).then(|| format!("it is owned by uid {}, not uid {me}", meta.uid()))
}

#[cfg(not(unix))]
pub fn not_ours(meta: &std::fs::Metadata) -> Option<String> {
    not_regular_file(meta).map(|what| format!("it is {what}"))
}

/// The first `limit` bytes of a file that must be regular (a pidfile):
/// opened non-blocking so that a FIFO cannot hang the run, a device such
/// as /dev/zero is never read. The inner `Err` says what the path is
/// instead ("a FIFO").
pub fn read_regular_head(
    path: &std::path::Path,
    limit: u64,
) -> std::io::Result<Result<Vec<u8>, &'static str>> {
    use std::io::Read;
    let mut options = std::fs::File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if let Some(what) = not_regular_file(&file.metadata()?) {
        return Ok(Err(what));
    }
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(Ok(bytes))
}
