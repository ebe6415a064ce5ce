"""The "Traffic models" and "Populations" parts of docs/profiles.md, with their figures and pictures.

Every figure is computed here from the library (the arrival schedule the open model uses, the
example locustfile's populations), so ``python docs/generate.py`` rewrites them and ``--check``
notices when they drift.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from locust_scenarios._cli.preview import plan_for
from locust_scenarios._users.pacing import _SlotSchedule, arrival_stream

REPO = Path(__file__).parent.parent
POPULATIONS_EXAMPLE = REPO / "examples" / "populations.py"


class _ConstantRate:
    """The open model's view of a plan at a constant rate (what the arrival schedule reads)."""

    open_model = True

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.settings = SimpleNamespace(users=10)

    def planned_level(self, _t: float) -> float:
        return self.rate


def arrivals_per_100ms(arrivals: str, rate: float = 50.0, seconds: float = 10.0, seed: int = 11) -> list[int]:
    """Iteration starts per 100 ms that the open model's schedule hands out at a constant rate."""
    schedule = _SlotSchedule(_ConstantRate(rate), 1e9, 1e9, arrival_stream(arrivals, seed))
    counts = [0] * round(seconds * 10)
    now = 0.0
    while True:
        slot = schedule.claim(now, 1.0)
        if slot is None or slot >= seconds:
            return counts
        counts[int(slot * 10)] += 1
        now = slot


def _ratio(counts: list[int]) -> float:
    return statistics.pvariance(counts) / statistics.mean(counts)


def traffic_models_part() -> str:
    """Closed and open model, uniform and Poisson arrivals (with figures), the growing pool, dwell."""
    uniform, poisson = arrivals_per_100ms("uniform"), arrivals_per_100ms("poisson")
    return f"""
## Traffic models

**Closed model** (the default): the plan's levels are users. Each user waits for its response,
then thinks (`LOCUST_SCENARIO_THINK_TIME`), so a slower target receives fewer requests: the load
adapts to the system, like people on a site.

**Open model** (`LOCUST_SCENARIO_RATE`): the plan's levels are iterations per second, started
whatever the response times, like orders arriving from many independent clients. A pool of
`LOCUST_SCENARIO_USERS` users runs them ([users.md](users.md) explains the pacing).

**Arrivals** (`LOCUST_SCENARIO_ARRIVALS`). `uniform` (the default) starts iterations on an even
grid. `poisson` starts them at random, as a Poisson process whose rate is the planned rate at every
moment (ramps included: the gaps are exponential in *planned iterations*, so the mean follows the
plan exactly). Random arrivals bunch up now and then, and queues (and p99) behave as in production.
`LOCUST_SCENARIO_SEED` makes the draws repeat; with workers each one draws its own stream from the
seed, and their shares add up to one Poisson process. At 50 iterations/s for 10 s (seed 11) the
schedule starts {sum(uniform)} (uniform) and {sum(poisson)} (Poisson) iterations; the count per
100 ms has a variance-to-mean ratio of {_ratio(uniform):.2f} on the grid and {_ratio(poisson):.2f} at
random (a Poisson process: 1). Real runs measure the same (`tests/test_traffic.py`,
`test_arrivals_per_100ms_vary_as_planned`).

![Iterations started per 100 ms at 50/s: uniform and Poisson](img/arrivals.png)

**A pool that grows** (`LOCUST_SCENARIO_MAX_USERS`, runs without workers). When the target slows
down, `USERS` users cannot start every planned iteration on time. With a cap, the pacing measures
how long iterations keep their users busy and asks for as many users as the planned rate needs
(Little's law, a quarter spare); the profile adds them, up to the cap, and retires them a few
seconds after they are no longer needed. Beyond the cap, iterations start late or are dropped,
and are counted and judged as before (`trust_late`). A distributed run sizes its pool with `USERS`
(the cap is refused there, as is a cap on a closed-model run).

**Dwell.** A stage written `+1m:500` (or `Stage(60, 500, dwell=True)`) holds for a minute *after*
500 users are actually running: when spawning is slower than the plan, the plan's clock waits, and
every later stage moves back with it. The preview marks the stage `(dwell)`; the planned level the
exporter and the trust checks compare with follows the waiting clock.

Daily curves and recorded ones are profiles of their own: [diurnal](#diurnal-diurnalprofile) and
[replay](#replay-replayprofile) below; every setting above works with them.
"""


def populations_part() -> str:
    """Several populations in one run: in code, as a file, and the example's preview."""
    shape, plan = _example()
    rows = "".join(
        f"| {p.name} | {', '.join(p.class_names())} | {p.profile.scenario_name} | {p.profile.plan.peak:g} "
        f"{p.profile.plan.unit} | {p.start:g} s |\n"
        for p in shape.population_plans
    )
    return f"""
## Populations

One run can drive several populations, each with its user classes, its own profile (any
registered one, closed or open model) and parameters, a start time and a name:

```python
from locust_scenarios import Population, ScenarioShape


class Shape(ScenarioShape):
    populations = (
        Population(Browser, profile="load", users=20, duration="10m"),
        Population(Buyer, profile="stages", stages="30s:5,8m:5,30s:0", rate=5, users=5, start="10s", name="checkout"),
    )
```

The same without code, for the chart and helmfile: `LOCUST_SCENARIO_POPULATIONS=mix.toml`, one
`[[population]]` table each, user classes by name (`examples/traffic/mix.toml`). Each population
follows its own plan on the run's clock; the shape asks Locust for every class's own count (a
dispatcher of the library's replaces Locust's static weights for the run), so a population that
starts later gets its users at its start, whatever the others do. An open-model population paces
its users on its own planned rate. A population naming a class the locustfile lacks, or with a
parameter its profile refuses, stops the run before any load, naming the population.

`locust-scenarios preview -f examples/populations.py` shows each population and their sum (open-model
populations count their pool of users); `--format json` adds a `populations` list with each one's
curve. The example, cut at 5 minutes:

| population | classes | profile | peak | start |
|---|---|---|---|---|
{rows}
At most {plan.peak:g} users run at once.

![The populations example: the users of both populations added up](img/populations.png)

### Each population's own figures

Locust's statistics do not split by user class, so the library counts each population's requests
itself: a request made by a user of a population's class counts for that population (requests a
user makes from greenlets of its own are not attributed). Workers send these tallies with their
reports and the master adds them up exactly, as it does for custom metrics. The run's own figures
(Locust's tables, the request series, thresholds without a population) stay the run as a whole.

- **Thresholds**: `[population=checkout]p95<800ms` judges one population's requests, by any
  request aggregate (`pNN`, `avg`, `min`, `max`, `fail_ratio`, `rps`, `requests`, `failures`),
  over the run or a stage (`[stage=steady][population=checkout]...`); see
  [Thresholds](thresholds.md#per-population). A name the shape does not have is refused before load
  (exit 2, with the closest name).
- **Verdict**: a populations table under the thresholds gives each one's requests, failures, rate
  and latencies; the summary line and the run record (`populations`) carry the same figures, the
  HTML report a "Populations" table.
- **Exporter**: three small families labelled by `population` only, never added to the request
  series (that would multiply them): `locust_population_requests_total`,
  `locust_population_failures_total` and the summary `locust_population_response_time_seconds`
  (quantiles 0.5, 0.9, 0.95, 0.99, with `_sum` and `_count`).
- **Trust**: each population's running users are compared with its own plan, as the run's are
  (`LOCUST_SCENARIO_TRUST_TRACKING`): a population short of its plan makes the run inconclusive
  (exit 5) even when the others make up the total. The generator's table shows each one's share of
  planned user-seconds missing.
"""


def _example() -> tuple[Any, Any]:
    """The populations example's shape and plan, cut at 5 minutes."""
    return plan_for(None, ["-t", "5m"], locustfile=str(POPULATIONS_EXAMPLE))


def save_pictures(img: Path) -> None:
    """The arrivals picture and the populations example's picture."""
    import matplotlib  # noqa: PLC0415  (the docs extra)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    from locust_scenarios._cli.preview import save_png  # noqa: PLC0415

    figure, axes = plt.subplots(figsize=(7, 2.6), dpi=110)
    times = [i / 10 for i in range(100)]
    axes.step(times, arrivals_per_100ms("uniform"), where="post", color="#999", label="uniform")
    axes.step(times, arrivals_per_100ms("poisson"), where="post", color="#1f6feb", label="poisson")
    axes.set_xlabel("seconds")
    axes.set_ylabel("starts per 100 ms")
    axes.set_title("50 iterations/s: uniform grid and Poisson arrivals (seed 11)")
    axes.legend(loc="upper right")
    figure.tight_layout()
    figure.savefig(img / "arrivals.png")
    plt.close(figure)
    shape, plan = _example()
    save_png(shape, plan, str(img / "populations.png"))
