#!/bin/sh
# The README's entry point on a machine that may lack make itself:
# `./make run`, `./make test` (any Makefile target). It installs what is
# missing (scripts/deps.sh: make, gcc, pkg-config, the -dev packages, and
# for tests python3, python3-venv and openssl), then hands over to `make
# TARGET`.
set -eu
cd "$(dirname "$0")"
case " $* " in
  *" test "*|*" python-test "*|*" bench "*|*" conformance "*) sh scripts/deps.sh test ;;
  *) sh scripts/deps.sh build ;;
esac
exec make "$@"
