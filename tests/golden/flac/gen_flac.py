#!/usr/bin/env python3
"""Writes tone.flac (and tone.wav, the same samples) for the FLAC decoding test:
1.0 s of a 16-bit 22050 Hz 330 Hz sine at amplitude 0.25.
Run: python3 -m pip install numpy soundfile && python3 gen_flac.py"""
import os

import numpy as np
import soundfile as sf

here = os.path.dirname(os.path.abspath(__file__))
rate = 22050
t = np.arange(rate) / rate
x = (0.25 * np.sin(2 * np.pi * 330 * t) * 32767).astype(np.int16)
sf.write(os.path.join(here, "tone.flac"), x, rate, subtype="PCM_16")
sf.write(os.path.join(here, "tone.wav"), x, rate, subtype="PCM_16")
