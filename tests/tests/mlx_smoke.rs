//! mlx-rs on `Device::cpu()` against values computed independently here with
//! plain loops: matmul, conv1d, conv2d, conv_transpose1d, rfft/irfft.
//! Tolerance: 1e-4 absolute + 1e-4 relative, f32 accumulation of <= 64 terms
//! of magnitude <= 1 in different orders (expected error ~1e-6).

use mlx_rs::{Array, ops};
use sovits_test_support::{assert_close, values, pseudo_random};

const ATOL: f32 = 1e-4;
const RTOL: f32 = 1e-4;

#[test]
fn matmul_matches_loops() {
    let (m, k, n) = (5, 7, 3);
    let a = pseudo_random(m * k, 1);
    let b = pseudo_random(k * n, 2);
    let mut want = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            want[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        }
    }
    let got = Array::from_slice(&a, &[m as i32, k as i32])
        .matmul(&Array::from_slice(&b, &[k as i32, n as i32]))
        .unwrap();
    assert_close("matmul", &values(&got), &want, ATOL, RTOL);
}

/// conv1d, channels-last: x [B, T, Ci], w [Co, K, Ci].
fn conv1d_reference(x: &[f32], w: &[f32], b: usize, t: usize, ci: usize, co: usize, k: usize,
                    stride: usize, pad: usize, dil: usize) -> (Vec<f32>, usize) {
    let tout = (t + 2 * pad - dil * (k - 1) - 1) / stride + 1;
    let mut y = vec![0f32; b * tout * co];
    for bi in 0..b {
        for to in 0..tout {
            for o in 0..co {
                let mut acc = 0f32;
                for kk in 0..k {
                    let ti = (to * stride + kk * dil) as isize - pad as isize;
                    if ti < 0 || ti >= t as isize {
                        continue;
                    }
                    for c in 0..ci {
                        acc += x[(bi * t + ti as usize) * ci + c] * w[(o * k + kk) * ci + c];
                    }
                }
                y[(bi * tout + to) * co + o] = acc;
            }
        }
    }
    (y, tout)
}

#[test]
fn conv1d_matches_loops() {
    let (b, t, ci, co, k) = (2, 11, 3, 4, 3);
    let x = pseudo_random(b * t * ci, 3);
    let w = pseudo_random(co * k * ci, 4);
    for (stride, pad, dil) in [(1, 1, 1), (2, 0, 1), (1, 2, 2)] {
        let (want, tout) = conv1d_reference(&x, &w, b, t, ci, co, k, stride, pad, dil);
        let got = ops::conv1d(
            Array::from_slice(&x, &[b as i32, t as i32, ci as i32]),
            Array::from_slice(&w, &[co as i32, k as i32, ci as i32]),
            stride as i32, pad as i32, dil as i32, 1,
        )
        .unwrap();
        assert_eq!(got.shape(), &[b as i32, tout as i32, co as i32]);
        assert_close(&format!("conv1d s{stride} p{pad} d{dil}"), &values(&got), &want, ATOL, RTOL);
    }
}

#[test]
fn conv2d_matches_loops() {
    // x [B, H, W, Ci], w [Co, KH, KW, Ci], stride (2, 1), padding (1, 0)
    let (b, h, wd, ci, co, kh, kw) = (1, 6, 5, 2, 3, 3, 2);
    let (sh, sw, ph, pw) = (2, 1, 1, 0);
    let x = pseudo_random(b * h * wd * ci, 5);
    let w = pseudo_random(co * kh * kw * ci, 6);
    let ho = (h + 2 * ph - kh) / sh + 1;
    let wo = (wd + 2 * pw - kw) / sw + 1;
    let mut want = vec![0f32; b * ho * wo * co];
    for i in 0..ho {
        for j in 0..wo {
            for o in 0..co {
                let mut acc = 0f32;
                for u in 0..kh {
                    for v in 0..kw {
                        let (yi, xi) = ((i * sh + u) as isize - ph as isize, (j * sw + v) as isize - pw as isize);
                        if yi < 0 || yi >= h as isize || xi < 0 || xi >= wd as isize {
                            continue;
                        }
                        for c in 0..ci {
                            acc += x[((yi as usize) * wd + xi as usize) * ci + c]
                                * w[((o * kh + u) * kw + v) * ci + c];
                        }
                    }
                }
                want[(i * wo + j) * co + o] = acc;
            }
        }
    }
    let got = ops::conv2d(
        Array::from_slice(&x, &[b as i32, h as i32, wd as i32, ci as i32]),
        Array::from_slice(&w, &[co as i32, kh as i32, kw as i32, ci as i32]),
        (sh as i32, sw as i32), (ph as i32, pw as i32), None, None,
    )
    .unwrap();
    assert_eq!(got.shape(), &[b as i32, ho as i32, wo as i32, co as i32]);
    assert_close("conv2d", &values(&got), &want, ATOL, RTOL);
}

#[test]
fn conv_transpose1d_matches_scatter_loops() {
    // Transposed conv as the scatter it is: every input frame t adds w[:, k, :]
    // into output frame t*stride + k - pad. MLX weight layout [Co, K, Ci].
    let (t, ci, co, k, stride, pad) = (6, 3, 2, 4, 2, 1);
    let x = pseudo_random(t * ci, 7);
    let w = pseudo_random(co * k * ci, 8);
    let tout = (t - 1) * stride - 2 * pad + k;
    let mut want = vec![0f32; tout * co];
    for ti in 0..t {
        for kk in 0..k {
            let to = (ti * stride + kk) as isize - pad as isize;
            if to < 0 || to >= tout as isize {
                continue;
            }
            for o in 0..co {
                for c in 0..ci {
                    want[to as usize * co + o] += x[ti * ci + c] * w[(o * k + kk) * ci + c];
                }
            }
        }
    }
    let got = ops::conv_transpose1d(
        Array::from_slice(&x, &[1, t as i32, ci as i32]),
        Array::from_slice(&w, &[co as i32, k as i32, ci as i32]),
        stride as i32, pad as i32, None, None, None,
    )
    .unwrap();
    assert_eq!(got.shape(), &[1, tout as i32, co as i32]);
    assert_close("conv_transpose1d", &values(&got), &want, ATOL, RTOL);
}

#[test]
fn rfft_and_irfft_match_dft_loops() {
    let n = 16;
    let x = pseudo_random(n, 9);
    let spec = mlx_rs::fft::rfft(Array::from_slice(&x, &[n as i32]), None, None).unwrap();
    assert_eq!(spec.shape(), &[(n / 2 + 1) as i32]);
    let re = values(&spec.real().unwrap());
    let im = values(&spec.imag().unwrap());
    let (mut want_re, mut want_im) = (vec![0f32; n / 2 + 1], vec![0f32; n / 2 + 1]);
    for f in 0..=n / 2 {
        for (t, v) in x.iter().enumerate() {
            let ang = -2.0 * std::f64::consts::PI * (f * t) as f64 / n as f64;
            want_re[f] += (*v as f64 * ang.cos()) as f32;
            want_im[f] += (*v as f64 * ang.sin()) as f32;
        }
    }
    assert_close("rfft re", &re, &want_re, ATOL, RTOL);
    assert_close("rfft im", &im, &want_im, ATOL, RTOL);
    let back = mlx_rs::fft::irfft(&spec, n as i32, None).unwrap();
    assert_close("irfft(rfft(x))", &values(&back), &x, ATOL, RTOL);
}

/// A test binary that uses MLX must itself load OpenBLAS first (DT_NEEDED),
/// or matmuls silently fall back to the wheel's reference BLAS.
#[test]
fn this_test_binary_links_openblas_directly() {
    let me = std::env::current_exe().expect("current_exe");
    let out = std::process::Command::new("readelf").arg("-d").arg(&me).output().expect("run readelf");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[libopenblas.so.0]"), "{} lacks libopenblas.so.0:\n{text}", me.display());
    assert!(sovits_core::backend::blas_description().starts_with("OpenBLAS"));
}
