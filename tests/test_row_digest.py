"""The rows digest writes each row's JSON exactly as it always has: audit records already stored must verify."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.services.canonical import RowsDigest

_cells = st.one_of(st.text(), st.integers(), st.none(), st.floats(allow_nan=False), st.booleans())


@given(st.lists(st.lists(_cells, max_size=20), min_size=1, max_size=30))
def test_the_digest_is_sha256_of_each_rows_json_as_json_dumps_writes_it(rows: list[list[Any]]) -> None:
    digest = RowsDigest()
    digest.add_rows("drawdown", [list(r) for r in rows])
    text = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)
    per_table = hashlib.sha256(text.encode()).hexdigest()
    assert digest.hexdigest() == hashlib.sha256(f"drawdown:{per_table}".encode()).hexdigest()
    assert digest.count == len(rows)


def test_a_value_json_cannot_write_is_refused_as_json_refuses_it() -> None:
    from decimal import Decimal

    with pytest.raises(TypeError, match="not JSON serializable"):
        RowsDigest().add_rows("drawdown", [["JMR", Decimal("1.5")]])
