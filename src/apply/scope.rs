//! The places an apply on this host may have written, which a journal read
//! back from disk must stay inside before recovery replays it.

use crate::host::layout::Layout;
use crate::host::state::State;
use crate::host::{self, HostEnv};
use crate::lockfile::Lockfile;
use crate::txn::Scope;

/// The data dir, and with a lockfile GOMODCACHE, the profile files (and
/// where a symlinked one really is), the go env file and `[go] link`.
/// Without a lockfile only the data dir: a journal naming anything else is
/// kept until recover runs with the lockfile the apply used.
pub fn journal_scope(layout: &Layout, env: &HostEnv, lock: Option<&Lockfile>) -> Scope {
    let mut scope = Scope::data_dir_only(layout);
    let Some(lock) = lock else {
        return scope;
    };
    if let Ok(cache) = host::gomodcache(lock, &layout.home) {
        scope.trees.push(cache);
    }
    // Where apply really writes (host::real_location, dangling links too),
    // only while that stays inside HOME, as observing the host requires.
    let home = host::real_location(&layout.home);
    // Files whose block an apply takes out, recorded in state.json before
    // and after that apply (checked to lie inside HOME).
    let state = State::load(&layout.state_file()).unwrap_or_default();
    let listed = lock
        .profile
        .files
        .iter()
        .cloned()
        .chain(host::recorded_unlisted_profiles(lock, layout, &state))
        .chain(env.goenv_file(&layout.home));
    for file in listed {
        let real = host::real_location(&file);
        if real != file && real.starts_with(&home) {
            scope.files.push(real);
        }
        scope.files.push(file);
    }
    scope.links.extend(lock.go.link.clone());
    scope
}
