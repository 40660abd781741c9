"""Record classes get a generated __init__ (dissect.schema._fast_init): same signature, defaults,
errors and frozen instances as the dataclass one, for every registered table."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from dissect.analyzer import load_protocols
from dissect.schema import _fast_init, col, table_types


def _all_tables():
    import dissect.mime  # noqa: F401
    load_protocols()
    return sorted(table_types().items())


@pytest.mark.parametrize("name,cls", _all_tables(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_record_class_builds_like_a_dataclass(name, cls):
    fs = dataclasses.fields(cls)
    required = [f for f in fs if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    # distinct values per field, given positionally for the required ones and by keyword for the rest
    vals = {f.name: f"v{i}" for i, f in enumerate(fs)}
    r = cls(*[vals[f.name] for f in required], **{f.name: vals[f.name] for f in fs if f not in required})
    assert all(getattr(r, f.name) == vals[f.name] for f in fs)
    # defaults are the declared ones
    d = cls(*[vals[f.name] for f in required])
    for f in fs:
        if f not in required:
            want = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            assert getattr(d, f.name) == want, f.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(r, fs[0].name, "x")
    assert pickle.loads(pickle.dumps(r)) == r
    assert dataclasses.replace(r, **{fs[-1].name: "changed"}) != r
    assert not hasattr(r, "__dict__")                       # still slotted
    assert list(inspect.signature(cls).parameters) == [f.name for f in fs if f.init]
    if required:
        with pytest.raises(TypeError):
            cls()
    with pytest.raises(TypeError):
        cls(*[vals[f.name] for f in required], no_such_field=1)


def test_fast_init_is_used_and_matches_the_dataclass_one():
    class Row:          # what schema.record does, without registering a table
        a: int = col("a")
        b: str = col("b", default="x")
        c: tuple = col("c", default=())

    Row = dataclasses.dataclass(frozen=True, slots=True)(Row)
    _fast_init(Row)
    assert Row.__init__.__code__.co_filename.startswith("<record")
    plain = dataclasses.dataclass(frozen=True, slots=True)(type("Plain", (), {"__annotations__": {
        "a": int, "b": str, "c": tuple}, "b": "x", "c": ()}))
    for args, kw in [((1,), {}), ((1, "y"), {}), ((), {"a": 2, "c": (1,)}), ((3,), {"b": "z", "c": (2,)})]:
        assert dataclasses.astuple(Row(*args, **kw)) == dataclasses.astuple(plain(*args, **kw))
    for args, kw in [((), {}), ((1, 2, 3, 4), {}), ((1,), {"a": 1})]:
        with pytest.raises(TypeError):
            plain(*args, **kw)
        with pytest.raises(TypeError):
            Row(*args, **kw)
