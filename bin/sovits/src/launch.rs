//! `train --distributed HOSTFILE`: starts one rank per host entry of an MLX
//! launcher host file (local entries as child processes of this binary, with
//! `MLX_RANK` / `MLX_HOSTFILE` set for MLX's ring backend) and waits for all;
//! a rank that fails stops the others. Inside a rank, [`rank_group`] joins the
//! ring.

use std::path::Path;
use std::process::{Child, Command};
use std::rc::Rc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use sovits_core::distributed::Group;
use sovits_core::distributed::hostfile::LaunchHostfile;

/// How long a rank waits for its peers before failing.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(120);

/// The ring group when this process is a rank (`MLX_RANK` set), else None.
pub fn rank_group() -> Result<Option<Rc<Group>>> {
    if std::env::var_os("MLX_RANK").is_none() {
        return Ok(None);
    }
    let group = Group::init_within("ring", CONNECT_TIMEOUT).context("joining the ring")?;
    Ok(Some(Rc::new(group)))
}

/// Starts every rank of `hostfile` (writing the ring file into `out`) and
/// waits; succeeds when all ranks do.
pub fn launch(hostfile: &Path, out: &Path, base_port: u16) -> Result<()> {
    let hosts = LaunchHostfile::load(hostfile)?;
    if let Some((i, h)) = hosts.hosts.iter().enumerate().find(|(_, h)| !h.is_local()) {
        bail!(
            "{}: hosts[{i}] (`{}`) is remote; start its rank there with MLX_RANK={i} and MLX_HOSTFILE pointing at a copy of {} \
             (see docs/distributed.md); this launcher starts local ranks only",
            hostfile.display(),
            h.ssh,
            out.join("ring_hostfile.json").display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let ring = out.join("ring_hostfile.json");
    std::fs::write(&ring, hosts.ring_json(base_port)?).with_context(|| format!("writing {}", ring.display()))?;
    let exe = std::env::current_exe().context("locating the sovits binary")?;
    // the same command line minus `--distributed FILE`
    let mut args: Vec<String> = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--distributed" {
            it.next();
        } else if !a.starts_with("--distributed=") {
            args.push(a);
        }
    }
    let mut children: Vec<(usize, Child)> = Vec::new();
    for rank in 0..hosts.hosts.len() {
        let mut cmd = Command::new(&exe);
        cmd.args(&args).env("MLX_RANK", rank.to_string()).env("MLX_HOSTFILE", &ring);
        for (k, v) in &hosts.envs {
            cmd.env(k, v);
        }
        children.push((rank, cmd.spawn().with_context(|| format!("starting rank {rank}"))?));
    }
    let mut failed = None;
    while !children.is_empty() {
        let mut still = Vec::new();
        for (rank, mut child) in children {
            match child.try_wait()? {
                Some(status) if !status.success() => failed = failed.or(Some((rank, status))),
                Some(_) => {}
                None => still.push((rank, child)),
            }
        }
        children = still;
        if let Some((rank, status)) = failed {
            for (_, c) in children.iter_mut() {
                let _ = c.kill();
            }
            bail!("rank {rank} failed ({status}); the other ranks were stopped");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}
