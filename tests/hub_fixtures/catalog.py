"""The fake Hub's repositories, named and shaped as their real counterparts on huggingface.co.

Each GGUF file is a real header (``ggufs.py``) over a virtual data region; sizes are the
sizes those headers imply (a Llama-3.1-8B Q4_K_M comes out at 4,920,733,568 bytes, as on the
Hub). Layouts follow each publisher's habits:

* unsloth: ``Model-UD-Q4_K_XL.gguf`` in the root, big quants in one folder per label
  (``BF16/Model-BF16-00001-of-00002.gguf``), ``mmproj-F16.gguf`` side files, an imatrix file.
* bartowski: ``Model-Q4_K_L.gguf`` (``_L``: embeddings and output in Q8_0), ``Model.imatrix``.
* mradermacher: ``Model.i1-Q4_K_M.gguf`` in ``-i1-GGUF`` repos, ``imatrix.dat``.
* Qwen: lower-case names split into ~4 GB shards (``qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf``).
* google: a gated repo (``gated: "manual"``).

The LFS ``oid`` (sha256) is the real digest of the served bytes for files up to
``REAL_DIGEST_LIMIT``; for the virtual multi-GB files it is a stand-in (hashing GBs of zeros
would cost seconds per session, and no test downloads those files whole).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from tests.hub_fixtures import ggufs
from tests.hub_fixtures.ggufs import GgufImage, ModelShape, QuantRecipe, VisionShape

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
STORIES_260K = SHARED / "models" / "stories260K.gguf"
VOCAB_QWEN2 = SHARED / "vocab" / "ggml-vocab-qwen2.gguf"
VOCAB_LLAMA_BPE = SHARED / "vocab" / "ggml-vocab-llama-bpe.gguf"

REAL_DIGEST_LIMIT = 64 * 1024 * 1024  # bytes
GB = 1000**3


@dataclass
class FakeFile:
    """One file in a repo: ``prefix`` real bytes, then zeros up to ``size``."""

    path: str
    prefix: bytes
    size: int
    lfs: bool = True
    sha256: str = ""
    n_params: int = 0

    def __post_init__(self) -> None:
        if len(self.prefix) > self.size:
            raise ValueError(f"{self.path}: prefix longer than the file")
        if not self.sha256:
            self.sha256 = _digest(self.prefix, self.size)

    @property
    def pointer(self) -> bytes:
        """The git-lfs pointer file git stores in place of the content."""
        return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n").encode()

    @property
    def blob_id(self) -> str:
        """The git blob oid: of the pointer for LFS files, of the content otherwise (as git computes it)."""
        body = self.pointer if self.lfs else self.content_bytes(0, self.size)
        return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()

    def content_bytes(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the file (zeros past the prefix); only for small ranges."""
        head = self.prefix[start:end]
        return head + b"\0" * max(0, end - max(start, len(self.prefix)))


def _digest(prefix: bytes, size: int) -> str:
    if size <= REAL_DIGEST_LIMIT:
        h = hashlib.sha256(prefix)
        zeros = size - len(prefix)
        block = b"\0" * (1 << 20)
        while zeros > 0:
            h.update(block[: min(zeros, len(block))])
            zeros -= len(block)
        return h.hexdigest()
    return hashlib.sha256(b"virtual:%d:" % size + hashlib.sha256(prefix).digest()).hexdigest()


@dataclass
class FakeRepo:
    """A model repo with the metadata the Hub API reports for it."""

    repo_id: str
    files: list[FakeFile]
    downloads: int = 0
    likes: int = 0
    trending_score: int = 0
    created_at: str = "2024-01-01T00:00:00.000Z"
    last_modified: str = "2024-01-01T00:00:00.000Z"
    gated: bool | str = False
    private: bool = False
    tags: list[str] = field(default_factory=list)
    pipeline_tag: str | None = "text-generation"
    library_name: str | None = "gguf"
    license: str | None = None
    base_model: str | None = None
    gguf: dict | None = None

    @property
    def author(self) -> str:
        return self.repo_id.split("/")[0]

    @property
    def sha(self) -> str:
        """The head commit of ``main``: stable per repo and per file list."""
        h = hashlib.sha1(self.repo_id.encode())
        for f in self.files:
            h.update(f"{f.path}:{f.size}:{f.sha256}".encode())
        return h.hexdigest()

    def file(self, path: str) -> FakeFile | None:
        return next((f for f in self.files if f.path == path), None)

    @property
    def card_data(self) -> dict:
        data: dict = {"tags": [t for t in self.tags if ":" not in t]}
        if self.license:
            data["license"] = self.license
        if self.base_model:
            data["base_model"] = self.base_model
        if self.pipeline_tag:
            data["pipeline_tag"] = self.pipeline_tag
        return data

    @property
    def all_tags(self) -> list[str]:
        tags = list(self.tags)
        if self.library_name and self.library_name not in tags:
            tags.insert(0, self.library_name)
        if self.license:
            tags.append(f"license:{self.license}")
        if self.base_model:
            tags.append(f"base_model:{self.base_model}")
        tags.append("region:us")
        return tags


# --- shapes (from the models' config.json) ---------------------------------------------------

LLAMA_31_8B = ModelShape("llama", "Meta Llama 3.1 8B Instruct", "8B", 32, 4096, 14336, 32, 8, 131072,
                         rope_freq_base=500000.0)
LLAMA_2_7B = ModelShape("llama", "Llama 2 7B Chat", "7B", 32, 4096, 11008, 32, 32, 4096, rope_freq_base=10000.0)
QWEN25_7B = ModelShape("qwen2", "Qwen2.5 7B Instruct", "7B", 28, 3584, 18944, 28, 4, 32768, qkv_bias=True)
QWEN25_VL_7B = ModelShape("qwen2vl", "Qwen2.5-VL 7B Instruct", "7B", 28, 3584, 18944, 28, 4, 128000, qkv_bias=True)
QWEN3_30B_A3B = ModelShape("qwen3moe", "Qwen3 30B A3B", "30B-A3B", 48, 2048, 6144, 32, 4, 40960, head_dim=128,
                           n_expert=128, n_expert_used=8, n_ff_exp=768, qk_norm=True)
GEMMA3_1B = ModelShape("gemma3", "Gemma 3 1b It", "1B", 26, 1152, 6912, 4, 1, 32768, head_dim=256,
                       tied_embeddings=True, sliding_window=512, rope_freq_base=1000000.0)
STORIES_15M = ModelShape("llama", "stories15M", "15M", 6, 288, 768, 6, 6, 256, rope_freq_base=10000.0)
QWEN25_VL_VISION = VisionShape("qwen2.5vl_merger", 32, 1280, 3420, 16, projection_dim=3584)
TINY_GEMMA3 = ModelShape("gemma3", "tinygemma3", "", 2, 256, 512, 2, 1, 1024, head_dim=128, tied_embeddings=True,
                         sliding_window=512)
TINY_VISION = VisionShape("gemma3", 1, 64, 128, 2, image_size=64, patch_size=16, projection_dim=256)

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


class _Tokenizers:
    """Real tokenizers from ../shared when present, else synthetic ones of the same vocabulary size."""

    @functools.cached_property
    def llama3(self) -> ggufs.TokenizerKV:
        if VOCAB_LLAMA_BPE.exists():
            return ggufs.tokenizer_from_vocab_file(VOCAB_LLAMA_BPE)
        return ggufs.synthetic_tokenizer(128256, "gpt2")

    @functools.cached_property
    def qwen2(self) -> ggufs.TokenizerKV:
        if VOCAB_QWEN2.exists():
            return ggufs.tokenizer_from_vocab_file(VOCAB_QWEN2)
        return ggufs.synthetic_tokenizer(151936, "gpt2")

    @functools.cached_property
    def spm32k(self) -> ggufs.TokenizerKV:
        return ggufs.synthetic_tokenizer(32000)

    @functools.cached_property
    def tiny(self) -> ggufs.TokenizerKV:
        return ggufs.synthetic_tokenizer(1024)

    @functools.cached_property
    def gemma3(self) -> ggufs.TokenizerKV:
        return ggufs.synthetic_tokenizer(262144)


def _files(images: list[GgufImage], paths: list[str]) -> list[FakeFile]:
    assert len(images) == len(paths), (len(images), paths)
    return [FakeFile(p, img.header, img.size, n_params=img.n_params) for img, p in zip(images, paths, strict=True)]


def _shards(folder_and_stem: str, n: int) -> list[str]:
    return [f"{folder_and_stem}-{i:05d}-of-{n:05d}.gguf" for i in range(1, n + 1)]


def _text(path: str, text: str) -> FakeFile:
    data = text.encode()
    return FakeFile(path, data, len(data), lfs=False)


def _readme(repo_id: str, license: str | None, base_model: str | None) -> FakeFile:
    front = ["---"]
    if license:
        front.append(f"license: {license}")
    if base_model:
        front.append(f"base_model: {base_model}")
    front += ["tags:", "- gguf", "---", f"# {repo_id.split('/')[-1]}", ""]
    return _text("README.md", "\n".join(front))


def _opaque(path: str, size: int) -> FakeFile:
    """A non-GGUF binary (imatrix, safetensors): served as zeros of the right size."""
    return FakeFile(path, b"", size)


def _gguf_field(shape: ModelShape, total: int, chat_template: str, bos: str, eos: str) -> dict:
    return {"total": total, "architecture": shape.arch, "context_length": shape.context_length,
            "chat_template": chat_template, "bos_token": bos, "eos_token": eos}


def build_repos() -> list[FakeRepo]:
    """Every repo of the fake Hub (about a second to build: the headers are real)."""
    tok = _Tokenizers()
    repos: list[FakeRepo] = []

    # ggml-org/models: small real files that tests download whole.
    files = []
    if STORIES_260K.exists():
        data = STORIES_260K.read_bytes()
        files.append(FakeFile("tinyllamas/stories260K.gguf", data, len(data)))
    stories15 = ggufs.build_model_gguf(STORIES_15M, "Q4_0", tok.spm32k, recipe=QuantRecipe(2, "Q4_0", output="Q8_0"))
    files += _files(stories15, ["tinyllamas/stories15M-q4_0.gguf"])
    split = ggufs.build_model_gguf(STORIES_15M, "Q8_0", tok.spm32k, split_max_size=10_000_000,
                                   recipe=QuantRecipe(7, "Q8_0"))
    files += _files(split, _shards("tinyllamas/split/stories15M-q8_0", len(split)))  # as in llama.cpp's CI
    repos.append(FakeRepo("ggml-org/models", files + [_readme("ggml-org/models", "mit", None)], downloads=15000,
                          likes=120, trending_score=2, created_at="2023-03-22T10:00:00.000Z",
                          last_modified="2024-11-02T08:00:00.000Z", license="mit", tags=["gguf"],
                          gguf={"total": stories15[0].n_params, "architecture": "llama", "context_length": 256}))

    # ggml-org/tinygemma3-GGUF: a tiny vision model with its projector (llama.cpp's multimodal CI uses it).
    tiny = ggufs.build_model_gguf(TINY_GEMMA3, "Q8_0", tok.tiny, recipe=QuantRecipe(7, "Q8_0"))
    proj = ggufs.build_mmproj_gguf(TINY_VISION, "F16")
    repos.append(FakeRepo(
        "ggml-org/tinygemma3-GGUF",
        _files(tiny, ["tinygemma3-Q8_0.gguf"]) + [FakeFile("mmproj-tinygemma3.gguf", proj.header, proj.size)],
        downloads=900, likes=3, pipeline_tag="image-text-to-text", license="gemma", tags=["gguf", "gemma3"],
        gguf={"total": tiny[0].n_params, "architecture": "gemma3", "context_length": 1024}))

    # bartowski: `_L` quants, imatrix beside the files.
    stem = "Meta-Llama-3.1-8B-Instruct"
    labels = ["Q2_K", "IQ4_XS", "Q4_K_M", "Q4_K_L", "Q6_K_L", "Q8_0", "F32"]
    images = {label: ggufs.build_model_gguf(LLAMA_31_8B, label, tok.llama3)[0] for label in labels}
    bart = [FakeFile(f"{stem}-{label.lower() if label == 'F32' else label}.gguf", img.header, img.size,
                     n_params=img.n_params) for label, img in images.items()]
    total = images["Q4_K_M"].n_params
    llama_gguf = _gguf_field(LLAMA_31_8B, total, "{{ bos_token }}{% for m in messages %}...{% endfor %}",
                             "<|begin_of_text|>", "<|eot_id|>")
    repos.append(FakeRepo(
        "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF",
        bart + [_opaque(f"{stem}.imatrix", 4_988_151), _readme(stem, "llama3.1", "meta-llama/Meta-Llama-3.1-8B-Instruct"),
                _text(".gitattributes", "*.gguf filter=lfs diff=lfs merge=lfs -text\n")],
        downloads=98_000, likes=250, trending_score=12, created_at="2024-07-23T15:36:34.000Z",
        last_modified="2024-07-28T21:27:12.000Z", license="llama3.1", base_model="meta-llama/Meta-Llama-3.1-8B-Instruct",
        tags=["gguf", "text-generation", "imatrix", "conversational"], gguf=llama_gguf))

    # lmstudio-community: the same files under the plain naming.
    repos.append(FakeRepo(
        "lmstudio-community/Meta-Llama-3.1-8B-Instruct-GGUF",
        [FakeFile(f"{stem}-{label}.gguf", images[label].header, images[label].size, n_params=total)
         for label in ("Q4_K_M", "Q8_0")] + [_readme(stem, "llama3.1", None)],
        downloads=61_000, likes=200, trending_score=3, last_modified="2024-07-25T10:00:00.000Z",
        license="llama3.1", tags=["gguf", "text-generation"], gguf=llama_gguf))

    # mradermacher: weighted (i1) quants, `Model.i1-Q4_K_M.gguf`.
    imatrix_kv = [("quantize.imatrix.file", f"{stem}-i1-GGUF/imatrix.dat", 8),
                  ("quantize.imatrix.dataset", "imatrix-training-full-3", 8),
                  ("quantize.imatrix.entries_count", 224, 5), ("quantize.imatrix.chunks_count", 318, 5)]
    mrad = []
    for label in ("IQ2_XXS", "Q4_K_M", "Q6_K"):
        img = ggufs.build_model_gguf(LLAMA_31_8B, label, tok.llama3, extra_kv=imatrix_kv)[0]
        mrad.append(FakeFile(f"{stem}.i1-{label}.gguf", img.header, img.size, n_params=img.n_params))
    repos.append(FakeRepo(
        f"mradermacher/{stem}-i1-GGUF", mrad + [_opaque("imatrix.dat", 4_988_000), _readme(stem, "llama3.1", None)],
        downloads=7_400, likes=9, trending_score=1, last_modified="2024-08-01T04:11:00.000Z", license="llama3.1",
        base_model="meta-llama/Meta-Llama-3.1-8B-Instruct", tags=["gguf", "imatrix"], gguf=llama_gguf))

    # Qwen: lower-case, split into 4 GB shards by gguf-split.
    qfiles = []
    for label, name, n in (("Q4_K_M", "q4_k_m", 2), ("Q8_0", "q8_0", 3), ("F16", "fp16", 4)):
        imgs = ggufs.build_model_gguf(QWEN25_7B, label, tok.qwen2, split_max_size=4 * GB)
        qfiles += _files(imgs, _shards(f"qwen2.5-7b-instruct-{name}", n))
    q2k = ggufs.build_model_gguf(QWEN25_7B, "Q2_K", tok.qwen2)
    qfiles += _files(q2k, ["qwen2.5-7b-instruct-q2_k.gguf"])
    qwen_total = q2k[0].n_params
    repos.append(FakeRepo(
        "Qwen/Qwen2.5-7B-Instruct-GGUF", qfiles + [_readme("Qwen/Qwen2.5-7B-Instruct-GGUF", "apache-2.0", None)],
        downloads=120_000, likes=400, trending_score=20, created_at="2024-09-17T12:00:00.000Z",
        last_modified="2024-09-20T09:30:00.000Z", license="apache-2.0", base_model="Qwen/Qwen2.5-7B-Instruct",
        tags=["gguf", "text-generation", "chat", "conversational"],
        gguf=_gguf_field(QWEN25_7B, qwen_total, CHATML, "<|endoftext|>", "<|im_end|>")))

    # unsloth: dynamic (UD-) quants in the root, BF16 split in its own folder.
    u = "Qwen3-30B-A3B"
    ufiles = []
    for label in ("Q4_K_M", "UD-Q4_K_XL", "UD-IQ1_S", "Q8_0"):
        ufiles += _files(ggufs.build_model_gguf(QWEN3_30B_A3B, label, tok.qwen2), [f"{u}-{label}.gguf"])
    bf16 = ggufs.build_model_gguf(QWEN3_30B_A3B, "BF16", tok.qwen2, split_max_size=50 * GB)
    ufiles += _files(bf16, _shards(f"BF16/{u}-BF16", len(bf16)))
    repos.append(FakeRepo(
        f"unsloth/{u}-GGUF", ufiles + [_opaque("imatrix_unsloth.dat", 2_134_000), _readme(u, "apache-2.0", "Qwen/Qwen3-30B-A3B")],
        downloads=210_000, likes=700, trending_score=55, created_at="2025-04-28T20:00:00.000Z",
        last_modified="2025-06-12T07:45:00.000Z", license="apache-2.0", base_model="Qwen/Qwen3-30B-A3B",
        tags=["gguf", "text-generation", "unsloth", "qwen3_moe", "imatrix", "conversational"],
        gguf=_gguf_field(QWEN3_30B_A3B, bf16[0].n_params, CHATML, "<|endoftext|>", "<|im_end|>")))

    # unsloth vision repo: mmproj side files next to the model.
    v = "Qwen2.5-VL-7B-Instruct"
    vfiles = []
    for label in ("Q4_K_M", "UD-Q4_K_XL"):
        vfiles += _files(ggufs.build_model_gguf(QWEN25_VL_7B, label, tok.qwen2), [f"{v}-{label}.gguf"])
    for type_name in ("F16", "BF16", "F32"):
        img = ggufs.build_mmproj_gguf(QWEN25_VL_VISION, type_name)
        vfiles.append(FakeFile(f"mmproj-{type_name}.gguf", img.header, img.size, n_params=img.n_params))
    repos.append(FakeRepo(
        f"unsloth/{v}-GGUF", vfiles + [_readme(v, "apache-2.0", "Qwen/Qwen2.5-VL-7B-Instruct")],
        downloads=33_000, likes=95, trending_score=8, last_modified="2025-05-03T11:00:00.000Z", license="apache-2.0",
        pipeline_tag="image-text-to-text", tags=["gguf", "image-text-to-text", "unsloth", "qwen2_5_vl"],
        gguf=_gguf_field(QWEN25_VL_7B, vfiles[0].n_params, CHATML, "<|endoftext|>", "<|im_end|>")))

    # TheBloke: `model.Q4_K_M.gguf`, lower-case stem.
    tb = []
    for label in ("Q4_K_M", "Q5_K_M"):
        tb += _files(ggufs.build_model_gguf(LLAMA_2_7B, label, tok.spm32k), [f"llama-2-7b-chat.{label}.gguf"])
    repos.append(FakeRepo(
        "TheBloke/Llama-2-7B-Chat-GGUF", tb + [_readme("TheBloke/Llama-2-7B-Chat-GGUF", "llama2", None)],
        downloads=45_000, likes=480, trending_score=1, created_at="2023-09-04T16:00:00.000Z",
        last_modified="2023-10-14T21:36:33.000Z", license="llama2", tags=["gguf", "text-generation", "llama"],
        gguf=_gguf_field(LLAMA_2_7B, tb[0].n_params, "", "<s>", "</s>")))

    # google: gated (manual approval); metadata is public, the files need an accepted token.
    g = ggufs.build_model_gguf(GEMMA3_1B, "Q4_0", tok.gemma3, recipe=QuantRecipe(2, "Q4_0"))
    repos.append(FakeRepo(
        "google/gemma-3-1b-it-qat-q4_0-gguf", _files(g, ["gemma-3-1b-it-q4_0.gguf"]) + [_readme("gemma", "gemma", None)],
        downloads=25_000, likes=160, trending_score=6, last_modified="2025-04-15T00:00:00.000Z", gated="manual",
        license="gemma", tags=["gguf", "gemma3", "text-generation"],
        gguf=_gguf_field(GEMMA3_1B, g[0].n_params, "", "<bos>", "<eos>")))

    # A private repo only its owner's token may read.
    repos.append(FakeRepo(
        "someuser/private-stories-GGUF", _files(stories15, ["stories15M-Q4_0.gguf"]), private=True,
        downloads=0, likes=0, tags=["gguf"], license="mit",
        gguf={"total": stories15[0].n_params, "architecture": "llama", "context_length": 256}))

    # Not a GGUF repo (safetensors, gated): the `gguf` filter must leave it out.
    repos.append(FakeRepo(
        "meta-llama/Llama-3.1-8B-Instruct",
        [_opaque(f"model-0000{i}-of-00004.safetensors", 4_976_698_672) for i in range(1, 5)]
        + [_text("config.json", '{"architectures": ["LlamaForCausalLM"]}')],
        downloads=5_000_000, likes=4000, trending_score=30, gated="manual", library_name="transformers",
        license="llama3.1", tags=["transformers", "safetensors", "llama", "text-generation"]))
    return repos


@functools.lru_cache(maxsize=1)
def default_repos() -> tuple[FakeRepo, ...]:
    """The catalog, built once per test session."""
    return tuple(build_repos())


# --- the Advisor's extra repos ----------------------------------------------------------------
# Kept out of ``default_repos`` so the searches, counts and screenshots other tests pin keep their
# results; ``advisor_repos`` is the default catalog plus these. They add what ranking and comparing
# need on top of it: a big dense model (VRAM is king) beside the MoE one, a coder, an embedding
# model, an ungated sliding-window vision model, and a non-commercial license.

LLAMA_3_8B = ModelShape("llama", "L3 8B Stheno v3.2", "8B", 32, 4096, 14336, 32, 8, 8192, rope_freq_base=500000.0)
QWEN25_CODER_32B = ModelShape("qwen2", "Qwen2.5 Coder 32B Instruct", "32B", 64, 5120, 27648, 40, 8, 32768,
                              qkv_bias=True)
QWEN3_EMBEDDING_06B = ModelShape("qwen3", "Qwen3 Embedding 0.6B", "0.6B", 28, 1024, 3072, 16, 8, 32768, head_dim=128,
                                 qk_norm=True, tied_embeddings=True)
GEMMA3_4B = ModelShape("gemma3", "Gemma 3 4b It", "4B", 34, 2560, 10240, 8, 4, 131072, head_dim=256,
                       tied_embeddings=True, sliding_window=1024, rope_freq_base=1000000.0)
GEMMA3_VISION = VisionShape("gemma3", 27, 1152, 4304, 16, image_size=896, patch_size=14, projection_dim=2560)


def build_advisor_repos() -> list[FakeRepo]:
    """The extra repos (about a second to build: real tokenizers in every header)."""
    tok = _Tokenizers()
    repos: list[FakeRepo] = []

    # bartowski: a dense 32B coder; at Q4_K_M about the size of Qwen3-30B-A3B, but every weight is read per token.
    c = "Qwen2.5-Coder-32B-Instruct"
    cfiles = []
    for label in ("Q3_K_M", "IQ4_XS", "Q4_K_M", "Q6_K", "Q8_0"):
        cfiles += _files(ggufs.build_model_gguf(QWEN25_CODER_32B, label, tok.qwen2), [f"{c}-{label}.gguf"])
    repos.append(FakeRepo(
        f"bartowski/{c}-GGUF", cfiles + [_opaque(f"{c}.imatrix", 7_100_000), _readme(c, "apache-2.0", f"Qwen/{c}")],
        downloads=52_000, likes=210, trending_score=9, created_at="2024-11-12T00:00:00.000Z",
        last_modified="2024-11-13T10:00:00.000Z", license="apache-2.0", base_model=f"Qwen/{c}",
        tags=["gguf", "code", "codeqwen", "chat", "qwen", "qwen-coder", "text-generation", "conversational"],
        gguf=_gguf_field(QWEN25_CODER_32B, cfiles[0].n_params, CHATML, "<|endoftext|>", "<|im_end|>")))

    # bartowski: a Llama 3 roleplay fine-tune under a non-commercial license.
    s = "L3-8B-Stheno-v3.2"
    sfiles = []
    for label in ("Q4_K_M", "Q6_K", "Q8_0"):
        sfiles += _files(ggufs.build_model_gguf(LLAMA_3_8B, label, tok.llama3), [f"{s}-{label}.gguf"])
    repos.append(FakeRepo(
        f"bartowski/{s}-GGUF", sfiles + [_readme(s, "cc-by-nc-4.0", f"Sao10K/{s}")],
        downloads=8_800, likes=70, trending_score=1, created_at="2024-06-06T00:00:00.000Z",
        last_modified="2024-06-07T00:00:00.000Z", license="cc-by-nc-4.0", base_model=f"Sao10K/{s}",
        tags=["gguf", "text-generation", "roleplay", "conversational"],
        gguf=_gguf_field(LLAMA_3_8B, sfiles[0].n_params, "{% for m in messages %}...{% endfor %}",
                         "<|begin_of_text|>", "<|eot_id|>")))

    # Qwen: an embedding model (a specialist: never "chat", whatever its template says).
    e = "Qwen3-Embedding-0.6B"
    efiles = []
    for label, name in (("Q8_0", "Q8_0"), ("F16", "f16")):
        efiles += _files(ggufs.build_model_gguf(QWEN3_EMBEDDING_06B, label, tok.qwen2), [f"{e}-{name}.gguf"])
    repos.append(FakeRepo(
        f"Qwen/{e}-GGUF", efiles + [_readme(f"Qwen/{e}-GGUF", "apache-2.0", f"Qwen/{e}")],
        downloads=41_000, likes=180, trending_score=15, created_at="2025-06-05T00:00:00.000Z",
        last_modified="2025-06-10T00:00:00.000Z", license="apache-2.0", base_model=f"Qwen/{e}",
        pipeline_tag="feature-extraction",
        tags=["gguf", "sentence-transformers", "sentence-similarity", "feature-extraction",
              "text-embeddings-inference"],
        gguf=_gguf_field(QWEN3_EMBEDDING_06B, efiles[0].n_params, CHATML, "<|endoftext|>", "<|im_end|>")))

    # unsloth: Gemma 3 4B, ungated: sliding-window attention (1024 tokens) and a vision projector.
    g = "gemma-3-4b-it"
    gfiles = []
    for label in ("Q4_K_M", "Q8_0"):
        gfiles += _files(ggufs.build_model_gguf(GEMMA3_4B, label, tok.gemma3), [f"{g}-{label}.gguf"])
    proj = ggufs.build_mmproj_gguf(GEMMA3_VISION, "F16")
    gfiles.append(FakeFile("mmproj-F16.gguf", proj.header, proj.size, n_params=proj.n_params))
    repos.append(FakeRepo(
        f"unsloth/{g}-GGUF", gfiles + [_readme(g, "gemma", f"google/{g}")],
        downloads=95_000, likes=140, trending_score=11, created_at="2025-03-12T00:00:00.000Z",
        last_modified="2025-05-20T00:00:00.000Z", license="gemma", base_model=f"google/{g}",
        pipeline_tag="image-text-to-text", tags=["gguf", "gemma3", "unsloth", "image-text-to-text"],
        gguf=_gguf_field(GEMMA3_4B, gfiles[0].n_params, "", "<bos>", "<eos>")))
    return repos


@functools.lru_cache(maxsize=1)
def advisor_repos() -> tuple[FakeRepo, ...]:
    """The default catalog and the Advisor's extra repos, built once per test session."""
    return default_repos() + tuple(build_advisor_repos())
