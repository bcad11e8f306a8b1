#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: make a host's Go setup match golock.toml by running golock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: golock
short_description: Make a host's Go toolchain, module cache and profile env match golock.toml
version_added: "0.1.0"
description:
  - Runs the C(golock) binary on the target. golock observes the host, plans what
    differs from the lockfile and applies that plan under a write-ahead journal.
  - In check mode it runs C(golock plan --json) and reports C(changed) from the plan,
    changing nothing on the host.
  - With C(--diff) it returns Ansible's C(diff) built from the plan golock computed, with the
    before/after of each profile block and go env file edit, and header lines for
    toolchain installs and link switches.
  - In normal mode it saves the plan with C(golock plan --out FILE) and runs
    C(golock apply --plan FILE -y), so exactly what was planned is applied (golock refuses
    a plan the host no longer matches).
author:
  - golock developers
options:
  lockfile:
    description: Path of golock.toml on the target.
    type: path
    required: true
  root:
    description:
      - golock's data dir on the target (C(--root)). Default is golock's own
        (C($XDG_DATA_HOME/golock), else C(~/.local/share/golock)).
    type: path
  home:
    description:
      - Whose profile files are edited (C(--home)); must exist. Default is C($HOME)
        of the remote user.
    type: path
  golock_path:
    description: The golock binary on the target, an absolute path or a name looked up in C(PATH).
    type: str
    default: golock
  proxies:
    description:
      - GOPROXY sources for the modules, tried in order, instead of golock.toml's
        C([modules] proxies) (C(--proxy), repeated).
    type: list
    elements: str
  mirrors:
    description:
      - Go archive mirrors (directories or http(s) URLs), tried in order, instead of
        golock.toml's C([go] mirrors) (C(--mirror), repeated). The plan records where
        each archive comes from, so the apply uses the same mirrors.
      - Ignored with O(state=checked), since where an archive comes from does not change
        the drift verdict.
      - Cannot be combined with O(bundle).
    type: list
    elements: str
  bundle:
    description:
      - An offline bundle on the target (C(--bundle)); every artifact is taken from it,
        verified against golock.toml first. In normal mode golock then runs
        C(apply --bundle FILE -y) (a saved plan cannot name a bundle's temp dir).
      - Cannot be combined with O(proxies).
    type: path
  repair:
    description: Rehash the toolchain and the locked modules and reinstall what is damaged (C(--repair)).
    type: bool
    default: false
  prune:
    description: Also remove toolchains golock.toml no longer names (C(--prune)).
    type: bool
    default: false
  state:
    description:
      - V(present) makes the host match golock.toml.
      - V(checked) runs C(golock check) and reports drift as C(changed=true) with
        RV(drift) set, never failing for drift and never changing the host (also outside
        check mode). An error (exit 1) fails the task.
    type: str
    choices: [present, checked]
    default: present
notes:
  - Supports check mode and diff mode.
  - A failure returns golock's exit status in RV(rc) and its message (stderr) in C(msg),
    without a Python traceback.
requirements:
  - the golock binary on the target
"""

EXAMPLES = r"""
- name: Make the host's Go setup match the repo's golock.toml
  golock.golock.golock:
    lockfile: /etc/golock/golock.toml

- name: Per-user root and home, modules from an internal GOPROXY
  golock.golock.golock:
    lockfile: /srv/ci/golock.toml
    root: /srv/ci/golock
    home: /home/ci
    golock_path: /usr/local/bin/golock
    proxies:
      - http://mirror.internal/mod

- name: Air-gapped host, everything from an offline bundle
  golock.golock.golock:
    lockfile: /etc/golock/golock.toml
    bundle: /var/tmp/offline.tar.gz

- name: Report drift only (for a nightly audit); changed=true means drift
  golock.golock.golock:
    lockfile: /etc/golock/golock.toml
    state: checked
  register: audit
"""

RETURN = r"""
changed:
  description: Whether the plan had actions (state=present), or check found drift (state=checked).
  type: bool
  returned: always
actions:
  description:
    - The plan's actions, as in C(golock plan --json) (see golock's README, "Plan JSON"),
      each without its C(after) file content.
  type: list
  elements: dict
  returned: state=present
  sample: [{"type": "install_toolchain", "version": "1.27.3", "platform": "linux-amd64"}]
summary:
  description: The plan's counts.
  type: dict
  returned: state=present
  sample: {"install": 1, "change": 2, "remove": 0}
drift:
  description: Whether C(golock check) found drift (exit 2).
  type: bool
  returned: state=checked
check_exit:
  description:
    - C(golock check)'s exit status, 0 (in sync) or 2 (drift). It is not RV(rc), which
      Ansible reads as failure when nonzero.
  type: int
  returned: state=checked
rc:
  description: golock's exit status; nonzero only on failure (of the command that failed).
  type: int
  returned: always
stdout:
  description: golock's stdout (of apply or check).
  type: str
  returned: when golock ran apply or check
stderr:
  description: golock's stderr (of apply or check).
  type: str
  returned: when golock ran apply or check
cmd:
  description: The golock command line that ran last.
  type: list
  elements: str
  returned: always
"""

import json
import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

# A plan's JSON is read from golock's stdout or a file golock wrote; cap it.
MAX_PLAN_BYTES = 64 * 1024 * 1024


def golock_base(module):
    """The binary and the global flags every command takes."""
    params = module.params
    binary = params["golock_path"]
    if os.path.isabs(binary):
        if not os.access(binary, os.X_OK):
            module.fail_json(msg="golock_path %s is not an executable file" % binary, rc=1, cmd=[binary])
    else:
        binary = module.get_bin_path(binary, required=True)
    cmd = [binary, "--color", "never", "--lockfile", params["lockfile"]]
    if params["root"]:
        cmd += ["--root", params["root"]]
    if params["home"]:
        cmd += ["--home", params["home"]]
    return cmd


def plan_flags(params):
    """The flags plan and apply share, from the module options."""
    flags = []
    for proxy in params["proxies"] or []:
        flags += ["--proxy", proxy]
    for mirror in params["mirrors"] or []:
        flags += ["--mirror", mirror]
    if params["repair"]:
        flags.append("--repair")
    if params["prune"]:
        flags.append("--prune")
    return flags


def run(module, cmd, ok_codes=(0,)):
    """Run golock; on an exit status outside ok_codes fail with its message."""
    rc, out, err = module.run_command(cmd, environ_update={"NO_COLOR": "1"})
    if rc not in ok_codes:
        message = err.strip() or out.strip() or "golock exited with status %d" % rc
        module.fail_json(msg=message, rc=rc, stdout=out, stderr=err, cmd=cmd)
    return rc, out, err


def parse_plan(module, text, cmd):
    """A plan's JSON as golock wrote it, refused when it is not one."""
    if len(text) > MAX_PLAN_BYTES:
        module.fail_json(msg="golock's plan is larger than %d bytes" % MAX_PLAN_BYTES, rc=1, cmd=cmd)
    try:
        plan = json.loads(text)
    except ValueError as err:
        module.fail_json(msg="golock's plan is not JSON: %s" % err, rc=1, cmd=cmd)
    if not isinstance(plan, dict) or not isinstance(plan.get("actions"), list):
        module.fail_json(msg="golock's plan has no actions list", rc=1, cmd=cmd)
    return plan


def read_capped(path):
    with open(path, "r", encoding="utf-8") as handle:
        return handle.read(MAX_PLAN_BYTES + 1)


def without_content(action):
    """An action as returned: everything but the full new file content."""
    return dict((k, v) for k, v in action.items() if k != "after")


def hunk_sides(diff_text):
    """Before and after of a unified diff's hunks (context and changed lines)."""
    before, after = [], []
    for line in diff_text.splitlines(True):
        if line.startswith(("--- ", "+++ ")):
            continue
        if line.startswith("@@"):
            if before or after:
                before.append("...\n")
                after.append("...\n")
            continue
        if line.startswith("-"):
            before.append(line[1:])
        elif line.startswith("+"):
            after.append(line[1:])
        elif line.startswith(" "):
            before.append(line[1:])
            after.append(line[1:])
    return "".join(before), "".join(after)


def file_diff(action):
    """Ansible diff of a profile block or go env file edit, from golock's diff."""
    before, after = hunk_sides(action.get("diff") or "")
    path = action.get("path", "")
    return {
        "before_header": "%s (before)" % path,
        "after_header": "%s (after)" % path,
        "before": before,
        "after": after,
    }


def toolchain_diff(action):
    version = "go%s" % action.get("version", "?")
    kind = action["type"]
    if kind == "remove_toolchain":
        return {"before_header": "toolchain %s" % action.get("dir", ""), "before": version + "\n", "after": ""}
    after = "%s %s (sha256 %s)\n" % (version, action.get("platform", ""), action.get("sha256", ""))
    before = ""
    if kind == "reinstall_toolchain":
        before = "%s (%s)\n" % (version, action.get("reason", "reinstall"))
    return {"before_header": "toolchain %s" % action.get("target", ""), "after_header": "toolchain %s" % action.get("target", ""), "before": before, "after": after}


def link_diff(action):
    link = action.get("link", "")
    return {
        "before_header": "link %s (%s)" % (link, action.get("role", "")),
        "after_header": "link %s (%s)" % (link, action.get("role", "")),
        "before": "-> %s\n" % action["from"] if action.get("from") else "",
        "after": "-> %s\n" % action["to"] if action.get("to") else "",
    }


def modules_diff(actions):
    lines = []
    for action in actions:
        sign = "~" if action.get("repair") or action["type"] != "add_module" else "+"
        lines.append("%s %s@%s\n" % (sign, action.get("path", "?"), action.get("version", "?")))
    cache = actions[0].get("cache", "")
    return {"before_header": "module cache %s" % cache, "after_header": "module cache %s" % cache, "before": "", "after": "".join(lines)}


def plan_diff(plan):
    """Ansible's diff list for a plan: one entry per file, link and toolchain, one for modules."""
    diffs, modules = [], []
    for action in plan["actions"]:
        kind = action.get("type", "")
        if kind in ("write_file", "remove_block"):
            diffs.append(file_diff(action))
        elif kind.endswith("_toolchain"):
            diffs.append(toolchain_diff(action))
        elif kind == "switch_link":
            diffs.append(link_diff(action))
        elif "module" in kind:
            modules.append(action)
    if modules:
        diffs.append(modules_diff(modules))
    return diffs


def plan_result(module, plan, cmd):
    result = {
        "changed": bool(plan["actions"]),
        "actions": [without_content(a) for a in plan["actions"]],
        "summary": plan.get("summary", {}),
        "rc": 0,
        "cmd": cmd,
    }
    if module._diff:
        result["diff"] = plan_diff(plan)
    return result


def state_checked(module, base):
    cmd = base + ["check"] + ["--proxy=%s" % p for p in module.params["proxies"] or []]
    if module.params["prune"]:
        cmd.append("--prune")
    rc, out, err = run(module, cmd, ok_codes=(0, 2))
    # Not returned as rc: Ansible fails any task whose result has a nonzero rc.
    module.exit_json(changed=rc == 2, drift=rc == 2, check_exit=rc, rc=0, stdout=out, stderr=err, cmd=cmd)


def state_present(module, base):
    flags = plan_flags(module.params)
    bundle = module.params["bundle"]
    if bundle:
        flags += ["--bundle", bundle]
    if module.check_mode or bundle:
        cmd = base + ["plan", "--json"] + flags
        _, out, _ = run(module, cmd)
        plan = parse_plan(module, out, cmd)
        result = plan_result(module, plan, cmd)
        if module.check_mode or not plan["actions"]:
            module.exit_json(**result)
        apply_cmd = base + ["apply", "-y", "--bundle", bundle] + plan_flags(module.params)
        return finish_apply(module, result, apply_cmd)
    workdir = tempfile.mkdtemp(prefix="golock-plan-")
    try:
        plan_file = os.path.join(workdir, "plan.json")
        cmd = base + ["plan", "--out", plan_file] + flags
        run(module, cmd)
        plan = parse_plan(module, read_capped(plan_file), cmd)
        result = plan_result(module, plan, cmd)
        if not plan["actions"]:
            module.exit_json(**result)
        apply_cmd = base + ["apply", "-y", "--plan", plan_file]
        if module.params["repair"]:
            apply_cmd.append("--repair")
        finish_apply(module, result, apply_cmd)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def finish_apply(module, result, apply_cmd):
    rc, out, err = run(module, apply_cmd)
    result.update(rc=rc, stdout=out, stderr=err, cmd=apply_cmd)
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            lockfile=dict(type="path", required=True),
            root=dict(type="path"),
            home=dict(type="path"),
            golock_path=dict(type="str", default="golock"),
            proxies=dict(type="list", elements="str"),
            mirrors=dict(type="list", elements="str"),
            bundle=dict(type="path"),
            repair=dict(type="bool", default=False),
            prune=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "checked"], default="present"),
        ),
        mutually_exclusive=[["bundle", "proxies"], ["bundle", "mirrors"]],
        supports_check_mode=True,
    )
    base = golock_base(module)
    if module.params["state"] == "checked":
        state_checked(module, base)
    state_present(module, base)


if __name__ == "__main__":
    main()
