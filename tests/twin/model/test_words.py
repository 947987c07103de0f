"""Numbers in words: one time format, °C, values that crossed a limit, signed headroom, edits."""

from __future__ import annotations

from dctwin.twin.model.commands import Macro, SetHallProperty, SetProperty
from dctwin.twin.model.words import crossed, hms, is_negative, set_property_text, signed


def test_times_are_hh_mm_ss_everywhere():
    assert hms(0) == "00:00:00" and hms(59.999) == "00:00:59" and hms(780.0) == "00:13:00"
    assert hms(3600 + 21 * 60 + 40.7) == "01:21:40" and hms(-3) == "00:00:00"
    assert hms(100 * 3600) == "100:00:00"


def test_a_value_that_crossed_shows_the_decimals_it_takes_to_see_it():
    assert crossed(27.004, 27.0) == "27.004"  # never "27.00 °C over recommended 27 °C"
    assert crossed(32.0004, 32.0) == "32.0004"
    assert crossed(33.12, 32.0) == "33.1"
    assert crossed(27.02, 27.0) == "27.02"
    assert crossed(31.96, 32.0, above=False) == "31.96" and crossed(30.0, 32.0, above=False) == "30.0"


def test_headroom_is_signed_never_minus_zero():
    assert signed(75.2) == "+75" and signed(-12.4) == "-12"
    assert signed(-0.4) == "0" and signed(0.4) == "0" and signed(0.0) == "0"
    assert is_negative(-0.6) and not is_negative(-0.4)


def test_edits_read_as_words():
    assert SetProperty("R-A05", "it_kw", 99.0).text == "Set IT power of R-A05 to 99 kW"
    assert SetProperty("R-A05", "feeds", ("PDU-A", "PDU-B")).text == "Set feeds of R-A05 to PDU-A and PDU-B"
    assert SetProperty("R-A05", "airflow_m3s", None).text == "Set airflow of R-A05 to the default"
    assert SetProperty("R-A05", "id", "R-X").text == "Rename R-A05 to R-X"
    assert SetHallProperty("H1", "supply_c", 18.5).text == "Set supply air of hall H1 to 18.5 °C"
    assert set_property_text("3 elements", "facing", "S") == "Set front facing of 3 elements to S"
    macro = Macro((SetProperty("a", "it_kw", 5.0),), set_property_text("1 elements", "it_kw", 5.0))
    assert macro.text.startswith("Set IT power of")
