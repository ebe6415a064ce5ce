"""The significance tests behind `compare` and baseline thresholds, on constructed distributions with
known answers: samples drawn from a log-normal latency distribution with fixed seeds, rounded as
Locust rounds them, resampled many times."""

from __future__ import annotations

import math
import random

from locust.stats import bucket_response_time, calculate_response_time_percentile

from locust_scenarios import _distributions as dist

SEEDS = 200
SAMPLES = 2000
ALPHA = 0.05


def latencies(seed: int, n: int = SAMPLES, *, scale: float = 1.0, median_ms: float = 40.0) -> dict[int, int]:
    """``n`` response times from a log-normal (median 40 ms, sigma 0.5) times ``scale``, as Locust's
    rounded distribution (milliseconds → count)."""
    rng = random.Random(seed)
    histogram: dict[int, int] = {}
    for _ in range(n):
        key = bucket_response_time(rng.lognormvariate(0, 0.5) * median_ms * scale)
        histogram[key] = histogram.get(key, 0) + 1
    return histogram


def flag_rate(scale: float, quantile: float, tolerance: float) -> float:
    """Share of seeds in which a current run ``scale`` times the baseline is flagged as regressed."""
    flagged = 0
    for seed in range(SEEDS):
        baseline, current = latencies(2 * seed), latencies(2 * seed + 1, scale=scale)
        flagged += dist.quantile_regressed(baseline, current, quantile, tolerance=tolerance, alpha=ALPHA)
    return flagged / SEEDS


def test_percentiles_equal_locusts_own() -> None:
    """A percentile read from a distribution is the very number Locust computes from it."""
    for seed in range(20):
        histogram = latencies(seed, 500 + seed * 37)
        total = sum(histogram.values())
        for quantile in (0.5, 0.9, 0.95, 0.99, 0.999, 1.0):
            assert dist.percentile(histogram, quantile) == calculate_response_time_percentile(
                histogram, total, quantile
            )


def test_resample_of_the_same_distribution_stays_within_the_false_positive_rate() -> None:
    """With no tolerance at all, a resample of the same distribution is flagged in at most alpha (5%) of
    200 seeds for p50, p95 and p99 (the bounds are conservative; ties make them more so)."""
    rates = {quantile: flag_rate(1.0, quantile, tolerance=0.0) for quantile in (0.5, 0.95, 0.99)}
    assert all(rate <= ALPHA for rate in rates.values()), rates


def test_resample_is_never_flagged_beyond_a_tolerance() -> None:
    """With the default 10% tolerance, a resample of the same distribution is never a regression."""
    assert flag_rate(1.0, 0.95, tolerance=0.10) == 0.0


def test_ten_percent_shift_is_found() -> None:
    """A 10% slower distribution (2000 samples a side) is found at p50 in at least 98% of 200 seeds and at
    p95 in at least 75% of them (no tolerance); a 30% slower one is found beyond a 10% tolerance in every
    seed at p50 and in at least 98% of them at p95."""
    assert flag_rate(1.10, 0.5, tolerance=0.0) >= 0.98
    assert flag_rate(1.10, 0.95, tolerance=0.0) >= 0.75
    assert flag_rate(1.30, 0.5, tolerance=0.10) == 1.0
    assert flag_rate(1.30, 0.95, tolerance=0.10) >= 0.98


def test_faster_is_an_improvement_not_a_regression() -> None:
    """A 30% faster run is never flagged as regressed and is found improved at p50."""
    baseline, current = latencies(1), latencies(2, scale=0.7)
    assert not dist.quantile_regressed(baseline, current, 0.5)
    assert dist.quantile_improved(baseline, current, 0.5)


def test_too_few_samples_are_never_significant() -> None:
    """Below 20 observations on either side nothing is called significant, however large the gap."""
    assert not dist.quantile_regressed({10: 19}, {1000: 19}, 0.5)


def test_fail_ratio_test_known_answers() -> None:
    """Same failure probability (2%, 2000 requests a side): the exact false-positive rate, summed over
    both binomial distributions, is at most alpha (5%); 2% → 6% is found; a rise within the tolerance in
    points is not flagged."""
    n, p = SAMPLES, 0.02
    pmf = [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(150)]
    rate = sum(
        pmf[before] * pmf[after]
        for before in range(150)
        for after in range(150)
        if dist.proportion_regressed((before, n), (after, n))
    )
    assert rate <= ALPHA, rate
    assert dist.proportion_regressed((40, 2000), (120, 2000))
    assert not dist.proportion_regressed((40, 2000), (120, 2000), tolerance=0.05)
