//! Strict loading of the reference's tiny generator state dict
//! (`tests/golden/sovits_v2/tiny_G.safetensors`): the full file loads; with one
//! tensor removed and one of the wrong shape, the error names both keys with
//! expected and found shapes, and nothing is assigned.

use std::path::Path;

use sovits_core::nn::torch_layout::{flatten_params, load_strict, read_safetensors};
use sovits_core::{Spec, registry};

#[test]
fn tiny_g_loads_and_bad_keys_are_named() {
    sovits_plugins::link_all();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = Spec::load(&root.join("../configs/tiny.json"), &[]).expect("tiny spec");
    let mut g = registry::build_generator(&spec.generator, "generator", &spec.build_context()).expect("tiny G");
    let mut tensors = read_safetensors(&root.join("golden/sovits_v2/tiny_G.safetensors")).expect("tiny_G");
    load_strict(&mut *g, &tensors).expect("the reference state dict loads strictly");

    let before = flatten_params(&*g)["dec.conv_pre.weight"].clone();
    tensors.remove("enc_p.proj.bias").expect("key present");
    let wrong = mlx_rs::Array::zeros::<f32>(&[3, 3]).expect("zeros");
    tensors.insert("dec.ups.0.weight_v".into(), wrong);
    let err = load_strict(&mut *g, &tensors).err().expect("must fail").to_string();
    assert!(err.contains("missing `enc_p.proj.bias`"), "{err}");
    assert!(err.contains("mis-shaped `dec.ups.0.weight_v`: expected [32, 16, 16], found [3, 3]"), "{err}");
    let after = flatten_params(&*g)["dec.conv_pre.weight"].clone();
    assert_eq!(sovits_test_support::values(&before), sovits_test_support::values(&after), "a failed load assigned tensors");
}
