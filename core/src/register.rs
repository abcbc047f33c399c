//! The one-line plugin registration: [`register!`](crate::register) expands to
//! the `default_config` / `build` functions, the `inventory::submit!` of a
//! [`Registration`](crate::registry::Registration) and the `link()` function
//! that `plugins/all` references, so a plugin crate writes only its maths,
//! its `Config` and one line such as
//!
//! ```ignore
//! sovits_core::register!(loss, "lsgan", "least-squares GAN loss", Config, |_config, _ctx| Ok(Lsgan));
//! ```

use serde::Serialize;
use serde_json::Value;

/// The default `Config` of a plugin as JSON (for `sovits plugins` and the
/// resolved spec); `null` if it cannot be serialised.
pub fn default_config_json<C: Serialize + Default>() -> Value {
    serde_json::to_value(C::default()).unwrap_or(Value::Null)
}

/// Registers a plugin component under a spec name and links its crate.
///
/// `register!(KIND, NAME, DOC, Config, |config, ctx| Ok(component))` where
/// `KIND` is one of `generator`, `discriminator`, `loss`, `frontend`,
/// `optimizer`; `NAME` the spec's `"name"` (kebab-case); `DOC` a one-line
/// description; `Config` the plugin's serde options (`Default` = reference
/// values, shown by `sovits plugins`); the closure builds the component from
/// the parsed `Config` and the [`BuildContext`](crate::components::BuildContext)
/// (the [`OptimizerContext`](crate::components::OptimizerContext) for optimizers).
/// Parse errors name the spec entry and field.
///
/// `register!(KIND, NAME, DOC, Config, from_spec |spec, ctx| ..)` hands the
/// closure the raw [`ComponentSpec`](crate::spec::ComponentSpec) instead, for
/// a plugin that checks its config against the spec entry's path itself.
///
/// It also defines `pub fn link()`, which `plugins/all` calls so the crate is
/// linked (an unreferenced crate's registration vanishes at link time).
#[macro_export]
macro_rules! register {
    (generator, $($rest:tt)*) => {
        $crate::register!(@kind Generator, $crate::components::BuildContext, $crate::components::Generator, $($rest)*);
    };
    (discriminator, $($rest:tt)*) => {
        $crate::register!(@kind Discriminator, $crate::components::BuildContext, $crate::components::Discriminator, $($rest)*);
    };
    (loss, $($rest:tt)*) => {
        $crate::register!(@kind Loss, $crate::components::BuildContext, $crate::components::Loss, $($rest)*);
    };
    (frontend, $($rest:tt)*) => {
        $crate::register!(@kind Frontend, $crate::components::BuildContext, $crate::components::SpectralFrontend, $($rest)*);
    };
    (optimizer, $($rest:tt)*) => {
        $crate::register!(@kind Optimizer, $crate::components::OptimizerContext, $crate::components::Optimizer, $($rest)*);
    };
    (@kind $variant:ident, $ctx:ty, $component:path, $name:expr, $doc:expr, $config:ty, from_spec $build:expr $(,)?) => {
        const _: () = {
            fn build(spec: &$crate::spec::ComponentSpec, ctx: &$ctx) -> $crate::Result<::std::boxed::Box<dyn $component>> {
                let build: fn(&$crate::spec::ComponentSpec, &$ctx) -> $crate::Result<_> = $build;
                ::core::result::Result::Ok(::std::boxed::Box::new(build(spec, ctx)?))
            }
            $crate::register!(@submit $variant, $name, $doc, $config);
        };
        $crate::register!(@link);
    };
    (@kind $variant:ident, $ctx:ty, $component:path, $name:expr, $doc:expr, $config:ty, $build:expr $(,)?) => {
        const _: () = {
            fn build(spec: &$crate::spec::ComponentSpec, ctx: &$ctx) -> $crate::Result<::std::boxed::Box<dyn $component>> {
                let config: $config = spec.parse_params($crate::registry::Kind::$variant)?;
                let build: fn($config, &$ctx) -> $crate::Result<_> = $build;
                ::core::result::Result::Ok(::std::boxed::Box::new(build(config, ctx)?))
            }
            $crate::register!(@submit $variant, $name, $doc, $config);
        };
        $crate::register!(@link);
    };
    (@submit $variant:ident, $name:expr, $doc:expr, $config:ty) => {
        $crate::inventory::submit! {
            $crate::registry::Registration::new(
                $name,
                $doc,
                $crate::register::default_config_json::<$config>,
                $crate::registry::Factory::$variant(build),
            )
        }
    };
    (@link) => {
        /// Referenced by `sovits_plugins::link_all` so this crate and its registration are linked.
        pub fn link() {}
    };
}
