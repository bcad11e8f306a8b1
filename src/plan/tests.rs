//! Table-driven tests of the pure planner: one golock.toml × an observed
//! host built in memory (no disk) → the ordered action lines of `plan`,
//! each `<sigil> <headline>` as `Display` prints it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use sha2::{Digest, Sha256};

use super::{NO_CHANGES_MESSAGE, Plan, PlanError, PlanOptions, Summary, plan};
use crate::host::layout::Layout;
use crate::host::state::{InstalledToolchain, State};
use crate::host::{
    ExtraLink, LinkState, ModuleState, Observed, ObservedFile, ObservedModules, ToolchainState,
};
use crate::lockfile::{self, Lockfile, Platform};
use crate::profile::{self, Shell};

const ROOT: &str = "/data/golock";
const HOME: &str = "/home/me";
const NEW_DIR: &str = "/data/golock/toolchains/go1.27.3";
const OLD_DIR: &str = "/data/golock/toolchains/go1.19.8";
const SYSTEM_LINK: &str = "/usr/local/go";
const PROFILE: &str = "/home/me/.profile";
const GOENV: &str = "/home/me/.config/go/env";
const CACHE: &str = "/home/me/go/pkg/mod";
const MODULE: &str = "example.com/m@v1.0.0";

/// Every section the planner reads: an archive, `[go] link`, one locked
/// module, env, one profile file and the go env file.
const LOCKFILE: &str = r#"schema = 1
[go]
version = "1.27.3"
mirrors = ["https://dl.example/go"]
link = "/usr/local/go"
[go.archives]
linux-amd64 = { file = "go1.27.3.linux-amd64.tar.gz", sha256 = "979ddc93653470468787661806a98ea6d5604c2a48f1ce6694d50c0a4f32d8b9", size = 68269522 }
[modules]
proxies = ["https://proxy.example"]
[modules.require]
"example.com/m@v1.0.0" = { zip = "h1:iURUrRGxPUNPdy5/HRSm+Yj6okJ6UtLINN0Q9M4+h3I=", mod = "h1:iURUrRGxPUNPdy5/HRSm+Yj6okJ6UtLINN0Q9M4+h3I=" }
[env]
GOFLAGS = "-mod=mod"
GOTOOLCHAIN = "local"
[profile]
files = ["~/.profile"]
goenv = true
"#;

fn lock() -> Lockfile {
    lockfile::parse(LOCKFILE, Path::new("/repo/golock.toml"), Path::new(HOME))
        .expect("the test lockfile is valid")
}

fn layout() -> Layout {
    Layout::new(PathBuf::from(ROOT), PathBuf::from(HOME))
}

fn linux_amd64() -> PlanOptions {
    PlanOptions {
        platform: Platform::new("linux", "amd64"),
        ..PlanOptions::default()
    }
}

fn file(path: &str, write_path: &str, content: Option<&[u8]>) -> ObservedFile {
    ObservedFile {
        path: PathBuf::from(path),
        write_path: PathBuf::from(write_path),
        content: content.map(<[u8]>::to_vec),
        content_sha256: content.map(|c| hex::encode(Sha256::digest(c))),
    }
}

fn link_to(target: &str) -> LinkState {
    LinkState::Link {
        target: PathBuf::from(target),
    }
}

/// The profile file as golock writes it for `lock`.
fn profile_in_sync(lock: &Lockfile) -> Vec<u8> {
    let block = profile::render_block(Shell::Posix, &layout().active_link(), &lock.env);
    profile::splice(b"", None, &block)
}

/// A host exactly as `lock` wants it.
fn in_sync() -> Observed {
    let lock = lock();
    Observed {
        toolchains: BTreeMap::from([("go1.27.3".to_string(), ToolchainState::Valid)]),
        active_link: link_to(NEW_DIR),
        extra_link: Some(ExtraLink {
            path: PathBuf::from(SYSTEM_LINK),
            state: link_to(NEW_DIR),
        }),
        profiles: vec![file(PROFILE, PROFILE, Some(&profile_in_sync(&lock)))],
        former_profiles: Vec::new(),
        goenv: Some(file(
            GOENV,
            GOENV,
            Some(&profile::render_goenv(None, &lock.env, &[])),
        )),
        modules: Some(ObservedModules {
            cache: PathBuf::from(CACHE),
            locked: BTreeMap::from([(MODULE.to_string(), ModuleState::Present)]),
            unlocked: Vec::new(),
        }),
        state: State {
            goenv_keys: lock.env.iter().map(|(k, _)| k.clone()).collect(),
            ..State::default()
        },
    }
}

/// A host golock never touched.
fn fresh(o: &mut Observed) {
    o.toolchains.clear();
    o.active_link = LinkState::Missing {
        parent_exists: false,
    };
    set_system_link(
        o,
        LinkState::Missing {
            parent_exists: true,
        },
    );
    o.profiles = vec![file(PROFILE, PROFILE, None)];
    o.goenv = Some(file(GOENV, GOENV, None));
    if let Some(m) = o.modules.as_mut() {
        m.locked.clear();
    }
}

fn set_system_link(o: &mut Observed, state: LinkState) {
    if let Some(link) = o.extra_link.as_mut() {
        link.state = state;
    }
}

/// go1.19.8 installed and active, the rest in sync.
fn old_toolchain_active(o: &mut Observed) {
    o.toolchains
        .insert("go1.19.8".to_string(), ToolchainState::Valid);
    o.active_link = link_to(OLD_DIR);
    set_system_link(o, link_to(OLD_DIR));
}

fn module_state(o: &mut Observed, state: ModuleState) {
    if let Some(m) = o.modules.as_mut() {
        m.locked.insert(MODULE.to_string(), state);
    }
}

fn unlocked_module(o: &mut Observed) {
    if let Some(m) = o.modules.as_mut() {
        m.unlocked.push(("example.com/old".into(), "v0.1.0".into()));
    }
}

/// state.json says go1.27.3 came from the archive with `sha256`.
fn installed_from(o: &mut Observed, sha256: &str) {
    o.state.toolchains.insert(
        "go1.27.3".into(),
        InstalledToolchain {
            version: "1.27.3".into(),
            platform: "linux-amd64".into(),
            archive_sha256: sha256.into(),
            unsynced_boot: None,
        },
    );
}

const LOCKED_SHA: &str = "979ddc93653470468787661806a98ea6d5604c2a48f1ce6694d50c0a4f32d8b9";
const FORMER: &str = "/home/me/.bashrc";

/// ~/.bashrc holds golock's block as recorded, but golock.toml no longer lists it.
fn former_profile(o: &mut Observed) {
    let block = profile::render_block(Shell::Posix, &layout().active_link(), &lock().env);
    let content = profile::splice(b"# mine\n", None, &block);
    o.state
        .profile_blocks
        .insert(PathBuf::from(FORMER), profile::block_hash(block.as_bytes()));
    o.former_profiles = vec![file(FORMER, FORMER, Some(&content))];
}

fn lines(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .map(|a| format!("{} {}", a.sigil().symbol(), a.headline()))
        .collect()
}

fn run(host: impl Fn(&mut Observed), opts: impl Fn(&mut PlanOptions)) -> Result<Plan, PlanError> {
    let mut observed = in_sync();
    host(&mut observed);
    let mut options = linux_amd64();
    opts(&mut options);
    plan(&lock(), &observed, &layout(), &options)
}

const INSTALL: &str = "+ install go1.27.3 (linux-amd64) from go1.27.3.linux-amd64.tar.gz into /data/golock/toolchains/go1.27.3";
const ADD_MODULE: &str = "+ module example.com/m@v1.0.0";
const CREATE_LINK: &str = "+ create link /data/golock/go -> /data/golock/toolchains/go1.27.3";
const CREATE_SYSTEM_LINK: &str =
    "+ create system link /usr/local/go -> /data/golock/toolchains/go1.27.3";
const SWITCH_LINK: &str = "~ switch link /data/golock/go -> /data/golock/toolchains/go1.27.3 (was /data/golock/toolchains/go1.19.8)";
const SWITCH_SYSTEM_LINK: &str = "~ switch system link /usr/local/go -> /data/golock/toolchains/go1.27.3 (was /data/golock/toolchains/go1.19.8)";
const CREATE_PROFILE: &str = "+ create golock block in /home/me/.profile";
const UPDATE_PROFILE: &str = "~ update golock block in /home/me/.profile";
const CREATE_GOENV: &str = "+ create go env file /home/me/.config/go/env";
const UPDATE_GOENV: &str = "~ update go env file /home/me/.config/go/env";
const REMOVE_OLD: &str = "- remove go1.19.8 (/data/golock/toolchains/go1.19.8)";
const REMOVE_MODULE: &str = "- remove module example.com/old@v0.1.0";

type HostChange = fn(&mut Observed);
type OptsChange = fn(&mut PlanOptions);

fn no_change(_: &mut Observed) {}
fn defaults(_: &mut PlanOptions) {}
fn prune(o: &mut PlanOptions) {
    o.prune = true;
}
fn prune_modules(o: &mut PlanOptions) {
    o.prune_modules = true;
}
fn prune_both(o: &mut PlanOptions) {
    o.prune = true;
    o.prune_modules = true;
}

/// (name, host, options, expected lines in order). Together the rows cover
/// every `Action` kind and both sigils of the kinds that have two.
const ROWS: &[(&str, HostChange, OptsChange, &[&str])] = &[
    ("in sync: nothing to do", no_change, defaults, &[]),
    (
        "fresh host: install, module, links, profile, go env file",
        fresh,
        defaults,
        &[
            INSTALL,
            ADD_MODULE,
            CREATE_LINK,
            CREATE_SYSTEM_LINK,
            CREATE_PROFILE,
            CREATE_GOENV,
        ],
    ),
    (
        "a broken toolchain dir is replaced",
        |o| {
            o.toolchains.insert(
                "go1.27.3".into(),
                ToolchainState::Invalid {
                    reason: "bin/go is missing".into(),
                },
            );
        },
        defaults,
        &[
            "+ install go1.27.3 (linux-amd64) from go1.27.3.linux-amd64.tar.gz into /data/golock/toolchains/go1.27.3 (replacing a broken install: bin/go is missing)",
        ],
    ),
    (
        "the toolchain installed from the locked archive is in place",
        |o| installed_from(o, LOCKED_SHA),
        defaults,
        &[],
    ),
    (
        "a changed archive sha256 reinstalls the toolchain",
        |o| installed_from(o, &"ab".repeat(32)),
        defaults,
        &[
            "~ reinstall go1.27.3 (archive sha256 changed: abababababab\u{2026} \u{2192} 979ddc936534\u{2026})",
        ],
    ),
    (
        "a recorded sha256 that is not hex is not echoed",
        |o| installed_from(o, "../../etc/passwd"),
        defaults,
        &["~ reinstall go1.27.3 (archive sha256 changed: ?\u{2026} \u{2192} 979ddc936534\u{2026})"],
    ),
    (
        "a toolchain damaged on disk (--repair's rehash) is reinstalled",
        |o| {
            o.toolchains.insert(
                "go1.27.3".into(),
                ToolchainState::Damaged {
                    reason: "2 file(s) differ from its install manifest".into(),
                },
            );
        },
        defaults,
        &["~ reinstall go1.27.3 (2 file(s) differ from its install manifest)"],
    ),
    (
        "a module damaged on disk (--repair's rehash) is repaired",
        |o| {
            module_state(
                o,
                ModuleState::Damaged {
                    reason: "zip hash h1:x, locked h1:y".into(),
                },
            )
        },
        defaults,
        &["~ module example.com/m@v1.0.0 (repair: zip hash h1:x, locked h1:y)"],
    ),
    (
        "a profile file no longer listed loses its block",
        former_profile,
        defaults,
        &["- remove golock block in /home/me/.bashrc"],
    ),
    (
        "a recorded profile file whose block is gone is only forgotten",
        |o| {
            former_profile(o);
            o.former_profiles = vec![file(FORMER, FORMER, Some(b"# mine\n"))];
        },
        defaults,
        &[],
    ),
    (
        "links at the old toolchain are switched; without --prune it stays",
        old_toolchain_active,
        defaults,
        &[SWITCH_LINK, SWITCH_SYSTEM_LINK],
    ),
    (
        "a profile without the block gets it",
        |o| o.profiles = vec![file(PROFILE, PROFILE, Some(b"# mine\n"))],
        defaults,
        &[UPDATE_PROFILE],
    ),
    (
        "a profile that is a symlink is written at its target",
        |o| o.profiles = vec![file(PROFILE, "/home/me/dotfiles/profile", None)],
        defaults,
        &["+ create golock block in /home/me/.profile \u{2192} /home/me/dotfiles/profile"],
    ),
    (
        "a stale go env file is updated",
        |o| o.goenv = Some(file(GOENV, GOENV, Some(b"GOFLAGS=-mod=readonly\n"))),
        defaults,
        &[UPDATE_GOENV],
    ),
    (
        "a missing module is added",
        |o| module_state(o, ModuleState::Missing),
        defaults,
        &[ADD_MODULE],
    ),
    (
        "a corrupt module is repaired",
        |o| {
            module_state(
                o,
                ModuleState::Corrupt {
                    reason: "ziphash differs".into(),
                },
            )
        },
        defaults,
        &["~ module example.com/m@v1.0.0 (repair: ziphash differs)"],
    ),
    (
        "--prune removes a toolchain golock.toml no longer names",
        |o| {
            o.toolchains
                .insert("go1.19.8".into(), ToolchainState::Valid);
        },
        prune,
        &[REMOVE_OLD],
    ),
    (
        "an unlocked module stays without --prune-modules",
        unlocked_module,
        defaults,
        &[],
    ),
    (
        "--prune-modules removes an unlocked module",
        unlocked_module,
        prune_modules,
        &[REMOVE_MODULE],
    ),
    (
        "order: additions, switches, file writes, then removals",
        |o| {
            fresh(o);
            old_toolchain_active(o);
            unlocked_module(o);
        },
        prune_both,
        &[
            INSTALL,
            ADD_MODULE,
            SWITCH_LINK,
            SWITCH_SYSTEM_LINK,
            CREATE_PROFILE,
            CREATE_GOENV,
            REMOVE_OLD,
            REMOVE_MODULE,
        ],
    ),
];

#[test]
fn plan_lists_the_actions_in_order() {
    for (name, host, opts, expected) in ROWS {
        let plan = run(host, opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(lines(&plan), *expected, "{name}");
        assert_eq!(plan.summary, Summary::of(&plan.actions), "{name}");
    }
}

#[test]
fn the_rows_cover_every_action_kind() {
    let mut kinds = std::collections::BTreeSet::new();
    for (name, host, opts, _) in ROWS {
        let plan = run(host, opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        for action in &plan.actions {
            let json = serde_json::to_value(action).unwrap_or_default();
            kinds.insert(format!("{} {}", json["type"], action.sigil().symbol()));
        }
    }
    // Every `Action` variant, by its serde tag, with each sigil it can take.
    let all = [
        "\"install_toolchain\" +",
        "\"switch_link\" +",
        "\"switch_link\" ~",
        "\"write_file\" +",
        "\"write_file\" ~",
        "\"reinstall_toolchain\" ~",
        "\"remove_toolchain\" -",
        "\"remove_block\" -",
        "\"add_module\" +",
        "\"add_module\" ~",
        "\"remove_module\" -",
    ];
    assert_eq!(kinds, all.iter().map(|s| s.to_string()).collect());
}

#[test]
fn a_rehashed_module_repair_says_so_in_json() {
    let plan = run(
        |o| {
            module_state(
                o,
                ModuleState::Damaged {
                    reason: "damaged".into(),
                },
            )
        },
        defaults,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_value(&plan.actions[0]).unwrap_or_default();
    assert_eq!(json["rehash"], true, "{json}");
    let plain =
        run(|o| module_state(o, ModuleState::Missing), defaults).unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_value(&plain.actions[0]).unwrap_or_default();
    assert!(json.get("rehash").is_none(), "{json}");
}

#[test]
fn a_removed_block_leaves_the_rest_and_is_forgotten() {
    let plan = run(former_profile, defaults).unwrap_or_else(|e| panic!("{e}"));
    let Some(super::Action::RemoveBlock { after, .. }) = plan.actions.first() else {
        panic!("{:?}", plan.actions);
    };
    assert_eq!(after.0, b"# mine\n");
    assert!(
        !plan
            .state_after
            .profile_blocks
            .contains_key(Path::new(FORMER))
    );
    assert_eq!(plan.state_after.removed_blocks, [PathBuf::from(FORMER)]);
}

#[test]
fn an_unobserved_recorded_profile_is_warned_about_not_touched() {
    let plan = run(
        |o| {
            o.state
                .profile_blocks
                .insert(PathBuf::from("/etc/profile"), "00".into());
        },
        defaults,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert!(
        plan.warnings[0].contains("/etc/profile"),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn an_in_sync_host_prints_no_changes() {
    let plan = run(no_change, defaults).unwrap_or_else(|e| panic!("{e}"));
    assert!(plan.is_empty());
    assert_eq!(plan.summary, Summary::default());
    assert_eq!(plan.to_string(), format!("{NO_CHANGES_MESSAGE}\n"));
    assert_eq!(plan.in_place.len(), 6, "{:?}", plan.in_place);
}

fn edited_block(o: &mut Observed) {
    let mut content = profile_in_sync(&lock());
    let recorded = profile::block_hash(&content);
    content.splice(0..0, b"# mine\n".iter().copied());
    let at = content.len() - "# <<< golock <<<\n".len();
    content.splice(at..at, b"export EXTRA=1\n".iter().copied());
    o.profiles = vec![file(PROFILE, PROFILE, Some(&content))];
    o.state
        .profile_blocks
        .insert(PathBuf::from(PROFILE), recorded);
}

fn force(o: &mut PlanOptions) {
    o.force = true;
}

#[test]
fn an_edited_block_is_refused_unless_forced() {
    assert_eq!(
        lines(&run(edited_block, force).unwrap_or_else(|e| panic!("{e}"))),
        [UPDATE_PROFILE]
    );
}

/// (name, host, options, diagnostic code of the refusal).
const REFUSALS: &[(&str, HostChange, OptsChange, &str)] = &[
    (
        "the active link is a real directory",
        |o| o.active_link = LinkState::RealDir,
        defaults,
        "golock::plan::link_is_dir",
    ),
    (
        "the system link is a file",
        |o| set_system_link(o, LinkState::OtherFile),
        defaults,
        "golock::plan::link_is_file",
    ),
    (
        "the system link's directory is missing",
        |o| {
            set_system_link(
                o,
                LinkState::Missing {
                    parent_exists: false,
                },
            )
        },
        defaults,
        "golock::plan::link_parent",
    ),
    (
        "the block was edited since golock wrote it",
        edited_block,
        defaults,
        "golock::plan::block_edited",
    ),
    (
        "the block of a file no longer listed was edited",
        |o| {
            former_profile(o);
            o.former_profiles = vec![file(
                FORMER,
                FORMER,
                Some(b"# >>> golock >>>\nexport MINE=1\n# <<< golock <<<\n"),
            )];
        },
        defaults,
        "golock::plan::block_edited",
    ),
    (
        "no archive for the platform",
        no_change,
        |o| o.platform = Platform::new("darwin", "arm64"),
        "golock::plan::no_archive",
    ),
];

#[test]
fn plan_refuses_what_it_must_not_change() {
    for (name, host, opts, code) in REFUSALS {
        let Err(error) = run(host, opts) else {
            panic!("{name}: planned");
        };
        assert_eq!(
            error.code().map(|c| c.to_string()).as_deref(),
            Some(*code),
            "{name}: {error}"
        );
    }
}
