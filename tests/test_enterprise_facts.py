"""What a borrower holds on a day: the answer eligibility and the key-area decision are built on."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.enterprise import SCI_TECH_STATUSES, EnterpriseFacts, StatusEntry

_DAYS = st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31))


@st.composite
def _entry(draw: st.DrawFn) -> StatusEntry:
    start = draw(_DAYS)
    length = draw(st.none() | st.integers(min_value=0, max_value=2000))
    return StatusEntry(
        draw(st.sampled_from(sorted(SCI_TECH_STATUSES))),
        start,
        None if length is None else start + timedelta(days=length),
    )


@given(st.lists(_entry(), max_size=6), st.lists(_DAYS, min_size=1, max_size=20))
def test_statuses_on_is_what_each_entry_says_for_that_day(
    entries: list[StatusEntry], days: list[date]
) -> None:
    facts = EnterpriseFacts("911101080000000000", "C3911", "small", tuple(entries))
    for day in days:  # asked repeatedly, in any order, as a bulk load does
        expected = tuple(
            sorted(
                {
                    e.status
                    for e in entries
                    if e.valid_from <= day and (e.valid_to is None or day <= e.valid_to)
                }
            )
        )
        assert facts.statuses_on(day) == expected


def test_a_status_ends_on_its_last_valid_day() -> None:
    facts = EnterpriseFacts(
        "911101080000000000",
        "I6510",
        "small",
        (
            StatusEntry("高新技术企业", date(2020, 7, 1), date(2023, 6, 30)),
            StatusEntry("科技型中小企业", date(2023, 1, 1), None),
        ),
    )
    assert facts.statuses_on(date(2020, 6, 30)) == ()
    assert facts.statuses_on(date(2023, 6, 30)) == ("科技型中小企业", "高新技术企业")
    assert facts.statuses_on(date(2023, 7, 1)) == ("科技型中小企业",)
    assert facts.statuses_on(date.max) == ("科技型中小企业",)
