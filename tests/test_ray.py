"""`glyphfix eval --engine ray`: refusals in one line (fast), and on a local Ray (`ray.init(num_cpus=2)`)
the same rows as the local process pool, resuming, and a worker killed mid-run (slow)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from agent.evals import ray_engine
from agent.evals.runner import load_rows, run_cases
from agent.frontends.cli import app

JUDGED = ("status", "exact", "false_verified")  # what must agree between the engines, per case


@pytest.mark.parametrize("address, says", [
    ("127.0.0.1:1", "cannot reach the Ray cluster at 127.0.0.1:1: Connection refused"),
    ("nohost", "--address nohost: give HOST:PORT"),
    ("ray://127.0.0.1:1", "cannot reach the Ray cluster at ray://127.0.0.1:1: Connection refused"),
])
def test_an_unreachable_cluster_is_one_line_and_exit_2(tmp_path, address, says):
    r = CliRunner().invoke(app, ["eval", "--suite", "real", "--out", str(tmp_path / "e"), "--engine", "ray", "--address", address])
    assert r.exit_code == 2
    line = r.output.strip()
    assert line.startswith(f"glyphfix: {says}") and "\n" not in line and "Traceback" not in r.output


def test_address_without_ray_and_no_workers_are_refused(tmp_path):
    r = CliRunner().invoke(app, ["eval", "--suite", "real", "--out", str(tmp_path / "e"), "--address", "h:1"])
    assert r.exit_code == 2 and "--address is for --engine ray" in r.output
    r = CliRunner().invoke(app, ["eval", "--suite", "real", "--out", str(tmp_path / "e"), "--workers", "0"])
    assert r.exit_code == 2 and "--workers 0: at least 1" in r.output


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from agent.evals.judge import Judge
    from agent.evals.suites import synthetic_suite

    out = tmp_path_factory.mktemp("cases")
    cases, _ = synthetic_suite(out, 4, 0, Judge())
    return cases


def pixels(path: str) -> np.ndarray:
    return np.asarray(Image.open(path))


@pytest.mark.slow
def test_ray_gives_the_local_pools_rows_and_resumes(tmp_path, synthetic):
    local, ray_dir = tmp_path / "local", tmp_path / "ray"
    run_cases(synthetic, "agent", local, judge=True, workers=2)
    by_id = {r["id"]: r for r in load_rows(local / "results.jsonl")}
    # One case already done: the Ray run must skip it (resume), and run the rest once each.
    ray_dir.mkdir()
    done = synthetic[0].id
    (ray_dir / "results.jsonl").write_text(json.dumps(by_id[done]) + "\n")
    rows = run_cases(synthetic, "agent", ray_dir, judge=True, workers=2, engine="ray")
    assert [r["id"] for r in rows] == [c.id for c in synthetic[1:]]
    lines = (ray_dir / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["id"] for x in lines) == sorted(c.id for c in synthetic)
    for r in rows:
        expected = by_id[r["id"]]
        assert {k: r.get(k) for k in JUDGED} == {k: expected.get(k) for k in JUDGED}, r["id"]
        assert [a["ocr_text"] for a in r["attempts"]] == [a["ocr_text"] for a in expected["attempts"]]
        assert (pixels(r["output"]) == pixels(expected["output"])).all(), r["id"]


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing_and_repeats_nothing(tmp_path, synthetic):
    pids: list[int] = []

    def remember(actors):
        import ray

        pids.extend(ray.get([a.pid.remote() for a in actors]))

    rows = []
    for row in ray_engine.ray_rows(synthetic, "agent", tmp_path, judge=True, seed=0, workers=2, on_actors=remember):
        if not rows:  # the first case is back: the other actor is mid-case, this one takes the next
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
        rows.append(row)
    assert [r["id"] for r in rows] == [c.id for c in synthetic]  # each case once, in order
    assert all(r["status"] != "error" for r in rows), [r.get("message") for r in rows]
    assert all(Path(r["output"]).exists() for r in rows)
