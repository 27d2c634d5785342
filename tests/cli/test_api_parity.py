"""One API, one CLI: every option of a command is an argument of its Python function, with
the same name and default (the issue-14 complaint was ``--quiet`` vs ``progress=``)."""

from __future__ import annotations

import inspect
import warnings

import pytest

import vaekit
from vaekit.cli.app import cli
from vaekit.configuration import user_fields
from vaekit.training.settings import setting_keys

# What a command line needs and Python does not: where the data and run are (Python passes
# the model and the array), a print format (Python gets the dict), and starting processes
# (``--processes`` starts the command N times; Python code runs under torchrun instead), and
# evaluate's device (Python moves the model it passes: ``model.to(device)``).
_NOT_PYTHON = {
    "evaluate": {"run_dir", "data", "data_dir", "split", "as_json", "device"},
    "train": {"processes"},
}
_FUNCTIONS = {"train": vaekit.train, "evaluate": vaekit.evaluate}
_SETTINGS = {"train": setting_keys(), "evaluate": set(user_fields(vaekit.EvalConfig))}


def _given(default) -> bool:  # click >= 8.2 marks "no default" with a sentinel, not None
    return default is not None and type(default).__name__ != "Sentinel"


def _python_name(param) -> str:
    return {"config_file": "config", "compile_": "compile"}.get(param.name, param.name)


@pytest.mark.parametrize("command", sorted(_FUNCTIONS))
def test_every_option_is_an_argument_of_the_same_name_and_default(command):
    signature = inspect.signature(inspect.unwrap(_FUNCTIONS[command])).parameters
    for param in cli.get_command(None, command).params:
        name = _python_name(param)
        if name in _NOT_PYTHON[command] or name in _SETTINGS[command]:
            continue  # settings: their defaults are the dataclasses' (test_architecture)
        assert name in signature, f"--{param.name} has no Python argument {name}"
        default = signature[name].default
        cli_default = param.default if _given(param.default) else None
        if getattr(param, "is_flag", False):
            cli_default = bool(cli_default)
        assert default == cli_default, f"{name}: Python {default!r}, command line {cli_default!r}"


def test_the_old_progress_argument_still_works_and_says_it_is_now_quiet(tmp_path, capsys):
    with pytest.warns(DeprecationWarning, match="quiet=True"):
        vaekit.train(data="digits", epochs=1, hidden="4", latent_dim=2, out=tmp_path / "r",
                     progress=False)  # fmt: skip
    assert capsys.readouterr().err == ""  # progress=False meant quiet: no bar, no notes
    model = vaekit.load(tmp_path / "r")
    x = vaekit.load_dataset("digits").test[:20]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        vaekit.evaluate(model, x, importance_samples=2, quiet=True)
    assert not seen
    with pytest.raises(TypeError):
        vaekit.evaluate(model, x, quiet=True, bogus=1)


def test_train_reads_a_toml_file_like_the_command_line(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('data = "digits"\nepochs = 1\nhidden = "4"\nlatent_dim = 3\n')
    run = vaekit.train(config=toml, latent_dim=2, out=tmp_path / "r", quiet=True)
    assert run.config.model.latent_dim == 2 and run.config.train.epochs == 1  # given wins
