"""CSV import on both engines: every bad row reported with its line, column and reason,
the good ones imported, re-importing updates instead of duplicating, nothing is
committed by the importer itself, the batch size changes nothing, and oversized fields
and files are refused with a reason."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlplane.campaigns import csv_import, csv_rows, store
from controlplane.campaigns.csv_import import (
    MAX_FIELD_BYTES,
    FileRejected,
    ImportReport,
    RowError,
    import_csv,
)
from controlplane.db import transaction
from controlplane.models import Campaign, CampaignRecord, Contact, ContactPhone

MIXED = (
    "\ufeffPhone;Phone 2;First Name;last_name;email;timezone;priority;segment\n"  # 1
    "600 100 200;22 123 45 67;Ewa;Nowak;ewa@example.pl;Europe/Warsaw;10;gold\n"  # 2 good
    ";;Jan;Kowalski;;;;\n"  # 3 no phone
    "12345;;Adam;;;;;\n"  # 4 invalid phone
    "600 100 201;;Ola;;;Europe/Warsow;;\n"  # 5 bad time zone
    "600 100 202;;Piotr;;;;high;\n"  # 6 bad priority
    "+48 600 100 200;;Ewa again;;;;;\n"  # 7 duplicate of line 2
    '"600 100 203";;"Anna\nMaria";;;;;silver\n'  # 8-9 good, a value over two lines
    "600 100 204;;Zofia;;;;;;;\n"  # 10 good (trailing delimiters)
    "600 100 205;abc;Bad;;;;200;\n"  # 11 two problems
    ";;;;;;;\n"  # 12 blank: skipped
    "+44 7400 123456;;Brit;;;Europe/London;0;\n"  # 13 good (international)
    "600 100 206;;Extra;;;;;x;y\n"  # 14 one value too many
)
EXPECTED_ERRORS = [
    RowError(3, "Phone", "missing phone"),
    RowError(4, "Phone", "invalid phone: '12345': too short for +48"),
    RowError(
        5, "timezone", "unknown time zone 'Europe/Warsow' (use an IANA name such as Europe/Warsaw)"
    ),
    RowError(6, "priority", "priority 'high' is not a whole number 0-100"),
    RowError(7, "Phone", "duplicate: +48600100200 is on line 2"),
    RowError(11, "Phone 2", "invalid phone: 'abc': not a phone number (no digits to read)"),
    RowError(11, "priority", "priority '200' is not a whole number 0-100"),
    RowError(14, "", "9 values for 8 columns"),
]


def _campaign(s: Session, world) -> Campaign:  # type: ignore[no-untyped-def]
    campaign = s.get(Campaign, world.campaign)
    assert campaign is not None
    return campaign


def _counts(factory) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with factory() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(m)) or 0  # type: ignore[return-value]
            for m in (Contact, ContactPhone, CampaignRecord)
        )


def test_mixed_file_reports_every_bad_row_and_imports_the_rest(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        report = import_csv(s, _campaign(s, world), MIXED)
    assert report == ImportReport(imported=4, updated=0, rejected=EXPECTED_ERRORS)
    assert str(report.rejected[0]) == "line 3, column 'Phone': missing phone"
    assert _counts(factory) == (4, 5, 4)
    with factory() as s:
        ewa = s.scalar(select(Contact).where(Contact.first_name == "Ewa"))
        assert ewa is not None
        assert (ewa.last_name, ewa.email, ewa.timezone) == (
            "Nowak",
            "ewa@example.pl",
            "Europe/Warsaw",
        )
        assert ewa.custom == {"segment": "gold"}
        record = s.scalar(select(CampaignRecord).where(CampaignRecord.contact_id == ewa.id))
        phone = s.get(ContactPhone, record.phone_id) if record else None
        assert record is not None and phone is not None
        assert (record.priority, phone.number, phone.region) == (10, "+48600100200", "Poland")
        anna = s.scalar(select(Contact).where(Contact.custom["segment"].as_string() == "silver"))
        assert anna is not None and anna.first_name == "Anna\nMaria"
        brit = s.scalar(select(ContactPhone).where(ContactPhone.number == "+447400123456"))
        assert brit is not None and brit.country == "GB"


def test_reimport_updates_instead_of_duplicating(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        import_csv(s, _campaign(s, world), MIXED)
    changed = MIXED.replace(
        "Ewa;Nowak;ewa@example.pl;Europe/Warsaw;10;gold",
        "Ewa;Nowak-Kowalska;;Europe/Warsaw;20;platinum",
    )
    with transaction(factory) as s:
        report = import_csv(s, _campaign(s, world), changed)
    assert (report.imported, report.updated, report.rejected) == (0, 4, EXPECTED_ERRORS)
    assert _counts(factory) == (4, 5, 4)
    with factory() as s:
        ewa = s.scalar(select(Contact).where(Contact.first_name == "Ewa"))
        assert ewa is not None
        # new values replace, an empty cell keeps the stored e-mail
        assert (ewa.last_name, ewa.email, ewa.custom) == (
            "Nowak-Kowalska",
            "ewa@example.pl",
            {"segment": "platinum"},
        )
        record = s.scalar(select(CampaignRecord).where(CampaignRecord.contact_id == ewa.id))
        assert record is not None and record.priority == 20


def test_same_file_into_a_second_campaign_shares_the_contacts(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        import_csv(s, _campaign(s, world), MIXED)
        autumn = store.create_campaign(s, world.a, "autumn")
        report = import_csv(s, autumn, MIXED)
    assert (report.imported, report.updated) == (4, 0)
    assert _counts(factory) == (4, 5, 8)  # one contact per customer, a record per campaign


def test_rows_reaching_stored_contacts_twice_or_two_contacts_are_rejected(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        store.add_contact(s, world.a, ["600100210", "600100211"], "PL")
        store.add_contact(s, world.a, ["600100220"], "PL")
        text = (
            "phone,phone2\n"
            "600100210,\n"  # updates the stored contact
            "600100211,\n"  # its other number: the same contact again
            "600100211,600100220\n"  # numbers of two stored contacts
            "600100230,600100230\n"
        )  # a number repeated in a row is kept once
        report = import_csv(s, _campaign(s, world), text)
    assert (report.imported, report.updated) == (2, 0)
    assert [(e.line, e.column) for e in report.rejected] == [(3, "phone"), (4, "phone")]
    assert report.rejected[0].reason.startswith("same contact as line 2")
    assert report.rejected[1].reason.startswith("numbers of different contacts: +48600100211")


def test_header_problems_stop_the_import(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        campaign = _campaign(s, world)
        assert import_csv(s, campaign, "name,email\nEwa,e@x\n").rejected == [
            RowError(1, "", "no phone column (name one 'phone')")
        ]
        assert import_csv(s, campaign, "phone,Email,email\n600100200,a,b\n").rejected == [
            RowError(1, "email", "same column as #2")
        ]
        assert import_csv(s, campaign, "").rejected == [
            RowError(1, "", "the file is empty (expected a header row)")
        ]
    assert _counts(factory) == (0, 0, 0)


def test_the_importer_leaves_the_commit_to_its_caller(factory, world) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        report = import_csv(s, _campaign(s, world), MIXED)
        assert report.imported == 4
        s.rollback()
    assert _counts(factory) == (0, 0, 0)


@pytest.mark.parametrize("batch_rows", [1, 2, 5, 1000])
def test_the_batch_size_does_not_change_the_outcome(factory, world, batch_rows: int) -> None:  # type: ignore[no-untyped-def]
    """Rows are decided against the rows before them whichever batch those were in."""
    with transaction(factory) as s:
        report = import_csv(s, _campaign(s, world), MIXED, batch_rows=batch_rows)
    assert report == ImportReport(imported=4, updated=0, rejected=EXPECTED_ERRORS)
    assert _counts(factory) == (4, 5, 4)


def test_a_field_over_the_limit_is_a_rejected_row_not_a_traceback(factory, world) -> None:  # type: ignore[no-untyped-def]
    huge = "x" * 200_000  # over the csv module's own 128 KiB field limit too
    text = (
        f"phone,first_name,notes\n"
        f"600100200,Ewa,{huge}\n"
        f'600100201,"{huge}",short\n'
        f"600100202,Jan,{'y' * 2000}\n"  # under the field limit, over the custom field's
        f"600100203,Ola,{'ą' * 9000}\n"  # 18,000 bytes in UTF-8: counted in bytes
        f"600100204,Ok,fine\n"
        f"600100205,Nul\x00,x\n"  # PostgreSQL would refuse the whole batch
    )
    with transaction(factory) as s:
        report = import_csv(s, _campaign(s, world), text)
    assert report.imported == 1
    assert report.rejected == [
        RowError(2, "notes", f"field too long (200000 bytes, max {MAX_FIELD_BYTES})"),
        RowError(3, "first_name", f"field too long (200000 bytes, max {MAX_FIELD_BYTES})"),
        RowError(4, "notes", "longer than 1000 characters"),
        RowError(5, "notes", f"field too long (18000 bytes, max {MAX_FIELD_BYTES})"),
        RowError(7, "first_name", "contains a NUL character"),
    ]
    assert _counts(factory) == (1, 1, 1)


def test_a_long_header_or_too_many_lines_or_bytes_are_refused(factory, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        campaign = _campaign(s, world)
        assert import_csv(s, campaign, f"phone,{'h' * 20_000}\n600100200,x\n").rejected == [
            RowError(1, "#2", f"field too long (20000 bytes, max {MAX_FIELD_BYTES})")
        ]
        monkeypatch.setattr(csv_rows, "MAX_LINES", 3)
        with pytest.raises(FileRejected, match="the file has 4 lines, more than the 3 allowed"):
            import_csv(s, campaign, "phone\n600100200\n600100201\n600100202\n")
    monkeypatch.setattr(csv_rows, "MAX_FILE_BYTES", 1000)
    with pytest.raises(FileRejected, match=r"the file is 1001 bytes, more than the 1000 allowed"):
        csv_import.decode(b"x" * 1001)
    with pytest.raises(FileRejected, match=r"line 2: not UTF-8 text \(byte 7\)"):
        csv_import.decode(b"phone\n6\xff00\n")
    assert _counts(factory) == (0, 0, 0)
