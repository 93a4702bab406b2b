"""The exported journals are accepted by bean-check and hledger, carry the service's balances, and break when tampered with."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.ledger import Account, Commodity, Kind, Leg, OwnerType, Transaction, rules
from timebank.ledger.export import export

BEAN_CHECK = Path(sys.executable).with_name("bean-check")
HLEDGER = shutil.which("hledger")
# CI installs hledger and sets TIMEBANK_REQUIRE_HLEDGER=1, so these can never silently skip there.
needs_hledger = pytest.mark.skipif(
    HLEDGER is None and os.environ.get("TIMEBANK_REQUIRE_HLEDGER") != "1",
    reason="hledger is not installed",
)
ACTOR = 7
# Memos that journal syntax could trip over: quotes, comment and payee separators, Chinese, escapes.
MEMOS = {
    "credit": '张三 "老王" 助老; 上门 | 陪伴',
    "redemption": '兑换 "鸡蛋"; 一盒 | 26度万家驿站',
    "transfer": '赠与母亲 | 1小时; "家人"',
    "donation": "捐入公益时间池；「爱心」| 池 ; 50%",
    "capture": '评单完成："上门助老" | 1 小时',
    "reversal": '更正：签退时间 "有误"; 重记 | 见备注',
    "escapes": 'back\\slash \\" end\\\ttab\nnew line',
}
POSTING_LINE = re.compile(r"^( +[A-Z]\S* +)(-?\d+)( (?:MIN|CERTMIN|PTS))$", re.M)


def add_extras(session: Session, now: dt.datetime) -> dict[int, str]:
    """Every kind of event the ledger records, with awkward memos; returns memo by transaction id."""
    at = iter(now + dt.timedelta(minutes=m) for m in range(1, 100))
    memos: dict[int, str] = {}

    def post(legs: list[Leg], kind: Kind, memo: str) -> Transaction:
        moment = next(at)
        txn = ledger.post(
            session, legs, kind=kind, idempotency_key=f"extra:{moment.isoformat()}",
            actor=ACTOR, memo=memo, now=moment,
        )
        memos[txn.id] = memo
        return txn

    rules.open_system_accounts(session, now=now)
    for volunteer in (1, 2):
        rules.open_volunteer_accounts(session, volunteer, categories=("elderly", "home_care"), now=now)
    # Two codes that differ only in a character the journal names cannot carry.
    rules.open_volunteer_accounts(session, 2, categories=("home-care",), now=now)
    ledger.open_account(
        session, rules.pool_code(3), commodity=Commodity.HOUR,
        owner_type=OwnerType.ORGANISATION, owner_id=3, now=now,
    )
    for station in (7, 8):
        ledger.open_account(
            session, rules.station_code(station), commodity=Commodity.PTS,
            owner_type=OwnerType.STATION, owner_id=station, now=now,
        )
    post(rules.service_credit_legs(1, minutes=240, category="elderly", points=40), Kind.SERVICE_CREDIT, MEMOS["credit"])
    post(rules.service_credit_legs(2, minutes=120, category="home_care", points=20), Kind.SERVICE_CREDIT, "社区服务")
    post(rules.service_credit_legs(2, minutes=45, category="home-care", points=5), Kind.SERVICE_CREDIT, "")
    wrong = post(rules.service_credit_legs(2, minutes=90, category="elderly", points=9), Kind.SERVICE_CREDIT, MEMOS["escapes"])
    post(rules.redemption_legs(1, 7, 15), Kind.REDEMPTION, MEMOS["redemption"])
    post(rules.family_transfer_legs(1, 2, 60), Kind.TRANSFER, MEMOS["transfer"])
    post(rules.donation_legs(2, 3, 30), Kind.DONATION, MEMOS["donation"])

    reversal = ledger.reverse(session, wrong, actor=ACTOR, now=next(at), memo=MEMOS["reversal"])
    memos[reversal.id] = MEMOS["reversal"]

    moment = next(at)
    captured = ledger.hold(
        session, rules.volunteer_code(1, Commodity.HOUR), 60, actor=ACTOR, now=moment,
        expires_at=moment + dt.timedelta(days=7), idempotency_key="extra:hold:captured",
    )
    capture = ledger.capture(
        session, captured, to=rules.volunteer_code(2, Commodity.HOUR), kind=Kind.SERVICE_PURCHASE,
        actor=ACTOR, now=next(at), amount=45, memo=MEMOS["capture"],
    )
    memos[capture.id] = MEMOS["capture"]
    released = ledger.hold(
        session, rules.volunteer_code(1, Commodity.HOUR), 30, actor=ACTOR, now=moment,
        expires_at=moment + dt.timedelta(days=7), idempotency_key="extra:hold:released",
    )
    ledger.release(session, released, actor=ACTOR, now=next(at))
    ledger.hold(  # stays open: the journal asserts posted balances, holds are not postings
        session, rules.volunteer_code(2, Commodity.HOUR), 15, actor=ACTOR, now=moment,
        expires_at=moment + dt.timedelta(days=7), idempotency_key="extra:hold:open",
    )

    # A station that took points once, had the redemption voided and was closed.
    voided = post(rules.redemption_legs(1, 8, 10), Kind.REDEMPTION, "扫错了")
    memos[ledger.reverse(session, voided, actor=ACTOR, now=next(at)).id] = f"reversal of transaction {voided.id}"
    ledger.close_account(session, rules.station_code(8), now=next(at))
    return memos


@pytest.fixture
def build_ledger(session: Session, now: dt.datetime) -> Callable[..., dict[int, str]]:
    """Adds every kind of event to the test's database, commits; returns memo by transaction id."""

    def build() -> dict[int, str]:
        memos = add_extras(session, now)
        session.commit()
        return memos

    return build


@pytest.fixture
def demo_history(demo_db, now: dt.datetime) -> Iterator[Session]:
    """A session on a copy of the shared demo (a month of history posted by the services) plus every kind of event."""
    database, _ = demo_db
    with database.session() as session:
        add_extras(session, now)
        session.commit()
        yield session


def export_to(session: Session, path: Path, format: str) -> Path:
    """Export the ledger to `path` in `format`."""
    with path.open("w", encoding="utf-8") as out:
        export(session, out, format=format)
    return path


def bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    """Run bean-check on the file."""
    return subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True, timeout=120)


def hledger(*args: str) -> subprocess.CompletedProcess[str]:
    """Run hledger in a UTF-8 locale (it cannot read the Chinese memos otherwise)."""
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    return subprocess.run([HLEDGER, *args], capture_output=True, text=True, timeout=120, env=env)


def service_balances(session: Session) -> dict[str, int]:
    """Every account's posted balance as the service reports it."""
    codes = session.scalars(select(Account.code).order_by(Account.id)).all()
    return {code: ledger.balance(session, code).posted for code in codes}


def break_first_posting(journal: str) -> tuple[str, str]:
    """The journal with its first posting's amount one higher, and that posting's original line."""
    match = POSTING_LINE.search(journal)
    assert match is not None, "no posting line found in the journal"
    broken = f"{match.group(1)}{int(match.group(2)) + 1}{match.group(3)}"
    return journal[: match.start()] + broken + journal[match.end() :], match.group(0)


def test_beancount_export_passes_bean_check_and_sums_to_the_services_balances(demo_history, tmp_path):
    """bean-check finds the journal valid, and its postings sum per account to what the service says each holds."""
    session = demo_history
    path = export_to(session, tmp_path / "ledger.beancount", "beancount")

    result = bean_check(path)
    entries, errors, _options = loader.load_file(str(path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""
    assert errors == []
    code_of = {e.account: e.meta["code"] for e in entries if isinstance(e, data.Open)}
    sums: dict[str, int] = defaultdict(int)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                assert posting.units.number == int(posting.units.number)
                sums[code_of[posting.account]] += int(posting.units.number)
    expected = service_balances(session)
    assert sorted(code_of.values()) == sorted(expected)
    assert {code: sums[code] for code in expected} == expected
    assert len([total for total in expected.values() if total]) > 50


def test_beancount_export_keeps_every_transaction_with_its_memo(session, build_ledger, tmp_path):
    """Each transaction appears once, and memos with quotes, semicolons, pipes and Chinese survive."""
    memos = build_ledger()
    path = export_to(session, tmp_path / "ledger.beancount", "beancount")

    entries, errors, _options = loader.load_file(str(path))

    assert errors == []
    exported = {e.meta["txn"]: e for e in entries if isinstance(e, data.Transaction)}
    assert len(exported) == session.scalar(select(func.count()).select_from(Transaction))
    for txn_id, memo in memos.items():
        assert exported[txn_id].narration == " ".join(memo.split())
    kinds = {e.payee for e in exported.values()}
    assert {"service_credit", "redemption", "transfer", "donation", "reversal", "service_purchase"} <= kinds


def test_bean_check_rejects_an_export_whose_transaction_does_not_balance(session, build_ledger, tmp_path):
    """One posting's amount changed by one unit makes bean-check fail on that transaction."""
    build_ledger()
    good = export_to(session, tmp_path / "good.beancount", "beancount")
    assert bean_check(good).returncode == 0
    broken_text, original = break_first_posting(good.read_text(encoding="utf-8"))
    broken = tmp_path / "broken.beancount"
    broken.write_text(broken_text, encoding="utf-8")

    result = bean_check(broken)

    assert result.returncode != 0
    assert "Transaction does not balance" in result.stdout + result.stderr, original


def test_bean_check_rejects_an_export_whose_final_balance_is_wrong(session, build_ledger, tmp_path):
    """A final balance assertion one unit off makes bean-check fail naming the account."""
    build_ledger()
    good = export_to(session, tmp_path / "good.beancount", "beancount")
    assert bean_check(good).returncode == 0
    lines = good.read_text(encoding="utf-8").splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if " balance Assets:Vol:1:HOUR " in line)
    lines[last] = re.sub(r"(-?\d+) MIN$", lambda m: f"{int(m.group(1)) + 1} MIN", lines[last].rstrip("\n")) + "\n"
    broken = tmp_path / "broken.beancount"
    broken.write_text("".join(lines), encoding="utf-8")

    result = bean_check(broken)

    assert result.returncode != 0
    assert "Balance failed for 'Assets:Vol:1:HOUR'" in result.stdout + result.stderr


def test_a_tampered_balance_column_makes_the_export_fail_bean_check(session, db, build_ledger, tmp_path):
    """The journal asserts the stored balances, so a stored balance that disagrees with the postings is caught."""
    build_ledger()
    session.execute(text("UPDATE accounts SET balance = balance + 5 WHERE code = 'vol:2:HOUR'"))
    session.commit()

    with db.session(write=False) as fresh:
        path = export_to(fresh, tmp_path / "ledger.beancount", "beancount")
    result = bean_check(path)

    assert result.returncode != 0
    assert "Balance failed for 'Assets:Vol:2:HOUR'" in result.stdout + result.stderr
    assert "expected 245 MIN != accumulated 240 MIN" in result.stdout + result.stderr


def test_the_export_asserts_the_balance_stored_now_even_when_the_session_read_it_before(session, db, build_ledger, tmp_path):
    """A balance changed elsewhere after this session loaded the account is still the one the journal asserts."""
    build_ledger()
    loaded = ledger.get_account(session, "vol:2:HOUR")
    session.commit()
    with db.session() as elsewhere:
        elsewhere.execute(text("UPDATE accounts SET balance = balance + 5 WHERE code = 'vol:2:HOUR'"))
        elsewhere.commit()

    path = export_to(session, tmp_path / "ledger.beancount", "beancount")
    result = bean_check(path)

    assert loaded.code == "vol:2:HOUR"
    assert "expected 245 MIN != accumulated 240 MIN" in result.stdout + result.stderr


@needs_hledger
def test_hledger_export_passes_hledger_check_and_sums_to_the_services_balances(demo_history, tmp_path):
    """hledger's checks (balancing, assertions, declared accounts and commodities) pass, and its balances are the service's."""
    session = demo_history
    path = export_to(session, tmp_path / "ledger.journal", "hledger")
    journal = path.read_text(encoding="utf-8")
    code_of = dict(re.findall(r"^account (\S+)  ; code: (\S+)$", journal, re.M))

    basic = hledger("-f", str(path), "check")
    strict = hledger("-f", str(path), "check", "accounts", "commodities")
    report = hledger("-f", str(path), "balance", "--flat", "--empty", "--no-total", "-O", "csv")

    assert basic.returncode == 0, basic.stdout + basic.stderr
    assert strict.returncode == 0, strict.stdout + strict.stderr
    assert report.returncode == 0, report.stderr
    rows = list(csv.reader(io.StringIO(report.stdout)))
    assert rows[0] == ["account", "balance"]
    reported = {}
    for name, amount in rows[1:]:
        match = re.fullmatch(r"(-?\d+)(?: (MIN|CERTMIN|PTS))?", amount)
        assert match is not None, amount
        reported[code_of[name]] = int(match.group(1))
    expected = service_balances(session)
    assert reported == expected
    assert len([total for total in expected.values() if total]) > 50


@needs_hledger
def test_hledger_check_rejects_an_export_whose_transaction_does_not_balance(session, build_ledger, tmp_path):
    """One posting's amount changed by one unit makes hledger check fail."""
    build_ledger()
    good = export_to(session, tmp_path / "good.journal", "hledger")
    assert hledger("-f", str(good), "check").returncode == 0
    broken_text, original = break_first_posting(good.read_text(encoding="utf-8"))
    broken = tmp_path / "broken.journal"
    broken.write_text(broken_text, encoding="utf-8")

    result = hledger("-f", str(broken), "check")

    assert result.returncode != 0
    assert "could not balance this transaction" in result.stderr, original


@needs_hledger
def test_hledger_check_rejects_an_export_whose_final_balance_is_wrong(session, build_ledger, tmp_path):
    """A final balance assertion one unit off makes hledger check fail naming the account."""
    build_ledger()
    good = export_to(session, tmp_path / "good.journal", "hledger")
    assert hledger("-f", str(good), "check").returncode == 0
    journal, count = re.subn(
        r"^(    Assets:Vol:1:HOUR  0 MIN = )(-?\d+)( MIN)$",
        lambda m: f"{m.group(1)}{int(m.group(2)) + 1}{m.group(3)}",
        good.read_text(encoding="utf-8"),
        flags=re.M,
    )
    assert count == 1
    broken = tmp_path / "broken.journal"
    broken.write_text(journal, encoding="utf-8")

    result = hledger("-f", str(broken), "check")

    assert result.returncode != 0
    assert "balance assertion" in result.stderr and "Assets:Vol:1:HOUR" in result.stderr


@pytest.mark.parametrize("format", ["beancount", "hledger"])
def test_an_empty_ledger_exports_a_journal_the_tools_accept(session, tmp_path, format):
    """With nothing posted yet the export is still a valid journal."""
    path = export_to(session, tmp_path / f"empty.{format}", format)

    if format == "beancount":
        result = bean_check(path)
    elif HLEDGER is None:
        pytest.skip("hledger is not installed")
    else:
        result = hledger("-f", str(path), "check", "accounts", "commodities")

    assert result.returncode == 0, result.stdout + result.stderr


def test_exporting_in_an_unknown_format_is_refused(session):
    """Only the two journal formats are written."""
    out = io.StringIO()

    with pytest.raises(ValueError, match="unknown export format 'ledger'"):
        export(session, out, format="ledger")

    assert out.getvalue() == ""
