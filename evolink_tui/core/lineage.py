"""Lineage: where a result came from and what was made from it.

Every record that iterated on a result knows its parent (record id and result index, in
the history). :func:`lineage` climbs from a record to the first of its line and returns
the whole tree below that one, read in one query; it is bounded (generations and
records) and safe against a damaged history that loops.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from .errors import ValidationError
from .gallery import items_of
from .history import History, TaskRecord

MAX_DEPTH = 100
MAX_NODES = 10_000


@dataclass
class LineageNode:
    record: TaskRecord
    children: list[LineageNode] = field(default_factory=list)

    @property
    def from_result(self) -> int | None:
        """Which result of the parent (from 0) this one iterated on."""
        return self.record.parent[1] if self.record.parent else None

    def walk(self, depth: int = 0) -> Iterator[tuple[int, LineageNode]]:
        """(depth, node) of this node and everything below, parents before children."""
        stack = [(depth, self)]
        while stack:
            level, node = stack.pop()
            yield level, node
            stack.extend((level + 1, child) for child in reversed(node.children))

    def to_json(self) -> dict:
        """Nested: the record's summary, its result files, and its children."""
        record = self.record
        built: dict = {}
        for _, node in reversed(list(self.walk())):  # children first, without recursion
            r = node.record
            built[r.id] = {
                "record_id": r.id,
                "parent": {"record_id": r.parent[0], "result": r.parent[1] + 1} if r.parent else None,
                "task_id": r.task_id,
                "state": r.state,
                "model": r.model,
                "prompt": r.prompt,
                "results": [item.to_json() for item in items_of(r)],
                "children": [built[child.record.id] for child in node.children],
            }
        return built[record.id]


@dataclass
class Lineage:
    root: LineageNode  # the first of the line
    focus: int  # the record asked about
    truncated: bool = False  # more generations or records than the bounds

    def node(self, record_id: int) -> LineageNode | None:
        return next((node for _, node in self.root.walk() if node.record.id == record_id), None)

    def ancestors(self) -> list[TaskRecord]:
        """From the root down to the focus's parent."""
        path: list[TaskRecord] = []

        def down(node: LineageNode) -> bool:
            if node.record.id == self.focus:
                return True
            path.append(node.record)
            if any(down(child) for child in node.children):
                return True
            path.pop()
            return False

        down(self.root)
        return path

    def to_json(self) -> dict:
        return {
            "record_id": self.focus,
            "root": self.root.record.id,
            "ancestors": [r.id for r in self.ancestors()],
            "truncated": self.truncated,
            "tree": self.root.to_json(),
        }


def lineage(history: History, record_id: int, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Lineage:
    """The tree of ``record_id``'s line, from its first ancestor down.

    Raises ValidationError when the history has no such record. Run it in a thread.
    """
    record = history.get(record_id)
    if record is None:
        raise ValidationError("record_id", record_id, "a record id listed by `evolink-tui history`")
    root, seen, truncated = record, {record.id}, False
    while root.parent is not None:
        parent = history.get(root.parent[0])
        if parent is None or parent.id in seen:  # the parent's record is gone, or a loop
            break
        if len(seen) > max_depth:
            truncated = True
            break
        seen.add(parent.id)
        root = parent
    records = history.descendants(root.id, max_depth=max_depth, limit=max_nodes + 1)
    if len(records) > max_nodes:
        records, truncated = records[:max_nodes], True
    nodes = {r.id: LineageNode(r) for r in records}
    for r in records:  # id order: children join their parent's list oldest first
        if r.id != root.id and r.parent is not None and r.parent[0] in nodes:
            nodes[r.parent[0]].children.append(nodes[r.id])
    if record.id not in nodes:  # cut off by the bounds: show at least the way to it
        nodes[record.id] = LineageNode(record)
    return Lineage(nodes[root.id], record.id, truncated)
