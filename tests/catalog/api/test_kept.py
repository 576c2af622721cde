"""Answers kept until the catalog changes, each computed once however many ask."""

from __future__ import annotations

from pathlib import Path

from zarrlake.catalog import Catalog


def test_an_answer_computed_from_others_never_waits_for_itself(tmp_path: Path) -> None:
    import threading

    from zarrlake.catalog.api import kept

    # Coverage is computed from the groups, the groups from a scan's cube: answers
    # nested in answers. With locks shared by hash, one pair in 64 waited forever.
    found: list[int] = []

    def nested() -> None:
        with Catalog(f"sqlite:///{tmp_path / 'c.db'}") as catalog:
            for i in range(1000):
                found.append(
                    kept.cached(
                        catalog,
                        (f"outer-{i}",),
                        lambda i=i: kept.cached(catalog, (f"inner-{i}",), lambda: i),
                    )
                )

    worker = threading.Thread(target=nested, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), f"stuck after {len(found)} answers"
    assert found == list(range(1000)) and not kept._COMPUTING
