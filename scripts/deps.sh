#!/bin/sh
# Installs, through apt-get, the system packages Quiver needs that this
# machine lacks; each is checked by the feature it provides, and nothing
# is installed when everything is present.
#
#   scripts/deps.sh build   make, a C compiler, pkg-config, hwloc and libudev
#                           development files (hwloc's static link needs udev),
#                           hwloc's plugins (its XML reader)
#   scripts/deps.sh test    the above, plus python3 (conformance runner,
#                           benchmark recipes, the Python client's tests),
#                           python3-venv (their virtual environment: Debian's
#                           Python has no ensurepip without it) and openssl
#                           (TLS test certificates)
#
# Runs as root, or through sudo when not root. Exits non-zero, saying why,
# when something is missing and cannot be installed.
set -eu

want=${1:-build}
case "$want" in
  build|test) ;;
  *) echo "usage: scripts/deps.sh build|test" >&2; exit 2 ;;
esac

missing=""
need() { # need PACKAGE WHY: queue PACKAGE, saying what it is for
  missing="$missing $1"
  echo "deps: $1 missing ($2)"
}
has_pc() { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$1" 2>/dev/null; }

command -v make >/dev/null 2>&1 || need make "runs the Makefile"
command -v cc >/dev/null 2>&1 || need gcc "the linker cargo calls"
command -v pkg-config >/dev/null 2>&1 || need pkg-config "finds hwloc for the build"
has_pc hwloc || need libhwloc-dev "hwloc 2: discovers this machine's resources"
has_pc libudev || need libudev-dev "hwloc's static link flags name -ludev"
# hwloc reads XML exports (-f hwloc) through its libxml2 plugin.
if has_pc hwloc; then
  [ -e "$(pkg-config --variable=libdir hwloc)/hwloc/hwloc_xml_libxml.so" ] ||
    need libhwloc-plugins "hwloc's XML reader"
else
  need libhwloc-plugins "hwloc's XML reader"
fi
if [ "$want" = test ]; then
  command -v python3 >/dev/null 2>&1 || need python3 "the conformance runner and benchmark recipes"
  python3 -c 'import ensurepip, venv' >/dev/null 2>&1 ||
    need python3-venv "the Python client's tests run in a virtual environment"
  command -v openssl >/dev/null 2>&1 || need openssl "the TLS tests make their certificates"
fi

if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "deps: need root or sudo to apt-get install:$missing" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: no apt-get here; install these yourself:$missing" >&2
    exit 1
  fi
  echo "deps: installing:$missing"
  $sudo apt-get update -q
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "deps: cargo not found: install Rust from https://rustup.rs" >&2
  exit 1
fi
