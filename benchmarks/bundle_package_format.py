"""How the installed package should ride in a ConfigMap: files projected with items[].path, or one zip.

Both work (zipimport imports pure-Python packages from a zip on PYTHONPATH). This measures, for the
package installed here:

- the package ConfigMap: bytes against Kubernetes' 1 MiB (a zip rides as base64 ``binaryData``);
- the Helm release Helm would store (chart files + manifest, JSON, gzip, base64) against its 1 MiB;
- the import of ``locust_scenarios`` from each layout (a fresh interpreter, median of runs), with a
  check that the zip run really imported from the zip.

Usage: ``python benchmarks/bundle_package_format.py [--runs 7]`` (uses helm from .tools/bin or PATH to
render the real manifest when it finds one, else the bundle's own estimate).
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from locust_scenarios._cli.bundle.build import build_bundle
from locust_scenarios._cli.bundle.payload import MAX_CONFIGMAP_BYTES, MAX_RELEASE_BYTES, release_size

REPO = Path(__file__).resolve().parent.parent
LOCUSTFILE = """from locust import HttpUser, task


class Visitor(HttpUser):
    @task
    def home(self):
        self.client.get("/")
"""


def _helm() -> str | None:
    local = REPO / ".tools" / "bin" / "helm"
    return str(local) if local.is_file() else shutil.which("helm")


def _manifest(chart: Path) -> str | None:
    helm = _helm()
    if helm is None:
        return None
    out = subprocess.run(
        [helm, "template", "perf", str(chart), "--set", "host=http://127.0.0.1:8080"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return out.stdout


def _zip_package(package: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(package.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(package).as_posix())
    return buffer.getvalue()


def _zip_manifest(manifest: str, encoded: str) -> str:
    """The rendered manifest with the package ConfigMap as one binaryData key and no items[] lists."""
    docs = manifest.split("\n---\n")
    kept = [d for d in docs if "-package\n" not in d.split("data:")[0]]
    kept = ["\n".join(line for line in d.splitlines() if "locust_scenarios" not in line) for d in kept]
    kept.append(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: perf-locust-scenarios-package\n"
        f"binaryData:\n  locust_scenarios.zip: {encoded}\n"
    )
    return "\n---\n".join(kept)


def _import_seconds(pythonpath: Path, runs: int) -> tuple[float, str]:
    code = (
        "import time; t = time.perf_counter(); import locust_scenarios; "
        "print(time.perf_counter() - t, locust_scenarios.__file__)"
    )
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "PYTHONDONTWRITEBYTECODE": "1"}
    seconds, origin = [], ""
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        value, origin = out.stdout.split(maxsplit=1)
        seconds.append(float(value))
    return statistics.median(seconds), origin.strip()


def main() -> None:
    """Print the comparison as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="imports timed per layout (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "locustfile.py").write_text(LOCUSTFILE)
        report = build_bundle(root / "deploy", [root / "locustfile.py"])
        chart = root / "deploy" / "chart"
        package = chart / "files" / "package"
        manifest = _manifest(chart)
        source = "helm template" if manifest is not None else "estimate"

        zipped = _zip_package(package)
        encoded = base64.b64encode(zipped).decode()
        zip_chart = root / "zip-chart"
        shutil.copytree(chart, zip_chart)
        shutil.rmtree(zip_chart / "files" / "package")
        (zip_chart / "files" / "locust_scenarios.zip").write_bytes(zipped)

        if manifest is not None:
            items_release = release_size(chart, manifest)
            zip_release = release_size(zip_chart, _zip_manifest(manifest, encoded))
        else:
            items_release = report.release_bytes
            zip_release = 0

        extracted = root / "site"
        shutil.copytree(package, extracted)
        zip_path = root / "locust_scenarios.zip"
        zip_path.write_bytes(zipped)
        items_import, items_origin = _import_seconds(extracted, args.runs)
        zip_import, zip_origin = _import_seconds(zip_path, args.runs)
        assert ".zip" in zip_origin, f"the zip run imported from {zip_origin}"
        assert str(extracted) in items_origin, f"the files run imported from {items_origin}"

        cm_items = report.package_bytes
        cm_zip = len("locust_scenarios.zip") + len(encoded)
        print(f"package: {report.package_files} files; release from {source}; import median of {args.runs}")
        print()
        print("| layout | package ConfigMap | of 1 MiB | Helm release | of 1 MiB | import |")
        print("|---|---|---|---|---|---|")
        for name, cm, release, seconds in (
            ("files + items[].path", cm_items, items_release, items_import),
            ("zip on PYTHONPATH (binaryData)", cm_zip, zip_release, zip_import),
        ):
            print(
                f"| {name} | {cm} B | {cm / MAX_CONFIGMAP_BYTES:.1%} | {release} B | "
                f"{release / MAX_RELEASE_BYTES:.1%} | {seconds * 1000:.0f} ms |"
            )


if __name__ == "__main__":
    main()
