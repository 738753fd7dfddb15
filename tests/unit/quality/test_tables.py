"""The shipped tables are complete and cited; a user's table round-trips and fails
located."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from meshc.errors import MeshcError
from meshc.frontends import zoo
from meshc.quality.tables import (
    TrainTokens,
    load_measured,
    shipped_measured,
    train_tokens,
)


def test_every_zoo_model_has_its_training_tokens_or_the_reason() -> None:
    table = train_tokens().models
    assert sorted(table) == zoo.names()
    for name, entry in table.items():
        assert entry.source if entry.tokens else entry.why, name
    assert table["llama3-8b"].tokens == table["llama3-70b"].tokens == 15 * 10**12
    assert table["deepseek-v3"].trained.weights == "fp8"


def test_training_tokens_need_a_source_and_their_absence_a_reason() -> None:
    with pytest.raises(ValidationError, match="need a source"):
        TrainTokens(tokens=10, source=" ")
    with pytest.raises(ValidationError, match="say why"):
        TrainTokens(tokens=None)


def test_the_shipped_measured_table_round_trips(tmp_path: Path) -> None:
    table = shipped_measured()
    assert {e.model for e in table.entries} >= {"llama3-8b", "llama2-7b"}
    assert {e.weights for e in table.entries} == {"bf16", "int8", "int4"}
    file = tmp_path / "measured.yaml"
    rows = [e.model_dump(exclude_defaults=True) for e in table.entries]
    file.write_text(yaml.safe_dump({"entries": rows}, sort_keys=False), encoding="utf-8")
    assert load_measured(file) == table


def test_a_json_table_reads_too(tmp_path: Path) -> None:
    file = tmp_path / "q.json"
    file.write_text('{"entries": [{"model": "m", "weights": "int4", "acts": "bf16", "kv": "bf16",'
                    ' "method": "RTN", "dataset": "c4", "perplexity": 9.5, "source": "mine"}]}',
                    encoding="utf-8")
    assert load_measured(file).entries[0].perplexity == 9.5


ENTRY = ("{model: m, weights: int4, acts: bf16, kv: bf16, method: RTN, dataset: c4, "
         "perplexity: 9.5, source: mine")


@pytest.mark.parametrize(("text", "where", "says"), [
    (f"entries:\n  - {ENTRY}}}\n  - {ENTRY.replace('9.5', '0.5')}}}\n",
     "entries[1].perplexity", "greater than or equal to 1"),
    (f"entries:\n  - {ENTRY.replace('int4', 'int3')}}}\n", "entries[0].weights", "int3"),
    (f"entries:\n  - {ENTRY}, color: red}}\n", "entries[0].color", "Extra inputs"),
    (f"entries:\n  - {ENTRY.replace(', source: mine', '')}}}\n", "entries[0].source",
     "required"),
    ("- just a list\n", None, "expected a mapping"),
])
def test_a_bad_user_table_names_the_file_and_the_place(tmp_path: Path, text: str,
                                                      where: str | None, says: str) -> None:
    file = tmp_path / "q.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(MeshcError) as e:
        load_measured(file)
    assert e.value.file == str(file) and e.value.where == where
    assert says in e.value.message


def test_a_missing_table_is_a_located_error(tmp_path: Path) -> None:
    with pytest.raises(MeshcError, match="no such quality table"):
        load_measured(tmp_path / "nope.yaml")
