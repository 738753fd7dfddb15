"""rows_text: tables of records one compact object a line, encoded once per table."""

from __future__ import annotations

import json

from meshc.backends.base import EncodedRows, rows_text


def test_tables_are_written_one_row_a_line() -> None:
    doc = {"b": 1, "a": {"rows": [{"y": 2, "x": [1, 2]}, {"x": None, "y": 1.5}]}}
    assert rows_text(doc) == (
        '{\n'
        '  "a": {\n'
        '    "rows": [\n'
        '      {"x":[1,2],"y":2},\n'
        '      {"x":null,"y":1.5}\n'
        '    ]\n'
        '  },\n'
        '  "b": 1\n'
        '}\n')


def test_a_row_boundary_inside_a_string_or_a_nested_table_keeps_rows_apart() -> None:
    rows = [{"name": "a},{b", "n": 1}, {"name": "c", "sub": [{"k": 1}, {"k": 2}]}, {"n": 3}]
    text = rows_text({"rows": rows})
    lines = text.splitlines()[2:-2]
    assert lines == ['    {"n":1,"name":"a},{b"},',
                     '    {"name":"c","sub":[{"k":1},{"k":2}]},',
                     '    {"n":3}']
    assert json.loads(text) == {"rows": rows}


def test_encoded_rows_are_written_as_they_are() -> None:
    rows = EncodedRows(['{"a":1}', '{"a":2}'])
    assert rows_text({"t": rows, "u": []}) == '{\n  "t": [\n    {"a":1},\n    {"a":2}\n  ],\n  "u": []\n}\n'
    assert rows_text({"t": EncodedRows()}) == '{"t":[]}\n'
