"""``localai-tui labels [LABEL] [--tensor] [--json]``: what quant labels such as Q4_K_M or UD-Q4_K_XL mean.

Without LABEL: a table of every llama.cpp file type and the common publishers' variants, smallest
to largest bits per weight. With LABEL: its full explanation, modifiers included. ``--tensor``
reads LABEL as a ggml tensor type (the per-tensor types ``inspect`` lists: Q6_K the tensor type,
not the Q6_K file), and without LABEL lists the tensor types.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "labels",
        help="explain quant labels (Q4_K_M, IQ4_XS, UD-Q4_K_XL, i1-Q4_K_M ...)",
        description="Explain GGUF quant labels. Without LABEL, list them all from smallest to largest.",
    )
    parser.add_argument("label", nargs="?", metavar="LABEL",
                        help="a label as written in a file name, e.g. Q4_K_M, q5_k_s, UD-IQ1_S, i1-Q4_K_M, "
                             "Q6_K_L, BF16, MXFP4, or a ggml tensor type such as Q8_K")
    parser.add_argument("--tensor", action="store_true",
                        help="LABEL is a ggml tensor type (as `inspect` lists them per tensor); without LABEL, "
                             "list the tensor types")
    parser.add_argument("--json", action="store_true", help="print JSON: a list of label objects")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from tui.core.gguf.labels import all_labels, all_tensor_types, explain_tensor_type, label_sort_key, require_label

    if args.tensor:
        if args.label:
            text = explain_tensor_type(args.label)
            print(json.dumps({"tensor_type": args.label.strip().upper(), "explanation": text}, indent=2)
                  if args.json else _wrapped(text))
        else:
            types = sorted(all_tensor_types(), key=label_sort_key)
            print(json.dumps([label_as_json(q, tensor=True) for q in types], indent=2) if args.json
                  else format_label_table(types, width=_table_width(), footer=_TENSOR_FOOTER))
        return 0
    if args.label:
        quants = [require_label(args.label)]
    else:
        quants = sorted(all_labels(), key=label_sort_key)
    if args.json:
        print(json.dumps([label_as_json(quant) for quant in quants], indent=2))
    elif args.label:
        print(_wrapped_explanation(args.label))
    else:
        print(format_label_table(quants, width=_table_width()))
    return 0


def label_as_json(quant, *, tensor: bool = False) -> dict:
    """One label as a JSON object; ``explanation`` is the full text ``labels LABEL`` (``--tensor``) prints."""
    from tui.core.gguf.labels import explain_label, explain_tensor_type

    return {
        "label": quant.label,
        "family": quant.family,
        "bits_per_weight": quant.bits_per_weight,
        "bits_per_weight_approximate": quant.bits_per_weight_approximate,
        "ftype": quant.ftype,
        "kind": quant.kind,
        "base": quant.base,
        "llama_name": quant.llama_name,
        "main_type": quant.main_type,
        "retired": quant.retired,
        "notes": [note.id for note in quant.notes],
        "summary": quant.summary,
        "explanation": explain_tensor_type(quant.label) if tensor else explain_label(quant.label),
    }


_TABLE_FOOTER = (
    "BPW: typical bits per weight of a whole model, measured with llama.cpp's quantizer on Meta-Llama-3-8B "
    "(MXFP4_MOE on gpt-oss-120b); ~ means close to the base label, as the mix varies by model. "
    "'localai-tui labels LABEL' explains one."
)


_TENSOR_FOOTER = ("BPW: bits per weight of the tensor type itself (block size and scales included). "
                  "'localai-tui labels --tensor TYPE' explains one.")


def format_label_table(quants, width: int | None = None, footer: str = _TABLE_FOOTER) -> str:
    """LABEL, FAMILY, BPW, SUMMARY columns; summaries cut to ``width`` characters when given."""
    import textwrap

    rows = [("LABEL", "FAMILY", "BPW", "SUMMARY")]
    for quant in quants:
        if quant.bits_per_weight is None:
            bpw = "-"
        else:
            bpw = f"{'~' if quant.bits_per_weight_approximate else ''}{quant.bits_per_weight:.2f}"
        rows.append((quant.label, quant.family, bpw, quant.summary))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for label, family, bpw, summary in rows:
        line = f"{label:<{widths[0]}}  {family:<{widths[1]}}  {bpw:>{widths[2]}}  {summary}"
        if width and len(line) > width:
            line = line[: max(width - 3, 0)] + "..."
        lines.append(line)
    lines.append("")
    lines += textwrap.wrap(footer, width=min(width or 100, 100), break_on_hyphens=False)
    return "\n".join(lines)


def _wrapped_explanation(label: str) -> str:
    from tui.core.gguf.labels import explain_label

    return _wrapped(explain_label(label))


def _wrapped(text: str) -> str:
    import shutil
    import textwrap

    width = min(shutil.get_terminal_size((100, 24)).columns, 100)
    return "\n\n".join(textwrap.fill(paragraph, width=width, break_on_hyphens=False) for paragraph in text.split("\n\n"))


def _table_width() -> int | None:
    import shutil
    import sys

    return shutil.get_terminal_size((100, 24)).columns if sys.stdout.isatty() else None
