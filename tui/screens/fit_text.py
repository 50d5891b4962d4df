"""How the Fit screen words an estimate: slider stops, bar titles, the verdict and the notes.

Pure presentation of ``tui.core.fit.estimate.FitEstimate`` (no Textual here, only Rich text), so each
piece is tested without running the app. Sizes are bytes; rates tokens per second.
"""

from __future__ import annotations

from rich.text import Text

from tui.core.fit.verdict import Verdict
from tui.core.hardware.devices import HardwareProfile
from tui.core.safe_text import one_line, printable
from tui.session import ChosenModel
from tui.units import format_context, format_count, format_gib, format_rate, format_size
from tui.widgets.memory_bar import MemoryPart, MemoryUsage
from tui.widgets.verdict_style import verdict_text

#: The parts of each memory bar, in the order they stack: (``DeviceUsage`` field prefix, legend name).
BAR_PARTS = (("weights", "weights"), ("kv", "KV cache"), ("compute", "compute"), ("overhead", "overhead"))

#: Context sizes the slider offers below a model's trained context (tokens): the sizes people type.
#: Stops under 512 are offered only to models trained on less.
CONTEXT_STEPS = (128, 256, 512, 1024, 2048, 3072, 4096, 6144, 8192, 12288, 16384, 24576, 32768, 49152, 65536,
                 98304, 131072, 196608, 262144, 393216, 524288, 786432, 1048576)

#: The fit engine's caveat that holds for every GPU estimate; shown once, last.
_ALWAYS_NOTE = "not measured"


def context_steps(n_ctx_train: int, current: int | None = None) -> list[int]:
    """The context slider's stops: the usual sizes up to the trained context, that context itself,
    and ``current`` when it is none of those (auto-fit picks multiples of 256; ``-c 256`` on the
    command line may sit below the usual floor)."""
    limit = n_ctx_train if n_ctx_train and n_ctx_train > 0 else 4096
    floor = 512 if limit >= 512 else 128
    steps = {n for n in CONTEXT_STEPS if floor <= n <= limit} | {limit}
    if current and 0 < current <= limit:  # a context typed on the command line (-c 256) is kept as typed
        steps.add(current)
    return sorted(steps)


def context_label(n_ctx: int, n_ctx_train: int) -> str:
    """``8k``, or ``128k (trained)`` at the model's trained context (what ``-c 0`` asks for)."""
    text = format_context(n_ctx)
    return f"{text} (trained)" if n_ctx_train and n_ctx == n_ctx_train else text


def layer_steps(n_layer: int) -> list[int]:
    """``-ngl`` stops: 0 ... every repeating layer, plus one for the output layer (llama.cpp's count)."""
    return list(range(0, n_layer + 2))


def cycle(options: tuple[str, ...], current: str) -> str:
    """The option after ``current`` (wrapping), for keys that step through a fixed list."""
    return options[(options.index(current) + 1) % len(options)] if current in options else options[0]


def device_titles(estimate, profile: HardwareProfile) -> list[str]:
    """``GPU0 RTX 3090``, ``GPU1 RTX 3090``, ``RAM``: the estimate's devices as a person names them.

    With helper boxes, a remote device is titled by its box (``gaming-pc RTX 3060 12GB``) and the
    head's devices say so (``head GPU0 RTX 4090``, ``head RAM``): one bar per box and device.
    """
    titles = []
    local = 0
    boxes = {b.endpoint: b for b in profile.boxes}
    for device in estimate.devices:
        if device.kind == "gpu":
            index = _gpu_index(estimate, device)
            gpu = profile.gpus[index] if 0 <= index < len(profile.gpus) else None
            if device.box:
                box = boxes.get(device.box)
                titles.append(f"{box.name if box else device.box} {gpu.name if gpu else device.name}")
                continue
            name = gpu.name if gpu else device.name
            titles.append(f"{'head ' if boxes else ''}GPU{local} {name}")
            local += 1
        else:
            titles.append("head RAM" if boxes else "RAM")
    return titles


def _gpu_index(estimate, device) -> int:
    """Position of ``device`` among the estimate's GPU devices (= its index in ``profile.gpus``)."""
    gpus = [d for d in estimate.devices if d.kind == "gpu"]
    return next((i for i, d in enumerate(gpus) if d is device), -1)


def memory_usages(estimate, profile: HardwareProfile) -> list[MemoryUsage]:
    """One bar per device of the estimate (GPUs, then RAM): its parts in bytes against its capacity."""
    usages = []
    for device, title in zip(estimate.devices, device_titles(estimate, profile), strict=True):
        parts = tuple(MemoryPart(name, int(getattr(device, f"{field}_bytes"))) for field, name in BAR_PARTS)
        if getattr(device, "projector_bytes", 0):  # a vision model's projector, only where there is one
            parts += (MemoryPart("projector (mmproj)", int(device.projector_bytes)),)
        usages.append(MemoryUsage(title, parts, int(device.capacity_bytes), device.verdict,
                                  int(getattr(estimate, "margin_bytes", 0))))
    return usages


def verdict_line(estimate, profile: HardwareProfile, measured: str | None = None) -> Text:
    """``fits · est. 92.4 t/s · 33/33 layers on the GPU · KV cache 0.50 GiB for 4k tokens``, or what is short.

    ``measured`` (``measured 88 t/s (bench, 2026-01-01)``) follows the estimate when this machine benched the model."""
    verdict = estimate.verdict
    text = Text.assemble(verdict_text(verdict, bold=True), "  est. ",
                         (format_rate(estimate.est_tokens_per_s), "bold"))
    span = getattr(estimate, "est_tokens_per_s_range", None)
    if span:
        text.append(f" ({span[0]:.0f}-{span[1]:.0f})" if span[0] >= 10 else f" ({span[0]:.1f}-{span[1]:.1f})", "dim")
    if getattr(estimate, "ram_overflow_bytes", 0):
        text.append(" pages from disk", "red")
    if measured:
        text.append(f" · {measured}", "bold green")
    ttft = getattr(estimate, "est_ttft_s", 0.0)
    if ttft:
        first = f"{ttft * 1e3:.0f} ms" if ttft < 1 else f"{ttft:.1f} s"
        text.append(f" · {estimate.prompt_tokens}-token prompt {first}")
    if profile.is_cpu_only:
        text.append(f" · all {estimate.n_layers_total} layers on the CPU")
    else:
        where = "GPU" if len(profile.gpus) == 1 else "GPUs"
        text.append(f" · {estimate.n_gpu_layers}/{estimate.n_layers_total} layers on the {where}")
    text.append(f" · KV cache {format_size(estimate.kv_cache_bytes)} for {format_context(estimate.n_ctx)} tokens")
    network = getattr(estimate, "network", None)
    if network is not None and network.visits:
        text.append(f" · network {network.seconds * 1e3:.2f} ms/token over {len(profile.boxes)} box"
                    f"{'es' if len(profile.boxes) > 1 else ''}")
    short = [(title, -device.headroom_bytes) for device, title in zip(estimate.devices, device_titles(estimate, profile), strict=True)
             if device.headroom_bytes < 0]
    if short:
        text.append("\n")
        text.append(" · ".join(f"{title} is short by {format_gib(need)} GiB" for title, need in short), "red")
        text.append("  (a: auto-fit)", "dim")
    elif verdict == Verdict.TIGHT:
        text.append("\n")
        text.append(f"fits without the {format_gib(estimate.margin_bytes)} GiB llama.cpp keeps free  (a: auto-fit)",
                    "yellow")
    return text


def bench_line(outcome: tuple | None, error: str | None = None) -> Text:
    """What the last bench (``m``) measured on this machine (``(results, stored)`` from the services'
    ``bench_model``), or why it stopped, on one line."""
    if error is not None or outcome is None:
        return Text.assemble(("bench: ", "bold"), (one_line(error or "no result"), "red"))
    results, stored = outcome
    parts = [f"{'prompt' if r.n_prompt else 'generation'} {format_rate(r.mean_tokens_per_s)} ({r.test})"
             for r in sorted(results, key=lambda r: r.n_prompt == 0, reverse=True)]
    kept = ("  (stored; fit and compare show it)", "dim") if stored else ("  (could not be stored)", "yellow")
    return Text.assemble(("bench on this machine: ", "bold"), " · ".join(parts), kept)


def invalid_line(reason: str, fix: str | None) -> Text:
    """``refused  llama.cpp refuses these settings: <reason>`` and the fix (k, v, f change them)."""
    text = Text.assemble((str(Verdict.REFUSED), "bold red"), ("  llama.cpp refuses these settings: ", "red"), (printable(reason), "red"))
    text.append("\n")
    text.append(f"fix: {printable(fix)}" if fix else "change them", "yellow")
    text.append("  (k, v and f change the cache and attention)", "dim")
    return text


#: Physical batch sizes (``-ub``) the ``u`` key cycles through: llama.cpp's default (512) first.
UBATCH_STEPS = (512, 1024, 2048, 4096, 128, 256)

#: Logical batch sizes (``-b``) the ``b`` key cycles through: llama.cpp's default (2048) first.
BATCH_STEPS = (2048, 4096, 8192, 512, 1024)


def next_step(steps: tuple[int, ...], current: int) -> int:
    """The stop after ``current`` (wrapping); the first when ``current`` is none of them."""
    return steps[(steps.index(current) + 1) % len(steps)] if current in steps else steps[0]


def options_line(settings, flash_attn_enabled: bool | None) -> Text:
    """``K cache f16 (k)  V cache f16 (v)  Flash attention auto → on (f)`` and, on a second line, the
    batches and the sliding-window cache (``-ub 512 (u)  -b 2048 (b)  --swa-full off (w)``)."""
    flash = settings.flash_attn
    if flash == "auto" and flash_attn_enabled is not None:
        flash = f"auto → {'on' if flash_attn_enabled else 'off'}"
    return Text.assemble(
        ("K cache ", "dim"), (settings.cache_type_k, "bold"), (" (k)  ", "dim"),
        ("V cache ", "dim"), (settings.cache_type_v, "bold"), (" (v)  ", "dim"),
        ("Flash attention ", "dim"), (flash, "bold"), (" (f)", "dim"), "\n",
        ("-ub ", "dim"), (str(settings.n_ubatch), "bold"), (" (u)  ", "dim"),
        ("-b ", "dim"), (str(settings.n_batch), "bold"), (" (b)  ", "dim"),
        ("--swa-full ", "dim"), ("on" if settings.swa_full else "off", "bold"), (" (w)", "dim"),
    )


def notes_text(warnings: tuple[str, ...] | list[str]) -> Text:
    """The estimate's warnings, one ``• `` line each, the standing "derived, not measured" caveat last."""
    ordered = sorted(warnings, key=lambda w: _ALWAYS_NOTE in w)
    return Text(printable("\n".join(f"• {w}" for w in ordered)), style="dim")


def describe_model(model: ChosenModel) -> Text:
    """``owner/repo Q4_K_M · llama · 8.0B params · 4.58 GiB · 4.89 bpw · 32 layers · trained ctx 128k``."""
    anatomy = model.anatomy
    text = Text()
    text.append(model.title, style="bold")
    text.append(f"  {one_line(anatomy.architecture)} · {format_count(anatomy.n_params)} params · ")
    text.append(f"{format_size(anatomy.file_size or anatomy.tensor_bytes)} · {anatomy.bits_per_weight:.2f} bpw")
    text.append(f" · {anatomy.n_layer} layers + output = {anatomy.n_layer + 1}")  # the -ngl slider's count
    text.append(f" · trained ctx {format_context(anatomy.n_ctx_train)}")
    if anatomy.is_moe:
        text.append(f" · MoE {anatomy.n_expert_used}/{anatomy.n_expert} experts")
    if not model.is_local:
        text.append("  not downloaded (d)", style="italic yellow")
    return text
