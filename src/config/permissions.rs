//! Who may read a config file: inline secrets in a file others can read
//! are worth a warning.

#[cfg(unix)]
pub(super) fn world_or_group_readable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o044 != 0
}

#[cfg(not(unix))]
pub(super) fn world_or_group_readable(_meta: &std::fs::Metadata) -> bool {
    false
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_file_others_can_read_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("healthcheck.toml");
        std::fs::write(&path, "").unwrap();
        for (mode, readable) in [(0o600, false), (0o640, true), (0o604, true), (0o700, false)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let meta = std::fs::metadata(&path).unwrap();
            assert_eq!(world_or_group_readable(&meta), readable, "mode {mode:o}");
        }
    }
}
