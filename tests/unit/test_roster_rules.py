"""Reading a school information system's roster (pure): the columns of SIMS, Arbor and Bromcom
exports with the awkward rows real exports have (a byte order mark, semicolons, quoted
newlines, dates day first, accents and apostrophes), every problem with its line, and the plan
of an import (added, changed, left, as they were)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from models.kernel.exports import FeedError, RowProblem, read_export
from models.roster import (
    NO_IDENTIFIER_GIVEN,
    PUPIL_COLUMNS,
    STAFF_COLUMNS,
    Carer,
    PupilRecord,
    StaffRecord,
    duplicates,
    newly_left,
    parse_day,
    parse_year_group,
    plan_import,
    pupil_from_row,
    staff_from_row,
)

TODAY = date(2026, 11, 30)

SIMS = (
    "\ufeffUPN;Legal Surname;Legal Forename;Preferred Forename;DOB;Year;Admission Date;"
    "Contact 1 Name;Contact 1 Relationship;Contact 1 Parental Responsibility;"
    "Contact 1 Telephone;Contact 1 Email;Contact 2 Name;Contact 2 Relationship;"
    "Contact 2 Parental Responsibility;Notes\r\n"
    "A123456789012;O'Brien;Zoë;Zo;01/09/2014;Year 7;03/09/2024;Siobhán O'Brien;Mother;Y;"
    '07700 900123;siobhan@example.org;Ciarán O’Brien;Step-father;N;"two lines\r\nof notes"\r\n'
    "B123456789013;Nguyễn;Minh Anh;;29/02/2016;R;01/09/2020;;;;;;;;;\r\n"
)

ARBOR = (
    "Legal first name,Legal last name,Date of birth,Year group,UPN,Enrolment date,"
    "Leaving date,Parent 1 First name,Parent 1 Last name,Parent 1 Has parental responsibility\n"
    "Amélie,Dubois-Smith,2013-05-17,8,C123456789014,2023-09-04,2026-07-22,Claire,Dubois,true\n"
)

BROMCOM = (
    "Legal Forename,Legal Surname,DOB,Year Group,UPN,Admission Date,Child Identifier,"
    "Child Identifier Reason\n"
    "Ola,Nowak,2012-01-31,9,D12345678901A,2021-09-01,,awaiting allocation by the DfE\n"
    "Sam,Lee,2012-02-01,9,E123456789015,2021-09-01,CCI-0042-X,\n"
)


def pupils(text: str, fmt: str = "csv") -> list[PupilRecord | RowProblem]:
    rows, _ = read_export(text, fmt, PUPIL_COLUMNS)
    return [pupil_from_row(row, today=TODAY) for row in rows]


def test_a_sims_export_with_a_bom_semicolons_and_a_quoted_newline_reads_whole() -> None:
    rows, ignored = read_export(SIMS, "csv", PUPIL_COLUMNS)
    assert ignored == ["Notes"]
    assert [row.line for row in rows] == [2, 4]  # the second pupil starts after the newline
    first, second = (pupil_from_row(row, today=TODAY) for row in rows)
    assert first == PupilRecord(
        upn="A123456789012",
        legal_forename="Zoë",
        legal_surname="O'Brien",
        preferred_forename="Zo",
        date_of_birth=date(2014, 9, 1),
        year_group="7",
        admission_date=date(2024, 9, 3),
        child_identifier_reason=NO_IDENTIFIER_GIVEN,
        carers=(
            Carer(
                name="Siobhán O'Brien",
                relationship="Mother",
                parental_responsibility=True,
                phone="07700 900123",
                email="siobhan@example.org",
            ),
            Carer(name="Ciarán O’Brien", relationship="Step-father"),
        ),
    )
    assert isinstance(second, PupilRecord)
    assert (second.legal_surname, second.date_of_birth, second.year_group, second.carers) == (
        "Nguyễn",
        date(2016, 2, 29),
        "R",
        (),
    )


def test_arbor_and_bromcom_headers_are_known_by_their_own_names() -> None:
    (amelie,) = pupils(ARBOR)
    assert isinstance(amelie, PupilRecord)
    assert amelie.leaving_date == date(2026, 7, 22)
    assert amelie.carers == (Carer(name="Claire Dubois", parental_responsibility=True),)
    ola, sam = pupils(BROMCOM)
    assert isinstance(ola, PupilRecord) and isinstance(sam, PupilRecord)
    assert ola.upn == "D12345678901A"  # a temporary UPN ends in a letter
    assert (ola.child_identifier, ola.child_identifier_reason) == (
        None,
        "awaiting allocation by the DfE",
    )
    assert (sam.child_identifier, sam.child_identifier_reason) == ("CCI-0042-X", None)


def test_a_json_export_holds_contacts_as_a_list() -> None:
    text = (
        '[{"upn": "a123456789012", "legal_forename": "Zoë", "legal_surname": "O\'Brien",'
        ' "dob": "2014-09-01", "year_group": "Y7",\n'
        '  "contacts": [{"name": "Siobhán", "relationship": "Mother",'
        ' "parental_responsibility": true, "email": "s@example.org"}]}]'
    )
    (zoe,) = pupils(text, "json")
    assert isinstance(zoe, PupilRecord)
    assert zoe.upn == "A123456789012" and zoe.year_group == "7"
    assert zoe.carers == (
        Carer(
            name="Siobhán",
            relationship="Mother",
            parental_responsibility=True,
            email="s@example.org",
        ),
    )


def test_every_bad_row_is_reported_with_its_line_and_without_its_values() -> None:
    text = (
        "UPN,Legal Surname,Legal Forename,DOB,Year,Admission Date,Leaving Date,"
        "Contact 1 Name,Contact 1 Email,Contact 1 Parental Responsibility\n"
        "A123456789012,Secretname,Ann,31/02/2014,7,,,,,\n"  # 2: no 31 February
        "not-a-upn,Secretname,Ann,2014-01-01,7,,,,,\n"  # 3
        "A123456789012,Secretname,Ann,2099-01-01,7,,,,,\n"  # 4: born to come
        "A123456789014,Secretname,Ann,2014-01-01,Year 15,,,,,\n"  # 5
        "A123456789015,Secretname,Ann,2014-01-01,7,2024-09-01,2023-07-01,,,\n"  # 6
        "A123456789016,,Ann,2014-01-01,7,,,,,\n"  # 7
        "A123456789017,Secretname,Ann,2014-01-01,7,,,Mum,not-an-email,maybe\n"  # 8
        "A123456789018,Secretname,Ann,2014-01-01,7,,,,secret@example.org,Y\n"  # 9
        "A123456789019,Secretname\n"  # 10
    )
    said = {p.line: p.message for p in pupils(text) if isinstance(p, RowProblem)}
    assert said == {
        2: "'31/02/2014' is not a date (give YYYY-MM-DD or DD/MM/YYYY)",
        3: "the UPN is not a Unique Pupil Number (a letter, 11 digits, and a digit or letter)",
        4: "the date of birth 2099-01-01 is to come",
        5: "'Year 15' is not a year group (N1, N2, R, or 1 to 14)",
        6: "the leaving date is before the admission date",
        7: "no legal_surname",
        8: "'maybe' is not yes or no",
        9: "contact 1 has no name",
        10: "the row has 2 of 10 values",
    }
    assert not any("Secretname" in message for message in said.values())


def test_a_contacts_invalid_value_is_named_by_contact_and_field() -> None:
    text = (
        "UPN,Legal Surname,Legal Forename,DOB,Contact 1 Name,Contact 2 Name,Contact 2 Email\n"
        "A123456789012,S,A,2014-01-01,Mum,Dad,dad-at-home\n"
    )
    (problem,) = pupils(text)
    assert problem == RowProblem(2, "contact 2: the email address is not valid")


def test_a_upn_twice_is_reported_at_its_second_line() -> None:
    records = [(2, "A1"), (3, "B2"), (7, "A1")]
    assert duplicates(records, lambda r: r, "UPN") == [RowProblem(7, "the same UPN as line 2")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("UPN,Legal Surname,DOB\nA1,S,2014-01-01\n", "missing column(s) legal_forename"),
        ("", "the file holds no pupils"),
        ("UPN,Forename,First Name,Surname,DOB\n", "more than one column means legal_forename"),
    ],
)
def test_an_export_that_cannot_be_read_is_refused_whole(text: str, message: str) -> None:
    with pytest.raises(FeedError, match=re.escape(message)):
        read_export(text, "csv", PUPIL_COLUMNS)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2014-09-01", date(2014, 9, 1)),
        ("01/09/2014", date(2014, 9, 1)),
        ("1/9/2014", date(2014, 9, 1)),
        ("01-09-2014", date(2014, 9, 1)),
        ("01.09.2014", date(2014, 9, 1)),
        ("01/09/2014 00:00:00", date(2014, 9, 1)),
        ("2014-09-01T00:00:00", date(2014, 9, 1)),
    ],
)
def test_dates_are_read_day_first(text: str, day: date) -> None:
    assert parse_day(text) == day


@pytest.mark.parametrize("text", ["09/31/2014", "2014/09/01", "yesterday", "12/2014"])
def test_a_date_not_in_a_known_form_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a date"):
        parse_day(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Reception", "R"),
        ("R", "R"),
        ("F2", "R"),
        ("N1", "N1"),
        ("Nursery 2", "N2"),
        ("Year 7", "7"),
        ("Y11", "11"),
        ("07", "7"),
        ("NC 13", "13"),
    ],
)
def test_year_groups_are_read_as_their_code(text: str, code: str) -> None:
    assert parse_year_group(text) == code


def test_staff_rows_take_a_name_or_its_parts() -> None:
    text = (
        "Staff Code,First Name,Last Name,Work Email,Job Title,Payroll Number\n"
        "JSM,Jo,Smith,jo.smith@school.example,Teacher,123\n"
        "ABC,,,a@school.example,,\n"
    )
    rows, ignored = read_export(text, "csv", STAFF_COLUMNS)
    assert ignored == ["Payroll Number"]
    jo, nameless = (staff_from_row(row) for row in rows)
    assert jo == StaffRecord(
        staff_id="JSM", name="Jo Smith", email="jo.smith@school.example", job_title="Teacher"
    )
    assert nameless == RowProblem(3, "no name (give name, or forename and surname)")


def pupil(upn: str, **changes: object) -> PupilRecord:
    base = PupilRecord(
        upn=upn, legal_forename="A", legal_surname="B", date_of_birth=date(2014, 1, 1)
    )
    return base.model_copy(update=changes)


def test_the_plan_adds_changes_leaves_and_keeps() -> None:
    existing = {
        "A1": pupil("A123456789011"),
        "A2": pupil("A123456789012"),
        "A3": pupil("A123456789013"),
        "A4": pupil("A123456789014", leaving_date=date(2026, 7, 1)),  # left before
    }
    existing = {p.upn: p for p in existing.values()}
    present = frozenset({"A123456789011", "A123456789012", "A123456789013"})
    incoming = [
        pupil("A123456789011"),  # as it was
        pupil("A123456789012", year_group="8"),  # changed
        pupil("A123456789015"),  # new
    ]
    plan = plan_import(existing, present, incoming, lambda p: p.upn)
    assert plan.counts() == {"added": 1, "changed": 1, "left": 1, "unchanged": 1}
    assert [p.upn for p in plan.added] == ["A123456789015"]
    assert [(c.key, c.fields) for c in plan.changed] == [("A123456789012", ("year_group",))]
    assert plan.left == ("A123456789013",)  # not A4: it had left already
    assert newly_left(plan, existing, TODAY) == ["A123456789013"]
    again = plan_import(existing, present, list(existing.values())[:3], lambda p: p.upn)
    assert again.nothing and again.unchanged == 3


def test_a_leaving_date_that_has_come_is_a_leaver_too() -> None:
    existing = {"A123456789011": pupil("A123456789011")}
    left = pupil("A123456789011", leaving_date=date(2026, 11, 27))
    later = pupil("A123456789011", leaving_date=date(2027, 7, 20))
    for record, leaver in ((left, ["A123456789011"]), (later, [])):
        plan = plan_import(existing, frozenset(existing), [record], lambda p: p.upn)
        assert newly_left(plan, existing, TODAY) == leaver
