//! Per-submodule parity with the reference on the tiny model (fixtures of
//! `shared/fixtures/gpt-sovits-v2/README.md` section 3, run in PyTorch f32 eval
//! mode). Tolerances are the README's suggestions, about 10-100x the measured
//! torch f32-vs-f64 error, leaving room for MLX's accumulation order:
//! codes/masks exact; ssl_proj, ref_enc, enc_p atol 1e-4 + rtol 1e-4;
//! enc_q and flow (values up to ~13) atol 2e-4 + rtol 1e-4; dec atol 1e-4.

mod common;

use common::{assert_close, assert_exact, cl, f32_npy, i32_npy};
use mlx_rs::Array;
use sovits_core::nn::noise::RecordedNoise;
use sovits_plugin_sovits_v2::forward_ctx::Ctx;
use sovits_plugin_sovits_v2::masking::sequence_mask;

#[test]
fn quantizer_decode_matches() {
    let m = common::tiny_model();
    let q = m.quantizer.decode(&i32_npy("quantizer_decode.in.codes")).unwrap();
    assert_exact("quantizer_decode.quantized", &q, &cl("quantizer_decode.out.quantized"));
}

#[test]
fn ssl_proj_and_quantizer_match() {
    let m = common::tiny_model();
    let ssl = cl("ssl_quant.in.ssl");
    let p = m.ssl_proj.forward(&ssl).unwrap();
    assert_close("ssl_quant.ssl_proj", &p, &cl("ssl_quant.out.ssl_proj"), 1e-4, 1e-4);
    let (q, codes) = m.quantizer.forward(&p).unwrap();
    assert_exact("ssl_quant.codes", &codes, &i32_npy("ssl_quant.out.codes"));
    assert_exact("ssl_quant.quantized", &q, &cl("ssl_quant.out.quantized"));
    let (q2, _) = m.quantize_ssl(&ssl).unwrap();
    assert_exact("ssl_quant.quantized_x2", &q2, &cl("ssl_quant.out.quantized_x2"));
}

/// `Generator::semantic_ids` (what `prepare` uses to turn provided SSL
/// features into codes) gives the reference's codes exactly.
#[test]
fn semantic_ids_of_ssl_match_reference_codes() {
    use sovits_core::Generator;
    let mut m = common::tiny_model();
    let ids = m.semantic_ids(&cl("ssl_quant.in.ssl")).unwrap();
    let want = common::squeeze_first(i32_npy("ssl_quant.out.codes")); // [1, B, T] -> [B, T]
    assert_eq!(ids.shape(), want.shape());
    assert_exact("semantic_ids", &ids, &want);
}

#[test]
fn ref_enc_matches() {
    let m = common::tiny_model();
    let spec = cl("ref_enc.in.spec");
    let mask = sequence_mask(&i32_npy("ref_enc.in.y_lengths"), spec.shape()[1]).unwrap();
    let mut noise = RecordedNoise::new();
    let ge = m.style(&spec, &mask, &mut Ctx::new(&mut noise, false)).unwrap();
    assert_close("ref_enc.ge", &ge, &cl("ref_enc.out.ge"), 1e-4, 1e-4);
}

#[test]
fn enc_p_matches() {
    let m = common::tiny_model();
    let mut noise = RecordedNoise::new();
    let out = m
        .enc_p
        .forward(
            &cl("ssl_quant.out.quantized_x2"),
            &i32_npy("enc_p.in.y_lengths"),
            &i32_npy("enc_p.in.text"),
            &i32_npy("enc_p.in.text_lengths"),
            &cl("enc_p.in.ge"),
            1.0,
            &mut Ctx::new(&mut noise, false),
        )
        .unwrap();
    assert_close("enc_p.x", &out.x, &cl("enc_p.out.x"), 1e-4, 1e-4);
    assert_close("enc_p.m_p", &out.m_p, &cl("enc_p.out.m_p"), 1e-4, 1e-4);
    assert_close("enc_p.logs_p", &out.logs_p, &cl("enc_p.out.logs_p"), 1e-4, 1e-4);
    assert_exact("enc_p.y_mask", &out.y_mask, &cl("enc_p.out.y_mask"));
}

#[test]
fn enc_q_matches() {
    let m = common::tiny_model();
    let mut noise = RecordedNoise::new();
    noise.push("enc_q.noise", cl("enc_q.in.noise"));
    let ge = cl("enc_q.in.g");
    let out = m.enc_q.forward(&cl("ref_enc.in.spec"), &i32_npy("enc_q.in.y_lengths"), Some(&ge), &mut noise).unwrap();
    assert!(noise.remaining().is_empty());
    assert_close("enc_q.z", &out.z, &cl("enc_q.out.z"), 2e-4, 1e-4);
    assert_close("enc_q.m_q", &out.m, &cl("enc_q.out.m_q"), 2e-4, 1e-4);
    assert_close("enc_q.logs_q", &out.logs, &cl("enc_q.out.logs_q"), 2e-4, 1e-4);
    assert_exact("enc_q.y_mask", &out.mask, &cl("enc_q.out.y_mask"));
}

#[test]
fn flow_forward_and_reverse_match() {
    let m = common::tiny_model();
    let g = cl("flow_fwd.in.g");
    let mask = cl("flow_fwd.in.y_mask");
    let z = cl("enc_q.out.z");
    let z_p = m.flow.forward(&z, &mask, Some(&g), false).unwrap();
    assert_close("flow_fwd.z_p", &z_p, &cl("flow_fwd.out.z_p"), 2e-4, 1e-4);
    let rmask = cl("flow_rev.in.y_mask");
    let zr = m.flow.forward(&cl("flow_rev.in.z_p"), &rmask, Some(&g), true).unwrap();
    assert_close("flow_rev.z", &zr, &cl("flow_rev.out.z"), 2e-4, 1e-4);
    let rt = m.flow.forward(&cl("flow_fwd.out.z_p"), &mask, Some(&g), true).unwrap();
    assert_close("flow_rev.roundtrip_z", &rt, &cl("flow_rev.out.roundtrip_z"), 2e-4, 1e-4);
    assert_close("flow roundtrip vs enc_q.z", &rt, &z, 2e-4, 1e-4);
}

#[test]
fn dec_matches() {
    let m = common::tiny_model();
    let o = m.dec.forward(&cl("dec.in.z_slice"), Some(&cl("dec.in.g"))).unwrap();
    let want: Array = f32_npy("dec.out.o").reshape(&[2, 20480, 1]).unwrap();
    let d = assert_close("dec.o", &o, &want, 1e-4, 0.0);
    assert!(d.is_finite());
}
