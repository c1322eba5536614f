"""``amd eval --json`` and ``amd corpus`` on a tiny generated corpus."""

from __future__ import annotations

import argparse
import json
import shutil

import pytest

from amd import cli
from amd.__main__ import main
from amd.corpus import build_split
from amd.evaluate import KEYS

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def test_eval_json_has_exact_keys(tmp_path, capsys):
    assert build_split(tmp_path, "dev", seed=7, per_class=3) == 6
    assert main(["eval", str(tmp_path / "dev"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"centrala", "app_amd"}
    for det in out.values():
        assert tuple(det) == KEYS
        assert det["files"] == 6
        assert 0.0 <= det["accuracy"] <= 1.0 and det["rtf"] > 0


def test_eval_text_and_missing_dir(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nope")]) == 2
    (tmp_path / "human").mkdir()
    assert main(["eval", str(tmp_path)]) == 2
    assert "machine" in capsys.readouterr().err


def test_register_adds_amd_subcommand():
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["amd", "corpus", "out", "--seed", "3"])
    assert (args.cmd, args.amd_command, args.seed) == ("amd", "corpus", 3)


def test_corpus_is_deterministic(tmp_path):
    build_split(tmp_path / "a", "train", seed=5, per_class=2)
    build_split(tmp_path / "b", "train", seed=5, per_class=2)
    meta_a = (tmp_path / "a" / "train" / "meta.jsonl").read_text()
    assert meta_a == (tmp_path / "b" / "train" / "meta.jsonl").read_text()
    wav = "human/train-h0000.wav"
    assert (tmp_path / "a" / "train" / wav).read_bytes() == (
        tmp_path / "b" / "train" / wav
    ).read_bytes()
