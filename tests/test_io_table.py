"""The one table reader (nbtools.io.table): what the trace CSV, SECCM text and curve readers each relied on."""

from __future__ import annotations

import numpy as np
import pytest

from nbtools.errors import DataError, ParameterError
from nbtools.io.table import column_index, column_kinds, head_table, read_table, sniff_layout

ROWS = [(0.0, 1.5), (0.1, 2.5), (0.2, 3.0), (0.3, 2.0), (0.4, 1.0), (0.5, 0.5)]


def _write(tmp_path, text, name="t.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("sep, dec", [(",", "."), ("\t", "."), (";", "."), (";", ","), ("\t", ","), (" ", "."),
                                      ("   ", ",")])
def test_delimiters_and_decimal_marks(tmp_path, sep, dec):
    body = "".join(sep.join(f"{v:g}".replace(".", dec) for v in row) + "\n" for row in ROWS)
    labels = ["t/s", "I/pA"] if sep == " " else ["Time (s)", "Current / pA"]  # one space: labels without spaces
    t = read_table(_write(tmp_path, sep.join(labels) + "\n" + body))
    np.testing.assert_array_equal(t.values, np.array(ROWS))
    assert t.decimal == dec and t.delimiter == (r"\s+" if sep.strip(" ") == "" else sep)
    assert t.names == labels and t.labelled


def test_no_header_gives_numbered_columns(tmp_path):
    t = read_table(_write(tmp_path, "".join(f"{a},{b}\n" for a, b in ROWS)))
    assert t.names == ["column 0", "column 1"] and not t.labelled and t.first_row == 0


def test_comments_preamble_and_key_values(tmp_path):
    text = ("# exported by a lab script\n% another comment\nOperator: A. B.\nScan rate = 0.1 V/s\n"
            "E (mV)\tI/nA\n" + "".join(f"{a}\t{b}\n" for a, b in ROWS))
    t = read_table(_write(tmp_path, text))
    assert t.names == ["E (mV)", "I/nA"]
    assert t.header == {"Operator": "A. B.", "Scan rate": "0.1 V/s"}
    assert t.first_row == 5
    assert head_table(text) == (["E (mV)", "I/nA"], 2)  # two lines of preamble above the labels


def test_commented_header_line_still_names_the_columns(tmp_path):
    p = tmp_path / "savetxt.csv"
    np.savetxt(p, np.array(ROWS), delimiter=",", header="t (s),I (nA)")  # written as '# t (s),I (nA)'
    t = read_table(p)
    assert t.names == ["t (s)", "I (nA)"] and t.labelled


def test_comment_lines_inside_the_data_are_skipped_and_footers_dropped(tmp_path):
    rows = [f"{a},{b}" for a, b in ROWS]
    rows.insert(3, "# paused here")
    t = read_table(_write(tmp_path, "t,I\n" + "\n".join(rows) + "\nEnd of file,\n"))
    np.testing.assert_array_equal(t.values, np.array(ROWS))


def test_bad_cell_and_no_numbers_are_named(tmp_path):
    rows = [f"{a},{b}" for a, b in ROWS * 3]
    rows[12] = "0.2,oops"
    with pytest.raises(DataError, match=r"non-numeric value in data row 13.*oops"):
        read_table(_write(tmp_path, "t,I\n" + "\n".join(rows) + "\n"))
    with pytest.raises(DataError, match=r"words.txt: no numeric rows"):
        read_table(_write(tmp_path, "just\nwords\n", "words.txt"))
    with pytest.raises(ParameterError, match="decimal must be"):
        read_table(_write(tmp_path, "1,2\n"), decimal=":")


def test_forced_delimiter_names(tmp_path):
    p = _write(tmp_path, "a;b\n1,5;2\n3;4,25\n")
    assert read_table(p, delimiter="semicolon").values.tolist() == [[1.5, 2.0], [3.0, 4.25]]


def test_sniff_layout_prefers_more_fields():
    lines = ["x y", "1.0\t2.0\t3.0", "4.0\t5.0\t6.0"]
    assert sniff_layout(lines) == (1, "\t", ".", 3)
    assert sniff_layout(["no", "numbers"]) is None


def test_column_index_rules():
    names = ["Time (s)", "E_we (V)", "I1 (nA)", "I2 (nA)"]
    kw = dict(path="f.csv", what="channel")
    assert column_index("time (s)", names, **kw) == 0  # whole label, any case
    assert column_index("I2", names, **kw) == 3  # name without unit
    assert column_index("E", names, **kw) == 1  # unique prefix of the name
    assert column_index(-1, names, **kw) == 3
    with pytest.raises(ParameterError, match=r"'I' is ambiguous; columns found: 0: 'Time \(s\)'"):
        column_index("I", names, **kw)
    with pytest.raises(ParameterError, match="channel=4 out of range"):
        column_index(4, names, **kw)
    with pytest.raises(ParameterError, match="'Q' not found"):
        column_index("Q", names, **kw)
    with pytest.raises(ParameterError, match="index or name"):
        column_index(1.5, names, **kw)


def test_column_kinds():
    assert column_kinds(["t/s", "Ewe/V", "<I>/mA", "X (µm)", "cycle number"]) == [
        "time", "potential", "current", "length", None]


def test_decimal_comma_shown_only_further_down(tmp_path):
    """Integers or 1e-05 in the first rows say nothing about the decimal mark; a later row does."""
    rows = ["1e-05;2"] * 8 + ["0,5;2,25"]
    t = read_table(_write(tmp_path, "\n".join(rows) + "\n"))
    assert t.decimal == "," and t.values[-1].tolist() == [0.5, 2.25]
