"""Model files for the engine tests, made from real ones: a corrupt copy, an unknown
architecture, the stories model with a chat template, a tiny MoE model.

All are built with the ``gguf`` package (or byte edits of a real GGUF), so llama.cpp reads
them exactly as it would a downloaded file.
"""

from __future__ import annotations

from pathlib import Path

#: A small chat template in the usual Jinja dialect; plain-text role markers because the
#: stories vocabulary has no special chat tokens.
TEST_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ message['role'] }}: {{ message['content'] }}\n"
    "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
)


def truncated_copy(source: Path, target: Path, keep_bytes: int | None = None) -> Path:
    """The first half (or ``keep_bytes``) of ``source``: a download cut short."""
    data = source.read_bytes()
    target.write_bytes(data[: keep_bytes if keep_bytes is not None else len(data) // 2])
    return target


def unknown_architecture_copy(source: Path, target: Path, arch: str = "zzzzz") -> Path:
    """``source`` with ``general.architecture`` renamed in place (same length) to ``arch``."""
    import gguf

    reader = gguf.GGUFReader(source)
    field = reader.get_field("general.architecture")
    old = field.contents()
    if len(arch) != len(old):
        raise ValueError(f"the new architecture name must have {len(old)} characters")
    data = bytearray(source.read_bytes())
    part = field.parts[field.data[0]]  # the string's bytes, a view into the memory-mapped file
    start = part.ctypes.data - reader.data.ctypes.data
    assert bytes(data[start:start + len(old)]) == old.encode()
    data[start:start + len(old)] = arch.encode()
    target.write_bytes(bytes(data))
    return target


def with_chat_template(source: Path, target: Path, template: str = TEST_CHAT_TEMPLATE) -> Path:
    """A copy of ``source`` whose header carries ``tokenizer.chat_template``."""
    return _rewritten_copy(source, target, template=template)


def with_tokens_renamed(source: Path, target: Path, renames: dict[int, tuple[str, int]],
                        template: str | None = None) -> Path:
    """A copy of ``source`` where token ``id`` reads ``text`` with llama.cpp token type ``type``
    (3 CONTROL, 4 USER_DEFINED): the same weights, so the model samples the same ids, now markers."""
    return _rewritten_copy(source, target, template=template, renames=renames)


def _rewritten_copy(source: Path, target: Path, *, template: str | None = None,
                    renames: dict[int, tuple[str, int]] | None = None) -> Path:
    import gguf

    reader = gguf.GGUFReader(source)
    arch = reader.get_field("general.architecture").contents()
    writer = gguf.GGUFWriter(target, arch=arch)
    for field in reader.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        value = field.contents()
        if renames and field.name == "tokenizer.ggml.tokens":
            value = [renames[i][0] if i in renames else text for i, text in enumerate(value)]
        if renames and field.name == "tokenizer.ggml.token_type":
            value = [renames[i][1] if i in renames else kind for i, kind in enumerate(value)]
        writer.add_key_value(field.name, value, value_type, sub_type=sub_type)
    if template is not None:
        writer.add_chat_template(template)
    for tensor in reader.tensors:
        writer.add_tensor_info(tensor.name, tensor.data.shape, tensor.data.dtype, tensor.data.nbytes, tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor in reader.tensors:
        writer.write_tensor_data(tensor.data, tensor_endianess=reader.endianess)
    writer.close()
    return target


def tiny_moe_model(target: Path) -> Path:
    """A 2-layer qwen3moe model (8 experts, 2 used) from the shared GGUF factory."""
    from tests.gguf_factory import SMALL_SPECS, make_model

    return make_model(target, SMALL_SPECS["qwen3moe"]).path
