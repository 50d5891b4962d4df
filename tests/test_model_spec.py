"""One resolver for a model spec (``tui.core.hub.model_spec``): the CLI and the app open a model the same
way, so the same bad name gets the same one-line message in both."""

from __future__ import annotations

import pytest

from tests.tui_fixtures import FixedServices, wait_for
from tui.app import LocalAIApp
from tui.core.errors import LocalAIError
from tui.core.hub.model_spec import local_model_path, open_model_spec
from tui.messages import ModelOpened

#: Specs no model answers to: a missing path, a bare missing file, words that name nothing,
#: a missing file on the Hub, a repo the Hub does not have.
BAD_SPECS = [
    "/no/such/model.gguf",
    "missing.gguf",
    "not a repo",
    "nowhere/at-all/model.gguf",
    "nobody/no-such-repo-GGUF:Q4_K_M",
]


def _cli_error(capsys, spec: str) -> str:
    from tui.cli import main

    assert main(["inspect", spec]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("localai-tui: error: ") and "\n" not in err and "Traceback" not in err
    return err.removeprefix("localai-tui: error: ")


async def _tui_error(spec: str) -> str:
    seen: list = []
    app = LocalAIApp(model=spec, services=FixedServices())
    async with app.run_test(size=(200, 30), message_hook=seen.append) as pilot:
        await wait_for(pilot, lambda: any(isinstance(m, ModelOpened) for m in seen), timeout=30, what="the open")
        await pilot.pause()
        opened = next(m for m in seen if isinstance(m, ModelOpened))
        assert opened.error is not None and app.model is None
        shown = str(app.screen.query_one("#fit-empty-text").render())
        assert f"Could not open the model: {opened.error}" in shown
        return str(opened.error)


@pytest.mark.parametrize("spec", BAD_SPECS)
async def test_the_same_bad_spec_gets_the_same_message_in_cli_and_tui(spec, hub_env, capsys):
    cli = _cli_error(capsys, spec)
    tui = await _tui_error(spec)
    assert tui == cli


async def test_a_directory_gets_the_same_message_in_cli_and_tui(tmp_path, capsys, stories_model):
    (tmp_path / "stories.gguf").write_bytes(stories_model.read_bytes())
    cli = _cli_error(capsys, str(tmp_path))
    assert cli.startswith(f"{tmp_path} is a directory, not a GGUF file") and "stories.gguf" in cli
    assert await _tui_error(str(tmp_path)) == cli


def test_local_paths_and_hub_specs_are_told_apart(tmp_path, stories_model):
    assert local_model_path(str(stories_model)) == stories_model
    assert local_model_path("./x.gguf") is not None and local_model_path("x.gguf") is not None
    assert local_model_path("owner/repo:Q4_K_M") is None
    assert local_model_path("owner/repo/file.gguf") is None  # a file on the Hub unless it exists here
    model = open_model_spec(f"  {stories_model}  ")
    assert model.is_local and model.local_path == stories_model.resolve() and model.repo_id is None
    with pytest.raises(LocalAIError, match="no model given"):
        open_model_spec("   ")


def test_a_hub_spec_opens_pinned_to_its_commit(hub_env):
    model = open_model_spec("ggml-org/models:Q8_0")
    assert model.repo_id == "ggml-org/models" and model.commit and model.files
    assert not model.is_local and model.anatomy.n_layer > 0
    assert hub_env.requests  # it asked the (fake) Hub


def test_llama_server_is_told_the_file_once_on_disk_else_the_hub_name(stories_model, hub_env):
    local = open_model_spec(str(stories_model))
    assert local.server_model_arg() == (str(stories_model.resolve()), "path")
    remote = open_model_spec("ggml-org/models:Q8_0")
    assert remote.server_model_arg() == ("ggml-org/models:Q8_0", "hf")
