"""The chaos benchmark (bench/chaos.py) in CI: its judge proves it can fail, and a few real
schedules (sim and workers in their own processes, faults, a SIGKILL) come out clean."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from canary import CANARY_KEY, CANARY_SECRET

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import chaos  # noqa: E402 (bench/ is not a package: its scripts import each other by name)
import chaos_check  # noqa: E402
from chaos_schedule import Schedule, make_schedule  # noqa: E402

ISSUE_KINDS = {  # the invariants the benchmark promises, by kind
    "fill_missing", "fill_duplicated", "fill_phantom", "fill_differs", "order_missing",
    "order_duplicated", "order_status", "order_filled_qty", "order_avg_price", "fills_sum",
    "position", "two_live", "cancelled_but_live", "not_quiescent"}


def test_the_self_check_plants_every_violation_kind_and_finds_each() -> None:
    result = chaos_check.self_check()
    assert set(chaos_check.KINDS) == ISSUE_KINDS
    assert result["baseline_clean"], result["baseline_violations"]
    assert set(result["kinds_planted"]) == ISSUE_KINDS and not result["kinds_not_planted"]
    missed = {name: p["reported"] for name, p in result["planted"].items() if not p["detected"]}
    assert not missed
    assert result["passed"]


@pytest.mark.parametrize("kind", sorted(ISSUE_KINDS))
def test_each_planted_kind_is_reported_as_that_kind(kind: str) -> None:
    venue, ledger = chaos_check.baseline()
    assert chaos_check.check(venue, ledger) == []
    plants = chaos_check._plants()
    planted = [name for name in plants if name.split("/", 1)[0] == kind]
    assert planted
    for name in planted:
        found = chaos_check.check(*plants[name](venue, ledger))
        assert kind in {v.kind for v in found}, (name, found)
        assert all(v.ref and v.detail for v in found)


def test_a_fill_recorded_twice_under_one_exec_id_is_not_exactly_once() -> None:
    venue, ledger = chaos_check.baseline()
    twice = chaos_check.LedgerView(ledger.orders, (*ledger.fills, ledger.fills[-1]),
                                   ledger.positions)
    kinds = [v.kind for v in chaos_check.check(venue, twice)]
    assert kinds.count("fill_duplicated") == 1


def test_schedules_are_reproducible_from_their_seed_and_survive_json() -> None:
    first, again = make_schedule(17, grace_ms=1500), make_schedule(17, grace_ms=1500)
    assert first == again and Schedule.from_json(first.to_json()) == first
    assert make_schedule(18, grace_ms=1500) != first
    assert 20 <= len(first.steps) <= 32


def test_self_check_mode_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert chaos.main(["--self-check"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    report = json.loads(out[0])
    assert report["passed"] and report["target_met"] == {"selfcheck": True}


def pick_seeds(count: int = 3) -> list[int]:
    """`count` seeds whose schedules, together, kill the worker once, create late and cut
    a create after placement, on more than one lane (none holds an answer 10 s: CI time)."""
    wanted = {"killed", "late_create", "timeout_after_place"}
    seeds: list[int] = []
    for seed in range(1, 1000):
        schedule = make_schedule(seed, grace_ms=chaos.DEFAULT_GRACE_MS, hang_share=0)
        traits = set(schedule.fault_kinds) | ({"killed"} if schedule.kill_after_step else set())
        if schedule.lanes > 1 and (traits & wanted or not wanted):
            seeds.append(seed)
            wanted -= traits
        if not wanted and len(seeds) >= count:
            return seeds
    raise AssertionError("no seeds cover the wanted traits")


def test_real_schedules_come_out_clean(tmp_path: Path) -> None:
    seeds = pick_seeds()
    opts = chaos.Options(workdir=tmp_path, api_key=CANARY_KEY, api_secret=CANARY_SECRET,
                         hang_share=0)
    started = time.monotonic()
    report = chaos.run(seeds, len(seeds), opts)
    elapsed = time.monotonic() - started
    assert report["schedules"] == len(seeds)
    assert report["failing_seeds"] == [], report["failures"]
    assert report["clean"] == len(seeds)
    assert all(report["target_met"].values()), report["target_met"]
    assert report["killed"] >= 1
    assert report["venue_totals"]["fills"] > 0
    assert report["judge_on_real_data"]["plants"] > 0
    assert report["judge_on_real_data"]["missed"] == []
    assert {"late_create", "timeout_after_place"} <= set(report["faults_injected"])
    assert elapsed < 90
