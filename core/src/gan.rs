//! Builds the whole GAN from a resolved [`Spec`]: generator, discriminators,
//! weighted losses and the spectral frontend, plus the optimizers' parameter
//! groups. A variant is a spec edit; nothing here names a concrete plugin.

use mlx_rs::module::ModuleParameters;

use crate::components::{
    BuildContext, Discriminator, Generator, GroupAssignment, Loss, OptimizerContext, ParamGroup, SpectralFrontend,
};
use crate::error::{Error, Result};
use crate::registry;
use crate::spec::{OptimizerSpec, Spec};

/// A loss built from the spec with its weight and the label used in logs.
pub struct WeightedLoss {
    /// Registered name (log key suffix, e.g. `g/mel-l1`).
    pub name: String,
    /// Weight from the spec (default 1).
    pub weight: f32,
    /// The loss itself.
    pub loss: Box<dyn Loss>,
}

/// One discriminator of the GAN, with the name and the key prefix it trains under.
pub struct GanDiscriminator {
    /// Registered name (the spec entry's `name`).
    pub name: String,
    /// Prefix of its keys in the joint D state: none when the spec has one
    /// discriminator (keys then match GPT-SoVITS s2D files), otherwise
    /// `<name>.` (or `<name>#<index>.` when a name repeats).
    pub prefix: String,
    /// The discriminator itself.
    pub model: Box<dyn Discriminator>,
}

/// Every model component of a spec, built and checked against each other.
pub struct Gan {
    /// The generator.
    pub generator: Box<dyn Generator>,
    /// Discriminators in spec order.
    pub discriminators: Vec<GanDiscriminator>,
    /// Loss terms in spec order.
    pub losses: Vec<WeightedLoss>,
    /// The spectral frontend.
    pub frontend: Box<dyn SpectralFrontend>,
}

impl Gan {
    /// Builds every component named in `spec`; errors name the spec entry.
    pub fn build(spec: &Spec) -> Result<Gan> {
        let ctx = spec.build_context();
        let frontend = registry::build_frontend(&spec.frontend, &spec.frontend.at, &ctx)?;
        check_frontend(&*frontend, &ctx)?;
        let generator = registry::build_generator(&spec.generator, &spec.generator.at, &ctx)?;
        let names: Vec<&str> = spec.discriminators.iter().map(|d| d.name.as_str()).collect();
        let discriminators = spec
            .discriminators
            .iter()
            .enumerate()
            .map(|(i, d)| {
                Ok(GanDiscriminator {
                    name: d.name.clone(),
                    prefix: discriminator_prefix(&names, i),
                    model: registry::build_discriminator(d, &d.at, &ctx)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let losses = spec
            .losses
            .iter()
            .map(|l| {
                Ok(WeightedLoss {
                    name: l.name.clone(),
                    weight: l.weight.unwrap_or(1.0),
                    loss: registry::build_loss(l, &l.at, &ctx)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Gan { generator, discriminators, losses, frontend })
    }

    /// Number of generator parameter elements, buffers (such as a VQ
    /// codebook) excluded, as PyTorch counts `parameters()`.
    pub fn generator_parameter_count(&self) -> usize {
        let buffers = self.generator.buffer_prefixes();
        crate::nn::torch_layout::flatten_params(&*self.generator)
            .iter()
            .filter(|(k, _)| !buffers.iter().any(|p| k.starts_with(p.as_str())))
            .map(|(_, a)| a.size())
            .sum()
    }

    /// Number of discriminator parameter elements, all discriminators together.
    pub fn discriminator_parameter_count(&self) -> usize {
        self.discriminators.iter().map(|d| count_elements(&*d.model)).sum()
    }

    /// Every discriminator parameter under its joint key (`prefix` + key).
    pub fn discriminator_params(&self) -> crate::components::ParamMap {
        self.discriminators.iter().flat_map(|d| crate::train::params::collect(&*d.model, &d.prefix)).collect()
    }
}

/// The prefix of discriminator `index` among the spec's discriminator
/// `names` (see [`GanDiscriminator::prefix`]).
fn discriminator_prefix(names: &[&str], index: usize) -> String {
    if names.len() == 1 {
        return String::new();
    }
    let name = names[index];
    if names.iter().filter(|n| **n == name).count() > 1 { format!("{name}#{index}.") } else { format!("{name}.") }
}

/// Total number of elements over a module's parameters.
pub fn count_elements<M: ModuleParameters + ?Sized>(module: &M) -> usize {
    module.parameters().flatten().values().map(|a| a.size()).sum()
}

fn check_frontend(frontend: &dyn SpectralFrontend, ctx: &BuildContext) -> Result<()> {
    if frontend.hop_length() != ctx.hop_length {
        return Err(Error::SpecValue {
            field: "frontend.params.hop_length".into(),
            message: format!("{} differs from data.hop_length {}", frontend.hop_length(), ctx.hop_length),
        });
    }
    if frontend.sampling_rate() != ctx.sampling_rate {
        return Err(Error::SpecValue {
            field: "frontend.params.sampling_rate".into(),
            message: format!("{} differs from data.sampling_rate {}", frontend.sampling_rate(), ctx.sampling_rate),
        });
    }
    Ok(())
}

/// Splits `keys` into the optimizer's groups: spec groups must name groups the
/// component declares; frozen groups and `frozen_prefixes` are left out
/// entirely (no update, no state); everything else goes to `default`.
pub fn assign_groups<'a>(
    keys: impl IntoIterator<Item = &'a String>,
    declared: &[ParamGroup],
    frozen_prefixes: &[String],
    opt: &OptimizerSpec,
    at: &str,
) -> Result<OptimizerContext> {
    for (i, g) in opt.groups.iter().enumerate() {
        if !declared.iter().any(|d| d.name == g.name) {
            let known: Vec<&str> = declared.iter().map(|d| d.name.as_str()).collect();
            return Err(Error::SpecValue {
                field: format!("{at}.groups[{i}].name"),
                message: format!(
                    "unknown parameter group `{}`; known: {}",
                    g.name,
                    if known.is_empty() { "(none)".to_string() } else { known.join(", ") }
                ),
            });
        }
    }
    let mut groups: Vec<GroupAssignment> = opt
        .groups
        .iter()
        .filter(|g| !g.frozen)
        .map(|g| GroupAssignment { name: g.name.clone(), lr_scale: g.lr_scale, params: Vec::new() })
        .collect();
    let mut default = GroupAssignment { name: "default".into(), lr_scale: 1.0, params: Vec::new() };
    'keys: for key in keys {
        if frozen_prefixes.iter().any(|p| key.starts_with(p.as_str())) {
            continue;
        }
        for g in &opt.groups {
            let Some(decl) = declared.iter().find(|d| d.name == g.name) else { continue };
            if decl.prefixes.iter().any(|p| key.starts_with(p.as_str())) {
                if let Some(slot) = groups.iter_mut().find(|a| a.name == g.name) {
                    slot.params.push(key.clone());
                }
                continue 'keys; // frozen groups match here and are dropped
            }
        }
        default.params.push(key.clone());
    }
    groups.insert(0, default);
    Ok(OptimizerContext { learning_rate: opt.learning_rate, groups })
}
