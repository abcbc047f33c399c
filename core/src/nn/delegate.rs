//! `ModuleParameters` for two-variant enums by delegation, so an enum of
//! layers has exactly the keys of the variant it holds (e.g. a conv under
//! weight norm or spectral norm, a scale or a period sub-discriminator).

/// Implements `ModuleParameters` for the enum `$ty` (optionally generic over
/// one bounded parameter) whose two variants `$a(..)` and `$b(..)` each hold
/// a module: `delegate_module_parameters!(SubDiscriminator: Scale, Period);`,
/// `delegate_module_parameters!(NormConv<R: ConvRank>: Weight, Spectral);`.
#[macro_export]
macro_rules! delegate_module_parameters {
    ($ty:ident $(<$g:ident: $bound:path>)?: $a:ident, $b:ident) => {
        impl $(<$g: $bound>)? ::mlx_rs::module::ModuleParameters for $ty $(<$g>)? {
            fn num_parameters(&self) -> usize {
                match self {
                    $ty::$a(c) => c.num_parameters(),
                    $ty::$b(c) => c.num_parameters(),
                }
            }
            fn parameters(&self) -> ::mlx_rs::module::ModuleParamRef<'_> {
                match self {
                    $ty::$a(c) => c.parameters(),
                    $ty::$b(c) => c.parameters(),
                }
            }
            fn parameters_mut(&mut self) -> ::mlx_rs::module::ModuleParamMut<'_> {
                match self {
                    $ty::$a(c) => c.parameters_mut(),
                    $ty::$b(c) => c.parameters_mut(),
                }
            }
            fn trainable_parameters(&self) -> ::mlx_rs::module::ModuleParamRef<'_> {
                match self {
                    $ty::$a(c) => c.trainable_parameters(),
                    $ty::$b(c) => c.trainable_parameters(),
                }
            }
            fn freeze_parameters(&mut self, recursive: bool) {
                match self {
                    $ty::$a(c) => c.freeze_parameters(recursive),
                    $ty::$b(c) => c.freeze_parameters(recursive),
                }
            }
            fn unfreeze_parameters(&mut self, recursive: bool) {
                match self {
                    $ty::$a(c) => c.unfreeze_parameters(recursive),
                    $ty::$b(c) => c.unfreeze_parameters(recursive),
                }
            }
            fn all_frozen(&self) -> Option<bool> {
                match self {
                    $ty::$a(c) => c.all_frozen(),
                    $ty::$b(c) => c.all_frozen(),
                }
            }
            fn any_frozen(&self) -> Option<bool> {
                match self {
                    $ty::$a(c) => c.any_frozen(),
                    $ty::$b(c) => c.any_frozen(),
                }
            }
        }
    };
}
