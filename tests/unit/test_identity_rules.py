"""Who the child is, as each outside reader needs to know it (pure): every reader sees the
reference; an agency and a social worker the name, date of birth and consistent identifier, not
the UPN; the next school the UPN and year group too; a member of staff the name and year group;
the child protection file everything, parents and carers too; a child without an identity on
record, the reference alone."""

from __future__ import annotations

from datetime import date

import pytest

from models.identity import (
    Reader,
    carer_line,
    carers_on_record,
    identity_lines,
    matches,
    reader_of_receipt,
)

IDENTITY = {
    "upn": "A123456789012",
    "legal_forename": "Zoë",
    "legal_surname": "O'Brien",
    "preferred_forename": "Zo",
    "preferred_surname": None,
    "year_group": "R",
    "admission_date": "2024-09-03",
    "leaving_date": None,
    "child_identifier": None,
    "child_identifier_reason": "awaiting allocation",
    "carers": [
        {"name": "Ciarán", "relationship": "Step-father", "parental_responsibility": False},
        {
            "name": "Siobhán",
            "relationship": "Mother",
            "parental_responsibility": True,
            "phone": "07700 900123",
            "email": None,
        },
    ],
}
BORN = date(2020, 9, 1)


@pytest.mark.parametrize(
    ("reader", "labels"),
    [
        (Reader.AGENCY, ["safeshare reference", "Legal name", "Known as", "Date of birth",
                         "Consistent child identifier"]),
        (Reader.SOCIAL_WORKER, ["safeshare reference", "Legal name", "Known as", "Date of birth",
                                "Consistent child identifier"]),
        (Reader.RECEIVING_SCHOOL, ["safeshare reference", "Legal name", "Known as",
                                   "Date of birth", "UPN", "Consistent child identifier",
                                   "Year group"]),
        (Reader.STAFF_NOTICE, ["safeshare reference", "Legal name", "Known as", "Year group"]),
        (Reader.CP_FILE, ["safeshare reference", "Legal name", "Known as", "Date of birth",
                          "UPN", "Consistent child identifier", "Year group", "Admitted",
                          "Parents and carers"]),
    ],
)  # fmt: skip
def test_each_reader_sees_its_part_and_no_more(reader: Reader, labels: list[str]) -> None:
    lines = identity_lines(reader, "P-1a2b3c4d", IDENTITY, BORN)
    assert [label for label, _ in lines] == labels
    shown = dict(lines)
    assert shown["safeshare reference"] == "P-1a2b3c4d"
    assert shown["Legal name"] == "Zoë O'Brien" and shown["Known as"] == "Zo"
    if "Date of birth" in shown:
        assert shown["Date of birth"] == "1 September 2020"
    if "Year group" in shown:
        assert shown["Year group"] == "Reception"
    if "Consistent child identifier" in shown:
        assert shown["Consistent child identifier"] == "none (awaiting allocation)"


def test_a_child_added_by_hand_is_known_by_reference_alone() -> None:
    for reader in Reader:
        assert identity_lines(reader, "C-0001", None, BORN) == [("safeshare reference", "C-0001")]


def test_the_parents_with_responsibility_come_first() -> None:
    first, second = carers_on_record(IDENTITY)
    assert carer_line(first) == "Siobhán (Mother), parental responsibility, 07700 900123"
    assert carer_line(second) == "Ciarán (Step-father)"
    assert carers_on_record(None) == []


@pytest.mark.parametrize(
    ("holder", "kind", "reader"),
    [
        ("social-worker", "csc", Reader.SOCIAL_WORKER),
        ("agency", "school", Reader.RECEIVING_SCHOOL),
        ("agency", "csc", Reader.AGENCY),
        ("agency", "police", Reader.AGENCY),
        ("agency", None, Reader.AGENCY),
    ],
)
def test_who_opens_a_receipt_link(holder: str, kind: str | None, reader: Reader) -> None:
    assert reader_of_receipt(holder, kind) is reader


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("zoe", True),
        ("Zoë", True),
        ("obrien", True),
        ("o'brien", True),
        ("O’Brien", True),
        ("zo o'b", True),
        ("zoe smith", False),
        ("a123456789012", True),
        ("A12345678901", False),  # a UPN is matched whole
        ("", False),
        ("rien", False),  # words are matched from their start
    ],
)
def test_a_pupil_is_found_by_the_start_of_their_names_or_their_upn(query: str, found: bool) -> None:
    assert matches(IDENTITY, query) is found
    assert matches(None, query) is False


def test_choices_that_read_alike_are_told_apart_by_birth_then_by_reference() -> None:
    from models.identity import told_apart

    assert told_apart(
        [
            ("C-1", "Ada Okafor (Year 9)", "3 May 2011"),
            ("C-2", "ada okafor (Year 9)", "9 June 2011"),
            ("C-3", "Ada Okafor (Year 7)", "1 July 2013"),
            ("C-4", "Ben Ray (Year 8)", "2 March 2012"),
            ("C-5", "Ben Ray (Year 8)", "2 March 2012"),
            ("C-6", "Cy Lu (Year 8)", ""),
            ("C-7", "Cy Lu (Year 8)", ""),
        ]
    ) == [
        ("C-1", "Ada Okafor (Year 9), born 3 May 2011"),
        ("C-2", "ada okafor (Year 9), born 9 June 2011"),
        ("C-3", "Ada Okafor (Year 7)"),
        ("C-4", "Ben Ray (Year 8), born 2 March 2012, C-4"),
        ("C-5", "Ben Ray (Year 8), born 2 March 2012, C-5"),
        ("C-6", "Cy Lu (Year 8), C-6"),
        ("C-7", "Cy Lu (Year 8), C-7"),
    ]
