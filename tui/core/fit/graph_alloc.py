"""A replay of ggml's graph allocator: how big a compute buffer a graph needs.

llama.cpp sizes its compute buffers by running ggml-alloc over a worst-case graph
(``llama_context::sched_reserve`` -> ``ggml_backend_sched_reserve`` -> ``ggml_gallocr``).
The size is not the sum of the activations: tensors are freed after their last consumer,
some ops write into their input (in place), and a best-fit allocator packs the rest, leaving
holes. This module mirrors the rules of ggml/src/ggml-alloc.c (vendored in llama-cpp-python
0.3.36) to reproduce the buffer size from a graph of tensor sizes:

* leafs (graph inputs such as token ids, positions, the KQ mask) are allocated first, in order;
* nodes are allocated in graph order; a node whose op is in ``ggml_op_can_inplace`` reuses the
  buffer of a source that owns its memory (a view never does: ``ggml_gallocr_is_own`` is false
  for views), has no other pending consumer and no views of it (``ggml_gallocr_allocate_node``);
* a tensor is freed once its last consumer is allocated; a view's source once the view's
  consumers and all other views are done (outputs never);
* ``ggml_dyn_tallocr``: best fit among the free blocks other than the last, otherwise the last
  (growing) block; sizes rounded up to the buffer's alignment; a freed block merges with its
  neighbours. The buffer is the high-water mark.

External tensors (weights, the KV cache) are not part of the replayed graph. Sizes are bytes.
"""

from __future__ import annotations

from typing import TypeAlias

_NODE, _LEAF, _VIEW, _SINK = 0, 1, 2, 3

#: The allocator at a ``mark()``: the buffer's high-water mark and its free blocks as (offset, size).
AllocatorState: TypeAlias = tuple[int, tuple[tuple[int, int], ...]]


class GraphBuilder:
    """A graph as tensors in ggml's execution order; the methods return tensor ids.

    Stored as parallel lists (this runs on every slider tick, so no per-tensor objects).
    ``mark()`` records a checkpoint (e.g. a layer start) at which ``replay`` snapshots the allocator.
    """

    __slots__ = ("kind", "size", "srcs", "view_of", "inplace", "output", "marks")

    def __init__(self) -> None:
        self.kind: list[int] = []
        self.size: list[int] = []
        self.srcs: list[tuple[int, ...]] = []
        self.view_of: list[int] = []
        self.inplace: list[bool] = []
        self.output: list[bool] = []
        self.marks: list[int] = []

    def _add(self, kind: int, size: int, srcs: tuple[int, ...], view_of: int = -1, inplace: bool = False,
             output: bool = False) -> int:
        self.kind.append(kind)
        self.size.append(size)
        self.srcs.append(srcs)
        self.view_of.append(view_of)
        self.inplace.append(inplace)
        self.output.append(output)
        return len(self.kind) - 1

    def leaf(self, size: int) -> int:
        """A graph input allocated before any node (``ggml_set_input`` tensors)."""
        return self._add(_LEAF, size, ())

    def node(self, size: int, *srcs: int, inplace: bool = False, output: bool = False) -> int:
        """An op writing ``size`` bytes; ``inplace`` for ops in ``ggml_op_can_inplace``."""
        return self._add(_NODE, size, tuple(s for s in srcs if s >= 0), inplace=inplace, output=output)

    def view(self, src: int) -> int:
        """A reshape / permute / view node sharing ``src``'s memory (a view of a view points at the base)."""
        base = self.view_of[src] if self.kind[src] == _VIEW else src
        return self._add(_VIEW, 0, (src,), view_of=base)

    def sink(self, *srcs: int) -> int:
        """A node writing into external memory (``set_rows`` into the KV cache): it only consumes."""
        return self._add(_SINK, 0, tuple(s for s in srcs if s >= 0))

    def mark(self) -> None:
        self.marks.append(len(self.kind))

    def __len__(self) -> int:
        return len(self.kind)


class DynAllocator:
    """``ggml_dyn_tallocr`` with one chunk: a best-fit free list and a high-water mark (bytes)."""

    __slots__ = ("alignment", "blocks", "max_size")

    def __init__(self, alignment: int) -> None:
        self.alignment = alignment
        self.blocks: list[list[int]] = [[0, 1 << 62]]  # [offset, size] sorted by offset; the last is open-ended
        self.max_size = 0

    def aligned(self, size: int) -> int:
        a = self.alignment
        return (size + a - 1) // a * a

    def alloc(self, size: int) -> int:
        size = self.aligned(size)
        blocks = self.blocks
        best = -1
        best_size = 0
        for i in range(len(blocks) - 1):
            bsize = blocks[i][1]
            if bsize >= size and (best < 0 or bsize <= best_size):
                best, best_size = i, bsize
        if best < 0:
            best = len(blocks) - 1
        block = blocks[best]
        offset = block[0]
        block[0] += size
        block[1] -= size
        if block[1] == 0:
            del blocks[best]
        if offset + size > self.max_size:
            self.max_size = offset + size
        return offset

    def free(self, offset: int, size: int) -> None:
        size = self.aligned(size)
        blocks = self.blocks
        for i, block in enumerate(blocks):
            if block[0] + block[1] == offset:
                block[1] += size
                if i + 1 < len(blocks) and block[0] + block[1] == blocks[i + 1][0]:
                    block[1] += blocks[i + 1][1]
                    del blocks[i + 1]
                return
            if offset + size == block[0]:
                block[0] = offset
                block[1] += size
                if i > 0 and blocks[i - 1][0] + blocks[i - 1][1] == block[0]:
                    blocks[i - 1][1] += block[1]
                    del blocks[i]
                return
        pos = 0
        while pos < len(blocks) and blocks[pos][0] < offset:
            pos += 1
        blocks.insert(pos, [offset, size])

    def snapshot(self) -> AllocatorState:
        return self.max_size, tuple((b[0], b[1]) for b in self.blocks)


def replay(graph: GraphBuilder, alignment: int = 32, trace: list[tuple[int, int, int]] | None = None
           ) -> tuple[int, list[AllocatorState]]:
    """Replay ggml-alloc over ``graph`` (``ggml_gallocr_alloc_graph_impl``).

    Returns the buffer size (bytes) and the allocator's state at each ``graph.mark()``.
    ``trace``, if given, receives ``(tensor id, offset, size)`` for every allocation.
    """
    kind, size, srcs, view_of = graph.kind, graph.size, graph.srcs, graph.view_of
    inplace, output = graph.inplace, graph.output
    n = len(kind)
    children = [0] * n
    views = [0] * n
    for i in range(n):
        k = kind[i]
        if k == _LEAF:
            continue
        if k == _VIEW:
            views[view_of[i]] += 1
        for s in srcs[i]:
            children[s] += 1

    alloc = DynAllocator(alignment)
    addr = [-1] * n
    owned = [False] * n
    for i in range(n):
        if kind[i] == _LEAF:
            addr[i] = alloc.alloc(size[i])
            owned[i] = True
            if trace is not None:
                trace.append((i, addr[i], size[i]))

    marks = graph.marks
    snapshots: list[AllocatorState] = []
    next_mark = 0
    for i in range(n):
        while next_mark < len(marks) and marks[next_mark] == i:
            snapshots.append(alloc.snapshot())
            next_mark += 1
        k = kind[i]
        if k == _LEAF:
            continue
        if k == _NODE:
            reused = False
            if inplace[i]:
                for s in srcs[i]:
                    if (kind[s] != _VIEW and owned[s] and not output[s] and size[s] == size[i]
                            and children[s] == 1 and views[s] == 0):
                        addr[i] = addr[s]
                        owned[s] = False
                        reused = True
                        break
            if not reused:
                addr[i] = alloc.alloc(size[i])
            owned[i] = True
            if trace is not None:
                trace.append((i, addr[i], size[i]))
        for s in srcs[i]:
            children[s] -= 1
            if children[s] == 0 and views[s] == 0:
                if kind[s] == _VIEW:
                    base = view_of[s]
                    views[base] -= 1
                    if views[base] == 0 and children[base] == 0 and owned[base] and not output[base]:
                        alloc.free(addr[base], size[base])
                        owned[base] = False
                elif owned[s] and not output[s]:
                    alloc.free(addr[s], size[s])
                    owned[s] = False
    while next_mark < len(marks):
        snapshots.append(alloc.snapshot())
        next_mark += 1
    return alloc.max_size, snapshots


def replay_peak(graph: GraphBuilder, alignment: int = 32, trace: list[tuple[int, int, int]] | None = None) -> int:
    """The compute buffer ggml-alloc would reserve for ``graph`` (bytes)."""
    return replay(graph, alignment, trace)[0]
