"""Relationships between datasets: linking (one or many parents) and id resolution."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import insert, select, update

from zarrlake.catalog import schema as s
from zarrlake.catalog._engine import read_connection, write_transaction
from zarrlake.catalog._values import absolute_path, utcnow
from zarrlake.catalog._writes import batches, lookup_paths
from zarrlake.errors import InvalidInputError, NotFoundError


def is_id(key: int | str) -> bool:
    """Return whether a dataset key is a record id (an int or digits), not a path."""
    return isinstance(key, int) or (isinstance(key, str) and key.isdigit())


class LinksMixin:
    """The :class:`~zarrlake.catalog.Catalog` methods about relationships."""

    engine: Any

    @property
    def display_url(self) -> str:
        """The catalog URL without password (implemented by ``Catalog``)."""
        raise NotImplementedError

    def get(self, key: int | str) -> dict[str, Any]:
        """Return one observation by id or path (implemented by ``Catalog``)."""
        raise NotImplementedError

    def link(
        self,
        parent: int | str,
        child: int | str,
        relationship_type: str = "derived_from",
        metadata: Mapping[str, Any] | None = None,
    ) -> int:
        """Record that ``child`` relates to ``parent`` (ids or paths); return the link id.

        Linking the same pair with the same type again replaces its metadata when
        ``metadata`` is given, and keeps it when ``metadata`` is ``None``.

        Raises
        ------
        NotFoundError
            For an unknown parent or child.
        InvalidInputError
            When parent and child are the same dataset, when the link would close a
            cycle (the child is already an ancestor of the parent, by links of any
            type), or when the type is empty.
        """
        return self.link_many([parent], child, relationship_type, metadata)[0]

    def link_many(
        self,
        parents: Iterable[int | str],
        child: int | str,
        relationship_type: str = "derived_from",
        metadata: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """Link many parents (for example a conversion's inputs) to one child at once.

        Returns
        -------
        list of int
            The link ids, in the order of ``parents``.

        Raises
        ------
        NotFoundError
            Naming the first unknown parent, or an unknown child (nothing is written).
        InvalidInputError
            When a parent is the child, a link would close a cycle, or the type is empty
            (nothing is written).
        """
        if not relationship_type:
            raise InvalidInputError("a relationship needs a type", subject="relationship_type")
        child_id = int(self.get(child)["id"])
        keys = list(parents)
        parent_ids = self.resolve_ids(keys)
        if child_id in parent_ids:
            raise InvalidInputError(
                f"dataset {child_id} cannot be related to itself", subject=str(child)
            )
        table = s.dataset_relationships
        given = None if metadata is None else {"relationship_metadata": dict(metadata)}
        with write_transaction(self.engine) as connection:
            _refuse_cycles(connection, parent_ids, child_id)
            existing: dict[int, int] = {}
            for part in batches(parent_ids):
                rows = connection.execute(
                    select(table.c.parent_dataset_id, table.c.id).where(
                        table.c.child_dataset_id == child_id,
                        table.c.relationship_type == relationship_type,
                        table.c.parent_dataset_id.in_(part),
                    )
                )
                existing.update({int(p): int(i) for p, i in rows})
            if existing and given is not None:
                connection.execute(
                    update(table).where(table.c.id.in_(list(existing.values()))).values(**given)
                )
            now = utcnow()
            for parent_id in dict.fromkeys(parent_ids):
                if parent_id not in existing:
                    inserted = connection.execute(
                        insert(table)
                        .values(
                            parent_dataset_id=parent_id,
                            child_dataset_id=child_id,
                            relationship_type=relationship_type,
                            created_at=now,
                            relationship_metadata=dict(metadata or {}),
                        )
                        .returning(table.c.id)
                    )
                    existing[parent_id] = int(inserted.scalar_one())
        return [existing[p] for p in parent_ids]

    def resolve_ids(self, keys: Iterable[int | str]) -> list[int]:
        """Turn ids and paths into record ids, in order.

        Raises
        ------
        NotFoundError
            Naming the first key no record has.
        """
        keys = list(keys)
        wanted_ids = [int(k) for k in keys if is_id(k)]
        wanted_paths = [str(k) for k in keys if not is_id(k)]
        wanted_paths += [absolute_path(p) for p in wanted_paths]
        with read_connection(self.engine) as connection:
            known_ids: set[int] = set()
            for part in batches(wanted_ids):
                known_ids.update(
                    connection.execute(
                        select(s.observations.c.id).where(s.observations.c.id.in_(part))
                    ).scalars()
                )
            by_path = lookup_paths(connection, wanted_paths, ())
        out = []
        for key in keys:
            match = by_path.get(str(key)) or by_path.get(absolute_path(str(key)))
            found = (
                (int(key) if int(key) in known_ids else None)
                if is_id(key)
                else (match["id"] if match else None)
            )
            if found is None:
                raise NotFoundError(
                    f"no dataset {key!r} in catalog {self.display_url}",
                    subject=str(key),
                    hint="register it first (zarrlake catalog register)",
                )
            out.append(int(found))
        return out


def _refuse_cycles(connection: Any, parent_ids: list[int], child_id: int) -> None:
    """Refuse links that would make a dataset its own ancestor (by links of any type)."""
    rel = s.dataset_relationships.c
    seed = select(rel.child_dataset_id.label("node")).where(rel.parent_dataset_id == child_id)
    walk = seed.cte("descendants", recursive=True)
    walk = walk.union(
        select(rel.child_dataset_id).select_from(
            s.dataset_relationships.join(walk, rel.parent_dataset_id == walk.c.node)
        )
    )
    for part in batches(sorted(set(parent_ids))):
        closing = connection.execute(
            select(walk.c.node).where(walk.c.node.in_(part)).limit(1)
        ).scalar()
        if closing is not None:
            raise InvalidInputError(
                f"linking dataset {closing} -> {child_id} would make a cycle: dataset "
                f"{child_id} is already an ancestor of {closing}",
                subject=str(closing),
                hint="lineage runs one way; check which dataset is the parent (input)",
            )
