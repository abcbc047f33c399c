//! The name-keyed plugin registry. Plugin crates submit a [`Registration`]
//! with [`register!`](crate::register); the trainer looks components up by the names in
//! the spec. Unknown names list the known ones and the closest match.

use serde_json::Value;

use crate::components::{
    BuildContext, Discriminator, Generator, Loss, Optimizer, OptimizerContext, SpectralFrontend,
};
use crate::error::{Error, Result};
use crate::spec::ComponentSpec;

pub use crate::kind::Kind;

/// Builds a generator from its spec entry.
pub type GeneratorBuild = fn(&ComponentSpec, &BuildContext) -> Result<Box<dyn Generator>>;
/// Builds a discriminator from its spec entry.
pub type DiscriminatorBuild = fn(&ComponentSpec, &BuildContext) -> Result<Box<dyn Discriminator>>;
/// Builds a loss term from its spec entry.
pub type LossBuild = fn(&ComponentSpec, &BuildContext) -> Result<Box<dyn Loss>>;
/// Builds a spectral frontend from its spec entry.
pub type FrontendBuild = fn(&ComponentSpec, &BuildContext) -> Result<Box<dyn SpectralFrontend>>;
/// Builds an optimizer for the parameter groups it is given.
pub type OptimizerBuild = fn(&ComponentSpec, &OptimizerContext) -> Result<Box<dyn Optimizer>>;

/// The constructor of one registered component, typed by kind.
#[derive(Clone, Copy)]
pub enum Factory {
    /// Generator constructor.
    Generator(GeneratorBuild),
    /// Discriminator constructor.
    Discriminator(DiscriminatorBuild),
    /// Loss constructor.
    Loss(LossBuild),
    /// Frontend constructor.
    Frontend(FrontendBuild),
    /// Optimizer constructor.
    Optimizer(OptimizerBuild),
}

impl Factory {
    /// The kind this constructor builds.
    pub const fn kind(&self) -> Kind {
        match self {
            Factory::Generator(_) => Kind::Generator,
            Factory::Discriminator(_) => Kind::Discriminator,
            Factory::Loss(_) => Kind::Loss,
            Factory::Frontend(_) => Kind::Frontend,
            Factory::Optimizer(_) => Kind::Optimizer,
        }
    }
}

/// One plugin's entry in the registry: its name, a one-line description, its
/// default `Config` as JSON (for `sovits plugins`) and its constructor.
pub struct Registration {
    /// Name used in specs (kebab-case).
    pub name: &'static str,
    /// One-line description.
    pub doc: &'static str,
    /// The plugin's default config, serialised.
    pub default_config: fn() -> Value,
    /// The constructor.
    pub factory: Factory,
}

impl Registration {
    /// A registration; `const` so it can be used in `inventory::submit!`.
    pub const fn new(name: &'static str, doc: &'static str, default_config: fn() -> Value, factory: Factory) -> Self {
        Self { name, doc, default_config, factory }
    }

    /// The kind of component registered.
    pub const fn kind(&self) -> Kind {
        self.factory.kind()
    }
}

inventory::collect!(Registration);

/// All registrations of `kind`, sorted by name.
pub fn registered(kind: Kind) -> Vec<&'static Registration> {
    let mut regs: Vec<_> = inventory::iter::<Registration>.into_iter().filter(|r| r.kind() == kind).collect();
    regs.sort_by_key(|r| r.name);
    regs
}

/// Appended to the known names of an unknown-name error: the usual cause of a
/// missing plugin that exists is a crate not linked into the binary.
const UNLINKED_HINT: &str =
    " (a plugin crate is only registered when plugins/all depends on it and calls its link())";

/// The registration of `kind` named `name`; `at` is the spec path used in errors.
pub fn find(kind: Kind, name: &str, at: &str) -> Result<&'static Registration> {
    let regs = registered(kind);
    let mut hits = regs.iter().filter(|r| r.name == name);
    match (hits.next(), hits.next()) {
        (Some(r), None) => Ok(r),
        (Some(_), Some(_)) => Err(Error::DuplicateComponent { kind, name: name.to_string() }),
        (None, _) => {
            let names: Vec<&str> = regs.iter().map(|r| r.name).collect();
            let closest = names
                .iter()
                .map(|n| (strsim::damerau_levenshtein(n, name), *n))
                .filter(|(d, n)| *d <= 2.max(n.len() / 3))
                .min()
                .map(|(_, n)| n.to_string());
            Err(Error::UnknownComponent {
                kind,
                name: name.to_string(),
                at: at.to_string(),
                closest,
                known: format!(
                    "{}{UNLINKED_HINT}",
                    if names.is_empty() { "(none registered)".to_string() } else { names.join(", ") }
                ),
            })
        }
    }
}

/// Checks that no name is registered twice for one kind.
pub fn check_unique() -> Result<()> {
    for kind in Kind::ALL {
        let regs = registered(kind);
        if let Some(w) = regs.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(Error::DuplicateComponent { kind, name: w[0].name.to_string() });
        }
    }
    Ok(())
}

/// Defines `build_<kind>(spec, at, ctx)`: look the name up, call its constructor.
macro_rules! builder {
    ($(#[$doc:meta])* $fn_name:ident, $variant:ident, $ctx:ty, $out:ty) => {
        $(#[$doc])*
        pub fn $fn_name(spec: &ComponentSpec, at: &str, ctx: &$ctx) -> Result<$out> {
            match find(Kind::$variant, &spec.name, at)?.factory {
                Factory::$variant(build) => build(spec, ctx),
                _ => unreachable!("find filters by kind"),
            }
        }
    };
}

builder!(
    /// Builds the generator named in `spec` (found at `at`).
    build_generator, Generator, BuildContext, Box<dyn Generator>
);
builder!(
    /// Builds the discriminator named in `spec` (found at `at`).
    build_discriminator, Discriminator, BuildContext, Box<dyn Discriminator>
);
builder!(
    /// Builds the loss named in `spec` (found at `at`).
    build_loss, Loss, BuildContext, Box<dyn Loss>
);
builder!(
    /// Builds the spectral frontend named in `spec` (found at `at`).
    build_frontend, Frontend, BuildContext, Box<dyn SpectralFrontend>
);
builder!(
    /// Builds the optimizer named in `spec` (found at `at`) for its groups.
    build_optimizer, Optimizer, OptimizerContext, Box<dyn Optimizer>
);
