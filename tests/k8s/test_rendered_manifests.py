"""Every manifest the chart and the helmfile render, on both engines, is what the recorded digests say.

tests/k8s/render_manifests.py renders each ``ci/*-values.yaml`` (helm 4 and 3) and each helmfile
environment (default engine and deliveryhero) into normalised files; ``rendered-manifests.sha256``
records them. A change of the templates that changes no manifest passes unchanged; one that does fails
here, naming the files, until the digests are rewritten (``python -m tests.k8s.render_manifests
--write-digests``) and the difference is explained with the change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import REPO, ci_values
from .render_manifests import DIGESTS, HELMFILE_VARIANTS, digests, normalised, recorded_digests, render

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, deliveryhero_chart: Path) -> tuple[Path, list[str]]:
    """This checkout's manifests, rendered once for the module."""
    out = tmp_path_factory.mktemp("rendered") / "out"
    return out, render(out, deliveryhero_chart=deliveryhero_chart)


def test_normalised_sorts_objects_and_keys_and_drops_comments() -> None:
    """Two renders that differ only in object order, key order and helm's `# Source` comments
    normalise to the same text, and the objects come out sorted by kind and name."""
    first = "# Source: a.yaml\nkind: Service\nmetadata: {name: b}\n---\nmetadata: {name: a}\nkind: ConfigMap\n"
    second = "---\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: b.yaml\nkind: Service\nmetadata:\n  name: b\n"
    assert normalised(first) == normalised(second)
    assert normalised(first).index("ConfigMap") < normalised(first).index("Service")
    assert "Source" not in normalised(first)


def test_every_case_renders(rendered: tuple[Path, list[str]]) -> None:
    """Every ci values file renders with helm 4 and helm 3, and every helmfile environment with both
    engines (the deliveryhero one as its config release, its values and deliveryhero's manifests),
    each into a file with objects in it."""
    out, written = rendered
    environments = [p.stem for p in (REPO / "helmfile" / "environments").glob("*.yaml")]
    expected = {f"chart/{major}/{p.stem}.yaml" for major in ("helm4", "helm3") for p in ci_values(REPO / "chart")}
    expected |= {f"helmfile/{engine}/{name}.yaml" for engine in HELMFILE_VARIANTS for name in environments}
    expected |= {f"helmfile/deliveryhero/{name}.values.yaml" for name in environments}
    assert len(environments) == 7
    assert expected <= set(written), sorted(expected - set(written))
    for case in written:
        assert (out / case).read_text().startswith("---\n"), f"{case} is empty"


def test_manifests_match_the_recorded_digests(rendered: tuple[Path, list[str]]) -> None:
    """The rendered files are exactly those rendered-manifests.sha256 records, byte for byte."""
    out, _ = rendered
    actual, recorded = digests(out), recorded_digests()
    changed = sorted(path for path in actual.keys() | recorded.keys() if actual.get(path) != recorded.get(path))
    assert not changed, (
        f"{len(changed)} rendered files differ from {DIGESTS.name}: {changed[:10]}; when the change is meant, "
        "see it with `python -m tests.k8s.render_manifests OUTDIR` before and after (diff -r), then rewrite "
        "the digests with `python -m tests.k8s.render_manifests --write-digests`"
    )
