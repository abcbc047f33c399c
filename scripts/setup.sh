#!/usr/bin/env bash
# Installs every native dependency sovits needs and points cargo at it.
#
#   scripts/setup.sh            # CPU build of MLX (the default)
#   SOVITS_MLX_BACKEND=cuda scripts/setup.sh   # CUDA 13 build of MLX
#
# What it does, each step skipped when already done (a re-run takes seconds):
#   1. apt: libclang (bindgen), Debian's OpenBLAS, g++, python venv support,
#      espeak-ng (speaks the demo corpus, phonemes for `sovits prepare`),
#      fontconfig/freetype and the DejaVu fonts (text in the PNG figures;
#      pkg-config finds fontconfig when the plotting crate builds).
#   2. Rust toolchain via rustup when cargo is missing.
#   3. A project-owned Python venv holding the pinned MLX wheel
#      (mlx-cpu==0.32.2, or mlx-cuda-13==0.32.2), which ships libmlx.so.
#   4. The mlx-c sources of the crates.io package mlx-sys-0.7.0 (never
#      committed), compiled once into a static libmlxc.a.
#   5. .cargo/config.toml (git-ignored): where the build finds the prefix and
#      an rpath so binaries, tests, benches and doctests find libmlx.so.
#
# Everything heavy lives in a versioned prefix under ${SOVITS_CACHE:-~/.cache/sovits}.
set -euo pipefail

MLX_VERSION=0.32.2
MLX_SYS_VERSION=0.7.0
BACKEND=${SOVITS_MLX_BACKEND:-cpu}
CACHE=${SOVITS_CACHE:-$HOME/.cache/sovits}
PREFIX="$CACHE/mlx-$MLX_VERSION-$BACKEND-c$MLX_SYS_VERSION"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

case "$BACKEND" in
  cpu) WHEEL="mlx-cpu==$MLX_VERSION" ;;
  cuda) WHEEL="mlx-cuda-13==$MLX_VERSION" ;;
  *) die "SOVITS_MLX_BACKEND must be cpu or cuda, found '$BACKEND'" ;;
esac

# --- 1. system packages -------------------------------------------------------
APT_PACKAGES=(libclang-dev libopenblas0-pthread g++ python3 python3-venv ca-certificates curl espeak-ng binutils
  pkg-config libfontconfig1-dev libfreetype-dev fonts-dejavu-core)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} by other means"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -e /usr/lib/x86_64-linux-gnu/libopenblas.so.0 ] || [ -e /usr/lib/aarch64-linux-gnu/libopenblas.so.0 ] \
  || die "libopenblas.so.0 not found after installing libopenblas0-pthread"

# --- 2. Rust ------------------------------------------------------------------
if ! command -v cargo >/dev/null; then
  [ -x "$HOME/.cargo/bin/cargo" ] || {
    log "installing Rust with rustup"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal >/dev/null
  }
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# --- 3. MLX wheel in a project-owned venv -------------------------------------
VENV="$PREFIX/venv"
mkdir -p "$PREFIX"
if [ ! -f "$VENV/.sovits-wheel-$BACKEND" ]; then
  log "creating venv $VENV with $WHEEL"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$WHEEL"
  touch "$VENV/.sovits-wheel-$BACKEND"
fi
MLX_PKG=$("$VENV/bin/python" - <<'PY'
import importlib.util, os
spec = importlib.util.find_spec("mlx")
print(os.path.dirname(spec.origin) if spec.origin else list(spec.submodule_search_locations)[0])
PY
)
MLX_LIB_DIR="$MLX_PKG/lib"
MLX_INCLUDE_DIR="$MLX_PKG/include"
[ -f "$MLX_LIB_DIR/libmlx.so" ] || die "libmlx.so missing in $MLX_LIB_DIR (wheel $WHEEL)"

# --- 4. mlx-c, compiled once ----------------------------------------------------
LIBMLXC="$PREFIX/lib/libmlxc.a"
if [ ! -f "$PREFIX/.mlxc-complete" ]; then
  FETCH="$CACHE/fetch-mlx-sys-$MLX_SYS_VERSION"
  mkdir -p "$FETCH/src"
  cat > "$FETCH/Cargo.toml" <<EOF
[package]
name = "sovits-fetch-mlx-c"
version = "0.0.0"
edition = "2021"
publish = false
[workspace]
[dependencies]
mlx-sys = "=$MLX_SYS_VERSION"
EOF
  : > "$FETCH/src/lib.rs"
  log "fetching mlx-sys-$MLX_SYS_VERSION sources from crates.io"
  (cd "$FETCH" && cargo fetch -q)
  SRC=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/mlx-sys-$MLX_SYS_VERSION/src/mlx-c 2>/dev/null | head -n1)
  [ -n "$SRC" ] && [ -d "$SRC/mlx/c" ] || die "mlx-c sources not found after cargo fetch"

  OBJ="$PREFIX/obj"
  rm -rf "$OBJ" "$PREFIX/include" "$PREFIX/lib"
  mkdir -p "$OBJ" "$PREFIX/include/mlx/c" "$PREFIX/lib"
  cp "$SRC"/mlx/c/*.h "$PREFIX/include/mlx/c/"
  cp -r "$SRC/mlx/c/private" "$PREFIX/include/mlx/c/"
  COMPAT="$ROOT/sys/mlx-sys/native/mlxc_compat.h"
  log "compiling mlx-c ($(ls "$SRC"/mlx/c/*.cpp | wc -l) files, $(nproc) jobs)"
  export SRC OBJ COMPAT MLX_INCLUDE_DIR
  ls "$SRC"/mlx/c/*.cpp | xargs -P "$(nproc)" -I{} sh -c '
    f="{}"; o="$OBJ/$(basename "$f" .cpp).o"
    g++ -std=c++20 -O2 -fPIC -w -include "$COMPAT" -I"$SRC" -I"$MLX_INCLUDE_DIR" -c "$f" -o "$o" \
      || { echo "failed: $f" >&2; exit 255; }'
  ar rcs "$LIBMLXC" "$OBJ"/*.o
  halves=$(nm -g --defined-only "$LIBMLXC" | grep -cE 'mlx_array_(item|data)_b?float16$' || true)
  [ "$halves" -eq 4 ] || die "libmlxc.a defines $halves of the 4 float16/bfloat16 accessors (compat header not applied?)"
  rm -rf "$OBJ"
  touch "$PREFIX/.mlxc-complete"
fi

# --- 5. cargo configuration -----------------------------------------------------
mkdir -p "$ROOT/.cargo"
cat > "$ROOT/.cargo/config.toml.new" <<EOF
# Written by scripts/setup.sh for this machine; do not commit.
[env]
SOVITS_MLX_PREFIX = "$PREFIX"
SOVITS_MLX_LIB_DIR = "$MLX_LIB_DIR"
SOVITS_MLX_BACKEND = "$BACKEND"

[build]
rustflags = ["-C", "link-arg=-Wl,-rpath,$MLX_LIB_DIR"]
rustdocflags = ["-C", "link-arg=-Wl,-rpath,$MLX_LIB_DIR"]
EOF
if ! cmp -s "$ROOT/.cargo/config.toml.new" "$ROOT/.cargo/config.toml" 2>/dev/null; then
  mv "$ROOT/.cargo/config.toml.new" "$ROOT/.cargo/config.toml"
  log "wrote .cargo/config.toml"
else
  rm "$ROOT/.cargo/config.toml.new"
fi
log "ready: MLX $MLX_VERSION ($BACKEND) in $PREFIX"
