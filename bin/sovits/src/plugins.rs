//! `sovits plugins`: every registered component per kind, with its default config.

use anyhow::Result;
use sovits_core::registry::{self, Kind};

/// Prints the registry.
pub fn run() -> Result<()> {
    registry::check_unique()?;
    for kind in Kind::ALL {
        println!("{kind}s:");
        let regs = registry::registered(kind);
        if regs.is_empty() {
            println!("  (none registered)");
        }
        for r in regs {
            println!("  {:<18} {}", r.name, r.doc);
            println!("  {:<18} defaults: {}", "", (r.default_config)());
        }
    }
    Ok(())
}
