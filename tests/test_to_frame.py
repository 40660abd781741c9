"""schema.to_frame's column builders: the fast paths (all int / str / number or None) give exactly
what pandas' general conversion gives, and other shapes fall back to it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dissect.schema import _floats, _ints, _strings

INTS = [[], [None], [None, None], [1, 2, 3], [1, None, -5], [0, 2**63 - 1, -(2**63)], [True, 2, None]]
STRS = [[], [None], ["a", None, ""], ["é", "x" * 1000, None], [1, "a", None], [b"bytes", None]]
FLOATS = [[], [None], [1.5, None, 2], [0, 1, 2], [float("inf"), None, -0.0]]


@pytest.mark.parametrize("values", INTS, ids=repr)
def test_ints_like_pandas(values):
    got = _ints(list(values), np, pd)
    want = pd.array(values, dtype="Int64")
    assert got.dtype == want.dtype
    pd.testing.assert_extension_array_equal(got, want)


def test_ints_beyond_int64_raise_as_pandas_does():
    with pytest.raises((OverflowError, TypeError, ValueError)):
        pd.array([2**64], dtype="Int64")
    with pytest.raises((OverflowError, TypeError, ValueError)):
        _ints([2**64, None], np, pd)


@pytest.mark.parametrize("values", STRS, ids=repr)
def test_strings_like_pandas(values):
    got = _strings(list(values), pd)
    want = pd.array([None if v is None else str(v) for v in values], dtype="string")
    assert got.dtype == want.dtype
    pd.testing.assert_extension_array_equal(got, want)


@pytest.mark.parametrize("values", FLOATS, ids=repr)
def test_floats_like_numpy(values):
    got = _floats(list(values), np)
    want = np.array([np.nan if v is None else v for v in values], dtype="float64")
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype
