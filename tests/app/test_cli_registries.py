"""The CLI's vocabularies are the nn registries', and --batch-norm trains compiled."""

from __future__ import annotations

import argparse

import pytest

from nn import optim
from nn.app import cli_train
from nn.losses import LOSSES
from tests.helpers import run_cli


def test_optimizer_names_are_the_registrys_lower_cased_plus_momentum():
    assert set(cli_train.OPTIMIZERS) == {name.lower() for name in optim.OPTIMIZERS} | {"momentum"}


def test_losses_are_the_registrys_one_output_losses():
    assert set(cli_train.LOSSES) == {name for name, loss in LOSSES.items() if not loss.per_class}
    assert "cross_entropy" in LOSSES and "cross_entropy" not in cli_train.LOSSES  # needs ≥ 2 outputs


def test_every_loss_and_optimizer_has_a_default_learning_rate():
    for loss in cli_train.LOSSES:
        assert set(cli_train.DEFAULT_LR[loss]) == set(cli_train.OPTIMIZERS), loss


def _setup(*argv):
    parser = argparse.ArgumentParser()
    cli_train.add_train_parser(parser.add_subparsers())
    args = parser.parse_args(["train", "--samples", "10", "--layers", "3", *argv])
    return cli_train._setup(args)


@pytest.mark.parametrize(("name", "cls", "momentum"), [
    ("sgd", optim.SGD, 0.0), ("momentum", optim.SGD, 0.9), ("adam", optim.Adam, None), ("adamw", optim.AdamW, None),
    ("rmsprop", optim.RMSprop, 0.0),
])
def test_each_optimizer_name_builds_its_class(name, cls, momentum):
    optimizer = _setup("--optimizer", name)[3]
    assert type(optimizer) is cls
    if momentum is not None:
        assert optimizer.param_groups[0]["momentum"] == momentum


def test_a_per_class_loss_is_not_offered(capsys):
    code, _, err = run_cli(capsys, "train", "--loss", "cross_entropy")
    assert code == 2 and "invalid choice: 'cross_entropy'" in err


def test_batch_norm_trains_compiled_and_eager_to_the_same_loss(capsys, tmp_path):
    common = ["train", "--batch-norm", "--samples", "24", "--layers", "4,4", "--steps", "5", "--quiet"]
    code, compiled, err = run_cli(capsys, *common, "--out", str(tmp_path / "c"))
    assert code == 0, err
    code, eager, err = run_cli(capsys, *common, "--eager", "--out", str(tmp_path / "e"))
    assert code == 0, err
    loss_c, loss_e = (float(out.split("final loss ")[1].split(",")[0]) for out in (compiled, eager))
    assert loss_c == pytest.approx(loss_e, rel=1e-9)
