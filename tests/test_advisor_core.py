"""The Advisor's core without the Hub: data file, model cards, placement, compare and the context sweep.

Models are the fake Hub's real headers (Qwen3-30B-A3B MoE, Qwen2.5-Coder-32B dense, Gemma 3 4B
with sliding-window attention) read from memory; every number is checked against
``estimate_fit`` itself, so the Advisor can never drift from the fit engine.
"""

from __future__ import annotations

import pytest

from tests.advisor_fixtures import CPU_BOX, DENSE, GEMMA_4B, GPU_BOX, MOE, catalog_anatomy
from tui.core.errors import LocalAIError
from tui.core.fit.settings import LlamaSettings


@pytest.fixture(scope="module")
def moe():
    return catalog_anatomy(*MOE)


@pytest.fixture(scope="module")
def dense():
    return catalog_anatomy(*DENSE)


# --- the data file and model cards -------------------------------------------------------------


def test_the_data_file_loads_and_bad_entries_are_named():
    from tui.core.advisor.data import load_advisor_data, parse_advisor_data

    data = load_advisor_data()
    assert {"chat", "code", "vision", "embedding"} <= {t.name for t in data.tasks}
    assert data.license_kinds["apache-2.0"] == "open" and data.license_kinds["cc-by-nc-4.0"] == "non-commercial"
    assert len(data.compare_profiles) >= 7
    with pytest.raises(LocalAIError, match="duplicate"):
        parse_advisor_data({"task": [{"name": "chat"}, {"name": "chat"}]})
    with pytest.raises(LocalAIError, match="both open and non-commercial"):
        parse_advisor_data({"license": {"open": ["mit"], "non_commercial": ["MIT"]}})
    with pytest.raises(LocalAIError, match="list of words"):
        parse_advisor_data({"task": [{"name": "code", "hub_tags": "code"}]})
    with pytest.raises(LocalAIError, match="title and a spec"):
        parse_advisor_data({"compare_profile": [{"title": "RTX 3090"}]})


def test_every_default_compare_box_resolves():
    from tui.core.advisor.compare import default_box_specs, resolve_box

    kinds = set()
    for title, spec in default_box_specs():
        profile = resolve_box(spec, title=title, ram_gib=64).profile
        kinds.add("unified" if profile.unified_memory else "cpu" if profile.is_cpu_only else "gpu")
    assert kinds == {"gpu", "cpu", "unified"}


@pytest.mark.parametrize(("license_id", "kind", "flags"), [
    ("apache-2.0", "open", ()),
    ("MIT", "open", ()),
    ("llama3.1", "terms", ("license terms",)),
    ("cc-by-nc-4.0", "non-commercial", ("non-commercial",)),
    ("cc-by-nc-sa-2.5", "non-commercial", ("non-commercial",)),  # not listed: the "-nc-" part says it
    ("qwen-research", "non-commercial", ("non-commercial",)),
    ("other", "unknown", ("license?",)),
    (None, "unknown", ("license?",)),
    ("bsd-3-clause-clear", "open", ()),
])
def test_license_kinds_and_flags(license_id, kind, flags):
    from tui.core.advisor.model_card import license_flags, license_kind

    assert license_kind(license_id) == kind
    assert license_flags(license_id, False) == flags
    assert license_flags(license_id, "manual")[-1] == "gated"


def test_task_tags_from_tags_names_files_and_templates():
    from tui.core.advisor.model_card import task_tags

    assert task_tags("bartowski/Qwen2.5-Coder-32B-Instruct-GGUF", pipeline_tag="text-generation",
                     hub_tags=["code", "conversational"]) == ("chat", "code")
    # an embedding model is not a chat model, whatever its tokenizer's template says
    assert task_tags("Qwen/Qwen3-Embedding-0.6B-GGUF", pipeline_tag="feature-extraction",
                     has_chat_template=True) == ("embedding",)
    assert task_tags("someone/Model-GGUF", side_file_kinds=["mmproj"]) == ("vision",)
    assert task_tags("someone/DeepSeek-R1-Distill-Qwen-7B-GGUF") == ("reasoning",)
    assert task_tags("someone/base-model-GGUF") == ("text",)  # a base model: plain text
    assert task_tags("someone/base-model-GGUF", has_chat_template=True) == ("chat",)
    assert task_tags("someone/Itemized-GGUF") == ("text",)  # whole words only: "itemized" is not "it"
    assert task_tags("someone/whisper-small-GGUF", pipeline_tag="automatic-speech-recognition") == ("audio",)


# --- placement -------------------------------------------------------------------------------------


def test_best_placement_is_autofit_at_the_asked_context_and_matches_estimate_fit(moe, dense):
    from tui.core.advisor.placement import best_placement, describe_placement
    from tui.core.fit.autofit import explain_auto_fit
    from tui.core.fit.estimate import estimate_fit

    asked = LlamaSettings(n_ctx=8192, n_gpu_layers=3, n_cpu_moe=40, tensor_split=(3.0, 1.0))  # searched away
    for anatomy in (moe, dense):
        placement = best_placement(anatomy, GPU_BOX, asked)
        reference = explain_auto_fit(anatomy, GPU_BOX, LlamaSettings(n_ctx=8192), fit_context=False)
        assert placement.settings == reference.settings and placement.searched
        assert placement.estimate.n_ctx == 8192  # the context is never traded away
        assert placement.estimate.to_dict() == estimate_fit(anatomy, GPU_BOX, placement.settings).to_dict()
    moe_place = best_placement(moe, GPU_BOX, asked)
    assert moe_place.n_cpu_moe > 0 and moe_place.estimate.n_gpu_layers == moe.n_layer + 1
    assert describe_placement(moe_place) == f"experts of {moe_place.n_cpu_moe}/{moe.n_layer} layers in RAM"
    dense_place = best_placement(dense, GPU_BOX, asked)
    assert dense_place.n_cpu_moe == 0 and 0 < dense_place.estimate.n_gpu_layers < dense.n_layer + 1
    assert describe_placement(dense_place).endswith("layers on GPU")
    assert describe_placement(best_placement(dense, CPU_BOX, asked)) == "CPU only"


def test_a_fixed_placement_is_kept(dense):
    from tui.core.advisor.placement import best_placement, placement_is_fixed

    fixed = LlamaSettings(n_ctx=4096, n_gpu_layers=10)
    assert placement_is_fixed(fixed) and not placement_is_fixed(LlamaSettings())
    placement = best_placement(dense, GPU_BOX, fixed, search=False)
    assert placement.settings == fixed and placement.estimate.n_gpu_layers == 10 and not placement.searched


# --- compare ---------------------------------------------------------------------------------------


SEED_BOXES = ("RTX 3060 12GB", "RTX 3060 12GB+DDR5-6000 dual channel", "RTX 3090", "Tesla P40 24GB",
              "DDR5-6000 dual channel", "Apple M4 Pro 48GB")


def _compare(anatomy, specs=SEED_BOXES, ctx=4096):
    from tui.core.advisor.compare import compare_boxes, resolve_box

    boxes = [resolve_box(spec, ram_gib=64) for spec in specs]
    return {r.box.spec: r for r in compare_boxes(anatomy, boxes, LlamaSettings(n_ctx=ctx))}


def test_every_column_is_estimate_fit_on_that_box(moe, dense):
    from tui.core.fit.autofit import max_context
    from tui.core.fit.estimate import estimate_fit

    for anatomy in (moe, dense):
        for result in _compare(anatomy).values():
            placement = result.placement
            again = estimate_fit(anatomy, result.box.profile, placement.settings)
            assert placement.estimate.to_dict() == again.to_dict()
            assert result.max_context == max_context(anatomy, result.box.profile, placement.settings,
                                                     limit=anatomy.n_ctx_train)
            if result.max_context < anatomy.n_ctx_train:  # the next step no longer fits
                longer = estimate_fit(anatomy, result.box.profile,
                                      placement.settings.with_changes(n_ctx=result.max_context + 256))
                assert any(d.total_bytes + longer.margin_bytes > d.capacity_bytes for d in longer.devices)


def test_vram_is_king_for_dense_models_and_fast_ram_helps_moe(moe, dense, monkeypatch):
    """The seed question: a modest GPU beside fast RAM runs a MoE model well, a dense one hardly better than a CPU."""
    from dataclasses import replace

    import tui.core.hardware.profiles as profiles

    # a desktop's 8 cores, whatever runs the test: with 2 cores the CPU's share is compute bound
    host = replace(profiles.detect_host(), physical_cores=8)
    monkeypatch.setattr(profiles, "detect_host", lambda: host)
    tps = {name: {spec: r.placement.tokens_per_s for spec, r in _compare(model).items()}
           for name, model in (("moe", moe), ("dense", dense))}
    modest, cpu, big = "RTX 3060 12GB+DDR5-6000 dual channel", "DDR5-6000 dual channel", "RTX 3090"
    results = _compare(dense)
    assert results[modest].placement.estimate.n_gpu_layers < dense.n_layer + 1  # dense: layers spill to RAM
    assert _compare(moe)[modest].placement.n_cpu_moe > 0  # MoE: only experts go to RAM
    # a modest GPU more than doubles a CPU-only box's speed for the MoE model, not for the dense one
    assert tps["moe"][modest] > 2 * tps["moe"][cpu]
    assert tps["dense"][modest] < 2 * tps["dense"][cpu]
    # holding all of a dense model in VRAM pays more than it does for the MoE model
    assert tps["dense"][big] / tps["dense"][modest] > 1.3 * tps["moe"][big] / tps["moe"][modest]
    # faster RAM speeds up the partly offloaded box (the card alone, in a DDR4 box, is slower)
    plain = _compare(moe, ("RTX 3060 12GB",))["RTX 3060 12GB"].placement.tokens_per_s
    assert tps["moe"][modest] > plain


def test_two_cards_in_one_box_and_names_with_a_plus(dense):
    from tui.core.advisor.compare import resolve_box, split_box_spec

    two = resolve_box("RTX 3060 12GB+RTX 3060 12GB", ram_gib=64)
    assert len(two.profile.gpus) == 2
    one = _compare(dense, ("RTX 3060 12GB",))["RTX 3060 12GB"]
    both = _compare(dense, ("RTX 3060 12GB + RTX 3060 12GB",))["RTX 3060 12GB + RTX 3060 12GB"]
    assert both.placement.estimate.n_gpu_layers == dense.n_layer + 1 > one.placement.estimate.n_gpu_layers
    assert both.placement.tokens_per_s > 2 * one.placement.tokens_per_s
    assert split_box_spec("Ryzen AI Max+ 395 128GB") == ["Ryzen AI Max+ 395 128GB"]
    assert resolve_box("Ryzen AI Max+ 395").profile.unified_memory  # a plus inside a name, not two devices
    with pytest.raises(LocalAIError, match="not 'auto', 'cpu', a catalog device"):
        resolve_box("RTX 9999 Ultra")
    with pytest.raises(LocalAIError, match="needs a value"):
        resolve_box("  ")


def test_boxes_like_the_current_profile_share_its_ram():
    from tui.core.advisor.compare import default_boxes, resolve_box

    boxes = default_boxes(current=GPU_BOX)
    assert boxes[0].profile is GPU_BOX and boxes[0].title == "current profile"
    for box in boxes[1:]:
        p = box.profile
        if p.unified_memory:
            assert p.ram_bytes != GPU_BOX.ram_bytes  # an Apple machine brings its own memory
        else:
            assert p.ram_bytes == GPU_BOX.ram_bytes
    card = resolve_box("RTX 3090", like=GPU_BOX).profile
    assert card.ram_bandwidth_gbps == GPU_BOX.ram_bandwidth_gbps  # the card goes into this box
    ddr4 = resolve_box("DDR4-3200 dual channel", like=GPU_BOX).profile
    assert ddr4.is_cpu_only and ddr4.ram_bandwidth_gbps == pytest.approx(51.2)  # a named RAM setup keeps its speed
    assert resolve_box("auto", like=GPU_BOX).profile is GPU_BOX


def test_refused_settings_become_a_column_error(moe):
    from tui.core.advisor.compare import compare_boxes, resolve_box

    results = compare_boxes(moe, [resolve_box("cpu", ram_gib=64)],
                            LlamaSettings(cache_type_v="q8_0", flash_attn="off"))
    assert results[0].placement is None and "flash attention" in results[0].error
    assert results[0].to_dict()["error"] == results[0].error
    with pytest.raises(LocalAIError, match="no boxes"):
        compare_boxes(moe, [], LlamaSettings())


# --- the context sweep -------------------------------------------------------------------------------


def test_sweep_steps_double_up_to_the_trained_context():
    from tui.core.advisor.sweep import sweep_contexts

    assert sweep_contexts(40960) == [512, 1024, 2048, 4096, 8192, 16384, 32768, 40960]
    assert sweep_contexts(8192) == [512, 1024, 2048, 4096, 8192]
    assert sweep_contexts(0)[-1] == 131072  # unknown: up to 128k
    assert sweep_contexts(256) == [256]


def test_sweep_points_are_estimate_fit_and_memory_grows(moe):
    from tui.core.advisor.sweep import context_sweep, longest_fitting
    from tui.core.fit.estimate import estimate_fit

    points = context_sweep(moe, GPU_BOX, LlamaSettings())
    assert [p.n_ctx for p in points][-1] == moe.n_ctx_train
    for point in points:
        again = estimate_fit(moe, GPU_BOX, point.placement.settings)
        assert point.placement.estimate.to_dict() == again.to_dict()
        assert point.placement.estimate.n_ctx >= point.n_ctx
    kv = [p.kv_bytes for p in points]
    assert kv == sorted(kv) and kv[-1] > 10 * kv[0]
    experts = [p.placement.n_cpu_moe for p in points]
    assert experts == sorted(experts) and experts[-1] > experts[0]  # longer context: more experts move to RAM
    assert all(p.offloaded for p in points)
    speeds = [p.tokens_per_s for p in points]
    assert speeds[0] > speeds[-1]
    assert longest_fitting(points).n_ctx == moe.n_ctx_train


def test_cpu_sweep_with_a_fixed_placement_and_the_point_where_it_stops_fitting(dense):
    from tui.core.advisor.sweep import context_sweep, longest_fitting

    small = CPU_BOX.with_changes(ram_bytes=24 * 1024**3)
    points = context_sweep(dense, small, LlamaSettings(n_gpu_layers=0), search=False)
    fits = [p.fits for p in points]
    assert fits[0] and not fits[-1] and fits == sorted(fits, reverse=True)  # fits up to a point, then never
    assert not any(p.offloaded for p in points)  # no GPU: nothing is "offloaded"
    speeds = [p.tokens_per_s for p in points]
    assert speeds == sorted(speeds, reverse=True)  # a longer cache is slower to read
    assert longest_fitting(points).n_ctx < dense.n_ctx_train
    with pytest.raises(LocalAIError):
        context_sweep(dense, small, LlamaSettings(), contexts=[0])


def test_sliding_window_models_sweep_cheaply():
    """Gemma 3's sliding-window layers keep a fixed cache, so 128k costs a fraction of a full cache."""
    from tui.core.advisor.sweep import context_sweep

    gemma = catalog_anatomy(*GEMMA_4B)
    points = context_sweep(gemma, GPU_BOX, LlamaSettings(), contexts=[4096, 131072])
    full = context_sweep(gemma, GPU_BOX, LlamaSettings(swa_full=True), contexts=[131072])
    assert points[1].kv_bytes < 0.5 * full[0].kv_bytes
    assert points[1].fits
