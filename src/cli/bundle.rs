//! `golock bundle`: write an offline bundle for the chosen platforms.

use super::args::BundleArgs;
use super::context::Context;
use super::error::Result;
use super::exit;
use crate::bundle::members::{self, MemberError};
use crate::bundle::{BundleWriter, SecretKeyFile};
use crate::fsx;
use crate::host;
use crate::lockfile::Platform;

pub(super) fn run(ctx: &Context, args: &BundleArgs) -> Result<u8> {
    let lock = ctx.load_lockfile()?;
    let bytes = fsx::read(&lock.path)?;
    let out = ctx.cwd.join(&args.out);
    let platforms = platforms(args)?;
    let cache = match &args.from_cache {
        Some(dir) => ctx.cwd.join(dir),
        None => host::gomodcache(&lock, &ctx.layout.home)?,
    };
    let mut writer = BundleWriter::create(&out, &bytes)?;
    for (member, path) in members::collect(&lock, &ctx.layout, &platforms, &cache)? {
        writer.add_file(&member, &path)?;
    }
    let key = match &args.sign {
        Some(p) => Some(SecretKeyFile::load(&ctx.cwd.join(p), None)?),
        None => None,
    };
    let manifest = writer.finish(key.as_ref())?;
    let written = fsx::metadata(&out)?.len();
    ctx.say(format!(
        "Wrote {} ({} members, {written} bytes, {}).",
        out.display(),
        manifest.members.len(),
        indicatif::HumanBytes(written)
    ));
    Ok(exit::OK)
}

/// `--platform`s, or this host's.
fn platforms(args: &BundleArgs) -> Result<Vec<Platform>> {
    if args.platform.is_empty() {
        return Ok(Platform::host().into_iter().collect());
    }
    let parse = |p: &String| {
        p.parse().map_err(|_| MemberError::Source {
            what: p.clone(),
            why: "not a known os-arch platform".into(),
        })
    };
    Ok(args
        .platform
        .iter()
        .map(parse)
        .collect::<std::result::Result<_, _>>()?)
}
