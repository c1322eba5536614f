"""The ACD bench's ratio with the machine's speed taken out (each run's CPU divided by its
lab Asterisk's, which carries the same traffic in both runs)."""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import acd_vs_app_queue  # noqa: E402


def run(ast: float, cp: float, lab: float, answered: int) -> dict[str, float | int]:
    return {"asterisk_cpu_s": ast, "controlplane_cpu_s": cp, "lab_cpu_s": lab,
            "answered": answered}


def test_a_machine_a_tenth_slower_in_one_run_does_not_move_the_ratio() -> None:
    # the same work: app_queue's run went 10 % slower (its lab and platform both cost more)
    got = acd_vs_app_queue.by_the_lab(run(8.0, 2.0, 10.0, 50), run(8.8, 0.0, 11.0, 50))
    assert got == {"ratio_by_lab": 1.25, "asterisk_alone_by_lab": 1.0}


def test_answers_count_and_a_run_without_answers_has_no_ratio() -> None:
    got = acd_vs_app_queue.by_the_lab(run(8.0, 0.0, 10.0, 40), run(8.0, 0.0, 10.0, 50))
    assert got["asterisk_alone_by_lab"] == 1.25  # the same CPU for fewer answered calls
    assert acd_vs_app_queue.by_the_lab(run(8.0, 0.0, 10.0, 0), run(8.0, 0.0, 10.0, 50)) == {
        "ratio_by_lab": None, "asterisk_alone_by_lab": None}
