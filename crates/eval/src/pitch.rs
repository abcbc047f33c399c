//! Pitch agreement between two f0 tracks: RMSE in cents over the frames voiced
//! in both, and the voicing-decision error rate over all frames.

/// Pitch agreement of a generated track with a reference track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PitchScores {
    /// `sqrt(mean((1200 log2(f_gen / f_ref))^2))` over frames voiced in both;
    /// `None` when no frame is voiced in both.
    pub f0_rmse_cents: Option<f64>,
    /// Fraction of frames whose voiced/unvoiced decision differs (0 when there are no frames).
    pub voicing_error: f64,
    /// Frames voiced in both tracks.
    pub both_voiced: usize,
    /// Frames compared (the shorter track's length).
    pub frames: usize,
}

/// Compares frame `i` of `generated` with frame `i` of `reference` (no time warping).
pub fn compare(reference: &[Option<f32>], generated: &[Option<f32>]) -> PitchScores {
    let frames = reference.len().min(generated.len());
    let mut sq = 0.0;
    let mut both = 0;
    let mut disagree = 0;
    for (r, g) in reference.iter().zip(generated).take(frames) {
        match (r, g) {
            (Some(r), Some(g)) => {
                let cents = 1200.0 * (*g as f64 / *r as f64).log2();
                sq += cents * cents;
                both += 1;
            }
            (None, None) => {}
            _ => disagree += 1,
        }
    }
    PitchScores {
        f0_rmse_cents: (both > 0).then(|| (sq / both as f64).sqrt()),
        voicing_error: if frames == 0 { 0.0 } else { disagree as f64 / frames as f64 },
        both_voiced: both,
        frames,
    }
}
