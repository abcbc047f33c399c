//! Host files: the one `mlx.launch` reads (which machines, one rank each) and
//! the one MLX's ring backend reads from `MLX_HOSTFILE` (where each rank listens).
//!
//! Launcher format (MLX `python/mlx/distributed_run.py`): a JSON list of hosts
//! `[{"ssh": "host1", "ips": ["10.0.0.1"]}, ...]`, or an object
//! `{"backend": "ring", "envs": ["K=V"], "hosts": [...]}`; fields MLX uses for
//! other backends (`rdma`) are accepted and ignored. Host `i` runs rank `i`.
//!
//! Ring format (`MLX_HOSTFILE`, MLX docs "Distributed without mlx.launch"): a
//! JSON list with one entry per rank, each a list of `"ip:port"` addresses that
//! rank listens on: `[["127.0.0.1:5000"], ["127.0.0.1:5001"]]`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// One machine of a launcher host file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Name to reach it with ssh (`localhost` for this machine).
    pub ssh: String,
    /// Addresses the other ranks can reach it on (the ring listens on the first).
    pub ips: Vec<String>,
}

impl Host {
    /// True for this machine (`localhost`, `127.*`, `::1`): its rank is a child
    /// process, no ssh.
    pub fn is_local(&self) -> bool {
        let s = self.ssh.as_str();
        s == "localhost" || s == "::1" || s.starts_with("127.")
    }

    /// The address the ring listens on: the first ip, else loopback for a local host.
    pub fn listen_ip(&self) -> Option<&str> {
        self.ips.first().map(String::as_str).or(self.is_local().then_some("127.0.0.1"))
    }
}

/// A parsed launcher host file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchHostfile {
    /// The file it came from (for messages).
    pub path: PathBuf,
    /// Hosts in rank order.
    pub hosts: Vec<Host>,
    /// Backend named in the file (`""` when absent).
    pub backend: String,
    /// Extra `KEY=VALUE` environment for every rank.
    pub envs: Vec<(String, String)>,
}

fn bad(path: &Path, message: String) -> Error {
    Error::Distributed(format!("hostfile {}: {message}", path.display()))
}

fn string_list(path: &Path, v: Option<&Value>, at: &str) -> Result<Vec<String>> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(j, x)| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(path, format!("{at}[{j}] must be a string, found {x}")))
            })
            .collect(),
        Some(other) => Err(bad(path, format!("{at} must be a list of strings, found {other}"))),
    }
}

impl LaunchHostfile {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| bad(path, format!("cannot read: {e}")))?;
        Self::parse(path, &text)
    }

    /// Parses launcher host-file text; `path` only names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let root: Value = serde_json::from_str(text).map_err(|e| bad(path, format!("not valid JSON: {e}")))?;
        let (hosts_value, backend, envs) = match &root {
            Value::Array(_) => (&root, String::new(), Vec::new()),
            Value::Object(map) => {
                let hosts = map.get("hosts").ok_or_else(|| bad(path, "missing field `hosts`".into()))?;
                let backend = match map.get("backend") {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => return Err(bad(path, format!("`backend` must be a string, found {other}"))),
                };
                let envs = string_list(path, map.get("envs"), "envs")?
                    .into_iter()
                    .enumerate()
                    .map(|(j, kv)| match kv.split_once('=') {
                        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
                        _ => Err(bad(path, format!("envs[{j}] must be KEY=VALUE, found {kv:?}"))),
                    })
                    .collect::<Result<Vec<_>>>()?;
                (hosts, backend, envs)
            }
            other => return Err(bad(path, format!("expected a list of hosts or an object with `hosts`, found {other}"))),
        };
        let Value::Array(items) = hosts_value else {
            return Err(bad(path, format!("`hosts` must be a list, found {hosts_value}")));
        };
        if items.is_empty() {
            return Err(bad(path, "no hosts listed".into()));
        }
        let mut hosts = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Value::Object(h) = item else {
                return Err(bad(path, format!("hosts[{i}] must be an object like {{\"ssh\": \"host\", \"ips\": [\"10.0.0.1\"]}}, found {item}")));
            };
            let ssh = match h.get("ssh") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(other) => return Err(bad(path, format!("hosts[{i}].ssh must be a non-empty string, found {other}"))),
                None => return Err(bad(path, format!("hosts[{i}] lacks field `ssh`"))),
            };
            let ips = string_list(path, h.get("ips"), &format!("hosts[{i}].ips"))?;
            for (j, ip) in ips.iter().enumerate() {
                if ip.parse::<std::net::IpAddr>().is_err() {
                    return Err(bad(path, format!("hosts[{i}].ips[{j}] = {ip:?} is not an IP address")));
                }
            }
            let host = Host { ssh, ips };
            if host.listen_ip().is_none() {
                return Err(bad(path, format!("hosts[{i}] (`{}`) is remote and lists no `ips`: the ring needs an address the other ranks can reach", host.ssh)));
            }
            hosts.push(host);
        }
        Ok(Self { path: path.to_path_buf(), hosts, backend, envs })
    }

    /// The ring host file for these hosts: rank `i` listens on its first ip at
    /// `base_port + i` (distinct ports, so several ranks may share a machine).
    pub fn ring_json(&self, base_port: u16) -> Result<String> {
        let mut ranks = Vec::with_capacity(self.hosts.len());
        for (i, h) in self.hosts.iter().enumerate() {
            let port = u16::try_from(i).ok().and_then(|i| base_port.checked_add(i)).ok_or_else(|| {
                bad(&self.path, format!("port {base_port} + rank {i} exceeds 65535; choose a lower --port"))
            })?;
            let ip = h.listen_ip().unwrap_or("127.0.0.1");
            let addr = if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") };
            ranks.push(vec![addr]);
        }
        serde_json::to_string_pretty(&ranks).map_err(|e| bad(&self.path, e.to_string()))
    }
}

/// Checks the ring backend's environment before MLX reads it, so a mistake is
/// reported with the variable and file at fault: `MLX_RANK` an integer below
/// the number of entries of the `MLX_HOSTFILE` ring file. Returns (rank, world).
pub fn check_ring_env() -> Result<(usize, usize)> {
    let rank_text = std::env::var("MLX_RANK")
        .map_err(|_| Error::Distributed("MLX_RANK is not set: each rank needs its 0-based rank in MLX_RANK".into()))?;
    let rank: usize = rank_text
        .trim()
        .parse()
        .map_err(|_| Error::Distributed(format!("MLX_RANK = {rank_text:?} is not a non-negative integer")))?;
    let file = std::env::var_os("MLX_HOSTFILE").map(PathBuf::from).ok_or_else(|| {
        Error::Distributed("MLX_HOSTFILE is not set: it must name the ring host file (a JSON list of [\"ip:port\"] per rank)".into())
    })?;
    let text = std::fs::read_to_string(&file).map_err(|e| bad(&file, format!("cannot read (MLX_HOSTFILE): {e}")))?;
    let ranks: Vec<Vec<String>> = serde_json::from_str(&text)
        .map_err(|e| bad(&file, format!("MLX_HOSTFILE must be a JSON list of lists of \"ip:port\" strings: {e}")))?;
    for (i, addrs) in ranks.iter().enumerate() {
        if addrs.is_empty() {
            return Err(bad(&file, format!("rank {i} lists no address")));
        }
        for a in addrs {
            if a.parse::<std::net::SocketAddr>().is_err() {
                return Err(bad(&file, format!("rank {i}: {a:?} is not an ip:port address")));
            }
        }
    }
    if rank >= ranks.len() {
        return Err(bad(&file, format!("MLX_RANK = {rank} but the file lists only {} rank(s)", ranks.len())));
    }
    Ok((rank, ranks.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_launcher_layouts_parse_and_give_distinct_ports() -> Result<()> {
        let p = Path::new("h.json");
        let list = LaunchHostfile::parse(p, r#"[{"ssh":"localhost"},{"ssh":"box2","ips":["10.0.0.2"],"rdma":[null]}]"#)?;
        assert_eq!(list.hosts.len(), 2);
        let obj = LaunchHostfile::parse(p, r#"{"backend":"ring","envs":["A=1"],"hosts":[{"ssh":"localhost"},{"ssh":"127.0.0.1"}]}"#)?;
        assert_eq!(obj.backend, "ring");
        assert_eq!(obj.envs, vec![("A".to_string(), "1".to_string())]);
        let ring: Vec<Vec<String>> = serde_json::from_str(&obj.ring_json(5000)?).map_err(|e| Error::Distributed(e.to_string()))?;
        assert_eq!(ring, vec![vec!["127.0.0.1:5000".to_string()], vec!["127.0.0.1:5001".to_string()]]);
        Ok(())
    }

    #[test]
    fn bad_fields_are_named() {
        let p = Path::new("h.json");
        let msg = |t: &str| LaunchHostfile::parse(p, t).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg(r#"[{"ips":["1.2.3.4"]}]"#).contains("hosts[0] lacks field `ssh`"));
        assert!(msg(r#"[{"ssh":"a","ips":["nope"]}]"#).contains("hosts[0].ips[0]"));
        assert!(msg(r#"[{"ssh":"remote"}]"#).contains("lists no `ips`"));
        assert!(msg("[]").contains("no hosts"));
        assert!(msg(r#"{"hosts":[{"ssh":"localhost"}],"envs":["X"]}"#).contains("envs[0]"));
    }
}
