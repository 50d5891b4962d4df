"""LlamaSettings and the llama.cpp flag parsing shared by fit, chat and bench."""

from __future__ import annotations

import argparse
import re

import pytest

from tui.commands.fit_flags import add_fit_flags, settings_from_args, wants_auto_layers
from tui.core.fit.settings import FFN_EXPS_REGEX, LlamaSettings, TensorOverride


def _parse(argv):
    parser = argparse.ArgumentParser()
    add_fit_flags(parser)
    return parser.parse_args(argv)


def test_defaults_match_the_engine_contract():
    s = LlamaSettings()
    assert (s.n_batch, s.n_ubatch, s.flash_attn, s.swa_full, s.n_gpu_layers) == (2048, 512, "auto", False, None)


def test_llama_cpp_flags_parse():
    args = _parse(["-c", "8192", "-ngl", "20", "-ctk", "q8_0", "-ctv", "q4_0", "-fa", "on", "-ub", "256",
                   "--swa-full", "--n-cpu-moe", "3", "-ot", r"blk\.1\.ffn=CPU", "-ts", "3,1"])
    s = settings_from_args(args)
    assert s.n_ctx == 8192 and s.n_gpu_layers == 20
    assert (s.cache_type_k, s.cache_type_v, s.flash_attn, s.n_ubatch) == ("q8_0", "q4_0", "on", 256)
    assert s.swa_full and s.n_cpu_moe == 3 and s.tensor_split == (3.0, 1.0)
    assert s.overrides == (TensorOverride(r"blk\.1\.ffn", "CPU"),)


@pytest.mark.parametrize("value,expected", [("all", None), ("999", None), ("-1", None), ("0", 0), ("33", 33)])
def test_ngl_values(value, expected):
    assert settings_from_args(_parse(["-ngl", value])).n_gpu_layers == expected


def test_ngl_auto_is_left_to_the_fit_engine():
    args = _parse(["-ngl", "auto"])
    assert wants_auto_layers(args)
    assert settings_from_args(args).n_gpu_layers is None


def test_bad_flags_are_argparse_errors():
    for argv in (["-ngl", "lots"], ["-ctk", "q3"], ["-ot", "noequals"], ["-ts", "a,b"], ["-c", "-5"]):
        with pytest.raises(SystemExit):
            _parse(argv)


def test_effective_overrides_order_first_match_semantics():
    s = LlamaSettings(overrides=(TensorOverride("blk\\.0\\.", "CUDA0"),), cpu_moe=False, n_cpu_moe=2)
    rules = s.effective_overrides()
    assert rules[0] == TensorOverride("blk\\.0\\.", "CUDA0")
    assert [r.pattern for r in rules[1:]] == [rf"blk\.0{FFN_EXPS_REGEX}", rf"blk\.1{FFN_EXPS_REGEX}"]
    name = "blk.1.ffn_gate_exps.weight"
    first = next(r for r in rules if re.search(r.pattern, name))
    assert first.buffer == "CPU"
    assert not any(re.search(r.pattern, "blk.2.ffn_gate_exps.weight") for r in rules)
    assert not any(re.search(r.pattern, "blk.1.ffn_gate_inp.weight") for r in rules[1:])


def test_validate_rejects_nonsense():
    with pytest.raises(ValueError, match="cache type"):
        LlamaSettings(cache_type_k="q3").validate()
    with pytest.raises(ValueError, match="context"):
        LlamaSettings(n_ctx=-1).validate()
    LlamaSettings(n_ctx=0).validate()  # llama.cpp's -c 0: the model's trained context
