"""Adversarial files, and the losses, optimizers and BatchNorm1d at their edges.

Every case names its exact outcome: the exception type and a fragment of its message, or the
value torch (float64) gives. Hostile files — special files, files declaring far more than they
hold, files far larger than they say — are loaded in one subprocess under an address-space
limit (``RLIMIT_AS``) and a timeout, so a loader that hangs or balloons fails the test instead
of the machine; each case's peak Python allocation is measured there too (tracemalloc).
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nn
from autograd_core import Value
from nn.batchnorm import BatchNorm1d
from nn.io import (
    FORMAT,
    MAX_FILE_BYTES,
    MAX_JSON_ITEMS,
    MAX_JSON_MEMBERS,
    MAX_MODULES,
    MAX_PARAMETERS,
    load,
    load_optimizer,
    load_scheduler,
    save,
)
from nn.layers import MLP, Layer, Sequential
from nn.lr_scheduler import CosineAnnealingLR, LinearLR, StepLR
from nn.optim import SGD, Adam, AdamW, RMSprop
from tests.helpers import ROOT

X = [[1.0, 2.0], [0.5, -1.0], [0.3, 0.2], [-2.0, 0.7]]


def _trained_run(scheduler: str = "step"):
    """A model with BatchNorm, its Adam optimizer (with state) and a schedule, after two steps."""
    model = MLP(2, [3, 1], batch_norm=True, rng=0)
    opt = Adam(model.parameters(), lr=0.1)
    sched = {"step": lambda: StepLR(opt, 2, gamma=0.5),
             "linear": lambda: LinearLR(opt, start_factor=0.5, end_factor=1.0, total_iters=4),
             "cosine": lambda: CosineAnnealingLR(opt, T_max=5)}[scheduler]()
    for _ in range(2):
        model.zero_grad()
        sum((o - 1.0) ** 2 for o in model(X)).backward()
        opt.step()
        sched.step()
    return model, opt, sched


@functools.cache
def _saved_text(scheduler: str) -> str:
    model, opt, sched = _trained_run(scheduler)
    with tempfile.TemporaryDirectory() as directory:
        save(model, Path(directory) / "m.json", opt, sched)
        return (Path(directory) / "m.json").read_text()


def _doc(scheduler: str = "step") -> dict[str, Any]:
    """The document ``save`` writes for ``_trained_run(scheduler)`` (saved once per session)."""
    return json.loads(_saved_text(scheduler))


def _tiny(config: dict[str, Any], state: dict[str, Any] | None = None) -> str:
    return json.dumps({"format": FORMAT, "format_version": 2, "config": config, "state": state or {},
                       "optimizer": None, "scheduler": None}, separators=(",", ":"))


def _bn(n: int, *, affine: bool = False, track: bool = True) -> dict[str, Any]:
    return {"type": "BatchNorm1d", "num_features": n, "eps": 1e-5, "momentum": 0.1, "affine": affine,
            "track_running_stats": track}


# -- 1. hostile files, loaded in a subprocess with bounded memory and time ----------------------

# Each builder makes its file in the given directory and returns (path, loader, byte cap or None).
Builder = Callable[[Path], tuple[str, str, int | None]]


def _write(directory: Path, name: str, text: str | bytes) -> str:
    path = directory / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def _fifo(d: Path) -> tuple[str, str, None]:
    os.mkfifo(d / "fifo")
    return str(d / "fifo"), "load", None


def _socket(d: Path) -> tuple[str, str, None]:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(d / "sock"))
    s.close()  # the socket file stays
    return str(d / "sock"), "load", None


def _loop(d: Path) -> tuple[str, str, None]:
    os.symlink(d / "loop_b", d / "loop_a")
    os.symlink(d / "loop_a", d / "loop_b")
    return str(d / "loop_a"), "load", None


def _link_to(target: str, name: str) -> Builder:
    def build(d: Path) -> tuple[str, str, None]:
        os.symlink(target if target.startswith("/") else d / target, d / name)
        return str(d / name), "load", None
    return build


def _sparse(d: Path) -> tuple[str, str, None]:
    with open(d / "sparse.json", "wb") as f:
        f.truncate(2 * MAX_FILE_BYTES)  # a hole: no disk used
    return str(d / "sparse.json"), "load", None


def _nested_sequential(depth: int) -> str:
    return ('{"format":"backprop-lab model","format_version":2,"config":' + '{"type":"Sequential","layers":[' * depth
            + "]}" * depth + ',"state":{},"optimizer":null,"scheduler":null}')


def _text(name: str, text: str | bytes, loader: str = "load", cap: int | None = None) -> Builder:
    return lambda d: (_write(d, name, text), loader, cap)


_TWO_MILLION = _tiny({"type": "Layer", "nin": 1000, "nout": 2000, "activation": "relu", "bias": False,
                      "init": "micrograd"})
_MANY_BN_OVER = _tiny({"type": "Sequential", "layers": [_bn(1_000_000)] * 6})
_MANY_BN_UNDER = _tiny({"type": "Sequential", "layers": [_bn(1_000_000)] * 4})
_AFFINE_BN = _tiny({"type": "Sequential", "layers": [_bn(1_000_000, affine=True, track=False)] * 5})
_MODULES = _tiny({"type": "MLP", "nin": 1, "nouts": [1_000_000, 1_000_000], "activation": "relu",
                  "init": "micrograd", "bias": False, "batch_norm": False, "eps": 1e-5, "momentum": 0.1})
_WIDE = _tiny({"type": "Layer", "nin": 1_000_000, "nout": 900_000, "activation": "relu", "bias": True,
               "init": "micrograd"})
_JUNK_STATE = _tiny({"type": "Activation", "name": "relu"}, {f"junk.{i}": 0.5 for i in range(50_000)})
_SMALL = MLP(2, [1], rng=0)  # the model the subprocess passes to load_optimizer
_JUNK_OPTIMIZER = json.dumps({"format": FORMAT, "format_version": 2, "config": _SMALL.config(),
                              "state": _SMALL.state_dict(), "optimizer": {"type": "SGD", "param_groups": [
                                  {"lr": 0.1, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0,
                                   "nesterov": False, "maximize": False, "params": [0] * 200_000}], "state": {}},
                              "scheduler": None})

# name → (builder, expected exception type, message fragment)
HOSTILE: dict[str, tuple[Builder, str, str]] = {
    "fifo": (_fifo, "ValueError", "is a FIFO (named pipe), not a regular file"),
    "dev_zero": (lambda d: ("/dev/zero", "load", None), "ValueError", "is a character device, not a regular file"),
    "dev_null": (lambda d: ("/dev/null", "load", None), "ValueError", "is a character device"),
    "directory": (lambda d: (str(d), "load", None), "ValueError", "is a directory, not a regular file"),
    "socket": (_socket, "ValueError", "is a socket, not a regular file"),
    "symlink_loop": (_loop, "ValueError", "is a symlink loop"),
    "symlink_to_fifo": (lambda d: (_fifo(d), _link_to("fifo", "to_fifo")(d))[1], "ValueError", "is a FIFO"),
    "symlink_to_dev_zero": (_link_to("/dev/zero", "to_zero"), "ValueError", "is a character device"),
    "symlink_to_directory": (_link_to("/tmp", "to_tmp"), "ValueError", "is a directory"),
    "sparse_twice_the_cap": (_sparse, "ValueError",
                             f"is {2 * MAX_FILE_BYTES:,} bytes, more than the {MAX_FILE_BYTES:,}"),
    "proc_file_size_0_over_cap": (lambda d: ("/proc/self/maps", "load", 1000), "ValueError",
                                  "holds more than the 1,000 bytes a model file may have (its size was reported as 0)"),
    "two_million_parameters_no_state": (_text("2m.json", _TWO_MILLION), "ValueError",
                                        "declares 2,000,000 numbers (2,000,000 parameters, 0 buffer numbers) but "
                                        "state holds 0"),
    "two_million_parameters_load_optimizer": (_text("2m_opt.json", _TWO_MILLION, "load_optimizer"), "ValueError",
                                              "but state holds 0"),
    "two_million_parameters_load_scheduler": (_text("2m_sched.json", _TWO_MILLION, "load_scheduler"), "ValueError",
                                              "but state holds 0"),
    "batch_norms_over_the_limit": (_text("bn6.json", _MANY_BN_OVER), "ValueError",
                                   f"0 parameters and 12,000,006 buffer numbers, 12,000,006 in all, more than the "
                                   f"limit of {MAX_PARAMETERS:,}"),
    "batch_norms_under_the_limit_no_state": (_text("bn4.json", _MANY_BN_UNDER), "ValueError",
                                             "(0 parameters, 8,000,004 buffer numbers) but state holds 0"),
    "affine_batch_norms_without_running_stats": (_text("bn_affine.json", _AFFINE_BN), "ValueError",
                                                 "declares 10,000,000 numbers (10,000,000 parameters, 0 buffer "
                                                 "numbers) but state holds 0"),
    "two_million_neurons": (_text("modules.json", _MODULES), "ValueError",
                            f"config declares 2,000,003 modules, more than the limit of {MAX_MODULES:,}"),
    "a_trillion_weights": (_text("wide.json", _WIDE), "ValueError",
                           f"config declares 900,000,900,000 parameters, more than the limit of {MAX_PARAMETERS:,}"),
    "sequential_nested_65_deep": (_text("deep65.json", _nested_sequential(65)), "ValueError",
                                  "nests Sequential more than 64 deep"),
    "sequential_nested_100k_deep": (_text("deep100k.json", _nested_sequential(100_000)), "ValueError",
                                    "nests JSON too deeply"),
    "list_nested_1m_deep": (_text("lists.json", "[" * 1_000_000 + "]" * 1_000_000), "ValueError",
                            "nests JSON too deeply"),
    "integer_literal_of_5000_digits": (_text("digits.json", _TWO_MILLION.replace('"nin":1000', '"nin":' + "7" * 5000)),
                                       "ValueError", "is not a valid model file"),
    "50k_junk_state_entries": (_text("junk.json", _JUNK_STATE), "ValueError",
                                "state does not fit the config: unexpected keys ['junk.0', 'junk.1'"),
    "200k_repeated_optimizer_indices": (_text("junk_opt.json", _JUNK_OPTIMIZER, "load_optimizer"), "ValueError",
                                        "optimizer.param_groups[0].params has 0"),
    "ten_megabyte_type_name": (_text("long.json", _tiny({"type": "x" * 10_000_000})), "ValueError",
                               "config.type: unknown module type 'xxxxxxxx"),
    "five_megabytes_of_spaces": (_text("spaces.json", " " * 5_000_000 + "{}"), "ValueError",
                                 "missing keys ['config', 'format', 'format_version'"),
    "one_megabyte_of_binary": (_text("binary.json", bytes(range(256)) * 4096), "ValueError", "is not UTF-8 text"),
    "nul_bytes": (_text("nul.json", b"\0" * 1000), "ValueError", "is not valid JSON"),
    "utf8_bom": (_text("bom.json", "\ufeff" + _TWO_MILLION), "ValueError", "is not valid JSON"),
    "empty": (_text("empty.json", ""), "ValueError", "is not valid JSON"),
    # Small files whose parse would not be small: ~120 bytes per member, ~70 per value in Python.
    "tiny_members_past_the_limit": (
        _text("members.json", "{" + '"a":0,' * (MAX_JSON_MEMBERS + 1) + "}"), "ValueError",
        f"JSON key: value pairs, more than the {MAX_JSON_MEMBERS:,}"),
    "tiny_values_past_the_limit": (
        _text("values.json", '{"state":[' + "0," * MAX_JSON_ITEMS + "0]}"), "ValueError",
        f"JSON values, more than the {MAX_JSON_ITEMS:,}"),
}

_RUNNER = textwrap.dedent("""
    import json, resource, sys, time, tracemalloc
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    import nn, nn.io
    from nn.layers import MLP
    from nn.optim import SGD
    cases = json.load(sys.stdin)
    results = {{}}
    tracemalloc.start()
    for name, path, loader, cap in cases:
        nn.io.MAX_FILE_BYTES = cap or {default_cap}
        tracemalloc.reset_peak()
        start = time.perf_counter()
        try:
            if loader == "load":
                nn.io.load(path)
            elif loader == "load_optimizer":
                nn.io.load_optimizer(path, MLP(2, [1], rng=0))
            else:
                nn.io.load_scheduler(path, SGD(MLP(2, [1], rng=0).parameters(), lr=0.1))
            outcome = ("no error", "")
        except BaseException as e:
            outcome = (type(e).__name__, str(e))
        seconds = time.perf_counter() - start
        results[name] = [*outcome, seconds, tracemalloc.get_traced_memory()[1]]
    results["_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(results))
""")
ADDRESS_SPACE = 3 << 30
"""The subprocess's RLIMIT_AS: numpy and the interpreter need ~1 GiB of address space; no case may add 2 GiB."""
PEAK_BYTES = 80 << 20
"""Most a hostile case may allocate (the 36 MB file of tiny members is read in chunks and joined: ~72 MB;
parsed, it would take ~700 MB)."""


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("hostile")
    cases = []
    for name, (builder, _, _) in HOSTILE.items():
        case_dir = directory / name
        case_dir.mkdir()
        cases.append([name, *builder(case_dir)])
    script = _RUNNER.format(limit=ADDRESS_SPACE, default_cap=MAX_FILE_BYTES)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(cases), capture_output=True, text=True,
                          timeout=300, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize(("name", "error", "fragment"), [(k, e, f) for k, (_, e, f) in HOSTILE.items()],
                         ids=list(HOSTILE))
def test_hostile_file_is_refused_with_a_clear_error_in_bounded_memory(hostile_results, name, error, fragment):
    kind, message, _seconds, peak = hostile_results[name]
    assert kind == error, message
    assert fragment in message
    assert len(message) < 1000  # a 10 MB name or a 200k-entry list is never echoed in full
    assert peak < PEAK_BYTES, f"{name} allocated {peak:,} bytes"


def test_hostile_figures(hostile_results, capsys):
    """Not an assertion about speed: prints the figures (run with -s) — max time and allocation per case."""
    cases = {k: v for k, v in hostile_results.items() if not k.startswith("_")}
    slowest = max(cases, key=lambda k: cases[k][2])
    biggest = max(cases, key=lambda k: cases[k][3])
    with capsys.disabled():
        print(f"\nhostile files: {len(cases)} cases; slowest {slowest} {cases[slowest][2] * 1e3:.1f} ms; "
              f"largest allocation {biggest} {cases[biggest][3] / 2**20:.1f} MiB; "
              f"process max RSS {hostile_results['_maxrss_kib'] / 1024:.0f} MiB")
    assert len(cases) == len(HOSTILE)


# -- 2. every field corrupted: one ValueError naming the field -----------------------------------


def _set(*keys_and_value: Any) -> Callable[[dict[str, Any]], None]:
    *keys, value = keys_and_value

    def edit(doc: dict[str, Any]) -> None:
        target = doc
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return edit


def _drop(*keys: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        target = doc
        for k in keys[:-1]:
            target = target[k]
        del target[keys[-1]]
    return edit


C = ("config",)
S = ("state",)
O = ("optimizer",)
G = ("optimizer", "param_groups", 0)
SCH = ("scheduler",)

# name → (edit, message fragment); the file is the Adam + StepLR run of _trained_run(), loaded with load().
FIELD_CORRUPTIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "config_type_list": (_set(*C, "type", ["MLP"]), "config.type: unknown module type ['MLP']"),
    "config_type_dict": (_set(*C, "type", {"MLP": 1}), "config.type: unknown module type {'MLP': 1}"),
    "config_type_null": (_set(*C, "type", None), "config.type: unknown module type None"),
    "config_type_lowercase": (_set(*C, "type", "mlp"), "unknown module type 'mlp'"),
    "config_nin_zero": (_set(*C, "nin", 0), "config.nin must be an int in [1, 1,000,000], got 0"),
    "config_nin_negative": (_set(*C, "nin", -3), "config.nin must be an int in [1, 1,000,000], got -3"),
    "config_nin_bool": (_set(*C, "nin", True), "config.nin must be an int in [1, 1,000,000], got True"),
    "config_nin_string": (_set(*C, "nin", "2"), "config.nin must be an int in [1, 1,000,000], got '2'"),
    "config_nin_too_wide": (_set(*C, "nin", 1_000_001), "config.nin must be an int in [1, 1,000,000], got 1000001"),
    "config_nouts_empty": (_set(*C, "nouts", []), "config.nouts must be a list of 1 to 64 layer sizes"),
    "config_nouts_dict": (_set(*C, "nouts", {"0": 3}), "config.nouts must be a list of 1 to 64 layer sizes"),
    "config_nouts_65_layers": (_set(*C, "nouts", [1] * 65), "config.nouts must be a list of 1 to 64 layer sizes"),
    "config_nouts_string_entry": (_set(*C, "nouts", [3, "1"]), "config.nouts[1] must be an int"),
    "config_activation_unknown": (_set(*C, "activation", "swish_beta"), "config.activation must be one of"),
    "config_activation_list": (_set(*C, "activation", ["relu"]), "config.activation must be one of"),
    "config_init_unknown": (_set(*C, "init", "zeros"), "config.init must be one of"),
    "config_bias_int": (_set(*C, "bias", 1), "config.bias must be true or false, got 1"),
    "config_batch_norm_null": (_set(*C, "batch_norm", None), "config.batch_norm must be true or false, got None"),
    "config_eps_zero": (_set(*C, "eps", 0.0), "config.eps must be a positive number, got 0.0"),
    "config_eps_string": (_set(*C, "eps", "1e-5"), "config.eps must be a number, got str"),
    "config_momentum_above_one": (_set(*C, "momentum", 1.5), "config.momentum must be null or a number in [0, 1]"),
    "config_momentum_negative": (_set(*C, "momentum", -0.1), "config.momentum must be null or a number in [0, 1]"),
    "config_extra_key": (_set(*C, "dropout", 0.5), "config (MLP): unexpected keys ['dropout']"),
    "config_missing_key": (_drop(*C, "init"), "config (MLP): missing keys ['init']"),
    "config_is_a_list": (_set("config", [1]), "config must be an object, got list"),
    "state_weight_string": (_set(*S, "layers.0.neurons.0.w.0", "0.5"), "state 'layers.0.neurons.0.w.0' must be a "
                                                                      "number, got str"),
    "state_weight_list": (_set(*S, "layers.0.neurons.0.w.0", [0.5]), "wrong shape"),
    "state_weight_null": (_set(*S, "layers.0.neurons.0.w.0", None), "must be a number, got NoneType"),
    "state_weight_bool": (_set(*S, "layers.0.neurons.0.w.0", False), "must be a number, got bool"),
    "state_weight_object": (_set(*S, "layers.0.neurons.0.w.0", {"v": 1}), "must be a number, got dict"),
    "state_weight_huge_int": (_set(*S, "layers.0.neurons.0.w.0", 10**400), "is too large for a float"),
    "state_running_var_negative": (_set(*S, "layers.1.running_var.0", -0.5), "is a variance and cannot be negative"),
    "state_running_mean_string": (_set(*S, "layers.1.running_mean.2", "x"), "state 'layers.1.running_mean.2'"),
    "state_batches_float": (_set(*S, "layers.1.num_batches_tracked", 2.0), "must be a non-negative int, got 2.0"),
    "state_batches_negative": (_set(*S, "layers.1.num_batches_tracked", -1), "must be a non-negative int, got -1"),
    "state_missing_gamma": (_drop(*S, "layers.1.gamma.0"), "missing keys ['layers.1.gamma.0']"),
    "state_extra_entry": (_set(*S, "layers.9.w", 1.0), "unexpected keys ['layers.9.w']"),
    "state_is_a_list": (_set("state", [0.5]), "state must be an object of name → number, got list"),
    "top_version_1_with_scheduler": (_set("format_version", 1), "unexpected keys ['scheduler'] at the top level "
                                                                 "(format_version 1)"),
    "top_version_2_without_scheduler": (_drop("scheduler"), "missing keys ['scheduler'] at the top level"),
    "top_version_0": (_set("format_version", 0), "has format_version 0; this version of nn reads format_version 1"),
    "top_version_float": (_set("format_version", 2.0), "has format_version 2.0"),
    "top_version_list": (_set("format_version", [2]), "has format_version [2]"),
    "top_format_list": (_set("format", [FORMAT]), "is not a 'backprop-lab model' file (format is ['backprop-lab"),
}

# Same, but loaded with load_optimizer (model from the same file): the optimizer section.
OPTIMIZER_CORRUPTIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "optimizer_is_a_list": (_set("optimizer", []), "optimizer must be an object with keys"),
    "optimizer_type_list": (_set(*O, "type", ["Adam"]), "optimizer.type: unknown type ['Adam']"),
    "optimizer_type_dict": (_set(*O, "type", {}), "optimizer.type: unknown type {}"),
    "optimizer_type_unknown": (_set(*O, "type", "LBFGS"), "optimizer.type: unknown type 'LBFGS'"),
    "param_groups_empty": (_set(*O, "param_groups", []), "optimizer.param_groups must be a non-empty list"),
    "param_groups_object": (_set(*O, "param_groups", {}), "optimizer.param_groups must be a non-empty list"),
    "param_group_number": (_set(*O, "param_groups", [1]),
                           "optimizer.param_groups[0] must be an object of hyper-parameters and params, got int"),
    "lr_string": (_set(*G, "lr", "0.1"), "optimizer.param_groups[0].lr must be a number, got str"),
    "lr_negative": (_set(*G, "lr", -0.1), "Invalid learning rate: -0.1"),
    "lr_bool": (_set(*G, "lr", True), "optimizer.param_groups[0].lr must be a number, got bool"),
    "betas_one_number": (_set(*G, "betas", [0.9]), "optimizer.param_groups[0].betas must be a list of two numbers"),
    "betas_string_entry": (_set(*G, "betas", [0.9, "x"]), "optimizer.param_groups[0].betas[1] must be a number"),
    "beta_of_one": (_set(*G, "betas", [1.0, 0.9]), "Invalid beta parameter at index 0: 1.0"),
    "eps_negative": (_set(*G, "eps", -1e-8), "Invalid epsilon value: -1e-08"),
    "amsgrad_string": (_set(*G, "amsgrad", "yes"), "optimizer.param_groups[0].amsgrad must be true or false"),
    "hyper_extra": (_set(*G, "momentum", 0.9), "optimizer.param_groups[0]: unexpected keys ['momentum']"),
    "initial_lr_negative": (_set(*G, "initial_lr", -1.0), "optimizer.param_groups[0].initial_lr must be ≥ 0"),
    "initial_lr_string": (_set(*G, "initial_lr", "0.1"), "optimizer.param_groups[0].initial_lr must be a number"),
    "params_bool_index": (_set(*G, "params", [True]), "optimizer.param_groups[0].params has True"),
    "params_negative_index": (_set(*G, "params", [-1]), "optimizer.param_groups[0].params has -1"),
    "params_string": (_set(*G, "params", "0"), "optimizer.param_groups[0].params must be a non-empty list"),
    "state_key_leading_zero": (lambda d: d["optimizer"]["state"].update({"01": d["optimizer"]["state"]["1"]}),
                               "optimizer.state['01']: key must be the index of a parameter"),
    "state_entry_list": (_set(*O, "state", "0", [1.0]), "optimizer.state['0'] (Adam): missing keys"),
    "state_step_negative": (_set(*O, "state", "0", "step", -1.0), "optimizer.state['0'].step = -1.0 cannot be "
                                                                  "negative"),
    "state_moment_string": (_set(*O, "state", "0", "exp_avg", "0"), "optimizer.state['0'].exp_avg must be a number"),
    "state_is_a_list": (_set(*O, "state", []), "optimizer.state must be an object of parameter index → state"),
    "model_weight_corrupt": (_set(*S, "layers.0.neurons.0.b", "oops"), "state 'layers.0.neurons.0.b' must be a "
                                                                      "number, got str"),
    "model_running_var_negative": (_set(*S, "layers.1.running_var.1", -1.0), "cannot be negative"),
    "model_state_missing_entry": (_drop(*S, "layers.0.neurons.0.w.0"), "missing keys ['layers.0.neurons.0.w.0']"),
    "model_config_corrupt": (_set(*C, "init", 7), "config.init must be one of"),
    "scheduler_corrupt_too": (_set(*SCH, "step_size", 0), "scheduler.step_size must be a positive int, got 0"),
}

# Same, loaded with load_scheduler over the file's own optimizer: the scheduler section.
SCHEDULER_CORRUPTIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "scheduler_is_a_list": (_set("scheduler", [1]), "scheduler must be null or an object, got list"),
    "scheduler_type_unknown": (_set(*SCH, "type", "OneCycleLR"), "scheduler.type: unknown type 'OneCycleLR'"),
    "scheduler_type_list": (_set(*SCH, "type", ["StepLR"]), "scheduler.type: unknown type ['StepLR']"),
    "step_size_zero": (_set(*SCH, "step_size", 0), "scheduler.step_size must be a positive int, got 0"),
    "step_size_float": (_set(*SCH, "step_size", 2.0), "scheduler.step_size must be a positive int, got 2.0"),
    "step_size_bool": (_set(*SCH, "step_size", True), "scheduler.step_size must be a positive int, got True"),
    "gamma_string": (_set(*SCH, "gamma", "0.5"), "scheduler.gamma must be a number, got str"),
    "gamma_huge_int": (_set(*SCH, "gamma", 10**400), "scheduler.gamma = "),
    "missing_gamma": (_drop(*SCH, "gamma"), "scheduler (StepLR): missing keys ['gamma']"),
    "extra_key": (_set(*SCH, "T_max", 4), "scheduler (StepLR): unexpected keys ['T_max']"),
    "last_epoch_negative": (_set(*SCH, "last_epoch", -1), "scheduler.last_epoch must be a non-negative int"),
    "last_epoch_float": (_set(*SCH, "last_epoch", 2.5), "scheduler.last_epoch must be a non-negative int"),
    "base_lrs_too_many": (_set(*SCH, "base_lrs", [0.1, 0.1]), "scheduler.base_lrs must be a list of one rate per "
                                                              "parameter group (1)"),
    "base_lrs_number": (_set(*SCH, "base_lrs", 0.1), "scheduler.base_lrs must be a list"),
    "last_lr_negative": (_set(*SCH, "last_lr", [-0.1]), "scheduler.last_lr[0] must be ≥ 0, got -0.1"),
    "no_optimizer_for_it": (_set("optimizer", None), "holds a scheduler but no optimizer for it"),
    "no_scheduler": (_set("scheduler", None), "the file holds no scheduler"),
}


def _corrupt(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    doc = _doc()
    edit(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(("edit", "fragment"), FIELD_CORRUPTIONS.values(), ids=FIELD_CORRUPTIONS.keys())
def test_corrupted_model_field_is_one_value_error_naming_it(tmp_path, edit, fragment):
    path = tmp_path / "m.json"
    _corrupt(path, edit)
    with pytest.raises(ValueError) as info:
        load(path)
    assert fragment in str(info.value)


@pytest.mark.parametrize(("edit", "fragment"), OPTIMIZER_CORRUPTIONS.values(), ids=OPTIMIZER_CORRUPTIONS.keys())
def test_load_optimizer_checks_the_whole_file_and_leaves_the_model_alone(tmp_path, edit, fragment):
    path = tmp_path / "m.json"
    model, _, _ = _trained_run()
    save(model, tmp_path / "good.json")
    _corrupt(path, edit)
    for p in model.parameters():
        p.grad = 0.25
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ValueError) as info:
        load_optimizer(path, model)
    assert fragment in str(info.value)
    assert model.state_dict() == before and all(p.grad == 0.25 for p in model.parameters())


@pytest.mark.parametrize(("edit", "fragment"), SCHEDULER_CORRUPTIONS.values(), ids=SCHEDULER_CORRUPTIONS.keys())
def test_corrupted_scheduler_is_one_value_error_and_the_optimizer_is_untouched(tmp_path, edit, fragment):
    path = tmp_path / "m.json"
    _, opt, _ = _trained_run()
    _corrupt(path, edit)
    before = opt.state_dict()
    with pytest.raises(ValueError) as info:
        load_scheduler(path, opt)
    assert fragment in str(info.value)
    assert opt.state_dict() == before


@pytest.mark.parametrize("bad", [{"start_factor": 0.0}, {"end_factor": 1.5}, {"total_iters": 0}],
                         ids=["start_factor_zero", "end_factor_above_one", "total_iters_zero"])
def test_scheduler_hyper_parameters_get_the_constructor_checks(tmp_path, bad):
    path = tmp_path / "m.json"
    model, opt, sched = _trained_run("linear")
    save(model, path, opt, sched)
    doc = json.loads(path.read_text())
    doc["scheduler"].update(bad)
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="scheduler"):
        load_scheduler(path, opt)


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 0.999])
def test_truncated_file_is_not_valid_json(tmp_path, fraction):
    path = tmp_path / "m.json"
    text = json.dumps(_doc())
    path.write_text(text[: int(len(text) * fraction)])
    with pytest.raises(ValueError, match="is not valid JSON"):
        load(path)


def test_a_scheduler_saved_for_two_groups_needs_an_optimizer_with_two(tmp_path):
    model = MLP(2, [2, 1], rng=0)
    params = model.parameters()
    opt = SGD([{"params": params[:3]}, {"params": params[3:], "lr": 0.5}], lr=0.1)
    save(model, tmp_path / "m.json", opt, StepLR(opt, 1))
    with pytest.raises(ValueError, match="the scheduler was saved for 2 parameter groups, the optimizer passed has 1"):
        load_scheduler(tmp_path / "m.json", SGD(model.parameters(), lr=0.1))
    sched = load_scheduler(tmp_path / "m.json", load_optimizer(tmp_path / "m.json", load(tmp_path / "m.json")))
    assert sched.base_lrs == [0.1, 0.5]


# -- 3. older files -------------------------------------------------------------------------------


def _as_version_1(doc: dict[str, Any]) -> dict[str, Any]:
    doc = {k: v for k, v in doc.items() if k != "scheduler"}
    doc["format_version"] = 1
    return doc


def test_a_format_version_1_file_loads(tmp_path):
    model, opt, _ = _trained_run()
    path = tmp_path / "m.json"
    save(model, path, opt)
    doc = _as_version_1(json.loads(path.read_text()))
    for group in doc["optimizer"]["param_groups"]:
        del group["initial_lr"]
    path.write_text(json.dumps(doc))
    loaded = load(path)
    assert loaded.state_dict() == model.state_dict()
    assert load_optimizer(path, loaded).state_dict()["state"] == opt.state_dict()["state"]
    with pytest.raises(ValueError, match="the file holds no scheduler"):
        load_scheduler(path, opt)


def test_a_format_version_1_file_written_with_a_scheduler_attached_now_loads(tmp_path):
    # Such files hold each group's initial_lr; they used to be refused ("unexpected keys ['initial_lr']").
    model, opt, _ = _trained_run()
    path = tmp_path / "m.json"
    save(model, path, opt)
    path.write_text(json.dumps(_as_version_1(json.loads(path.read_text()))))
    assert load_optimizer(path, load(path)).state_dict() == opt.state_dict()


# -- 4. permissions, symlinks and special targets when saving ---------------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444, 0o755])
def test_saving_over_a_file_keeps_its_permissions(tmp_path, mode):
    path = tmp_path / "m.json"
    save(MLP(2, [1], rng=0), path)
    os.chmod(path, mode)
    save(MLP(2, [2, 1], rng=1), path)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert load(path).config()["nouts"] == [2, 1]


@pytest.mark.parametrize("relative", [True, False], ids=["relative_link", "absolute_link"])
def test_saving_through_a_symlink_updates_the_target_and_keeps_the_link(tmp_path, relative):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "m.json"
    save(MLP(2, [1], rng=0), target)
    os.chmod(target, 0o600)
    link = tmp_path / "link.json"
    os.symlink(Path("real") / "m.json" if relative else target, link)
    save(MLP(2, [3, 1], rng=1), link)
    assert link.is_symlink() and os.readlink(link) == str(Path("real") / "m.json" if relative else target)
    assert load(target).config()["nouts"] == [3, 1] and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["m.json"]  # no temporary left behind


def test_saving_through_a_dangling_symlink_creates_its_target(tmp_path):
    os.symlink(tmp_path / "new.json", tmp_path / "link.json")
    save(MLP(2, [1], rng=0), tmp_path / "link.json")
    assert (tmp_path / "link.json").is_symlink() and load(tmp_path / "new.json").config()["nin"] == 2


@pytest.mark.parametrize("kind", ["directory", "fifo", "symlink_loop", "symlink_to_dev_null"])
def test_saving_over_something_that_is_not_a_regular_file_is_refused(tmp_path, kind):
    path = tmp_path / "target"
    expected = {"directory": "is a directory", "fifo": "is a FIFO (named pipe)", "symlink_loop": "is a symlink loop",
                "symlink_to_dev_null": "is a character device"}[kind]
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink_loop":
        os.symlink(path, path)
    else:
        os.symlink("/dev/null", path)
    with pytest.raises(ValueError) as info:
        save(MLP(2, [1], rng=0), path)
    assert expected in str(info.value)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["target"]


def test_an_unreadable_file_is_a_permission_error_naming_it(tmp_path):
    # root reads anything, so the load runs as an unprivileged user in a world-readable directory.
    directory = Path(os.environ.get("TMPDIR", "/tmp")) / f"unreadable-{os.getpid()}"
    directory.mkdir(mode=0o755, exist_ok=True)
    os.chmod(directory, 0o755)
    path = directory / "m.json"
    save(MLP(2, [1], rng=0), path)
    os.chmod(path, 0o000)
    code = ("import os, sys, nn.io\n"
            "if os.geteuid() == 0: os.setgid(65534); os.setuid(65534)\n"
            "try: nn.io.load(sys.argv[1])\n"
            "except PermissionError as e: print('PermissionError', e)\n")
    try:
        done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd="/")
    finally:
        os.chmod(path, 0o600)
        path.unlink()
        directory.rmdir()
    if "No module named" in done.stderr:
        pytest.skip("the unprivileged user cannot read the source tree")
    assert done.stdout.startswith("PermissionError") and str(path) in done.stdout, done.stderr[-2000:]


# -- 5. losses, optimizers and BatchNorm1d at the edges -----------------------------------------------

HUGE = 10**400


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda: nn.cross_entropy([[1.0, 2.0]], [HUGE]), "got 100000000000… (401 digits), too large even for a float"),
    (lambda: nn.cross_entropy([[1.0, 2.0]], [-HUGE]), "got -100000000000… (401 digits)"),
    (lambda: nn.cross_entropy([[1.0, 2.0]], [10**5000]), "got an int of 16,610 bits"),
    (lambda: nn.cross_entropy([[1.0, 2.0]], np.array([HUGE], dtype=object)), "too large"),
    (lambda: nn.cross_entropy([[HUGE, 2.0]], [0]), "cross_entropy logit 100000000000… (401 digits) is too large"),
    (lambda: nn.cross_entropy([[1.0, 2.0]], [0], weight=[1.0, HUGE]), "cross_entropy weight element 1000"),
    (lambda: nn.mse_loss([1.0], [HUGE]), "mse_loss target 100000000000… (401 digits) is too large for a float"),
    (lambda: nn.mse_loss([HUGE], [1.0]), "mse_loss input 100000000000…"),
    (lambda: nn.mse_loss(np.array([HUGE], dtype=object), [1.0]), "mse_loss input holds an integer too large"),
    (lambda: nn.hinge_loss([1.0], [HUGE]), "hinge_loss target 100000000000…"),
    (lambda: nn.binary_cross_entropy_with_logits([1.0], [HUGE]), "binary_cross_entropy_with_logits target 1000"),
    (lambda: nn.binary_cross_entropy_with_logits([HUGE], [1.0]), "binary_cross_entropy_with_logits input 1000"),
    (lambda: nn.binary_cross_entropy_with_logits([1.0], [1.0], pos_weight=HUGE), "pos_weight element 1000"),
], ids=["ce_label", "ce_negative_label", "ce_label_5000_digits", "ce_object_array", "ce_logit", "ce_weight",
        "mse_target", "mse_input", "mse_object_array", "hinge_target", "bce_target", "bce_input", "bce_pos_weight"])
def test_numbers_beyond_the_float_range_are_value_errors_naming_them(call, fragment):
    with pytest.raises(ValueError) as info:
        call()
    assert fragment in str(info.value)


@pytest.mark.parametrize(("logits", "target", "fragment"), [
    ([[0.3], [1.2]], [0, 0], "got 2 rows of 1 logit"),
    ([Value(0.5)], 0, "got 1 row of 1 logit"),
    ([Value(0.5), Value(-1.0), Value(2.0)], np.array([0, 1, 1]), "an integer target of shape (3,) for one row of 3"),
    ([[0.5, 1.0]], [[1, 0]], "integer targets are class indices"),
], ids=["column_of_logits", "one_logit", "one_output_per_sample", "integer_one_hot"])
def test_cross_entropy_refuses_one_logit_per_row_and_integer_probabilities(logits, target, fragment):
    with pytest.raises(ValueError) as info:
        nn.cross_entropy(logits, target)
    assert fragment in str(info.value)


def test_fit_with_cross_entropy_on_a_one_output_model_is_refused():
    X_, y_ = nn.make_moons(6, seed=0)
    with pytest.raises(ValueError, match="cross_entropy needs a model with one output per class"):
        nn.fit(MLP(2, [3, 1], rng=0), X_, y_, loss="cross_entropy", steps=1, progress=False)


INF = math.inf


@pytest.mark.parametrize(("name", "logits", "target"), [
    ("ce_plus_inf_other_class", [[INF, 0.0]], [1]),
    ("ce_plus_inf_own_class", [[INF, 0.0]], [0]),
    ("ce_minus_inf_other_class", [[-INF, 0.0]], [1]),
    ("ce_all_minus_inf", [[-INF, -INF]], [1]),
    ("ce_extreme_finite", [[1e308, -1e308]], [1]),
    ("bce_extreme_logits", [1e308, -1e308], [0.0, 1.0]),
    ("mse_overflowing_square", [1e200], [0.0]),
])
def test_losses_at_infinite_and_extreme_inputs_equal_torch(torch, name, logits, target):
    F = torch.nn.functional
    t = torch.tensor(logits, dtype=torch.float64)
    if name.startswith("ce"):
        ours, ref = nn.cross_entropy(logits, target), F.cross_entropy(t, torch.tensor(target))
    elif name.startswith("bce"):
        ours = nn.binary_cross_entropy_with_logits(logits, target)
        ref = F.binary_cross_entropy_with_logits(t, torch.tensor(target, dtype=torch.float64))
    else:
        ours, ref = nn.mse_loss(logits, target), F.mse_loss(t, torch.tensor(target, dtype=torch.float64))
    expected = ref.item()
    assert ours.data == expected or (math.isnan(ours.data) and math.isnan(expected))


def _torch_optimizer_after(torch, make, grads, start=0.5):
    p = torch.tensor([start], dtype=torch.float64, requires_grad=True)
    opt = make(torch.optim, [p])
    for g in grads:
        p.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
    return p.item(), {k: float(v) for k, v in opt.state[p].items()}


@pytest.mark.parametrize(("ours", "theirs"), [
    (lambda ps: Adam(ps, eps=0.0), lambda o, ps: o.Adam(ps, eps=0.0)),
    (lambda ps: Adam(ps, eps=0.0, amsgrad=True), lambda o, ps: o.Adam(ps, eps=0.0, amsgrad=True)),
    (lambda ps: AdamW(ps, eps=0.0), lambda o, ps: o.AdamW(ps, eps=0.0)),
    (lambda ps: RMSprop(ps, eps=0.0), lambda o, ps: o.RMSprop(ps, eps=0.0)),
    (lambda ps: RMSprop(ps, eps=0.0, centered=True), lambda o, ps: o.RMSprop(ps, eps=0.0, centered=True)),
    (lambda ps: RMSprop(ps, eps=0.0, momentum=0.9), lambda o, ps: o.RMSprop(ps, eps=0.0, momentum=0.9)),
    (lambda ps: RMSprop(ps, eps=0.0, momentum=0.9, centered=True),
     lambda o, ps: o.RMSprop(ps, eps=0.0, momentum=0.9, centered=True)),
], ids=["adam", "adam_amsgrad", "adamw", "rmsprop", "rmsprop_centered", "rmsprop_momentum",
        "rmsprop_centered_momentum"])
@pytest.mark.parametrize("grads", [[0.0], [0.3, 0.0], [1e-170], [0.3, -0.2]],
                         ids=["zero_grad", "zero_after_nonzero", "grad_squared_underflows", "nonzero"])
def test_eps_zero_optimizers_follow_torch(torch, ours, theirs, grads):
    expected, expected_state = _torch_optimizer_after(torch, theirs, grads)
    p = Value(0.5)
    opt = ours([p])
    for g in grads:
        p.grad = g
        opt.step()
    assert p.data == pytest.approx(expected, rel=1e-12, nan_ok=True)
    for key, value in expected_state.items():
        assert opt.state[p][key] == pytest.approx(value, rel=1e-12, nan_ok=True), key


@pytest.mark.parametrize(("running_mean", "running_var"), [
    ([0.0, 1.0], [-1.0, -3e-5]),    # below −eps: nan
    ([1.0, 0.0], [-2e-5, 2.0]),
    ([0.0, 0.0], [INF, -INF]),
    ([INF, 0.0], [1.0, math.nan]),
    ([0.0, -2.0], [-1e-6, -2e-5]),  # between −eps and 0: a real, huge scale
])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_eval_with_any_running_statistics_equals_torch(torch, running_mean, running_var, affine):
    X_ = [[1.0, 1.0], [0.0, -2.0], [3.0, 0.5]]
    ours = BatchNorm1d(2, affine=affine).eval()
    ours.running_mean, ours.running_var = list(running_mean), list(running_var)
    if affine:
        for v, x in zip(ours.gamma + ours.beta, [1.5, -0.5, 0.25, 2.0]):
            v.data = x
    ref = torch.nn.BatchNorm1d(2, affine=affine).double().eval()
    with torch.no_grad():
        ref.running_mean.copy_(torch.tensor(running_mean, dtype=torch.float64))
        ref.running_var.copy_(torch.tensor(running_var, dtype=torch.float64))
        if affine:
            ref.weight.copy_(torch.tensor([1.5, -0.5], dtype=torch.float64))
            ref.bias.copy_(torch.tensor([0.25, 2.0], dtype=torch.float64))
        expected = ref(torch.tensor(X_, dtype=torch.float64)).tolist()
    got = [[v.data if isinstance(v, Value) else v for v in row] for row in ours(X_)]
    for row_got, row_expected in zip(got, expected):
        # torch rounds eps to float32 (9.99999975e-06), visible only where σ² + ε is tiny.
        assert row_got == pytest.approx(row_expected, rel=1e-6, nan_ok=True)


def test_batch_norm_eval_with_running_var_exactly_minus_eps_divides_by_zero_the_ieee_way():
    bn = BatchNorm1d(1, affine=False).eval()
    bn.running_mean, bn.running_var = [1.0], [-bn.eps]
    assert [row[0] for row in bn([[3.0], [1.0], [-1.0]])][::2] == [INF, -INF]  # (x − μ)·(1/√0)
    assert math.isnan(bn([[1.0], [2.0]])[0][0])  # 0·inf at x = μ


def test_a_batch_norm_file_with_running_stats_off_round_trips_and_declares_no_buffers(tmp_path):
    model = Sequential(Layer(2, 2, rng=0), BatchNorm1d(2, track_running_stats=False))
    save(model, tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    assert not any("running" in k for k in doc["state"])
    doc["state"]["layers.1.running_mean.0"] = 0.0
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"unexpected keys \['layers.1.running_mean.0'\]"):
        load(tmp_path / "bad.json")
