//! Noticing reboots: this boot's identity, and which toolchains installed
//! without waiting for their data must be rehashed because a reboot came in
//! between (see `apply::settle` for why golock may not wait).

use crate::host::layout::Layout;
use crate::host::state::InstalledToolchain;

/// This boot's identity (Linux: `/proc/sys/kernel/random/boot_id`).
/// `GOLOCK_TEST_BOOT_ID` stands in for it so tests can simulate a reboot.
pub fn boot_id() -> Option<String> {
    if let Some(id) = std::env::var_os("GOLOCK_TEST_BOOT_ID") {
        return Some(id.to_string_lossy().into_owned()).filter(|s| !s.is_empty());
    }
    let raw = crate::fsx::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(raw.trim().to_string()).filter(|s| !s.is_empty())
}

/// Installed in `deferred` mode in another boot than this one (or this boot
/// is unknown): its data may not have survived, so it must be rehashed.
pub fn needs_recheck(entry: &InstalledToolchain, boot_id: Option<&str>) -> bool {
    match &entry.unsynced_boot {
        None => false,
        Some(installed_in) => boot_id != Some(installed_in.as_str()),
    }
}

/// Mismatches of an installed toolchain dir against its install manifest.
pub fn recheck(layout: &Layout, dir_name: &str) -> Vec<String> {
    crate::apply::manifest::mismatches(
        dir_name,
        &layout.toolchain_dir(dir_name),
        &layout.manifest_file(dir_name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(unsynced_boot: Option<&str>) -> InstalledToolchain {
        InstalledToolchain {
            version: "1.27.3".into(),
            platform: "linux-amd64".into(),
            archive_sha256: "00".repeat(32),
            unsynced_boot: unsynced_boot.map(str::to_string),
        }
    }

    #[test]
    fn synced_installs_are_never_rechecked() {
        assert!(!needs_recheck(&entry(None), Some("b")));
        assert!(!needs_recheck(&entry(None), None));
    }

    #[test]
    fn deferred_installs_are_rechecked_after_a_reboot_only() {
        assert!(!needs_recheck(&entry(Some("a")), Some("a")));
        assert!(needs_recheck(&entry(Some("a")), Some("b")));
        assert!(needs_recheck(&entry(Some("a")), None));
    }
}
