from __future__ import annotations

import pickle

import pytest

import zarrlake
from zarrlake import errors


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.NotFoundError, KeyError),
        (errors.AlreadyExistsError, FileExistsError),
        (errors.InvalidInputError, ValueError),
        (errors.OutOfRangeError, ValueError),
        (errors.UnsupportedSchemeError, ValueError),
        (errors.StorageError, OSError),
        (errors.MissingDependencyError, ImportError),
        (errors.StorageResolutionError, OSError),
        (errors.SymlinkLoopError, errors.StorageResolutionError),
        (errors.PathNotFoundError, FileNotFoundError),
        (errors.PathNotFoundError, KeyError),
        (errors.IsDirectoryError, IsADirectoryError),
        (errors.NotDirectoryError, NotADirectoryError),
    ],
)
def test_each_error_is_also_its_builtin(cls: type, builtin: type) -> None:
    error = cls("thing at fault", subject="s3://b/a.zarr", hint="do this")
    assert isinstance(error, errors.ZarrlakeError)
    assert isinstance(error, builtin)
    with pytest.raises(builtin):
        raise error


def test_every_public_error_is_rooted() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.ZarrlakeError)
        assert getattr(zarrlake, name) is getattr(errors, name)


def test_message_is_readable_even_for_key_errors() -> None:
    error = errors.NotFoundError("no array 'sst' in s3://b/a.zarr", subject="sst", hint="list it")
    assert str(error) == "no array 'sst' in s3://b/a.zarr — list it"  # not KeyError's repr
    assert error.subject == "sst"


def test_errors_survive_pickling_with_their_fields() -> None:
    error = errors.LockedError("locked by host:1", subject="u", hint="wait", owner={"pid": 1})
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is errors.LockedError
    assert (str(copy), copy.subject, copy.hint, copy.owner) == (
        str(error),
        "u",
        "wait",
        {"pid": 1},
    )
