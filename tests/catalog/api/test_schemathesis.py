"""Schemathesis generates requests from the OpenAPI document: no server error may come back.

Driven through its Python API (its pytest plugin does not run on pytest 9): one
Hypothesis run per operation, valid and invalid data, with the write token.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from tests.catalog.api.conftest import TOKEN, fill
from zarrlake.catalog import Catalog
from zarrlake.catalog.api import ServiceSettings, create_app

EXAMPLES = 40


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    folder = tmp_path_factory.mktemp("schemathesis")
    root = folder / "archive"
    root.mkdir()
    with Catalog(folder / "catalog.db") as catalog:
        fill(catalog, Path(root))
        app = create_app(
            ServiceSettings(catalog=catalog.url, token=TOKEN, roots=[str(root)]), catalog=catalog
        )
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


def operations() -> list[tuple[str, GenerationMode]]:
    """Every operation with valid data; those that take input also with invalid data."""
    with Catalog("sqlite://") as catalog:  # only the OpenAPI document is needed here
        app = create_app(ServiceSettings(), catalog=catalog)
        loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
        cases = []
        for result in loaded.get_all_operations():
            operation = result.ok()
            cases.append((operation.label, GenerationMode.POSITIVE))
            if operation.path_parameters or operation.query or operation.body:
                cases.append((operation.label, GenerationMode.NEGATIVE))
        return cases


@pytest.mark.parametrize(("label", "mode"), operations())
def test_no_request_gets_a_server_error(
    api_schema: object, label: str, mode: GenerationMode
) -> None:
    operation = api_schema.find_operation_by_label(label)  # type: ignore[attr-defined]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(
            checks=[not_a_server_error], headers={"Authorization": f"Bearer {TOKEN}"}
        )

    run()
